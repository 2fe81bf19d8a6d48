"""The `goal_targets` resource (quotas, which become objectives) and the rows it builds.

No `from __future__ import annotations`: dlt reads the cursor argument's real annotation.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.incremental import MERGE, cursor_start, lagged_cursor
from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.incremental import DELETE_HINTS, live_then_archived
from ingestion.hubspot.mapping import FieldMapping
from ingestion.hubspot.schemas import GOAL_TARGETS_SCHEMA, empty
from ingestion.hubspot.values import (
    blank_to_null,
    concat,
    map_values,
    modified_at,
    prop,
    to_decimal,
    to_timestamp,
)


def goal_target_rows(chunks: Sequence[pa.Array], mapping: FieldMapping) -> pa.Table:
    records = concat(chunks)
    ids = records.field("id")
    kind = "goal target"
    names = blank_to_null(prop(records, "hs_goal_name"))
    columns = {
        "id": ids,
        "goal_name": names,
        "metric": map_values(
            pc.utf8_trim_whitespace(names),
            mapping.goal_metrics,
            kind,
            "hs_goal_name",
            "SOURCES__HUBSPOT__GOAL_METRICS",
        ),
        "target_amount": to_decimal(
            prop(records, "hs_target_amount"), ids, kind, "hs_target_amount"
        ),
        "start_at": to_timestamp(
            prop(records, "hs_start_datetime"), ids, kind, "hs_start_datetime"
        ),
        "end_at": to_timestamp(prop(records, "hs_end_datetime"), ids, kind, "hs_end_datetime"),
        "owner_id": blank_to_null(prop(records, "hubspot_owner_id")),
        "assignee_user_id": blank_to_null(prop(records, "hs_assignee_user_id")),
        "assignee_team_id": blank_to_null(prop(records, "hs_assignee_team_id")),
        "updated_at": modified_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=GOAL_TARGETS_SCHEMA)


# `enabled` has no default: dlt would otherwise read it from config as a resource setting
@dlt.resource(
    name="goal_targets",
    section="hubspot",
    write_disposition=MERGE,
    primary_key="id",
    columns=DELETE_HINTS,
    incremental=lagged_cursor("updated_at", hs.DEFAULT_LOOKBACK_SECONDS, primary_key=()),
)
def goal_targets(
    api: HubSpotApi,
    enabled: bool,
    updated_at: dlt.sources.incremental[datetime] | None = None,
) -> Iterator[pa.Table]:
    """Goal targets (quotas): one per goal, assignee and period; they become objectives."""
    if not enabled:
        yield empty(GOAL_TARGETS_SCHEMA)
        return
    reader = api.reader("goal_targets", hs.GOAL_TARGET_PROPERTIES)
    yield from live_then_archived(
        reader,
        cursor_start(updated_at),
        lambda batch: goal_target_rows(batch, api.mapping),
        "goal target",
        GOAL_TARGETS_SCHEMA,
    )
