"""Read helpers on the serving file, for the command line and analysts' scripts.

Every read opens `serving.duckdb` read-only with file and network access disabled, so a
query cannot change the warehouse or reach outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from warehouse.db import connect_sandboxed


class ServingFileMissingError(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} does not exist yet: run the pipeline first (`crm-kpi demo` or "
            "`crm-kpi run`), or set CRM_KPI_DATA_DIR to the folder holding serving.duckdb."
        )


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def open_serving(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise ServingFileMissingError(path)
    return connect_sandboxed(path)


def run_query(path: Path, sql: str, parameters: list[Any] | None = None) -> QueryResult:
    con = open_serving(path)
    try:
        cursor = con.execute(sql, parameters or [])
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.PermissionException as exc:
        raise QueryError(
            f"refused: queries run read-only without access to files or the network ({exc})"
        ) from None
    except duckdb.Error as exc:
        message = str(exc)
        if "read-only" in message or "attached in read-only mode" in message:
            message = f"refused: the serving file is read-only ({message})"
        raise QueryError(message) from None
    finally:
        con.close()


@dataclass(frozen=True)
class KpiSummary:
    as_of: date
    months: list[date]
    complete: list[bool]
    rows: list[tuple[str, str, list[float | None]]]  # metric, unit, values per month


SUMMARY_METRICS = (
    "deals_created",
    "won_deals",
    "lost_deals",
    "win_rate",
    "won_revenue",
    "avg_deal_size",
    "sales_cycle_days",
    "pipeline_value",
    "weighted_pipeline_value",
    "new_customers",
    "churn_rate",
    "arpa",
    "ltv",
)


def kpi_summary(path: Path, months: int = 3) -> KpiSummary:
    """Company-wide monthly KPIs: the last `months` complete months and the current one."""
    con = open_serving(path)
    try:
        as_of = con.execute("SELECT max(as_of) FROM marts.kpi_values").fetchone()[0]
        periods = con.execute(
            """
            SELECT DISTINCT period_start, is_complete FROM marts.kpi_values
            WHERE grain = 'month' ORDER BY period_start DESC LIMIT ?
            """,
            [months + 1],
        ).fetchall()[::-1]
        starts = [p[0] for p in periods]
        values = con.execute(
            """
            SELECT metric, any_value(unit), list(value ORDER BY period_start)
            FROM marts.kpi_values
            WHERE grain = 'month' AND scope_type = 'company'
              AND period_start IN (SELECT unnest(?::DATE[]))
            GROUP BY metric
            """,
            [starts],
        ).fetchall()
    finally:
        con.close()
    by_metric = {m: (u, v) for m, u, v in values}
    rows = [(m, *by_metric[m]) for m in SUMMARY_METRICS if m in by_metric]
    return KpiSummary(as_of, starts, [p[1] for p in periods], rows)


@dataclass(frozen=True)
class ObjectiveLine:
    objective_id: str
    title: str
    source: str
    metric: str
    scope: str
    period_start: date
    period_end: date
    grain: str | None
    direction: str
    target: float
    baseline: float | None
    actual: float | None
    expected: float | None
    attainment: float | None
    pace: float | None
    projected: float | None
    status: str
    status_reason: str
    okr_ids: str | None


@dataclass(frozen=True)
class OkrLine:
    okr_id: str
    title: str
    progress: float | None
    worst_status: str | None
    key_results: list[str]


@dataclass(frozen=True)
class FlagLine:
    severity: str
    flag_type: str
    message: str


@dataclass(frozen=True)
class Scorecard:
    as_of: date | None
    currency: str
    objectives: list[ObjectiveLine]
    okrs: list[OkrLine]
    flags: list[FlagLine]


def scorecard(path: Path, as_of: date | None = None) -> Scorecard:
    """The objectives as of a day (default: the latest measured): for each objective its
    (sub-)period holding that day (else the nearest), the OKRs and the flags raised."""
    con = open_serving(path)
    try:
        if as_of is None:
            as_of = con.execute("SELECT max(as_of) FROM marts.objective_progress").fetchone()[0]
        currency = con.execute(
            "SELECT any_value(unit) FROM marts.kpi_values WHERE metric = 'won_revenue'"
        ).fetchone()[0]
        objectives = con.execute(
            """
            WITH ranked AS (
                SELECT p.*, row_number() OVER (
                    PARTITION BY p.objective_id
                    ORDER BY CASE WHEN ? BETWEEN p.period_start AND p.period_end THEN 0
                                  WHEN ? < p.period_start
                                      THEN date_diff('day', ?, p.period_start)
                                  ELSE date_diff('day', p.period_end, ?) END
                ) AS nearest
                FROM marts.objective_progress p WHERE p.as_of = ?
            )
            SELECT r.objective_id, o.title, r.source, r.metric,
                   CASE WHEN r.scope_type = 'company' THEN 'company'
                        ELSE r.scope_type || ' ' || r.scope_value END,
                   r.period_start, r.period_end, o.grain, r.direction, r.target, r.baseline,
                   r.actual, r.expected, r.attainment, r.pace, r.projected, r.status,
                   r.status_reason, o.okr_ids
            FROM ranked r JOIN marts.dim_objectives o USING (objective_id)
            WHERE r.nearest = 1
            ORDER BY r.objective_id
            """,
            [as_of] * 5,
        ).fetchall()
        okrs = con.execute(
            """
            SELECT p.okr_id, p.title, p.progress, p.worst_status,
                   list(o.objective_id ORDER BY o.objective_id)
                       FILTER (WHERE o.objective_id IS NOT NULL)
            FROM marts.okr_progress p
            LEFT JOIN marts.dim_objectives o
                ON list_contains(string_split(o.okr_ids, ', '), p.okr_id)
            WHERE p.as_of = ?
            GROUP BY ALL ORDER BY p.okr_id
            """,
            [as_of],
        ).fetchall()
        flags = con.execute(
            """
            SELECT severity, flag_type, message FROM marts.variance_flags WHERE as_of = ?
            ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                     flag_type, message
            """,
            [as_of],
        ).fetchall()
    finally:
        con.close()
    return Scorecard(
        as_of,
        currency or "EUR",
        [ObjectiveLine(*row) for row in objectives],
        [OkrLine(r[0], r[1], r[2], r[3], list(r[4] or [])) for r in okrs],
        [FlagLine(*row) for row in flags],
    )
