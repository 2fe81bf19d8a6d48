"""The script's inputs: the raw tables and the run's settings, read from a pipeline's build
file, and the constants every part of the script shares.

Separate because reading DuckDB is the only I/O of the computation (`compare` aside).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from core.db import connect

NONE = "(none)"
NEVER = np.int64(10**9)  # the day number of "not closed": after every real day
SCOPE_TYPES = ("company", "owner", "team", "segment", "region", "pipeline", "channel")
ACCOUNT_SCOPE_TYPES = ("company", "segment", "region")
RAW_TABLES = ("deals", "stage_history", "accounts", "owners", "stages", "fx_rates")
TOLERANCE = 1e-6  # relative, between this script's doubles and the marts' doubles


class PandasKpiError(BenchError):
    """The raw tables cannot give the KPIs (a missing rate, say); the message says which."""


@dataclass(frozen=True)
class RunSettings:
    as_of: date
    timezone: str = "UTC"
    reporting_currency: str = "EUR"
    gross_margin: float = 1.0
    source: str = "files"


def read_inputs(
    build_db: Path, source: str = "files"
) -> tuple[dict[str, pd.DataFrame], RunSettings]:
    """The raw tables of `source` and the run's settings, from a pipeline's build file."""
    con = connect(build_db, read_only=True)
    try:
        tables = {}
        for name in RAW_TABLES:
            frame = con.execute(f"SELECT * FROM raw_{source}.{name}").df()
            tables[name] = frame[[c for c in frame.columns if not c.startswith("_dlt")]]
        as_of, zone, currency, margin = con.execute(
            "SELECT as_of, timezone, reporting_currency, gross_margin FROM raw_run.run_context"
        ).fetchone()
    finally:
        con.close()
    return tables, RunSettings(as_of, zone, currency, float(margin), source)
