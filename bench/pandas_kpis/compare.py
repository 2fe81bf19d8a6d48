"""`compare`: the script's rows against `marts.kpi_values` at month grain, so the benchmark
times a script that computes the same numbers as the marts, not a simpler problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.pandas_kpis.inputs import TOLERANCE
from core.db import connect


@dataclass(frozen=True)
class Comparison:
    rows: int
    missing_here: int  # month rows of the marts this script has not
    extra_here: int  # rows this script has that the marts have not
    mismatches: int
    examples: list[str]

    @property
    def same(self) -> bool:
        return not (self.missing_here or self.extra_here or self.mismatches)


def compare(result: pd.DataFrame, build_db: Path) -> Comparison:
    """This script's rows against the CRM's rows of `marts.kpi_values` at month grain, for
    the metrics the script computes (the manual metrics' rows come from a file, not the
    CRM: nothing here to compute them)."""
    con = connect(build_db, read_only=True)
    try:
        marts = con.execute(
            "SELECT metric, period_start, scope_type, scope_value, value AS mart_value "
            "FROM marts.kpi_values WHERE grain = 'month' AND source = 'crm'"
        ).df()
    finally:
        con.close()
    # The script computes DESIGN.md's thirteen KPIs, not wave 2's margin, customer and
    # share metrics: the marts compute more than the script it is timed against.
    marts = marts[marts["metric"].isin(set(result["metric"]))]
    marts["period_start"] = pd.to_datetime(marts["period_start"]).dt.date
    keys = ["metric", "period_start", "scope_type", "scope_value"]
    merged = result.merge(marts, on=keys, how="outer", indicator=True)
    both = merged[merged["_merge"] == "both"]
    a, b = both["value"].to_numpy(float), both["mart_value"].to_numpy(float)
    same = (np.isnan(a) & np.isnan(b)) | (
        np.abs(a - b) <= TOLERANCE * np.maximum(1.0, np.abs(np.nan_to_num(b)))
    )
    wrong = both[~same]
    examples = [
        f"{r.metric} {r.period_start} {r.scope_type}={r.scope_value}: "
        f"{r.value!r} here, {r.mart_value!r} in the marts"
        for r in wrong.head(5).itertuples()
    ]
    return Comparison(
        rows=len(merged),
        missing_here=int((merged["_merge"] == "right_only").sum()),
        extra_here=int((merged["_merge"] == "left_only").sum()),
        mismatches=int((~same).sum()),
        examples=examples,
    )
