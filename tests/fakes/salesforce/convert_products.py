"""Channels (Opportunity.LeadSource), products (Product2) and deal products
(OpportunityLineItem) converted from the files contract, and the org's picklist values.

Separate from `convert.py` (people, accounts, stages, opportunities, history): these are
what a deal sold and where it came from. Picklists keep an API value and a label, as
Salesforce does: the API value here is the label with every run of non-word characters
made `_` ("Trade show" is stored as `Trade_show`), so a connector that reads values
where it should read labels (toLabel) is caught.
"""

from __future__ import annotations

from tests.fakes.salesforce.convert_money import FOUNDED_SQL, record_ids


def api_value_sql(label_sql: str) -> str:
    """SQL for the API value the fake org stores for a picklist label."""
    return f"regexp_replace({label_sql}, '\\W+', '_', 'g')"


class ProductConversion:
    """Mixed into SalesforceOrg through OrgConversion: `_insert` and `con`."""

    def _picklist(self, sobject: str, field: str, labels_sql: str) -> None:
        """The distinct non-empty labels of `labels_sql` (a SELECT of one `label` column)
        as picklist values of sobject.field."""
        self.con.execute(
            f"""
            INSERT INTO picklist_values
            SELECT DISTINCT '{sobject}', '{field}', {api_value_sql("label")}, label
            FROM ({labels_sql}) WHERE label IS NOT NULL AND trim(label) <> ''
            """
        )

    def _convert_channels(self) -> None:
        """Each deal's channel as its opportunity's LeadSource (the API value)."""
        self._picklist("Opportunity", "LeadSource", "SELECT channel AS label FROM src_deals")
        self.con.execute(
            f"""
            UPDATE "Opportunity" o SET "LeadSource" = {api_value_sql("d.channel")}
            FROM src_deals d
            WHERE d.deal_id = o."Id" AND nullif(trim(d.channel), '') IS NOT NULL
            """
        )

    def _convert_products(self) -> None:
        """Products (one per product id) and one line item per deal product."""
        self._picklist(
            "Product2", "Family", "SELECT product_family AS label FROM src_deal_products"
        )
        self.con.execute(
            """
            CREATE TEMP TABLE product_list AS
            SELECT product_id, min(product_name) AS name, min(product_family) AS family
            FROM src_deal_products GROUP BY product_id
            """
        )
        self._insert(
            "Product2",
            "FROM product_list",
            Id="product_id",
            Name="coalesce(name, product_id)",
            ProductCode="product_id",
            Family=f"CASE WHEN trim(family) <> '' THEN {api_value_sql('family')} END",
            IsActive="true",
            IsDeleted="false",
            CreatedDate=FOUNDED_SQL,
            LastModifiedDate=FOUNDED_SQL,
            SystemModstamp=FOUNDED_SQL,
        )
        # A line item changes with its opportunity (products are edited on the deal);
        # Name is Salesforce's "<opportunity name> <product name>".
        subtotal = "CAST(l.quantity AS DOUBLE) * CAST(l.unit_price AS DOUBLE)"
        self._insert(
            "OpportunityLineItem",
            'FROM src_deal_products l JOIN "Opportunity" o ON o."Id" = l.deal_id '
            'LEFT JOIN "Product2" p ON p."Id" = l.product_id',
            Id=record_ids("OpportunityLineItem", "l.deal_id, l.product_id"),
            OpportunityId="l.deal_id",
            Product2Id="l.product_id",
            PricebookEntryId="'01uFAKE' || l.product_id",
            Name='o."Name" || \' \' || coalesce(p."Name", l.product_id)',
            ProductCode="l.product_id",
            Quantity="CAST(l.quantity AS DOUBLE)",
            UnitPrice="CAST(l.unit_price AS DOUBLE)",
            ListPrice="CAST(l.unit_price AS DOUBLE)",
            Subtotal=subtotal,
            Discount=(
                f"CASE WHEN {subtotal} > 0 "
                f"THEN round((1 - CAST(l.amount AS DOUBLE) / ({subtotal})) * 100, 2) END"
            ),
            TotalPrice="CAST(l.amount AS DOUBLE)",
            Cost__c="CAST(l.cost AS DOUBLE)",
            CurrencyIsoCode="l.currency",
            IsDeleted="false",
            CreatedDate='o."CreatedDate"',
            LastModifiedDate='o."SystemModstamp"',
            SystemModstamp='o."SystemModstamp"',
        )
