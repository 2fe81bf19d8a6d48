"""The SQL pre-screen: the common expectations decided in DuckDB before Great Expectations.

Great Expectations validates pandas batches streamed out of DuckDB, which is most of a
full refresh's checking time (docs/performance.md, "`full_vs_raw` ≤ 4"), while the same
verdicts are one aggregate query in DuckDB. So the runner first hands each table's
expectations to `prescreen`, which evaluates those it can in one query over the table
(one scan, every pushed-down expectation an aggregate of it), and GX then runs, as
before, only on the expectations that failed here or that SQL cannot decide: a failure
is always GX's to report, with its counts and sample rows.

The one rule: a pass here must be a pass in GX. The SQL therefore compares the values
GX would see (the batches' pandas view: decimals as doubles, NaN as null, integers as
doubles in a batch with a null) and is at least as strict; whatever is in doubt (a
column type, an argument, `mostly` below 1, a failing query) is left to GX.

Pushed down (without `mostly` below 1; `where` on text, integer or boolean columns):
- expect_column_values_to_not_be_null: any column (NaN counts as null in floats);
- expect_column_values_to_be_in_set / _not_be_in_set: a text column with text values,
  an integer column with integers, a boolean column with booleans, or a text column
  against a `{query: ...}` of text values;
- expect_column_values_to_be_between: integer, decimal and double columns, numeric
  bounds (either may be None), strict_min / strict_max;
- expect_column_values_to_be_unique and expect_compound_columns_to_be_unique (with
  `ignore_row_if`): text, integer, boolean, date and timestamp columns;
- expect_column_values_to_not_match_regex on VARCHAR columns and those the batches
  hold cast to VARCHAR (enums, JSON, structs, maps, lists but those of VARCHAR), by a
  necessary-literal test rather than a translation of the regex (DuckDB's RE2 is not
  Python's `re`): the characters every match must contain (`required_literals`, from
  Python's own parser) are looked for with `contains`. No row holding them all means no
  row can match: a pass. Any row holding them all is left to GX, which may still pass it.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from re import _constants, _parser  # Python's own regex parser (3.11+)
from typing import Any

import duckdb
import pandas as pd

from expectations.batches import TableInfo, qualified, quote, utc_cursor
from expectations.suites import ExpectationSpec, QueryValues

log = logging.getLogger(__name__)

NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
NOT_MATCH_REGEX = "expect_column_values_to_not_match_regex"

# The GX arguments each pushed-down type may have: any other (a GX option this module
# does not know) changes what GX checks, so the expectation is left to GX.
_ARGUMENTS: Mapping[str, frozenset[str]] = {
    NOT_NULL: frozenset({"column", "mostly"}),
    IN_SET: frozenset({"column", "value_set", "mostly"}),
    NOT_IN_SET: frozenset({"column", "value_set", "mostly"}),
    BETWEEN: frozenset({"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"}),
    UNIQUE: frozenset({"column", "mostly"}),
    COMPOUND_UNIQUE: frozenset({"column_list", "ignore_row_if", "mostly"}),
    NOT_MATCH_REGEX: frozenset({"column", "regex", "mostly"}),
}
# Column kinds, by DuckDB type. Unsigned and 128-bit integers, FLOAT (float32 in pandas,
# compared in float32 there), times, intervals, UUIDs and blobs are "other": their pandas
# view is not obviously the SQL value, so only not-null is decided for them.
_INTEGERS = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT"})
_TEMPORAL = frozenset(
    {
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
        "TIMESTAMP WITH TIME ZONE",
    }
)
# Kinds whose values pandas holds exactly (equal in pandas exactly when equal in DuckDB),
# integers within _EXACT_INTEGER: uniqueness is decided only on these.
_KEY_KINDS = frozenset({"text", "integer", "boolean", "temporal"})
# A batch with a null holds an integer column as doubles, exact up to 2**53 only: beyond
# it two integers can be one double, a duplicate to GX.
_EXACT_INTEGER = 2**53
_IGNORE_ROW_IF = {
    "all_values_are_missing": " AND ",
    "any_value_is_missing": " OR ",
    "never": None,
}


def column_kind(info: TableInfo, column: str) -> str:
    """'text', 'integer', 'decimal', 'double', 'float', 'boolean', 'temporal' or 'other'."""
    kind = info.columns[column].upper()
    if info.holds_text(column):
        return "text"
    if kind in _INTEGERS:
        return "integer"
    if kind.startswith("DECIMAL"):
        return "decimal"
    if kind in ("DOUBLE", "FLOAT"):
        return kind.lower()
    if kind == "BOOLEAN":
        return "boolean"
    if kind in _TEMPORAL:
        return "temporal"
    return "other"


@dataclass
class _Check:
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


def _whole_number(value: Any) -> bool:
    # bool is an int to Python, not to GX or DuckDB.
    return type(value) is int and abs(value) < _EXACT_INTEGER


def _number(value: Any) -> bool:
    if type(value) is int:
        return abs(value) < 2**63
    return type(value) is float and math.isfinite(value)


def _literals(kind: str, values: Any) -> list[Any] | None:
    """Values that compare in SQL as they do in pandas with a column of `kind`, else None.

    Integers stay below 2**53 so that an integer column held as doubles (a batch with a
    null) equals a value exactly when the integers are equal.
    """
    if not isinstance(values, list | tuple) or not values:
        return None
    fits = {"text": str, "boolean": bool}.get(kind)
    if fits is not None and all(type(v) is fits for v in values):
        return list(values)
    if kind == "integer" and all(_whole_number(v) for v in values):
        return list(values)
    return None


# The flags of a str pattern that sets none (re.UNICODE): any other (IGNORECASE, ASCII,
# DOTALL, VERBOSE, ..., given inline as `(?i)`) leaves the regex to GX.
_DEFAULT_FLAGS = re.compile("").flags


def required_literals(pattern: Any) -> frozenset[str]:
    """Characters every match of `pattern` contains, as Python's `re` parses it.

    Only the bare top-level items of the pattern count, those it parses as LITERAL: each
    is matched by exactly that character, once, whatever the rest of the pattern does. A
    quantified literal is a repeat, an alternation a BRANCH (or a class), a group a
    SUBPATTERN (its scoped flags such as `(?i:...)` stay inside it): none of them counts.
    Empty (nothing known) for anything else: a pattern that is not a str, does not
    compile, has flags beyond the defaults, or has no such literal.
    """
    if not isinstance(pattern, str):
        return frozenset()
    try:
        # Python warns where it reads a pattern otherwise than other engines would
        # ("possible nested set": `[[:alpha:]]` is a class of letters to pandas' RE2).
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = _parser.parse(pattern)
            compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError, Warning):
        return frozenset()
    if parsed.state.flags != _DEFAULT_FLAGS or compiled.flags != _DEFAULT_FLAGS:
        return frozenset()
    return frozenset(
        chr(argument) for opcode, argument in parsed.data if opcode == _constants.LITERAL
    )


def _pandas_searches(pattern: str) -> bool:
    """Whether pandas can search text with `pattern`, as GX does (`str.contains`).

    pandas hands most patterns to pyarrow's RE2, which rejects some that Python's `re`
    takes (`a++`, `(?>...)`): GX would then fail the expectation, so SQL must not pass it.
    Which engine runs depends on the data too (non-ASCII text, newlines): both are tried.
    """
    for sample in (["a"], ["é\n"]):
        try:
            pd.Series(sample, dtype="str").astype(str).str.contains(pattern)
        except Exception:  # noqa: BLE001 - whatever pandas raises, GX would fail on it
            return False
    return True


class _Planner:
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
    ) -> _Check | None:
        allowed = _ARGUMENTS.get(spec.expect)
        if allowed is None:
            return None
        try:
            arguments = resolve(dict(spec.arguments))
            where = resolve(dict(spec.where))
        except ValueError:
            return None  # a {run_context: ...} it cannot read: GX reports why
        mostly = arguments.get("mostly", 1)
        if set(arguments) - allowed or not (_number(mostly) and mostly >= 1):
            return None
        check = _Check(index)
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

    def rows(self, check: _Check, where: Mapping[str, Any]) -> str | None:
        """The `where` as SQL: `{column: value}` or `{column: [values]}`, ANDed, as
        gx_engine.condition makes it; a null never matches, as in pandas."""
        parts = []
        for column, wanted in where.items():
            values = wanted if isinstance(wanted, list | tuple) else [wanted]
            literals = _literals(column_kind(self.info, column), values)
            if literals is None:
                return None
            listed = ", ".join(check.param(v) for v in literals)
            parts.append(f"coalesce({self.value(column)} IN ({listed}), false)")
        return " AND ".join(parts) or "TRUE"

    def not_null(self, check: _Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column = arguments["column"]
        value = self.value(column)
        missing = f"{value} IS NULL"
        if column_kind(self.info, column) in ("double", "float"):
            missing += f" OR isnan({value})"  # pandas: NaN is null
        return check.no_row(missing)

    def in_set(self, check: _Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column, value_set = arguments["column"], arguments.get("value_set")
        kind = column_kind(self.info, column)
        value = self.value(column)
        if isinstance(value_set, QueryValues):
            members = self.query_members(value_set) if kind == "text" else None
        else:
            literals = _literals(kind, value_set)
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

    def between(self, check: _Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        column = arguments["column"]
        kind = column_kind(self.info, column)
        low, high = arguments.get("min_value"), arguments.get("max_value")
        strict_min = arguments.get("strict_min", False)
        strict_max = arguments.get("strict_max", False)
        if kind not in ("integer", "decimal", "double") or (low is None and high is None):
            return None
        if not all(b is None or _number(b) for b in (low, high)):
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

    def unique(self, check: _Check, expect: str, arguments: Mapping[str, Any]) -> str | None:
        """GX: nulls are ignored; every row of a repeated value is unexpected."""
        column = arguments["column"]
        if column_kind(self.info, column) not in _KEY_KINDS:
            return None
        value = self.value(column)
        rows = check.rows
        distinct = (
            f"count({value}) FILTER (WHERE {rows}) = count(DISTINCT {value}) FILTER (WHERE {rows})"
        )
        return " AND ".join([distinct, *self.exact_integers([column], rows)])

    def compound_unique(
        self, check: _Check, expect: str, arguments: Mapping[str, Any]
    ) -> str | None:
        """GX: rows skipped per `ignore_row_if` (by default those whose key is all null);
        nulls in the other keys are equal to each other, as in pandas' `duplicated`."""
        columns = arguments["column_list"]
        ignore = arguments.get("ignore_row_if", "all_values_are_missing")
        if not isinstance(columns, list | tuple) or ignore not in _IGNORE_ROW_IF:
            return None
        if not all(column_kind(self.info, c) in _KEY_KINDS for c in columns):
            return None
        values = [self.value(c) for c in columns]
        kept = check.rows
        joiner = _IGNORE_ROW_IF[ignore]
        if joiner is not None:
            kept += " AND NOT (" + joiner.join(f"{v} IS NULL" for v in values) + ")"
        # Distinct hashes: a collision looks like a duplicate, which GX then decides.
        distinct = (
            f"count(*) FILTER (WHERE {kept}) "
            f"= count(DISTINCT hash({', '.join(values)})) FILTER (WHERE {kept})"
        )
        return " AND ".join([distinct, *self.exact_integers(columns, kept)])

    def not_match_regex(
        self, check: _Check, expect: str, arguments: Mapping[str, Any]
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
        if not literals or not _pandas_searches(regex):
            return None
        holds = " AND ".join(f"contains({value}, {check.param(c)})" for c in sorted(literals))
        return check.no_row(f"{value} IS NOT NULL AND {holds}")

    def exact_integers(self, columns: Sequence[str], rows: str) -> list[str]:
        """Conditions that the integer columns' values stay exact as doubles."""
        return [
            f"coalesce(min({quote(c)}) FILTER (WHERE {rows}) >= -{_EXACT_INTEGER} "
            f"AND max({quote(c)}) FILTER (WHERE {rows}) <= {_EXACT_INTEGER}, true)"
            for c in columns
            if column_kind(self.info, c) == "integer"
        ]


def _evaluate(
    cursor: duckdb.DuckDBPyConnection, info: TableInfo, checks: Sequence[_Check]
) -> dict[int, int]:
    """One scan for `checks`: {index: rows looked at} of those that pass."""
    select = ", ".join(
        f"count(*) FILTER (WHERE {c.rows}), coalesce({c.passes}, false)" for c in checks
    )
    params = {name: value for c in checks for name, value in c.params.items()}
    row = cursor.execute(f"SELECT {select} FROM {qualified(info.name)}", params).fetchone()
    return {c.index: int(row[2 * n]) for n, c in enumerate(checks) if row[2 * n + 1] is True}


def prescreen(
    con: duckdb.DuckDBPyConnection,
    info: TableInfo,
    specs: Sequence[tuple[int, ExpectationSpec]],
    resolve: Callable[[Any], Any],
) -> dict[int, int]:
    """The expectations of `specs` that pass in SQL: {index: element_count}.

    element_count is what GX reports: the rows its `where` selects. `resolve` replaces
    `{run_context: ...}` placeholders (ValueError when it cannot). Never raises for a
    query DuckDB rejects: those expectations are simply not decided here.
    """
    with utc_cursor(con) as cursor:  # the batches are read in UTC too
        if cursor.execute("SELECT current_setting('default_collation')").fetchone()[0]:
            # A collation (NOCASE, ...) would make text equal that pandas tells apart.
            return {}
        planner = _Planner(cursor, info)
        checks = [c for i, s in specs if (c := planner.check(i, s, resolve)) is not None]
        if not checks:
            return {}
        try:
            return _evaluate(cursor, info, checks)
        except duckdb.Error as exc:
            log.debug("pre-screen of %s in one query failed (%s): one by one", info.name, exc)
        passed: dict[int, int] = {}
        for check in checks:
            try:
                passed.update(_evaluate(cursor, info, [check]))
            except duckdb.Error as exc:
                log.debug("pre-screen of expectation %d on %s: %s", check.index, info.name, exc)
        return passed
