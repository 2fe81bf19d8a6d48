"""The `line_items` resource (the products sold on each deal) and the rows it builds: every
line item with its deal on the first run, then those modified since; then deleted ones.

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
from ingestion.hubspot.incremental import DELETE_HINTS, batches, tombstone_rows
from ingestion.hubspot.objects import ObjectReader, primary_from_list_associations
from ingestion.hubspot.schemas import LINE_ITEMS_SCHEMA, empty
from ingestion.hubspot.values import (
    blank_to_null,
    concat,
    modified_at,
    prop,
    to_decimal,
    to_timestamp,
    upper,
)


def line_item_rows(chunks: Sequence[pa.Array], deal_ids: Sequence[pa.Array]) -> pa.Table:
    """Raw `line_items` rows of a batch of records and, per record, its deal (or null)."""
    records = concat(chunks)
    ids = records.field("id")
    kind = "line item"

    def number(name: str) -> pa.Array:
        return to_decimal(prop(records, name), ids, kind, name)

    columns = {
        "id": ids,
        "deal_id": concat(deal_ids),
        "product_id": blank_to_null(prop(records, "hs_product_id")),
        "name": blank_to_null(prop(records, "name")),
        "quantity": number("quantity"),
        "unit_price": number("price"),
        "amount": number("amount"),
        "unit_cost": number("hs_cost_of_goods_sold"),
        "currency": upper(prop(records, "hs_line_item_currency_code")),
        "created_at": to_timestamp(prop(records, "createdate"), ids, kind, "createdate"),
        "updated_at": modified_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=LINE_ITEMS_SCHEMA)


def changed_line_items(
    reader: ObjectReader, search_pages: Iterator[pa.Array]
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Each page of modified line items with its deal: search returns no associations, so
    they are batch-read per page (a line item belongs to one deal at most)."""
    for records in search_pages:
        from_ids, deal_ids = reader.primary_associations(records.field("id").to_pylist(), "deals")
        positions = pc.index_in(records.field("id"), value_set=from_ids)
        deals = deal_ids.take(positions) if len(from_ids) else pa.nulls(len(records), pa.string())
        yield records, deals


@dlt.resource(
    name="line_items",
    section="hubspot",
    write_disposition=MERGE,
    primary_key="id",
    columns=DELETE_HINTS,
    incremental=lagged_cursor("updated_at", hs.DEFAULT_LOOKBACK_SECONDS, primary_key=()),
)
def line_items(
    api: HubSpotApi,
    enabled: bool,
    updated_at: dlt.sources.incremental[datetime] | None = None,
) -> Iterator[pa.Table]:
    """Line items with their deal: every one on the first run, then those modified since
    (searched on hs_lastmodifieddate, like deals); then deleted (archived) ones."""
    if not enabled:
        yield empty(LINE_ITEMS_SCHEMA)
        return
    reader = api.reader("line_items", hs.LINE_ITEM_PROPERTIES, associations=("deals",))
    since = cursor_start(updated_at)
    if since is None:
        pages: Iterator[tuple[pa.Array, pa.Array]] = (
            (records, primary_from_list_associations(records, "deals"))
            for records in reader.list_pages()
            if len(records)
        )
    else:
        pages = changed_line_items(reader, reader.search_modified_since(since, reader.properties))
    emitted = False
    for batch in batches(pages):
        yield line_item_rows([r for r, _ in batch], [d for _, d in batch])
        emitted = True
    if not emitted:
        yield empty(LINE_ITEMS_SCHEMA)  # the table exists for staging even with none
    archived = reader.list_pages(archived=True, properties=(hs.MODIFIED_PROPERTY,))
    for batch in batches(page for page in archived if len(page)):
        yield tombstone_rows(batch, "line item")
