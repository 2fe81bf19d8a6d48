"""What the scorecard report shows, read from the serving file (read-only).

The objectives, OKRs and flags come from `warehouse.scorecard.scorecard` (the same lines
as `crm-kpi status`); the rest (objective history, monthly KPIs, funnel) is read here.
Values are returned as the plain records of `model`, ready to be charted.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import duckdb

from core.metrics import METRICS
from warehouse.queries import open_serving
from warehouse.report.model import (
    CUSTOMER_METRICS,
    TREND_METRICS,
    TREND_MONTHS,
    FunnelStep,
    KpiPoint,
    ProgressPoint,
    ReportData,
    ReportError,
    TargetMark,
)
from warehouse.scorecard import NotMeasuredError, check_measured, scorecard
from warehouse.scorecard_lines import ObjectiveLine, Scorecard


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _months_back(last: date, count: int) -> list[date]:
    months = [month_start(last)]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months[::-1]


def _resolve_as_of(
    con: duckdb.DuckDBPyConnection, path: Path, as_of: date | None
) -> tuple[date, date]:
    built = con.execute("SELECT max(as_of) FROM marts.kpi_values").fetchone()[0]
    if built is None:
        raise ReportError(
            f"{path} has no KPIs yet (marts.kpi_values is empty): run the pipeline on "
            "CRM data first (`crm-kpi run`, or `crm-kpi demo`)."
        )
    measured = con.execute("SELECT min(as_of), max(as_of) FROM marts.objective_progress").fetchone()
    if as_of is None:
        return measured[1] or built, built
    if as_of > built:
        raise ReportError(
            f"--as-of {as_of}: the marts in {path} hold data up to {built}; run "
            f"`crm-kpi run --as-of {as_of}` first, or report as of {built} or earlier."
        )
    try:
        check_measured(con, path, as_of)
    except NotMeasuredError as exc:
        raise ReportError(f"--as-of {as_of}: {exc}") from None
    return as_of, built


def _history(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, list[ProgressPoint]]:
    # Every measurement inside its (sub-)period up to as_of: the actual-vs-expected path.
    rows = con.execute(
        """
        SELECT objective_id, period_start, period_end, as_of, actual, expected, status
        FROM marts.objective_progress
        WHERE as_of <= ? AND as_of BETWEEN period_start AND period_end
        ORDER BY objective_id, period_start, as_of
        """,
        [as_of],
    ).fetchall()
    history: dict[str, list[ProgressPoint]] = {}
    for row in rows:
        history.setdefault(row[0], []).append(ProgressPoint(*row))
    return history


def _baselines(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[tuple[str, date], float | None]:
    """The baseline each (sub-)period's expected path starts from, as measured as of as_of
    (the nearest measurement for periods not measured that day)."""
    rows = con.execute(
        """
        SELECT objective_id, period_start, arg_min(baseline, abs(date_diff('day', as_of, ?)))
        FROM marts.objective_progress
        GROUP BY objective_id, period_start
        """,
        [as_of],
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def _objective_series(card: Scorecard, metrics: tuple[str, ...]) -> dict[str, set[str]]:
    """The scope series each trend chart shows: the company, and each objective's scope."""
    series: dict[str, set[str]] = {m: {"company"} for m in metrics}
    for line in card.objectives:
        if line.metric in series:
            series[line.metric].add(line.scope)
    return series


