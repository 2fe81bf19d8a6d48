"""Pipedrive source: deals, their stage history, pipelines and stages, organizations,
users and teams, and goals, read through Pipedrive's API v2 where it exists.

Resources (tables of the `raw_pipedrive` dataset):

- `deals` (GET /api/v2/deals and /api/v2/deals/archived): incremental on `update_time`,
  merged by `id`; deleted deals (listed by Pipedrive with status `deleted` for 30 days)
  are hard-deleted.
- `stage_history` (GET /api/v1/deals/{id}/changelog, v1 only): one request per deal
  modified since the cursor; progress is logged and a killed run resumes where it stopped.
- `deal_products` (GET /api/v2/deals/products, 100 deals a request): the line items of
  every deal modified since the cursor, each deal's set replaced as a whole, so a line
  removed in Pipedrive (which updates its deal) disappears; deleted deals lose theirs.
- `organizations` (GET /api/v2/organizations): incremental, merged by `id`; segment,
  region and industry come from fields named by settings (`organizationFields`).
- `products`, `product_prices` (GET /api/v2/products, one read): the catalog, its family
  field (`productFields`) and its price and cost per currency, replaced on every run.
- `pipelines`, `stages` (API v2), `users` (v1, team from Pipedrive's Teams or a user
  attribute), `teams` (v1 legacyTeams), `goals` (GET /api/v1/goals/find, v1 only):
  small tables, replaced on every run.

Pipedrive keeps no exchange rates: a multi-currency company gives the `fx_rates` file
(CRM_KPI_FX_RATES). Deal custom fields (deal type, contract start and end, MRR) are
mapped by settings too; see docs/connectors/pipedrive.md for every setting.

API reference: https://developers.pipedrive.com/docs/api/v1 (v1 and v2 endpoints).

Credentials: the API token of a Pipedrive user (Personal preferences > API), set as
SOURCES__PIPEDRIVE__API_TOKEN or `api_token` under [sources.pipedrive] in
.dlt/secrets.toml. It is sent only in the `x-api-token` header. Pipedrive API tokens carry
no scopes: for read-only access give the token to a dedicated user whose permission set
can see every deal but edit nothing (docs/connectors/pipedrive.md explains how).
"""

from collections.abc import Sequence

import dlt
from dlt.extract.resource import DltResource

from ingestion.common.incremental import EPOCH, FAR_FUTURE, lagged_cursor
from ingestion.pipedrive import (
    deal_products,
    deals,
    goals,
    history,
    organizations,
    products,
    reference,
    settings,
)
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import (
    PipedriveAuthError,
    PipedriveConfigError,
    PipedriveError,
    PipedriveResponseError,
)
from ingestion.pipedrive.fields import Notes
from ingestion.pipedrive.listing import Options

__all__ = [
    "PipedriveAuthError",
    "PipedriveConfigError",
    "PipedriveError",
    "PipedriveResponseError",
    "pipedrive_source",
]


