"""The company's columnar arrays: the empty sentinel, status codes, and the conversions
between Arrow columns, Pipedrive ids and RFC 3339 texts.

Separate so that building (`company.py`) and answering (`deals.py`, `endpoints.py`)
share one encoding of a million deals.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL = np.iinfo(np.int64).min  # an empty timestamp or id in the columnar arrays
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
STATUS_CODES = {"open": 0, "won": 1, "lost": 2, "deleted": 3}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


def native_ids(indices: pa.Array | pa.ChunkedArray, size: int) -> np.ndarray:
    """0-based positions (null where none) -> 1-based Pipedrive ids, NULL where none."""
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    shifted = pc.add(pc.cast(indices, pa.int64()), 1)
    return pc.fill_null(shifted, NULL).to_numpy(zero_copy_only=False).copy()


def nullable_ids(values: np.ndarray) -> list[int | None]:
    return [None if v == NULL else v for v in values.tolist()]


def positions_in(
    values: pa.Array | pa.ChunkedArray, keys: pa.Array, entity: str, column: str, target: str
) -> pa.Array:
    """Positions of `values` in `keys`; a value missing from `keys` is an error."""
    index = pc.index_in(values, value_set=keys)
    missing = pc.and_(pc.is_valid(values), pc.is_null(index))
    if pc.any(missing).as_py():
        example = pc.filter(values, missing)[0].as_py()
        raise ValueError(f"{entity}.{column} {example!r} is not in {target}")
    return index.combine_chunks() if isinstance(index, pa.ChunkedArray) else index


def date_texts(table: pa.Table, column: str, size: int) -> list[str | None]:
    if column not in table.column_names:
        return [None] * size
    return pc.strftime(table[column], format="%Y-%m-%d").to_pylist()


def rfc3339_many(values: np.ndarray) -> list[str | None]:
    """RFC 3339 texts of microsecond timestamps (NULL -> None), formatted at once."""
    empty = values == NULL
    moments = np.where(empty, 0, values).astype("datetime64[us]")
    unit = "us" if np.any(values[~empty] % 1_000_000) else "s"
    texts = np.datetime_as_string(moments, unit=unit, timezone="UTC").tolist()
    return [None if e else t for t, e in zip(texts, empty.tolist(), strict=True)]
