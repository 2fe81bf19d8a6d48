"""The check of a cascade: an objective's `split:` parts, and the objectives they become.

A part names one scope (team, owner, segment, region or pipeline) and its `target`, or
its `share` of the parent's target; each is measured as its own objective, with a
generated id (`<parent>--team-enterprise`). For an additive metric the parts add up to
at most the parent's target, and what they leave is one more objective, the
`unassigned` remainder (docs/objectives.md, "Cascades"). Whether a team or owner exists
is known only once the CRM is loaded: a part on an unknown one is `no_data` with its
reason, like any objective's scope.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, SequenceNode

from core.metrics import METRICS
from objectives.fields import SPLIT_SCOPES
from objectives.model import Milestone, Objective
from objectives.problems import Problem
from objectives.values import ValueReader
from objectives.yaml_nodes import kind_of, line_of

UNASSIGNED = "unassigned"
# Targets are floats: a remainder this small (relative to the target) is rounding.
_TOLERANCE = 1e-9
_EXAMPLE = "{team: Enterprise, target: 12} or {owner: 'hubspot:17', share: 0.4}"


@dataclass(frozen=True)
class SplitPart:
    scope_type: str
    scope_value: str
    target: float | None
    share: float | None
    line: int


def part_id(parent_id: str, scope_type: str, scope_value: str) -> str:
    """`<parent>--<scope type>-<value in lower case, other characters as '-'>`."""
    slug = re.sub(r"[^a-z0-9]+", "-", scope_value.lower()).strip("-") or "x"
    return f"{parent_id}--{scope_type}-{slug}"


class SplitChecks(ValueReader):
    """An objective's split parts."""

    def check_split(
        self, node: Node, subject: str, metric_name: str | None, parent_scope: str
    ) -> tuple[SplitPart, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            got = "an empty list" if isinstance(node, SequenceNode) else kind_of(node)
            self.report(
                node,
                subject,
                "split",
                f"must be a non-empty list of parts such as [{_EXAMPLE}], got {got}",
            )
            return ()
        metric = METRICS.get(metric_name) if metric_name else None
        allowed = tuple(s for s in SPLIT_SCOPES if metric is None or s in metric.scopes)
        ratio = metric is not None and metric.unit == "ratio"
        parts: list[SplitPart] = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(node.value, start=1):
            name = f"split[{i}]"
            if not isinstance(item, MappingNode):
                self.report(
                    item,
                    subject,
                    name,
                    f"must be a mapping such as {_EXAMPLE}, got {kind_of(item)}",
                )
                continue
            known = len(self.problems)
            f = self.fields(
                item, subject, (*allowed, "target", "share"), "a split part", f"{name}."
            )
            if len(self.problems) > known:
                continue  # an unknown or doubled field: the rest may be its typo
            scopes = [k for k in f if k in allowed]
            if len(scopes) != 1:
                self.report(
                    item,
                    subject,
                    name,
                    f"names {'no scope' if not scopes else ' and '.join(scopes)}: a part names "
                    f"exactly one of {', '.join(allowed)}, such as {_EXAMPLE}",
                )
                continue
            scope_type = scopes[0]
            value = self.text(f[scope_type][1], subject, f"{name}.{scope_type}")
            if ("target" in f) == ("share" in f):
                self.report(
                    item,
                    subject,
                    name,
                    "gives both target and share: give one"
                    if "target" in f
                    else "gives neither target nor share: give its target, or its share of the "
                    "parent's target (0 < share <= 1)",
                )
                continue
            target = share = None
            if "target" in f:
                target = self.number(f["target"][1], subject, f"{name}.target", ratio)
            elif metric is not None and not metric.additive:
                self.report(
                    f["share"][1],
                    subject,
                    f"{name}.share",
                    f"{metric_name} is a level, not a total: its parts do not add up to it, "
                    "so a part gives its own target instead of a share",
                )
            else:
                share = self.number(f["share"][1], subject, f"{name}.share", metric_value=False)
                if share is not None and not 0 < share <= 1:
                    self.report(
                        f["share"][1],
                        subject,
                        f"{name}.share",
                        f"{share:g} must be a share of the parent's target in (0, 1], such as "
                        "0.4 for 40 %" + (f" (write {share / 100:g})" if 1 < share <= 100 else ""),
                    )
                    share = None
            if value is None or (target is None and share is None):
                continue
            if scope_type == parent_scope:
                self.report(
                    f[scope_type][1],
                    subject,
                    f"{name}.{scope_type}",
                    f"the objective is itself for one {scope_type}: split it by another scope",
                )
                continue
            key = (scope_type, value)
            if key in seen:
                self.report(
                    f[scope_type][1],
                    subject,
                    f"{name}.{scope_type}",
                    f"{scope_type} '{value}' already has a part (line {seen[key]}): keep one",
                )
                continue
            seen[key] = line_of(item)
            parts.append(SplitPart(scope_type, value, target, share, line_of(item)))
        types = sorted({p.scope_type for p in parts})
        if len(types) > 1:
            self.report(
                node,
                subject,
                "split",
                f"mixes {' and '.join(types)}: the parts of one split are all of one scope "
                "(all teams, or all owners...), so that they do not overlap",
            )
            return ()
        return tuple(parts)

    def check_split_total(
        self, node: Node, subject: str, parts: tuple[SplitPart, ...], target: float, additive: bool
    ) -> None:
        """For a total, the parts add up to at most the parent's target (shares to 1)."""
        if not additive or not parts:
            return
        shares = sum(p.share or 0 for p in parts)
        if shares > 1 + _TOLERANCE:
            self.report(
                node,
                subject,
                "split",
                f"the parts' shares add up to {shares:g}, more than 1: lower them so that "
                "they add up to 1 at most (the rest is unassigned)",
            )
            return
        total = sum(p.target if p.target is not None else (p.share or 0) * target for p in parts)
        if total > target * (1 + _TOLERANCE):
            self.report(
                node,
                subject,
                "split",
                f"the parts' targets add up to {total:g}, above the objective's target "
                f"{target:g}: lower them, or raise the target",
            )

    def split_objectives(
        self, parent: Objective, parts: tuple[SplitPart, ...], declared: dict[str, int]
    ) -> list[Objective]:
        """The objectives a split becomes: one per part, then the unassigned remainder
        (a total only, when the parts leave some of the target)."""
        if not parts:
            return []
        additive = METRICS[parent.metric].additive
        out: list[Objective] = []
        assigned = 0.0
        for p in parts:
            target = p.target if p.target is not None else (p.share or 0) * parent.target
            assigned += target
            out.append(
                _child(
                    parent,
                    part_id(parent.id, p.scope_type, p.scope_value),
                    f"{parent.title} · {p.scope_type} {p.scope_value}",
                    (p.scope_type, p.scope_value),
                    target,
                    "part",
                    p.share,
                    additive,
                )
            )
        rest = parent.target - assigned
        if additive and rest > _TOLERANCE * max(1.0, parent.target):
            out.append(
                _child(
                    parent,
                    f"{parent.id}--{UNASSIGNED}",
                    f"{parent.title} · {UNASSIGNED}",
                    (parent.scope_type, parent.scope_value),
                    rest,
                    UNASSIGNED,
                    None,
                    additive,
                )
            )
        for child in out:
            if child.id in declared:
                self.problems.append(
                    Problem(
                        declared[child.id],
                        f"objective '{parent.id}'",
                        "split",
                        f"makes objective '{child.id}', an id the objective on line "
                        f"{declared[child.id]} already has: rename that one",
                    )
                )
            else:
                declared[child.id] = declared.get(parent.id, 0)
        return out


def _child(
    parent: Objective,
    objective_id: str,
    title: str,
    scope: tuple[str, str],
    target: float,
    kind: str,
    share: float | None,
    additive: bool,
) -> Objective:
    # A total's milestones scale with the part's target; a level's part has its own
    # target and no milestones (the parent's path says nothing of one team's).
    ratio = target / parent.target if parent.target else 0.0
    milestones = (
        tuple(Milestone(m.date, m.value * ratio) for m in parent.milestones) if additive else ()
    )
    return dataclasses.replace(
        parent,
        id=objective_id,
        title=title,
        scope_type=scope[0],
        scope_value=scope[1],
        target=target,
        baseline=parent.baseline if additive else None,
        milestones=milestones,
        parent_id=parent.id,
        part_kind=kind,
        share=share,
    )
