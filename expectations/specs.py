"""The suite files' typed specs: what a checked expectation, suite and layer hold.

The runner, the pre-screen and the table checks read these; only expectations/suites.py
builds them from the YAML files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

UNIQUENESS = {
    "expect_column_values_to_be_unique": "column",
    "expect_compound_columns_to_be_unique": "column_list",
}
# Expectations whose value_set may be `{query: ...}` (values of another table).
QUERY_VALUE_SETS = frozenset(
    {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"}
)


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
