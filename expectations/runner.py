"""Running the quality suites on the build database: the gate before a publish.

    results = run_suites(con, "crm", run_id=run_id, settings=QualitySettings.from_env())
    log(report(results))
    gate(results)                      # raises QualityGateError on a blocking failure
    ... publish ...
    record_row_counts(con, run_id, row_count_tables(results))

Layers: "raw:<source>" (after that source's load), "crm" (the intermediate tables and
the quarantine, after dbt), "marts" (before the publish). The suites are the YAML files
of expectations/suites/.

Each table's expectations are evaluated in two steps:
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from expectations.batches import (
    TableInfo,
    describe,
    partitions,
    qualified,
    quote,
    stream,
    tables_in_schema,
    utc_cursor,
)
from expectations.results import (
    MAX_SAMPLES,
    ExpectationResult,
    QualityGateError,
    SuiteResult,
    gate,
    report,
)
from expectations.samples import sample_rows
from expectations.settings import QualitySettings
from expectations.sql_checks import prescreen
from expectations.suites import (
    ExpectationSpec,
    RunContextValue,
    SuiteSpec,
    load_layer,
)
from expectations.table_checks import (
    ROW_COUNT_CHECK,
    freshness_result,
    quarantine_results,
    record_row_counts,
    row_count_result,
)

if TYPE_CHECKING:
    from expectations.gx_engine import BatchOutcome, BatchValidator

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


@dataclass
class _Tally:
    """One expectation's verdicts over the batches of a table, added up."""

    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    failed_batches: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def add(
        self, outcome: BatchOutcome, frame: pd.DataFrame, sample_columns: Sequence[str]
    ) -> None:
        if outcome.error is not None:
            self.error = self.error or outcome.error
            return
        self.element_count += outcome.element_count
        self.unexpected_count += outcome.unexpected_count
        self.missing_count += outcome.missing_count
        self.failed_batches += not outcome.success
        room = MAX_SAMPLES - len(self.samples)
        if room > 0 and outcome.unexpected_labels:
            self.samples.extend(sample_rows(frame, outcome.unexpected_labels, sample_columns, room))

    def success(self, mostly: float) -> bool:
        if self.error is not None:
            return False
        if mostly >= 1:
            return self.unexpected_count == 0 and self.failed_batches == 0
        considered = self.element_count - self.missing_count
        return considered == 0 or (considered - self.unexpected_count) / considered >= mostly


class _CannotEvaluate(ValueError):
    """An expectation's arguments cannot be worked out on this database."""


class _RunContext:
    """This run's raw_run.run_context row, read once and only when a suite asks for it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._row: dict[str, Any] | None = None

    def get(self, column: str) -> Any:
        if self._row is None:
            if describe(self._con, "raw_run.run_context") is None:
                raise _CannotEvaluate(
                    "a suite uses {run_context: ...} but raw_run.run_context does not exist "
                    "in this database: the pipeline writes it before dbt runs"
                )
            cursor = self._con.execute("SELECT * FROM raw_run.run_context LIMIT 1")
            names = [d[0] for d in cursor.description]
            row = cursor.fetchone()
            self._row = dict(zip(names, row, strict=True)) if row else {}
        if column not in self._row:
            raise _CannotEvaluate(f"raw_run.run_context has no column {column!r} (or no row)")
        return self._row[column]


def _resolve(value: Any, context: _RunContext) -> Any:
    """`{run_context: ...}` placeholders replaced by this run's values."""
    if isinstance(value, RunContextValue):
        return context.get(value.column)
    if isinstance(value, Mapping):
        return {k: _resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, context) for v in value]
    return value


def _batch_expectation(
    spec: ExpectationSpec,
    frame: pd.DataFrame,
    cursor: duckdb.DuckDBPyConnection,
    context: _RunContext,
) -> tuple[str, dict[str, Any]]:
    """The GX expectation type and arguments that decide `spec` on this batch.

    A value set given as a query (the ids of another table) is not handed to GX whole:
    GX copies an expectation's arguments many times per validation, which took minutes
    with 200,000 ids. The batch's own values are compared with the query in DuckDB
    instead, and GX gets the same verdict from the few values that matter: "in the
    query's values" becomes "not among the batch's values missing from the query", and
    "not in the query's values" keeps only the batch's values found there.
    """
    arguments = _resolve(dict(spec.arguments), context)
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
        raise _CannotEvaluate(f"its value_set query ({spec.origin}) failed: {exc}") from None
    finally:
        cursor.unregister("batch_values")
    arguments["value_set"] = [v for (v,) in rows]
    return "expect_column_values_to_not_be_in_set", arguments


def _result(
    suite: str,
    table: str,
    spec: ExpectationSpec,
    *,
    success: bool,
    element_count: int = 0,
    unexpected_count: int = 0,
    samples: list[dict[str, Any]] | None = None,
    error: str | None = None,
) -> ExpectationResult:
    """The verdict on `spec`; `error` says why it could not be evaluated."""
    return ExpectationResult(
        suite=suite,
        table=table,
        expectation=spec.expect,
        column=spec.column_label,
        blocking=spec.blocking,
        success=success,
        element_count=element_count,
        unexpected_count=unexpected_count,
        samples=samples or [],
        description=spec.description + (f": could not be evaluated: {error}" if error else ""),
    )


def _not_evaluated(suite: str, table: str, spec: ExpectationSpec, why: str) -> ExpectationResult:
    return _result(suite, table, spec, success=False, error=why)


