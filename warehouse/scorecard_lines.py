"""The scorecard's lines as records, and how sub-periods add up to an objective's status.

`warehouse.scorecard` reads them from the serving file; `crm-kpi status` and the HTML
report render them. Kept apart from the reads so the renderers and tests can use the
records and the status rule without a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Statuses from the worst to the best (DESIGN.md's worst key result: missed > off_track >
# at_risk > no_data > the others), the others in the order a person reads them.
WORST_FIRST = ("missed", "off_track", "at_risk", "no_data", "on_track", "achieved", "not_started")
GRAIN_WORDS = {
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "quarter": ("quarter", "quarters"),
}


@dataclass(frozen=True)
class SubPeriod:
    """One week, month or quarter of an objective with a grain, as measured as of a day."""

    period_start: date
    period_end: date
    status: str
    actual: float | None
    label: str  # "Sep", "Nov 9" (a week, by its Monday), "Jul-Sep"; with the year if needed
    ended: bool  # as_of on or after its last day: achieved, missed (or no_data) for good


def worst_status(statuses: list[str]) -> str:
    return min(statuses, key=WORST_FIRST.index) if statuses else "not_started"


def overall_status(subperiods: list[SubPeriod] | tuple[SubPeriod, ...]) -> str:
    """The status of an objective with a grain: the worst status of its sub-periods that
    have started (those ended, and the one in progress); `not_started` before the first.

    The target holds for each sub-period, so one missed month is a missed objective
    (it can no longer be met every month), and an objective is achieved only when every
    sub-period was, once the last has ended. In between, with no sub-period missed, it
    is as on track, at risk or off track as the sub-period in progress.
    """
    return worst_status([s.status for s in subperiods if s.status != "not_started"])


@dataclass(frozen=True)
class ObjectiveLine:
    objective_id: str
    title: str
    source: str
    metric: str
    scope: str
    period_start: date
    period_end: date
    grain: str | None
    direction: str
    target: float | None  # None: a relative target without a reference value
    baseline: float | None
    actual: float | None
    expected: float | None
    attainment: float | None
    pace: float | None
    projected: float | None
    status: str
    status_reason: str
    okr_ids: str | None
    # With a grain: every sub-period, in order, and the objective's status over them
    # (`overall_status`); the fields above are those of the sub-period holding as_of (else
    # the nearest). Without a grain there are no sub-periods and the overall status is the
    # period's own.
    subperiods: tuple[SubPeriod, ...] = ()
    overall: str = ""
    # How the target was set (docs/objectives.md, "Relative targets and revisions").
    target_rule: str | None = None
    baseline_source: str | None = None
    target_reference: float | None = None
    original_target: float | None = None
    revised_from: date | None = None
    revision_reason: str | None = None
    # The metric's unit as kpi_values writes it (marts.dim_objectives.unit): a manual
    # metric's label, such as patents.
    unit: str | None = None
    # A part of a cascade: the objective it was split from, and what it is of it ("team
    # Enterprise", "unassigned") when that objective is on the scorecard too.
    parent_id: str | None = None
    part_label: str = ""

    @property
    def tree_title(self) -> str:
        """The title in the scorecard's tree: a part by what it is of its parent."""
        return f"↳ {self.part_label}" if self.part_label else self.title

    @property
    def overall_status(self) -> str:
        return self.overall or self.status

    @property
    def missed_count(self) -> tuple[int, int]:
        """(sub-periods missed, sub-periods ended)."""
        ended = [s for s in self.subperiods if s.ended]
        return sum(s.status == "missed" for s in ended), len(ended)

    def missed_text(self) -> str:
        """'2 of 3 months missed' (sub-periods ended so far); '' without a grain."""
        if not self.subperiods or not self.grain:
            return ""
        one, many = GRAIN_WORDS.get(self.grain, (self.grain, f"{self.grain}s"))
        missed, ended = self.missed_count
        if not ended:
            return f"no {one} ended yet"
        text = f"{missed} of {ended} {one if ended == 1 else many} missed"
        unmeasured = sum(s.status == "no_data" for s in self.subperiods if s.ended)
        return text + (f", {unmeasured} without data" if unmeasured else "")

    def overall_reason(self) -> str:
        """Why the overall status is what it is, in one line."""
        if not self.subperiods:
            return self.status_reason
        current = next((s for s in self.subperiods if not s.ended), None)
        parts = [self.missed_text()]
        if current is not None and current.status != "not_started":
            parts.append(
                f"{current.label}: {current.status.replace('_', ' ')}, {self.status_reason}"
                if current.period_start == self.period_start
                else f"{current.label}: {current.status.replace('_', ' ')}"
            )
        return "; ".join(p for p in parts if p)


def as_tree(lines: list[ObjectiveLine]) -> list[ObjectiveLine]:
    """`lines` in their order, each cascade's parts moved right under their parent (in
    their own order): the scorecard shows the tree."""
    present = {line.objective_id for line in lines}
    children: dict[str, list[ObjectiveLine]] = {}
    for line in lines:
        if line.parent_id in present:
            children.setdefault(line.parent_id, []).append(line)
    out: list[ObjectiveLine] = []

    def add(line: ObjectiveLine) -> None:
        out.append(line)
        for child in children.get(line.objective_id, []):
            add(child)

    for line in lines:
        if line.parent_id not in present:
            add(line)
    return out


@dataclass(frozen=True)
class OkrLine:
    okr_id: str
    title: str
    progress: float | None
    worst_status: str | None  # marts.okr_progress: by each key result's current sub-period
    key_results: list[str]
    # The worst overall status of its key results (an objective set per month counts
    # its missed months): what the scorecard shows beside them.
    worst_overall: str | None = None
    # marts.okr_progress's score (0-1, weighted) and its milestones reached of the total;
    # each key result's weight where the file gives one (docs/objectives.md, "OKR scores").
    score: float | None = None
    milestones_reached: int = 0
    milestones_total: int = 0
    weights: dict[str, float] = field(default_factory=dict)

    def score_text(self) -> str:
        """'0.23' (the OKR scale is read as a decimal, not a percentage); '-' without one."""
        return "-" if self.score is None else f"{self.score:.2f}"

    def milestones_text(self) -> str:
        """'2 of 4 milestones reached'; '' when its key results have none."""
        if not self.milestones_total:
            return ""
        return f"{self.milestones_reached} of {self.milestones_total} milestones reached"

    def key_result_text(self, objective_id: str) -> str:
        """A key result's id, with its weight when the file gives one other than 1."""
        weight = self.weights.get(objective_id, 1.0)
        return objective_id if weight == 1.0 else f"{objective_id} (x{weight:g})"


@dataclass(frozen=True)
class FlagLine:
    severity: str
    flag_type: str
    message: str
    objective_id: str | None = None  # None for a KPI's weak signal


@dataclass(frozen=True)
class Scorecard:
    as_of: date | None
    currency: str
    objectives: list[ObjectiveLine]
    okrs: list[OkrLine]
    flags: list[FlagLine]
