"""The `products` resource (the product library the line items point to) and its rows.

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
from ingestion.hubspot.schemas import PRODUCTS_SCHEMA, empty
from ingestion.hubspot.values import (
    blank_to_null,
    concat,
    modified_at,
    prop,
    to_decimal,
    to_timestamp,
)


def product_rows(chunks: Sequence[pa.Array], mapping: FieldMapping) -> pa.Table:
    records = concat(chunks)
    ids = records.field("id")
    kind = "product"
    columns = {
        "id": ids,
        "name": blank_to_null(prop(records, "name")),
        "family_value": blank_to_null(prop(records, mapping.product_family)),
        "unit_price": to_decimal(prop(records, "price"), ids, kind, "price"),
        "unit_cost": to_decimal(
            prop(records, "hs_cost_of_goods_sold"), ids, kind, "hs_cost_of_goods_sold"
        ),
        "created_at": to_timestamp(prop(records, "createdate"), ids, kind, "createdate"),
        "updated_at": modified_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=PRODUCTS_SCHEMA)


# `enabled` has no default: dlt would otherwise read it from config as a resource setting
@dlt.resource(
    name="products",
    section="hubspot",
    write_disposition=MERGE,
    primary_key="id",
    columns=DELETE_HINTS,
    incremental=lagged_cursor("updated_at", hs.DEFAULT_LOOKBACK_SECONDS, primary_key=()),
)
def products(
    api: HubSpotApi,
    enabled: bool,
    updated_at: dlt.sources.incremental[datetime] | None = None,
) -> Iterator[pa.Table]:
    """Products with the property mapped to the product family and their unit cost."""
    if not enabled:
        yield empty(PRODUCTS_SCHEMA)
        return
    reader = api.reader("products", api.mapping.product_properties)
    yield from live_then_archived(
        reader,
        cursor_start(updated_at),
        lambda batch: product_rows(batch, api.mapping),
        "product",
        PRODUCTS_SCHEMA,
    )
