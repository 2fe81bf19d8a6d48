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
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from expectations.batches import TableInfo, qualified, utc_cursor
from expectations.specs import ExpectationSpec
from expectations.sql_planner import Check, Planner

log = logging.getLogger(__name__)


def _evaluate(
    cursor: duckdb.DuckDBPyConnection, info: TableInfo, checks: Sequence[Check]
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
        planner = Planner(cursor, info)
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
