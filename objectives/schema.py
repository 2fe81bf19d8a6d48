"""Reading and validating `objectives.yml` (DESIGN.md, "Objectives").

The file is parsed with PyYAML's safe loader down to its node tree, so every problem
can say the line it is on; values are then checked field by field and every problem
found is reported at once, each naming the file, the line, the objective (or OKR) and
the field, and saying what is allowed. Nothing downstream runs on a file with a problem.
"""

from __future__ import annotations

import calendar
import difflib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.calendar import PERIOD_GRAINS, grain_end, grain_start
from core.metrics import METRICS

GRAINS = PERIOD_GRAINS
DIRECTIONS = ("increase", "decrease")
DEFAULT_DIRECTION = "increase"
DEFAULT_AT_RISK = 0.95
DEFAULT_OFF_TRACK = 0.8
COMPANY_SCOPE = ("company", "all")

ID_PATTERN = re.compile(r"[a-z0-9-]+")
TOP_LEVEL_FIELDS = ("objectives", "okrs")
OBJECTIVE_FIELDS = (
    "id",
    "title",
    "metric",
    "scope",
    "period",
    "grain",
    "direction",
    "target",
    "baseline",
    "milestones",
    "thresholds",
)
REQUIRED_OBJECTIVE_FIELDS = ("id", "metric", "period", "target")
PERIOD_FIELDS = ("start", "end")
MILESTONE_FIELDS = ("date", "value")
THRESHOLD_FIELDS = ("at_risk", "off_track")
OKR_FIELDS = ("id", "title", "key_results")
REQUIRED_OKR_FIELDS = ("id", "key_results")

# churn_rate is the mean of the complete months in the period and ltv its last complete
# month (DESIGN.md, objective_progress): a (sub-)period holding no whole calendar month
# would never have an actual value.
MONTH_MEASURED_METRICS = frozenset({"churn_rate", "ltv"})

_NUMBER_TEXT = re.compile(r"[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_PERCENT_TEXT = re.compile(r"\s*([-+]?\d+(\.\d*)?)\s*%\s*")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


# -- the validated model ---------------------------------------------------------------


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


@dataclass(frozen=True)
class OKR:
    id: str
    title: str
    key_results: tuple[str, ...]  # objective ids, in the file's order


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


# -- problems and the error ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based
    subject: str | None  # "objective 'win-rate-h1'", "objective #3", "OKR 'sme-market'"
    field: str | None  # "target", "period.start", "milestones[2].value"
    message: str
    column: int | None = None  # 1-based; YAML syntax errors only

    def render(self, path: Path) -> str:
        where = [str(path)]
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.subject:
            where.append(self.subject)
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}"


