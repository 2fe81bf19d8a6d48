"""A KPI value as a person reads it, in the terminal and in the HTML report alike."""

from __future__ import annotations

from core.metrics import METRICS


def format_metric(value: float | None, metric: str, currency: str) -> str:
    if value is None:
        return "-"
    unit = METRICS[metric].unit if metric in METRICS else "count"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f} d"
    if unit == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:,.0f} {currency}"
