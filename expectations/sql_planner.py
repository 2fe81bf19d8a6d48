"""The SQL of the pre-screen: each pushed-down expectation as a condition and an aggregate.

`Planner` turns one table's expectations into `Check`s for a single scan, or None where
GX must decide; sql_checks.prescreen runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from expectations.batches import TableInfo, quote
from expectations.specs import ExpectationSpec, QueryValues
from expectations.sql_kinds import (
    ARGUMENTS,
    BETWEEN,
    COMPOUND_UNIQUE,
    EXACT_INTEGER,
    IGNORE_ROW_IF,
    IN_SET,
    KEY_KINDS,
    NOT_IN_SET,
    NOT_MATCH_REGEX,
    NOT_NULL,
    UNIQUE,
    column_kind,
    literals_for,
    number,
    pandas_searches,
    required_literals,
)


@dataclass
class Check:
    """One expectation as SQL, for one scan of its table: the rows it looks at (a
    condition) and whether it passes (an aggregate); its values are bound as parameters."""

    index: int
    rows: str = "TRUE"  # a condition: the rows its `where` selects
    passes: str = "TRUE"  # an aggregate, true only when GX would pass it too
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        """`value` as a parameter of the query (never spliced into the SQL text)."""
        name = f"e{self.index}_{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def no_row(self, unexpected: str) -> str:
        """Passes when no row it looks at is unexpected (an unknown counts as unexpected)."""
        return f"count(*) FILTER (WHERE ({self.rows}) AND coalesce({unexpected}, true)) = 0"


class Planner:
    """Turns the expectations of one table into _Checks; None for what GX must decide."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, info: TableInfo) -> None:
        self.cursor, self.info = cursor, info

    def value(self, column: str) -> str:
        """The column's values as the batches hold them; text compared byte by byte, as
        pandas compares it, whatever collation (NOCASE, ...) the column was declared with
        (information_schema does not show it)."""
        expression = self.info.value_expression(column)
        if column_kind(self.info, column) == "text":
            return f'({expression} COLLATE "binary")'
        return expression

    def check(
        self, index: int, spec: ExpectationSpec, resolve: Callable[[Any], Any]
    ) -> Check | None:
        allowed = ARGUMENTS.get(spec.expect)
        if allowed is None:
            return None
        try:
            arguments = resolve(dict(spec.arguments))
            where = resolve(dict(spec.where))
        except ValueError:
            return None  # a {run_context: ...} it cannot read: GX reports why
        mostly = arguments.get("mostly", 1)
        if set(arguments) - allowed or not (number(mostly) and mostly >= 1):
            return None
        check = Check(index)
        rows = self.rows(check, where)
        if rows is None:
            return None
        check.rows = rows
        build = {
            NOT_NULL: self.not_null,
            IN_SET: self.in_set,
            NOT_IN_SET: self.in_set,
            BETWEEN: self.between,
            UNIQUE: self.unique,
            COMPOUND_UNIQUE: self.compound_unique,
            NOT_MATCH_REGEX: self.not_match_regex,
        }[spec.expect]
        passes = build(check, spec.expect, arguments)
        if passes is None:
            return None
        check.passes = passes
        return check

    def rows(self, check: Check, where: Mapping[str, Any]) -> str | None:
        """The `where` as SQL: `{column: value}` or `{column: [values]}`, ANDed, as
        gx_engine.condition makes it; a null never matches, as in pandas."""
        parts = []
        for column, wanted in where.items():
            values = wanted if isinstance(wanted, list | tuple) else [wanted]
            literals = literals_for(column_kind(self.info, column), values)
            if literals is None:
                return None
            listed = ", ".join(check.param(v) for v in literals)
            parts.append(f"coalesce({self.value(column)} IN ({listed}), false)")
        return " AND ".join(parts) or "TRUE"

    def not_null(self, check: Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column = arguments["column"]
        value = self.value(column)
        missing = f"{value} IS NULL"
        if column_kind(self.info, column) in ("double", "float"):
            missing += f" OR isnan({value})"  # pandas: NaN is null
        return check.no_row(missing)

    def in_set(self, check: Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column, value_set = arguments["column"], arguments.get("value_set")
        kind = column_kind(self.info, column)
        value = self.value(column)
        if isinstance(value_set, QueryValues):
            members = self.query_members(value_set) if kind == "text" else None
        else:
            literals = literals_for(kind, value_set)
            members = ", ".join(check.param(v) for v in literals) if literals else None
        if members is None:
            return None
        # `x IN (...)` is null when x matches nothing and the values hold a null: for a
        # non-null x that is "not among them", as in the runner's EXCEPT / INTERSECT.
        among = f"coalesce({value} IN ({members}), false)"
        wrong = f"NOT {among}" if expect == IN_SET else among
        return check.no_row(f"{value} IS NOT NULL AND {wrong}")

    def query_members(self, query: QueryValues) -> str | None:
        """The value_set query as the runner reads it, if it gives one text column.

        Another type would be cast to compare with the column, which the runner's
        comparison (pandas text against the query) may cast otherwise.
        """
        sql = query.values_sql
        try:
            described = self.cursor.execute(f"DESCRIBE {sql}").fetchall()
        except duckdb.Error:
            return None  # GX reports the broken query
        return sql if [row[1] for row in described] == ["VARCHAR"] else None

    def between(self, check: Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column = arguments["column"]
        kind = column_kind(self.info, column)
        low, high = arguments.get("min_value"), arguments.get("max_value")
        strict_min = arguments.get("strict_min", False)
        strict_max = arguments.get("strict_max", False)
        if kind not in ("integer", "decimal", "double") or (low is None and high is None):
            return None
        if not all(b is None or number(b) for b in (low, high)):
            return None
        if type(strict_min) is not bool or type(strict_max) is not bool:
            return None
        if low is not None and high is not None and low > high:
            return None  # GX raises an error: its verdict, not ours
        value = self.value(column)  # decimals are doubles already
        # pandas compares doubles: decimals, doubles, and integers of a batch with a
        # null; the integers of a batch without one exactly. An integer passes both ways.
        views = [(value, kind != "integer")]
        if kind == "integer":
            views.append((f"CAST({value} AS DOUBLE)", True))
        inside = []
        for view, as_double in views:
            for bound, strict, above in ((low, strict_min, True), (high, strict_max, False)):
                if bound is None:
                    continue
                operand = check.param(bound)
                operand = f"CAST({operand} AS DOUBLE)" if as_double else operand
                operator = (">" if above else "<") + ("" if strict else "=")
                inside.append(f"{view} {operator} {operand}")
        return check.no_row(f"{value} IS NOT NULL AND NOT ({' AND '.join(inside)})")

    def unique(self, check: Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        """GX: nulls are ignored; every row of a repeated value is unexpected."""
        column = arguments["column"]
        if column_kind(self.info, column) not in KEY_KINDS:
            return None
        value = self.value(column)
        rows = check.rows
        distinct = (
            f"count({value}) FILTER (WHERE {rows}) = count(DISTINCT {value}) FILTER (WHERE {rows})"
        )
        return " AND ".join([distinct, *self.exact_integers([column], rows)])

    def compound_unique(
        self, check: Check, expect: str, arguments: Mapping[str, Any]
    ) -> str | None:
        """GX: rows skipped per `ignore_row_if` (by default those whose key is all null);
        nulls in the other keys are equal to each other, as in pandas' `duplicated`."""
        columns = arguments["column_list"]
        ignore = arguments.get("ignore_row_if", "all_values_are_missing")
        if not isinstance(columns, list | tuple) or ignore not in IGNORE_ROW_IF:
            return None
        if not all(column_kind(self.info, c) in KEY_KINDS for c in columns):
            return None
        values = [self.value(c) for c in columns]
        kept = check.rows
        joiner = IGNORE_ROW_IF[ignore]
        if joiner is not None:
            kept += " AND NOT (" + joiner.join(f"{v} IS NULL" for v in values) + ")"
        # Distinct hashes: a collision looks like a duplicate, which GX then decides.
        distinct = (
            f"count(*) FILTER (WHERE {kept}) "
            f"= count(DISTINCT hash({', '.join(values)})) FILTER (WHERE {kept})"
        )
        return " AND ".join([distinct, *self.exact_integers(columns, kept)])

    def not_match_regex(
        self, check: Check, expect: str, arguments: Mapping[str, Any]
    ) -> str | None:
        """GX (pandas): `~column.astype(str).str.contains(regex)` on the non-null values,
        a search anywhere in the value. A match holds every required literal, so a row
        holding them all is the only one that can be unexpected.

        Only for columns the batches hold as DuckDB's text: VARCHAR, and the types
        value_expression casts to VARCHAR (ENUM, JSON, structs, maps, lists). Not for
        VARCHAR lists (`VARCHAR[]` is fetched as is: pandas' str() of an array is not
        DuckDB's text, and `contains` on a list looks for an element) nor other types.
        """
        column, regex = arguments["column"], arguments.get("regex")
        if column_kind(self.info, column) != "text":
            return None
        value = self.value(column)
        literals = required_literals(regex)
        if not literals or not pandas_searches(regex):
            return None
        holds = " AND ".join(f"contains({value}, {check.param(c)})" for c in sorted(literals))
        return check.no_row(f"{value} IS NOT NULL AND {holds}")

    def exact_integers(self, columns: Sequence[str], rows: str) -> list[str]:
        """Conditions that the integer columns' values stay exact as doubles."""
        return [
            f"coalesce(min({quote(c)}) FILTER (WHERE {rows}) >= -{EXACT_INTEGER} "
            f"AND max({quote(c)}) FILTER (WHERE {rows}) <= {EXACT_INTEGER}, true)"
            for c in columns
            if column_kind(self.info, c) == "integer"
        ]
