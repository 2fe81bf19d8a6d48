"""`crm-kpi status --format json|csv`: the objective_progress rows of a day for scripts,
with the mart's own column names and values (dates as ISO days, numbers as numbers, a
missing value as null in JSON and an empty field in CSV).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from warehouse.progress_rows import ProgressRows


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        # A DECIMAL column (money) is a JSON number; csv writes its exact text itself.
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity: strict parsers reject them
    return value


def write_json(found: ProgressRows, file: TextIO) -> None:
    """A JSON array of one object per row (an empty array when nothing was measured)."""
    records = [
        {column: _plain(value) for column, value in zip(found.columns, row, strict=True)}
        for row in found.rows
    ]
    json.dump(records, file, indent=2, allow_nan=False)
    file.write("\n")


def write_csv(found: ProgressRows, file: TextIO) -> None:
    """A header of the mart's columns, then one line per row."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(found.columns)
    for row in found.rows:
        writer.writerow(
            "" if value is None else value if isinstance(value, Decimal) else _plain(value)
            for value in row
        )
