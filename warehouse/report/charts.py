"""The report's charts, as Altair (Vega-Lite) charts built from `ReportData`.

Data is inlined in each spec (no URL), so a chart draws from the HTML file alone. Dates
are ISO strings on UTC scales, so a reader's browser timezone never shifts a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import altair as alt

from core.formatting import format_metric
from core.metrics import METRICS
from warehouse.report.data import (
    CUSTOMER_METRICS,
    TREND_METRICS,
    FunnelStep,
    KpiPoint,
    ProgressPoint,
    ReportData,
    TargetMark,
)
from warehouse.scorecard_lines import ObjectiveLine, OkrLine

STATUS_ORDER = ("off_track", "at_risk", "missed", "no_data", "on_track", "achieved", "not_started")
STATUS_COLORS = {
    "off_track": "#cf222e",
    "at_risk": "#d4a72c",
    "missed": "#82071e",
    "no_data": "#8c959f",
    "on_track": "#2da44e",
    "achieved": "#116329",
    "not_started": "#d0d7de",
}
SERIES_COLORS = ("#0969da", "#8250df", "#bf3989", "#953800", "#1b7c83", "#6e7781")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
SMALL_WIDTH = 330
WIDE_WIDTH = 620
LABEL_LIMIT = 280


@dataclass(frozen=True)
class ReportChart:
    """One chart of the report: a stable name (its PNG file), a heading and the chart."""

    name: str
    title: str
    chart: alt.TopLevelMixin
    wide: bool = False

    def spec(self) -> dict[str, Any]:
        return self.chart.to_dict()


def status_label(status: str | None) -> str:
    return (status or "-").replace("_", " ")


def _unit(metric: str) -> str:
    return METRICS[metric].unit if metric in METRICS else "count"


def axis_format(metric: str) -> str:
    return {"ratio": ".1~%", "days": ",.0f", "count": ",.0f"}.get(_unit(metric), "~s")


def _value_scale(metric: str) -> alt.Scale:
    """Totals start at zero; levels (rates, days, values) zoom on their range so a move
    from 34 % to 36 % is visible."""
    additive = METRICS[metric].additive if metric in METRICS else True
    return alt.Scale(zero=additive)


def _status_scale(statuses: set[str]) -> alt.Scale:
    domain = [s for s in STATUS_ORDER if s in statuses] or list(STATUS_ORDER)
    return alt.Scale(
        domain=[status_label(s) for s in domain], range=[STATUS_COLORS[s] for s in domain]
    )


def _shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _unique_labels(lines: list[ObjectiveLine]) -> dict[str, str]:
    """Axis labels must be unique: a title shared by two objectives gets its id."""
    labels: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line in lines:
        base = _shorten(line.title)
        if line.scope != "company":
            base = _shorten(f"{line.title} ({line.scope})", 58)
        seen[base] = seen.get(base, 0) + 1
        labels[line.objective_id] = base
    for line in lines:
        if seen[labels[line.objective_id]] > 1:
            labels[line.objective_id] = f"{labels[line.objective_id]} [{line.objective_id}]"
    return labels


def _period_text(line: ObjectiveLine) -> str:
    if line.grain:
        return f"{line.grain} of {line.period_start}"
    return f"{line.period_start} to {line.period_end}"


def _ordered(lines: list[ObjectiveLine]) -> list[ObjectiveLine]:
    return sorted(lines, key=lambda o: (STATUS_ORDER.index(o.overall_status), o.objective_id))


def _expected_attainment(line: ObjectiveLine) -> float | None:
    base = line.baseline or 0.0
    if line.expected is None or line.target == base or line.status == "not_started":
        return None
    return (line.expected - base) / (line.target - base)


def attainment_chart(data: ReportData) -> ReportChart:
    """Each objective's attainment (share of the way from baseline to target) as a bar
    coloured by status, with a black tick where it should be by now (expected pace)."""
    lines = _ordered(data.card.objectives)
    labels = _unique_labels(lines)
    currency = data.currency
    rows = []
    for line in lines:
        expected = _expected_attainment(line)
        rows.append(
            {
                "label": labels[line.objective_id],
                "objective": line.title,
                "scope": line.scope,
                "period": _period_text(line),
                "status": status_label(line.overall_status),
                "current": (
                    f"{status_label(line.status)} ({_period_text(line)})"
                    if line.subperiods
                    else status_label(line.status)
                ),
                "subperiods": line.missed_text(),
                "attainment": line.attainment,
                "expected_attainment": expected,
                "actual_text": format_metric(line.actual, line.metric, currency),
                "expected_text": format_metric(
                    None if line.status == "not_started" else line.expected, line.metric, currency
                ),
                "target_text": format_metric(line.target, line.metric, currency),
                "pace_text": "-" if line.pace is None else f"{line.pace:.2f}",
                "reason": line.status_reason,
                "summary": (
                    f"{format_metric(line.actual, line.metric, currency)} of "
                    f"{format_metric(line.target, line.metric, currency)}"
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
            scale=_status_scale({line.overall_status for line in lines}),
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
        _configure(chart),
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
    fmt = axis_format(line.metric)
    actual_rows = [
        {
            "date": p.as_of.isoformat(),
            "value": p.actual,
            "period": p.period_start.isoformat(),
            "status": status_label(p.status),
            "actual_text": format_metric(p.actual, line.metric, currency),
            "expected_text": format_metric(p.expected, line.metric, currency),
        }
        for p in points
        if p.actual is not None
    ]
    path = _path_rows(line, points, data.baselines)
    first = min(p.period_start for p in points) - timedelta(days=1)
    last = max(p.period_end for p in points)
    x_scale = alt.Scale(type="utc", domain=[first.isoformat(), last.isoformat()])
    x = alt.X("date:T", scale=x_scale, title=None, axis=alt.Axis(format="%d %b", labelOverlap=True))
    y_title = currency if _unit(line.metric) == "currency" else _unit(line.metric)
    expected = (
        alt.Chart(alt.Data(values=path))
        .mark_line(color="#6e7781", strokeDash=[5, 4], strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y(
                "value:Q", axis=alt.Axis(format=fmt), title=y_title, scale=_value_scale(line.metric)
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
                scale=_status_scale(set(STATUS_ORDER)),
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
    subtitle = f"{line.scope} · {_period_text(line)} · {status_label(line.overall_status)}"
    if line.subperiods:
        subtitle += f" ({line.missed_text()})"
    chart = alt.layer(*layers).properties(
        width=SMALL_WIDTH,
        height=150,
        title=alt.Title(_shorten(line.title, 60), subtitle=subtitle, anchor="start"),
    )
    return ReportChart(f"objective-{line.objective_id}", line.title, _configure(chart))


def okr_chart(okrs: list[OkrLine], lines: list[ObjectiveLine]) -> ReportChart:
    """Each OKR's progress (mean of its key results' attainment, clamped to [0, 1]) above
    its key results, each coloured by its status."""
    by_id = {line.objective_id: line for line in lines}
    rows: list[dict[str, Any]] = []
    okr_order: list[str] = []
    for okr in okrs:
        header = f"{okr.title} · {0 if okr.progress is None else okr.progress:.0%}"
        okr_order.append(header)
        rows.append(
            {
                "okr": header,
                "label": "Overall progress",
                "order": 0,
                "value": okr.progress or 0.0,
                "status": status_label(okr.worst_overall or okr.worst_status),
                "text": f"{(okr.progress or 0.0):.0%} "
                f"(worst: {status_label(okr.worst_overall or okr.worst_status)})",
            }
        )
        for index, objective_id in enumerate(okr.key_results, start=1):
            line = by_id.get(objective_id)
            if line is None:
                continue
            clamped = max(0.0, min(1.0, line.attainment or 0.0))
            rows.append(
                {
                    "okr": header,
                    "label": _shorten(line.title),
                    "order": index,
                    "value": clamped,
                    "status": status_label(line.overall_status),
                    "text": f"{clamped:.0%}",
                }
            )
    statuses = {line.overall_status for line in lines} | {
        o.worst_overall or o.worst_status for o in okrs if o.worst_overall or o.worst_status
    }
    y = alt.Y(
        "label:N",
        sort=alt.EncodingSortField("order", op="min"),
        title=None,
        axis=alt.Axis(labelLimit=LABEL_LIMIT),
    )
    bars = (
        alt.Chart()
        .mark_bar(height=14, cornerRadiusEnd=2)
        .encode(
            x=alt.X(
                "value:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="progress (attainment, clamped to 0-100 %)",
            ),
            y=y,
            color=alt.Color(
                "status:N",
                scale=_status_scale(statuses),
                legend=alt.Legend(title="status", orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="key result"),
                "status:N",
                alt.Tooltip("value:Q", format=".0%", title="progress"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1])), y=y, text="text:N")
    )
    chart = (
        alt.layer(bars, text, data=alt.Data(values=rows))
        .properties(width=360, height=alt.Step(24))
        .facet(
            row=alt.Row(
                "okr:N",
                sort=okr_order,
                title=None,
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelAnchor="start",
                    labelOrient="top",
                    labelFontWeight="bold",
                    labelFontSize=13,
                ),
            ),
        )
        .resolve_scale(y="independent")
    )
    return ReportChart("okrs", "OKRs and their key results", _configure(chart), wide=True)


def _series_order(points: list[KpiPoint]) -> list[str]:
    others = sorted({p.series for p in points} - {"company"})
    return ["company", *others]


def kpi_trend_chart(
    metric: str, points: list[KpiPoint], targets: list[TargetMark], data: ReportData
) -> ReportChart:
    """A KPI by month, company-wide and for each scope an objective is set on, with that
    objective's target as a tick on each month of its period (pro rata for totals)."""
    currency = data.currency
    labels = {m: m.strftime("%b %Y") for m in data.months}
    order = [labels[m] for m in data.months]
    series = _series_order(points)
    colors = alt.Scale(domain=series, range=list(SERIES_COLORS[: len(series)]))
    rows = [
        {
            "month": labels[p.month],
            "series": p.series,
            "value": p.value,
            "complete": "yes" if p.is_complete else "no (to date)",
            "value_text": format_metric(p.value, metric, currency),
        }
        for p in points
        if p.month in labels
    ]
    fmt = axis_format(metric)
    x = alt.X(
        "month:O",
        sort=order,
        title=None,
        axis=alt.Axis(labelAngle=-40),
        scale=alt.Scale(domain=order),
    )
    y_title = currency if _unit(metric) == "currency" else _unit(metric)
    base = alt.Chart(alt.Data(values=rows))
    line = base.mark_line(strokeWidth=2).encode(
        x=x,
        y=alt.Y("value:Q", axis=alt.Axis(format=fmt), title=y_title, scale=_value_scale(metric)),
        color=alt.Color("series:N", scale=colors, legend=alt.Legend(title=None, orient="top")),
    )
    dots = base.mark_point(filled=True, size=40).encode(
        x=x,
        y="value:Q",
        color=alt.Color("series:N", scale=colors),
        opacity=alt.Opacity(
            "complete:N",
            scale=alt.Scale(domain=["yes", "no (to date)"], range=[1.0, 0.35]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("month:N"),
            alt.Tooltip("series:N"),
            alt.Tooltip("value_text:N", title=metric),
            alt.Tooltip("complete:N"),
        ],
    )
    layers: list[alt.Chart] = [line, dots]
    if targets:
        target_rows = [
            {
                "month": labels[t.month],
                "series": t.series,
                "target": t.target,
                "objective": t.title,
                "target_text": format_metric(t.target, metric, currency),
            }
            for t in targets
            if t.month in labels
        ]
        layers.append(
            alt.Chart(alt.Data(values=target_rows))
            .mark_tick(thickness=3, size=18, opacity=0.9)
            .encode(
                x=x,
                y="target:Q",
                color=alt.Color("series:N", scale=colors),
                tooltip=[
                    alt.Tooltip("objective:N"),
                    alt.Tooltip("month:N"),
                    alt.Tooltip("target_text:N", title="target"),
                ],
            )
        )
    title = METRIC_TITLES.get(metric, metric)
    subtitle = "by month; ticks: objective targets" if targets else "by month"
    chart = alt.layer(*layers).properties(
        width=SMALL_WIDTH, height=170, title=alt.Title(title, subtitle=subtitle, anchor="start")
    )
    return ReportChart(f"kpi-{metric}", title, _configure(chart))


METRIC_TITLES = {
    "win_rate": "Win rate",
    "won_revenue": "Won revenue",
    "pipeline_value": "Pipeline value (end of month)",
    "sales_cycle_days": "Sales cycle (median days, won deals)",
    "churn_rate": "Churn rate (accounts)",
    "ltv": "Customer lifetime value",
}


def funnel_chart(steps: list[FunnelStep], since: date) -> ReportChart:
    """Deals of the cohorts created since `since` that reached each stage, per pipeline,
    with the share of them that went on to the next stage."""
    rows = [
        {
            "pipeline": s.pipeline,
            "stage": s.stage,
            "stage_number": s.stage_number,
            "reached": s.reached,
            "conversion": (s.reached_next / s.reached)
            if s.reached and s.reached_next is not None
            else None,
            "text": f"{s.reached:,}"
            + (
                f" · {s.reached_next / s.reached:.0%} go on"
                if s.reached and s.reached_next is not None
                else ""
            ),
        }
        for s in steps
    ]
    y = alt.Y(
        "stage:N",
        sort=alt.EncodingSortField("stage_number", op="min"),
        title=None,
        axis=alt.Axis(labelLimit=LABEL_LIMIT),
    )
    bars = (
        alt.Chart()
        .mark_bar(color="#0969da", height=14)
        .encode(
            x=alt.X("reached:Q", title="deals that reached the stage"),
            y=y,
            tooltip=[
                "pipeline:N",
                "stage:N",
                alt.Tooltip("reached:Q", format=","),
                alt.Tooltip("conversion:Q", format=".1%", title="went on to the next stage"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(x="reached:Q", y=y, text="text:N")
    )
    pipelines = sorted({s.pipeline for s in steps})
    chart = (
        alt.layer(bars, text, data=alt.Data(values=rows))
        .properties(width=380, height=alt.Step(22))
        .facet(
            row=alt.Row(
                "pipeline:N",
                sort=pipelines,
                title=None,
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelOrient="top",
                    labelAnchor="start",
                    labelFontWeight="bold",
                    labelFontSize=13,
                ),
            )
        )
        .resolve_scale(y="independent", x="independent")
    )
    return ReportChart(
        "funnel",
        f"Funnel by stage (deals created since {since:%b %Y})",
        _configure(chart),
        wide=True,
    )


def _configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, gridColor="#eaeef2")
        .configure_title(fontSize=13, subtitleFontSize=11, subtitleColor="#57606a")
    )


@dataclass(frozen=True)
class ChartSections:
    attainment: ReportChart | None
    history: list[ReportChart]
    uncharted: list[ObjectiveLine]
    okrs: ReportChart | None
    trends: list[ReportChart]
    funnel: ReportChart | None
    customers: list[ReportChart]

    def all(self) -> list[ReportChart]:
        charts = [
            self.attainment,
            *self.history,
            self.okrs,
            *self.trends,
            self.funnel,
            *self.customers,
        ]
        return [c for c in charts if c is not None]


def build_charts(data: ReportData) -> ChartSections:
    lines = data.card.objectives
    attainment = attainment_chart(data) if lines else None
    history = []
    uncharted = []
    for line in _ordered(lines):
        points = data.history.get(line.objective_id, [])
        if points:
            history.append(objective_history_chart(line, points, data))
        else:
            uncharted.append(line)
    okrs = okr_chart(data.card.okrs, lines) if data.card.okrs else None

    def trend(metric: str) -> ReportChart:
        return kpi_trend_chart(
            metric,
            [p for p in data.kpis if p.metric == metric],
            [t for t in data.targets if t.metric == metric],
            data,
        )

    funnel = funnel_chart(data.funnel, data.funnel_since) if data.funnel else None
    return ChartSections(
        attainment=attainment,
        history=history,
        uncharted=uncharted,
        okrs=okrs,
        trends=[trend(m) for m in TREND_METRICS],
        funnel=funnel,
        customers=[trend(m) for m in CUSTOMER_METRICS],
    )
