"""The `goals` resource: Pipedrive's active goals, each with the crm-kpi objective it
maps to (metric, scope, grain) or the reason it maps to none.
"""

import logging
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import dlt
import pyarrow as pa

from core.settings import Settings
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import PipedriveResponseError
from ingestion.pipedrive.listing import all_records
from ingestion.pipedrive.reference import legacy_teams

logger = logging.getLogger("ingestion.pipedrive")

GOALS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        ("title", pa.string()),
        ("owner_id", pa.int64()),
        ("type_name", pa.string()),
        ("tracking_metric", pa.string()),
        ("target", pa.float64()),
        ("currency", pa.string()),
        ("interval", pa.string()),
        ("duration_start", pa.date32()),
        ("duration_end", pa.date32()),
        ("assignee_type", pa.string()),
        ("assignee_id", pa.int64()),
        ("pipeline_id", pa.int64()),
        ("is_active", pa.bool_()),
        ("kpi_metric", pa.string()),
        ("kpi_scope_type", pa.string()),
        ("kpi_scope_value", pa.string()),
        ("kpi_grain", pa.string()),
        ("unmapped_reason", pa.string()),
    ]
)


def _parse_day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10])


def _quarter_start(month: int, fiscal_year_start: int) -> bool:
    return (month - fiscal_year_start) % 3 == 0


def _aligned(grain: str | None, start: date, end: date, fiscal_year_start: int) -> str | None:
    """Why (start, end) cannot be cut into whole `grain` periods, or None when it can."""
    after = end + timedelta(days=1)
    if grain == "week":
        if start.weekday() != 0 or after.weekday() != 0:
            return "a weekly goal must run from a Monday to a Sunday"
    elif grain == "month":
        if start.day != 1 or after.day != 1:
            return "a monthly goal must run over whole calendar months"
    elif grain == "quarter" and not (
        start.day == 1
        and after.day == 1
        and _quarter_start(start.month, fiscal_year_start)
        and _quarter_start(after.month, fiscal_year_start)
    ):
        return "a quarterly goal must run over whole fiscal quarters"
    return None


def goal_row(
    goal: Mapping[str, Any],
    currencies: Mapping[int, str],
    reporting_currency: str,
    fiscal_year_start: int,
    team_names: Mapping[int, str],
    pipeline_names: Mapping[int, str],
) -> dict[str, Any]:
    """A Pipedrive goal as a raw `goals` row with its crm-kpi mapping or why it has none."""
    goal_type = goal.get("type") or {}
    params = goal_type.get("params") or {}
    outcome = goal.get("expected_outcome") or {}
    assignee = goal.get("assignee") or {}
    duration = goal.get("duration") or {}
    pipelines = params.get("pipeline_id")
    if isinstance(pipelines, (int, str)):
        pipelines = [pipelines]
    pipelines = [int(p) for p in (pipelines or [])]
    type_name = str(goal_type.get("name") or "")
    metric_kind = str(outcome.get("tracking_metric") or "")
    currency_id = outcome.get("currency_id")
    currency = currencies.get(int(currency_id)) if currency_id not in (None, "") else None
    interval = str(goal.get("interval") or "")
    start = _parse_day(duration.get("start"))
    end = _parse_day(duration.get("end"))
    assignee_type = str(assignee.get("type") or "")

    reasons: list[str] = []
    metric = settings.GOAL_METRICS.get((type_name, metric_kind))
    if metric is None:
        reasons.append(f"no crm-kpi metric measures a {type_name} goal tracked by {metric_kind}")
    if metric == "won_revenue" and (currency or "").upper() != reporting_currency.upper():
        reasons.append(
            f"its target is in {currency or 'an unknown currency'}, the reporting currency "
            f"is {reporting_currency}"
        )
    grain = settings.GOAL_INTERVAL_GRAINS.get(interval, "?")
    if grain == "?":
        reasons.append(f"unknown interval {interval!r}")
        grain = None
    if start is None or end is None:
        reasons.append("it has no end date")
    elif end < start:
        reasons.append("it ends before it starts")
    elif interval == "yearly":
        if end != date(start.year + 1, start.month, 1) - timedelta(days=1) or start.day != 1:
            reasons.append("a yearly goal must last exactly one year")
    elif why := _aligned(grain, start, end, fiscal_year_start):
        reasons.append(why)
    scope_type = {"person": "owner", "team": "team", "company": "company"}.get(assignee_type)
    if scope_type is None:
        reasons.append(f"unknown assignee type {assignee_type!r}")
    if len(pipelines) > 1:
        reasons.append("it covers several pipelines, an objective has one scope")
    elif pipelines:
        if scope_type == "company":
            scope_type = "pipeline"
        elif scope_type is not None:
            reasons.append(
                f"it is both for a {assignee_type} and a pipeline, an objective has one scope"
            )
    # the scope value as the marts know it (owner ids are namespaced in staging)
    assignee_id = assignee.get("id")
    scope_value: str | None = None
    if scope_type == "company":
        scope_value = "all"
    elif scope_type == "owner" and assignee_id is not None:
        scope_value = str(assignee_id)
    elif scope_type == "team":
        scope_value = team_names.get(int(assignee_id)) if assignee_id is not None else None
        if scope_value is None:
            reasons.append(f"team {assignee_id} is not among Pipedrive's active teams")
    elif scope_type == "pipeline":
        scope_value = pipeline_names.get(pipelines[0])
        if scope_value is None:
            reasons.append(f"pipeline {pipelines[0]} does not exist (any more)")
    mapped = not reasons
    target = outcome.get("target")
    return {
        "id": str(goal.get("id")),
        "title": goal.get("title"),
        "owner_id": goal.get("owner_id"),
        "type_name": type_name,
        "tracking_metric": metric_kind,
        "target": None if target is None else float(target),
        "currency": currency,
        "interval": interval,
        "duration_start": start,
        "duration_end": end,
        "assignee_type": assignee_type,
        "assignee_id": assignee.get("id"),
        "pipeline_id": pipelines[0] if len(pipelines) == 1 else None,
        "is_active": bool(goal.get("is_active", True)),
        "kpi_metric": metric if mapped else None,
        "kpi_scope_type": scope_type if mapped else None,
        "kpi_scope_value": scope_value if mapped else None,
        "kpi_grain": grain if mapped else None,
        "unmapped_reason": None if mapped else "; ".join(reasons),
    }


def goals_table(rows: list[dict[str, Any]]) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=GOALS_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise PipedriveResponseError(
            f"GET {settings.GOALS}: a goal does not have the documented shape ({exc})"
        ) from None


@dlt.resource(name="goals", section="pipedrive", write_disposition="replace", primary_key="id")
def goals(client: PipedriveClient) -> Iterator[pa.Table]:
    """Active goals of everyone, with the crm-kpi objective each maps to (or why none)."""
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
            for t in legacy_teams(client)
            if t.get("active_flag", True)
        }
        if "team" in assignee_types
        else {}
    )
    pipeline_names: dict[int, str] = {}
    if any(((g.get("type") or {}).get("params") or {}).get("pipeline_id") for g in found.values()):
        for p in all_records(client, settings.PIPELINES):
            pipeline_names[int(p["id"])] = str(p.get("name"))
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
