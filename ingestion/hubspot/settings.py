"""Endpoints, page sizes and default fields of the HubSpot source.

Every default here can be overridden by a setting of the same name under
`[sources.hubspot]` (or `SOURCES__HUBSPOT__<NAME>`); `docs/connectors/hubspot.md` lists
them. Nothing here is a secret.
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.hubapi.com"

# The setting a person must check when HubSpot refuses the token (401/403).
API_KEY_SETTING = "SOURCES__HUBSPOT__API_KEY"

# CRM v3 objects (list, search, batch read) and the endpoints beside them.
OBJECTS_PATH = "/crm/v3/objects/{object_type}"
SEARCH_PATH = "/crm/v3/objects/{object_type}/search"
BATCH_READ_PATH = "/crm/v3/objects/{object_type}/batch/read"
ASSOCIATIONS_BATCH_READ_PATH = "/crm/v4/associations/{from_type}/{to_type}/batch/read"
PROPERTY_PATH = "/crm/v3/properties/{object_type}/{property}"
OWNERS_PATH = "/crm/v3/owners"
PIPELINES_PATH = "/crm/v3/pipelines/{object_type}"
EXCHANGE_RATES_PATH = "/settings/v3/currencies/exchange-rates"
COMPANY_CURRENCY_PATH = "/settings/v3/currencies/company-currency"

# HubSpot's own limits: list pages hold at most 100 records (50 when property history is
# asked for), search pages 200, batch reads 100 inputs; a search query returns at most
# 10,000 results, past which it must be restarted from the last cursor value.
LIST_PAGE_SIZE = 100
HISTORY_PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 200
BATCH_READ_SIZE = 100
SEARCH_RESULT_LIMIT = 10_000

# Rows are handed to dlt in tables of about this many records: one table per API page
# would spend more time in dlt's per-item bookkeeping than in the data.
BATCH_ROWS = 5_000

# Incremental reads ask for records modified since the stored cursor minus this many
# seconds: search indexing and clocks lag a little, and the merge removes the overlap.
DEFAULT_LOOKBACK_SECONDS = 300

# Retries of 429, 5xx and dropped connections (Retry-After is honoured up to the delay cap).
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF_FACTOR = 1.0
DEFAULT_MAX_RETRY_DELAY = 60.0

# Properties HubSpot defines on every portal that the source always reads.
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "pipeline",
    "dealstage",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "hs_is_closed",
    "hs_is_closed_won",
)
COMPANY_PROPERTIES = ("name", "createdate", "hs_lastmodifieddate")
# Line items: `amount` is HubSpot's net price (quantity x price after discounts),
# `hs_cost_of_goods_sold` the unit cost (copied from the product when the line is added).
LINE_ITEM_PROPERTIES = (
    "name",
    "hs_product_id",
    "quantity",
    "price",
    "amount",
    "hs_cost_of_goods_sold",
    "hs_line_item_currency_code",
    "createdate",
    "hs_lastmodifieddate",
)
PRODUCT_PROPERTIES = ("name", "price", "hs_cost_of_goods_sold", "createdate", "hs_lastmodifieddate")
GOAL_TARGET_PROPERTIES = (
    "hs_goal_name",
    "hs_target_amount",
    "hs_start_datetime",
    "hs_end_datetime",
    "hubspot_owner_id",
    "hs_assignee_user_id",
    "hs_assignee_team_id",
    "hs_lastmodifieddate",
)
STAGE_HISTORY_PROPERTY = "dealstage"
MODIFIED_PROPERTY = "hs_lastmodifieddate"

# Custom-field mapping: which HubSpot property holds each field of the one CRM model.
# `industry` and `dealtype` are HubSpot's own; `hs_mrr` is HubSpot's MRR computed from
# line items; the others are custom properties a portal creates (or points elsewhere).
DEFAULT_SEGMENT_PROPERTY = "segment"
DEFAULT_REGION_PROPERTY = "region"
DEFAULT_INDUSTRY_PROPERTY = "industry"
DEFAULT_DEAL_TYPE_PROPERTY = "dealtype"
DEFAULT_CONTRACT_START_PROPERTY = "contract_start_date"
DEFAULT_CONTRACT_END_PROPERTY = "contract_end_date"
DEFAULT_MRR_PROPERTY = "hs_mrr"
DEFAULT_LOST_REASON_PROPERTY = "closed_lost_reason"
# The deal's acquisition channel: HubSpot's "Original Source Type" of deals (set from the
# associated contacts' original source), an enumeration whose option labels are loaded.
DEFAULT_CHANNEL_PROPERTY = "hs_analytics_source"
# HubSpot has no product family: its documented product property closest to one is
# "Product type" (inventory, non_inventory, service); a portal with a custom
# category property points the setting at it. Option labels are loaded too.
DEFAULT_PRODUCT_FAMILY_PROPERTY = "hs_product_type"

# HubSpot's `dealtype` options (and a common custom one) to the model's deal types;
# a value missing here is loaded as null and staged as `new_business`.
DEFAULT_DEAL_TYPE_VALUES: dict[str, str] = {
    "newbusiness": "new_business",
    "new_business": "new_business",
    "existingbusiness": "expansion",
    "expansion": "expansion",
    "upsell": "expansion",
    "renewal": "renewal",
}
DEAL_TYPES = ("new_business", "renewal", "expansion")

# Goal names (case-insensitive) to the crm-kpi metric they track. HubSpot's goal
# templates that track activities (calls, meetings, tickets) have no metric here and are
# not loaded as objectives.
DEFAULT_GOAL_METRICS: dict[str, str] = {
    "revenue": "won_revenue",
    "closed revenue": "won_revenue",
    "revenue won": "won_revenue",
    "deals won": "won_deals",
    "closed won deals": "won_deals",
    "deals created": "deals_created",
    "new deals": "deals_created",
    "new customers": "new_customers",
}
