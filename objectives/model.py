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


@dataclass(frozen=True)
class Milestone:
    date: date
    value: float


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
    target: float
    baseline: float | None
    milestones: tuple[Milestone, ...]
    at_risk: float  # pace below this is at_risk
    off_track: float  # pace below this is off_track
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
class ObjectivesFile:
    path: Path
    objectives: tuple[Objective, ...] = ()
    okrs: tuple[OKR, ...] = ()

    def objective(self, objective_id: str) -> Objective:
        for o in self.objectives:
            if o.id == objective_id:
                return o
        raise KeyError(objective_id)
