"""What the SQL pre-screen knows of types and values: column kinds, literals GX compares alike.

The pre-screen may pass an expectation only where SQL sees the values the pandas batches
hold; these are the rules for when it does (which column types, which literal values,
which regexes), kept apart from the SQL they gate.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from re import _constants, _parser  # Python's own regex parser (3.11+)
from typing import Any

import pandas as pd

from expectations.batches import TableInfo

NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
NOT_MATCH_REGEX = "expect_column_values_to_not_match_regex"

# The GX arguments each pushed-down type may have: any other (a GX option this module
# does not know) changes what GX checks, so the expectation is left to GX.
ARGUMENTS: Mapping[str, frozenset[str]] = {
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
# integers within EXACT_INTEGER: uniqueness is decided only on these.
KEY_KINDS = frozenset({"text", "integer", "boolean", "temporal"})
# A batch with a null holds an integer column as doubles, exact up to 2**53 only: beyond
# it two integers can be one double, a duplicate to GX.
EXACT_INTEGER = 2**53
IGNORE_ROW_IF = {
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


def _whole_number(value: Any) -> bool:
    # bool is an int to Python, not to GX or DuckDB.
    return type(value) is int and abs(value) < EXACT_INTEGER


def number(value: Any) -> bool:
    if type(value) is int:
        return abs(value) < 2**63
    return type(value) is float and math.isfinite(value)


def literals_for(kind: str, values: Any) -> list[Any] | None:
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


def pandas_searches(pattern: str) -> bool:
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