def _kpis(
    con: duckdb.DuckDBPyConnection, months: list[date], series: dict[str, set[str]], as_of: date
) -> list[KpiPoint]:
    wanted = [(metric, label) for metric, labels in series.items() for label in labels]
    rows = con.execute(
        """
        SELECT metric,
               CASE WHEN scope_type = 'company' THEN 'company'
                    ELSE scope_type || ' ' || scope_value END AS series,
               period_start, value, period_start + INTERVAL 1 MONTH <= ? + INTERVAL 1 DAY
        FROM marts.kpi_values
        WHERE grain = 'month' AND period_start BETWEEN ? AND ?
          AND metric IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY metric, series, period_start
        """,
        [as_of, months[0], months[-1], sorted(series)],
    ).fetchall()
    keep = set(wanted)
    return [KpiPoint(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows if (r[0], r[1]) in keep]


def _overlap_days(start: date, end: date, month: date) -> int:
    """Days of [start, end] (inclusive) that fall in `month`."""
    first = max(start, month)
    last = min(end, next_month(month) - timedelta(days=1))
    return max((last - first).days + 1, 0)


def _targets(
    subperiods: list[ObjectiveLine], months: list[date], metrics: tuple[str, ...]
) -> list[TargetMark]:
    """Each objective's target per month of the trend charts.

    A level metric (win rate, cycle, pipeline, churn, LTV) has its target in every month
    of the period. An additive one (won revenue) totals its target over the period, so a
    month gets the share of the target of its days in the (sub-)period: comparable to the
    month's own value.
    """
    marks: list[TargetMark] = []
    for line in subperiods:
        # A relative target without a reference value has no mark to draw.
        if line.metric not in metrics or line.target is None:
            continue
        additive = METRICS[line.metric].additive if line.metric in METRICS else False
        days = (line.period_end - line.period_start).days + 1
        for month in months:
            overlap = _overlap_days(line.period_start, line.period_end, month)
            if not overlap:
                continue
            target = line.target * overlap / days if additive else line.target
            marks.append(
                TargetMark(line.metric, line.scope, month, target, line.objective_id, line.title)
            )
    return _merge_monthly(marks)


def _merge_monthly(marks: list[TargetMark]) -> list[TargetMark]:
    """Sub-periods (weeks) of one objective sharing a month add up to one monthly mark."""
    merged: dict[tuple[str, str, date, str], TargetMark] = {}
    for mark in marks:
        key = (mark.metric, mark.series, mark.month, mark.objective_id)
        if key in merged and METRICS.get(mark.metric) and METRICS[mark.metric].additive:
            previous = merged[key]
            merged[key] = TargetMark(
                mark.metric,
                mark.series,
                mark.month,
                previous.target + mark.target,
                mark.objective_id,
                mark.title,
            )
        else:
            merged.setdefault(key, mark)
    return list(merged.values())


def _expand_subperiods(con: duckdb.DuckDBPyConnection, card: Scorecard) -> list[ObjectiveLine]:
    """The scorecard shows each objective by its sub-period holding as_of; the target
    overlay needs all of them (a monthly target holds in each month of its period)."""
    rows = con.execute(
        "SELECT DISTINCT objective_id, period_start, period_end FROM marts.objective_progress"
    ).fetchall()
    periods: dict[str, list[tuple[date, date]]] = {}
    for objective_id, start, end in rows:
        periods.setdefault(objective_id, []).append((start, end))
    lines: list[ObjectiveLine] = []
    for line in card.objectives:
        own = periods.get(line.objective_id, [(line.period_start, line.period_end)])
        lines.extend(_with_period(line, start, end) for start, end in sorted(own))
    return lines


def _with_period(line: ObjectiveLine, start: date, end: date) -> ObjectiveLine:
    return dataclasses.replace(line, period_start=start, period_end=end)


def _funnel(con: duckdb.DuckDBPyConnection, since: date) -> list[FunnelStep]:
    rows = con.execute(
        """
        SELECT pipeline, stage_number, stage, sum(reached_deals),
               CASE WHEN bool_and(next_stage IS NULL) THEN NULL
                    ELSE sum(reached_next_deals) END
        FROM marts.fct_funnel_conversion
        WHERE cohort_month >= ?
        GROUP BY pipeline, stage_number, stage
        ORDER BY pipeline, stage_number
        """,
        [since],
    ).fetchall()
    return [
        FunnelStep(r[0], int(r[1]), r[2], int(r[3] or 0), None if r[4] is None else int(r[4]))
        for r in rows
    ]


def load_report_data(serving_db: Path, as_of: date | None = None) -> ReportData:
    """Everything the report shows, as of `as_of` (default: the last day measured)."""
    con = open_serving(serving_db)
    try:
        day, built = _resolve_as_of(con, serving_db, as_of)
    finally:
        con.close()
    card = scorecard(serving_db, day)
    con = open_serving(serving_db)
    try:
        months = _months_back(min(day, built), TREND_MONTHS)
        metrics = TREND_METRICS + CUSTOMER_METRICS
        history = _history(con, day)
        baselines = _baselines(con, day)
        kpis = _kpis(con, months, _objective_series(card, metrics), day)
        targets = _targets(_expand_subperiods(con, card), months, metrics)
        funnel = _funnel(con, months[0])
    finally:
        con.close()
    return ReportData(
        as_of=day,
        built_as_of=built,
        currency=card.currency,
        card=card,
        history=history,
        baselines=baselines,
        kpis=kpis,
        targets=targets,
        funnel=funnel,
        funnel_since=months[0],
        months=months,
    )
