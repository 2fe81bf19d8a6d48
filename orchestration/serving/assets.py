"""Assets around the dbt build: this run's context before it, publishing after it."""

from datetime import date

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field

from core.db import connect
from core.settings import Settings
from expectations.table_checks import record_row_counts
from orchestration.lib.run_lock import RunLockResource
from orchestration.quality.checks import row_counted_tables
from warehouse.publish import publish
from warehouse.run_context import write_run_context

RUN_CONTEXT_KEY = dg.AssetKey(["raw_run", "run_context"])
FX_RATES_FILE_KEY = dg.AssetKey(["raw_run", "fx_rates"])
PII_KEY = dg.AssetKey(["raw_run", "pii"])
SERVING_KEY = dg.AssetKey(["serving"])


class RunContextConfig(dg.Config):
    as_of: str = Field(
        default="",
        description="Last complete day of data (YYYY-MM-DD); empty means yesterday in the "
        "reporting timezone.",
    )
    reset_quality_baseline: bool = Field(
        default=False,
        description="Forget the row counts of earlier runs (a full refresh, another demo), "
        "so fewer rows than before does not count as a collapsing table.",
    )


def run_context_asset(settings: Settings, sources: tuple[str, ...]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                RUN_CONTEXT_KEY,
                group_name="run",
                description="This run's settings (as_of, currency, timezone, fiscal year) as data.",
            ),
            dg.AssetSpec(
                FX_RATES_FILE_KEY,
                group_name="run",
                description="Rates of the CRM_KPI_FX_RATES file, for CRMs that keep none.",
            ),
            dg.AssetSpec(
                PII_KEY,
                group_name="run",
                description="The salt of the e-mail hashes (CRM_KPI_PII_SALT), never published.",
            ),
        ],
        name="run_context",
        pool="build_duckdb",
    )
    def _run_context(
        context: AssetExecutionContext, run_lock: RunLockResource, config: RunContextConfig
    ):
        as_of = date.fromisoformat(config.as_of) if config.as_of else settings.default_as_of()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        con = connect(settings.build_db)
        try:
            reset = write_run_context(
                con, settings, as_of, context.run_id, sources, config.reset_quality_baseline
            )
        finally:
            con.close()
        context.log.info(f"as_of = {as_of.isoformat()}")
        if reset:
            context.log.info("row counts of earlier runs forgotten: a new quality baseline")
        yield dg.MaterializeResult(asset_key=RUN_CONTEXT_KEY, metadata={"as_of": as_of.isoformat()})
        yield dg.MaterializeResult(asset_key=FX_RATES_FILE_KEY)
        yield dg.MaterializeResult(asset_key=PII_KEY)

    return _run_context


def serving_asset(
    settings: Settings, upstream: list[dg.AssetKey], sources: tuple[str, ...]
) -> dg.AssetsDefinition:
    @dg.asset(
        key=SERVING_KEY,
        deps=upstream,
        group_name="serving",
        description="serving.duckdb: the marts, replaced by an atomic rename once every "
        "blocking check has passed. Analysts and BI tools read this file.",
        pool="build_duckdb",
    )
    def _serving(context: AssetExecutionContext, run_lock: RunLockResource) -> dg.MaterializeResult:
        tables = publish(settings.build_db, settings.serving_db)
        # The row counts the next run's collapse check compares against: this published run's.
        layers = [*(f"raw:{name}" for name in sources), "crm", "marts"]
        con = connect(settings.build_db)
        try:
            record_row_counts(con, context.run_id, row_counted_tables(layers))
        finally:
            con.close()
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.serving_db)),
                **{f"{t.schema}.{t.name}": t.rows for t in tables},
            }
        )

    return _serving
