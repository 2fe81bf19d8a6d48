"""Arrow conversions of Pipedrive's values: timestamps, dates, money, records to tables.

Pages become one Arrow table each: JSON is parsed once (orjson, through dlt's json),
Arrow builds the columns, and timestamps and money are converted with Arrow compute, so
there is no per-record Python work on the deal path. Every table builder uses these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import MONEY, TIMESTAMP
from ingestion.pipedrive.errors import PipedriveResponseError

_ZONE_SUFFIX = r"(Z|z|[+-]\d\d:?\d\d)$"


def to_timestamp(values: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    """RFC 3339 (API v2) or 'YYYY-MM-DD HH:MM:SS' in UTC (API v1) strings -> timestamp UTC."""
    values = pc.cast(values, pa.string())
    zoned = pc.if_else(
        pc.match_substring_regex(values, _ZONE_SUFFIX),
        values,
        pc.binary_join_element_wise(values, pa.scalar("Z"), ""),
    )
    try:
        # via nanoseconds: a fraction finer than a microsecond is cut, not an error
        return pc.cast(pc.cast(zoned, pa.timestamp("ns", tz="UTC")), TIMESTAMP, safe=False)
    except pa.ArrowInvalid as exc:
        raise PipedriveResponseError(f"{what}: not an RFC 3339 timestamp ({exc})") from None


def to_date(values: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    values = pc.cast(values, pa.string())
    try:
        return pc.cast(pc.utf8_slice_codeunits(values, 0, 10), pa.date32())
    except pa.ArrowInvalid as exc:
        raise PipedriveResponseError(f"{what}: not a YYYY-MM-DD date ({exc})") from None


def to_money(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """API numbers are doubles: round to the cent, then make them exact decimals."""
    return pc.cast(pc.round(pc.cast(values, pa.float64()), 2), MONEY)


def from_records(records: list[dict[str, Any]], schema: pa.Schema, what: str) -> pa.Table:
    try:
        return pa.Table.from_pylist(records, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise PipedriveResponseError(
            f"{what}: a record does not have the documented shape ({exc})"
        ) from None


def require(table: pa.Table, columns: Sequence[str], what: str) -> None:
    for name in columns:
        nulls = table[name].null_count
        if nulls:
            raise PipedriveResponseError(f"{what}: {nulls} record(s) without '{name}'")
