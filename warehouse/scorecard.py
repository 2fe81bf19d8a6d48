"""The objective scorecard read from the serving file: each objective as of a day, its
sub-periods, the OKRs and the flags raised (the lines of `crm-kpi status` and the report).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import duckdb

from warehouse.queries import open_serving
from warehouse.scorecard_lines import (
    FlagLine,
    ObjectiveLine,
    OkrLine,
    Scorecard,
    SubPeriod,
    overall_status,
    worst_status,
)


class NotMeasuredError(ValueError):
    """The objectives were not measured as of the day asked for; the message says what
    to run."""


def check_measured(con: duckdb.DuckDBPyConnection, path: Path, as_of: date) -> None:
    """Raise NotMeasuredError when objectives exist but were not measured as of `as_of`."""
    first, last, days = con.execute(
        "SELECT min(as_of), max(as_of), count(DISTINCT as_of) FROM marts.objective_progress"
    ).fetchone()
    if first is None:
        return  # no objectives at all: nothing to measure
    found = con.execute(
        "SELECT count(*) FROM marts.objective_progress WHERE as_of = ?", [as_of]
    ).fetchone()[0]
    if found:
        return
    start, built = con.execute(
        "SELECT min(period_start), max(as_of) FROM marts.kpi_values WHERE grain = 'day'"
    ).fetchone()
    if built is not None and as_of > built:
        raise NotMeasuredError(
            f"not measured as of {as_of}: the marts in {path} hold data up to {built}; run "
            f"`crm-kpi run --as-of {as_of}` first, or pick {built} or earlier."
        )
    if start is not None and as_of < start:
        raise NotMeasuredError(
            f"not measured as of {as_of}: the data in {path} start on {start}, so there is "
            f"nothing to measure before; pick a day from {start} to {built} (measured: "
            f"{_measured_days(first, last, days)})."
        )
    where = "before the first measured day" if as_of < first else "a day no run measured"
    raise NotMeasuredError(
        f"not measured as of {as_of}: {where} (measured: {_measured_days(first, last, days)}, in "
        f"{path}); run `crm-kpi backfill --from {as_of} --to {as_of}` first, or pick a "
        "measured day."
    )


def _measured_days(first: date, last: date, days: int) -> str:
    if first == last:
        return f"{first} only"
    if days == (last - first).days + 1:
        return f"every day from {first} to {last}"
    return f"{days} days from {first} to {last}"


def measured_day(con: duckdb.DuckDBPyConnection, path: Path, as_of: date | None) -> date | None:
    """`as_of` once checked measured (NotMeasuredError if not), else the latest measured
    day (None when no objective was ever measured)."""
    if as_of is None:
        return con.execute("SELECT max(as_of) FROM marts.objective_progress").fetchone()[0]
    check_measured(con, path, as_of)
    return as_of


def _sub_label(grain: str, start: date, end: date, with_year: bool) -> str:
    year = f" {end.year}" if with_year else ""
    if grain == "week":
        return f"{start:%b} {start.day}{year}"
    if grain == "quarter":
        return f"{start:%b}-{end:%b}{year}"
    return f"{start:%b}{year}"


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


# ObjectiveLine's named fields the query reads after its first 19, in its order.
_AIM_FIELDS = (
    "target_rule",
    "baseline_source",
    "target_reference",
    "original_target",
    "revised_from",
    "revision_reason",
    "unit",
    "parent_id",
)
_BASE_FIELDS = 19  # ObjectiveLine's fields before subperiods, in the query's order


def scorecard(path: Path, as_of: date | None = None) -> Scorecard:
    """The objectives as of a day (default: the latest measured): for each objective its
    (sub-)period holding that day (else the nearest) and, with a grain, every sub-period
    and the objective's overall status; the OKRs and the flags raised.

    Raises NotMeasuredError when objectives exist but were not measured as of `as_of`.
    """
    con = open_serving(path)
    try:
        as_of = measured_day(con, path, as_of)
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
                   r.status_reason, o.okr_ids, r.target_rule, r.baseline_source,
                   r.target_reference, r.original_target, r.revised_from, r.revision_reason,
                   o.unit, o.parent_id
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
                       FILTER (WHERE o.objective_id IS NOT NULL),
                   p.score, p.milestones_reached, p.milestones_total
            FROM marts.okr_progress p
            LEFT JOIN marts.dim_objectives o
                ON list_contains(string_split(o.okr_ids, ', '), p.okr_id)
            WHERE p.as_of = ?
            GROUP BY ALL ORDER BY p.okr_id
            """,
            [as_of],
        ).fetchall()
        weights = con.execute(
            "SELECT okr_id, objective_id, weight FROM marts.okr_key_result_scores "
            "WHERE as_of = ? AND weight <> 1",
            [as_of],
        ).fetchall()
        flags = con.execute(
            """
            SELECT severity, flag_type, message, objective_id
            FROM marts.variance_flags WHERE as_of = ?
            ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                     objective_id NULLS LAST, flag_type, message
            """,
            [as_of],
        ).fetchall()
    finally:
        con.close()
    titles = {row[0]: row[1] for row in objectives}
    lines = []
    for row in objectives:
        aim = dict(zip(_AIM_FIELDS, row[_BASE_FIELDS:], strict=True))
        line = ObjectiveLine(*row[:_BASE_FIELDS], **aim)
        parent_id = line.parent_id
        if parent_id in titles:
            # The part's title is "<parent's title> · team Enterprise" (its cascade).
            label = line.title.removeprefix(f"{titles[parent_id]} · ")
            line = dataclasses.replace(line, part_label=label)
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
        okr_lines.append(
            OkrLine(
                r[0],
                r[1],
                r[2],
                r[3],
                results,
                worst,
                score=r[5],
                milestones_reached=int(r[6] or 0),
                milestones_total=int(r[7] or 0),
                weights={k: w for okr_id, k, w in weights if okr_id == r[0]},
            )
        )
    return Scorecard(
        as_of,
        currency or "EUR",
        lines,
        okr_lines,
        [FlagLine(*row) for row in flags],
    )
