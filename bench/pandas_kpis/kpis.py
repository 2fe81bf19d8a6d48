"""`month_kpis`: every KPI at month grain for every scope, as one frame shaped like the month
rows of `marts.kpi_values`.

Separate so that the script's entry point reads as its three steps: the deals, their metrics,
the frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.pandas_kpis.account_metrics import account_metrics
from bench.pandas_kpis.deal_metrics import deal_metrics
from bench.pandas_kpis.deals import deals_as_of, months_of
from bench.pandas_kpis.inputs import RunSettings


def month_kpis(tables: dict[str, pd.DataFrame], settings: RunSettings) -> pd.DataFrame:
    """Every KPI at month grain for every scope: metric, period_start, scope_type,
    scope_value, value (NaN where the marts hold null)."""
    frame = deals_as_of(tables, settings)
    periods = months_of(frame)
    results = {
        **deal_metrics(frame, periods, tables, settings),
        **account_metrics(frame, periods, settings),
    }
    n = periods.n
    frames = []
    period_dates = pd.to_datetime(periods.starts.astype("datetime64[D]")).date
    for metric, by_scope in results.items():
        for scope_type, (values, grid) in by_scope.items():
            frames.append(
                pd.DataFrame(
                    {
                        "metric": metric,
                        "period_start": np.tile(period_dates, len(values)),
                        "scope_type": scope_type,
                        "scope_value": np.repeat(np.asarray(values, dtype=object), n),
                        "value": np.asarray(grid, dtype=float).ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
