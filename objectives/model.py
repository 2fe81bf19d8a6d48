"""The validated objectives: what a checked `objectives.yml` becomes (DESIGN.md, "Objectives").

Kept apart from the checks so that the loaders and the warehouse read these plain frozen
records without importing the YAML machinery that builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.calendar import PERIOD_GRAINS

GRAINS = PERIOD_GRAINS
DIRECTIONS = ("increase", "decrease")
DEFAULT_DIRECTION = "increase"
DEFAULT_AT_RISK = 0.95
DEFAULT_OFF_TRACK = 0.8
COMPANY_SCOPE = ("company", "all")
# Where a relative target's reference value (and a level metric's baseline) comes from
# when the file gives no number: the same span just before the start, or a year earlier.
BASELINE_PERIODS = ("prior_period", "same_last_year")


@dataclass(frozen=True)
class Milestone:
    date: date
    value: float


@dataclass(frozen=True)
class Revision:
    """From `revised_from` on, the objective aims at this target instead (docs/objectives.md)."""

    revised_from: date
    target: float | None  # absolute; None when `target_change` is given
    target_change: float | None  # relative to the reference, 0.40 for "+40%"
    target_rule: str | None  # the relative rule as written, normalised: "+40%"
    reason: str | None


@dataclass(frozen=True)
class Objective:
    id: str
    title: str
    metric: str
    scope_type: str  # "company" when the file gives no scope
    scope_value: str  # "all" for the company scope
    period_start: date
    period_end: date  # inclusive
    grain: str | None  # week, month, quarter: the target holds for each sub-period
    direction: str  # increase or decrease
    target: float | None  # None for a relative target: resolved in the warehouse
    baseline: float | None  # given in the file; an additive metric's only with target_change
    milestones: tuple[Milestone, ...]
    at_risk: float  # pace below this is at_risk
    off_track: float  # pace below this is off_track
    target_change: float | None = None  # relative target: 0.40 for "+40%", -0.25 for "-25%"
    target_rule: str | None = None  # the relative target normalised: "+40%"
    baseline_period: str | None = None  # one of BASELINE_PERIODS, when the file names one
    revisions: tuple[Revision, ...] = ()

    @property
    def needs_reference(self) -> bool:
        """A target of it is relative, so the warehouse measures the value it applies to."""
        return self.target_change is not None or any(
            r.target_change is not None for r in self.revisions
        )

    # A part of a cascade (docs/objectives.md, "Cascades"): the objective it was split
    # from, and `part` or `unassigned` (the remainder its parts leave); None otherwise.
    parent_id: str | None = None
    part_kind: str | None = None
    share: float | None = None  # the part's `share` as written


@dataclass(frozen=True)
class OKR:
    id: str
    title: str
    key_results: tuple[str, ...]  # objective ids, in the file's order
    # One per key result, in the same order (`{objective: id, weight: 2}`); empty: all 1.
    weights: tuple[float, ...] = ()

    def weight(self, position: int) -> float:
        """The weight of the key result at 0-based `position` (1 when not given)."""
        return self.weights[position] if self.weights else 1.0


@dataclass(frozen=True)
class ManualMetric:
    """A metric no CRM holds, declared under `manual_metrics:` (docs/objectives.md)."""

    id: str
    title: str
    unit: str  # count, ratio, days, currency, or the word for what is counted (patents)
    aggregation: str  # sum, last or mean
    scopes: tuple[str, ...]  # the scope types it may have values for; ("company",) default

    @property
    def additive(self) -> bool:
        return self.aggregation == "sum"


@dataclass(frozen=True)
class ManualValue:
    """One row of the manual metrics' values file (CRM_KPI_MANUAL_METRICS)."""

    date: date
    metric: str
    value: float
    scope_type: str  # "company" when the row gives none
    scope_value: str  # "all" for the company scope
    note: str | None
    line: int  # the row's line in its file, for the messages of later checks


@dataclass(frozen=True)
class ObjectivesFile:
    path: Path
    objectives: tuple[Objective, ...] = ()
    okrs: tuple[OKR, ...] = ()
    manual_metrics: tuple[ManualMetric, ...] = ()
    manual_values: tuple[ManualValue, ...] = ()
    values_path: Path | None = None  # the file manual_values were read from

    def objective(self, objective_id: str) -> Objective:
        for o in self.objectives:
            if o.id == objective_id:
                return o
        raise KeyError(objective_id)
