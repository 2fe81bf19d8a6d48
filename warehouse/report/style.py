"""What every chart of the report shares: status order and colours, series colours, the
font and widths, `ReportChart`, labels, scales and axis formats, and the page-wide look.

Kept apart so each chart module draws one kind of chart with the same look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt

from core.formatting import metric_unit
from core.metrics import METRICS
from warehouse.scorecard_lines import ObjectiveLine, as_tree

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


def unit(metric: str, manual_unit: str | None = None) -> str:
    """`manual_unit`: a manual metric's unit (marts.dim_objectives.unit)."""
    return metric_unit(metric, manual_unit)


def axis_format(metric: str, manual_unit: str | None = None) -> str:
    kind = unit(metric, manual_unit)
    if metric not in METRICS and kind not in ("ratio", "days", "count"):
        return ",.0f"  # a manual metric counting something (patents), or its currency
    return {"ratio": ".1~%", "days": ",.0f", "count": ",.0f"}.get(kind, "~s")


def value_scale(metric: str) -> alt.Scale:
    """Totals start at zero; levels (rates, days, values) zoom on their range so a move
    from 34 % to 36 % is visible."""
    additive = METRICS[metric].additive if metric in METRICS else True
    return alt.Scale(zero=additive)


def status_scale(statuses: set[str]) -> alt.Scale:
    domain = [s for s in STATUS_ORDER if s in statuses] or list(STATUS_ORDER)
    return alt.Scale(
        domain=[status_label(s) for s in domain], range=[STATUS_COLORS[s] for s in domain]
    )


def shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def unique_labels(lines: list[ObjectiveLine]) -> dict[str, str]:
    """Axis labels must be unique: a title shared by two objectives gets its id."""
    labels: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line in lines:
        base = shorten(line.title)
        if line.scope != "company":
            base = shorten(f"{line.title} ({line.scope})", 58)
        seen[base] = seen.get(base, 0) + 1
        labels[line.objective_id] = base
    for line in lines:
        if seen[labels[line.objective_id]] > 1:
            labels[line.objective_id] = f"{labels[line.objective_id]} [{line.objective_id}]"
    return labels


def period_text(line: ObjectiveLine) -> str:
    if line.grain:
        return f"{line.grain} of {line.period_start}"
    return f"{line.period_start} to {line.period_end}"


def ordered(lines: list[ObjectiveLine]) -> list[ObjectiveLine]:
    """By status, each cascade's parts under their parent (the tree)."""
    return as_tree(
        sorted(lines, key=lambda o: (STATUS_ORDER.index(o.overall_status), o.objective_id))
    )


def facet_header() -> alt.Header:
    """The label above each panel of a faceted chart: bold, left, on one line."""
    return alt.Header(
        labelAngle=0,
        labelAlign="left",
        labelOrient="top",
        labelAnchor="start",
        labelFontWeight="bold",
        labelFontSize=13,
    )


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, gridColor="#eaeef2")
        .configure_title(fontSize=13, subtitleFontSize=11, subtitleColor="#57606a")
    )
