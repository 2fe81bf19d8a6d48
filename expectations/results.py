"""What a quality run found, the gate that stops a publish, and the report a person reads."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_SAMPLES = 5  # sample rows kept per expectation and shown per failure


@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    table: str
    # The Great Expectations type, or a check of the runner (row_count_not_collapsing,
    # quarantine_share_at_most, source_is_fresh).
    expectation: str
    column: str | None  # the column(s) it looks at, comma-separated; None for table checks
    blocking: bool
    success: bool
    element_count: int  # rows it looked at (after its `where`)
    unexpected_count: int  # rows that failed it
    samples: list[dict[str, Any]]  # up to MAX_SAMPLES failing rows, e-mail addresses masked
    description: str  # the expectation in words

    @property
    def share(self) -> float | None:
        return self.unexpected_count / self.element_count if self.element_count else None

    def counts(self) -> str:
        """'3 of 1,200 rows (0.25 %)'."""
        text = f"{self.unexpected_count:,} of {self.element_count:,} rows"
        share = self.share
        if share is not None:
            text += f" ({_percent(share)})"
        return text


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    table: str
    results: list[ExpectationResult]

    @property
    def failed_blocking(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.blocking and not r.success]

    @property
    def failed_warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.blocking and not r.success]

    @property
    def success(self) -> bool:
        return not self.failed_blocking


def _percent(share: float) -> str:
    pct = share * 100
    if pct == 0 or pct >= 1:
        return f"{pct:.1f} %".replace(".0 %", " %")
    return f"{pct:.2f} %" if pct >= 0.01 else "< 0.01 %"


def _sample_line(sample: dict[str, Any]) -> str:
    return json.dumps(sample, default=str, ensure_ascii=False)


def _failure_text(result: ExpectationResult, number: int) -> str:
    head = (
        f"{number}. suite {result.suite}, table {result.table}: {result.description} "
        f"[{result.expectation}" + (f" on {result.column}" if result.column else "") + "]"
    )
    lines = [head]
    if result.unexpected_count or result.element_count:
        lines.append(f"   {result.counts()} fail")
    if result.samples:
        shown = min(len(result.samples), MAX_SAMPLES)
        lines.append(f"   sample rows ({shown} of {result.unexpected_count:,}):")
        lines.extend(f"     {_sample_line(s)}" for s in result.samples[:MAX_SAMPLES])
    return "\n".join(lines)


class QualityGateError(Exception):
    """A blocking expectation failed: the marts must not be published."""

    def __init__(self, failures: list[ExpectationResult]) -> None:
        self.failures = failures
        lines = [
            f"Quality gate: {len(failures)} blocking expectation(s) failed, so the marts "
            "are not published (serving.duckdb stays as it was). Fix the data or the "
            "model, or see expectations/suites/ for what each check means."
        ]
        lines.extend(_failure_text(r, n) for n, r in enumerate(failures, start=1))
        super().__init__("\n".join(lines))


def gate(results: Iterable[SuiteResult]) -> None:
    """Raise QualityGateError when any blocking expectation failed; warnings pass."""
    failures = [r for suite in results for r in suite.failed_blocking]
    if failures:
        raise QualityGateError(failures)


def report(results: Iterable[SuiteResult]) -> str:
    """A readable summary: one line per suite, then each failure, warning and finding.

    A finding is a passing expectation that still counted rows, such as quarantined rows
    under the allowed share or a table that shrank less than the allowed share.
    """
    suites = list(results)
    expectations = [r for s in suites for r in s.results]
    blocking = sum(len(s.failed_blocking) for s in suites)
    warnings = sum(len(s.failed_warnings) for s in suites)
    lines = [
        f"Quality checks: {len(suites)} suite(s), {len(expectations)} expectation(s): "
        f"{len(expectations) - blocking - warnings} passed, {blocking} blocking "
        f"failure(s), {warnings} warning(s)."
    ]
    for suite in suites:
        status = "FAILED" if suite.failed_blocking else "ok"
        detail = [f"{len(suite.results)} expectation(s)"]
        if suite.failed_blocking:
            detail.append(f"{len(suite.failed_blocking)} blocking failure(s)")
        if suite.failed_warnings:
            detail.append(f"{len(suite.failed_warnings)} warning(s)")
        lines.append(f"- {suite.suite} on {suite.table}: {status} ({', '.join(detail)})")
        for result in suite.results:
            if result.success and not result.unexpected_count:
                continue
            label = "NOTE" if result.success else "FAIL" if result.blocking else "WARN"
            counts = f": {result.counts()}" if result.element_count else ""
            lines.append(f"    {label} {result.description}{counts}")
            if not result.success:
                lines.extend(f"         {_sample_line(s)}" for s in result.samples[:MAX_SAMPLES])
    return "\n".join(lines)
