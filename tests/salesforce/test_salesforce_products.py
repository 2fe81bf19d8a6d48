"""Line items, products and channels: the Salesforce connector against the fake org.

The demo CRM's deal products are served as OpportunityLineItem and Product2 records, its
channels as Opportunity.LeadSource, whose stored API values differ from their labels
(`Trade_show` for "Trade show"): the connector must read the labels. Line items are
incremental like the opportunities: a changed line is re-read, a deleted one leaves raw.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.fakes.salesforce import FakeSalesforce, serve_crm
from tests.salesforce.conftest import BATCH, COST_FIELD, add_line, load, rows


def test_line_items_products_and_channel_labels_are_loaded(
    server: FakeSalesforce, crm: dict, tmp_path: Path
) -> None:
    load(server, tmp_path, line_cost_field=COST_FIELD)

    lines = crm["deal_products"].num_rows
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunity_line_items") == [
        (lines,)
    ]
    # Paged like the opportunities, from queryAll (deleted lines come back from it too).
    pages = server.served_for("OpportunityLineItem")
    assert [p.records for p in pages] == [BATCH] * (lines // BATCH) + [lines % BATCH]
    assert {p.endpoint for p in pages} == {"queryAll"}
    # One line, field by field, as the CRM gave it (cost from the mapped custom field).
    deal, product = crm["deal_products"]["deal_id"][0], crm["deal_products"]["product_id"][0]
    got = rows(
        tmp_path,
        "SELECT product2_id, quantity, unit_price, total_price, currency_iso_code, line_cost, "
        "l.name, p.name, p.family FROM raw_salesforce.opportunity_line_items l "
        "JOIN raw_salesforce.products p ON p.id = l.product2_id "
        "WHERE opportunity_id = ? AND product2_id = ?",
        [deal.as_py(), product.as_py()],
    )
    first = crm["deal_products"].slice(0, 1).to_pylist()[0]
    assert got == [
        (
            first["product_id"],
            float(first["quantity"]),
            first["unit_price"],
            first["amount"],
            first["currency"],
            first["cost"],
            f"Opportunity {first['deal_id']} {first['product_name']}",
            first["product_name"],
            first["product_family"],
        )
    ]
    # Channels and families are the picklists' labels, read with toLabel().
    assert "toLabel(LeadSource)" in server.queries_of("Opportunity")[-1]
    assert "toLabel(Family)" in server.queries_of("Product2")[-1]
    channels = dict(rows(tmp_path, "SELECT id, channel FROM raw_salesforce.opportunities"))
    expected = dict(
        zip(crm["deals"]["deal_id"].to_pylist(), crm["deals"]["channel"].to_pylist(), strict=True)
    )
    assert channels == expected
    assert "Trade show" in channels.values()
    stored = server.org.con.execute(
        """SELECT DISTINCT "LeadSource" FROM "Opportunity" WHERE "LeadSource" LIKE 'Trade%'"""
    ).fetchall()
    assert stored == [("Trade_show",)]  # what a plain SELECT LeadSource would have loaded
    families = {r[0] for r in rows(tmp_path, "SELECT DISTINCT family FROM raw_salesforce.products")}
    assert families == set(crm["deal_products"]["product_family"].to_pylist())


def test_a_changed_line_item_is_reloaded_and_a_deleted_one_leaves_raw(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    assert rows(
        tmp_path,
        "SELECT count(*) FROM raw_salesforce.opportunity_line_items WHERE line_cost IS NOT NULL",
    ) == [(0,)]  # no line cost field set: Salesforce has no standard one
    # Two lines of one deal, and another deal with lines.
    changed, deleted = (
        r[0]
        for r in server.org.con.execute(
            'SELECT "Id" FROM "OpportunityLineItem" WHERE "OpportunityId" = (SELECT '
            'min("OpportunityId") FROM "OpportunityLineItem") ORDER BY "Id" LIMIT 2'
        ).fetchall()
    )
    deal_of_other = server.org.con.execute(
        'SELECT max("OpportunityId") FROM "OpportunityLineItem"'
    ).fetchone()[0]
    server.org.update("OpportunityLineItem", changed, Quantity=7.0, TotalPrice=777.77)
    server.org.delete("OpportunityLineItem", deleted)
    server.org.delete("Opportunity", deal_of_other)  # its line items go with it
    deal = server.org.con.execute(
        'SELECT "OpportunityId" FROM "OpportunityLineItem" WHERE "Id" = ?', [changed]
    ).fetchone()[0]
    added = add_line(server, deal, "P-300", quantity=1, unit_price=5.0)
    served_before = len(server.served)

    load(server, tmp_path)

    # Only what changed since the cursor was asked for.
    second = [p for p in server.served[served_before:] if p.sobject == "OpportunityLineItem"]
    assert "WHERE SystemModstamp >" in second[0].soql and second[0].endpoint == "queryAll"
    since = second[0].soql.split("SystemModstamp > ")[1].split()[0]
    in_window = server.org.con.execute(
        'SELECT count(*) FROM "OpportunityLineItem" WHERE "SystemModstamp" > ?::TIMESTAMPTZ',
        [since],
    ).fetchone()[0]
    assert sum(p.records for p in second) == in_window < server.org.count("OpportunityLineItem")
    got = dict(
        (r[0], r[1:])
        for r in rows(
            tmp_path,
            "SELECT id, quantity, total_price, opportunity_id "
            "FROM raw_salesforce.opportunity_line_items",
        )
    )
    assert got[changed][:2] == (7.0, Decimal("777.77"))
    assert deleted not in got
    assert got[added] == (1.0, Decimal("5.00"), deal)
    assert deal_of_other not in {v[2] for v in got.values()}
    assert rows(
        tmp_path, "SELECT count(*) FROM raw_salesforce.opportunity_line_items WHERE is_deleted"
    ) == [(0,)]
    assert len(got) == server.org.count("OpportunityLineItem")


def test_a_changed_channel_is_reloaded(server: FakeSalesforce, tmp_path: Path) -> None:
    load(server, tmp_path)
    deal = server.org.con.execute('SELECT min("Id") FROM "Opportunity"').fetchone()[0]
    server.org.add_picklist_value("Opportunity", "LeadSource", "Web_Fair_26", "Web fair 2026")
    server.org.update("Opportunity", deal, LeadSource="Web_Fair_26")
    load(server, tmp_path)
    assert rows(
        tmp_path, "SELECT channel FROM raw_salesforce.opportunities WHERE id = ?", [deal]
    ) == [("Web fair 2026",)]


def test_an_org_without_products_loads_empty_line_items(crm: dict, tmp_path: Path) -> None:
    tables = {k: v for k, v in crm.items() if k != "deal_products"}
    with serve_crm(tables, min_batch_size=1) as server:
        for sobject in ("OpportunityLineItem", "Product2"):
            del server.org.schema[sobject]
            del server.org.names[sobject.lower()]
        load(server, tmp_path, line_cost_field="")
        assert not server.queries_of("OpportunityLineItem")
    for table in ("opportunity_line_items", "products"):
        assert rows(tmp_path, f"SELECT count(*) FROM raw_salesforce.{table}") == [(0,)]
    columns = {
        r[0]
        for r in rows(
            tmp_path,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'raw_salesforce' AND table_name = 'opportunity_line_items'",
        )
    }
    assert {"id", "opportunity_id", "product2_id", "total_price", "line_cost"} <= columns


def test_a_line_cost_field_the_org_lacks_is_an_error(server: FakeSalesforce, tmp_path) -> None:
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path, line_cost_field="Cots__c")
    message = str(failed.value)
    assert "SOURCES__SALESFORCE__LINE_COST_FIELD='Cots__c'" in message
    assert "(did you mean Cost__c" in message
