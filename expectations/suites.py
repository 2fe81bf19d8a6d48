"""The suite files (expectations/suites/*.yml) as typed specs, checked when loaded.

The format is described at the top of expectations/suites/raw.yml. A mistake in a file
(an unknown expectation, a bad argument, a missing table name) is reported with the
file, the suite and the expectation's position, before anything is validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

SUITES_DIR = Path(__file__).resolve().parent / "suites"
LAYERS = ("raw", "crm", "marts")
UNIQUENESS = {
    "expect_column_values_to_be_unique": "column",
    "expect_compound_columns_to_be_unique": "column_list",
}
# Expectations whose value_set may be `{query: ...}` (values of another table).
QUERY_VALUE_SETS = frozenset(
    {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"}
)
# Keys of an expectation entry that are ours; every other key is a GX argument.
_OWN_KEYS = {"expect", "blocking", "description", "where", "show"}
# GX arguments the runner sets itself.
_RESERVED = {"row_condition", "condition_parser", "result_format", "meta", "catch_exceptions"}
_SUITE_KEYS = {
    "name",
    "table",
    "every_table_in_schema",
    "key",
    "row_count",
    "expectations",
    "for_each_text_column",
}
_FILE_KEYS = {"layer", "sources", "suites", "quarantine", "freshness"}


class SuiteFileError(ValueError):
    """A suite file cannot be used; the message names the file, suite and entry."""


@dataclass(frozen=True)
class QueryValues:
    """`value_set: {query: ...}`: the values of a one-column query on the same database."""

    sql: str

    @property
    def values_sql(self) -> str:
        """The query with its one column named `v`, to compare with or select from."""
        return f"SELECT * FROM ({self.sql}) AS query_values(v)"


@dataclass(frozen=True)
class RunContextValue:
    """`{run_context: <column>}`: a value of this run's raw_run.run_context row."""

    column: str


@dataclass(frozen=True)
class ExpectationSpec:
    expect: str  # GX expectation type, snake_case
    arguments: Mapping[str, Any]  # GX arguments; may hold QueryValues / RunContextValue
    blocking: bool
    description: str
    where: Mapping[str, Any]  # {} = every row; values may be RunContextValue
    show: tuple[str, ...]  # extra columns for sample rows
    origin: str  # "crm.yml, suite crm.opportunities, expectation 3": for error messages

    @property
    def target_columns(self) -> tuple[str, ...]:
        args = self.arguments
        if "column" in args:
            return (args["column"],)
        if "column_A" in args:
            return (args["column_A"], args["column_B"])
        return tuple(args.get("column_list") or ())

    @property
    def column_label(self) -> str | None:
        return ", ".join(self.target_columns) or None

    @property
    def columns_required(self) -> tuple[str, ...]:
        """Without these the expectation cannot be evaluated (`show` ones are optional)."""
        return tuple(dict.fromkeys([*self.target_columns, *self.where]))

    @property
    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.columns_required, *self.show]))

    @property
    def value_query(self) -> QueryValues | None:
        value = self.arguments.get("value_set")
        return value if isinstance(value, QueryValues) else None

    @property
    def unique_columns(self) -> tuple[str, ...] | None:
        """The key it checks for uniqueness: batches must then be cut by that key."""
        if self.expect not in UNIQUENESS:
            return None
        value = self.arguments[UNIQUENESS[self.expect]]
        return tuple(value) if isinstance(value, list | tuple) else (value,)

    def for_column(self, column: str) -> ExpectationSpec:
        """This template applied to one text column (`for_each_text_column`)."""
        return replace(
            self,
            arguments={**self.arguments, "column": column},
            description=self.description.replace("{column}", column),
            origin=f"{self.origin}, column {column}",
        )


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    table: str | None  # schema.table
    every_table_in_schema: str | None  # or: every table of this schema, found at run time
    key: tuple[str, ...]
    row_count: bool
    expectations: tuple[ExpectationSpec, ...]
    for_each_text_column: tuple[ExpectationSpec, ...]
    origin: str


@dataclass(frozen=True)
class QuarantineSpec:
    schema: str
    entities: Mapping[str, str]  # quarantine table -> table of the entity's kept rows


@dataclass(frozen=True)
class FreshnessSpec:
    table: str
    column: str


@dataclass(frozen=True)
class LayerSuites:
    layer: str
    source: str | None
    suites: tuple[SuiteSpec, ...] = ()
    quarantine: QuarantineSpec | None = None
    freshness: FreshnessSpec | None = None
    files: tuple[Path, ...] = ()


def parse_layer(layer: str) -> tuple[str, str | None]:
    """'raw:files' -> ('raw', 'files'); 'crm' -> ('crm', None)."""
    kind, _, source = layer.partition(":")
    if kind not in LAYERS or (kind == "raw") != bool(source):
        raise ValueError(
            f"layer {layer!r}: use 'raw:<source>' (for example 'raw:files'), 'crm' or 'marts'"
        )
    return kind, source or None


