"""HubSpot CRM source: deals with their stage history, companies, owners, pipelines, goal
targets and exchange rates, read incrementally with deletes.

Resources, one per table of schema `raw_hubspot`, each with its write disposition,
primary key and incremental cursor:

- `deals`: merge (delete-insert) on `id`, cursor `updated_at` (`hs_lastmodifieddate`).
  Deals deleted in HubSpot (listed with `archived=true`) arrive as rows whose `archived`
  column is dlt's hard-delete hint: the merge removes them.
- `deal_stage_history`: a transformer of `deals` (so it follows the deals cursor): merge
  on `deal_id, stage_id, entered_at` with merge key `deal_id`, so a deal's history is
  replaced whole, and deleted with its deal.
- `companies`, `goal_targets`: like `deals` (merge on `id`, cursor `updated_at`, deletes).
- `owners` and `owner_teams` (active and deactivated owners, their teams),
  `deal_pipeline_stages`, `exchange_rates`: a full snapshot on every run, no cursor
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
`crm.objects.owners.read`, `crm.objects.goals.read` and `settings.currencies.read`; put
its access token in `SOURCES__HUBSPOT__API_KEY` (or `api_key` under [sources.hubspot]
in `.dlt/secrets.toml`). `docs/connectors/hubspot.md` lists every setting and default.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.resource import DltResource

from ingestion.common.http import RetryPolicy
from ingestion.common.incremental import MERGE, cursor_start, delete_hints, lagged_cursor
from ingestion.hubspot import settings as hs
from ingestion.hubspot.helpers import (
    COMPANIES_SCHEMA,
    DEALS_SCHEMA,
    EXCHANGE_RATES_SCHEMA,
    GOAL_TARGETS_SCHEMA,
    STAGE_HISTORY_SCHEMA,
    FieldMapping,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotDataError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotResponseError,
    ObjectReader,
    check_retry,
    company_currency,
    company_rows,
    deal_rows,
    empty,
    exchange_rate_rows,
    goal_target_rows,
    history_tombstone_rows,
    owner_rows,
    paged_results,
    pipeline_stage_rows,
    primary_from_list_associations,
    stage_history_rows,
    tombstone_rows,
)

__all__ = [
    "HubSpotAuthError",
    "HubSpotDataError",
    "HubSpotError",
    "HubSpotRateLimitError",
    "HubSpotResponseError",
    "hubspot_source",
]

# `archived` marks a delete (dlt's hard_delete); of two copies of a record in one load the
# latest `updated_at` wins, so a delete read in the same run as a live copy prevails.
DELETE_HINTS: dict[str, Any] = delete_hints("archived", "updated_at")


# A snapshot table's merge key: one value for all rows, so each load replaces them all.
SNAPSHOT_HINTS: dict[str, Any] = {"write_disposition": MERGE, "merge_key": "snapshot"}


def _snapshot(table: pa.Table) -> pa.Table:
    return table.append_column(
        pa.field("snapshot", pa.string(), nullable=False),
        pa.array(["hubspot"] * table.num_rows, pa.string()),
    )


class _Api:
    """The portal's API and mapping, built on first use: a bad setting then fails the
    HubSpot run with its own message instead of failing the listing of sources."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        retry: dict[str, Any],
        mapping: dict[str, Any],
        default_currency: str,
        page_size: int,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._retry = retry
        self._mapping = mapping
        self._default_currency = default_currency
        self.page_size = page_size
        self._company_currency: str | None = None
        self._owners: list[dict[str, Any]] | None = None
        # stage history read with each batch of deals, until the deal_stage_history
        # transformer takes the rows of the deals that passed the incremental filter
        self._pending_history: list[pa.Table] = []

    @cached_property
    def client(self) -> HubSpotClient:
        retry = check_retry(RetryPolicy(**self._retry))
        return HubSpotClient(self._api_key, self._base_url, retry)

    @cached_property
    def mapping(self) -> FieldMapping:
        try:
            return FieldMapping(**{k: v for k, v in self._mapping.items() if v is not None})
        except ValueError as exc:
            raise HubSpotError(str(exc)) from None

    def reader(
        self,
        object_type: str,
        properties: Sequence[str],
        history: Sequence[str] = (),
        associations: Sequence[str] = (),
    ) -> ObjectReader:
        return ObjectReader(
            self.client,
            object_type,
            tuple(properties),
            tuple(history),
            tuple(associations),
            page_size=self.page_size,
        )

    def currency(self) -> str:
        """The currency of deals that name none: the setting, else the portal's own."""
        if self._company_currency is None:
            code = (self._default_currency or "").strip().upper()
            if code and (len(code) != 3 or not code.isalpha()):
                raise HubSpotError(
                    f"SOURCES__HUBSPOT__DEFAULT_CURRENCY={self._default_currency!r} is not a "
                    "3-letter ISO 4217 code such as EUR"
                )
            self._company_currency = code or company_currency(self.client)
        return self._company_currency

    def owners(self) -> list[dict[str, Any]]:
        """Active, then deactivated owners (read once for `owners` and `owner_teams`)."""
        if self._owners is None:
            listing = {"limit": hs.LIST_PAGE_SIZE}
            self._owners = [
                *paged_results(
                    self.client, hs.OWNERS_PATH, {**listing, "archived": "false"}, "owners"
                ),
                *paged_results(
                    self.client, hs.OWNERS_PATH, {**listing, "archived": "true"}, "archived owners"
                ),
            ]
        return self._owners

    def hold_history(self, rows: pa.Table) -> None:
        self._pending_history.append(rows)

    def take_history(self, deal_ids: pa.Array) -> pa.Table:
        """The held history rows of `deal_ids`; the others stay held."""
        if not self._pending_history:
            return empty(STAGE_HISTORY_SCHEMA)
        held = pa.concat_tables(self._pending_history, promote_options="default")
        mine = pc.is_in(held.column("deal_id"), value_set=deal_ids)
        self._pending_history = [held.filter(pc.invert(mine))]
        return held.filter(mine)


