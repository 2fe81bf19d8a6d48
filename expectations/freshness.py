"""Source freshness: a warning when a source's newest change, or its last load, is too old.

Never blocking, so it sits apart from the blocking table checks; it reports as an
ExpectationResult so the report and the alerts treat it alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from expectations.batches import describe, qualified, quote
from expectations.results import ExpectationResult
from expectations.samples import plain
from expectations.settings import QualitySettings
from expectations.specs import FreshnessSpec

FRESHNESS_CHECK = "source_is_fresh"


def freshness_result(
    con: duckdb.DuckDBPyConnection,
    source: str,
    spec: FreshnessSpec | None,
    *,
    settings: QualitySettings,
    now: datetime | None = None,
) -> ExpectationResult:
    """A warning when the source's newest change (or else its last load) is too old."""
    now = now or datetime.now(tz=UTC)
    suite = f"raw_{source}.freshness"
    limit = f"source {source} changed within the last {settings.max_source_age_hours:g} hours"
    newest: datetime | None = None
    what = ""
    table = spec.table if spec else f"raw_{source}._dlt_loads"
    info = describe(con, spec.table) if spec else None
    if spec and info is not None and spec.column in info.columns:
        sql = f"SELECT max({quote(spec.column)}) FROM {qualified(table)}"
        newest = con.execute(sql).fetchone()[0]
        what = f"newest {spec.column} in {table}"
    if newest is None:
        loads = f"raw_{source}._dlt_loads"
        if describe(con, loads) is not None:
            table = loads
            newest = con.execute(
                f"SELECT max(inserted_at) FROM {qualified(loads)} WHERE status = 0"
            ).fetchone()[0]
            what = f"last load of raw_{source}"
    if newest is None:
        return ExpectationResult(
            suite=suite,
            table=table,
            expectation=FRESHNESS_CHECK,
            column=None,
            blocking=False,
            success=False,
            element_count=0,
            unexpected_count=0,
            samples=[],
            description=f"{limit}: could not be evaluated: no "
            f"{spec.column if spec else 'updated_at'} value and no completed dlt load in "
            f"raw_{source}",
        )
    if isinstance(newest, datetime) and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)  # a naive timestamp in this project is UTC
    age_hours = (now - newest).total_seconds() / 3600
    fresh = age_hours <= settings.max_source_age_hours
    return ExpectationResult(
        suite=suite,
        table=table,
        expectation=FRESHNESS_CHECK,
        column=spec.column if spec and table == spec.table else None,
        blocking=False,
        success=fresh,
        # A table-wide verdict: no rows to count (the description gives the age).
        element_count=0,
        unexpected_count=0,
        samples=[] if fresh else [{"newest": plain(newest), "age_hours": round(age_hours, 1)}],
        description=f"{limit} ({what}: {plain(newest)}, {age_hours:,.1f} hours before "
        f"{plain(now)})",
    )
