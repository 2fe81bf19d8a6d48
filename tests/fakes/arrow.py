"""Arrow helpers the fakes share: input tables, optional columns and epoch timestamps.

Separate from `server.py` because they concern the CRM data a fake serves, not HTTP.
The fakes keep columns as epoch integers (with a sentinel for "none") so that a page of
a million-record CRM is a slice, not a conversion; these are the conversions to and
from them. Vendor-specific texts (Pipedrive v1's `YYYY-MM-DD HH:MM:SS`) stay in
their fake.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TableInput = pa.Table | pa.RecordBatch | Iterable[pa.Table | pa.RecordBatch] | None

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000}


def as_table(value: TableInput, schema: pa.Schema | None = None) -> pa.Table | None:
    """One table from a table, a batch or an iterable of them; None stays None.

    An empty iterable is an empty table of `schema`, or None without one.
    """
    if value is None or isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    parts = [pa.Table.from_batches([p]) if isinstance(p, pa.RecordBatch) else p for p in value]
    if parts:
        return pa.concat_tables(parts)
    return schema.empty_table() if schema is not None else None


def column_or_nulls(table: pa.Table, name: str, type_: pa.DataType) -> pa.Array:
    """The column `name` as one array, or nulls of `type_` where the table has none."""
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.nulls(table.num_rows, type_)


def epoch(values: pa.Array | pa.ChunkedArray, unit: str, null: int) -> np.ndarray:
    """Timestamps as int64 epoch `unit`s ("ms", "us"), `null` where empty."""
    as_int = pc.cast(pc.cast(values, pa.timestamp(unit, tz="UTC")), pa.int64())
    return pc.fill_null(as_int, null).to_numpy(zero_copy_only=False).astype(np.int64)


def iso_texts(values: np.ndarray, unit: str) -> list[str | None]:
    """Epoch `unit`s (negative: none) as ISO texts with the unit's fraction, e.g.
    2024-01-02T03:04:05.123Z for milliseconds."""
    arr = pa.array(values, pa.int64(), mask=values < 0).cast(pa.timestamp(unit, tz="UTC"))
    return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ").to_pylist()


def epoch_of(moment: datetime, unit: str) -> int:
    """A datetime (naive: UTC) as epoch `unit`s."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * _PER_SECOND[unit])


def parse_iso(text: str, unit: str, *, assume_utc: bool = True) -> int:
    """An ISO 8601 text (`Z` for UTC) as epoch `unit`s; without an offset it is UTC, or a
    ValueError when `assume_utc` is false."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None and not assume_utc:
        raise ValueError("no offset")
    return epoch_of(stamp, unit)
