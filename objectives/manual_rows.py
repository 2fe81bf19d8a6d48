"""The check of each row of the manual metrics' values file, whatever its format: its
date, metric, value and scope, each problem recorded with the row's line and column."""

from __future__ import annotations

import math
import re
from datetime import date

from core.metrics import DEAL_SCOPES
from objectives.fields import REQUIRED_MANUAL_VALUE_FIELDS
from objectives.model import COMPANY_SCOPE, ManualMetric, ManualValue
from objectives.problems import Problem
from objectives.yaml_nodes import suggest

Row = tuple[int, dict[str, str | None]]  # (line, column -> text or None)

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER_TEXT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


class RowChecker:
    def __init__(self, metrics: dict[str, ManualMetric]) -> None:
        self.metrics = metrics
        self.problems: list[Problem] = []

    def report(self, line: int, field: str | None, message: str) -> None:
        self.problems.append(Problem(line, None, field, message))

    def check(self, rows: list[Row]) -> tuple[ManualValue, ...]:
        out: list[ManualValue] = []
        seen_last: dict[tuple[str, str, str, date], int] = {}
        for line, row in rows:
            before = len(self.problems)
            for name in REQUIRED_MANUAL_VALUE_FIELDS:
                if row.get(name) is None:
                    self.report(line, name, f"is empty: {_HELP[name]}")
            when = self.date_of(line, row["date"]) if row.get("date") else None
            metric = self.metric_of(line, row["metric"]) if row.get("metric") else None
            value = self.value_of(line, row["value"], metric) if row.get("value") else None
            scope = self.scope_of(line, row, metric)
            if len(self.problems) > before:
                continue
            assert when and metric and value is not None and scope
            if metric.aggregation == "last":
                key = (metric.id, *scope, when)
                if key in seen_last:
                    self.report(
                        line,
                        "date",
                        f"{metric.id} already has a value on {when.isoformat()} for this "
                        f"scope (line {seen_last[key]}); its aggregation is last, so one "
                        "value a day: keep one",
                    )
                    continue
                seen_last[key] = line
            out.append(ManualValue(when, metric.id, value, *scope, row.get("note"), line))
        return tuple(out)

    def date_of(self, line: int, text: str) -> date | None:
        try:
            if not _DATE_TEXT.fullmatch(text):
                raise ValueError("not written YYYY-MM-DD")
            return date.fromisoformat(text)
        except ValueError as exc:
            self.report(line, "date", f"'{text}' is not a valid date ({exc}): {_HELP['date']}")
            return None

    def metric_of(self, line: int, text: str) -> ManualMetric | None:
        metric = self.metrics.get(text.lower())
        if metric is None:
            declared = tuple(self.metrics)
            self.report(
                line,
                "metric",
                f"unknown manual metric '{text}'{suggest(text.lower(), declared)}; "
                + (
                    f"the manual metrics of the objectives file are {', '.join(declared)}"
                    if declared
                    else "the objectives file declares none"
                )
                + " (declare it under manual_metrics: in the objectives file)",
            )
        return metric

    def value_of(self, line: int, text: str, metric: ManualMetric | None) -> float | None:
        ratio = metric is not None and metric.unit == "ratio"
        example = "such as 0.45 for 45 %" if ratio else "such as 2 or 1500.50"
        if not _NUMBER_TEXT.fullmatch(text):
            hint = (
                " (write decimals with a point, without thousands separators)"
                if "," in text
                else ""
            )
            if ratio and text.endswith("%"):
                hint = " (write shares as decimals: 0.45, not 45 %)"
            self.report(line, "value", f"'{text}' is not a number{hint}: give a number {example}")
            return None
        value = float(text)
        if not math.isfinite(value) or value < 0:
            self.report(line, "value", f"{text} must be a finite number of 0 or more, {example}")
            return None
        if ratio and value > 1:
            self.report(
                line, "value", f"{text} is outside [0, 1]: {metric.id} is a ratio, {example}"
            )
            return None
        return value

    def scope_of(
        self, line: int, row: dict[str, str | None], metric: ManualMetric | None
    ) -> tuple[str, str] | None:
        scope_type = (row.get("scope_type") or "company").lower()
        scope_value = row.get("scope_value")
        if scope_type not in DEAL_SCOPES:
            self.report(
                line,
                "scope_type",
                f"'{scope_type}' is not a scope type{suggest(scope_type, DEAL_SCOPES)}; use one "
                f"of {', '.join(DEAL_SCOPES)}, or leave it empty for the whole company",
            )
            return None
        if metric is not None and scope_type not in metric.scopes:
            self.report(
                line,
                "scope_type",
                f"{metric.id} takes no {scope_type} values: its scopes are "
                f"{', '.join(metric.scopes)}; add {scope_type} to its scopes in "
                "manual_metrics, or give the row another scope",
            )
            return None
        if scope_type == "company":
            if scope_value not in (None, "all"):
                self.report(
                    line,
                    "scope_value",
                    f"'{scope_value}' is given with the company scope: leave scope_value "
                    "empty (or give a scope_type)",
                )
                return None
            return COMPANY_SCOPE
        if scope_value is None:
            self.report(
                line,
                "scope_value",
                f"is empty: give the {scope_type} the value is for, its name exactly as in the CRM",
            )
            return None
        return scope_type, scope_value


_HELP = {
    "date": "give the day the value is for, written YYYY-MM-DD, such as 2026-03-14",
    "metric": "give the id of a manual metric of the objectives file",
    "value": "give a number, such as 2",
}
