"""The `companies` resource (the accounts) and the rows it builds.

No `from __future__ import annotations`: dlt reads the cursor argument's real annotation.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime

import dlt
import numpy as np
import pyarrow as pa

from ingestion.common.incremental import MERGE, cursor_start, lagged_cursor
from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.incremental import DELETE_HINTS, live_then_archived
from ingestion.hubspot.mapping import FieldMapping
from ingestion.hubspot.schemas import COMPANIES_SCHEMA
from ingestion.hubspot.values import blank_to_null, concat, modified_at, prop, to_timestamp


def company_rows(chunks: Sequence[pa.Array], mapping: FieldMapping) -> pa.Table:
    records = concat(chunks)
    ids = records.field("id")
    columns = {
        "id": ids,
        "name": blank_to_null(prop(records, "name")),
        "segment": blank_to_null(prop(records, mapping.segment)),
        "region": blank_to_null(prop(records, mapping.region)),
        "industry": blank_to_null(prop(records, mapping.industry)),
        "created_at": to_timestamp(prop(records, "createdate"), ids, "company", "createdate"),
        "updated_at": modified_at(records, ids, "company"),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=COMPANIES_SCHEMA)


@dlt.resource(
    name="companies",
    section="hubspot",
    write_disposition=MERGE,
    primary_key="id",
    columns=DELETE_HINTS,
    incremental=lagged_cursor("updated_at", hs.DEFAULT_LOOKBACK_SECONDS, primary_key=()),
)
def companies(
    api: HubSpotApi,
    updated_at: dlt.sources.incremental[datetime] | None = None,
) -> Iterator[pa.Table]:
    """Companies (the accounts) with the properties mapped to segment, region, industry."""
    reader = api.reader("companies", api.mapping.company_properties)
    yield from live_then_archived(
        reader,
        cursor_start(updated_at),
        lambda batch: company_rows(batch, api.mapping),
        "company",
        COMPANIES_SCHEMA,
    )
