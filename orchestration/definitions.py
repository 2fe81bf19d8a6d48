"""The whole pipeline, as Dagster sees it.

    configured sources --dlt--> raw_<source>.*     (one asset group per source)
    run context, objectives.yml --> raw_run.*, raw_objectives.*
    Great Expectations: raw suites after each load, blocking dbt
    dbt build: staging -> intermediate -> marts (dbt tests as asset checks)
    Great Expectations: one-CRM-model and marts suites, blocking the publish
    publish --> serving.duckdb (only when every blocking check passed), scorecard.html
    alerts --> new variance flags to the webhook; failed runs via a sensor

`crm-kpi run` and `crm-kpi demo` execute the `refresh` job of these definitions in
process; the nightly schedule runs the same job. `crm-kpi objectives` and `crm-kpi
backfill` run the `measure_objectives` job: objectives again, from the marts already built.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from core.dbt import dbt_env, dbt_executable
from core.paths import DBT_PROJECT_DIR
from core.settings import Settings
from ingestion.registry import enabled_sources
from orchestration.automation.assets import alerts_asset
from orchestration.automation.schedules import nightly_schedule
from orchestration.automation.sensors import run_failure_alert
from orchestration.ingestion.assets import source_assets
from orchestration.lib.progress import progress_logger
from orchestration.lib.run_lock import RUN_LOCK, RunLockResource
from orchestration.objectives.assets import objectives_asset
from orchestration.quality.checks import checked_keys, raw_checks, warehouse_checks
from orchestration.serving.assets import run_context_asset, serving_asset
from orchestration.serving.report import report_asset
from orchestration.transform.assets import marts_keys, warehouse_assets

REFRESH_JOB = "refresh"
OBJECTIVES_JOB = "measure_objectives"


def build_definitions(
    settings: Settings | None = None,
    sources: tuple[str, ...] | None = None,
    source_overrides: dict[str, dict[str, Any]] | None = None,
) -> dg.Definitions:
    settings = settings or Settings.from_env()
    sources = sources or enabled_sources(settings.sources)
    if not sources:
        raise ValueError(
            "No source is configured: set SOURCES__FILES__PATH to a folder of CRM export "
            "files, a CRM token such as SOURCES__HUBSPOT__API_KEY, or run `crm-kpi demo`."
        )
    os.environ.update(dbt_env(settings))

    ingestion = {
        name: source_assets(settings, name, (source_overrides or {}).get(name)) for name in sources
    }
    warehouse = warehouse_assets(settings, sources)
    checks = [
        *(raw_checks(settings, name, sorted(a.keys)) for name, a in ingestion.items()),
        warehouse_checks(settings, set(warehouse.keys)),
    ]
    # The publish waits for every checked table, so a failed blocking check stops it.
    published_after = sorted(
        {*marts_keys(warehouse), *checked_keys(checks[-1])}, key=lambda k: k.to_user_string()
    )
    assets = [
        *ingestion.values(),
        run_context_asset(settings, sources),
        objectives_asset(settings),
        warehouse,
        serving_asset(settings, published_after, sources),
        report_asset(settings),
        alerts_asset(settings),
    ]
    refresh = dg.define_asset_job(
        REFRESH_JOB,
        selection=dg.AssetSelection.all(),
        description="Load every source, build and check the marts, publish them.",
    )
    objectives_only = dg.define_asset_job(
        OBJECTIVES_JOB,
        selection=dg.AssetSelection.groups("objectives").downstream(),
        description="Measure the objectives again (after objectives.yml changed, or for "
        "past days) from the marts already built, without loading the CRM.",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[refresh, objectives_only],
        schedules=[nightly_schedule(refresh)],
        sensors=[run_failure_alert(settings)],
        resources={
            # One run at a time per data dir: every step that writes it needs the lock.
            RUN_LOCK: RunLockResource(data_dir=str(settings.data_dir)),
            "dlt": DagsterDltResource(),
            "dbt": DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                dbt_executable=dbt_executable(),
            ),
        },
        loggers={"progress": progress_logger, "console": dg.default_loggers()["console"]},
        # One writer per DuckDB file: steps that write build.duckdb never run at once.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev -m orchestration.definitions` and `crm-kpi ui` load."""
    return build_definitions()
