"""Endpoints and defaults of the Pipedrive source (no logic here).

Every default below is documented in docs/connectors/pipedrive.md; the source's
arguments (dlt config `sources.pipedrive.<name>`) override them.
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.pipedrive.com"

# API v2 where Pipedrive has it; v1 where it does not (users, teams, goals, currencies
# and the per-deal changelog have no v2 endpoint).
DEALS = "/api/v2/deals"
ARCHIVED_DEALS = "/api/v2/deals/archived"
DEAL_FIELDS = "/api/v2/dealFields"
DEAL_PRODUCTS = "/api/v2/deals/products"  # line items of up to 100 deals a request
ORGANIZATIONS = "/api/v2/organizations"
ORGANIZATION_FIELDS = "/api/v2/organizationFields"
PRODUCTS = "/api/v2/products"
PRODUCT_FIELDS = "/api/v2/productFields"
PIPELINES = "/api/v2/pipelines"
STAGES = "/api/v2/stages"
USERS = "/api/v1/users"
LEGACY_TEAMS = "/api/v1/legacyTeams"
GOALS = "/api/v1/goals/find"
CURRENCIES = "/api/v1/currencies"
DEAL_CHANGELOG = "/api/v1/deals/{id}/changelog"

TOKEN_HEADER = "x-api-token"  # never the api_token query parameter: URLs end up in logs
TOKEN_SETTING = "SOURCES__PIPEDRIVE__API_TOKEN"

PAGE_SIZE = 500  # the API's maximum for v2 lists
CHANGELOG_PAGE_SIZE = 500
DEAL_STATUSES = "open,won,lost,deleted"
LIVE_DEAL_STATUSES = "open,won,lost"  # a full refresh finds deletions by absence
DEAL_IDS_PER_REQUEST = 100  # the most deal_ids GET /api/v2/deals/products takes
# optional deal fields asked for: products_count spares the line-item request of a deal
# without products
DEAL_INCLUDE_FIELDS = "products_count"
DELETED_DEALS_KEPT_DAYS = 30  # Pipedrive lists a deleted deal for 30 days, then forgets it

# Records whose update_time lies up to this many seconds before the stored cursor are
# asked for again: clock skew between Pipedrive's servers, and writes that commit after
# a read started, would otherwise be missed. The merge makes the re-read harmless.
LOOKBACK_SECONDS = 600

# HTTP: 429 and 5xx are retried, honouring Retry-After (and x-ratelimit-reset when a 429
# has no Retry-After), with exponential backoff between other retries, bounded.
REQUEST_TIMEOUT = 60.0
MAX_ATTEMPTS = 8
BACKOFF_FACTOR = 1.0
MAX_RETRY_DELAY = 120.0
HISTORY_WORKERS = 4  # concurrent changelog requests (one per deal)

# Custom fields are matched by their API key (the 40-character hash) or, failing that,
# by their name in Pipedrive's settings (case-insensitive). "" turns a mapping off.
SEGMENT_FIELD = "Segment"
REGION_FIELD = "Region"
INDUSTRY_FIELD = "Industry"
DEAL_TYPE_FIELD = "Deal type"
CONTRACT_START_FIELD = "Contract start"
CONTRACT_END_FIELD = "Contract end"
MRR_FIELD = "MRR"
# The deal's acquisition channel: Pipedrive's built-in "Source channel" (field key
# `channel`, a single option); a company that keeps it in a custom field names it here.
CHANNEL_FIELD = "channel"
# The product family: the products' built-in `category` field, or a custom product field.
PRODUCT_FAMILY_FIELD = "category"
# Pipedrive users have no custom fields: a user's team comes from Pipedrive's Teams
# (the lowest-id active team the user belongs to), or from the user attribute named here.
TEAM_FIELD = "legacy_teams"

# Labels of the deal-type field, normalised (lower case, spaces and dashes as "_"),
# mapped to the crm-kpi deal types. A label not listed is logged and left empty, and
# staging then reads the deal as new business.
DEAL_TYPE_LABELS: dict[str, str] = {
    "new_business": "new_business",
    "new": "new_business",
    "new_logo": "new_business",
    "new_customer": "new_business",
    "renewal": "renewal",
    "renew": "renewal",
    "expansion": "expansion",
    "upsell": "expansion",
    "up_sell": "expansion",
    "cross_sell": "expansion",
    "upgrade": "expansion",
}

# Goal types queried one by one: /goals/find returns everyone's goals only when a
# type is given (without one it returns the token owner's goals).
GOAL_TYPES = (
    "deals_won",
    "deals_started",
    "deals_progressed",
    "revenue_forecast",
    "activities_completed",
    "activities_added",
)
# (goal type, tracking metric) -> crm-kpi metric; any other goal is loaded but reported
# as unmapped and left out of the objectives.
GOAL_METRICS: dict[tuple[str, str], str] = {
    ("deals_won", "quantity"): "won_deals",
    ("deals_won", "sum"): "won_revenue",
    ("deals_started", "quantity"): "deals_created",
}
GOAL_INTERVAL_GRAINS: dict[str, str | None] = {
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
    "yearly": None,  # a one-year goal is one objective period without sub-periods
}

PROGRESS_LOG_SECONDS = 10.0  # how often the changelog loop reports its progress
