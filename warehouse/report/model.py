"""What the report shows, as plain records: the KPI points, target marks, objective
measurements and funnel steps in `ReportData`, the chart lists and `ReportError`.

`data` reads them from the serving file and the chart modules draw them; both import this
module, so neither depends on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from warehouse.scorecard_lines import Scorecard

# The monthly KPI charts, in the order the report shows them.
TREND_METRICS = ("win_rate", "won_revenue", "pipeline_value", "sales_cycle_days")
CUSTOMER_METRICS = ("churn_rate", "ltv")
# How many months (the one holding as_of included) the trend charts cover.
TREND_MONTHS = 12


class ReportError(ValueError):
    """The report cannot be built from this serving file; the message says what to do."""


@dataclass(frozen=True)
class KpiPoint:
    metric: str
    series: str  # "company", or "<scope_type> <scope_value>" for an objective's scope
    month: date
    value: float | None
    is_complete: bool


@dataclass(frozen=True)
class TargetMark:
    """An objective's target drawn over one month of a KPI trend chart."""

    metric: str
    series: str
    month: date
    target: float
    objective_id: str
    title: str


@dataclass(frozen=True)
class ProgressPoint:
    """One measurement of an objective's (sub-)period, as of a day."""

    objective_id: str
    period_start: date
    period_end: date
    as_of: date
    actual: float | None
    expected: float | None
    status: str


@dataclass(frozen=True)
class FunnelStep:
    pipeline: str
    stage_number: int
    stage: str
    reached: int
    reached_next: int | None


@dataclass(frozen=True)
class ReportData:
    as_of: date  # the day the objectives are shown as of
    built_as_of: date  # the last complete day of the marts (the KPIs' as_of)
    currency: str
    card: Scorecard
    history: dict[str, list[ProgressPoint]] = field(default_factory=dict)
    baselines: dict[tuple[str, date], float | None] = field(default_factory=dict)
    kpis: list[KpiPoint] = field(default_factory=list)
    targets: list[TargetMark] = field(default_factory=list)
    funnel: list[FunnelStep] = field(default_factory=list)
    funnel_since: date | None = None
    months: list[date] = field(default_factory=list)