def _fail(origin: str, message: str) -> SuiteFileError:
    return SuiteFileError(f"{origin}: {message}")


def _text(value: Any, origin: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(origin, f"{what} must be a non-empty text")
    return value.strip()


def _names(value: Any, origin: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(origin, f"{what} must be a list of column names")
    return tuple(value)


def _qualified(value: Any, origin: str, what: str) -> str:
    text = _text(value, origin, what)
    if text.count(".") != 1:
        raise _fail(origin, f"{what} {text!r} must be written schema.table")
    return text


def _placeholders(value: Any, origin: str) -> Any:
    """Turn `{query: ...}` and `{run_context: ...}` mappings into their markers."""
    if isinstance(value, Mapping):
        if set(value) == {"query"}:
            return QueryValues(_text(value["query"], origin, "query"))
        if set(value) == {"run_context"}:
            return RunContextValue(_text(value["run_context"], origin, "run_context"))
        return {k: _placeholders(v, origin) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, origin) for v in value]
    return value


def _holds_query(value: Any) -> bool:
    if isinstance(value, QueryValues):
        return True
    if isinstance(value, Mapping):
        return any(_holds_query(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_query(v) for v in value)
    return False


def _dummy(value: Any) -> Any:
    """Placeholders replaced by values of the right shape, to check GX arguments early."""
    if isinstance(value, QueryValues):
        return []
    if isinstance(value, RunContextValue):
        return value.column
    if isinstance(value, Mapping):
        return {k: _dummy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dummy(v) for v in value]
    return value


def _substitute(value: Any, source: str | None) -> Any:
    if source is None:
        return value
    if isinstance(value, str):
        return value.replace("{source}", source)
    if isinstance(value, QueryValues):
        return QueryValues(value.sql.replace("{source}", source))
    if isinstance(value, Mapping):
        return {k: _substitute(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, source) for v in value]
    return value


def _expectation(
    entry: Any, origin: str, source: str | None, *, template: bool = False
) -> ExpectationSpec:
    if not isinstance(entry, Mapping) or "expect" not in entry:
        raise _fail(origin, "each expectation is a mapping with an `expect:` type")
    reserved = sorted(_RESERVED & set(entry))
    if reserved:
        raise _fail(
            origin,
            f"{', '.join(reserved)} is set by the runner; use `where:` to choose the rows",
        )
    expect = _text(entry["expect"], origin, "expect")
    blocking = entry.get("blocking", True)
    if not isinstance(blocking, bool):
        raise _fail(origin, "blocking must be true or false")
    where = entry.get("where") or {}
    if not isinstance(where, Mapping) or not all(isinstance(k, str) for k in where):
        raise _fail(origin, "where must map column names to a value or a list of values")
    arguments = {k: _placeholders(v, origin) for k, v in entry.items() if k not in _OWN_KEYS}
    arguments = _substitute(arguments, source)
    description = str(entry.get("description") or "").strip() or _default_description(
        expect, arguments
    )
    spec = ExpectationSpec(
        expect=expect,
        arguments=arguments,
        blocking=blocking,
        description=" ".join(_substitute(description, source).split()),
        where=_substitute(_placeholders(dict(where), origin), source),
        show=_names(entry.get("show"), origin, "show"),
        origin=origin,
    )
    queries = [k for k, v in arguments.items() if _holds_query(v)]
    if queries and (queries != ["value_set"] or expect not in QUERY_VALUE_SETS):
        raise _fail(
            origin,
            "`{query: ...}` can only be the whole value_set of "
            + " or ".join(sorted(QUERY_VALUE_SETS)),
        )
    if template and "column" in arguments:
        raise _fail(origin, "for_each_text_column sets `column` itself: leave it out")
    _check_arguments(spec, template)
    return spec


def _check_arguments(spec: ExpectationSpec, template: bool) -> None:
    from expectations.gx_engine import build, expectation_class

    try:
        expectation_class(spec.expect)
    except ValueError as exc:
        raise _fail(spec.origin, str(exc)) from None
    arguments = _dummy(spec.arguments)
    if template:
        arguments["column"] = "any_text_column"
    try:
        build(spec.expect, arguments, _dummy(spec.where), 0)
    except (ValueError, TypeError) as exc:
        raise _fail(spec.origin, f"{spec.expect}: {exc}") from None


def _default_description(expect: str, arguments: Mapping[str, Any]) -> str:
    words = expect.removeprefix("expect_").replace("_", " ")
    detail = ", ".join(f"{k}={v}" for k, v in arguments.items() if not isinstance(v, Mapping))
    return f"{words} ({detail})" if detail else words


def _suite(entry: Any, origin: str, source: str | None) -> SuiteSpec:
    if not isinstance(entry, Mapping):
        raise _fail(origin, "each suite is a mapping with name, table and expectations")
    unknown = sorted(set(entry) - _SUITE_KEYS)
    if unknown:
        raise _fail(origin, f"unknown key(s) {', '.join(unknown)}; use {sorted(_SUITE_KEYS)}")
    name = _substitute(_text(entry.get("name"), origin, "name"), source)
    origin = f"{origin} ({name})"
    table = entry.get("table")
    schema = entry.get("every_table_in_schema")
    if (table is None) == (schema is None):
        raise _fail(origin, "give either `table: schema.table` or `every_table_in_schema`")
    if table is not None:
        table = _substitute(_qualified(table, origin, "table"), source)
    if schema is not None:
        schema = _substitute(_text(schema, origin, "every_table_in_schema"), source)
    row_count = entry.get("row_count", table is not None)
    if not isinstance(row_count, bool):
        raise _fail(origin, "row_count must be true or false")
    if row_count and table is None:
        raise _fail(origin, "row_count needs a single `table`")
    lists = {}
    for key in ("expectations", "for_each_text_column"):
        items = entry.get(key) or []
        if not isinstance(items, list):
            raise _fail(origin, f"{key} must be a list")
        lists[key] = tuple(
            _expectation(
                item, f"{origin}, {key} entry {n}", source, template=key == "for_each_text_column"
            )
            for n, item in enumerate(items, start=1)
        )
    if not lists["expectations"] and not lists["for_each_text_column"]:
        raise _fail(origin, "a suite needs at least one expectation")
    return SuiteSpec(
        name=name,
        table=table,
        every_table_in_schema=schema,
        key=_names(entry.get("key"), origin, "key"),
        row_count=row_count,
        expectations=lists["expectations"],
        for_each_text_column=lists["for_each_text_column"],
        origin=origin,
    )


def _quarantine(entry: Any, origin: str) -> QuarantineSpec | None:
    if entry is None:
        return None
    origin = f"{origin}, quarantine"
    if not isinstance(entry, Mapping):
        raise _fail(origin, "quarantine must be a mapping with schema and entities")
    entities = entry.get("entities") or {}
    if not isinstance(entities, Mapping):
        raise _fail(origin, "entities must map a quarantine table to schema.table")
    return QuarantineSpec(
        schema=_text(entry.get("schema", "quarantine"), origin, "schema"),
        entities={
            _text(k, origin, "entity"): _qualified(v, origin, f"entity {k}")
            for k, v in entities.items()
        },
    )


def _freshness(entry: Any, origin: str, source: str | None) -> FreshnessSpec | None:
    if entry is None:
        return None
    origin = f"{origin}, freshness"
    if not isinstance(entry, Mapping):
        raise _fail(origin, "freshness must be a mapping with table and column")
    return FreshnessSpec(
        table=_substitute(_qualified(entry.get("table"), origin, "table"), source),
        column=_text(entry.get("column"), origin, "column"),
    )


def read_file(path: Path) -> Mapping[str, Any]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteFileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(content, Mapping):
        raise SuiteFileError(f"{path}: a suite file is a mapping with `layer:` and `suites:`")
    unknown = sorted(set(content) - _FILE_KEYS)
    if unknown:
        raise SuiteFileError(f"{path}: unknown key(s) {', '.join(unknown)}")
    if content.get("layer") not in LAYERS:
        raise SuiteFileError(f"{path}: layer must be one of {', '.join(LAYERS)}")
    return content


def load_layer(layer: str, directory: Path = SUITES_DIR) -> LayerSuites:
    """Every suite of `layer` ('raw:<source>', 'crm', 'marts') from the files of `directory`.

    A raw file applies to the sources it lists; a source no file lists has no suites.
    """
    kind, source = parse_layer(layer)
    suites: list[SuiteSpec] = []
    files: list[Path] = []
    quarantine: QuarantineSpec | None = None
    freshness: FreshnessSpec | None = None
    for path in sorted(directory.glob("*.yml")):
        content = read_file(path)
        if content["layer"] != kind:
            continue
        sources = _names(content.get("sources"), path.name, "sources")
        if kind == "raw" and source not in sources:
            continue
        files.append(path)
        entries = content.get("suites") or []
        if not isinstance(entries, Sequence) or isinstance(entries, str):
            raise SuiteFileError(f"{path}: suites must be a list")
        suites.extend(
            _suite(entry, f"{path.name}, suite {n}", source)
            for n, entry in enumerate(entries, start=1)
        )
        quarantine = _quarantine(content.get("quarantine"), path.name) or quarantine
        freshness = _freshness(content.get("freshness"), path.name, source) or freshness
    names = [s.name for s in suites]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SuiteFileError(f"suite name(s) used twice in layer {layer}: {duplicates}")
    return LayerSuites(kind, source, tuple(suites), quarantine, freshness, tuple(files))
