"""Endpoints, defaults and the fields read from each Salesforce object.

Every default here is documented in docs/connectors/salesforce.md; a setting named in
a comment is read by `salesforce_source` from `SOURCES__SALESFORCE__<NAME>` or
`[sources.salesforce]` in `.dlt/config.toml` / `.dlt/secrets.toml`.
"""

from __future__ import annotations

from dataclasses import dataclass

# base_url: the login host by default. A token alone then works: the connector asks
# the login host's userinfo endpoint for the org's own instance URL. Set base_url to
# the My Domain URL (https://<domain>.my.salesforce.com) to skip that call, or to a
# sandbox, proxy or test server.
DEFAULT_BASE_URL = "https://login.salesforce.com"
LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
DEFAULT_API_VERSION = "v61.0"

# batch_size: records per page (Sforce-Query-Options: batchSize); Salesforce allows
# 200..2000 and may send fewer.
DEFAULT_BATCH_SIZE = 2000
# lookback_seconds: each incremental run re-reads this much before its stored cursor,
# so records committed late by long transactions (clock skew between app servers)
# are not missed; the merge on Id removes the overlap.
DEFAULT_LOOKBACK_SECONDS = 300.0
# HTTP retries (503 overload, 5xx, dropped connections): bounded exponential backoff,
# Retry-After honoured up to max_retry_delay.
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BACKOFF_FACTOR = 1.0
DEFAULT_MAX_RETRY_DELAY = 120.0
DEFAULT_REQUEST_TIMEOUT = 120.0
# Sforce-Limit-Info tells the org's API requests of the last 24 hours and its limit:
# warn from this share on, and (api_usage_ceiling) stop before using more than that
# share, so other integrations of the org keep some requests.
API_USAGE_WARNING_SHARE = 0.9
DEFAULT_API_USAGE_CEILING = 0.95

# The label given to deals whose pipeline field is empty (orgs without record types).
DEFAULT_PIPELINE = "Sales"


@dataclass(frozen=True)
class FieldMapping:
    """Which Salesforce field holds each value the one CRM model needs.

    A value is an API field name of the object (`Segment__c`) or a one-level
    relationship path (`UserRole.Name`); an empty string leaves the column empty.
    A default that the org lacks is skipped with a log line; a field set explicitly
    that the org lacks stops the run with the setting's name.
    """

    segment: str = "Segment__c"  # Account
    region: str = "Region__c"  # Account
    industry: str = "Industry"  # Account
    team: str = "UserRole.Name"  # User
    pipeline: str = "RecordType.Name"  # Opportunity
    deal_type: str = "Type"  # Opportunity, values mapped by deal_type_values
    contract_start: str = "Contract_Start__c"  # Opportunity, date
    contract_end: str = "Contract_End__c"  # Opportunity, date (inclusive)
    mrr: str = "MRR__c"  # Opportunity, monthly recurring revenue in the deal's currency
    lost_reason: str = "Loss_Reason__c"  # Opportunity
    # The acquisition channel: Opportunity.LeadSource (standard picklist), read with
    # toLabel() so the option's label is kept, not its API value.
    channel: str = "LeadSource"  # Opportunity
    # Salesforce has no standard cost field on Opportunity or OpportunityLineItem: the
    # cost stays empty unless these name a (custom or formula) field that holds it.
    cost: str = ""  # Opportunity, the deal's total cost in its currency
    line_cost: str = ""  # OpportunityLineItem, the line's total cost (unit cost x quantity)


DEFAULT_MAPPING = FieldMapping()

# Which object each mapped value is read from, and the setting that names it.
MAPPED_ON = {
    "segment": "Account",
    "region": "Account",
    "industry": "Account",
    "team": "User",
    "pipeline": "Opportunity",
    "deal_type": "Opportunity",
    "contract_start": "Opportunity",
    "contract_end": "Opportunity",
    "mrr": "Opportunity",
    "lost_reason": "Opportunity",
    "channel": "Opportunity",
    "cost": "Opportunity",
    "line_cost": "OpportunityLineItem",
}
# Mapped columns read as their picklist label (SOQL toLabel) when the field is a picklist.
LABELLED = frozenset({"channel"})

# Opportunity.Type's standard picklist values (and common custom ones) to the one CRM
# model's deal types; compared case-insensitively. Unlisted values become
# new_business in staging, and are named once per run in a warning.
DEFAULT_DEAL_TYPE_VALUES: dict[str, str] = {
    "new customer": "new_business",
    "new business": "new_business",
    "new": "new_business",
    "new_business": "new_business",
    "existing customer - upgrade": "expansion",
    "upgrade": "expansion",
    "upsell": "expansion",
    "cross-sell": "expansion",
    "expansion": "expansion",
    "existing customer - replacement": "renewal",
    "existing customer - downgrade": "renewal",
    "renewal": "renewal",
}
DEAL_TYPES = ("new_business", "renewal", "expansion")


@dataclass(frozen=True)
class Field:
    """One raw column: its name in raw_salesforce, the Salesforce field, its kind.

    kind: string, bool, int, double, money (DECIMAL(18,2)), date, datetime.
    """

    column: str
    path: str
    kind: str = "string"
    required: bool = True  # False: skipped when the org lacks it (CurrencyIsoCode)
    labelled: bool = False  # a picklist read as its labels (SOQL toLabel), not its values


