"""The check of what an objective aims at: direction, target, baseline and revisions together.

These fields constrain one another (a relative target's sign gives the direction; an
additive metric takes a baseline only as the reference of a relative target), so they
are checked as one unit after each has been read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yaml.nodes import Node

from core.metrics import Metric
from objectives.model import DEFAULT_DIRECTION, DIRECTIONS, ManualMetric, Revision
from objectives.relative_targets import RelativeTargetChecks, Target
from objectives.yaml_nodes import is_null

Fields = dict[str, tuple[Node, Node]]


@dataclass(frozen=True)
class Aim:
    direction: str
    target: Target
    baseline: float | None
    baseline_period: str | None
    revisions: tuple[Revision, ...]


class AimChecks(RelativeTargetChecks):
    """direction, target or target_change, baseline, revisions."""

    def check_aim(
        self,
        node: Node,
        f: Fields,
        subject: str,
        metric_name: str | None,
        metric: Metric | ManualMetric | None,
        period: tuple[date | None, date | None],
    ) -> Aim | None:
        ratio = metric is not None and metric.unit == "ratio"
        before = len(self.problems)
        target: Target | None = None
        if "target" in f and "target_change" in f:
            self.report(
                f["target_change"][1],
                subject,
                "target_change",
                'is given beside target: keep one (target: "+40%" and target_change: 0.40 '
                "say the same)",
            )
        elif "target" in f:
            target = self.check_target(f["target"][1], subject, "target", ratio)
        elif "target_change" in f:
            target = self.check_target_change(f["target_change"][1], subject)
        else:
            self.report(
                node,
                subject,
                "target",
                "is missing: give the value to reach by the end of the period (or of each "
                'sub-period), or a change such as "+40%" relative to the baseline',
            )

        direction = self._direction(f, subject, target)

        baseline = baseline_period = None
        if "baseline" in f and not is_null(f["baseline"][1]):
            read = self.check_baseline(f["baseline"][1], subject, ratio)
            if read is not None:
                baseline, baseline_period = read
                self._check_additive_baseline(f, subject, metric_name, metric, target, read)
        if target is not None and target.value is not None and baseline is not None:
            self._check_against_baseline(
                f["target"][1], subject, "target", direction, target.value, baseline
            )

        revisions: tuple[Revision, ...] = ()
        if "revisions" in f and not is_null(f["revisions"][1]):
            checked = self.check_revisions(f["revisions"][1], subject, ratio, *period)
            revisions = checked or ()
            for revision in revisions:
                if revision.target is not None and baseline is not None:
                    self._check_against_baseline(
                        f["revisions"][1],
                        subject,
                        "revisions",
                        direction,
                        revision.target,
                        baseline,
                    )
        if len(self.problems) > before or target is None:
            return None
        return Aim(direction, target, baseline, baseline_period, revisions)

    def _direction(self, f: Fields, subject: str, target: Target | None) -> str:
        implied = None
        if target is not None and target.change is not None:
            implied = "increase" if target.change > 0 else "decrease"
        if "direction" not in f:
            return implied or DEFAULT_DIRECTION
        direction = self.choice(f["direction"][1], subject, "direction", DIRECTIONS) or ""
        if implied is not None and direction in DIRECTIONS and direction != implied:
            self.report(
                f["direction"][1],
                subject,
                "direction",
                f"{direction} contradicts the target {target.rule} (an {implied}): remove "
                "direction, a relative target's sign gives it",
            )
        return direction

    def _check_additive_baseline(
        self,
        f: Fields,
        subject: str,
        metric_name: str | None,
        metric: Metric | ManualMetric | None,
        target: Target | None,
        read: tuple[float | None, str | None],
    ) -> None:
        if metric is None or not metric.additive or target is None or target.is_relative:
            return
        what = "a baseline period" if read[1] is not None else "a baseline"
        self.report(
            f["baseline"][1],
            subject,
            "baseline",
            f"{metric_name} is counted from 0 at the start of the period, so it takes {what} "
            'only as the reference of a relative target (such as target: "+20%"): remove '
            "it and give the target for the period alone",
        )

    def _check_against_baseline(
        self,
        node: Node,
        subject: str,
        field_name: str,
        direction: str,
        target: float,
        baseline: float,
    ) -> None:
        if direction == "increase" and target < baseline:
            self.report(
                node,
                subject,
                field_name,
                f"{target:g} is below the baseline {baseline:g} while direction is "
                "increase: add 'direction: decrease' if the metric should go down",
            )
        elif direction == "decrease" and target > baseline:
            self.report(
                node,
                subject,
                field_name,
                f"{target:g} is above the baseline {baseline:g} while direction is "
                "decrease: use 'direction: increase' if the metric should go up",
            )
