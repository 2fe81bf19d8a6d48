"""Validated objectives as rows: Arrow tables, and their load into `raw_objectives`.

Objectives reach dbt as data (docs/architecture.md, "Run settings are data"): the
tables below replace schema `raw_objectives` of the build database in one transaction,
so a failed load leaves the previous objectives in place and dbt never sees half a file.
The `objectives` table has the columns of `stg_<source>__objectives`, so file and CRM
objectives union as they are.
"""

from __future__ import annotations

import uuid

import duckdb
import pyarrow as pa

from objectives.model import ObjectivesFile

SCHEMA = "raw_objectives"

OBJECTIVES_SCHEMA = pa.schema(
    [
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("scope_type", pa.string(), nullable=False),
        pa.field("scope_value", pa.string(), nullable=False),
        pa.field("period_start", pa.date32(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("grain", pa.string()),  # null: the whole period is one
        pa.field("direction", pa.string(), nullable=False),
        pa.field("target", pa.float64()),  # null: a relative target (target_rules)
        pa.field("baseline", pa.float64()),  # null: measured over the N days before start
        pa.field("at_risk", pa.float64(), nullable=False),
        pa.field("off_track", pa.float64(), nullable=False),
    ]
)
MILESTONES_SCHEMA = pa.schema(
    [
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("milestone_date", pa.date32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
# One row per objective whose target needs a reference value (a relative target or
# revision) or whose baseline names a period; the CRM goals never have one.
TARGET_RULES_SCHEMA = pa.schema(
    [
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("target_rule", pa.string()),  # "+40%"; null: only a revision is relative
        pa.field("target_change", pa.float64()),
        pa.field("baseline_period", pa.string()),  # prior_period, same_last_year; null: default
    ]
)
REVISIONS_SCHEMA = pa.schema(
    [
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("revised_from", pa.date32(), nullable=False),
        pa.field("target", pa.float64()),  # null: relative (target_change)
        pa.field("target_change", pa.float64()),
        pa.field("target_rule", pa.string()),
        pa.field("reason", pa.string()),
    ]
)
OKRS_SCHEMA = pa.schema(
    [
        pa.field("okr_id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
    ]
)
OKR_KEY_RESULTS_SCHEMA = pa.schema(
    [
        pa.field("okr_id", pa.string(), nullable=False),
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),  # 1-based, the file's order
        pa.field("weight", pa.float64(), nullable=False),  # > 0; 1 when not given
    ]
)
# The objectives a cascade made (docs/objectives.md, "Cascades"): apart from `objectives`,
# whose columns are those every CRM's goals have too.
OBJECTIVE_PARTS_SCHEMA = pa.schema(
    [
        pa.field("objective_id", pa.string(), nullable=False),
        pa.field("parent_id", pa.string(), nullable=False),
        pa.field("part_kind", pa.string(), nullable=False),  # part or unassigned
        pa.field("share", pa.float64()),  # the part's share as written, else null
    ]
)
MANUAL_METRICS_SCHEMA = pa.schema(
    [
        pa.field("metric", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),  # as declared: count, ..., patents
        pa.field("aggregation", pa.string(), nullable=False),  # sum, last, mean
        pa.field("scopes", pa.string(), nullable=False),  # the scope types, comma-separated
    ]
)
MANUAL_METRIC_VALUES_SCHEMA = pa.schema(
    [
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value_date", pa.date32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("scope_type", pa.string(), nullable=False),
        pa.field("scope_value", pa.string(), nullable=False),
        pa.field("note", pa.string()),
        # Where the row is: the build's check of its scope value names them.
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int32(), nullable=False),
    ]
)
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "objectives": OBJECTIVES_SCHEMA,
    "milestones": MILESTONES_SCHEMA,
    "okrs": OKRS_SCHEMA,
    "okr_key_results": OKR_KEY_RESULTS_SCHEMA,
    "target_rules": TARGET_RULES_SCHEMA,
    "revisions": REVISIONS_SCHEMA,
    "manual_metrics": MANUAL_METRICS_SCHEMA,
    "manual_metric_values": MANUAL_METRIC_VALUES_SCHEMA,
    "objective_parts": OBJECTIVE_PARTS_SCHEMA,
}


_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
}


def _columns_sql(schema: pa.Schema) -> str:
    """Column definitions from the Arrow schema, so DuckDB keeps its NOT NULLs too."""
    return ", ".join(
        f"{f.name} {_DUCKDB_TYPES[f.type]}{'' if f.nullable else ' NOT NULL'}" for f in schema
    )


def objectives_tables(f: ObjectivesFile, source: str = "file") -> dict[str, pa.Table]:
    """The `raw_objectives` tables of a validated file, typed even when empty.

    Objective ids are kept as written (the OKRs and the scorecard refer to them); CRM
    goals carry `<source>:<id>` ids, so the two never collide.
    """
    objectives = [
        {
            "objective_id": o.id,
            "source": source,
            "title": o.title,
            "metric": o.metric,
            "scope_type": o.scope_type,
            "scope_value": o.scope_value,
            "period_start": o.period_start,
            "period_end": o.period_end,
            "grain": o.grain,
            "direction": o.direction,
            "target": o.target,
            "baseline": o.baseline,
            "at_risk": o.at_risk,
            "off_track": o.off_track,
        }
        for o in f.objectives
    ]
    milestones = [
        {"objective_id": o.id, "milestone_date": m.date, "value": m.value}
        for o in f.objectives
        for m in o.milestones
    ]
    target_rules = [
        {
            "objective_id": o.id,
            "target_rule": o.target_rule,
            "target_change": o.target_change,
            "baseline_period": o.baseline_period,
        }
        for o in f.objectives
        if o.needs_reference or o.baseline_period is not None
    ]
    revisions = [
        {
            "objective_id": o.id,
            "revised_from": r.revised_from,
            "target": r.target,
            "target_change": r.target_change,
            "target_rule": r.target_rule,
            "reason": r.reason,
        }
        for o in f.objectives
        for r in o.revisions
    ]
    okrs = [{"okr_id": k.id, "title": k.title} for k in f.okrs]
    key_results = [
        {
            "okr_id": k.id,
            "objective_id": objective_id,
            "position": position,
            "weight": k.weight(position - 1),
        }
        for k in f.okrs
        for position, objective_id in enumerate(k.key_results, start=1)
    ]
    manual_metrics = [
        {
            "metric": m.id,
            "title": m.title,
            "unit": m.unit,
            "aggregation": m.aggregation,
            "scopes": ",".join(m.scopes),
        }
        for m in f.manual_metrics
    ]
    manual_values = [
        {
            "metric": v.metric,
            "value_date": v.date,
            "value": v.value,
            "scope_type": v.scope_type,
            "scope_value": v.scope_value,
            "note": v.note,
            "file": str(f.values_path),
            "line": v.line,
        }
        for v in f.manual_values
    ]
    parts = [
        {
            "objective_id": o.id,
            "parent_id": o.parent_id,
            "part_kind": o.part_kind,
            "share": o.share,
        }
        for o in f.objectives
        if o.parent_id is not None
    ]
    rows = {
        "objectives": objectives,
        "milestones": milestones,
        "okrs": okrs,
        "okr_key_results": key_results,
        "target_rules": target_rules,
        "revisions": revisions,
        "manual_metrics": manual_metrics,
        "manual_metric_values": manual_values,
        "objective_parts": parts,
    }
    return {
        name: pa.Table.from_pylist(rows[name], schema=schema)
        for name, schema in TABLE_SCHEMAS.items()
    }


def write_objectives(con: duckdb.DuckDBPyConnection, f: ObjectivesFile) -> None:
    """Replace the tables of schema `raw_objectives` with the file's, all or nothing.

    The values travel as Arrow tables, never as SQL text. Any failure rolls the whole
    replacement back, so readers keep the previous objectives.
    """
    tables = objectives_tables(f)
    # A unique name: the connection may be shared, and a registered view is per connection.
    view = f"_crm_kpi_objectives_{uuid.uuid4().hex}"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for name, table in tables.items():
            con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.{name} ({_columns_sql(table.schema)})")
            con.register(view, table)
            try:
                con.execute(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM {view}")
            finally:
                con.unregister(view)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
