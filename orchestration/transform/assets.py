"""The dbt project as Dagster assets: one `dbt build` per run, dbt tests as asset checks."""

import contextlib
import ctypes
import gc
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pyarrow as pa
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from core.dbt import dbt_vars, prepare_manifest, target_dir
from core.settings import Settings
from orchestration.lib.dbt_output import DbtLogSink, dbt_failure
from orchestration.lib.run_lock import RunLockResource
from orchestration.lib.translators import WarehouseTranslator
from orchestration.transform.metadata import asset_metadata


def release_memory() -> None:
    """Give back to the system the memory this process freed but its allocators keep
    (the load's and the checks' batches): dbt's DuckDB runs beside it, and the run's peak
    is the two together (docs/performance.md, peak_rss_mb)."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only; elsewhere a no-op
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def warehouse_assets(settings: Settings, sources: tuple[str, ...]) -> dg.AssetsDefinition:
    manifest = prepare_manifest(settings, sources)
    target = target_dir(settings, sources)

    @dbt_assets(
        manifest=manifest,
        name="dbt_build",
        dagster_dbt_translator=WarehouseTranslator(),
        pool="build_duckdb",
    )
    def _build(
        context: AssetExecutionContext, dbt: DbtCliResource, run_lock: RunLockResource
    ) -> Iterator[Any]:
        # One `dbt build` for the whole graph: dbt costs ~5 s per command.
        release_memory()
        sink = DbtLogSink(context.log)
        try:
            with contextlib.redirect_stdout(sink):
                # Held until dbt is done: only then can the file be read for row counts.
                events = list(
                    dbt.cli(
                        # dbt's unit tests check the SQL, not the data: the test suite runs
                        # them (tests/dbt), a nightly run need not pay for them.
                        [
                            "build",
                            "--vars",
                            dbt_vars(sources),
                            "--exclude-resource-type",
                            "unit_test",
                        ],
                        context=context,
                        target_path=target,
                    ).stream()
                )
        except DagsterDbtCliRuntimeError as exc:
            # The ERROR lines are in the log above; the step fails with one clear line.
            raise dbt_failure(str(exc.description or exc), target / "dbt.log") from None
        finally:
            sink.flush()
        outputs = {
            e.output_name: context.asset_key_for_output(e.output_name)
            for e in events
            if isinstance(e, dg.Output)
        }
        built = set(outputs.values())
        try:
            metadata = asset_metadata(settings.build_db, built)
        except Exception as exc:  # noqa: BLE001 - metadata is a convenience, never a failure
            context.log.warning(f"no row counts this time: {exc}")
            metadata = {}
        for event in events:
            key = outputs.get(event.output_name) if isinstance(event, dg.Output) else None
            if key in metadata:
                event = event.with_metadata({**event.metadata, **metadata[key]})
            yield event

    return _build


def marts_keys(assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The keys of the models published to the serving file (schema `marts`)."""
    return sorted(
        (key for key in assets.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
    )
