"""Vectorised building blocks of the script: dates as day numbers (days since 1970-01-01) and
months as month numbers, exact money in integer cents, and sums per (scope value, period).

Separate from the metrics so that each metric module reads as the KPI definitions it follows.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.pandas_kpis.inputs import NEVER

# metric -> scope type -> (the scope values, their grid of values by period)
Grids = dict[str, dict[str, tuple[list[str], np.ndarray]]]


def local_days(timestamps: pd.Series, tz: str) -> np.ndarray:
    """Local calendar day numbers of UTC timestamps; NEVER where null."""
    series = pd.to_datetime(timestamps, utc=True)
    local = series.dt.tz_convert(zoneinfo.ZoneInfo(tz)).dt.tz_localize(None)
    days = local.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(series.isna().to_numpy(), NEVER, days)


def day_numbers(values: pd.Series) -> np.ndarray:
    """Day numbers of dates; NEVER where null."""
    days = pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(values.isna().to_numpy(), NEVER, days)


def instants(timestamps: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds (for ordering; NaT sorts last)."""
    series = pd.to_datetime(timestamps, utc=True).dt.tz_localize(None)
    values = series.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return np.where(series.isna().to_numpy(), np.iinfo(np.int64).max, values)


def sort_codes(values: np.ndarray) -> np.ndarray:
    """Integer codes that sort as the values do (lexsort is slow on Python strings)."""
    return pd.factorize(values, sort=True)[0]


def month(days: np.ndarray) -> np.ndarray:
    """The month numbers of day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(months: np.ndarray) -> np.ndarray:
    """The day numbers of the months' first days."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def cents(values: pd.Series) -> np.ndarray:
    """DECIMAL(18,2) values as integer cents (null as 0)."""
    return np.round(pd.to_numeric(values).fillna(0).to_numpy(dtype=float) * 100).astype(np.int64)


def times_rate(cents: np.ndarray, factor: np.ndarray, scale: int) -> np.ndarray:
    """round(cents x factor / scale) half away from zero, in exact integers."""
    product = cents * factor
    return np.sign(product) * ((np.abs(product) + scale // 2) // scale)


@dataclass
class Scopes:
    codes: dict[str, np.ndarray]  # scope type -> each row's code in `values`
    values: dict[str, list[str]]  # scope type -> the universe of values


def scope_codes(per_row: dict[str, np.ndarray], extra: dict[str, set[str]]) -> Scopes:
    """Each row's scope values as codes, over the universe of the rows' values and `extra`."""
    codes, values = {}, {}
    for scope_type, row_values in per_row.items():
        universe = sorted(set(pd.unique(row_values)) | extra.get(scope_type, set()))
        codes[scope_type] = pd.Index(universe).get_indexer(row_values)
        values[scope_type] = universe
    return Scopes(codes, values)


def put(results: Grids, metric: str, scope_type: str, grid: np.ndarray, universe: Scopes) -> None:
    """Record a metric's grid for one scope type, with the scope values of its rows."""
    results.setdefault(metric, {})[scope_type] = (universe.values[scope_type], grid)


def grid(
    scopes: Scopes, scope_type: str, rows: np.ndarray, periods: np.ndarray, n: int, weights=None
):
    """Sum of `weights` (or counts) per (scope value, period) of the rows selected."""
    width = len(scopes.values[scope_type])
    keys = scopes.codes[scope_type][rows] * n + periods
    return np.bincount(keys, weights=weights, minlength=width * n).reshape(width, n)


def covering(
    scopes: Scopes,
    scope_type: str,
    rows: np.ndarray,
    first: np.ndarray,
    end: np.ndarray,
    n: int,
    weights: np.ndarray,
) -> np.ndarray:
    """Per (scope value, period): the sum of `weights` of the rows whose span of periods
    [first, end) holds the period (a +/- event per row, cumulated over the periods)."""
    width = len(scopes.values[scope_type])
    codes = scopes.codes[scope_type][rows]
    changes = np.bincount(codes * (n + 1) + first, weights=weights, minlength=width * (n + 1))
    changes -= np.bincount(codes * (n + 1) + end, weights=weights, minlength=width * (n + 1))
    return np.cumsum(changes.reshape(width, n + 1), axis=1)[:, :n]
