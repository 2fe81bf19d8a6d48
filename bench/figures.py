"""The benchmark's record: its figures, its ratios (taken run by run between measurements
made side by side, then their median), its goals and the details behind them, as written to
results.json.

Separate from `bench/run.py` because it is all arithmetic on what the runs measured.
"""

from __future__ import annotations

from typing import Any

from bench import report
from bench.cli_run import CliRun
from bench.connector import ConnectorResult
from bench.files_runs import FilesIteration, median_of


def record(
    deals: int,
    csv: list[FilesIteration],
    parquet: list[FilesIteration],
    hubspot: ConnectorResult,
    demos: list[CliRun],
    machine: dict[str, Any],
) -> dict[str, Any]:
    """`{"figures", "ratios", "machine", "goals", "details"}` of the runs measured."""
    peak = max(csv, key=lambda it: it.run.peak_rss_mb)
    rows_per_s_ingest = hubspot.rows_loaded / hubspot.load_s
    rows_per_s_fetch = hubspot.fetch_parse_rows / hubspot.fetch_parse_s
    figures = {
        "deals": deals,
        "full_refresh_s": median_of(csv, lambda it: it.run.seconds),
        "raw_limit_s": median_of(csv, lambda it: it.direct.raw_limit_s),
        "full_refresh_parquet_s": median_of(parquet, lambda it: it.run.seconds),
        "raw_limit_parquet_s": median_of(parquet, lambda it: it.direct.raw_limit_s),
        "load_s": median_of(csv, lambda it: it.run.step("load files")),
        "dbt_build_s": median_of(csv, lambda it: it.run.step("dbt build")),
        "checks_s": median_of(
            csv,
            lambda it: (
                sum(s for k, s in it.run.steps.items() if k.startswith(("quality checks", "check")))
                or None
            ),
        ),
        "publish_s": median_of(csv, lambda it: it.run.step("publish")),
        "raw_load_s": median_of(csv, lambda it: it.direct.load_s),
        "direct_models_s": median_of(csv, lambda it: it.direct.models_s),
        "direct_sql_s": median_of(csv, lambda it: it.direct.direct_sql_s),
        "connector_full_s": hubspot.full.seconds,
        "incremental_1pct_s": report.median([r.seconds for r in hubspot.incremental]),
        "connector_load_s": hubspot.load_s,
        "fetch_parse_s": hubspot.fetch_parse_s,
        "connector_rows": hubspot.rows_loaded,
        "ingest_rows_per_s": rows_per_s_ingest,
        "fetch_parse_rows_per_s": rows_per_s_fetch,
        "pandas_s": median_of(csv, lambda it: it.pandas_s),
        "kpi_marts_s": median_of(csv, lambda it: it.kpi_marts_s),
        "kpi_models_s": median_of(csv, lambda it: it.kpi_models_s),
        "peak_rss_mb": round(peak.run.peak_rss_mb, 1),
        "demo_s": report.median([r.seconds for r in demos]),
    }
    ratios = {
        "full_vs_raw": median_of(
            csv, lambda it: report.ratio(it.run.seconds, it.direct.raw_limit_s)
        ),
        "full_vs_raw_parquet": median_of(
            parquet, lambda it: report.ratio(it.run.seconds, it.direct.raw_limit_s)
        ),
        "incremental_vs_full": report.median(
            [report.ratio(r.seconds, hubspot.full.seconds) for r in hubspot.incremental]
        ),
        "ingest_vs_fetch_parse": report.ratio(rows_per_s_ingest, rows_per_s_fetch),
        "pandas_vs_marts": median_of(csv, lambda it: report.ratio(it.pandas_s, it.kpi_marts_s)),
        "dbt_vs_direct_sql": median_of(
            csv,
            lambda it: report.ratio(it.run.step("dbt build"), it.direct.direct_sql_s),
        ),
    }
    last = csv[-1]
    details = {
        "runs": {
            "files_csv": len(csv),
            "files_parquet": len(parquet),
            "connector_full": 1,
            "incremental": len(hubspot.incremental),
            "demo": len(demos),
        },
        "steps_csv": last.run.steps,
        "steps_parquet": parquet[-1].run.steps,
        "steps_connector_full": hubspot.full.steps,
        "steps_incremental": hubspot.incremental[-1].steps,
        "peak_rss_by_process_mb": peak.run.peak_by_process_mb,
        "memory_timeline_csv": peak.run.memory_timeline,
        "dbt_model_seconds": last.dbt_model_seconds,
        "direct_model_seconds": {k: round(v, 3) for k, v in last.direct.model_seconds.items()},
        "data_tests_replayed": last.direct.tests_run,
        "pandas_rows_compared": last.pandas_rows,
        "connector": {
            "portal_build_s": round(hubspot.portal_build_s, 1),
            "fetch_requests": hubspot.fetch_requests,
            "fetch_parse_rows": hubspot.fetch_parse_rows,
            "changed_deals_per_run": hubspot.changed_deals,
            "incremental_dbt_model_seconds": hubspot.incremental_model_seconds,
        },
        "runs_seconds": {
            "files_csv": [round(it.run.seconds, 1) for it in csv],
            "raw_limit_csv": [round(it.direct.raw_limit_s, 1) for it in csv],
            "files_parquet": [round(it.run.seconds, 1) for it in parquet],
            "incremental": [round(r.seconds, 1) for r in hubspot.incremental],
            "demo": [round(r.seconds, 1) for r in demos],
        },
    }
    figures = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}
    ratios = {k: (round(v, 3) if v is not None else None) for k, v in ratios.items()}
    return {
        "figures": figures,
        "ratios": ratios,
        "machine": machine,
        # judged on the values shown, so that a table never says "4 <= 4 NO"
        "goals": report.goals_section(figures, ratios),
        "details": details,
    }
