"""The `deals` resource and its `deal_stage_history` transformer, with the rows they build:
every deal on the first run, then those modified since; then deleted deals.

No `from __future__ import annotations`: dlt reads the cursor argument's real annotation.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.incremental import MERGE, cursor_start, lagged_cursor
from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.incremental import DELETE_HINTS, batches, tombstone_rows
from ingestion.hubspot.mapping import FieldMapping
from ingestion.hubspot.objects import ObjectReader, primary_from_list_associations
from ingestion.hubspot.schemas import (
    DEALS_SCHEMA,
    HISTORY_TOMBSTONE_SCHEMA,
    STAGE_HISTORY_SCHEMA,
    empty,
)
from ingestion.hubspot.values import (
    blank_to_null,
    concat,
    map_values,
    modified_at,
    prop,
    to_bool,
    to_date,
    to_decimal,
    to_timestamp,
    upper,
)


def deal_rows(
    chunks: Sequence[pa.Array],
    company_ids: Sequence[pa.Array],
    mapping: FieldMapping,
    default_currency: Any,
) -> pa.Table:
    """Raw `deals` rows of a batch of records; `default_currency()` is asked only if needed."""
    records = concat(chunks)
    ids = records.field("id")
    kind = "deal"
    currency = upper(prop(records, "deal_currency_code"))
    if currency.null_count:
        currency = pc.fill_null(currency, default_currency())
    deal_type_value = blank_to_null(prop(records, mapping.deal_type))
    columns = {
        "id": ids,
        "deal_name": blank_to_null(prop(records, "dealname")),
        "amount": to_decimal(prop(records, "amount"), ids, kind, "amount"),
        "currency": currency,
        "pipeline_id": blank_to_null(prop(records, "pipeline")),
        "stage_id": blank_to_null(prop(records, "dealstage")),
        "owner_id": blank_to_null(prop(records, "hubspot_owner_id")),
        "company_id": concat(company_ids),
        "created_at": to_timestamp(prop(records, "createdate"), ids, kind, "createdate"),
        "close_date": to_timestamp(prop(records, "closedate"), ids, kind, "closedate"),
        "is_closed": to_bool(prop(records, "hs_is_closed")),
        "is_closed_won": to_bool(prop(records, "hs_is_closed_won")),
        "deal_type_value": deal_type_value,
        "deal_type": map_values(
            deal_type_value,
            mapping.deal_type_values,
            kind,
            mapping.deal_type,
            "SOURCES__HUBSPOT__DEAL_TYPE_VALUES",
        ),
        "contract_start": to_date(
            prop(records, mapping.contract_start), ids, kind, mapping.contract_start
        ),
        "contract_end": to_date(
            prop(records, mapping.contract_end), ids, kind, mapping.contract_end
        ),
        "mrr": to_decimal(prop(records, mapping.mrr), ids, kind, mapping.mrr),
        "lost_reason": blank_to_null(prop(records, mapping.lost_reason)),
        "channel_value": blank_to_null(prop(records, mapping.channel)),
        "updated_at": modified_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=DEALS_SCHEMA)


def stage_history_rows(chunks: Sequence[pa.Array], deals: pa.Table) -> pa.Table:
    """Raw `deal_stage_history` rows: one per value the deal's stage took, with its time."""
    records = concat(chunks)
    versions = records.field("propertiesWithHistory").field(hs.STAGE_HISTORY_PROPERTY)
    flat = pc.list_flatten(versions)
    parents = pc.list_parent_indices(versions)
    deal_ids = records.field("id").take(parents)
    stage_ids = blank_to_null(flat.field("value"))
    entered_at = to_timestamp(flat.field("timestamp"), deal_ids, "deal", "dealstage history")
    keep = pc.and_(pc.is_valid(stage_ids), pc.is_valid(entered_at))
    table = pa.table(
        {
            "deal_id": deal_ids,
            "stage_id": stage_ids,
            "entered_at": entered_at,
            "updated_at": deals.column("updated_at").combine_chunks().take(parents),
            "archived": pa.array(np.zeros(len(flat), dtype=bool)),
        }
    ).filter(keep)
    return table.cast(STAGE_HISTORY_SCHEMA)


