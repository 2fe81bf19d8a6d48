"""The dlt loads as Dagster assets: one asset per raw table, grouped by source."""

from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource
from dagster_dlt.translator import DltResourceTranslatorData

from crm_kpi.settings import Settings
from ingestion.pipeline import make_pipeline
from ingestion.registry import build_source
from orchestration.lib.translators import RawTableTranslator

# CRM APIs fail transiently (outages outlasting the HTTP client's own retries): try the
# whole load again later; incremental cursors make a retry cheap.
INGESTION_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def source_assets(
    settings: Settings, source_name: str, overrides: dict[str, Any] | None = None
) -> dg.AssetsDefinition:
    """The assets of one source's raw tables, loaded by its dlt pipeline."""
    overrides = overrides or {}
    translator = RawTableTranslator(source_name)
    # A source object only to name its tables; each run builds a fresh one, so a retry
    # does not reuse consumed generators.
    template = build_source(source_name, **overrides)
    specs = [
        translator.get_asset_spec(DltResourceTranslatorData(resource=resource, pipeline=None))
        for resource in template.selected_resources.values()
    ]

    @dg.multi_asset(
        specs=specs,
        name=f"load_{source_name}",
        retry_policy=INGESTION_RETRY,
        pool="build_duckdb",
        description=f"Loads the {source_name} source into raw_{source_name} with dlt.",
    )
    def _load(context: AssetExecutionContext, dlt: DagsterDltResource):
        pipeline = make_pipeline(source_name, settings.build_db, settings.dlt_dir)
        # Parquet, never dlt's default insert_values loader (~30x slower on DuckDB).
        yield from dlt.run(
            context=context,
            dlt_source=build_source(source_name, **overrides),
            dlt_pipeline=pipeline,
            dagster_dlt_translator=translator,
            loader_file_format="parquet",
        )

    return _load
