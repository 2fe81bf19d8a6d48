"""The suite files (expectations/suites/*.yml) as typed specs, checked when loaded.

The format is described at the top of expectations/suites/raw.yml. A mistake in a file
(an unknown expectation, a bad argument, a missing table name) is reported with the
file, the suite and the expectation's position, before anything is validated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from expectations.specs import (
    QUERY_VALUE_SETS,
    ExpectationSpec,
    FreshnessSpec,
    LayerSuites,
    QuarantineSpec,
    SuiteFileError,
    SuiteSpec,
)
from expectations.suite_values import (
    dummy,
    fail,
    holds_query,
    name_list,
    nonempty_text,
    placeholders,
    qualified_name,
    substitute,
)

SUITES_DIR = Path(__file__).resolve().parent / "suites"
LAYERS = ("raw", "crm", "marts")
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


def parse_layer(layer: str) -> tuple[str, str | None]:
    """'raw:files' -> ('raw', 'files'); 'crm' -> ('crm', None)."""
    kind, _, source = layer.partition(":")
    if kind not in LAYERS or (kind == "raw") != bool(source):
        raise ValueError(
            f"layer {layer!r}: use 'raw:<source>' (for example 'raw:files'), 'crm' or 'marts'"
        )
    return kind, source or None


def _expectation(
    entry: Any, origin: str, source: str | None, *, template: bool = False
) -> ExpectationSpec:
    if not isinstance(entry, Mapping) or "expect" not in entry:
        raise fail(origin, "each expectation is a mapping with an `expect:` type")
    reserved = sorted(_RESERVED & set(entry))
    if reserved:
        raise fail(
            origin,
            f"{', '.join(reserved)} is set by the runner; use `where:` to choose the rows",
        )
    expect = nonempty_text(entry["expect"], origin, "expect")
    blocking = entry.get("blocking", True)
    if not isinstance(blocking, bool):
        raise fail(origin, "blocking must be true or false")
    where = entry.get("where") or {}
    if not isinstance(where, Mapping) or not all(isinstance(k, str) for k in where):
        raise fail(origin, "where must map column names to a value or a list of values")
    arguments = {k: placeholders(v, origin) for k, v in entry.items() if k not in _OWN_KEYS}
    arguments = substitute(arguments, source)
    description = str(entry.get("description") or "").strip() or _default_description(
        expect, arguments
    )
    spec = ExpectationSpec(
        expect=expect,
        arguments=arguments,
        blocking=blocking,
        description=" ".join(substitute(description, source).split()),
        where=substitute(placeholders(dict(where), origin), source),
        show=name_list(entry.get("show"), origin, "show"),
        origin=origin,
    )
    queries = [k for k, v in arguments.items() if holds_query(v)]
    if queries and (queries != ["value_set"] or expect not in QUERY_VALUE_SETS):
        raise fail(
            origin,
            "`{query: ...}` can only be the whole value_set of "
            + " or ".join(sorted(QUERY_VALUE_SETS)),
        )
    if template and "column" in arguments:
        raise fail(origin, "for_each_text_column sets `column` itself: leave it out")
    _check_arguments(spec, template)
    return spec


def _check_arguments(spec: ExpectationSpec, template: bool) -> None:
    from expectations.gx_engine import build, expectation_class

    try:
        expectation_class(spec.expect)
    except ValueError as exc:
        raise fail(spec.origin, str(exc)) from None
    arguments = dummy(spec.arguments)
    if template:
        arguments["column"] = "any_text_column"
    try:
        build(spec.expect, arguments, dummy(spec.where), 0)
    except (ValueError, TypeError) as exc:
        raise fail(spec.origin, f"{spec.expect}: {exc}") from None


def _default_description(expect: str, arguments: Mapping[str, Any]) -> str:
    words = expect.removeprefix("expect_").replace("_", " ")
    detail = ", ".join(f"{k}={v}" for k, v in arguments.items() if not isinstance(v, Mapping))
    return f"{words} ({detail})" if detail else words


def _suite(entry: Any, origin: str, source: str | None) -> SuiteSpec:
    if not isinstance(entry, Mapping):
        raise fail(origin, "each suite is a mapping with name, table and expectations")
    unknown = sorted(set(entry) - _SUITE_KEYS)
    if unknown:
        raise fail(origin, f"unknown key(s) {', '.join(unknown)}; use {sorted(_SUITE_KEYS)}")
    name = substitute(nonempty_text(entry.get("name"), origin, "name"), source)
    origin = f"{origin} ({name})"
    table = entry.get("table")
    schema = entry.get("every_table_in_schema")
    if (table is None) == (schema is None):
        raise fail(origin, "give either `table: schema.table` or `every_table_in_schema`")
    if table is not None:
        table = substitute(qualified_name(table, origin, "table"), source)
    if schema is not None:
        schema = substitute(nonempty_text(schema, origin, "every_table_in_schema"), source)
    row_count = entry.get("row_count", table is not None)
    if not isinstance(row_count, bool):
        raise fail(origin, "row_count must be true or false")
    if row_count and table is None:
        raise fail(origin, "row_count needs a single `table`")
    lists = {}
    for key in ("expectations", "for_each_text_column"):
        items = entry.get(key) or []
        if not isinstance(items, list):
            raise fail(origin, f"{key} must be a list")
        lists[key] = tuple(
            _expectation(
                item, f"{origin}, {key} entry {n}", source, template=key == "for_each_text_column"
            )
            for n, item in enumerate(items, start=1)
        )
    if not lists["expectations"] and not lists["for_each_text_column"]:
        raise fail(origin, "a suite needs at least one expectation")
    return SuiteSpec(
        name=name,
        table=table,
        every_table_in_schema=schema,
        key=name_list(entry.get("key"), origin, "key"),
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
        raise fail(origin, "quarantine must be a mapping with schema and entities")
    entities = entry.get("entities") or {}
    if not isinstance(entities, Mapping):
        raise fail(origin, "entities must map a quarantine table to schema.table")
    return QuarantineSpec(
        schema=nonempty_text(entry.get("schema", "quarantine"), origin, "schema"),
        entities={
            nonempty_text(k, origin, "entity"): qualified_name(v, origin, f"entity {k}")
            for k, v in entities.items()
        },
    )


def _freshness(entry: Any, origin: str, source: str | None) -> FreshnessSpec | None:
    if entry is None:
        return None
    origin = f"{origin}, freshness"
    if not isinstance(entry, Mapping):
        raise fail(origin, "freshness must be a mapping with table and column")
    return FreshnessSpec(
        table=substitute(qualified_name(entry.get("table"), origin, "table"), source),
        column=nonempty_text(entry.get("column"), origin, "column"),
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
        sources = name_list(content.get("sources"), path.name, "sources")
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
