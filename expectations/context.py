"""What an expectation is evaluated with: this run's run_context values and its GX arguments.

Suites may name `{run_context: ...}` values and `{query: ...}` value sets; both are
worked out here, against the build database, just before GX sees the expectation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from expectations.batches import describe
from expectations.specs import ExpectationSpec, RunContextValue


class CannotEvaluate(ValueError):
    """An expectation's arguments cannot be worked out on this database."""


class RunContext:
    """This run's raw_run.run_context row, read once and only when a suite asks for it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._row: dict[str, Any] | None = None

    def get(self, column: str) -> Any:
        if self._row is None:
            if describe(self._con, "raw_run.run_context") is None:
                raise CannotEvaluate(
                    "a suite uses {run_context: ...} but raw_run.run_context does not exist "
                    "in this database: the pipeline writes it before dbt runs"
                )
            cursor = self._con.execute("SELECT * FROM raw_run.run_context LIMIT 1")
            names = [d[0] for d in cursor.description]
            row = cursor.fetchone()
            self._row = dict(zip(names, row, strict=True)) if row else {}
        if column not in self._row:
            raise CannotEvaluate(f"raw_run.run_context has no column {column!r} (or no row)")
        return self._row[column]


def resolve(value: Any, context: RunContext) -> Any:
    """`{run_context: ...}` placeholders replaced by this run's values."""
    if isinstance(value, RunContextValue):
        return context.get(value.column)
    if isinstance(value, Mapping):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    return value


def batch_expectation(
    spec: ExpectationSpec,
    frame: pd.DataFrame,
    cursor: duckdb.DuckDBPyConnection,
    context: RunContext,
) -> tuple[str, dict[str, Any]]:
    """The GX expectation type and arguments that decide `spec` on this batch.

    A value set given as a query (the ids of another table) is not handed to GX whole:
    GX copies an expectation's arguments many times per validation, which took minutes
    with 200,000 ids. The batch's own values are compared with the query in DuckDB
    instead, and GX gets the same verdict from the few values that matter: "in the
    query's values" becomes "not among the batch's values missing from the query", and
    "not in the query's values" keeps only the batch's values found there.
    """
    arguments = resolve(dict(spec.arguments), context)
    query = spec.value_query
    if query is None:
        return spec.expect, arguments
    present = frame[spec.target_columns[0]].dropna().unique()
    if len(present) == 0:
        return "expect_column_values_to_not_be_in_set", {**arguments, "value_set": []}
    keep_missing = spec.expect == "expect_column_values_to_be_in_set"
    operator = "EXCEPT" if keep_missing else "INTERSECT"
    cursor.register("batch_values", pa.table({"v": pa.array(present)}))
    try:
        rows = cursor.execute(
            f"SELECT v FROM batch_values {operator} {query.values_sql}"
        ).fetchall()
    except duckdb.Error as exc:
        raise CannotEvaluate(f"its value_set query ({spec.origin}) failed: {exc}") from None
    finally:
        cursor.unregister("batch_values")
    arguments["value_set"] = [v for (v,) in rows]
    return "expect_column_values_to_not_be_in_set", arguments
