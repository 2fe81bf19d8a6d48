"""Sample rows of a failed expectation as plain values, safe to print in logs.

Samples end up in run logs and Dagster metadata, so every e-mail address in them is
masked: a report about personal data must not spread it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")


def mask_emails(text: str) -> str:
    """'jane.doe@example.com' -> 'j***@example.com'."""
    return EMAIL.sub(r"\1***@\2", text)


def plain(value: Any) -> Any:
    """A JSON-friendly Python value: None for missing, ISO text for dates and times."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        # DuckDB DATE columns arrive as naive midnight timestamps: show them as dates.
        if value.tzinfo is None and value == value.normalize():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return mask_emails(value)
    if isinstance(value, bytes):
        return mask_emails(value.decode("utf-8", errors="replace"))
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # lists and arrays have no single truth value
        pass
    return mask_emails(str(value)) if not isinstance(value, bool | int) else value


def sample_rows(
    frame: pd.DataFrame, labels: Iterable[Any], columns: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """Rows `labels` (index labels GX reported) of `frame`, restricted to `columns`."""
    present = [c for c in dict.fromkeys(columns) if c in frame.columns]
    rows: list[dict[str, Any]] = []
    for label in labels:
        if len(rows) >= limit:
            break
        if label not in frame.index:
            continue
        record = frame.loc[label, present]
        rows.append({c: plain(record[c]) for c in present})
    return rows
