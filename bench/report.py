"""The goals of issue 10, the one printed table, and `results.json`."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Goal:
    key: str
    kind: str  # "ratios" or "figures"
    op: str  # "<=" or ">="
    limit: float

    def met(self, value: float | None) -> bool | None:
        if value is None or math.isnan(value):
            return None
        return value <= self.limit if self.op == "<=" else value >= self.limit


GOALS = (
    Goal("full_vs_raw", "ratios", "<=", 4),
    Goal("incremental_vs_full", "ratios", "<=", 0.15),
    Goal("ingest_vs_fetch_parse", "ratios", ">=", 0.5),
    Goal("pandas_vs_marts", "ratios", ">=", 3),
    Goal("dbt_vs_direct_sql", "ratios", "<=", 2.5),
    Goal("peak_rss_mb", "figures", "<=", 2048),
    Goal("demo_s", "figures", "<=", 60),
)

# What each figure is, in the printed table (docs/performance.md explains them at length).
LABELS = {
    "full_refresh_s": "files source, CSV: crm-kpi run end to end",
    "raw_limit_s": "DuckDB alone: read the CSVs + the compiled marts SQL",
    "full_refresh_parquet_s": "files source, Parquet: crm-kpi run end to end",
    "raw_limit_parquet_s": "DuckDB alone on the Parquet files",
    "load_s": "  of the full refresh: load files (dlt)",
    "dbt_build_s": "  of the full refresh: dbt build",
    "checks_s": "  of the full refresh: quality checks",
    "publish_s": "  of the full refresh: publish serving.duckdb",
    "raw_load_s": "  of the raw limit: read_csv into tables",
    "direct_models_s": "  of the raw limit: the models' SQL",
    "direct_sql_s": "models + data tests' SQL, run directly",
    "connector_full_s": "HubSpot from the fake API: first full run",
    "incremental_1pct_s": "HubSpot: next run after 1 % of deals changed",
    "connector_load_s": "  of the first run: load hubspot (dlt)",
    "fetch_parse_s": "HubSpot pages fetched and parsed, nothing else",
    "ingest_rows_per_s": "rows/s loaded by the connector",
    "fetch_parse_rows_per_s": "rows/s fetched and parsed",
    "pandas_s": "pandas script: every KPI, month grain, all scopes",
    "kpi_marts_s": "dbt: the models kpi_values needs, summed",
    "kpi_models_s": "dbt: the kpi_* models and kpi_values alone",
    "peak_rss_mb": "peak RSS of the full refresh (CLI + dbt), MiB",
    "demo_s": "crm-kpi demo, default size, fresh data dir",
}


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def goals_section(figures: dict[str, Any], ratios: dict[str, Any]) -> dict[str, Any]:
    section = {}
    for goal in GOALS:
        value = (ratios if goal.kind == "ratios" else figures).get(goal.key)
        section[goal.key] = {
            "goal": f"{goal.op} {goal.limit:g}",
            "value": value,
            "met": goal.met(value),
        }
    return section


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(results: dict[str, Any]) -> str:
    """One table: every figure, then every ratio, with its goal and whether it is met."""
    goals = results["goals"]
    shown = [
        *((k, v) for k, v in results["figures"].items() if k in LABELS or k in goals),
        *results["ratios"].items(),
    ]
    rows = [("figure / ratio", "value", "goal", "met", "what")]
    for key, value in shown:
        goal = goals.get(key)
        rows.append(
            (
                key,
                _shown(value),
                goal["goal"] if goal else "",
                {True: "yes", False: "NO", None: "?"}[goal["met"]] if goal else "",
                LABELS.get(key, ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[c].ljust(widths[c]) if c != 1 else row[c].rjust(widths[c]) for c in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
