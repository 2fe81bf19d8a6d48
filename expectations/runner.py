"""Running the quality suites on the build database: the gate before a publish.

    results = run_suites(con, "crm", run_id=run_id, settings=QualitySettings.from_env())
    log(report(results))
    gate(results)                      # raises QualityGateError on a blocking failure
    ... publish ...
    record_row_counts(con, run_id, row_count_tables(results))

Layers: "raw:<source>" (after that source's load), "crm" (the intermediate tables and
the quarantine, after dbt), "marts" (before the publish). The suites are the YAML files
of expectations/suites/.

Each table's expectations are evaluated in two steps (expectations/table_run.py):
1. the SQL pre-screen (expectations/sql_checks.py): the common ones (not null, in set,
   between, unique, compound unique, not match regex) as one DuckDB aggregate over the
   table. Those that pass there are reported as GX would report them (its
   element_count, no unexpected row); SQL is at least as strict as GX, so it never
   passes what GX would fail.
2. Great Expectations, for the rest: those that failed in SQL (GX then gives the
   verdict, the counts and the sample rows), and those SQL cannot decide (a regex to
   match, a value holding all of a regex's required characters, column pairs, `mostly`
   below 1, unusual types). The table is read from DuckDB in pandas
   batches of at most `settings.chunk_rows` rows; the verdicts of the batches add up to
   the table's (unexpected rows summed, samples from the first failing batches), so
   memory stays bounded whatever the table's size. A table whose expectations all
   passed in SQL is not read at all.
`settings.sql_pushdown` off (CRM_KPI_QUALITY_SQL_PUSHDOWN=0) skips step 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import duckdb

from expectations.batches import describe, tables_in_schema
from expectations.context import RunContext
from expectations.freshness import freshness_result
from expectations.results import (
    MAX_SAMPLES,
    ExpectationResult,
    QualityGateError,
    SuiteResult,
    gate,
    report,
)
from expectations.settings import QualitySettings
from expectations.specs import ExpectationSpec, SuiteSpec
from expectations.suites import load_layer
from expectations.table_checks import (
    ROW_COUNT_CHECK,
    quarantine_results,
    record_row_counts,
    row_count_result,
)
from expectations.table_run import TableRun
from expectations.tally import not_evaluated

if TYPE_CHECKING:
    from expectations.gx_engine import BatchValidator

__all__ = [
    "ExpectationResult",
    "QualityGateError",
    "QualitySettings",
    "SuiteResult",
    "check_freshness",
    "gate",
    "record_row_counts",
    "report",
    "row_count_tables",
    "run_suites",
    "stale_sources",
]

log = logging.getLogger(__name__)


def _suite_tables(
    con: duckdb.DuckDBPyConnection, suite: SuiteSpec
) -> list[tuple[str, list[ExpectationSpec]]]:
    """(table, expectations) pairs of a suite: one, or one per table of its schema."""
    if suite.table is not None:
        return [(suite.table, list(suite.expectations))]
    pairs = []
    for table in tables_in_schema(con, suite.every_table_in_schema or ""):
        info = describe(con, table)
        text_columns = [c for c in info.columns if info.is_text(c)] if info else []
        specs = list(suite.expectations)
        specs += [t.for_column(c) for t in suite.for_each_text_column for c in text_columns]
        pairs.append((table, specs))
    return pairs


def _run_suite(
    con: duckdb.DuckDBPyConnection,
    validator: BatchValidator,
    context: RunContext,
    suite: SuiteSpec,
    *,
    run_id: str,
    settings: QualitySettings,
) -> list[SuiteResult]:
    suite_results = []
    for table, specs in _suite_tables(con, suite):
        started = time.perf_counter()
        info = describe(con, table)
        if info is None:
            results = [
                not_evaluated(suite.name, table, spec, f"table {table} does not exist")
                for spec in specs
            ]
        else:
            results = TableRun(con, validator, context, suite.name, info, suite.key, settings).run(
                specs
            )
            if suite.row_count:
                results.append(
                    row_count_result(
                        con, suite.name, table, info.rows, run_id=run_id, settings=settings
                    )
                )
        log.debug(
            "suite %s on %s: %d expectation(s) in %.1f s",
            suite.name,
            table,
            len(results),
            time.perf_counter() - started,
        )
        suite_results.append(SuiteResult(suite.name, table, results))
    return suite_results


def run_suites(
    con: duckdb.DuckDBPyConnection, layer: str, *, run_id: str, settings: QualitySettings
) -> list[SuiteResult]:
    """Run every suite of `layer` on the database of `con` (read only; nothing is written).

    `layer` is "raw:<source>", "crm" or "marts". Raw layers also report the source's
    freshness; "crm" also reports the quarantine. Raises SuiteFileError for a broken
    suite file and ValueError for a bad layer name.
    """
    from expectations.gx_engine import BatchValidator  # GX takes seconds to import

    layer_suites = load_layer(layer)
    validator = BatchValidator(sample_count=MAX_SAMPLES)
    context = RunContext(con)
    results: list[SuiteResult] = []
    for suite in layer_suites.suites:
        results.extend(_run_suite(con, validator, context, suite, run_id=run_id, settings=settings))
    if layer_suites.quarantine is not None:
        results.extend(
            quarantine_results(con, layer_suites.quarantine, run_id=run_id, settings=settings)
        )
    if layer_suites.source is not None:
        freshness = freshness_result(
            con,
            layer_suites.source,
            layer_suites.freshness,
            settings=settings,
            now=_end_of_as_of(con),
        )
        results.append(SuiteResult(freshness.suite, freshness.table, [freshness]))
    return results


def _end_of_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The end of this run's as_of (UTC midnight after it), no later than now: a run pinned
    to a past day measures freshness at that day, not today."""
    if describe(con, "raw_run.run_context") is None:
        return None
    row = con.execute("SELECT max(as_of) FROM raw_run.run_context").fetchone()
    if not row or row[0] is None:
        return None
    end = datetime.combine(row[0] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return min(end, datetime.now(tz=UTC))


def row_count_tables(results: Iterable[SuiteResult]) -> list[str]:
    """The tables whose row counts the suites compared: what record_row_counts should keep."""
    return sorted({r.table for s in results for r in s.results if r.expectation == ROW_COUNT_CHECK})


def check_freshness(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    settings: QualitySettings,
    now: datetime | None = None,
) -> ExpectationResult:
    """How fresh `source` is: its newest change per its raw suite file, else its last load."""
    spec = load_layer(f"raw:{source}").freshness
    return freshness_result(con, source, spec, settings=settings, now=now)


def stale_sources(
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[str],
    *,
    settings: QualitySettings,
    now: datetime | None = None,
) -> list[ExpectationResult]:
    """The sources older than `settings.max_source_age_hours` (warnings, never blocking)."""
    checks = [check_freshness(con, s, settings=settings, now=now) for s in sources]
    return [c for c in checks if not c.success]
