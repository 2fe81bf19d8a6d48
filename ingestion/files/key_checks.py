"""The checks that span rows or files of an export: keys and what the history names.

Apart from the reader because each is one question put in SQL to the scratch tables
(`text_<entity>`) once every file's values are known to be good: duplicated primary keys
(a problem), stage history of deals the export lacks and stages the stages file lacks
(warnings: those rows are loaded).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.files.contract import Entity
from ingestion.files.problems import Problem
from ingestion.files.sql import cast_sql, quote


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, offset: int
) -> tuple[list[Problem], int]:
    """The first duplicated keys of the entity's file (up to three), and how many more."""
    typed_keys = ", ".join(cast_sql(entity.column(k), quote(k)) for k in entity.primary_key)
    # Grouping on a 64-bit hash of the typed key needs a fraction of the memory of
    # grouping on the key itself; a collision only sends us to the exact search below.
    duplicated = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM text_{entity.name} "
        f"GROUP BY hash({typed_keys}) HAVING count(*) > 1)"
    ).fetchone()[0]
    if not duplicated:
        return [], 0
    dupes = con.execute(
        f"""
        SELECT k, list(rowid ORDER BY rowid) FROM (
            SELECT ({typed_keys})::VARCHAR AS k, rowid FROM text_{entity.name}
        ) GROUP BY k HAVING count(*) > 1 ORDER BY min(rowid) LIMIT 3
        """
    ).fetchall()
    problems = []
    for key, rowids in dupes:
        lines = ", ".join(str(r + offset) for r in rowids[:5])
        problems.append(
            Problem(
                path.name,
                rowids[1] + offset,
                ", ".join(entity.primary_key),
                f"duplicate key {key} (lines {lines}); each "
                f"{' + '.join(entity.primary_key)} must appear once",
            )
        )
    # the other duplicated keys, counted by the hash pass ("... and N more")
    more = max(duplicated - len(dupes), 0) if dupes else 0
    return problems, more


QUARANTINE_TABLES = {
    "stage_history": "quarantine.stage_history",
    "deal_products": "quarantine.opportunity_products",
}


def unknown_deals(
    con: duckdb.DuckDBPyConnection, files: dict[str, Path], entity: str = "stage_history"
) -> str | None:
    """Rows of `entity` (stage history, deal products) naming a deal the export lacks (a
    deal deleted while its rows were kept, or the files exported apart) are loaded, but
    dbt keeps them in quarantine and out of every KPI: a warning with the count, the file
    and the first line. The quality checks block the run only above the quarantine share."""
    if entity not in files:
        return None
    count, first = con.execute(
        f"""
        SELECT count(*), min(h.rowid) FROM text_{entity} h
        ANTI JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id)
        """
    ).fetchone()
    if not count:
        return None
    (deal,) = con.execute(
        f"SELECT TRIM(deal_id) FROM text_{entity} WHERE rowid = {first}"
    ).fetchone()
    rows, deals = files[entity].name, files["deals"].name
    offset = 1 if rows.endswith(".parquet") else 2
    what = "history" if entity == "stage_history" else "product"
    return (
        f"{rows}, {'row' if offset == 1 else 'line'} {first + offset}, column 'deal_id': "
        f"{deal!r} is not a deal_id of {deals}; {count} {what} row(s) name deals {deals} "
        f"lacks. They are kept in {QUARANTINE_TABLES[entity]} and counted in no KPI (the "
        f"run is refused only when they pass CRM_KPI_MAX_QUARANTINE_SHARE of the {what} "
        f"rows): export {deals} and {rows} together, or remove the rows of deleted deals."
    )


def unknown_stages(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> str | None:
    """Stage history naming a stage that the stages file lacks for the deal's pipeline
    is loaded (it is the deal's real history), but that stage has no probability for
    the weighted pipeline and no place in the funnel: a warning with file and line."""
    if "stages" not in files or "stage_history" not in files:
        return None
    unknown = """
        FROM text_stage_history h JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id)
        WHERE NOT EXISTS (
            SELECT 1 FROM text_stages s
            WHERE TRIM(s.pipeline) = TRIM(d.pipeline) AND TRIM(s.stage) = TRIM(h.stage)
        )
    """
    count, first = con.execute(f"SELECT count(*), min(h.rowid) {unknown}").fetchone()
    if not count:
        return None
    deal, stage, pipeline = con.execute(
        "SELECT TRIM(h.deal_id), TRIM(h.stage), TRIM(d.pipeline) FROM text_stage_history h "
        "JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id) WHERE h.rowid = ?",
        [first],
    ).fetchone()
    names = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT TRIM(h.stage) AS stage {unknown} ORDER BY stage LIMIT 6"
        ).fetchall()
    ]
    history, stages = files["stage_history"].name, files["stages"].name
    offset = 1 if history.endswith(".parquet") else 2
    shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
    return (
        f"{history}, {'row' if offset == 1 else 'line'} {first + offset}: stage {stage!r} "
        f"of deal {deal!r} is not a stage of pipeline {pipeline!r} in {stages}; "
        f"{count} history row(s) name a stage {stages} lacks ({shown}). They are loaded, "
        "but such a stage has no probability (weighted pipeline) and no place in the "
        f"funnel: add it to {stages}, or correct the history."
    )