def history_tombstone_rows(chunks: Sequence[pa.Array], tombstones: pa.Table) -> pa.Table:
    """One delete per archived deal: the merge key (deal_id) removes all its history rows."""
    records = concat(chunks)
    stage = pc.fill_null(blank_to_null(prop(records, "dealstage")), "")
    return pa.Table.from_pydict(
        {
            "deal_id": tombstones.column("id"),
            "stage_id": stage,
            "entered_at": tombstones.column("archived_at"),
            "updated_at": tombstones.column("updated_at"),
            "archived_at": tombstones.column("archived_at"),
            "archived": tombstones.column("archived"),
        },
        schema=HISTORY_TOMBSTONE_SCHEMA,
    )


def changed_deals(
    reader: ObjectReader, search_pages: Iterator[pa.Array]
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Each page of changed deals read in full (history included) with its primary company."""
    size = reader.batch_size(with_history=True)
    for page in search_pages:
        ids = page.field("id").to_pylist()
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            records = reader.batch_read(chunk)
            if not len(records):
                continue  # deleted meanwhile: the archived listing deletes them
            from_ids, company_ids = reader.primary_associations(chunk, "companies")
            positions = pc.index_in(records.field("id"), value_set=from_ids)
            companies = (
                company_ids.take(positions)
                if len(from_ids)
                else pa.nulls(len(records), pa.string())
            )
            yield records, companies


@dlt.resource(
    name="deals",
    section="hubspot",
    write_disposition=MERGE,
    primary_key="id",
    columns=DELETE_HINTS,
    incremental=lagged_cursor("updated_at", hs.DEFAULT_LOOKBACK_SECONDS, primary_key=()),
)
def deals(
    api: HubSpotApi,
    updated_at: dlt.sources.incremental[datetime] | None = None,
) -> Iterator[pa.Table]:
    """Every deal on the first run, then those modified since; then deleted deals."""
    reader = api.reader(
        "deals",
        api.mapping.deal_properties,
        history=(hs.STAGE_HISTORY_PROPERTY,),
        associations=("companies",),
    )
    since = cursor_start(updated_at)
    if since is None:
        pages: Iterator[tuple[pa.Array, pa.Array]] = (
            (records, primary_from_list_associations(records, "companies"))
            for records in reader.list_pages()
        )
    else:
        pages = changed_deals(reader, reader.search_modified_since(since))
    emitted = False
    for batch in batches(pages):
        records = [page for page, _ in batch]
        table = deal_rows(records, [c for _, c in batch], api.mapping, api.currency)
        api.hold_history(stage_history_rows(records, table))
        yield table
        emitted = True
    if not emitted:
        yield empty(DEALS_SCHEMA)  # the table exists for staging even with no deals
    archived = reader.list_pages(
        archived=True, properties=(hs.STAGE_HISTORY_PROPERTY, hs.MODIFIED_PROPERTY)
    )
    for batch in batches(page for page in archived if len(page)):
        tombstones = tombstone_rows(batch, "deal")
        api.hold_history(history_tombstone_rows(batch, tombstones))
        yield tombstones


@dlt.transformer(
    name="deal_stage_history",
    section="hubspot",
    write_disposition=MERGE,
    primary_key=("deal_id", "stage_id", "entered_at"),
    merge_key="deal_id",
    columns=DELETE_HINTS,
)
def deal_stage_history(deal_batch: pa.Table, api: HubSpotApi) -> Iterator[pa.Table]:
    """The stage history of the deals `deals` loads (its cursor is theirs): every value
    `dealstage` took, with its time; deleted with the deal."""
    yield api.take_history(deal_batch.column("id").combine_chunks())
