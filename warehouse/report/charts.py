"""The report's charts, as Altair (Vega-Lite) charts built from `ReportData`: which charts
there are and in which section (`build_charts`); each kind is drawn in its own module.

Data is inlined in each spec (no URL), so a chart draws from the HTML file alone. Dates
are ISO strings on UTC scales, so a reader's browser timezone never shifts a day.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.report.kpi_charts import funnel_chart, kpi_trend_chart
from warehouse.report.model import CUSTOMER_METRICS, TREND_METRICS, ReportData
from warehouse.report.objective_charts import attainment_chart, objective_history_chart
from warehouse.report.okr_chart import okr_chart
from warehouse.report.style import ReportChart, ordered
from warehouse.scorecard_lines import ObjectiveLine


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
    for line in ordered(lines):
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
