"""The dlt loads as Dagster assets: one asset per raw table, grouped by source."""

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dlt import DagsterDltResource
from dagster_dlt.translator import DltResourceTranslatorData
from pydantic import Field

from core.errors import SettingsError
from core.redaction import scrub_exception
from core.settings import Settings
from ingestion.pipeline import finish_interrupted_load, make_pipeline
from ingestion.registry import build_source
from orchestration.ingestion.transient import is_transient
from orchestration.lib.progress import is_quiet
from orchestration.lib.run_lock import RunLockResource
from orchestration.lib.translators import RawTableTranslator

# A CRM outage that outlasts the HTTP client's own retries: try the whole load again
# later (incremental cursors make that cheap). Other failures are not retried.
RETRIES = 2


def retry_delay_s() -> float:
    """Seconds before the first retry, doubled after each (CRM_KPI_INGESTION_RETRY_DELAY_S)."""
    text = os.environ.get("CRM_KPI_INGESTION_RETRY_DELAY_S") or "30"
    try:
        delay = float(text)
    except ValueError:
        delay = -1.0
    if not 0 <= delay <= 3600:
        raise SettingsError(
            f"CRM_KPI_INGESTION_RETRY_DELAY_S={text!r} must be a number of seconds from 0 "
            "to 3600 (default 30)."
        )
    return delay


# The loggers sources warn on (a stage the stages file lacks, records skipped by a CRM):
# during a load their warnings go to the run's log, and so to the run's summary.
SOURCE_LOGGERS = ("ingestion", "crm_kpi.salesforce")


class _ToRunLog(logging.Handler):
    def __init__(self, log: dg.DagsterLogManager) -> None:
        super().__init__(logging.WARNING)
        self.run_log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.warning(record.getMessage())


@contextlib.contextmanager
def source_warnings(log: dg.DagsterLogManager) -> Iterator[None]:
    """The sources' warnings, in the run's log (not also on stderr) while the block runs."""
    handler = _ToRunLog(log)
    loggers = [logging.getLogger(name) for name in SOURCE_LOGGERS]
    kept = [(logger, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in kept:
            logger.removeHandler(handler)
            logger.propagate = propagate


class LoadConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Drop the source's raw tables and incremental state, then load "
        "everything again (after a field-mapping change, or to detect deletions a CRM no "
        "longer reports).",
    )


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
        pool="build_duckdb",
        description=f"Loads the {source_name} source into raw_{source_name} with dlt.",
    )
    def _load(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        run_lock: RunLockResource,
        config: LoadConfig,
    ):
        pipeline = make_pipeline(
            source_name, settings.build_db, settings.dlt_dir, progress=not is_quiet()
        )
        try:
            finished = finish_interrupted_load(pipeline)
            if finished:
                context.log.warning(
                    f"{source_name}: finished the load an interrupted run left pending "
                    f"({', '.join(finished)}) before loading afresh"
                )
            # Parquet, never dlt's default insert_values loader (~30x slower on DuckDB).
            with source_warnings(context.log):
                yield from dlt.run(
                    context=context,
                    dlt_source=build_source(source_name, **overrides),
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=translator,
                    loader_file_format="parquet",
                    **({"refresh": "drop_sources"} if config.full_refresh else {}),
                )
        except Exception as exc:
            # Dagster keeps a failed step's error chain in its event log and shows it in
            # the UI: no credential may be in it, whatever library wrote the message.
            scrub_exception(exc)
            if is_transient(exc):
                wait = retry_delay_s() * 2**context.retry_number
                context.log.warning(f"{source_name}: transient failure, retrying in {wait:.0f} s")
                raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=wait) from exc
            raise

    return _load
