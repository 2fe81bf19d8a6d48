"""What a person sees on the dbt assets in the Dagster UI: row counts, the KPIs of the
last complete month, the objectives' statuses.

Read after `dbt build` has finished: DuckDB allows no reader while dbt writes the file.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from core.db import connect

KPI_VALUES = dg.AssetKey(["marts", "kpi_values"])
OBJECTIVE_PROGRESS = dg.AssetKey(["marts", "objective_progress"])


def _tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (schema, name)
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
    }


def _kpis_of_last_complete_month(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    rows = con.execute(
        """
        SELECT metric, value, unit, period_start FROM marts.kpi_values
        WHERE grain = 'month' AND scope_type = 'company' AND is_complete
          AND period_start = (SELECT max(period_start) FROM marts.kpi_values
                              WHERE grain = 'month' AND is_complete)
        ORDER BY metric
        """
    ).fetchall()
    if not rows:
        return {}

    def shown(value: float | None) -> str:
        if value is None:
            return ""
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"

    table = "\n".join(f"| {metric} | {shown(value)} | {unit} |" for metric, value, unit, _ in rows)
    return {
        "last_complete_month": rows[0][3].isoformat(),
        "kpis_last_complete_month": dg.MetadataValue.md(
            "| metric | value | unit |\n|---|---|---|\n" + table
        ),
    }


def _objective_statuses(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    rows = con.execute(
        """
        SELECT objective_id, period_start, status, status_reason FROM marts.objective_progress
        WHERE as_of = (SELECT max(as_of) FROM marts.objective_progress)
          AND (SELECT max(as_of) FROM marts.objective_progress) BETWEEN period_start AND period_end
        ORDER BY objective_id
        """
    ).fetchall()
    counts: dict[str, int] = {}
    for _, _, status, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    table = "\n".join(f"| {o} | {p} | {s} | {r} |" for o, p, s, r in rows)
    return {
        **{f"objectives_{status}": n for status, n in sorted(counts.items())},
        "objective_statuses": dg.MetadataValue.md(
            "| objective | period | status | why |\n|---|---|---|---|\n" + table
        ),
    }


def asset_metadata(build_db: Path, keys: set[dg.AssetKey]) -> dict[dg.AssetKey, dict]:
    """Metadata per dbt asset key: `row_count` for tables, more for the key marts."""
    found: dict[dg.AssetKey, dict] = {}
    con = connect(build_db, read_only=True)
    try:
        tables = _tables(con)
        for key in keys:
            if len(key.path) == 2 and tuple(key.path) in tables:
                schema, name = key.path
                rows = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
                found[key] = {"dagster/row_count": rows}
        if KPI_VALUES in found:
            found[KPI_VALUES].update(_kpis_of_last_complete_month(con))
        if OBJECTIVE_PROGRESS in found:
            found[OBJECTIVE_PROGRESS].update(_objective_statuses(con))
    finally:
        con.close()
    return found
