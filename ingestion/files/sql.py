"""The SQL text the reader runs on the scratch database: names, literals, casts, checks.

Apart from the reader because it is pure text building from the contract's columns (no
connection, no state): what a column's check is, and how its text becomes its type.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ingestion.files.contract import Column, Entity


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(path: Path) -> str:
    """`path` as an SQL string literal (a folder may be named O'Brien)."""
    return "'" + str(path).replace("'", "''") + "'"


def cast_sql(column: Column, text: str) -> str:
    """SQL turning the trimmed text `text` into the column's contract type (NULL if empty)."""
    value = f"NULLIF(TRIM({text}), '')"
    t = column.type
    if column.allowed is not None:
        return f"LOWER({value})"
    if column.name == "currency":
        return f"UPPER({value})"
    if pa.types.is_string(t):
        return value
    if pa.types.is_timestamp(t):
        # Without an offset a timestamp is UTC: the session zone is UTC.
        return f"TRY_CAST({value} AS TIMESTAMPTZ)"
    if pa.types.is_date(t):
        return f"TRY_CAST({value} AS DATE)"
    if pa.types.is_decimal(t):
        return f"TRY_CAST({value} AS DECIMAL({t.precision},{t.scale}))"
    if pa.types.is_integer(t):
        return f"TRY_CAST({value} AS INTEGER)"
    raise TypeError(f"no cast for {t}")  # a contract column of a type this reader lacks


def type_words(column: Column) -> str:
    t = column.type
    if pa.types.is_timestamp(t):
        return "an ISO 8601 timestamp such as 2026-03-01T14:30:00Z (UTC when no offset)"
    if pa.types.is_date(t):
        return "a date such as 2026-03-01"
    if pa.types.is_decimal(t):
        return "a number with a dot as decimal separator, such as 1250.50"
    if pa.types.is_integer(t):
        return "a whole number"
    return "text"


def conditions(entity: Entity, mapping: dict[str, str]) -> list[tuple[Column, str, str]]:
    """(column, SQL condition true on a bad row, what is wrong) of every check."""
    checks: list[tuple[Column, str, str]] = []
    for column in entity.columns:
        if column.name not in mapping:
            continue
        raw = quote(column.name)
        typed = cast_sql(column, raw)
        empty = f"NULLIF(TRIM({raw}), '') IS NULL"
        if not column.nullable:
            checks.append((column, empty, "is empty; a value is required"))
        if column.allowed is not None:
            checks.append(
                (
                    column,
                    f"NOT {empty} AND {typed} NOT IN "
                    f"({', '.join(repr(a) for a in column.allowed)})",
                    f"is not one of {', '.join(column.allowed)}",
                )
            )
        elif column.name == "currency":
            checks.append(
                (
                    column,
                    f"NOT {empty} AND NOT regexp_full_match({typed}, '[A-Z]{{3}}')",
                    "is not a 3-letter ISO 4217 currency code such as EUR",
                )
            )
        elif not pa.types.is_string(column.type):
            checks.append(
                (column, f"NOT {empty} AND {typed} IS NULL", f"is not {type_words(column)}")
            )
            if column.minimum is not None:
                op = "<=" if column.exclusive_minimum else "<"
                words = "greater than" if column.exclusive_minimum else "at least"
                checks.append(
                    (
                        column,
                        f"{typed} {op} {column.minimum}",
                        f"must be {words} {column.minimum}",
                    )
                )
            if column.maximum is not None:
                checks.append(
                    (column, f"{typed} > {column.maximum}", f"must be at most {column.maximum}")
                )
    return checks
