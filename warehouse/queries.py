"""Read helpers on the serving file, for the command line and analysts' scripts.

Every read opens `serving.duckdb` read-only with file and network access disabled, so a
query cannot change the warehouse or reach outside it.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from core.db import connect_sandboxed


class ServingFileMissingError(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} does not exist yet: run the pipeline first (`crm-kpi demo` or "
            "`crm-kpi run`), or set CRM_KPI_DATA_DIR to the folder holding serving.duckdb."
        )


class QueryError(ValueError):
    pass


class NotMeasuredError(ValueError):
    """The objectives were not measured as of the day asked for; the message says what
    to run."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    statements: int = 1  # statements run; only the last one's result is returned


def open_serving(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise ServingFileMissingError(path)
    return connect_sandboxed(path)


def run_query(
    path: Path,
    sql: str,
    parameters: list[Any] | None = None,
    timeout_s: float | None = None,
) -> QueryResult:
    """Run `sql` read-only on the serving file; the last statement's result. A query
    still running after `timeout_s` seconds is interrupted (QueryError)."""
    con = open_serving(path)
    timer = None
    try:
        count = len(con.extract_statements(sql))
        if not count:
            raise QueryError(
                "nothing to run: the SQL is empty (give a query such as "
                '"SELECT * FROM marts.kpi_values LIMIT 10")'
            )
        if timeout_s:
            timer = threading.Timer(timeout_s, con.interrupt)
            timer.daemon = True
            timer.start()
        cursor = con.execute(sql, parameters or [])
        description = cursor.description if cursor is not None else None
        columns = [d[0] for d in description] if description else []
        return QueryResult(columns, cursor.fetchall() if columns else [], count)
    except duckdb.InterruptException:
        raise QueryError(
            f"the query was stopped after {timeout_s:g} s (--timeout): narrow it (a WHERE "
            "on metric, grain and scope), or give it longer with --timeout"
        ) from None
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
        if timer is not None:
            timer.cancel()
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


# Statuses from the worst to the best (DESIGN.md's worst key result: missed > off_track >
# at_risk > no_data > the others), the others in the order a person reads them.
WORST_FIRST = ("missed", "off_track", "at_risk", "no_data", "on_track", "achieved", "not_started")
GRAIN_WORDS = {
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "quarter": ("quarter", "quarters"),
}


@dataclass(frozen=True)
class SubPeriod:
    """One week, month or quarter of an objective with a grain, as measured as of a day."""

    period_start: date
    period_end: date
    status: str
    actual: float | None
    label: str  # "Sep", "Nov 9" (a week, by its Monday), "Jul-Sep"; with the year if needed
    ended: bool  # as_of on or after its last day: achieved, missed (or no_data) for good


def worst_status(statuses: list[str]) -> str:
    return min(statuses, key=WORST_FIRST.index) if statuses else "not_started"


def overall_status(subperiods: list[SubPeriod] | tuple[SubPeriod, ...]) -> str:
    """The status of an objective with a grain: the worst status of its sub-periods that
    have started (those ended, and the one in progress); `not_started` before the first.

    The target holds for each sub-period, so one missed month is a missed objective
    (it can no longer be met every month), and an objective is achieved only when every
    sub-period was, once the last has ended. In between, with no sub-period missed, it
    is as on track, at risk or off track as the sub-period in progress.
    """
    return worst_status([s.status for s in subperiods if s.status != "not_started"])


def _sub_label(grain: str, start: date, end: date, with_year: bool) -> str:
    year = f" {end.year}" if with_year else ""
    if grain == "week":
        return f"{start:%b} {start.day}{year}"
    if grain == "quarter":
        return f"{start:%b}-{end:%b}{year}"
    return f"{start:%b}{year}"


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
    # With a grain: every sub-period, in order, and the objective's status over them
    # (`overall_status`); the fields above are those of the sub-period holding as_of (else
    # the nearest). Without a grain there are no sub-periods and the overall status is the
    # period's own.
    subperiods: tuple[SubPeriod, ...] = ()
    overall: str = ""

    @property
    def overall_status(self) -> str:
        return self.overall or self.status

    @property
    def missed_count(self) -> tuple[int, int]:
        """(sub-periods missed, sub-periods ended)."""
        ended = [s for s in self.subperiods if s.ended]
        return sum(s.status == "missed" for s in ended), len(ended)

    def missed_text(self) -> str:
        """'2 of 3 months missed' (sub-periods ended so far); '' without a grain."""
        if not self.subperiods or not self.grain:
            return ""
        one, many = GRAIN_WORDS.get(self.grain, (self.grain, f"{self.grain}s"))
        missed, ended = self.missed_count
        if not ended:
            return f"no {one} ended yet"
        text = f"{missed} of {ended} {one if ended == 1 else many} missed"
        unmeasured = sum(s.status == "no_data" for s in self.subperiods if s.ended)
        return text + (f", {unmeasured} without data" if unmeasured else "")

    def overall_reason(self) -> str:
        """Why the overall status is what it is, in one line."""
        if not self.subperiods:
            return self.status_reason
        current = next((s for s in self.subperiods if not s.ended), None)
        parts = [self.missed_text()]
        if current is not None and current.status != "not_started":
            parts.append(
                f"{current.label}: {current.status.replace('_', ' ')}, {self.status_reason}"
                if current.period_start == self.period_start
                else f"{current.label}: {current.status.replace('_', ' ')}"
            )
        return "; ".join(p for p in parts if p)


@dataclass(frozen=True)
class OkrLine:
    okr_id: str
    title: str
    progress: float | None
    worst_status: str | None  # marts.okr_progress: by each key result's current sub-period
    key_results: list[str]
    # The worst overall status of its key results (an objective set per month counts
    # its missed months): what the scorecard shows beside them.
    worst_overall: str | None = None


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


def check_measured(con: duckdb.DuckDBPyConnection, path: Path, as_of: date) -> None:
    """Raise NotMeasuredError when objectives exist but were not measured as of `as_of`."""
    first, last = con.execute(
        "SELECT min(as_of), max(as_of) FROM marts.objective_progress"
    ).fetchone()
    if first is None:
        return  # no objectives at all: nothing to measure
    found = con.execute(
        "SELECT count(*) FROM marts.objective_progress WHERE as_of = ?", [as_of]
    ).fetchone()[0]
    if found:
        return
    built = con.execute("SELECT max(as_of) FROM marts.kpi_values").fetchone()[0]
    if built is not None and as_of > built:
        raise NotMeasuredError(
            f"not measured as of {as_of}: the marts in {path} hold data up to {built}; run "
            f"`crm-kpi run --as-of {as_of}` first, or pick {built} or earlier."
        )
    raise NotMeasuredError(
        f"not measured as of {as_of}: objectives were measured as of {first} to {last} in "
        f"{path}, with gaps where no run measured them; run `crm-kpi backfill --from {as_of} "
        f"--to {as_of}` first, or pick a measured day."
    )


def _subperiods(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, tuple[SubPeriod, ...]]:
    """Every sub-period of each objective with a grain, as measured as of `as_of`."""
    rows = con.execute(
        """
        SELECT p.objective_id, o.grain, p.period_start, p.period_end, p.status, p.actual
        FROM marts.objective_progress p JOIN marts.dim_objectives o USING (objective_id)
        WHERE p.as_of = ? AND o.grain IS NOT NULL
        ORDER BY p.objective_id, p.period_start
        """,
        [as_of],
    ).fetchall()
    by_objective: dict[str, list[tuple]] = {}
    for row in rows:
        by_objective.setdefault(row[0], []).append(row)
    found: dict[str, tuple[SubPeriod, ...]] = {}
    for objective_id, periods in by_objective.items():
        with_year = len({r[3].year for r in periods}) > 1
        found[objective_id] = tuple(
            SubPeriod(
                start,
                end,
                status,
                actual,
                _sub_label(grain, start, end, with_year),
                as_of >= end,
            )
            for _, grain, start, end, status, actual in periods
        )
    return found


def scorecard(path: Path, as_of: date | None = None) -> Scorecard:
    """The objectives as of a day (default: the latest measured): for each objective its
    (sub-)period holding that day (else the nearest) and, with a grain, every sub-period
    and the objective's overall status; the OKRs and the flags raised.

    Raises NotMeasuredError when objectives exist but were not measured as of `as_of`.
    """
    con = open_serving(path)
    try:
        if as_of is None:
            as_of = con.execute("SELECT max(as_of) FROM marts.objective_progress").fetchone()[0]
        else:
            check_measured(con, path, as_of)
        subperiods = _subperiods(con, as_of) if as_of is not None else {}
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
    lines = []
    for row in objectives:
        line = ObjectiveLine(*row)
        own = subperiods.get(line.objective_id, ())
        if own:
            line = dataclasses.replace(line, subperiods=own, overall=overall_status(own))
        lines.append(line)
    overall = {line.objective_id: line.overall_status for line in lines}
    okr_lines = []
    for r in okrs:
        results = list(r[4] or [])
        statuses = [overall[k] for k in results if k in overall]
        worst = worst_status(statuses) if statuses else r[3]
        okr_lines.append(OkrLine(r[0], r[1], r[2], r[3], results, worst))
    return Scorecard(
        as_of,
        currency or "EUR",
        lines,
        okr_lines,
        [FlagLine(*row) for row in flags],
    )
