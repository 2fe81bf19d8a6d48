"""A KPI value as a person reads it, in the terminal and in the HTML report alike."""

from __future__ import annotations

from core.metrics import METRICS


def metric_unit(metric: str, unit: str | None = None) -> str:
    """count, ratio, days or currency for the CRM's metrics; a manual metric's `unit` as
    kpi_values writes it (the currency's code, or a word such as patents), else count."""
    if metric in METRICS:
        return METRICS[metric].unit
    return unit or "count"


def format_metric(value: float | None, metric: str, currency: str, unit: str | None = None) -> str:
    """`unit`: a manual metric's unit (marts.dim_objectives.unit); the CRM's metrics have
    theirs in core.metrics."""
    if value is None:
        return "-"
    unit = metric_unit(metric, unit)
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f} d"
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit == "count":
        return number
    if unit in ("currency", currency):
        return f"{value:,.0f} {currency}"
    return f"{number} {unit}"  # a manual metric's word: 2 patents
