"""The KPI charts: each KPI by month (company-wide and per objective scope, with the
objectives' targets) and the stage funnel of the recent cohorts.
"""

from __future__ import annotations

from datetime import date

import altair as alt

from core.formatting import format_metric
from warehouse.report.model import FunnelStep, KpiPoint, ReportData, TargetMark
from warehouse.report.style import (
    LABEL_LIMIT,
    SERIES_COLORS,
    SMALL_WIDTH,
    ReportChart,
    axis_format,
    configure,
    facet_header,
    unit,
    value_scale,
)


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
    y_title = currency if unit(metric) == "currency" else unit(metric)
    base = alt.Chart(alt.Data(values=rows))
    line = base.mark_line(strokeWidth=2).encode(
        x=x,
        y=alt.Y("value:Q", axis=alt.Axis(format=fmt), title=y_title, scale=value_scale(metric)),
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
    return ReportChart(f"kpi-{metric}", title, configure(chart))


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
                header=facet_header(),
            )
        )
        .resolve_scale(y="independent", x="independent")
    )
    return ReportChart(
        "funnel",
        f"Funnel by stage (deals created since {since:%b %Y})",
        configure(chart),
        wide=True,
    )
