"""One expectation's verdict: batch outcomes added up, and the ExpectationResult it becomes.

A table too big for one pandas batch is validated batch by batch; `Tally` adds the
batches' verdicts up so the table gets one result, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from expectations.results import MAX_SAMPLES, ExpectationResult
from expectations.samples import sample_rows
from expectations.specs import ExpectationSpec

if TYPE_CHECKING:
    from expectations.gx_engine import BatchOutcome


@dataclass
class Tally:
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


def expectation_result(
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


def not_evaluated(suite: str, table: str, spec: ExpectationSpec, why: str) -> ExpectationResult:
    return expectation_result(suite, table, spec, success=False, error=why)