class ObjectivesFileError(ValueError):
    """The objectives file cannot be used; the message lists every problem found."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"- {p.render(path)}" for p in problems)
        super().__init__(
            f"The objectives file {path} has {len(problems)} problem(s); no objective was "
            f"loaded. Fix them and run again (the shipped objectives.yml shows every field "
            f"with comments; docs/objectives.md has the rules):\n{lines}"
        )


class ObjectivesFileMissingError(ObjectivesFileError):
    """The file does not exist; a caller may accept that for the default path."""


# -- helpers ---------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "empty"
    return repr(node.value)


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _lookup(node: MappingNode, key: str) -> Node | None:
    """The value of `key` in a mapping not flattened yet: its own entry (the last one)
    first, else the first merged mapping (`<<: *anchor`) that has it."""
    found = None
    for key_node, value_node in node.value:
        if (
            isinstance(key_node, ScalarNode)
            and key_node.tag != _MERGE_TAG
            and key_node.value == key
        ):
            found = value_node
    if found is not None:
        return found
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG:
            continue
        merged = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in merged:
            if isinstance(source, MappingNode) and (hit := _lookup(source, key)) is not None:
                return hit
    return None


def _has_whole_month(start: date, end: date) -> bool:
    first = start if start.day == 1 else grain_end(start, "month") + timedelta(days=1)
    return grain_end(first, "month") <= end


def _quarter_months(fiscal_year_start: int) -> str:
    months = sorted((fiscal_year_start - 1 + 3 * i) % 12 + 1 for i in range(4))
    return ", ".join(calendar.month_abbr[m] for m in months)


# -- the checker -----------------------------------------------------------------------


@dataclass
class _Checker:
    path: Path
    fiscal_year_start: int
    loader: yaml.SafeLoader
    problems: list[Problem] = field(default_factory=list)
    # Mappings already flattened: an alias (`- *anchor`) brings the same node back, and
    # its merged keys must not then look like keys given twice.
    flattened: set[int] = field(default_factory=set)

    def report(
        self, node: Node | None, subject: str | None, field_name: str | None, message: str
    ) -> None:
        self.problems.append(
            Problem(_line(node) if node is not None else None, subject, field_name, message)
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
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            if key_node.value in seen:
                self.report(
                    key_node,
                    subject,
                    prefix + key_node.value,
                    f"is given twice (also on line {_line(seen[key_node.value])}): keep one",
                )
            seen[key_node.value] = key_node
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            self.report(node, subject, None, f"cannot merge: {exc.problem}")
        self.flattened.add(id(node))
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL_TAG:
                self.report(
                    key_node, subject, None, f"a key must be a field name, got {_kind(key_node)}"
                )
                continue
            key = key_node.value
            if key not in allowed:
                self.report(
                    key_node,
                    subject,
                    prefix + key,
                    f"unknown field{_suggest(key, allowed)}; the fields of {what} are "
                    f"{', '.join(allowed)}",
                )
                continue
            out[key] = (key_node, value_node)
        return out

    # -- scalar values -----------------------------------------------------------------

    def text(self, node: Node, subject: str | None, field_name: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self.report(node, subject, field_name, f"must be text, got {_kind(node)}")
            return None
        # The text as written: `team: 007` is the team "007", not the number 7.
        value = node.value.strip()
        if node.tag == _NULL_TAG or not value:
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
                f"'{value}' is not allowed{_suggest(value.lower(), allowed)}; use one of "
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
            self.report(node, subject, field_name, f"must be a number {example}, got {_kind(node)}")
            return None
        if node.tag == _NULL_TAG:
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
            self.report(node, subject, field_name, f"must be a number {example}, got {_kind(node)}")
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
            self.report(node, subject, field_name, f"must be {example}, got {_kind(node)}")
            return None
        if node.tag == _NULL_TAG:
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
        self.report(node, subject, field_name, f"must be {example}, got {_kind(node)}")
        return None

    # -- the file ----------------------------------------------------------------------

    def check_file(self, root: Node | None) -> ObjectivesFile:
        if root is None or _is_null(root):
            return ObjectivesFile(self.path)
        if not isinstance(root, MappingNode):
            self.report(
                root,
                None,
                None,
                f"the top level must be a mapping with the keys {' and '.join(TOP_LEVEL_FIELDS)} "
                f"(objectives: a list of objectives), got {_kind(root)}",
            )
            return ObjectivesFile(self.path)
        top = self.fields(root, None, TOP_LEVEL_FIELDS, "the file")
        objective_nodes = self.list_of(top.get("objectives"), "objectives")
        okr_nodes = self.list_of(top.get("okrs"), "okrs")

        objectives: list[Objective] = []
        declared: dict[str, int] = {}  # every well-formed id, even of a faulty objective
        for position, node in enumerate(objective_nodes, start=1):
            objective = self.check_objective(node, position, declared)
            if objective is not None:
                objectives.append(objective)

        okrs: list[OKR] = []
        okr_lines: dict[str, int] = {}
        for position, node in enumerate(okr_nodes, start=1):
            okr = self.check_okr(node, position, declared, okr_lines)
            if okr is not None:
                okrs.append(okr)
        return ObjectivesFile(self.path, tuple(objectives), tuple(okrs))

    def list_of(self, entry: tuple[Node, Node] | None, name: str) -> list[Node]:
        if entry is None or _is_null(entry[1]):
            return []
        if not isinstance(entry[1], SequenceNode):
            self.report(
                entry[1],
                None,
                name,
                f"must be a list (each item starting with '- '), got {_kind(entry[1])}",
            )
            return []
        return list(entry[1].value)

    def identify(
        self, node: Node, position: int, kind: str, seen: dict[str, int]
    ) -> tuple[str, str | None]:
        """The subject naming this objective/OKR in messages, and its id if well formed.

        A missing id is reported with the other missing fields, not here."""
        subject = f"{kind} #{position}"
        value_node = _lookup(node, "id") if isinstance(node, MappingNode) else None
        if value_node is None:
            return subject, None
        if not isinstance(value_node, ScalarNode) or _is_null(value_node):
            self.report(
                value_node,
                subject,
                "id",
                "must be a name of lower-case letters, digits and '-', such as "
                f"new-logos-monthly, got {_kind(value_node)}",
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
        seen[raw] = _line(node)
        return f"{kind} '{raw}'", raw

    # -- one objective -----------------------------------------------------------------

    def check_objective(
        self, node: Node, position: int, declared: dict[str, int]
    ) -> Objective | None:
        before = len(self.problems)
        subject, objective_id = self.identify(node, position, "objective", declared)
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                None,
                f"must be a mapping of fields ({', '.join(REQUIRED_OBJECTIVE_FIELDS)}, ...), "
                f"got {_kind(node)}",
            )
            return None
        f = self.fields(node, subject, OBJECTIVE_FIELDS, "an objective")
        for name in REQUIRED_OBJECTIVE_FIELDS:
            if name not in f:
                self.report(node, subject, name, f"is missing: {_REQUIRED_HELP[name]}")

        metric_name = None
        if "metric" in f:
            metric_name = self.text(f["metric"][1], subject, "metric")
            metric_name = metric_name.lower() if metric_name else None
            if metric_name is not None and metric_name not in METRICS:
                self.report(
                    f["metric"][1],
                    subject,
                    "metric",
                    f"unknown metric '{metric_name}'{_suggest(metric_name, tuple(METRICS))}; "
                    f"the metrics are {', '.join(METRICS)}",
                )
                metric_name = None
        metric = METRICS.get(metric_name) if metric_name else None
        ratio = metric is not None and metric.unit == "ratio"

        title = objective_id or ""
        if "title" in f:
            title = self.text(f["title"][1], subject, "title") or title

        scope_type, scope_value = COMPANY_SCOPE
        if "scope" in f:
            scope = self.check_scope(f["scope"][1], subject, metric_name)
            if scope is not None:
                scope_type, scope_value = scope

        start = end = None
        if "period" in f:
            start, end = self.check_period(f["period"][1], subject)

        grain = None
        if "grain" in f and not _is_null(f["grain"][1]):
            grain = self.choice(f["grain"][1], subject, "grain", GRAINS)
            if grain is not None and start is not None and end is not None:
                self.check_grain_bounds(f["grain"][1], f["period"][1], subject, grain, start, end)

        if metric_name in MONTH_MEASURED_METRICS:
            self.check_month_measured(f, subject, metric_name, grain, start, end)

        direction = DEFAULT_DIRECTION
        if "direction" in f:
            direction = self.choice(f["direction"][1], subject, "direction", DIRECTIONS) or ""

        target = baseline = None
        if "target" in f:
            target = self.number(f["target"][1], subject, "target", ratio)
        if "baseline" in f and not _is_null(f["baseline"][1]):
            if metric is not None and metric.additive:
                self.report(
                    f["baseline"][1],
                    subject,
                    "baseline",
                    f"{metric_name} is counted from 0 at the start of the period, so it takes "
                    "no baseline: remove it and give the target for the period alone",
                )
            else:
                baseline = self.number(f["baseline"][1], subject, "baseline", ratio)
        if target is not None and baseline is not None and direction in DIRECTIONS:
            if direction == "increase" and target < baseline:
                self.report(
                    f["target"][1],
                    subject,
                    "target",
                    f"{target:g} is below the baseline {baseline:g} while direction is "
                    "increase: add 'direction: decrease' if the metric should go down",
                )
            elif direction == "decrease" and target > baseline:
                self.report(
                    f["target"][1],
                    subject,
                    "target",
                    f"{target:g} is above the baseline {baseline:g} while direction is "
                    "decrease: use 'direction: increase' if the metric should go up",
                )

        milestones: tuple[Milestone, ...] = ()
        if "milestones" in f and not _is_null(f["milestones"][1]):
            if grain is not None:
                self.report(
                    f["milestones"][1],
                    subject,
                    "milestones",
                    f"cannot be combined with grain {grain}: with a grain every {grain} gets "
                    "the full target; remove the grain or the milestones",
                )
            else:
                milestones = self.check_milestones(f["milestones"][1], subject, ratio, start, end)

        at_risk, off_track = DEFAULT_AT_RISK, DEFAULT_OFF_TRACK
        if "thresholds" in f and not _is_null(f["thresholds"][1]):
            at_risk, off_track = self.check_thresholds(f["thresholds"][1], subject)

        if len(self.problems) > before:
            return None
        assert objective_id and metric_name and start and end and target is not None
        return Objective(
            id=objective_id,
            title=title,
            metric=metric_name,
            scope_type=scope_type,
            scope_value=scope_value,
            period_start=start,
            period_end=end,
            grain=grain,
            direction=direction,
            target=target,
            baseline=baseline,
            milestones=milestones,
            at_risk=at_risk,
            off_track=off_track,
        )

    def check_scope(
        self, node: Node, subject: str, metric_name: str | None
    ) -> tuple[str, str] | None:
        allowed = tuple(
            s
            for s in (METRICS[metric_name].scopes if metric_name else METRICS["won_deals"].scopes)
            if s != "company"
        )
        example = (
            f"such as {{{allowed[0]}: {_SCOPE_EXAMPLES[allowed[0]]}}}; leave scope out for "
            "the whole company"
        )
        if not isinstance(node, MappingNode) or len(node.value) != 1:
            got = (
                f"a mapping with {len(node.value)} keys"
                if isinstance(node, MappingNode)
                else _kind(node)
            )
            self.report(
                node,
                subject,
                "scope",
                f"must be a mapping with exactly one key among {', '.join(allowed)}, "
                f"{example}; got {got}",
            )
            return None
        key_node, value_node = node.value[0]
        key = key_node.value.strip().lower() if isinstance(key_node, ScalarNode) else ""
        if key not in allowed:
            why = (
                f"; {metric_name} is an account metric, measured only by {', '.join(allowed)}"
                if metric_name in METRICS
                and METRICS[metric_name].scopes != METRICS["won_deals"].scopes
                else ""
            )
            self.report(
                key_node,
                subject,
                "scope",
                f"'{key_node.value if isinstance(key_node, ScalarNode) else _kind(key_node)}' "
                f"is not a scope of {metric_name or 'this metric'}{why}; use one of "
                f"{', '.join(allowed)} ({example})",
            )
            return None
        value = self.text(value_node, subject, f"scope.{key}")
        if value is None:
            return None
        return key, value

    def check_period(self, node: Node, subject: str) -> tuple[date | None, date | None]:
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                "period",
                f"must be a mapping such as {{start: 2026-01-01, end: 2026-06-30}}, "
                f"got {_kind(node)}",
            )
            return None, None
        f = self.fields(node, subject, PERIOD_FIELDS, "a period", prefix="period.")
        dates: dict[str, date | None] = {}
        for name in PERIOD_FIELDS:
            if name not in f:
                self.report(
                    node,
                    subject,
                    f"period.{name}",
                    "is missing: a period needs a start and an end date (both included), "
                    "such as {start: 2026-01-01, end: 2026-06-30}",
                )
                dates[name] = None
            else:
                dates[name] = self.date_value(f[name][1], subject, f"period.{name}")
        start, end = dates["start"], dates["end"]
        if start is not None and end is not None and end < start:
            self.report(
                f["end"][1],
                subject,
                "period.end",
                f"{end.isoformat()} is before the start {start.isoformat()}: the end must be "
                "on or after the start",
            )
            return None, None
        return start, end

    def check_grain_bounds(
        self, grain_node: Node, period_node: Node, subject: str, grain: str, start: date, end: date
    ) -> None:
        fy = self.fiscal_year_start
        rule = {
            "week": "weeks run Monday to Sunday",
            "month": "months run from the 1st to their last day",
            "quarter": f"quarters start in {_quarter_months(fy)}, as the fiscal year starts "
            f"in month {fy}",
        }[grain]
        # The weekday helps only where weeks are the unit.
        start_day, end_day = (f" ({start:%A})", f" ({end:%A})") if grain == "week" else ("", "")
        good_start = grain_start(start, grain, fy)
        if good_start != start:
            self.report(
                period_node,
                subject,
                "period.start",
                f"{start.isoformat()}{start_day} is not the first day of a {grain}, as grain "
                f"{grain} requires ({rule}): start on {good_start.isoformat()} or "
                f"{grain_end(start, grain, fy) + timedelta(days=1)}",
            )
        good_end = grain_end(end, grain, fy)
        if good_end != end:
            self.report(
                period_node,
                subject,
                "period.end",
                f"{end.isoformat()}{end_day} is not the last day of a {grain}, as grain "
                f"{grain} requires ({rule}): end on {good_end.isoformat()} or "
                f"{grain_start(end, grain, fy) - timedelta(days=1)}",
            )

    def check_month_measured(
        self,
        f: dict[str, tuple[Node, Node]],
        subject: str,
        metric_name: str,
        grain: str | None,
        start: date | None,
        end: date | None,
    ) -> None:
        why = (
            f"{metric_name} is measured on complete calendar months, so every period must "
            "hold at least one whole month"
        )
        if grain == "week":
            self.report(f["grain"][1], subject, "grain", f"week is too short: {why}; use month")
        elif (grain is None and start is not None and end is not None) and not _has_whole_month(
            start, end
        ):
            self.report(
                f["period"][1],
                subject,
                "period",
                f"{start.isoformat()}..{end.isoformat()} holds no whole month: {why}",
            )

    def check_milestones(
        self, node: Node, subject: str, ratio: bool, start: date | None, end: date | None
    ) -> tuple[Milestone, ...]:
        if not isinstance(node, SequenceNode):
            self.report(
                node,
                subject,
                "milestones",
                f"must be a list such as [{{date: 2026-03-31, value: 0.62}}], got {_kind(node)}",
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
                    f"got {_kind(item)}",
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
                    previous = (when, _line(f["date"][1]))
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
                f"{DEFAULT_OFF_TRACK}}}, got {_kind(node)}",
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

    # -- one OKR -----------------------------------------------------------------------

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
                f"must be a mapping with id, title and key_results, got {_kind(node)}",
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
        if "key_results" in f:
            kr_node = f["key_results"][1]
            if not isinstance(kr_node, SequenceNode) or not kr_node.value:
                got = "an empty list" if isinstance(kr_node, SequenceNode) else _kind(kr_node)
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
                    ref = self.text(item, subject, name)
                    if ref is None:
                        continue
                    if ref not in objectives:
                        self.report(
                            item,
                            subject,
                            name,
                            f"names unknown objective '{ref}'{_suggest(ref, known)}; the "
                            f"objectives of this file are {', '.join(known) or '(none)'}",
                        )
                    elif ref in key_results:
                        self.report(item, subject, name, f"lists '{ref}' twice: keep one")
                    else:
                        key_results.append(ref)
        if len(self.problems) > before:
            return None
        assert okr_id
        return OKR(okr_id, title, tuple(key_results))


_SCOPE_EXAMPLES = {
    "team": "Enterprise",
    "owner": "'hubspot:1234'",
    "segment": "SMB",
    "region": "EMEA",
    "pipeline": "New business",
}

_REQUIRED_HELP = {
    "id": "give a unique name of lower-case letters, digits and '-', such as new-logos-monthly",
    "metric": f"give the KPI it is measured on, one of {', '.join(METRICS)}",
    "period": "give the dates it runs, such as {start: 2026-01-01, end: 2026-06-30}",
    "target": "give the value to reach by the end of the period (or of each sub-period)",
}


# -- entry point -----------------------------------------------------------------------


def load_objectives_file(path: Path, *, fiscal_year_start: int = 1) -> ObjectivesFile:
    """Parse and validate an objectives file.

    `fiscal_year_start` (1..12) is the fiscal year's first month: quarters start there.
    Raises ObjectivesFileMissingError when the file does not exist, and
    ObjectivesFileError listing every problem otherwise. An empty file, or one with
    `objectives: []`, is valid and holds no objectives.
    """
    path = Path(path)
    if not isinstance(fiscal_year_start, int) or not 1 <= fiscal_year_start <= 12:
        raise ValueError(
            f"fiscal_year_start={fiscal_year_start!r} must be the number of the fiscal "
            "year's first month, 1 (January) to 12"
        )
    if not path.exists():
        raise ObjectivesFileMissingError(
            path,
            [
                Problem(
                    None,
                    None,
                    None,
                    "does not exist: create it (copy the objectives.yml shipped with crm-kpi) "
                    "or point CRM_KPI_OBJECTIVES to your objectives file",
                )
            ],
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ObjectivesFileError(
            path,
            [Problem(None, None, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")],
        ) from None
    except OSError as exc:
        raise ObjectivesFileError(
            path, [Problem(None, None, None, f"cannot be read: {exc.strerror or exc}")]
        ) from None

    loader = yaml.SafeLoader(text)
    loader.name = str(path)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        if "'\\t'" in what:
            hint = "indent with spaces, not tabs"
        elif "another document" in what:
            hint = "the file holds one document: remove the second '---' line"
        else:
            hint = "check the indentation and that each 'key: value' pair is on its own line"
        raise ObjectivesFileError(
            path,
            [
                Problem(
                    mark.line + 1 if mark else None,
                    None,
                    None,
                    f"YAML syntax error: {what} ({hint})",
                    column=mark.column + 1 if mark else None,
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ObjectivesFileError(path, [Problem(None, None, None, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()

    checker = _Checker(path, fiscal_year_start, loader)
    result = checker.check_file(root)
    if checker.problems:
        # In file order, so a person fixes them top to bottom.
        problems = sorted(checker.problems, key=lambda p: p.line or 0)
        raise ObjectivesFileError(path, problems)
    return result
