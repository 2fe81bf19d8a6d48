"""How HubSpot's tables load: the merge with deletes for the incremental objects, the
snapshot merge for the small ones, pages grouped into batches, and archived records
turned into deletes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.incremental import MERGE, delete_hints
from ingestion.hubspot import settings as hs
from ingestion.hubspot.objects import ObjectReader
from ingestion.hubspot.schemas import TOMBSTONE_SCHEMA, empty
from ingestion.hubspot.values import blank_to_null, concat, modified_at, to_timestamp

# `archived` marks a delete (dlt's hard_delete); of two copies of a record in one load the
# latest `updated_at` wins, so a delete read in the same run as a live copy prevails.
DELETE_HINTS: dict[str, Any] = delete_hints("archived", "updated_at")


# A snapshot table's merge key: one value for all rows, so each load replaces them all.
SNAPSHOT_HINTS: dict[str, Any] = {"write_disposition": MERGE, "merge_key": "snapshot"}


def snapshot(table: pa.Table) -> pa.Table:
    return table.append_column(
        pa.field("snapshot", pa.string(), nullable=False),
        pa.array(["hubspot"] * table.num_rows, pa.string()),
    )


def batches(pages: Iterator[Any], rows: int = hs.BATCH_ROWS) -> Iterator[list[Any]]:
    """Pages grouped until about `rows` records: dlt then handles few, larger tables."""
    batch: list[Any] = []
    count = 0
    for page in pages:
        batch.append(page)
        count += len(page[0] if isinstance(page, tuple) else page)
        if count >= rows:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def live_then_archived(
    reader: ObjectReader,
    since: datetime | None,
    build: Callable[[list[pa.Array]], pa.Table],
    kind: str,
    schema: pa.Schema,
) -> Iterator[pa.Table]:
    """Records (all of them, else those modified since `since`), then deletes."""
    if since is None:
        pages = reader.list_pages()
    else:
        pages = reader.search_modified_since(since, reader.properties)
    emitted = False
    for batch in batches(page for page in pages if len(page)):
        yield build(batch)
        emitted = True
    if not emitted:
        yield empty(schema)  # the table exists for staging even when HubSpot has none
    archived = reader.list_pages(archived=True, properties=(hs.MODIFIED_PROPERTY,))
    for batch in batches(page for page in archived if len(page)):
        yield tombstone_rows(batch, kind)


def tombstone_rows(chunks: Sequence[pa.Array], object_type: str) -> pa.Table:
    """Archived records as deletes: `archived` is dlt's hard-delete column."""
    records = concat(chunks)
    ids = records.field("id")
    archived_at = to_timestamp(
        pc.coalesce(
            blank_to_null(records.field("archivedAt")), blank_to_null(records.field("updatedAt"))
        ),
        ids,
        object_type,
        "archivedAt",
    )
    updated = modified_at(records, ids, object_type)
    if archived_at.null_count:
        archived_at = pc.coalesce(archived_at, updated)
    # the delete must win the merge's dedup against a live copy read in the same run
    latest = pc.if_else(pc.greater(archived_at, updated), archived_at, updated)
    return pa.Table.from_pydict(
        {
            "id": ids,
            "updated_at": latest,
            "archived_at": archived_at,
            "archived": pa.array(np.ones(len(records), dtype=bool)),
        },
        schema=TOMBSTONE_SCHEMA,
    )