@dlt.source(name="pipedrive", max_table_nesting=0)
def pipedrive_source(
    api_token: str = dlt.secrets.value,
    base_url: str = settings.DEFAULT_BASE_URL,
    page_size: int = settings.PAGE_SIZE,
    lookback_seconds: int = settings.LOOKBACK_SECONDS,
    full_refresh: bool = False,
    include_archived: bool = True,
    load_stage_history: bool = True,
    history_workers: int = settings.HISTORY_WORKERS,
    segment_field: str = settings.SEGMENT_FIELD,
    region_field: str = settings.REGION_FIELD,
    industry_field: str = settings.INDUSTRY_FIELD,
    deal_type_field: str = settings.DEAL_TYPE_FIELD,
    contract_start_field: str = settings.CONTRACT_START_FIELD,
    contract_end_field: str = settings.CONTRACT_END_FIELD,
    mrr_field: str = settings.MRR_FIELD,
    channel_field: str = settings.CHANNEL_FIELD,
    product_family_field: str = settings.PRODUCT_FAMILY_FIELD,
    team_field: str = settings.TEAM_FIELD,
    deal_type_labels: dict[str, str] | None = None,
    request_timeout: float = settings.REQUEST_TIMEOUT,
    max_attempts: int = settings.MAX_ATTEMPTS,
    backoff_factor: float = settings.BACKOFF_FACTOR,
    max_retry_delay: float = settings.MAX_RETRY_DELAY,
) -> Sequence[DltResource]:
    """The Pipedrive resources, configured from `sources.pipedrive.*` (env or .dlt/*.toml).

    Only `api_token` is required. `full_refresh=True` reads everything and replaces the
    tables, which also removes records deleted in Pipedrive too long ago for the
    incremental run to see (deleted deals are listed for 30 days only, deleted
    organizations not at all). `lookback_seconds` re-reads changes that close to the
    cursor. The retry settings bound the wait on 429, 5xx and dropped connections.
    """
    if not 1 <= page_size <= settings.PAGE_SIZE:
        raise PipedriveConfigError(
            f"SOURCES__PIPEDRIVE__PAGE_SIZE={page_size} must be between 1 and {settings.PAGE_SIZE}"
        )
    if lookback_seconds < 0:
        raise PipedriveConfigError(
            f"SOURCES__PIPEDRIVE__LOOKBACK_SECONDS={lookback_seconds} must be 0 or more"
        )
    if max_attempts < 1 or history_workers < 1:
        raise PipedriveConfigError(
            "SOURCES__PIPEDRIVE__MAX_ATTEMPTS and SOURCES__PIPEDRIVE__HISTORY_WORKERS "
            "must be 1 or more"
        )
    client = PipedriveClient(
        base_url,
        api_token,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        backoff_factor=backoff_factor,
        max_retry_delay=max_retry_delay,
    )
    options = Options(
        page_size=page_size,
        full_refresh=full_refresh,
        include_archived=include_archived,
        history_workers=history_workers,
        deal_fields={
            "deal_type": ("deal_type_field", deal_type_field),
            "contract_start": ("contract_start_field", contract_start_field),
            "contract_end": ("contract_end_field", contract_end_field),
            "mrr": ("mrr_field", mrr_field),
            "channel": ("channel_field", channel_field),
        },
        organization_fields={
            "segment": ("segment_field", segment_field),
            "region": ("region_field", region_field),
            "industry": ("industry_field", industry_field),
        },
        product_fields={"product_family": ("product_family_field", product_family_field)},
        team_field=(team_field or "").strip() or settings.TEAM_FIELD,
        deal_type_labels=dict(deal_type_labels or {}),
    )
    notes = Notes()
    deal_resource = deals.deals(client, options, notes)
    org_resource = organizations.organizations(client, options, notes)
    fetcher = history.HistoryRun(client, history_workers, full_refresh)
    incremental_resources: list[DltResource] = [deal_resource, org_resource]
    if load_stage_history:
        history_resource = deal_resource | history.stage_history(fetcher=fetcher)
    else:
        history_resource = history.no_stage_history()
    incremental_resources.append(history_resource)
    lines_resource = deal_resource | deal_products.deal_products(client=client, options=options)
    for resource in incremental_resources:
        if full_refresh:
            # stateless full range, replaced: a record missing from Pipedrive is deleted
            resource.apply_hints(
                write_disposition="replace",
                incremental=lagged_cursor(
                    "update_time", None, initial_value=EPOCH, end_value=FAR_FUTURE
                ),
            )
        elif lookback_seconds != settings.LOOKBACK_SECONDS:
            resource.apply_hints(
                incremental=lagged_cursor("update_time", lookback_seconds, initial_value=EPOCH)
            )
    if full_refresh:  # every live deal's lines, replaced: lines of deleted deals go too
        lines_resource.apply_hints(write_disposition="replace")
    catalog = products.ProductCatalog(client, options, notes)
    return (
        deal_resource,
        history_resource,
        lines_resource,
        org_resource,
        products.products(catalog),
        products.product_prices(catalog),
        reference.pipelines(client, options),
        reference.stages(client, options),
        reference.users(client, options),
        reference.teams(client, options),
        goals.goals(client),
    )
