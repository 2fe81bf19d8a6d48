"""The `deals` resource and its table: deals changed since the cursor, deleted ones
hard-deleted, with the deal fields the settings map (deal type, contract, MRR).
"""

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import keyed
from ingestion.common.incremental import EPOCH, MERGE, delete_hints, lagged_cursor
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import PipedriveConfigError, PipedriveResponseError
from ingestion.pipedrive.fields import (
    MappedField,
    Notes,
    custom_field_keys,
    custom_fields_schema,
    date_values,
    deal_types,
    label_values,
    money_values,
    resolve_fields,
)
from ingestion.pipedrive.listing import Options, all_records, changed_pages
from ingestion.pipedrive.values import from_records, require, to_date, to_money, to_timestamp

logger = logging.getLogger("ingestion.pipedrive")

DEAL_BASE_SCHEMA = [
    ("id", pa.int64()),
    ("title", pa.string()),
    ("owner_id", pa.int64()),
    ("person_id", pa.int64()),
    ("org_id", pa.int64()),
    ("pipeline_id", pa.int64()),
    ("stage_id", pa.int64()),
    ("value", pa.float64()),
    ("currency", pa.string()),
    ("status", pa.string()),
    ("add_time", pa.string()),
    ("update_time", pa.string()),
    ("stage_change_time", pa.string()),
    ("close_time", pa.string()),
    ("won_time", pa.string()),
    ("lost_time", pa.string()),
    ("expected_close_date", pa.string()),
    ("probability", pa.float64()),
    ("lost_reason", pa.string()),
    ("origin", pa.string()),
    ("products_count", pa.int64()),
    ("is_deleted", pa.bool_()),
    ("is_archived", pa.bool_()),
]
DEAL_ROLES = ("deal_type", "contract_start", "contract_end", "mrr", "channel")


@dataclass
class DealMapping:
    fields: Mapping[str, MappedField | None]
    deal_type_labels: Mapping[str, str]
    notes: Notes

    @property
    def schema(self) -> pa.Schema:
        mapped = [self.fields.get(r) for r in DEAL_ROLES]
        base = {name for name, _ in DEAL_BASE_SCHEMA}
        # a role mapped onto a built-in field read anyway (origin, say) keeps its column
        extra = [c for c in custom_fields_schema(mapped) if c[0] not in base]
        return pa.schema(DEAL_BASE_SCHEMA + extra)

    @property
    def custom_field_keys(self) -> list[str]:
        return custom_field_keys(self.fields)


def deals_table(records: list[dict[str, Any]], mapping: DealMapping, what: str) -> pa.Table:
    """A page of v2 deals as the raw `deals` table (see the staging yml for columns)."""
    page = from_records(records, mapping.schema, what)
    require(page, ("id", "update_time"), what)
    status = page["status"].combine_chunks()
    is_deleted = pc.fill_null(
        pc.or_kleene(page["is_deleted"].combine_chunks(), pc.equal(status, "deleted")), False
    )
    fields = mapping.fields
    type_labels = label_values(page, fields.get("deal_type"), "deal", mapping.notes)
    mrr, mrr_currency = money_values(page, fields.get("mrr"), "deal")
    columns = {
        "id": page["id"],
        "title": page["title"],
        "owner_id": page["owner_id"],
        "person_id": page["person_id"],
        "org_id": page["org_id"],
        "pipeline_id": page["pipeline_id"],
        "stage_id": page["stage_id"],
        "value": to_money(page["value"]),
        "currency": pc.utf8_upper(page["currency"]),
        "status": status,
        "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
        "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
        "stage_change_time": to_timestamp(page["stage_change_time"], f"{what}: stage_change_time"),
        "close_time": to_timestamp(page["close_time"], f"{what}: close_time"),
        "won_time": to_timestamp(page["won_time"], f"{what}: won_time"),
        "lost_time": to_timestamp(page["lost_time"], f"{what}: lost_time"),
        "expected_close_date": to_date(page["expected_close_date"], f"{what}: expected_close_date"),
        "probability": page["probability"],
        "lost_reason": page["lost_reason"],
        "origin": page["origin"],
        "products_count": page["products_count"],
        "is_deleted": is_deleted,
        "is_archived": pc.fill_null(page["is_archived"].combine_chunks(), False),
        "kpi_deal_type": deal_types(type_labels, mapping.deal_type_labels, mapping.notes),
        "kpi_deal_type_label": type_labels,
        "kpi_contract_start": date_values(page, fields.get("contract_start"), "deal"),
        "kpi_contract_end": date_values(page, fields.get("contract_end"), "deal"),
        "kpi_mrr": mrr,
        "kpi_mrr_currency": mrr_currency,
        "kpi_channel": label_values(page, fields.get("channel"), "deal", mapping.notes),
    }
    live = pc.invert(is_deleted)
    missing_add = pc.sum(pc.and_(live, pc.is_null(columns["add_time"]))).as_py() or 0
    if missing_add:
        raise PipedriveResponseError(f"{what}: {missing_add} deal(s) without add_time")
    return keyed(pa.table(columns), "id")