def _batches(pages: Iterator[Any], rows: int = hs.BATCH_ROWS) -> Iterator[list[Any]]:
    """Pages grouped until about `rows` records: dlt then handles few, larger tables."""
    batch: list[Any] = []
    count = 0
    for page in pages:
        batch.append(page)
        count += len(page[0] if isinstance(page, tuple) else page)
        if count >= rows:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def _changed_deals(
    reader: ObjectReader, search_pages: Iterator[pa.Array]
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Each page of changed deals read in full (history included) with its primary company."""
    size = reader.batch_size(with_history=True)
    for page in search_pages:
        ids = page.field("id").to_pylist()
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            records = reader.batch_read(chunk)
            if not len(records):
                continue  # deleted meanwhile: the archived listing deletes them
            from_ids, company_ids = reader.primary_associations(chunk, "companies")
            positions = pc.index_in(records.field("id"), value_set=from_ids)
            companies = (
                company_ids.take(positions)
                if len(from_ids)
                else pa.nulls(len(records), pa.string())
            )
            yield records, companies


def _live_then_archived(
    reader: ObjectReader,
    since: datetime | None,
    build: Callable[[list[pa.Array]], pa.Table],
    kind: str,
    schema: pa.Schema,
) -> Iterator[pa.Table]:
    """Records (all of them, else those modified since `since`), then deletes."""
    if since is None:
        pages = reader.list_pages()
    else:
        pages = reader.search_modified_since(since, reader.properties)
    emitted = False
    for batch in _batches(page for page in pages if len(page)):
        yield build(batch)
        emitted = True
    if not emitted:
        yield empty(schema)  # the table exists for staging even when HubSpot has none
    archived = reader.list_pages(archived=True, properties=(hs.MODIFIED_PROPERTY,))
    for batch in _batches(page for page in archived if len(page)):
        yield tombstone_rows(batch, kind)


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
    deal_type_values: dict[str, str] | None = None,
    goal_metrics: dict[str, str] | None = None,
    default_currency: str = "",
    goals: bool = True,
    exchange_rates: bool = True,
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
    (default: the portal's company currency). `goals` and `exchange_rates` turn those
    reads off (their tables stay, empty) for a token without those scopes.
    `lookback_seconds` is re-read at every incremental run; `page_size` is capped per
    endpoint by HubSpot's limits; the last four bound each request and its retries.
    """
    lookback = float(lookback_seconds)
    if lookback < 0:
        raise ValueError(f"SOURCES__HUBSPOT__LOOKBACK_SECONDS={lookback_seconds} must be >= 0")
    api = _Api(
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
            "deal_type_values": dict(deal_type_values) if deal_type_values else None,
            "goal_metrics": dict(goal_metrics) if goal_metrics else None,
        },
        default_currency=default_currency,
        page_size=max(1, int(page_size)),
    )

    def cursor(column: str) -> dlt.sources.incremental[datetime]:
        # lag re-reads the lookback window; primary_key=() leaves deduplication to the merge
        return lagged_cursor(column, lookback, primary_key=())

    @dlt.resource(
        name="deals",
        write_disposition=MERGE,
        primary_key="id",
        columns=DELETE_HINTS,
        incremental=cursor("updated_at"),
    )
    def deals(
        updated_at: dlt.sources.incremental[datetime] | None = None,
    ) -> Iterator[pa.Table]:
        """Every deal on the first run, then those modified since; then deleted deals."""
        reader = api.reader(
            "deals",
            api.mapping.deal_properties,
            history=(hs.STAGE_HISTORY_PROPERTY,),
            associations=("companies",),
        )
        since = cursor_start(updated_at)
        if since is None:
            pages: Iterator[tuple[pa.Array, pa.Array]] = (
                (records, primary_from_list_associations(records, "companies"))
                for records in reader.list_pages()
            )
        else:
            pages = _changed_deals(reader, reader.search_modified_since(since))
        emitted = False
        for batch in _batches(pages):
            records = [page for page, _ in batch]
            table = deal_rows(records, [c for _, c in batch], api.mapping, api.currency)
            api.hold_history(stage_history_rows(records, table))
            yield table
            emitted = True
        if not emitted:
            yield empty(DEALS_SCHEMA)  # the table exists for staging even with no deals
        archived = reader.list_pages(
            archived=True, properties=(hs.STAGE_HISTORY_PROPERTY, hs.MODIFIED_PROPERTY)
        )
        for batch in _batches(page for page in archived if len(page)):
            tombstones = tombstone_rows(batch, "deal")
            api.hold_history(history_tombstone_rows(batch, tombstones))
            yield tombstones

    @dlt.transformer(
        data_from=deals,
        name="deal_stage_history",
        write_disposition=MERGE,
        primary_key=("deal_id", "stage_id", "entered_at"),
        merge_key="deal_id",
        columns=DELETE_HINTS,
    )
    def deal_stage_history(deal_batch: pa.Table) -> Iterator[pa.Table]:
        """The stage history of the deals `deals` loads (its cursor is theirs): every value
        `dealstage` took, with its time; deleted with the deal."""
        yield api.take_history(deal_batch.column("id").combine_chunks())

    @dlt.resource(
        name="companies",
        write_disposition=MERGE,
        primary_key="id",
        columns=DELETE_HINTS,
        incremental=cursor("updated_at"),
    )
    def companies(
        updated_at: dlt.sources.incremental[datetime] | None = None,
    ) -> Iterator[pa.Table]:
        """Companies (the accounts) with the properties mapped to segment, region, industry."""
        reader = api.reader("companies", api.mapping.company_properties)
        yield from _live_then_archived(
            reader,
            cursor_start(updated_at),
            lambda batch: company_rows(batch, api.mapping),
            "company",
            COMPANIES_SCHEMA,
        )

    @dlt.resource(
        name="goal_targets",
        write_disposition=MERGE,
        primary_key="id",
        columns=DELETE_HINTS,
        incremental=cursor("updated_at"),
    )
    def goal_targets(
        updated_at: dlt.sources.incremental[datetime] | None = None,
    ) -> Iterator[pa.Table]:
        """Goal targets (quotas): one per goal, assignee and period; they become objectives."""
        if not goals:
            yield empty(GOAL_TARGETS_SCHEMA)
            return
        reader = api.reader("goal_targets", hs.GOAL_TARGET_PROPERTIES)
        yield from _live_then_archived(
            reader,
            cursor_start(updated_at),
            lambda batch: goal_target_rows(batch, api.mapping),
            "goal target",
            GOAL_TARGETS_SCHEMA,
        )

    @dlt.resource(name="owners", primary_key="id", **SNAPSHOT_HINTS)
    def owners() -> Iterator[pa.Table]:
        """Owners, active and deactivated (their deals keep them), with their primary team."""
        yield _snapshot(owner_rows(api.owners())[0])

    @dlt.resource(name="owner_teams", primary_key=("owner_id", "team_id"), **SNAPSHOT_HINTS)
    def owner_teams() -> Iterator[pa.Table]:
        """Every team of every owner, with the primary flag (goal targets name team ids)."""
        yield _snapshot(owner_rows(api.owners())[1])

    @dlt.resource(
        name="deal_pipeline_stages", primary_key=("pipeline_id", "stage_id"), **SNAPSHOT_HINTS
    )
    def deal_pipeline_stages() -> Iterator[pa.Table]:
        """Deal pipelines and their stages (label, order, probability, closed)."""
        path = hs.PIPELINES_PATH.format(object_type="deals")
        yield _snapshot(pipeline_stage_rows(paged_results(api.client, path, {}, "deal pipelines")))

    @dlt.resource(name="exchange_rates", primary_key="id", **SNAPSHOT_HINTS)
    def exchange_rates_resource() -> Iterator[pa.Table]:
        """The portal's exchange rates to its company currency (multi-currency portals)."""
        if not exchange_rates:
            yield _snapshot(empty(EXCHANGE_RATES_SCHEMA))
            return
        listing = {"limit": hs.LIST_PAGE_SIZE}
        rates = paged_results(api.client, hs.EXCHANGE_RATES_PATH, listing, "exchange rates")
        yield _snapshot(exchange_rate_rows(rates))

    return (
        deals,
        deal_stage_history,
        companies,
        goal_targets,
        owners,
        owner_teams,
        deal_pipeline_stages,
        exchange_rates_resource,
    )