class _TableRun:
    """The expectations of one suite on one table, batch by batch."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        validator: BatchValidator,
        context: _RunContext,
        suite: str,
        info: TableInfo,
        key: Sequence[str],
        settings: QualitySettings,
    ) -> None:
        self.con, self.validator, self.context = con, validator, context
        self.suite, self.info, self.settings = suite, info, settings
        self.key = [c for c in key if c in info.columns]

    def sample_columns(self, spec: ExpectationSpec) -> list[str]:
        columns = [*self.key, *spec.columns_read]
        return [c for c in dict.fromkeys(columns) if c in self.info.columns]

    def columns_for(
        self, specs: Sequence[tuple[int, ExpectationSpec]], extra: Sequence[str] = ()
    ) -> list[str]:
        """The columns a pass fetches: the key, then what its expectations read or show."""
        columns = [*self.key, *extra]
        for _, spec in specs:
            columns.extend(spec.columns_read)
        return [c for c in dict.fromkeys(columns) if c in self.info.columns]

    def validate(
        self,
        frames: Iterable[pd.DataFrame],
        specs: Sequence[tuple[int, ExpectationSpec]],
        tallies: dict[int, _Tally],
    ) -> None:
        from expectations.gx_engine import BatchOutcome, build

        with utc_cursor(self.con) as cursor:
            for frame in frames:
                built = {}
                for index, spec in specs:
                    try:
                        expect, arguments = _batch_expectation(spec, frame, cursor, self.context)
                        where = _resolve(dict(spec.where), self.context)
                    except _CannotEvaluate as exc:
                        # One broken expectation (its value_set query or run_context value)
                        # fails alone; the others still run.
                        tallies[index].error = tallies[index].error or str(exc)
                        continue
                    built[index] = build(expect, arguments, where, index)
                outcomes = self.validator.validate(frame, list(built.values())) if built else {}
                for index, spec in specs:
                    if index in built:
                        # An expectation GX gave no verdict on has not passed.
                        outcome = outcomes.get(index) or BatchOutcome(
                            success=False, error="Great Expectations gave no result for it"
                        )
                        tallies[index].add(outcome, frame, self.sample_columns(spec))

    def run(self, specs: Sequence[ExpectationSpec]) -> list[ExpectationResult]:
        results: dict[int, ExpectationResult] = {}
        runnable: list[tuple[int, ExpectationSpec]] = []
        for index, spec in enumerate(specs):
            missing = [c for c in spec.columns_required if c not in self.info.columns]
            if missing:
                results[index] = _not_evaluated(
                    self.suite,
                    self.info.name,
                    spec,
                    f"column(s) {', '.join(missing)} not in {self.info.name} "
                    f"(it has {', '.join(self.info.columns)})",
                )
            else:
                runnable.append((index, spec))
        if self.settings.sql_pushdown:
            passed = prescreen(
                self.con, self.info, runnable, lambda value: _resolve(value, self.context)
            )
            for index, element_count in passed.items():
                # As GX reports a pass: its element_count, no unexpected row, no sample.
                results[index] = _result(
                    self.suite,
                    self.info.name,
                    specs[index],
                    success=True,
                    element_count=element_count,
                )
            runnable = [(i, s) for i, s in runnable if i not in passed]
        tallies = {index: _Tally() for index, _ in runnable}
        chunk = self.settings.chunk_rows
        # With nothing left for GX (all passed in SQL), the table is not read into pandas.
        if runnable and self.info.rows <= chunk:
            # One batch holds the table: every expectation, uniqueness too, in one pass.
            pieces = list(stream(self.con, self.info, self.columns_for(runnable), chunk))
            frames = [pd.concat(pieces, ignore_index=True)] if len(pieces) > 1 else pieces
            self.validate(frames, runnable, tallies)
        elif runnable:
            self.run_in_batches(runnable, tallies)
        for index, spec in runnable:
            tally = tallies[index]
            results[index] = _result(
                self.suite,
                self.info.name,
                spec,
                success=tally.success(float(spec.arguments.get("mostly", 1))),
                element_count=tally.element_count,
                unexpected_count=tally.unexpected_count,
                samples=tally.samples,
                error=tally.error,
            )
        return [results[i] for i in sorted(results)]

    def run_in_batches(
        self, runnable: Sequence[tuple[int, ExpectationSpec]], tallies: dict[int, _Tally]
    ) -> None:
        row_level = [(i, s) for i, s in runnable if s.unique_columns is None]
        by_key: dict[tuple[str, ...], list[tuple[int, ExpectationSpec]]] = {}
        for index, spec in runnable:
            if spec.unique_columns is not None:
                by_key.setdefault(spec.unique_columns, []).append((index, spec))
        if row_level:
            frames = stream(
                self.con, self.info, self.columns_for(row_level), self.settings.chunk_rows
            )
            self.validate(frames, row_level, tallies)
        for key, group in by_key.items():
            # Rows whose key is all null are never duplicates to GX (unless told
            # `ignore_row_if: never`): they are counted in SQL instead of piling into one
            # batch.
            skip = all(
                not spec.where and spec.arguments.get("ignore_row_if") != "never"
                for _, spec in group
            )
            frames = partitions(
                self.con,
                self.info,
                self.columns_for(group, key),
                key,
                self.settings.chunk_rows,
                skip_all_null_keys=skip,
            )
            self.validate(frames, group, tallies)
            if skip:
                condition = " AND ".join(f"{quote(c)} IS NULL" for c in key)
                nulls = self.con.execute(
                    f"SELECT count(*) FROM {qualified(self.info.name)} WHERE {condition}"
                ).fetchone()[0]
                for index, _ in group:
                    tallies[index].element_count += nulls
                    tallies[index].missing_count += nulls


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
    context: _RunContext,
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
                _not_evaluated(suite.name, table, spec, f"table {table} does not exist")
                for spec in specs
            ]
        else:
            results = _TableRun(con, validator, context, suite.name, info, suite.key, settings).run(
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
    context = _RunContext(con)
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
