"""The expectations of one suite on one table: the SQL pre-screen, then GX batch by batch.

`stream` and `partitions` are imported into this module and looked up here at call
time (tests replace them to prove a table is not read into pandas).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from expectations.batches import TableInfo, partitions, qualified, quote, stream, utc_cursor
from expectations.context import CannotEvaluate, RunContext, batch_expectation, resolve
from expectations.results import ExpectationResult
from expectations.settings import QualitySettings
from expectations.specs import ExpectationSpec
from expectations.sql_checks import prescreen
from expectations.tally import Tally, expectation_result, not_evaluated

if TYPE_CHECKING:
    from expectations.gx_engine import BatchValidator


class TableRun:
    """The expectations of one suite on one table, batch by batch."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        validator: BatchValidator,
        context: RunContext,
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
        tallies: dict[int, Tally],
    ) -> None:
        from expectations.gx_engine import BatchOutcome, build

        with utc_cursor(self.con) as cursor:
            for frame in frames:
                built = {}
                for index, spec in specs:
                    try:
                        expect, arguments = batch_expectation(spec, frame, cursor, self.context)
                        where = resolve(dict(spec.where), self.context)
                    except CannotEvaluate as exc:
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
                results[index] = not_evaluated(
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
                self.con, self.info, runnable, lambda value: resolve(value, self.context)
            )
            for index, element_count in passed.items():
                # As GX reports a pass: its element_count, no unexpected row, no sample.
                results[index] = expectation_result(
                    self.suite,
                    self.info.name,
                    specs[index],
                    success=True,
                    element_count=element_count,
                )
            runnable = [(i, s) for i, s in runnable if i not in passed]
        tallies = {index: Tally() for index, _ in runnable}
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
            results[index] = expectation_result(
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
        self, runnable: Sequence[tuple[int, ExpectationSpec]], tallies: dict[int, Tally]
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
