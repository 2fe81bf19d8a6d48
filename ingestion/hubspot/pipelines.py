"""The `deal_pipeline_stages` snapshot and the rows it builds.

No `from __future__ import annotations`, as in every module that defines a resource.
"""

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import dlt
import pyarrow as pa

from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.errors import HubSpotDataError
from ingestion.hubspot.incremental import SNAPSHOT_HINTS, snapshot
from ingestion.hubspot.pages import paged_results
from ingestion.hubspot.schemas import PIPELINE_STAGES_SCHEMA
from ingestion.hubspot.values import decimal_value, flag


def pipeline_stage_rows(pipelines: Iterable[dict[str, Any]]) -> pa.Table:
    """Raw `deal_pipeline_stages`: one row per stage with its pipeline, probability, closed flag."""
    rows: list[dict[str, Any]] = []
    for pipeline in pipelines:
        for stage in pipeline.get("stages") or []:
            metadata = stage.get("metadata") or {}
            what = f"HubSpot pipeline {pipeline.get('id')} stage {stage.get('id')}"
            probability = decimal_value(metadata.get("probability"), f"{what} probability")
            if probability is not None and not Decimal(0) <= probability <= Decimal(1):
                raise HubSpotDataError(f"{what}: probability {probability} is not between 0 and 1")
            rows.append(
                {
                    "pipeline_id": str(pipeline.get("id")),
                    "pipeline_label": pipeline.get("label"),
                    "pipeline_display_order": pipeline.get("displayOrder"),
                    "pipeline_archived": bool(pipeline.get("archived")),
                    "stage_id": str(stage.get("id")),
                    "stage_label": stage.get("label"),
                    "display_order": stage.get("displayOrder"),
                    "probability": probability,
                    "is_closed": flag(metadata.get("isClosed")),
                    "stage_archived": bool(stage.get("archived")),
                }
            )
    return pa.Table.from_pylist(rows, schema=PIPELINE_STAGES_SCHEMA)


@dlt.resource(
    name="deal_pipeline_stages",
    section="hubspot",
    primary_key=("pipeline_id", "stage_id"),
    **SNAPSHOT_HINTS,
)
def deal_pipeline_stages(api: HubSpotApi) -> Iterator[pa.Table]:
    """Deal pipelines and their stages (label, order, probability, closed)."""
    path = hs.PIPELINES_PATH.format(object_type="deals")
    yield snapshot(pipeline_stage_rows(paged_results(api.client, path, {}, "deal pipelines")))
