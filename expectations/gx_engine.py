"""Great Expectations 1.x as crm-kpi runs it: an ephemeral context validating pandas batches.

Measured with duckdb 2.0: GX's SQL datasource through duckdb-engine fails every
expectation (it reads rows after the connection closed), so the runner reads each table
from DuckDB in pandas batches (expectations/batches.py) and validates them here. The
context lives in memory only: no great_expectations/ folder is written, and no usage
statistics are sent (GX 1.24 ships no analytics client; the context's config switches
them off all the same, should a later version bring one back).

Importing GX takes seconds: the runner and the suite loader import this module only when
they run, so importing the expectations package stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.exceptions import ExpectationNotFoundError
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.registry import get_expectation_impl
from great_expectations.expectations.row_conditions import Column, Condition

# Expectations whose verdict on a table is the sum of their verdicts on its rows: only
# these can be evaluated batch by batch (uniqueness too, with batches cut by key).
ROW_LEVEL = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
# Row-level in GX's taxonomy, but each row is compared with its neighbours.
ORDER_DEPENDENT = frozenset(
    {"expect_column_values_to_be_increasing", "expect_column_values_to_be_decreasing"}
)
_INDEX_META = "crm_kpi_index"


def expectation_class(name: str) -> type[Expectation]:
    """The GX class of a snake_case expectation type; ValueError when it is not row-level."""
    try:
        cls = get_expectation_impl(name)
    except ExpectationNotFoundError:
        raise ValueError(
            f"{name!r} is not a Great Expectations expectation (see "
            "https://greatexpectations.io/expectations/ for their names)"
        ) from None
    if not issubclass(cls, ROW_LEVEL) or name in ORDER_DEPENDENT:
        raise ValueError(
            f"{name!r} looks at the table as a whole (or at rows in order); tables are "
            "validated in batches, so only expectations on each row or on unique keys "
            "can be used"
        )
    return cls


def condition(where: Mapping[str, Any]) -> Condition | None:
    """`{column: value}` (equal) or `{column: [values]}` (one of), several ANDed."""
    parts: list[Condition] = []
    for column, wanted in where.items():
        if isinstance(wanted, list | tuple):
            parts.append(Column(column).is_in(list(wanted)))
        else:
            parts.append(Column(column) == wanted)
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def build(
    name: str, arguments: Mapping[str, Any], where: Mapping[str, Any], index: int
) -> Expectation:
    """A GX expectation; raises pydantic's ValidationError (a ValueError) on bad arguments."""
    cls = expectation_class(name)
    return cls(**arguments, row_condition=condition(where), meta={_INDEX_META: index})


@dataclass
class BatchOutcome:
    """One expectation on one batch."""

    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    unexpected_labels: list[Any] = field(default_factory=list)
    error: str | None = None


class BatchValidator:
    """Validates pandas batches against lists of expectations, in one ephemeral context."""

    def __init__(self, sample_count: int) -> None:
        self._sample_count = sample_count
        context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
            ),
        )
        self._batches = (
            context.data_sources.add_pandas("duckdb_batches")
            .add_dataframe_asset("batch")
            .add_batch_definition_whole_dataframe("whole_batch")
        )

    def validate(
        self, frame: pd.DataFrame, expectations: Sequence[Expectation]
    ) -> dict[int, BatchOutcome]:
        """Outcomes keyed by the index each expectation was built with.

        A suite keeps one of expectations equal but for their meta (two suite entries
        alike, or two value_set queries reduced to the same values): GX validates it once
        and every one of them gets its outcome, none is left without.
        """
        suite = gx.ExpectationSuite(name="batch")
        copies: dict[int, list[int]] = {}  # index validated -> the indexes it stands for
        for expectation in expectations:
            index = expectation.meta[_INDEX_META]
            same = next((kept for kept in suite.expectations if _alike(expectation, kept)), None)
            if same is None:
                suite.add_expectation(expectation)
                copies[index] = [index]
            else:
                copies[same.meta[_INDEX_META]].append(index)
        batch = self._batches.get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(
            suite,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": self._sample_count,
            },
        )
        outcomes: dict[int, BatchOutcome] = {}
        for result in validation.results:
            index = result.expectation_config.meta[_INDEX_META]
            outcome = _outcome(result)
            for copy in copies[index]:
                outcomes[copy] = outcome
        return outcomes


def _alike(a: Expectation, b: Expectation) -> bool:
    """Whether an ExpectationSuite keeps only one of `a` and `b`: the very test its
    `add_expectation` makes. Should GX change it, an expectation without outcome fails in
    the runner, never passes."""
    return gx.ExpectationSuite._expectations_are_equalish(a, b)


def _outcome(result: Any) -> BatchOutcome:
    """One expectation's validation result on one batch."""
    error = _exception_message(result.exception_info)
    if error is not None:
        return BatchOutcome(success=False, error=error)
    detail = result.result or {}
    return BatchOutcome(
        success=bool(result.success),
        element_count=int(detail.get("element_count") or 0),
        unexpected_count=int(detail.get("unexpected_count") or 0),
        missing_count=int(detail.get("missing_count") or 0),
        unexpected_labels=list(detail.get("partial_unexpected_index_list") or []),
    )


def _exception_message(info: Mapping[str, Any] | None) -> str | None:
    """The message of an exception GX caught, if any.

    GX reports one exception flat, or several keyed by the metric that raised them.
    """
    if not info:
        return None
    candidates = [info] if "raised_exception" in info else list(info.values())
    for candidate in candidates:
        if isinstance(candidate, Mapping) and candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "unknown error")
    return None
