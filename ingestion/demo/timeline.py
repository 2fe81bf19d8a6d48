"""The demo CRM's calendar: the days it spans and when its deals are created and closed.

Apart from the lifecycles because these timing rules hold for every kind of deal: growth
over the years, the summer and Christmas dip, quiet weekends, quarter-end pushes, August
slips, bookings at 23:59:59 on the last of a month and imports at midnight on the 1st.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ingestion.demo.arrays import (
    day_number,
    is_first_of_month,
    is_last_of_month,
    month_of_year,
    quarter_end,
    time_of_day,
    weekday,
)
from ingestion.demo.parameters import DAY

if TYPE_CHECKING:
    from ingestion.demo.generator import DemoConfig


class Timeline:
    """The days a CRM of `config` spans, weighted by how busy each one is."""

    def __init__(self, config: DemoConfig) -> None:
        self.start_day = day_number(config.start)
        self.end_day = day_number(config.as_of) + 1  # exclusive
        self.end = self.end_day * DAY
        days = np.arange(self.start_day, self.end_day)
        trend = 0.6 + 0.8 * (days - self.start_day) / len(days)  # the company grows
        month = month_of_year(days)
        season = np.select([month == 8, month == 7, month == 12], [0.6, 0.75, 0.8], 1.0)
        weekdays = np.where(weekday(days) >= 5, 0.15, 1.0)
        weights = np.cumsum(trend * season * weekdays)
        self.day_cum = weights / weights[-1]

    def days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Days drawn with growth, a summer and Christmas dip, and quiet weekends."""
        return self.start_day + np.searchsorted(self.day_cum, rng.random(n), side="right")

    def close(
        self,
        rng: np.random.Generator,
        created: np.ndarray,
        cycle_days: np.ndarray,
        push: np.ndarray,
        latest_day: np.ndarray | None = None,
    ) -> np.ndarray:
        """Close timestamps: quarter-end pushes for `push` rows, August slips, month-end nights."""
        n = len(created)
        created_day = created // DAY
        day = created_day + np.maximum(1, np.rint(cycle_days)).astype(np.int64)
        last_of_quarter = quarter_end(day)
        pulled = push & (last_of_quarter - day <= 20) & (rng.random(n) < 0.45)
        day = np.where(pulled, last_of_quarter - rng.integers(0, 3, n), day)
        slipped = (month_of_year(day) == 8) & (rng.random(n) < 0.35)
        day = np.where(slipped, day + rng.integers(10, 25, n), day)
        if latest_day is not None:
            day = np.minimum(day, latest_day)
        day = np.maximum(day, created_day + 1)
        tod = time_of_day(rng, n)
        tod[is_last_of_month(day) & (rng.random(n) < 0.2)] = DAY - 1  # 23:59:59 bookings
        # At least an hour open, so every stage change has its own second.
        return np.maximum(day * DAY + tod, created + 3600)

    def created(self, rng: np.random.Generator, day: np.ndarray, midnight_p: float) -> np.ndarray:
        """Timestamps on `day`; on the 1st of a month some at 00:00:00 (imports, workflows)."""
        seconds = day * DAY + time_of_day(rng, len(day))
        midnight = is_first_of_month(day) & (rng.random(len(day)) < midnight_p)
        return np.where(midnight, day * DAY, seconds)
