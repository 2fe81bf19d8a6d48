"""The checks of what an objective aims at along the way: milestones and pace thresholds.

Both are optional lists or mappings under one objective, checked against its period
and its metric's unit but not against each other.
"""

from __future__ import annotations

from datetime import date

from yaml.nodes import MappingNode, Node, SequenceNode

from objectives.fields import MILESTONE_FIELDS, THRESHOLD_FIELDS
from objectives.model import DEFAULT_AT_RISK, DEFAULT_OFF_TRACK, Milestone
from objectives.values import ValueReader
from objectives.yaml_nodes import kind_of, line_of


class TargetChecks(ValueReader):
    """An objective's milestones and thresholds."""

    def check_milestones(
        self, node: Node, subject: str, ratio: bool, start: date | None, end: date | None
    ) -> tuple[Milestone, ...]:
        if not isinstance(node, SequenceNode):
            self.report(
                node,
                subject,
                "milestones",
                f"must be a list such as [{{date: 2026-03-31, value: 0.62}}], got {kind_of(node)}",
            )
            return ()
        out: list[Milestone] = []
        previous: tuple[date, int] | None = None
        for i, item in enumerate(node.value, start=1):
            name = f"milestones[{i}]"
            if not isinstance(item, MappingNode):
                self.report(
                    item,
                    subject,
                    name,
                    f"must be a mapping such as {{date: 2026-03-31, value: 0.62}}, "
                    f"got {kind_of(item)}",
                )
                continue
            f = self.fields(item, subject, MILESTONE_FIELDS, "a milestone", prefix=f"{name}.")
            for key in MILESTONE_FIELDS:
                if key not in f:
                    self.report(
                        item,
                        subject,
                        f"{name}.{key}",
                        "is missing: a milestone has a date and "
                        "a value, such as {date: 2026-03-31, value: 0.62}",
                    )
            when = self.date_value(f["date"][1], subject, f"{name}.date") if "date" in f else None
            value = (
                self.number(f["value"][1], subject, f"{name}.value", ratio)
                if "value" in f
                else None
            )
            if (
                when is not None and start is not None and end is not None
            ) and not start <= when < end:
                self.report(
                    f["date"][1],
                    subject,
                    f"{name}.date",
                    f"{when.isoformat()} is outside the period {start.isoformat()}.."
                    f"{end.isoformat()}: a milestone lies inside the period, before its "
                    "end (the value at the end is the target)",
                )
                when = None
            if when is not None:
                if previous is not None and when <= previous[0]:
                    self.report(
                        f["date"][1],
                        subject,
                        f"{name}.date",
                        f"{when.isoformat()} is not after the previous milestone's "
                        f"{previous[0].isoformat()} (line {previous[1]}): list milestones in "
                        "increasing date order, one per date",
                    )
                else:
                    previous = (when, line_of(f["date"][1]))
                if value is not None:
                    out.append(Milestone(when, value))
        return tuple(out)

    def check_thresholds(self, node: Node, subject: str) -> tuple[float, float]:
        defaults = (DEFAULT_AT_RISK, DEFAULT_OFF_TRACK)
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                "thresholds",
                f"must be a mapping such as {{at_risk: {DEFAULT_AT_RISK}, off_track: "
                f"{DEFAULT_OFF_TRACK}}}, got {kind_of(node)}",
            )
            return defaults
        f = self.fields(node, subject, THRESHOLD_FIELDS, "thresholds", prefix="thresholds.")
        values = dict(zip(THRESHOLD_FIELDS, defaults, strict=True))
        ok = True
        for key in THRESHOLD_FIELDS:
            if key in f:
                value = self.number(f[key][1], subject, f"thresholds.{key}", metric_value=False)
                if value is None:
                    ok = False
                elif not 0 < value <= 1:
                    self.report(
                        f[key][1],
                        subject,
                        f"thresholds.{key}",
                        f"{value:g} must be a share of the expected pace in (0, 1], such as "
                        f"{defaults[THRESHOLD_FIELDS.index(key)]}"
                        + (
                            f" (write {value / 100:.2f}, not {value:g})" if 1 < value <= 100 else ""
                        ),
                    )
                    ok = False
                else:
                    values[key] = value
        if ok and not values["off_track"] <= values["at_risk"]:
            self.report(
                node,
                subject,
                "thresholds",
                f"off_track ({values['off_track']:g}) must be at most at_risk "
                f"({values['at_risk']:g}): 0 < off_track <= at_risk <= 1, such as "
                f"at_risk {DEFAULT_AT_RISK}, off_track {DEFAULT_OFF_TRACK}",
            )
        return values["at_risk"], values["off_track"]
