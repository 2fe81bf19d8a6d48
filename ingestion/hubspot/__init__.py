"""HubSpot CRM source: deals with their stage history, line items and products, companies,
owners, pipelines, goal targets and exchange rates, read incrementally with deletes.

Resources, one per table of schema `raw_hubspot`, each with its write disposition,
primary key and incremental cursor:

- `deals`: merge (delete-insert) on `id`, cursor `updated_at` (`hs_lastmodifieddate`).
  Deals deleted in HubSpot (listed with `archived=true`) arrive as rows whose `archived`
  column is dlt's hard-delete hint: the merge removes them.
- `deal_stage_history`: a transformer of `deals` (so it follows the deals cursor): merge
  on `deal_id, stage_id, entered_at` with merge key `deal_id`, so a deal's history is
  replaced whole, and deleted with its deal.
- `companies`, `goal_targets`, `products`: like `deals` (merge on `id`, cursor
  `updated_at`, deletes).
- `line_items`: like `deals`, each with its deal (the v3 list's `associations=deals` on
  the first run, a v4 association batch read of each page of changed ones after).
- `owners` and `owner_teams` (active and deactivated owners, their teams),
  `deal_pipeline_stages`, `exchange_rates`, `property_options` (the labels of the
  channel and product family properties): a full snapshot on every run, no cursor
  (HubSpot offers no modification filter on them and a portal has few). The snapshot
  replaces the previous one as a merge whose merge key, `snapshot`, is the same on every
  row: all old rows go, the new ones are deduplicated on the primary key, so a load that
  is killed and resumed cannot leave a row twice as dlt's truncate-and-insert can.

The first run lists every deal with `propertiesWithHistory=dealstage` and its company
associations; later runs search for the records modified since the stored cursor minus
a lookback (the merge removes the overlap), then batch-read the changed deals' stage
history and primary company. A failed run (an error, a malformed page) loads nothing and
leaves every cursor where it was.

API reference: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/deals/guide
(objects, search, batch read), with /crm/owners, /crm/pipelines, /crm/objects/goals,
/crm/associations and /account/settings/multicurrency beside it.

Credentials: in HubSpot, Settings > Integrations > Private Apps > Create a private app
with only the read scopes `crm.objects.deals.read`, `crm.objects.companies.read`,
`crm.objects.owners.read`, `crm.objects.goals.read`, `settings.currencies.read`,
`crm.objects.line_items.read`, `e-commerce` (products) and `crm.schemas.deals.read`
(property labels); put
its access token in `SOURCES__HUBSPOT__API_KEY` (or `api_key` under [sources.hubspot]
in `.dlt/secrets.toml`). `docs/connectors/hubspot.md` lists every setting and default.
"""

from collections.abc import Sequence
from datetime import datetime

import dlt
from dlt.extract.resource import DltResource

from ingestion.common.incremental import lagged_cursor
from ingestion.hubspot import companies, deals, owners, products
from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.currencies import exchange_rates as exchange_rates_resource
from ingestion.hubspot.errors import (
    HubSpotAuthError,
    HubSpotDataError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotResponseError,
)
from ingestion.hubspot.goals import goal_targets
from ingestion.hubspot.labels import property_options
from ingestion.hubspot.line_items import line_items as line_items_resource
from ingestion.hubspot.pipelines import deal_pipeline_stages

