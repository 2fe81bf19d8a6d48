"""The checks of an objective's period: its dates, their fit to the grain, whole months.

Separate from the other objective checks because these are the ones that reason about
the calendar (fiscal quarters, Monday weeks, complete months).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from yaml.nodes import MappingNode, Node

from core.calendar import grain_end, grain_start
from objectives.fields import PERIOD_FIELDS
from objectives.values import ValueReader
from objectives.yaml_nodes import kind_of


def _has_whole_month(start: date, end: date) -> bool:
    first = start if start.day == 1 else grain_end(start, "month") + timedelta(days=1)
    return grain_end(first, "month") <= end


def _quarter_months(fiscal_year_start: int) -> str:
    months = sorted((fiscal_year_start - 1 + 3 * i) % 12 + 1 for i in range(4))
    return ", ".join(calendar.month_abbr[m] for m in months)


class PeriodChecks(ValueReader):
    """An objective's period, and what its grain and metric ask of it."""

    def check_period(self, node: Node, subject: str) -> tuple[date | None, date | None]:
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                "period",
                f"must be a mapping such as {{start: 2026-01-01, end: 2026-06-30}}, "
                f"got {kind_of(node)}",
            )
            return None, None
        f = self.fields(node, subject, PERIOD_FIELDS, "a period", prefix="period.")
        dates: dict[str, date | None] = {}
        for name in PERIOD_FIELDS:
            if name not in f:
                self.report(
                    node,
                    subject,
                    f"period.{name}",
                    "is missing: a period needs a start and an end date (both included), "
                    "such as {start: 2026-01-01, end: 2026-06-30}",
                )
                dates[name] = None
            else:
                dates[name] = self.date_value(f[name][1], subject, f"period.{name}")
        start, end = dates["start"], dates["end"]
        if start is not None and end is not None and end < start:
            self.report(
                f["end"][1],
                subject,
                "period.end",
                f"{end.isoformat()} is before the start {start.isoformat()}: the end must be "
                "on or after the start",
            )
            return None, None
        return start, end

    def check_grain_bounds(
        self, grain_node: Node, period_node: Node, subject: str, grain: str, start: date, end: date
    ) -> None:
        fy = self.fiscal_year_start
        rule = {
            "week": "weeks run Monday to Sunday",
            "month": "months run from the 1st to their last day",
            "quarter": f"quarters start in {_quarter_months(fy)}, as the fiscal year starts "
            f"in month {fy}",
        }[grain]
        # The weekday helps only where weeks are the unit.
        start_day, end_day = (f" ({start:%A})", f" ({end:%A})") if grain == "week" else ("", "")
        good_start = grain_start(start, grain, fy)
        if good_start != start:
            self.report(
                period_node,
                subject,
                "period.start",
                f"{start.isoformat()}{start_day} is not the first day of a {grain}, as grain "
                f"{grain} requires ({rule}): start on {good_start.isoformat()} or "
                f"{grain_end(start, grain, fy) + timedelta(days=1)}",
            )
        good_end = grain_end(end, grain, fy)
        if good_end != end:
            self.report(
                period_node,
                subject,
                "period.end",
                f"{end.isoformat()}{end_day} is not the last day of a {grain}, as grain "
                f"{grain} requires ({rule}): end on {good_end.isoformat()} or "
                f"{grain_start(end, grain, fy) - timedelta(days=1)}",
            )

    def check_month_measured(
        self,
        f: dict[str, tuple[Node, Node]],
        subject: str,
        metric_name: str,
        grain: str | None,
        start: date | None,
        end: date | None,
    ) -> None:
        why = (
            f"{metric_name} is measured on complete calendar months, so every period must "
            "hold at least one whole month"
        )
        if grain == "week":
            self.report(f["grain"][1], subject, "grain", f"week is too short: {why}; use month")
        elif (grain is None and start is not None and end is not None) and not _has_whole_month(
            start, end
        ):
            self.report(
                f["period"][1],
                subject,
                "period",
                f"{start.isoformat()}..{end.isoformat()} holds no whole month: {why}",
            )
