"""Every raw table's Arrow schema, in one place so the API and each object's reader import
them without a cycle.
"""

from __future__ import annotations

import pyarrow as pa

from ingestion.common.arrow import TIMESTAMP, key_field
from ingestion.hubspot.values import RATE_DECIMAL, RAW_DECIMAL

DEALS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("deal_name", pa.string()),
        ("amount", RAW_DECIMAL),
        ("currency", pa.string()),
        ("pipeline_id", pa.string()),
        ("stage_id", pa.string()),
        ("owner_id", pa.string()),
        ("company_id", pa.string()),
        ("created_at", TIMESTAMP),
        ("close_date", TIMESTAMP),
        ("is_closed", pa.bool_()),
        ("is_closed_won", pa.bool_()),
        ("deal_type_value", pa.string()),
        ("deal_type", pa.string()),
        ("contract_start", pa.date32()),
        ("contract_end", pa.date32()),
        ("mrr", RAW_DECIMAL),
        ("lost_reason", pa.string()),
        ("channel_value", pa.string()),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
STAGE_HISTORY_SCHEMA = pa.schema(
    [
        key_field("deal_id"),
        key_field("stage_id"),
        key_field("entered_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
COMPANIES_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("name", pa.string()),
        ("segment", pa.string()),
        ("region", pa.string()),
        ("industry", pa.string()),
        ("created_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
GOAL_TARGETS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("goal_name", pa.string()),
        ("metric", pa.string()),
        ("target_amount", RAW_DECIMAL),
        ("start_at", TIMESTAMP),
        ("end_at", TIMESTAMP),
        ("owner_id", pa.string()),
        ("assignee_user_id", pa.string()),
        ("assignee_team_id", pa.string()),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
LINE_ITEMS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("deal_id", pa.string()),
        ("product_id", pa.string()),
        ("name", pa.string()),
        ("quantity", RAW_DECIMAL),
        ("unit_price", RAW_DECIMAL),
        ("amount", RAW_DECIMAL),
        ("unit_cost", RAW_DECIMAL),
        ("currency", pa.string()),
        ("created_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
PRODUCTS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("name", pa.string()),
        ("family_value", pa.string()),
        ("unit_price", RAW_DECIMAL),
        ("unit_cost", RAW_DECIMAL),
        ("created_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
PROPERTY_OPTIONS_SCHEMA = pa.schema(
    [
        key_field("field"),
        ("object_type", pa.string()),
        ("property", pa.string()),
        key_field("value"),
        ("label", pa.string()),
        ("display_order", pa.int32()),
        ("hidden", pa.bool_()),
    ]
)
TOMBSTONE_SCHEMA = pa.schema(
    [
        key_field("id"),
        key_field("updated_at", TIMESTAMP),
        ("archived_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
HISTORY_TOMBSTONE_SCHEMA = pa.schema(
    [
        key_field("deal_id"),
        key_field("stage_id"),
        key_field("entered_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
OWNERS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("email", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("user_id", pa.string()),
        ("owner_type", pa.string()),
        ("team_id", pa.string()),
        ("team_name", pa.string()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
OWNER_TEAMS_SCHEMA = pa.schema(
    [
        key_field("owner_id"),
        key_field("team_id"),
        ("team_name", pa.string()),
        ("is_primary", pa.bool_()),
    ]
)
PIPELINE_STAGES_SCHEMA = pa.schema(
    [
        key_field("pipeline_id"),
        ("pipeline_label", pa.string()),
        ("pipeline_display_order", pa.int32()),
        ("pipeline_archived", pa.bool_()),
        key_field("stage_id"),
        ("stage_label", pa.string()),
        ("display_order", pa.int32()),
        ("probability", RAW_DECIMAL),
        ("is_closed", pa.bool_()),
        ("stage_archived", pa.bool_()),
    ]
)
EXCHANGE_RATES_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("from_currency_code", pa.string()),
        ("to_currency_code", pa.string()),
        ("conversion_rate", RATE_DECIMAL),
        ("effective_at", TIMESTAMP),
        ("visible_in_ui", pa.bool_()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
    ]
)


def empty(schema: pa.Schema) -> pa.Table:
    """Zero typed rows: the raw table exists (and staging can read it) even with no data."""
    return schema.empty_table()
