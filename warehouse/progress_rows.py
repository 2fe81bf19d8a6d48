"""The rows of `marts.objective_progress` as of one day, every column as the mart holds it:
what `crm-kpi status --format json|csv` hands to scripts (the mart's column names are the
public contract, so the export carries exactly those, in the mart's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from warehouse.queries import open_serving
from warehouse.scorecard import measured_day


@dataclass(frozen=True)
class ProgressRows:
    as_of: date | None  # None: no objective was ever measured
    columns: list[str]
    rows: list[tuple[Any, ...]]


def progress_rows(path: Path, as_of: date | None = None) -> ProgressRows:
    """Every row of marts.objective_progress as of `as_of` (default: the latest measured),
    by objective then period.

    Raises NotMeasuredError when objectives exist but were not measured as of `as_of`.
    """
    con = open_serving(path)
    try:
        as_of = measured_day(con, path, as_of)
        cursor = con.execute(
            "SELECT * FROM marts.objective_progress WHERE as_of = ? "
            "ORDER BY objective_id, period_start",
            [as_of],
        )
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    return ProgressRows(as_of, columns, rows)
