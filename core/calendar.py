"""Calendar periods: the week (Monday to Sunday), month or fiscal quarter holding a day."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

# The grains a period of the calendar is cut in (objectives are set per one of them).
PERIOD_GRAINS = ("week", "month", "quarter")


def grain_start(d: date, grain: str, fiscal_year_start: int = 1) -> date:
    """The first day of the week (Monday), month or quarter holding `d`."""
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        months_in = (d.month - fiscal_year_start) % 3
        index = d.year * 12 + d.month - 1 - months_in
        return date(index // 12, index % 12 + 1, 1)
    raise ValueError(f"unknown grain {grain!r}: expected one of {', '.join(PERIOD_GRAINS)}")


def grain_end(d: date, grain: str, fiscal_year_start: int = 1) -> date:
    """The last day of the week (Sunday), month or quarter holding `d`."""
    start = grain_start(d, grain, fiscal_year_start)
    if grain == "week":
        return start + timedelta(days=6)
    last_month = start.year * 12 + start.month - 1 + (2 if grain == "quarter" else 0)
    year, month = last_month // 12, last_month % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])
