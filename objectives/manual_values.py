"""Reading the values of the manual metrics (CRM_KPI_MANUAL_METRICS, docs/objectives.md,
"Manual metrics"): a CSV or YAML file of rows `date`, `metric`, `value`, and optionally
`scope_type`, `scope_value`, `note`.

Every row is checked against the manual metrics the objectives file declares, and every
problem is reported at once with the file, the line and the column, before anything
runs. Whether a row's scope value exists (a team, a segment) is known only once the CRM
is loaded: the build checks it (`int_manual_metric_values`), before anything is
published.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from core.metrics import DEAL_SCOPES
from objectives.fields import MANUAL_VALUE_FIELDS, REQUIRED_MANUAL_VALUE_FIELDS
from objectives.model import COMPANY_SCOPE, ManualMetric, ManualValue
from objectives.problems import ObjectivesFileError, Problem
from objectives.yaml_nodes import NULL_TAG, kind_of, line_of, suggest

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_TEXT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
FORMATS = {".csv": "csv", ".yml": "yaml", ".yaml": "yaml"}


class ManualMetricsFileError(ObjectivesFileError):
    """The manual metrics' values file cannot be used; the message lists every problem."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(path, problems)
        lines = "\n".join(f"- {p.render(path)}" for p in problems)
        self.args = (
            f"The manual metrics file {path} has {len(problems)} problem(s); no value was "
            'loaded and nothing ran. Fix them and run again (docs/objectives.md, "Manual '
            f'metrics", has the rules):\n{lines}',
        )

    def __str__(self) -> str:
        return str(self.args[0])