def warn_if_deletions_may_be_missed(
    last_read: str | None, now: datetime, full_refresh: bool
) -> None:
    """Warn when the last successful read is older than Pipedrive's list of deleted deals.

    `last_read` is kept in the deals resource's state, which dlt commits only when the
    load succeeds; it is when the pipeline last read Pipedrive, not the last change in it.
    """
    if full_refresh or not last_read:
        return
    age = now - datetime.fromisoformat(last_read)
    if age > timedelta(days=settings.DELETED_DEALS_KEPT_DAYS - 1):
        logger.warning(
            "pipedrive: the last successful read was %d days ago; Pipedrive lists deleted "
            "deals for %d days only, so deals deleted in between may still be in the "
            "warehouse. Run once with SOURCES__PIPEDRIVE__FULL_REFRESH=true to find them by "
            "their absence.",
            age.days,
            settings.DELETED_DEALS_KEPT_DAYS,
        )


def _deal_mapping(client: PipedriveClient, options: Options, notes: Notes) -> DealMapping:
    fields = resolve_fields(all_records(client, settings.DEAL_FIELDS), options.deal_fields, "deal")
    labels = {**settings.DEAL_TYPE_LABELS}
    for label, value in options.deal_type_labels.items():
        key = "_".join(str(label).strip().lower().replace("-", " ").split())
        if value not in ("new_business", "renewal", "expansion"):
            raise PipedriveConfigError(
                f"SOURCES__PIPEDRIVE__DEAL_TYPE_LABELS maps {label!r} to {value!r}: the deal "
                "types are new_business, renewal and expansion"
            )
        labels[key] = value
    return DealMapping(fields=fields, deal_type_labels=labels, notes=notes)


@dlt.resource(
    name="deals",
    section="pipedrive",
    write_disposition=MERGE,
    primary_key="id",
    columns=delete_hints("is_deleted", "update_time"),
    incremental=lagged_cursor("update_time", settings.LOOKBACK_SECONDS, initial_value=EPOCH),
)
def deals(
    client: PipedriveClient,
    options: Options,
    notes: Notes,
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """Deals changed since the cursor, oldest change first, one Arrow table per page."""
    mapping = _deal_mapping(client, options, notes)
    state = dlt.current.resource_state()
    read_at = datetime.now(UTC)
    warn_if_deletions_may_be_missed(state.get("last_read_at"), read_at, options.full_refresh)
    status = settings.LIVE_DEAL_STATUSES if options.full_refresh else settings.DEAL_STATUSES
    paths = [settings.DEALS] + ([settings.ARCHIVED_DEALS] if options.include_archived else [])
    yield from changed_pages(
        client,
        paths,
        options,
        updated_since,
        mapping.custom_field_keys,
        lambda records, what: deals_table(records, mapping, what),
        filters={"status": status, "include_fields": settings.DEAL_INCLUDE_FIELDS},
    )
    state["last_read_at"] = read_at.isoformat()  # committed with the load, not before
