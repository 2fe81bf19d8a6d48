"""The objectives file as assets: validated, then loaded as rows before dbt runs."""

from datetime import date, timedelta

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field

from core.settings import Settings
from objectives import load_objectives
from orchestration.lib.run_lock import RunLockResource

OBJECTIVE_TABLES = (
    "objectives",
    "milestones",
    "okrs",
    "okr_key_results",
    "target_rules",
    "revisions",
    "objective_parts",
    "progress_dates",
    "manual_metrics",
    "manual_metric_values",
)


class ObjectivesConfig(dg.Config):
    as_of: str = Field(
        default="",
        description="The day progress is measured as of (YYYY-MM-DD); empty means yesterday "
        "in the reporting timezone.",
    )
    backfill_from: str = Field(
        default="",
        description="With backfill_to: measure progress as of every day of this range "
        "instead (fills objective_progress history).",
    )
    backfill_to: str = Field(default="", description="Last day of a backfill (inclusive).")


def progress_dates(config: ObjectivesConfig, settings: Settings) -> list[date]:
    if config.backfill_from and config.backfill_to:
        first, last = (
            date.fromisoformat(config.backfill_from),
            date.fromisoformat(config.backfill_to),
        )
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [date.fromisoformat(config.as_of) if config.as_of else settings.default_as_of()]


def objectives_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                dg.AssetKey(["raw_objectives", table]),
                group_name="objectives",
                description=f"objectives.yml (CRM_KPI_OBJECTIVES): {table.replace('_', ' ')}.",
            )
            for table in OBJECTIVE_TABLES
        ],
        name="objectives",
        pool="build_duckdb",
    )
    def _objectives(
        context: AssetExecutionContext, run_lock: RunLockResource, config: ObjectivesConfig
    ):
        dates = progress_dates(config, settings)
        loaded = load_objectives(settings, dates)
        context.log.info(
            f"{len(loaded.objectives)} objective(s) and {len(loaded.okrs)} OKR(s) "
            f"from {loaded.path}, measured as of {dates[0]}"
            + (f" to {dates[-1]}" if len(dates) > 1 else "")
        )
        if loaded.manual_metrics or loaded.manual_values:
            context.log.info(
                f"{len(loaded.manual_metrics)} manual metric(s), "
                f"{len(loaded.manual_values)} value(s) from {loaded.values_path or 'no file'}"
            )
        path, _ = settings.objectives_file()
        if path is not None and not loaded.objectives and not loaded.okrs:
            context.log.warning(
                f"{path} holds no objectives: the scorecard shows none (how to write "
                "them: docs/objectives.md, and the example objectives.yml of crm-kpi)"
            )
        for table in OBJECTIVE_TABLES:
            yield dg.MaterializeResult(asset_key=dg.AssetKey(["raw_objectives", table]))

    return _objectives
