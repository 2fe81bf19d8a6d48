"""The dbt project as Dagster assets: one `dbt build` per run, dbt tests as asset checks."""

import contextlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from crm_kpi.settings import Settings
from orchestration.lib.dbt_output import DbtLogSink
from orchestration.lib.dbt_project import dbt_vars, prepare_manifest, target_dir
from orchestration.lib.translators import WarehouseTranslator


def warehouse_assets(settings: Settings, sources: tuple[str, ...]) -> dg.AssetsDefinition:
    manifest = prepare_manifest(settings, sources)
    target = target_dir(settings, sources)

    @dbt_assets(
        manifest=manifest,
        name="dbt_build",
        dagster_dbt_translator=WarehouseTranslator(),
        pool="build_duckdb",
    )
    def _build(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        # One `dbt build` for the whole graph: dbt costs ~5 s per command.
        sink = DbtLogSink(context.log)
        with contextlib.redirect_stdout(sink):
            yield from dbt.cli(
                ["build", "--vars", dbt_vars(sources)], context=context, target_path=target
            ).stream()
        sink.flush()

    return _build


def marts_keys(assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The keys of the models published to the serving file (schema `marts`)."""
    return sorted(
        (key for key in assets.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
    )
