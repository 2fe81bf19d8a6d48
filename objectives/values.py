"""The value checks every part of an objectives file shares.

`ValueReader` holds the checker's state (the file, the fiscal year, the YAML loader,
the problems found so far) and reads one node as text, a choice, a number or a date,
reporting what is wrong instead of raising. The objective, target and file checks
build on it, so a problem is recorded the same way wherever it is found.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from objectives.fields import ID_PATTERN
from objectives.model import ManualMetric
from objectives.problems import Problem
from objectives.yaml_nodes import MERGE_TAG, NULL_TAG, is_null, kind_of, line_of, lookup, suggest

_NUMBER_TEXT = re.compile(r"[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_PERCENT_TEXT = re.compile(r"\s*([-+]?\d+(\.\d*)?)\s*%\s*")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ValueReader:
    """The checker's state and its readers of single values."""

    path: Path
    fiscal_year_start: int
    loader: yaml.SafeLoader
    problems: list[Problem] = field(default_factory=list)
    # Mappings already flattened: an alias (`- *anchor`) brings the same node back, and
    # its merged keys must not then look like keys given twice.
    flattened: set[int] = field(default_factory=set)
    # The file's manual metrics by id, read before its objectives, which may name them.
    manual_metrics: dict[str, ManualMetric] = field(default_factory=dict)

    def report(
        self, node: Node | None, subject: str | None, field_name: str | None, message: str
    ) -> None:
        self.problems.append(
            Problem(line_of(node) if node is not None else None, subject, field_name, message)
        )

    def construct(self, node: ScalarNode) -> Any:
        return self.loader.construct_object(node, deep=True)

    def fields(
        self,
        node: MappingNode,
        subject: str | None,
        allowed: tuple[str, ...],
        what: str,
        prefix: str = "",
    ) -> dict[str, tuple[Node, Node]]:
        """The mapping's entries by key (key node, value node); reports unknown, duplicate
        and non-text keys. YAML merge keys (`<<: *defaults`) are honoured."""
        seen: dict[str, Node] = {}
        for key_node, _ in node.value if id(node) not in self.flattened else ():
            if key_node.tag == MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            if key_node.value in seen:
                self.report(
                    key_node,
                    subject,
                    prefix + key_node.value,
                    f"is given twice (also on line {line_of(seen[key_node.value])}): keep one",
                )
            seen[key_node.value] = key_node
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            self.report(node, subject, None, f"cannot merge: {exc.problem}")
        self.flattened.add(id(node))
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == NULL_TAG:
                self.report(
                    key_node, subject, None, f"a key must be a field name, got {kind_of(key_node)}"
                )
                continue
            key = key_node.value
            if key not in allowed:
                self.report(
                    key_node,
                    subject,
                    prefix + key,
                    f"unknown field{suggest(key, allowed)}; the fields of {what} are "
                    f"{', '.join(allowed)}",
                )
                continue
            out[key] = (key_node, value_node)
        return out

    # -- scalar values -----------------------------------------------------------------

    def text(self, node: Node, subject: str | None, field_name: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.report(node, subject, field_name, f"must be text, got {kind_of(node)}")
            return None
        # The text as written: `team: 007` is the team "007", not the number 7.
        value = node.value.strip()
        if node.tag == NULL_TAG or not value:
            self.report(node, subject, field_name, "is empty: give a value")
            return None
        return value

    def choice(
        self, node: Node, subject: str | None, field_name: str, allowed: tuple[str, ...]
    ) -> str | None:
        value = self.text(node, subject, field_name)
        if value is None:
            return None
        if value.lower() not in allowed:
            self.report(
                node,
                subject,
                field_name,
                f"'{value}' is not allowed{suggest(value.lower(), allowed)}; use one of "
                f"{', '.join(allowed)}",
            )
            return None
        return value.lower()

    def number(
        self,
        node: Node,
        subject: str | None,
        field_name: str,
        ratio: bool = False,
        metric_value: bool = True,
    ) -> float | None:
        """A finite number. A `metric_value` is >= 0 (every metric is), and a `ratio`
        metric's value is also <= 1."""
        example = "such as 0.70 for 70 %" if ratio else "such as 20 or 1500.50"
        if not isinstance(node, ScalarNode):
            self.report(
                node, subject, field_name, f"must be a number {example}, got {kind_of(node)}"
            )
            return None
        if node.tag == NULL_TAG:
            self.report(node, subject, field_name, f"is empty: give a number {example}")
            return None
        try:
            value = self.construct(node)
        except (ValueError, yaml.YAMLError):
            value = node.value
        if isinstance(value, str):
            percent = _PERCENT_TEXT.fullmatch(value)
            if percent and ratio:
                share = float(percent.group(1)) / 100
                self.report(
                    node,
                    subject,
                    field_name,
                    f"'{value}' is a percentage: write shares as decimals, {share:g}, "
                    f"not {value.strip()}",
                )
                return None
            if _NUMBER_TEXT.fullmatch(value.strip()):
                value = float(value.strip().replace("_", ""))
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(
                node, subject, field_name, f"must be a number {example}, got {kind_of(node)}"
            )
            return None
        value = float(value)
        if not math.isfinite(value):
            self.report(node, subject, field_name, f"must be a finite number {example}")
            return None
        if metric_value and value < 0:
            self.report(
                node,
                subject,
                field_name,
                f"{value:g} is negative: every metric is 0 or more "
                "(use direction: decrease for a value that should go down)",
            )
            return None
        if ratio and value > 1:
            hint = f"write {value / 100:.2f}, not {value:g}" if value <= 100 else "0 to 1"
            self.report(
                node,
                subject,
                field_name,
                f"{value:g} is outside [0, 1]: this metric is a ratio, so {hint}",
            )
            return None
        return value

    def date_value(self, node: Node, subject: str | None, field_name: str) -> date | None:
        example = "a date written YYYY-MM-DD, such as 2026-03-01"
        if not isinstance(node, ScalarNode):
            self.report(node, subject, field_name, f"must be {example}, got {kind_of(node)}")
            return None
        if node.tag == NULL_TAG:
            self.report(node, subject, field_name, f"is empty: give {example}")
            return None
        try:
            value = self.construct(node)
        except (ValueError, yaml.YAMLError) as exc:
            # PyYAML resolves 2026-02-30 as a date, then datetime rejects it.
            self.report(node, subject, field_name, f"'{node.value}' is not a valid date: {exc}")
            return None
        if isinstance(value, datetime):
            self.report(
                node, subject, field_name, f"'{node.value}' has a time of day: give {example}"
            )
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError as exc:
                self.report(node, subject, field_name, f"'{value}' is not a valid date: {exc}")
                return None
        self.report(node, subject, field_name, f"must be {example}, got {kind_of(node)}")
        return None

    def list_of(self, entry: tuple[Node, Node] | None, name: str) -> list[Node]:
        if entry is None or is_null(entry[1]):
            return []
        if not isinstance(entry[1], SequenceNode):
            self.report(
                entry[1],
                None,
                name,
                f"must be a list (each item starting with '- '), got {kind_of(entry[1])}",
            )
            return []
        return list(entry[1].value)

    def identify(
        self, node: Node, position: int, kind: str, seen: dict[str, int]
    ) -> tuple[str, str | None]:
        """The subject naming this objective/OKR in messages, and its id if well formed.

        A missing id is reported with the other missing fields, not here."""
        subject = f"{kind} #{position}"
        value_node = lookup(node, "id") if isinstance(node, MappingNode) else None
        if value_node is None:
            return subject, None
        if not isinstance(value_node, ScalarNode) or is_null(value_node):
            self.report(
                value_node,
                subject,
                "id",
                "must be a name of lower-case letters, digits and '-', such as "
                f"new-logos-monthly, got {kind_of(value_node)}",
            )
            return subject, None
        raw = value_node.value.strip()
        # An id merged in from an anchor is reported on the line of this entry.
        inside = node.start_mark.index <= value_node.start_mark.index <= node.end_mark.index
        where = value_node if inside else node
        if not ID_PATTERN.fullmatch(raw):
            subject = f"{subject} (id '{raw}')"
            hint = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
            self.report(
                where,
                subject,
                "id",
                "may hold only lower-case letters, digits and '-' (pattern [a-z0-9-]+)"
                + (f", for example '{hint}'" if hint else ""),
            )
            return subject, None
        if raw in seen:
            # The position tells this one from the first holder of the id.
            subject = f"{subject} (id '{raw}')"
            self.report(
                where,
                subject,
                "id",
                f"is already used by the {kind} on line {seen[raw]}: ids must be unique",
            )
            return subject, None
        seen[raw] = line_of(node)
        return f"{kind} '{raw}'", raw