def load_manual_values(path: Path, metrics: tuple[ManualMetric, ...]) -> tuple[ManualValue, ...]:
    """The rows of a values file, checked against the declared `metrics`.

    Raises ManualMetricsFileError listing every problem (file, line, field)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        _fail(path, None, None, f"{what}: point CRM_KPI_MANUAL_METRICS to a .csv or .yml file")
    if fmt is None:
        _fail(path, None, None, "must be a .csv, .yml or .yaml file (CRM_KPI_MANUAL_METRICS)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(path, None, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
    rows = _csv_rows(path, text) if fmt == "csv" else _yaml_rows(path, text)
    return _RowChecker(path, {m.id: m for m in metrics}).check(rows)


def _fail(path: Path, line: int | None, field: str | None, message: str) -> None:
    raise ManualMetricsFileError(path, [Problem(line, None, field, message)])


Row = tuple[int, dict[str, str | None]]  # (line, column -> text or None)


def _csv_rows(path: Path, text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        _fail(path, 1, None, f"is not CSV: {exc}")
    if header is None:
        return []
    columns = [c.strip().lower() for c in header]
    problems = [
        Problem(
            1,
            None,
            c,
            f"unknown column{suggest(c, MANUAL_VALUE_FIELDS)}; the columns are "
            f"{', '.join(MANUAL_VALUE_FIELDS)}",
        )
        for c in columns
        if c not in MANUAL_VALUE_FIELDS
    ]
    problems += [
        Problem(
            1,
            None,
            c,
            "is missing from the header line: the file needs the columns "
            f"{', '.join(REQUIRED_MANUAL_VALUE_FIELDS)}",
        )
        for c in REQUIRED_MANUAL_VALUE_FIELDS
        if c not in columns
    ]
    if problems:
        raise ManualMetricsFileError(path, problems)
    rows: list[Row] = []
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(record) != len(columns):
                raise ManualMetricsFileError(
                    path,
                    [
                        Problem(
                            start,
                            None,
                            None,
                            f"has {len(record)} values for the "
                            f"{len(columns)} columns of the header line",
                        )
                    ],
                )
            rows.append(
                (start, {c: (v.strip() or None) for c, v in zip(columns, record, strict=True)})
            )
    except csv.Error as exc:
        _fail(path, reader.line_num, None, f"is not CSV: {exc}")
    return rows


def _yaml_rows(path: Path, text: str) -> list[Row]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        _fail(path, mark.line + 1 if mark else None, None, f"YAML syntax error: {exc.problem}")
    except yaml.YAMLError as exc:
        _fail(path, None, None, f"YAML error: {exc}")
    if root is None or (isinstance(root, ScalarNode) and root.tag == NULL_TAG):
        return []
    example = "{date: 2026-03-14, metric: patents_filed, value: 1}"
    if not isinstance(root, SequenceNode):
        _fail(path, line_of(root), None, f"must be a list of values such as - {example}")
    rows: list[Row] = []
    problems: list[Problem] = []
    for item in root.value:
        if not isinstance(item, MappingNode):
            problems.append(
                Problem(
                    line_of(item),
                    None,
                    None,
                    f"must be a mapping such as {example}, got {kind_of(item)}",
                )
            )
            continue
        row: dict[str, str | None] = {}
        for key_node, value_node in item.value:
            key = key_node.value.strip().lower() if isinstance(key_node, ScalarNode) else ""
            if key not in MANUAL_VALUE_FIELDS:
                problems.append(
                    Problem(
                        line_of(key_node),
                        None,
                        key or None,
                        f"unknown field{suggest(key, MANUAL_VALUE_FIELDS)}; the fields are "
                        f"{', '.join(MANUAL_VALUE_FIELDS)}",
                    )
                )
            elif not isinstance(value_node, ScalarNode):
                problems.append(
                    Problem(
                        line_of(value_node),
                        None,
                        key,
                        f"must be a single value, got {kind_of(value_node)}",
                    )
                )
            else:
                row[key] = (
                    None if value_node.tag == NULL_TAG else (value_node.value.strip() or None)
                )
        rows.append((line_of(item), row))
    if problems:
        raise ManualMetricsFileError(path, problems)
    return rows


class _RowChecker:
    def __init__(self, path: Path, metrics: dict[str, ManualMetric]) -> None:
        self.path = path
        self.metrics = metrics
        self.problems: list[Problem] = []

    def report(self, line: int, field: str | None, message: str) -> None:
        self.problems.append(Problem(line, None, field, message))

    def check(self, rows: list[Row]) -> tuple[ManualValue, ...]:
        out: list[ManualValue] = []
        seen_last: dict[tuple[str, str, str, date], int] = {}
        for line, row in rows:
            before = len(self.problems)
            for name in REQUIRED_MANUAL_VALUE_FIELDS:
                if row.get(name) is None:
                    self.report(line, name, f"is empty: {_HELP[name]}")
            when = self.date_of(line, row["date"]) if row.get("date") else None
            metric = self.metric_of(line, row["metric"]) if row.get("metric") else None
            value = self.value_of(line, row["value"], metric) if row.get("value") else None
            scope = self.scope_of(line, row, metric)
            if len(self.problems) > before:
                continue
            assert when and metric and value is not None and scope
            if metric.aggregation == "last":
                key = (metric.id, *scope, when)
                if key in seen_last:
                    self.report(
                        line,
                        "date",
                        f"{metric.id} already has a value on {when.isoformat()} for this "
                        f"scope (line {seen_last[key]}); its aggregation is last, so one "
                        "value a day: keep one",
                    )
                    continue
                seen_last[key] = line
            out.append(ManualValue(when, metric.id, value, *scope, row.get("note"), line))
        if self.problems:
            raise ManualMetricsFileError(self.path, self.problems)
        return tuple(out)

    def date_of(self, line: int, text: str) -> date | None:
        try:
            if not _DATE_TEXT.fullmatch(text):
                raise ValueError("not written YYYY-MM-DD")
            return date.fromisoformat(text)
        except ValueError as exc:
            self.report(line, "date", f"'{text}' is not a valid date ({exc}): {_HELP['date']}")
            return None

    def metric_of(self, line: int, text: str) -> ManualMetric | None:
        metric = self.metrics.get(text.lower())
        if metric is None:
            declared = tuple(self.metrics)
            self.report(
                line,
                "metric",
                f"unknown manual metric '{text}'{suggest(text.lower(), declared)}; "
                + (
                    f"the manual metrics of the objectives file are {', '.join(declared)}"
                    if declared
                    else "the objectives file declares none"
                )
                + " (declare it under manual_metrics: in the objectives file)",
            )
        return metric

    def value_of(self, line: int, text: str, metric: ManualMetric | None) -> float | None:
        ratio = metric is not None and metric.unit == "ratio"
        example = "such as 0.45 for 45 %" if ratio else "such as 2 or 1500.50"
        if not _NUMBER_TEXT.fullmatch(text):
            hint = (
                " (write decimals with a point, without thousands separators)"
                if "," in text
                else ""
            )
            if ratio and text.endswith("%"):
                hint = " (write shares as decimals: 0.45, not 45 %)"
            self.report(line, "value", f"'{text}' is not a number{hint}: give a number {example}")
            return None
        value = float(text)
        if not math.isfinite(value) or value < 0:
            self.report(line, "value", f"{text} must be a finite number of 0 or more, {example}")
            return None
        if ratio and value > 1:
            self.report(
                line, "value", f"{text} is outside [0, 1]: {metric.id} is a ratio, {example}"
            )
            return None
        return value

    def scope_of(
        self, line: int, row: dict[str, str | None], metric: ManualMetric | None
    ) -> tuple[str, str] | None:
        scope_type = (row.get("scope_type") or "company").lower()
        scope_value = row.get("scope_value")
        if scope_type not in DEAL_SCOPES:
            self.report(
                line,
                "scope_type",
                f"'{scope_type}' is not a scope type{suggest(scope_type, DEAL_SCOPES)}; use one "
                f"of {', '.join(DEAL_SCOPES)}, or leave it empty for the whole company",
            )
            return None
        if metric is not None and scope_type not in metric.scopes:
            self.report(
                line,
                "scope_type",
                f"{metric.id} takes no {scope_type} values: its scopes are "
                f"{', '.join(metric.scopes)}; add {scope_type} to its scopes in "
                "manual_metrics, or give the row another scope",
            )
            return None
        if scope_type == "company":
            if scope_value not in (None, "all"):
                self.report(
                    line,
                    "scope_value",
                    f"'{scope_value}' is given with the company scope: leave scope_value "
                    "empty (or give a scope_type)",
                )
                return None
            return COMPANY_SCOPE
        if scope_value is None:
            self.report(
                line,
                "scope_value",
                f"is empty: give the {scope_type} the value is for, its name exactly as in the CRM",
            )
            return None
        return scope_type, scope_value


_HELP = {
    "date": "give the day the value is for, written YYYY-MM-DD, such as 2026-03-14",
    "metric": "give the id of a manual metric of the objectives file",
    "value": "give a number, such as 2",
}
