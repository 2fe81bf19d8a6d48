"""The objectives' charts: every objective's attainment against its expected pace, and
each objective's actual against its expected path over its (sub-)periods so far.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import altair as alt

from core.formatting import format_metric
from warehouse.report.model import ProgressPoint, ReportData
from warehouse.report.style import (
    LABEL_LIMIT,
    SMALL_WIDTH,
    STATUS_ORDER,
    ReportChart,
    axis_format,
    configure,
    ordered,
    period_text,
    shorten,
    status_label,
    status_scale,
    unique_labels,
    unit,
    value_scale,
)
from warehouse.scorecard_lines import ObjectiveLine


def _expected_attainment(line: ObjectiveLine) -> float | None:
    base = line.baseline or 0.0
    if line.expected is None or line.target == base or line.status == "not_started":
        return None
    return (line.expected - base) / (line.target - base)


def attainment_chart(data: ReportData) -> ReportChart:
    """Each objective's attainment (share of the way from baseline to target) as a bar
    coloured by status, with a black tick where it should be by now (expected pace)."""
    lines = ordered(data.card.objectives)
    labels = unique_labels(lines)
    currency = data.currency
    rows = []
    for line in lines:
        expected = _expected_attainment(line)
        rows.append(
            {
                "label": labels[line.objective_id],
                "objective": line.title,
                "scope": line.scope,
                "period": period_text(line),
                "status": status_label(line.overall_status),
                "current": (
                    f"{status_label(line.status)} ({period_text(line)})"
                    if line.subperiods
                    else status_label(line.status)
                ),
                "subperiods": line.missed_text(),
                "attainment": line.attainment,
                "expected_attainment": expected,
                "actual_text": format_metric(line.actual, line.metric, currency, line.unit),
                "expected_text": format_metric(
                    None if line.status == "not_started" else line.expected,
                    line.metric,
                    currency,
                    line.unit,
                ),
                "target_text": format_metric(line.target, line.metric, currency, line.unit),
                "pace_text": "-" if line.pace is None else f"{line.pace:.2f}",
                "reason": line.status_reason,
                "summary": (
                    f"{format_metric(line.actual, line.metric, currency, line.unit)} of "
                    f"{format_metric(line.target, line.metric, currency, line.unit)}"
                    + ("" if line.pace is None else f" · pace {line.pace:.2f}")
                ),
            }
        )
    values = [v for r in rows for v in (r["attainment"], r["expected_attainment"]) if v is not None]
    low = max(min([0.0, *values]), -0.5)
    high = min(max([1.1, *values]), 2.0)
    order = [r["label"] for r in rows]
    tooltip = [
        alt.Tooltip("objective:N"),
        alt.Tooltip("scope:N"),
        alt.Tooltip("period:N"),
        alt.Tooltip("status:N"),
        alt.Tooltip("subperiods:N", title="sub-periods"),
        alt.Tooltip("current:N", title="this period"),
        alt.Tooltip("actual_text:N", title="actual"),
        alt.Tooltip("expected_text:N", title="expected now"),
        alt.Tooltip("target_text:N", title="target"),
        alt.Tooltip("attainment:Q", format=".0%"),
        alt.Tooltip("pace_text:N", title="pace"),
        alt.Tooltip("reason:N"),
    ]
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    base = alt.Chart(alt.Data(values=rows))
    scale = alt.Scale(domain=[low, high], clamp=True)
    bars = base.mark_bar(height=14, cornerRadiusEnd=2).encode(
        x=alt.X("attainment:Q", scale=scale, axis=alt.Axis(format="%"), title="attainment"),
        y=y,
        color=alt.Color(
            "status:N",
            scale=status_scale({line.overall_status for line in lines}),
            legend=alt.Legend(title="status", orient="bottom"),
        ),
        tooltip=tooltip,
    )
    target = (
        alt.Chart(alt.Data(values=[{"x": 1.0}]))
        .mark_rule(color="#57606a", strokeDash=[4, 3])
        .encode(x=alt.X("x:Q", scale=scale))
    )
    pace = base.mark_tick(color="#24292f", thickness=3, size=20).encode(
        x=alt.X("expected_attainment:Q", scale=scale), y=y, tooltip=tooltip
    )
    bars_layer = alt.layer(bars, target, pace).properties(width=340, height=alt.Step(28))
    text = base.mark_text(align="left", fontSize=11, color="#24292f").encode(
        y=alt.Y("label:N", sort=order, axis=None), text="summary:N", tooltip=tooltip
    )
    chart = alt.hconcat(
        bars_layer, text.properties(width=170, height=alt.Step(28)), spacing=4
    ).resolve_scale(y="shared")
    return ReportChart(
        "objectives-attainment",
        "Attainment against expected pace",
        configure(chart),
        wide=True,
    )


def _path_rows(
    line: ObjectiveLine,
    points: list[ProgressPoint],
    baselines: dict[tuple[str, date], float | None],
) -> list[dict[str, Any]]:
    """The expected path of each sub-period: from the baseline the day before it starts
    (share 0) through each measured expected value to the target on its last day (share 1)."""
    rows: list[dict[str, Any]] = []
    for start in sorted({p.period_start for p in points}):
        own = [p for p in points if p.period_start == start]
        base = baselines.get((line.objective_id, start))
        first = line.target if base is None else base
        period = start.isoformat()
        rows.append(
            {"date": (start - timedelta(days=1)).isoformat(), "value": first, "period": period}
        )
        rows.extend(
            {"date": p.as_of.isoformat(), "value": p.expected, "period": period}
            for p in own
            if p.expected is not None
        )
        rows.append({"date": own[0].period_end.isoformat(), "value": line.target, "period": period})
    return rows


def objective_history_chart(
    line: ObjectiveLine,
    points: list[ProgressPoint],
    data: ReportData,
) -> ReportChart:
    """Actual (points coloured by the status of the day) against the expected path over
    the objective's (sub-)periods so far, with a rule on the report's day."""
    currency = data.currency
    fmt = axis_format(line.metric, line.unit)
    actual_rows = [
        {
            "date": p.as_of.isoformat(),
            "value": p.actual,
            "period": p.period_start.isoformat(),
            "status": status_label(p.status),
            "actual_text": format_metric(p.actual, line.metric, currency, line.unit),
            "expected_text": format_metric(p.expected, line.metric, currency, line.unit),
        }
        for p in points
        if p.actual is not None
    ]
    path = _path_rows(line, points, data.baselines)
    first = min(p.period_start for p in points) - timedelta(days=1)
    last = max(p.period_end for p in points)
    x_scale = alt.Scale(type="utc", domain=[first.isoformat(), last.isoformat()])
    x = alt.X("date:T", scale=x_scale, title=None, axis=alt.Axis(format="%d %b", labelOverlap=True))
    y_title = currency if unit(line.metric) == "currency" else unit(line.metric, line.unit)
    expected = (
        alt.Chart(alt.Data(values=path))
        .mark_line(color="#6e7781", strokeDash=[5, 4], strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y(
                "value:Q", axis=alt.Axis(format=fmt), title=y_title, scale=value_scale(line.metric)
            ),
            detail="period:N",
        )
    )
    actual_line = (
        alt.Chart(alt.Data(values=actual_rows))
        .mark_line(color="#24292f", strokeWidth=1.5)
        .encode(x=x, y="value:Q", detail="period:N")
    )
    actual_points = (
        alt.Chart(alt.Data(values=actual_rows))
        .mark_circle(size=28, opacity=1)
        .encode(
            x=x,
            y="value:Q",
            color=alt.Color(
                "status:N",
                scale=status_scale(set(STATUS_ORDER)),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("date:T", title="as of", format="%Y-%m-%d", formatType="utc"),
                alt.Tooltip("actual_text:N", title="actual"),
                alt.Tooltip("expected_text:N", title="expected"),
                alt.Tooltip("status:N"),
            ],
        )
    )
    layers: list[alt.Chart] = [expected, actual_line, actual_points]
    if first < data.as_of <= last:
        layers.append(
            alt.Chart(alt.Data(values=[{"date": data.as_of.isoformat()}]))
            .mark_rule(color="#0969da", strokeWidth=1, opacity=0.6)
            .encode(x=x)
        )
    subtitle = f"{line.scope} · {period_text(line)} · {status_label(line.overall_status)}"
    if line.subperiods:
        subtitle += f" ({line.missed_text()})"
    chart = alt.layer(*layers).properties(
        width=SMALL_WIDTH,
        height=150,
        title=alt.Title(shorten(line.title, 60), subtitle=subtitle, anchor="start"),
    )
    return ReportChart(f"objective-{line.objective_id}", line.title, configure(chart))