__all__ = [
    "HubSpotAuthError",
    "HubSpotDataError",
    "HubSpotError",
    "HubSpotRateLimitError",
    "HubSpotResponseError",
    "hubspot_source",
]


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_source(
    api_key: str = dlt.secrets.value,
    base_url: str = hs.DEFAULT_BASE_URL,
    segment_property: str = hs.DEFAULT_SEGMENT_PROPERTY,
    region_property: str = hs.DEFAULT_REGION_PROPERTY,
    industry_property: str = hs.DEFAULT_INDUSTRY_PROPERTY,
    deal_type_property: str = hs.DEFAULT_DEAL_TYPE_PROPERTY,
    contract_start_property: str = hs.DEFAULT_CONTRACT_START_PROPERTY,
    contract_end_property: str = hs.DEFAULT_CONTRACT_END_PROPERTY,
    mrr_property: str = hs.DEFAULT_MRR_PROPERTY,
    lost_reason_property: str = hs.DEFAULT_LOST_REASON_PROPERTY,
    channel_property: str = hs.DEFAULT_CHANNEL_PROPERTY,
    product_family_property: str = hs.DEFAULT_PRODUCT_FAMILY_PROPERTY,
    deal_type_values: dict[str, str] | None = None,
    goal_metrics: dict[str, str] | None = None,
    default_currency: str = "",
    goals: bool = True,
    exchange_rates: bool = True,
    line_items: bool = True,
    property_labels: bool = True,
    lookback_seconds: float = hs.DEFAULT_LOOKBACK_SECONDS,
    page_size: int = hs.SEARCH_PAGE_SIZE,
    request_timeout: float = hs.DEFAULT_REQUEST_TIMEOUT,
    max_attempts: int = hs.DEFAULT_MAX_ATTEMPTS,
    backoff_factor: float = hs.DEFAULT_BACKOFF_FACTOR,
    max_retry_delay: float = hs.DEFAULT_MAX_RETRY_DELAY,
) -> Sequence[DltResource]:
    """The HubSpot portal of the private app token `api_key`; see the module docstring.

    Only `api_key` is required. `base_url` points elsewhere than HubSpot's API (a proxy,
    the tests' fake server). The `*_property` settings name the HubSpot property that holds
    each field of the one CRM model; `deal_type_values` maps deal-type options to
    new_business/renewal/expansion and `goal_metrics` goal names to crm-kpi metrics (both
    replace the defaults whole). `default_currency` is the currency of deals that name none
    (default: the portal's company currency). `goals`, `exchange_rates`,
    `line_items` (line items and products) and `property_labels` turn those reads
    off (their tables stay, empty) for a token without those scopes.
    `lookback_seconds` is re-read at every incremental run; `page_size` is capped per
    endpoint by HubSpot's limits; the last four bound each request and its retries.
    """
    lookback = float(lookback_seconds)
    if lookback < 0:
        raise ValueError(f"SOURCES__HUBSPOT__LOOKBACK_SECONDS={lookback_seconds} must be >= 0")
    api = HubSpotApi(
        api_key,
        base_url,
        retry={
            "max_attempts": int(max_attempts),
            "backoff_factor": float(backoff_factor),
            "max_retry_delay": float(max_retry_delay),
            "request_timeout": float(request_timeout),
        },
        mapping={
            "segment": segment_property,
            "region": region_property,
            "industry": industry_property,
            "deal_type": deal_type_property,
            "contract_start": contract_start_property,
            "contract_end": contract_end_property,
            "mrr": mrr_property,
            "lost_reason": lost_reason_property,
            "channel": channel_property,
            "product_family": product_family_property,
            "deal_type_values": dict(deal_type_values) if deal_type_values else None,
            "goal_metrics": dict(goal_metrics) if goal_metrics else None,
        },
        default_currency=default_currency,
        page_size=max(1, int(page_size)),
    )

    def cursor() -> dlt.sources.incremental[datetime]:
        # lag re-reads this run's lookback; primary_key=() leaves deduplication to the merge
        return lagged_cursor("updated_at", lookback, primary_key=())

    # the modules, not their resources, are imported where the names are the same: a
    # package attribute `deals` must stay the module `ingestion.hubspot.deals`
    deal_resource = deals.deals(api).apply_hints(incremental=cursor())
    return (
        deal_resource,
        deal_resource | deals.deal_stage_history(api),
        companies.companies(api).apply_hints(incremental=cursor()),
        goal_targets(api, goals).apply_hints(incremental=cursor()),
        line_items_resource(api, line_items).apply_hints(incremental=cursor()),
        products.products(api, line_items).apply_hints(incremental=cursor()),
        property_options(api, property_labels, line_items),
        owners.owners(api),
        owners.owner_teams(api),
        deal_pipeline_stages(api),
        exchange_rates_resource(api, exchange_rates),
    )
