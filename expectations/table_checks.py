"""Checks on whole tables that the runner computes in SQL: row counts against the last
successful run, and quarantined rows against their entity (source freshness, a warning
only, is expectations/freshness.py).

They report as ExpectationResults beside the Great Expectations ones, so a gate and a
report treat them alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import duckdb

from expectations.batches import describe, qualified, quote, tables_in_schema
from expectations.results import MAX_SAMPLES, ExpectationResult, SuiteResult
from expectations.samples import plain
from expectations.settings import QualitySettings
from expectations.specs import QuarantineSpec

ROW_COUNTS_TABLE = "quality.row_counts"
ROW_COUNT_CHECK = "row_count_not_collapsing"
QUARANTINE_CHECK = "quarantine_share_at_most"
QUARANTINE_SUITE = "crm.quarantine"


def _share(value: float) -> str:
    return f"{value * 100:g} %"


def record_row_counts(con: duckdb.DuckDBPyConnection, run_id: str, tables: Iterable[str]) -> None:
    """Record the row count of each `schema.table` for `run_id` in quality.row_counts.

    Call it after a successful publish: the next run compares its counts with these.
    Recording a run twice replaces its counts.
    """
    counts: list[tuple[str, int]] = []
    for table in dict.fromkeys(tables):
        info = describe(con, table)
        if info is None:
            raise ValueError(
                f"record_row_counts: table {table} does not exist in this database; pass "
                "the tables the suites checked (expectations.runner.row_count_tables(results))"
            )
        counts.append((table, info.rows))
    now = datetime.now(tz=UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS quality")
        con.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {ROW_COUNTS_TABLE} (
                run_id VARCHAR NOT NULL,
                table_name VARCHAR NOT NULL,
                row_count BIGINT NOT NULL,
                recorded_at TIMESTAMPTZ NOT NULL
            )
            """
        )
        for table, rows in counts:
            con.execute(
                f"DELETE FROM {ROW_COUNTS_TABLE} WHERE run_id = ? AND table_name = ?",
                [run_id, table],
            )
            con.execute(
                f"INSERT INTO {ROW_COUNTS_TABLE} VALUES (?, ?, ?, ?)", [run_id, table, rows, now]
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def previous_row_count(
    con: duckdb.DuckDBPyConnection, table: str, run_id: str
) -> tuple[str, int] | None:
    """(run id, rows) of the latest recorded run other than `run_id`, if any."""
    if describe(con, ROW_COUNTS_TABLE) is None:
        return None
    row = con.execute(
        f"""
        SELECT run_id, row_count FROM {ROW_COUNTS_TABLE}
        WHERE table_name = ? AND run_id <> ?
        ORDER BY recorded_at DESC, run_id DESC LIMIT 1
        """,
        [table, run_id],
    ).fetchone()
    return (row[0], int(row[1])) if row else None


def row_count_result(
    con: duckdb.DuckDBPyConnection,
    suite: str,
    table: str,
    rows: int,
    *,
    run_id: str,
    settings: QualitySettings,
) -> ExpectationResult:
    """Blocking: the table lost at most `max_shrink` of its rows since the last success.

    element_count is the previous count and unexpected_count the rows lost, so a table
    that shrank a little shows as a note in the report.
    """
    previous = previous_row_count(con, table, run_id)
    limit = (
        f"its row count falls by at most {_share(settings.max_shrink)} since the last "
        "successful run"
    )
    if previous is None:
        return ExpectationResult(
            suite=suite,
            table=table,
            expectation=ROW_COUNT_CHECK,
            column=None,
            blocking=True,
            success=True,
            element_count=rows,
            unexpected_count=0,
            samples=[],
            description=f"{limit} (no earlier run recorded; {rows:,} rows now)",
        )
    previous_run, before = previous
    lost = max(before - rows, 0)
    success = before == 0 or lost / before <= settings.max_shrink
    return ExpectationResult(
        suite=suite,
        table=table,
        expectation=ROW_COUNT_CHECK,
        column=None,
        blocking=True,
        success=success,
        element_count=before,
        unexpected_count=lost,
        samples=[],  # the description says it all: no rows to show
        description=f"{limit} (run {previous_run}: {before:,} rows; now {rows:,})"
        + (
            ""
            if success
            else ". If the data really shrank (another export, other sources), run once "
            "with CRM_KPI_MAX_SHRINK=1"
        ),
    )


def quarantine_results(
    con: duckdb.DuckDBPyConnection,
    spec: QuarantineSpec,
    *,
    run_id: str,
    settings: QualitySettings,
) -> list[SuiteResult]:
    """One result per table of the quarantine schema: this run's rows, by reason.

    No schema or no table means nothing was quarantined.
    """
    results = []
    for table in tables_in_schema(con, spec.schema):
        entity = table.partition(".")[2]
        results.append(
            SuiteResult(
                QUARANTINE_SUITE,
                table,
                [_quarantine_result(con, spec, table, entity, run_id, settings)],
            )
        )
    return results


def _quarantine_result(
    con: duckdb.DuckDBPyConnection,
    spec: QuarantineSpec,
    table: str,
    entity: str,
    run_id: str,
    settings: QualitySettings,
) -> ExpectationResult:
    limit = f"rows quarantined are at most {_share(settings.max_quarantine_share)} of {entity}"
    info = describe(con, table)
    missing = [c for c in ("reason", "run_id") if info is None or c not in info.columns]
    kept_table = spec.entities.get(entity, f"intermediate.int_{entity}")
    kept = describe(con, kept_table)
    problem = None
    if missing:
        problem = (
            f"{table} has no column {', '.join(missing)}: a quarantine table holds the "
            "entity's columns plus `reason` and `run_id`"
        )
    elif kept is None:
        problem = (
            f"no table {kept_table} holds the kept rows of {entity}: add `{entity}: "
            "schema.table` under quarantine.entities in expectations/suites/crm.yml"
        )
    if problem:
        return ExpectationResult(
            suite=QUARANTINE_SUITE,
            table=table,
            expectation=QUARANTINE_CHECK,
            column=None,
            blocking=True,
            success=False,
            element_count=0,
            unexpected_count=0,
            samples=[],
            description=f"{limit}: could not be evaluated: {problem}",
        )
    by_reason = con.execute(
        f"""
        SELECT coalesce(reason, '(no reason given)'), count(*) AS rows
        FROM {qualified(table)} WHERE run_id = ?
        GROUP BY ALL ORDER BY rows DESC, 1
        """,
        [run_id],
    ).fetchall()
    quarantined = sum(n for _, n in by_reason)
    total = quarantined + kept.rows
    success = total == 0 or quarantined / total <= settings.max_quarantine_share
    cursor = con.execute(
        f"SELECT * FROM {qualified(table)} WHERE run_id = ? ORDER BY {quote('reason')} LIMIT ?",
        [run_id, MAX_SAMPLES],
    )
    names = [d[0] for d in cursor.description]
    samples: list[dict[str, Any]] = [
        {n: plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()
    ]
    reasons = "; ".join(f"{n:,} x {reason}" for reason, n in by_reason) or "none"
    return ExpectationResult(
        suite=QUARANTINE_SUITE,
        table=table,
        expectation=QUARANTINE_CHECK,
        column=None,
        blocking=True,
        success=success,
        element_count=total,
        unexpected_count=quarantined,
        samples=samples,
        description=f"{limit} ({quarantined:,} quarantined by this run, {kept.rows:,} kept "
        f"in {kept_table}; reasons: {reasons})",
    )
