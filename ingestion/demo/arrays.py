"""The array tools the demo CRM is made with: Arrow columns, day numbers, random draws.

Apart from the simulation because they know nothing of deals or accounts: exact Arrow
builders (money and rates go in as integer units, never floats), calendar helpers on day
numbers (days since 1970-01-01), and sampling helpers on a numpy Generator.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo.parameters import DAY
from ingestion.files.contract import TIMESTAMP

# -- Arrow helpers (exact: money and rates go in as integer units, never floats) ---------


def mask(valid: np.ndarray | None) -> np.ndarray | None:
    return None if valid is None else ~valid


def decimal(units: np.ndarray, dtype: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A decimal array from unscaled integers (cents for MONEY), built without floats."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)  # decimal128: low word, sign word
    words[:, 0] = units
    words[:, 1] = units >> 63
    bitmap, nulls = None, 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(len(units) - np.count_nonzero(valid))
    return pa.Array.from_buffers(dtype, len(units), [bitmap, pa.py_buffer(words)], null_count=nulls)


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype(np.int64) * 1_000_000, type=TIMESTAMP, mask=mask(valid))


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask(valid))


def ids(numbers: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pc.cast(pa.array(numbers.astype(np.int64), mask=mask(valid)), pa.string())


def labels(vocab: pa.Array, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return vocab.take(pa.array(codes.astype(np.int32), mask=mask(valid)))


# -- calendar helpers on day numbers (days since 1970-01-01) -------------------------------


def day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def month_index(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_of_year(days: np.ndarray) -> np.ndarray:
    return month_index(days) % 12 + 1


def is_first_of_month(days: np.ndarray) -> np.ndarray:
    return month_start(month_index(days)) == days


def is_last_of_month(days: np.ndarray) -> np.ndarray:
    return month_start(month_index(days) + 1) - 1 == days


def quarter_end(days: np.ndarray) -> np.ndarray:
    return month_start((month_index(days) // 3 + 1) * 3) - 1


def contract_end(start: np.ndarray) -> np.ndarray:
    """12 months after `start` less a day: the inclusive end of a yearly contract."""
    months = month_index(start)
    return month_start(months + 12) + (start - month_start(months)) - 1


def weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


# -- sampling helpers ------------------------------------------------------------------------


def pick(rng: np.random.Generator, p: tuple[float, ...] | np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def pick_rows(rng: np.random.Generator, p_rows: np.ndarray) -> np.ndarray:
    """One draw per row of a probability matrix."""
    cum = np.cumsum(p_rows, axis=1)
    u = rng.random(len(p_rows))[:, None] * cum[:, -1:]
    return np.minimum((cum <= u).sum(axis=1), p_rows.shape[1] - 1)


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day: mostly office hours (of all regions), some at any time."""
    busy = rng.normal(13.5 * 3600, 3.5 * 3600, n)
    anytime = rng.uniform(0, DAY, n)
    tod = np.where(rng.random(n) < 0.8, busy, anytime)
    return np.clip(tod, 0, DAY - 1).astype(np.int64)
