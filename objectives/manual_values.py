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
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from objectives.fields import MANUAL_VALUE_FIELDS, REQUIRED_MANUAL_VALUE_FIELDS
from objectives.manual_rows import Row, RowChecker
from objectives.model import ManualMetric, ManualValue
from objectives.problems import ObjectivesFileError, Problem
from objectives.yaml_nodes import NULL_TAG, kind_of, line_of, suggest

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
    checker = RowChecker({m.id: m for m in metrics})
    values = checker.check(rows)
    if checker.problems:
        raise ManualMetricsFileError(path, checker.problems)
    return values


def _fail(path: Path, line: int | None, field: str | None, message: str) -> None:
    raise ManualMetricsFileError(path, [Problem(line, None, field, message)])


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
