"""Pipedrive source: deals, their stage history, pipelines and stages, organizations,
users and teams, and goals, read through Pipedrive's API v2 where it exists.

Resources (tables of the `raw_pipedrive` dataset):

- `deals` (GET /api/v2/deals and /api/v2/deals/archived): incremental on `update_time`,
  merged by `id`; deleted deals (listed by Pipedrive with status `deleted` for 30 days)
  are hard-deleted.
- `stage_history` (GET /api/v1/deals/{id}/changelog, v1 only): one request per deal
  modified since the cursor; progress is logged and a killed run resumes where it stopped.
- `organizations` (GET /api/v2/organizations): incremental, merged by `id`; segment,
  region and industry come from fields named by settings (`organizationFields`).
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

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from ingestion.pipedrive import settings
from ingestion.pipedrive.helpers import (
    HISTORY_SCHEMA,
    ChangelogCache,
    DealMapping,
    HistoryFetcher,
    Notes,
    PipedriveAuthError,
    PipedriveClient,
    PipedriveConfigError,
    PipedriveError,
    PipedriveResponseError,
    cursor_key,
    deals_table,
    goal_row,
    goals_table,
    organizations_table,
    pipelines_table,
    resolve_fields,
    stages_table,
    teams_table,
    user_teams,
    users_table,
)

__all__ = [
    "PipedriveAuthError",
    "PipedriveConfigError",
    "PipedriveError",
    "PipedriveResponseError",
    "pipedrive_source",
]

logger = logging.getLogger("ingestion.pipedrive")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
CACHE_FILE = "pipedrive_stage_paths.sqlite"


@dataclass(frozen=True)
class Options:
    page_size: int
    full_refresh: bool
    include_archived: bool
    history_workers: int
    deal_fields: Mapping[str, tuple[str, str]]
    organization_fields: Mapping[str, tuple[str, str]]
    team_field: str
    deal_type_labels: Mapping[str, str]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _since(updated_since: dlt.sources.incremental[datetime]) -> str | None:
    """The `updated_since` query value: the lag-adjusted cursor, none on a first load."""
    start = updated_since.start_value
    if start is None or start <= EPOCH:
        return None
    # whole seconds, rounded down: updated_since is compared with >=, so no record is lost
    return _rfc3339(start.replace(microsecond=0))


def _all_fields(client: PipedriveClient, path: str) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for page in client.paginate(path, {"limit": settings.PAGE_SIZE}):
        fields.extend(page)
    return fields


def _warn_if_deletions_may_be_missed(
    last_read: str | None, now: datetime, full_refresh: bool
) -> None:
    """Warn when the last successful read is older than Pipedrive's list of deleted deals.

    `last_read` is kept in the deals resource's state, which dlt commits only when the
    load succeeds; it is when the pipeline last read Pipedrive, not the last change in it.
    """
    if full_refresh or not last_read:
        return
    age = now - datetime.fromisoformat(last_read)
    if age > timedelta(days=settings.DELETED_DEALS_KEPT_DAYS - 1):
        logger.warning(
            "pipedrive: the last successful read was %d days ago; Pipedrive lists deleted "
            "deals for %d days only, so deals deleted in between may still be in the "
            "warehouse. Run once with SOURCES__PIPEDRIVE__FULL_REFRESH=true to find them by "
            "their absence.",
            age.days,
            settings.DELETED_DEALS_KEPT_DAYS,
        )


def _deal_mapping(client: PipedriveClient, options: Options, notes: Notes) -> DealMapping:
    fields = resolve_fields(_all_fields(client, settings.DEAL_FIELDS), options.deal_fields, "deal")
    labels = {**settings.DEAL_TYPE_LABELS}
    for label, value in options.deal_type_labels.items():
        key = "_".join(str(label).strip().lower().replace("-", " ").split())
        if value not in ("new_business", "renewal", "expansion"):
            raise PipedriveConfigError(
                f"SOURCES__PIPEDRIVE__DEAL_TYPE_LABELS maps {label!r} to {value!r}: the deal "
                "types are new_business, renewal and expansion"
            )
        labels[key] = value
    return DealMapping(fields=fields, deal_type_labels=labels, notes=notes)


def _pipeline_working_dir() -> Path | None:
    try:
        return Path(dlt.current.pipeline().working_dir)
    except Exception:  # noqa: BLE001 - run outside a pipeline (a test calling the resource): no cache
        return None


@dlt.resource(
    name="deals",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key="id",
    columns={
        "is_deleted": {"data_type": "bool", "hard_delete": True},
        "update_time": {"data_type": "timestamp", "dedup_sort": "desc"},
    },
    incremental=dlt.sources.incremental(
        "update_time", initial_value=EPOCH, lag=settings.LOOKBACK_SECONDS
    ),
)
def deals(
    client: PipedriveClient,
    options: Options,
    notes: Notes,
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """Deals changed since the cursor, oldest change first, one Arrow table per page."""
    mapping = _deal_mapping(client, options, notes)
    since = None if options.full_refresh else _since(updated_since)
    state = dlt.current.resource_state()
    read_at = datetime.now(UTC)
    _warn_if_deletions_may_be_missed(state.get("last_read_at"), read_at, options.full_refresh)
    params: dict[str, Any] = {
        "limit": options.page_size,
        "sort_by": "update_time",
        "sort_direction": "asc",
        "status": settings.LIVE_DEAL_STATUSES if options.full_refresh else settings.DEAL_STATUSES,
    }
    if since:
        params["updated_since"] = since
    keys = mapping.custom_field_keys
    if keys:
        params["custom_fields"] = ",".join(keys)
    paths = [settings.DEALS] + ([settings.ARCHIVED_DEALS] if options.include_archived else [])
    produced = False
    for path in paths:
        for page_number, records in enumerate(client.paginate(path, params), start=1):
            if records:
                produced = True
                yield deals_table(records, mapping, f"GET {path} (page {page_number})")
    if not produced and since is None:
        # a company without deals still gets typed (empty) tables for staging
        yield deals_table([], mapping, f"GET {settings.DEALS}")
    state["last_read_at"] = read_at.isoformat()  # committed with the load, not before


class _HistoryRun(HistoryFetcher):
    """The fetcher of one run: opens the resume cache and prunes it once, at the first page."""

    def __init__(self, client: PipedriveClient, workers: int, full_refresh: bool) -> None:
        super().__init__(client, workers, cache=None)
        self.full_refresh = full_refresh
        self._started_run = False

    def start(self, start_value: datetime | None) -> None:
        if self._started_run:
            return
        self._started_run = True
        logger.info(
            "pipedrive: reading the stage history of every deal changed since the cursor "
            "(one changelog request per deal; progress every %.0f s)",
            settings.PROGRESS_LOG_SECONDS,
        )
        working_dir = _pipeline_working_dir()
        if working_dir is not None:
            self.cache = ChangelogCache(working_dir / CACHE_FILE)
            if not self.full_refresh and start_value is not None and start_value > EPOCH:
                self.cache.prune(cursor_key(start_value))


# The parent (deals) is bound in pipedrive_source with `|`. A transformer takes no
# `incremental=` in its decorator: its cursor is declared by the argument default below.
@dlt.transformer(
    name="stage_history",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key=("deal_id", "seq"),
    merge_key="deal_id",
    columns={
        "is_deleted": {"data_type": "bool", "hard_delete": True},
        "update_time": {"data_type": "timestamp", "dedup_sort": "desc"},
    },
)
def stage_history(
    deals_page: pa.Table,
    fetcher: _HistoryRun,
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008
        "update_time", initial_value=EPOCH, lag=settings.LOOKBACK_SECONDS
    ),
) -> Iterator[pa.Table]:
    """Every stage each deal of the page went through; its cursor is the deal's update_time.

    A deal's rows are replaced as a whole (merge key deal_id): its changelog is read in
    full each time the deal changes. A deleted deal yields one tombstone row that removes
    its history.
    """
    fetcher.start(updated_since.start_value)
    yield fetcher.rows(deals_page)


@dlt.resource(
    name="organizations",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key="id",
    columns={
        "is_deleted": {"data_type": "bool", "hard_delete": True},
        "update_time": {"data_type": "timestamp", "dedup_sort": "desc"},
    },
    incremental=dlt.sources.incremental(
        "update_time", initial_value=EPOCH, lag=settings.LOOKBACK_SECONDS
    ),
)
def organizations(
    client: PipedriveClient,
    options: Options,
    notes: Notes,
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """Organizations (the accounts) changed since the cursor."""
    fields = resolve_fields(
        _all_fields(client, settings.ORGANIZATION_FIELDS),
        options.organization_fields,
        "organization",
    )
    params: dict[str, Any] = {
        "limit": options.page_size,
        "sort_by": "update_time",
        "sort_direction": "asc",
    }
    since = None if options.full_refresh else _since(updated_since)
    if since:
        params["updated_since"] = since
    keys = sorted({m.code for m in fields.values() if m is not None and m.is_custom})
    if keys:
        params["custom_fields"] = ",".join(keys)
    produced = False
    for page_number, records in enumerate(client.paginate(settings.ORGANIZATIONS, params), start=1):
        if records:
            produced = True
            yield organizations_table(
                records, fields, notes, f"GET {settings.ORGANIZATIONS} (page {page_number})"
            )
    if not produced and since is None:
        # a company without organizations still gets a typed (empty) table for staging
        yield organizations_table([], fields, notes, f"GET {settings.ORGANIZATIONS}")


# Small reference tables: read in full and replaced on every run, so a record removed in
# Pipedrive is gone here too. They have no incremental cursor by design.


@dlt.resource(name="pipelines", write_disposition="replace", primary_key="id")
def pipelines(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records: list[dict[str, Any]] = []
    for page in client.paginate(settings.PIPELINES, {"limit": options.page_size}):
        records.extend(page)
    yield pipelines_table(records, f"GET {settings.PIPELINES}")


@dlt.resource(name="stages", write_disposition="replace", primary_key="id")
def stages(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records: list[dict[str, Any]] = []
    for page in client.paginate(settings.STAGES, {"limit": options.page_size}):
        records.extend(page)
    yield stages_table(records, f"GET {settings.STAGES}")


def _legacy_teams(client: PipedriveClient) -> list[dict[str, Any]]:
    body = client.get_json(settings.LEGACY_TEAMS)
    data = body.get("data") if isinstance(body, dict) else None
    if data is None:
        return []
    if not isinstance(data, list):
        raise PipedriveResponseError(f"GET {settings.LEGACY_TEAMS}: 'data' is not a list")
    return data


@dlt.resource(name="teams", write_disposition="replace", primary_key="id")
def teams(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records = _legacy_teams(client) if options.team_field == settings.TEAM_FIELD else []
    yield teams_table(records, f"GET {settings.LEGACY_TEAMS}")


@dlt.resource(name="users", write_disposition="replace", primary_key="id")
def users(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    body = client.get_json(settings.USERS)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise PipedriveResponseError(f"GET {settings.USERS}: 'data' is not a list")
    by_user = user_teams(_legacy_teams(client)) if options.team_field == settings.TEAM_FIELD else {}
    yield users_table(data, options.team_field, by_user, f"GET {settings.USERS}")


@dlt.resource(name="goals", write_disposition="replace", primary_key="id")
def goals(client: PipedriveClient) -> Iterator[pa.Table]:
    """Active goals of everyone, with the crm-kpi objective each maps to (or why none)."""
    from core.settings import Settings

    run_settings = Settings.from_env()
    found: dict[str, Mapping[str, Any]] = {}
    for type_name in settings.GOAL_TYPES:
        body = client.get_json(settings.GOALS, {"type.name": type_name, "is_active": "true"})
        data = body.get("data") if isinstance(body, dict) else None
        listed = (data or {}).get("goals") if isinstance(data, dict) else data
        if listed is None:
            continue
        if not isinstance(listed, list):
            raise PipedriveResponseError(f"GET {settings.GOALS}: 'data.goals' is not a list")
        for goal in listed:
            if isinstance(goal, Mapping) and goal.get("id") is not None:
                found[str(goal["id"])] = goal
    currencies: dict[int, str] = {}
    if any(
        (g.get("expected_outcome") or {}).get("tracking_metric") == "sum" for g in found.values()
    ):
        body = client.get_json(settings.CURRENCIES)
        for currency in (body.get("data") if isinstance(body, dict) else None) or []:
            if currency.get("id") is not None and currency.get("code"):
                currencies[int(currency["id"])] = str(currency["code"]).upper()
    assignee_types = {(g.get("assignee") or {}).get("type") for g in found.values()}
    team_names = (
        {
            int(t["id"]): str(t.get("name"))
            for t in _legacy_teams(client)
            if t.get("active_flag", True)
        }
        if "team" in assignee_types
        else {}
    )
    pipeline_names: dict[int, str] = {}
    if any(((g.get("type") or {}).get("params") or {}).get("pipeline_id") for g in found.values()):
        for page in client.paginate(settings.PIPELINES, {"limit": settings.PAGE_SIZE}):
            pipeline_names.update({int(p["id"]): str(p.get("name")) for p in page})
    rows = [
        goal_row(
            g,
            currencies,
            run_settings.reporting_currency,
            run_settings.fiscal_year_start,
            team_names,
            pipeline_names,
        )
        for g in found.values()
    ]
    for row in rows:
        if row["unmapped_reason"]:
            logger.warning(
                "pipedrive: goal %s (%r) is not tracked as an objective: %s",
                row["id"],
                row["title"],
                row["unmapped_reason"],
            )
    yield goals_table(sorted(rows, key=lambda r: r["id"]))


def _history_rows_empty() -> pa.Table:
    return HISTORY_SCHEMA.empty_table()


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
        },
        organization_fields={
            "segment": ("segment_field", segment_field),
            "region": ("region_field", region_field),
            "industry": ("industry_field", industry_field),
        },
        team_field=(team_field or "").strip() or settings.TEAM_FIELD,
        deal_type_labels=dict(deal_type_labels or {}),
    )
    notes = Notes()
    deal_resource = deals(client, options, notes)
    org_resource = organizations(client, options, notes)
    history = _HistoryRun(client, history_workers, full_refresh)
    incremental_resources: list[DltResource] = [deal_resource, org_resource]
    if load_stage_history:
        history_resource = deal_resource | stage_history(fetcher=history)
    else:
        history_resource = _no_stage_history()
    incremental_resources.append(history_resource)
    for resource in incremental_resources:
        if full_refresh:
            # stateless full range, replaced: a record missing from Pipedrive is deleted
            resource.apply_hints(
                write_disposition="replace",
                incremental=dlt.sources.incremental(
                    "update_time", initial_value=EPOCH, end_value=FAR_FUTURE
                ),
            )
        elif lookback_seconds != settings.LOOKBACK_SECONDS:
            resource.apply_hints(
                incremental=dlt.sources.incremental(
                    "update_time", initial_value=EPOCH, lag=lookback_seconds
                )
            )
    return (
        deal_resource,
        history_resource,
        org_resource,
        pipelines(client, options),
        stages(client, options),
        users(client, options),
        teams(client, options),
        goals(client),
    )


@dlt.resource(
    name="stage_history",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key=("deal_id", "seq"),
    merge_key="deal_id",
    columns={"is_deleted": {"data_type": "bool", "hard_delete": True}},
    incremental=dlt.sources.incremental("update_time", initial_value=EPOCH),
)
def _no_stage_history(
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """With load_stage_history off, an empty typed table keeps staging's view valid."""
    yield _history_rows_empty()
