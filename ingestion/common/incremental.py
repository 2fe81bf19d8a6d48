"""Incremental loading the connectors share: the merge disposition, the hints that turn a
deleted record into a delete, the lagged cursor and its start, and the one UTC
whole-seconds text vendors take as a "modified since" value.

dlt reads the hints and cursors when a resource is defined; this module defines none.
"""

from datetime import UTC, datetime
from typing import Any

import dlt

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

# delete-insert, not MERGE INTO: DuckDB's MERGE is slow for bulk upserts
MERGE = {"disposition": "merge", "strategy": "delete-insert"}


def delete_hints(
    delete_column: str, order_column: str | None = None, *, typed: bool = True
) -> dict[str, Any]:
    """Column hints: `delete_column` true makes the merge delete the record (dlt's
    hard_delete); of two copies of a record in one load the latest `order_column` wins,
    so a delete read in the same run as a live copy prevails.

    `typed` also declares the columns' types (bool, timestamp), for sources whose first
    load may see no rows to infer them from.
    """
    hints: dict[str, Any] = {delete_column: {"hard_delete": True}}
    if typed:
        hints[delete_column] = {"data_type": "bool", **hints[delete_column]}
    if order_column is not None:
        hints[order_column] = {"data_type": "timestamp"} if typed else {}
        hints[order_column]["dedup_sort"] = "desc"
    return hints


def lagged_cursor(
    column: str,
    lookback: float | None,
    *,
    initial_value: datetime | None = None,
    end_value: datetime | None = None,
    primary_key: Any = None,
) -> dlt.sources.incremental[datetime]:
    """The cursor on `column`, re-reading `lookback` seconds before the stored value (the
    merge removes the overlap). `primary_key=()` leaves deduplication to the merge."""
    return dlt.sources.incremental(
        column,
        initial_value=initial_value,
        end_value=end_value,
        primary_key=primary_key,
        lag=lookback,
    )


def cursor_start(incremental: Any) -> datetime | None:
    """Where this run's cursor starts (lag applied); None when there is no cursor yet."""
    return getattr(incremental, "start_value", None) if incremental is not None else None


def utc_seconds_text(value: datetime) -> str:
    """`value` as `YYYY-MM-DDTHH:MM:SSZ` in UTC, the fraction cut (rounded down)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
