"""The check of the whole file: its top level, each objective, then the OKRs that group them.

OKRs come last because their key results name objective ids, which must all be known.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

from objectives.fields import (
    KEY_RESULT_FIELDS,
    OKR_FIELDS,
    REQUIRED_OKR_FIELDS,
    TOP_LEVEL_FIELDS,
)
from objectives.manual_checks import ManualMetricChecks
from objectives.model import OKR, ManualMetric, Objective, ObjectivesFile
from objectives.objective_checks import ObjectiveChecks
from objectives.split_checks import SplitPart
from objectives.yaml_nodes import is_null, kind_of, suggest


class FileChecker(ObjectiveChecks, ManualMetricChecks):
    """An objectives file, from its root node to an `ObjectivesFile`."""

    def check_file(self, root: Node | None) -> ObjectivesFile:
        if root is None or is_null(root):
            return ObjectivesFile(self.path)
        if not isinstance(root, MappingNode):
            self.report(
                root,
                None,
                None,
                f"the top level must be a mapping with the keys {' and '.join(TOP_LEVEL_FIELDS)} "
                f"(objectives: a list of objectives), got {kind_of(root)}",
            )
            return ObjectivesFile(self.path)
        top = self.fields(root, None, TOP_LEVEL_FIELDS, "the file")
        objective_nodes = self.list_of(top.get("objectives"), "objectives")
        okr_nodes = self.list_of(top.get("okrs"), "okrs")
        manual = self.check_manual_metrics(top)

        objectives: list[Objective] = []
        declared: dict[str, int] = {}  # every well-formed id, even of a faulty objective
        splits: dict[str, tuple[SplitPart, ...]] = {}
        for position, node in enumerate(objective_nodes, start=1):
            objective = self.check_objective(node, position, declared, splits)
            if objective is not None:
                objectives.append(objective)
        # A cascade's parts follow their parent, once every written id is known.
        objectives = [
            child
            for objective in objectives
            for child in (
                objective,
                *self.split_objectives(objective, splits.get(objective.id, ()), declared),
            )
        ]

        okrs: list[OKR] = []
        okr_lines: dict[str, int] = {}
        for position, node in enumerate(okr_nodes, start=1):
            okr = self.check_okr(node, position, declared, okr_lines)
            if okr is not None:
                okrs.append(okr)
        return ObjectivesFile(self.path, tuple(objectives), tuple(okrs), manual)

    def check_manual_metrics(self, top: dict) -> tuple[ManualMetric, ...]:
        """The manual metrics, read first: objectives may name them."""
        found: list[ManualMetric] = []
        seen: dict[str, int] = {}
        for position, node in enumerate(
            self.list_of(top.get("manual_metrics"), "manual_metrics"), 1
        ):
            metric = self.check_manual_metric(node, position, seen)
            if metric is not None:
                found.append(metric)
                self.manual_metrics[metric.id] = metric
        return tuple(found)

    def check_okr(
        self, node: Node, position: int, objectives: dict[str, int], seen: dict[str, int]
    ) -> OKR | None:
        before = len(self.problems)
        subject, okr_id = self.identify(node, position, "OKR", seen)
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                None,
                f"must be a mapping with id, title and key_results, got {kind_of(node)}",
            )
            return None
        f = self.fields(node, subject, OKR_FIELDS, "an OKR")
        for name in REQUIRED_OKR_FIELDS:
            if name not in f:
                self.report(
                    node,
                    subject,
                    name,
                    "is missing: an OKR needs an id and key_results, the list of the ids of "
                    "the objectives that measure it",
                )
        title = okr_id or ""
        if "title" in f:
            title = self.text(f["title"][1], subject, "title") or title
        key_results: list[str] = []
        weights: list[float] = []
        if "key_results" in f:
            kr_node = f["key_results"][1]
            if not isinstance(kr_node, SequenceNode) or not kr_node.value:
                got = "an empty list" if isinstance(kr_node, SequenceNode) else kind_of(kr_node)
                self.report(
                    kr_node,
                    subject,
                    "key_results",
                    "must be a non-empty list of objective ids, such as "
                    f"[new-logos-monthly, win-rate-h1], got {got}",
                )
            else:
                known = sorted(objectives)
                for i, item in enumerate(kr_node.value, start=1):
                    name = f"key_results[{i}]"
                    weighted = isinstance(item, MappingNode)
                    ref, weight, item = self.key_result(item, subject, name)
                    name += ".objective" if weighted else ""
                    if ref is None:
                        continue
                    if ref not in objectives:
                        self.report(
                            item,
                            subject,
                            name,
                            f"names unknown objective '{ref}'{suggest(ref, known)}; the "
                            f"objectives of this file are {', '.join(known) or '(none)'}",
                        )
                    elif ref in key_results:
                        self.report(item, subject, name, f"lists '{ref}' twice: keep one")
                    else:
                        key_results.append(ref)
                        weights.append(weight)
        if len(self.problems) > before:
            return None
        assert okr_id
        given = any(w != 1.0 for w in weights)
        return OKR(okr_id, title, tuple(key_results), tuple(weights) if given else ())

    def key_result(self, item: Node, subject: str, name: str) -> tuple[str | None, float, Node]:
        """A key result: an objective id, or `{objective: id, weight: 2}`; its id, its
        weight (1 when not given) and the node naming the objective."""
        if not isinstance(item, MappingNode):
            return self.text(item, subject, name), 1.0, item
        f = self.fields(item, subject, KEY_RESULT_FIELDS, "a key result", prefix=f"{name}.")
        if "objective" not in f:
            self.report(
                item,
                subject,
                f"{name}.objective",
                "is missing: a weighted key result names its objective, such as "
                "{objective: new-logos-monthly, weight: 2}",
            )
            return None, 1.0, item
        weight = 1.0
        if "weight" in f:
            value = self.number(f["weight"][1], subject, f"{name}.weight", metric_value=False)
            if value is not None and value <= 0:
                self.report(
                    f["weight"][1],
                    subject,
                    f"{name}.weight",
                    f"{value:g} must be a positive number, such as 2 (a key result counting "
                    "twice as much as one without a weight, which weighs 1)",
                )
            elif value is not None:
                weight = value
        node = f["objective"][1]
        return self.text(node, subject, f"{name}.objective"), weight, node