# Standard fields read per object. Mapped fields (FieldMapping) are added at run time.
OPPORTUNITY_FIELDS = (
    Field("id", "Id"),
    Field("account_id", "AccountId"),
    Field("owner_id", "OwnerId"),
    Field("name", "Name"),
    Field("stage_name", "StageName"),
    Field("amount", "Amount", "money"),
    Field("currency_iso_code", "CurrencyIsoCode", required=False),
    Field("close_date", "CloseDate", "date"),
    Field("created_date", "CreatedDate", "datetime"),
    Field("is_closed", "IsClosed", "bool"),
    Field("is_won", "IsWon", "bool"),
    Field("is_deleted", "IsDeleted", "bool"),
    Field("probability", "Probability", "double"),
    Field("forecast_category", "ForecastCategory"),
    Field("type", "Type"),
    Field("last_modified_date", "LastModifiedDate", "datetime"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
OPPORTUNITY_HISTORY_FIELDS = (
    Field("id", "Id"),
    Field("opportunity_id", "OpportunityId"),
    Field("stage_name", "StageName"),
    Field("amount", "Amount", "money"),
    Field("close_date", "CloseDate", "date"),
    Field("probability", "Probability", "double"),
    Field("created_date", "CreatedDate", "datetime"),
    Field("is_deleted", "IsDeleted", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
OPPORTUNITY_STAGE_FIELDS = (
    Field("id", "Id"),
    Field("master_label", "MasterLabel"),
    Field("api_name", "ApiName"),
    Field("sort_order", "SortOrder", "int"),
    Field("default_probability", "DefaultProbability", "double"),
    Field("forecast_category", "ForecastCategory"),
    Field("is_active", "IsActive", "bool"),
    Field("is_closed", "IsClosed", "bool"),
    Field("is_won", "IsWon", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
ACCOUNT_FIELDS = (
    Field("id", "Id"),
    Field("name", "Name"),
    Field("created_date", "CreatedDate", "datetime"),
    Field("is_deleted", "IsDeleted", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
USER_FIELDS = (
    Field("id", "Id"),
    Field("name", "Name"),
    Field("email", "Email"),
    Field("is_active", "IsActive", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
FORECASTING_QUOTA_FIELDS = (
    Field("id", "Id"),
    Field("quota_owner_id", "QuotaOwnerId"),
    Field("quota_amount", "QuotaAmount", "money"),
    Field("quota_quantity", "QuotaQuantity", "double"),
    Field("is_quantity", "IsQuantity", "bool"),
    Field("start_date", "StartDate", "date"),
    Field("period_id", "PeriodId"),
    Field("currency_iso_code", "CurrencyIsoCode", required=False),
    Field("forecasting_type_id", "ForecastingTypeId", required=False),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
PERIOD_FIELDS = (
    Field("id", "Id"),
    Field("type", "Type"),
    Field("start_date", "StartDate", "date"),
    Field("end_date", "EndDate", "date"),
    Field("fully_qualified_label", "FullyQualifiedLabel", required=False),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
CURRENCY_TYPE_FIELDS = (
    Field("id", "Id"),
    Field("iso_code", "IsoCode"),
    Field("conversion_rate", "ConversionRate", "double"),
    Field("is_corporate", "IsCorporate", "bool"),
    Field("is_active", "IsActive", "bool"),
)
DATED_CONVERSION_RATE_FIELDS = (
    Field("id", "Id"),
    Field("iso_code", "IsoCode"),
    Field("conversion_rate", "ConversionRate", "double"),
    Field("start_date", "StartDate", "date"),
    Field("next_start_date", "NextStartDate", "date"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
# Line items (Opportunity Products) and the products they name: ListPrice is the price
# book's, UnitPrice the sales price, TotalPrice the line's total after Discount.
OPPORTUNITY_LINE_ITEM_FIELDS = (
    Field("id", "Id"),
    Field("opportunity_id", "OpportunityId"),
    Field("product2_id", "Product2Id", required=False),  # API version 30.0 and later
    Field("pricebook_entry_id", "PricebookEntryId"),
    Field("name", "Name"),
    Field("product_code", "ProductCode", required=False),
    Field("quantity", "Quantity", "double"),
    Field("unit_price", "UnitPrice", "money"),
    Field("list_price", "ListPrice", "money"),
    Field("discount", "Discount", "double", required=False),
    Field("total_price", "TotalPrice", "money"),
    Field("currency_iso_code", "CurrencyIsoCode", required=False),
    Field("created_date", "CreatedDate", "datetime"),
    Field("last_modified_date", "LastModifiedDate", "datetime"),
    Field("is_deleted", "IsDeleted", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
PRODUCT_FIELDS = (
    Field("id", "Id"),
    Field("name", "Name"),
    Field("product_code", "ProductCode"),
    Field("family", "Family", labelled=True),
    Field("is_active", "IsActive", "bool"),
    Field("is_deleted", "IsDeleted", "bool"),
    Field("system_modstamp", "SystemModstamp", "datetime"),
)
ORGANIZATION_FIELDS = (
    Field("id", "Id"),
    Field("name", "Name"),
    Field("default_currency_iso_code", "DefaultCurrencyIsoCode"),
)
