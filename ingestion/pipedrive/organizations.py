"""The `organizations` resource and its table: the accounts, with the segment, region
and industry fields the settings map.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import keyed
from ingestion.common.incremental import EPOCH, MERGE, delete_hints, lagged_cursor
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.fields import (
    MappedField,
    Notes,
    custom_field_keys,
    custom_fields_schema,
    label_values,
    resolve_fields,
)
from ingestion.pipedrive.listing import Options, all_records, changed_pages
from ingestion.pipedrive.values import from_records, require, to_timestamp

ORG_ROLES = ("segment", "region", "industry")


def organizations_table(
    records: list[dict[str, Any]], fields: Mapping[str, MappedField | None], notes: Notes, what: str
) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("owner_id", pa.int64()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
            ("is_deleted", pa.bool_()),
        ]
        + custom_fields_schema(fields.get(r) for r in ORG_ROLES)
    )
    page = from_records(records, schema, what)
    require(page, ("id", "update_time"), what)
    return keyed(
        pa.table(
            {
                "id": page["id"],
                "name": page["name"],
                "owner_id": page["owner_id"],
                "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
                "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
                "is_deleted": pc.fill_null(page["is_deleted"].combine_chunks(), False),
                "kpi_segment": label_values(page, fields.get("segment"), "organization", notes),
                "kpi_region": label_values(page, fields.get("region"), "organization", notes),
                "kpi_industry": label_values(page, fields.get("industry"), "organization", notes),
            }
        ),
        "id",
    )


@dlt.resource(
    name="organizations",
    section="pipedrive",
    write_disposition=MERGE,
    primary_key="id",
    columns=delete_hints("is_deleted", "update_time"),
    incremental=lagged_cursor("update_time", settings.LOOKBACK_SECONDS, initial_value=EPOCH),
)
def organizations(
    client: PipedriveClient,
    options: Options,
    notes: Notes,
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """Organizations (the accounts) changed since the cursor."""
    fields = resolve_fields(
        all_records(client, settings.ORGANIZATION_FIELDS),
        options.organization_fields,
        "organization",
    )
    yield from changed_pages(
        client,
        [settings.ORGANIZATIONS],
        options,
        updated_since,
        custom_field_keys(fields),
        lambda records, what: organizations_table(records, fields, notes, what),
    )
