"""The checks of how an objective states its target: absolute, relative, or revised later.

A relative target (`target: "+40%"`, or `target_change: 0.40`) is kept as the change and
resolved in the warehouse against a reference value (docs/objectives.md, "Relative
targets and revisions"), because that value is often a measure of the CRM data, which
this file check never sees. A revision sets the target that holds from a date on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from objectives.fields import BASELINE_FIELDS, REVISION_FIELDS
from objectives.model import BASELINE_PERIODS, Revision
from objectives.values import ValueReader
from objectives.yaml_nodes import NULL_TAG, is_null, kind_of, line_of

_RELATIVE_TEXT = re.compile(r"\s*([-+])\s*(\d+(?:\.\d*)?|\.\d+)\s*%\s*")
# A plain `+40` or `-25`: YAML reads the first as the number 40, so the sign is lost.
_SIGNED_NUMBER_TEXT = re.compile(r"\s*[-+]\s*(\d+(?:\.\d*)?|\.\d+)\s*")


def rule_of(change: float) -> str:
    """The change written as a rule, the way the scorecard and the marts show it."""
    return f"{change * 100:+.10g}%"


@dataclass(frozen=True)
class Target:
    """One target as written: an absolute value, or a change relative to the reference."""

    value: float | None
    change: float | None
    rule: str | None

    @property
    def is_relative(self) -> bool:
        return self.change is not None


class RelativeTargetChecks(ValueReader):
    """An objective's target, target_change, baseline and revisions."""

    def check_target(self, node: Node, subject: str, field_name: str, ratio: bool) -> Target | None:
        """A number, or a signed percentage such as "+40%" or "-25%" (relative)."""
        if isinstance(node, ScalarNode) and node.tag != NULL_TAG:
            relative = _RELATIVE_TEXT.fullmatch(node.value)
            if relative:
                sign, digits = relative.groups()
                change = float(digits) / 100 * (-1 if sign == "-" else 1)
                return self._checked_change(node, subject, field_name, change)
            if _SIGNED_NUMBER_TEXT.fullmatch(node.value):
                written = node.value.strip()
                self.report(
                    node,
                    subject,
                    field_name,
                    f"'{written}' has a sign but no '%': write \"{written}%\" (quoted) for a "
                    f"target relative to the baseline, or {written.lstrip('+-').strip()} for "
                    "an absolute one",
                )
                return None
        value = self.number(node, subject, field_name, ratio)
        return None if value is None else Target(value, None, None)

    def check_target_change(self, node: Node, subject: str) -> Target | None:
        """The typed form of a relative target: 0.40 for +40 %, -0.25 for -25 %."""
        change = self.number(node, subject, "target_change", metric_value=False)
        if change is None:
            return None
        return self._checked_change(node, subject, "target_change", change)

    def _checked_change(
        self, node: Node, subject: str, field_name: str, change: float
    ) -> Target | None:
        if change == 0:
            self.report(
                node,
                subject,
                field_name,
                "a change of 0 % keeps the baseline: give the change to reach, such as "
                '"+40%", or an absolute target',
            )
            return None
        if change < -1:
            self.report(
                node,
                subject,
                field_name,
                f"{rule_of(change)} would aim below zero: a decrease is at most -100%",
            )
            return None
        return Target(None, change, rule_of(change))

    def check_baseline(
        self, node: Node, subject: str, ratio: bool
    ) -> tuple[float | None, str | None] | None:
        """A number, or `{period: prior_period | same_last_year}`: (value, period)."""
        if not isinstance(node, MappingNode):
            value = self.number(node, subject, "baseline", ratio)
            return None if value is None else (value, None)
        f = self.fields(node, subject, BASELINE_FIELDS, "a baseline", prefix="baseline.")
        if "period" not in f:
            if len(f) < len(node.value):  # an unknown key, reported already, stood for it
                return None
            self.report(
                node,
                subject,
                "baseline.period",
                "is missing: a baseline is a number, or {period: same_last_year} "
                "(or prior_period) to measure it",
            )
            return None
        period = self.choice(f["period"][1], subject, "baseline.period", BASELINE_PERIODS)
        return None if period is None else (None, period)

    def check_revisions(
        self, node: Node, subject: str, ratio: bool, start: date | None, end: date | None
    ) -> tuple[Revision, ...] | None:
        """Dated targets in increasing date order, each inside (start, end]."""
        example = '{from: 2026-05-01, target: 150000, reason: "market downturn"}'
        if not isinstance(node, SequenceNode):
            self.report(
                node,
                subject,
                "revisions",
                f"must be a list such as [{example}], got {kind_of(node)}",
            )
            return None
        out: list[Revision] = []
        ok = True
        previous: tuple[date, int] | None = None
        for i, item in enumerate(node.value, start=1):
            name = f"revisions[{i}]"
            if not isinstance(item, MappingNode):
                self.report(
                    item, subject, name, f"must be a mapping such as {example}, got {kind_of(item)}"
                )
                ok = False
                continue
            f = self.fields(item, subject, REVISION_FIELDS, "a revision", prefix=f"{name}.")
            for key in ("from", "target"):
                if key not in f:
                    self.report(
                        item,
                        subject,
                        f"{name}.{key}",
                        f"is missing: a revision has a date "
                        f"it holds from and a target, such as {example}",
                    )
                    ok = False
            when = self.date_value(f["from"][1], subject, f"{name}.from") if "from" in f else None
            target = (
                self.check_target(f["target"][1], subject, f"{name}.target", ratio)
                if "target" in f
                else None
            )
            reason = None
            if "reason" in f and not is_null(f["reason"][1]):
                reason = self.text(f["reason"][1], subject, f"{name}.reason")
            if when is None or target is None:
                ok = False
                continue
            if start is not None and end is not None and not start < when <= end:
                self.report(
                    f["from"][1],
                    subject,
                    f"{name}.from",
                    f"{when.isoformat()} is outside the period {start.isoformat()}.."
                    f"{end.isoformat()}: a revision takes effect after the start and at the "
                    "latest on the last day (the target before it is the original one)",
                )
                ok = False
                continue
            if previous is not None and when <= previous[0]:
                self.report(
                    f["from"][1],
                    subject,
                    f"{name}.from",
                    f"{when.isoformat()} is not after the previous revision's "
                    f"{previous[0].isoformat()} (line {previous[1]}): list revisions in "
                    "increasing date order, one per date",
                )
                ok = False
                continue
            previous = (when, line_of(f["from"][1]))
            out.append(Revision(when, target.value, target.change, target.rule, reason))
        return tuple(out) if ok else None
