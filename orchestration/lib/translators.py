"""One name from end to end: the Dagster asset keys and groups of dlt and dbt objects.

The raw table `raw_<source>.<table>` has the asset key `["raw_<source>", table]`
whether dlt loads it or a dbt source reads it; dbt models are `[<schema>, <model>]`;
a source's raw tables and staging models are in the asset group named after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData


class RawTableTranslator(DagsterDltTranslator):
    def __init__(self, source_name: str) -> None:
        super().__init__()
        self.source_name = source_name

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=AssetKey([f"raw_{self.source_name}", data.resource.name]),
                group_name=self.source_name,
                deps=[],
            )
        )


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        # Sources and models alike: where the table is, [schema, table].
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        # fqn: [project, layer, folder, ..., model]
        if len(fqn) > 3 and fqn[1] == "staging":
            return fqn[2]
        return fqn[1] if len(fqn) > 2 else None
