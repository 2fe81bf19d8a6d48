"""Reading DuckDB tables as pandas batches of bounded size, for Great Expectations.

Two ways to cut a table:
- `stream`: one scan, handed out `chunk_rows` rows at a time (Arrow record batches
  converted to pandas), for expectations that judge each row on its own;
- `partitions`: rows split by a hash of a key, so that every copy of a key value lands
  in the same batch and uniqueness checked batch by batch is uniqueness of the table.
Only the columns the expectations read are fetched; decimals arrive as doubles (pandas
would hold them as Python objects, ten times the memory).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

TEXT_TYPES = ("VARCHAR", "JSON", "ENUM")
# Lists, arrays, structs, maps and unions can hold text: scanned as their text form.
NESTED_MARKERS = ("[", "STRUCT", "MAP", "UNION")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    schema, _, name = table.partition(".")
    return f"{quote(schema)}.{quote(name)}"


@dataclass(frozen=True)
class TableInfo:
    name: str  # schema.table
    columns: Mapping[str, str]  # column -> DuckDB type, in table order
    rows: int

    def is_text(self, column: str) -> bool:
        kind = self.columns[column].upper()
        return kind.startswith(TEXT_TYPES) or any(m in kind for m in NESTED_MARKERS)

    def holds_text(self, column: str) -> bool:
        """Whether the batches hold the column's values as strings: VARCHAR, and the
        types value_expression casts to VARCHAR; a VARCHAR list stays a list."""
        kind = self.columns[column].upper()
        return self.is_text(column) and not (kind.startswith("VARCHAR") and kind.endswith("]"))

    def value_expression(self, column: str) -> str:
        """A column's values as the batches hold them: decimals as doubles, text-like
        values (enums, JSON, structs, maps, lists of other types) as their text, a
        VARCHAR list as a list (the SQL pre-screen compares these very values)."""
        kind = self.columns[column].upper()
        if kind.startswith("DECIMAL"):
            return f"CAST({quote(column)} AS DOUBLE)"
        if self.is_text(column) and not kind.startswith("VARCHAR"):
            return f"CAST({quote(column)} AS VARCHAR)"
        return quote(column)

    def select_expression(self, column: str) -> str:
        """How a column is fetched: its value_expression under its own name."""
        expression = self.value_expression(column)
        return expression if expression == quote(column) else f"{expression} AS {quote(column)}"


@contextmanager
def utc_cursor(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own (a batch stream stays open while other queries run), in UTC."""
    cursor = con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        yield cursor
    finally:
        cursor.close()


def describe(con: duckdb.DuckDBPyConnection, table: str) -> TableInfo | None:
    """Columns and row count of `schema.table` in the connection's database; None if absent."""
    schema, _, name = table.partition(".")
    columns = con.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?
        ORDER BY ordinal_position
        """,
        [schema, name],
    ).fetchall()
    if not columns:
        return None
    rows = con.execute(f"SELECT count(*) FROM {qualified(table)}").fetchone()[0]
    return TableInfo(table, dict(columns), int(rows))


def tables_in_schema(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """`schema.table` of every table and view in `schema`, by name."""
    rows = con.execute(
        """
        SELECT table_name FROM information_schema.tables
        WHERE table_catalog = current_database() AND table_schema = ?
        ORDER BY table_name
        """,
        [schema],
    ).fetchall()
    return [f"{schema}.{name}" for (name,) in rows]


def _frames(relation: duckdb.DuckDBPyRelation, chunk_rows: int) -> Iterator[pd.DataFrame]:
    for batch in relation.to_arrow_reader(chunk_rows):
        if batch.num_rows:
            # Dates as datetime64 like timestamps: GX compares them without Python objects.
            yield batch.to_pandas(date_as_object=False)


def stream(
    con: duckdb.DuckDBPyConnection,
    info: TableInfo,
    columns: Sequence[str],
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """The table in batches of at most `chunk_rows`, in storage order.

    No ORDER BY: sorting a big table costs memory, and DuckDB keeps insertion order
    (`preserve_insertion_order`, on by default), so samples are stable between runs.
    """
    select = ", ".join(info.select_expression(c) for c in columns)
    with utc_cursor(con) as cursor:
        relation = cursor.sql(f"SELECT {select} FROM {qualified(info.name)}")
        yield from _frames(relation, chunk_rows)


def partition_count(rows: int, chunk_rows: int) -> int:
    return max(1, math.ceil(rows / chunk_rows))


def partitions(
    con: duckdb.DuckDBPyConnection,
    info: TableInfo,
    columns: Sequence[str],
    key: Sequence[str],
    chunk_rows: int,
    *,
    skip_all_null_keys: bool,
) -> Iterator[pd.DataFrame]:
    """The table in batches cut by hash of `key`: equal keys always share a batch.

    Each batch is a scan of the table keeping one hash bucket; DuckDB scans fast enough
    that this costs less than the validation. Rows whose key is entirely null can be
    left out (GX ignores them for uniqueness) so they do not pile into one batch.
    """
    parts = partition_count(info.rows, chunk_rows)
    select = ", ".join(info.select_expression(c) for c in columns)
    keys = ", ".join(quote(c) for c in key)
    filters = []
    if skip_all_null_keys:
        filters.append("NOT (" + " AND ".join(f"{quote(c)} IS NULL" for c in key) + ")")
    if parts > 1:
        filters.append(f"hash({keys}) % {parts} = $part")
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    sql = f"SELECT {select} FROM {qualified(info.name)}{where}"
    with utc_cursor(con) as cursor:
        for part in range(parts):
            params: dict[str, Any] = {"part": part} if parts > 1 else {}
            relation = cursor.sql(sql, params=params or None)
            frames = list(_frames(relation, chunk_rows))
            if frames:
                yield frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
