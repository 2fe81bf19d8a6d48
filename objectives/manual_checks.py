"""The check of the file's `manual_metrics:` list: metrics no CRM holds, whose values come
from the file CRM_KPI_MANUAL_METRICS names (objectives/manual_values.py reads it).

They are read before the objectives, which may name them as their metric.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.metrics import DEAL_SCOPES, METRICS
from objectives.fields import (
    AGGREGATIONS,
    MANUAL_METRIC_FIELDS,
    MANUAL_METRIC_ID_PATTERN,
    MANUAL_UNIT_WORD,
    MANUAL_UNITS,
    REQUIRED_MANUAL_METRIC_FIELDS,
)
from objectives.model import ManualMetric
from objectives.values import ValueReader
from objectives.yaml_nodes import is_null, kind_of, line_of, lookup

_EXAMPLE = "{id: patents_filed, title: Patents filed, unit: patents, aggregation: sum}"


class ManualMetricChecks(ValueReader):
    """One entry of `manual_metrics:`."""

    def check_manual_metric(
        self, node: Node, position: int, seen: dict[str, int]
    ) -> ManualMetric | None:
        before = len(self.problems)
        subject = f"manual metric #{position}"
        if not isinstance(node, MappingNode):
            self.report(node, subject, None, f"must be a mapping such as {_EXAMPLE}")
            return None
        id_node = lookup(node, "id")
        metric_id = None
        if id_node is not None and isinstance(id_node, ScalarNode) and not is_null(id_node):
            raw = id_node.value.strip()
            subject = f"manual metric '{raw}'"
            if not MANUAL_METRIC_ID_PATTERN.fullmatch(raw):
                self.report(
                    id_node,
                    subject,
                    "id",
                    "may hold only lower-case letters, digits and '_', starting with a "
                    "letter (pattern [a-z][a-z0-9_]*), such as patents_filed",
                )
            elif raw in METRICS:
                self.report(
                    id_node,
                    subject,
                    "id",
                    f"'{raw}' is a metric crm-kpi computes from the CRM: give the manual "
                    "metric another name",
                )
            elif raw in seen:
                self.report(
                    id_node,
                    subject,
                    "id",
                    f"is already used by the manual metric on line {seen[raw]}: ids must be unique",
                )
            else:
                seen[raw] = line_of(node)
                metric_id = raw
        elif id_node is not None:
            self.report(
                id_node,
                subject,
                "id",
                f"must be a name such as patents_filed, got {kind_of(id_node)}",
            )
        f = self.fields(node, subject, MANUAL_METRIC_FIELDS, "a manual metric")
        for name in REQUIRED_MANUAL_METRIC_FIELDS:
            if name not in f:
                self.report(node, subject, name, f"is missing: {_REQUIRED_HELP[name]}")
        title = metric_id or ""
        if "title" in f:
            title = self.text(f["title"][1], subject, "title") or title
        unit = None
        if "unit" in f:
            unit = self.text(f["unit"][1], subject, "unit")
            if unit is not None:
                unit = unit.lower()
                if unit not in MANUAL_UNITS and not MANUAL_UNIT_WORD.fullmatch(unit):
                    self.report(
                        f["unit"][1],
                        subject,
                        "unit",
                        f"'{unit}' is not a unit: use one of {', '.join(MANUAL_UNITS)}, or "
                        "a word of at most 30 letters for what is counted, such as patents",
                    )
                    unit = None
        aggregation = None
        if "aggregation" in f:
            aggregation = self.choice(f["aggregation"][1], subject, "aggregation", AGGREGATIONS)
        scopes: tuple[str, ...] = ("company",)
        if "scopes" in f and not is_null(f["scopes"][1]):
            scopes = self.check_manual_scopes(f["scopes"][1], subject)
        if len(self.problems) > before:
            return None
        assert metric_id and unit and aggregation
        return ManualMetric(metric_id, title, unit, aggregation, scopes)

    def check_manual_scopes(self, node: Node, subject: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            self.report(
                node,
                subject,
                "scopes",
                f"must be a non-empty list of scope types among {', '.join(DEAL_SCOPES)}, "
                f"such as [company, team], got {kind_of(node)}",
            )
            return ("company",)
        out: list[str] = []
        for i, item in enumerate(node.value, start=1):
            scope = self.choice(item, subject, f"scopes[{i}]", DEAL_SCOPES)
            if scope is not None and scope in out:
                self.report(item, subject, f"scopes[{i}]", f"lists '{scope}' twice: keep one")
            elif scope is not None:
                out.append(scope)
        return tuple(out)

    def check_manual_scope(
        self, node: Node, subject: str, metric: ManualMetric
    ) -> tuple[str, str] | None:
        """An objective's scope on a manual metric: one of the scope types it declares."""
        allowed = tuple(s for s in metric.scopes if s != "company")
        if not allowed:
            self.report(
                node,
                subject,
                "scope",
                f"{metric.id} has values for the whole company only: leave scope out, or "
                "list the scope types it has values for under its scopes (such as "
                "[company, team]) in manual_metrics",
            )
            return None
        key_node = node.value[0][0] if isinstance(node, MappingNode) and node.value else None
        if len(getattr(node, "value", ())) != 1 or not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                "scope",
                f"must be a mapping with exactly one key among {', '.join(allowed)}, such as "
                f"{{{allowed[0]}: ...}}; leave scope out for the whole company",
            )
            return None
        key = key_node.value.strip().lower() if isinstance(key_node, ScalarNode) else ""
        if key not in allowed:
            self.report(
                key_node,
                subject,
                "scope",
                f"'{key}' is not a scope of {metric.id}, whose values are given by "
                f"{', '.join(metric.scopes)} (its scopes in manual_metrics); use one of "
                f"{', '.join(allowed)}",
            )
            return None
        value = self.text(node.value[0][1], subject, f"scope.{key}")
        return (key, value) if value is not None else None


_REQUIRED_HELP = {
    "id": "give a unique name of lower-case letters, digits and '_', such as patents_filed",
    "unit": f"give one of {', '.join(MANUAL_UNITS)}, or a word for what is counted (patents)",
    "aggregation": "give sum (a total over the period), last (the latest value, a level) or "
    "mean (the mean of the values in the period)",
}
