"""Publishing the marts into the serving file that analysts and BI tools open.

The marts are copied into a new file beside the serving file, which then replaces it by
an atomic rename: a reader never sees a half-built state, and a process holding the old
file open keeps reading its snapshot (the rename does not touch the open inode).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.db import connect

PUBLISHED_SCHEMAS = ("marts",)
# DuckDB 1.4 and later can read this storage version; BI tools still bundle 1.x.
SERVING_STORAGE_VERSION = "v1.4.0"


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int


def _serving_type(data_type: str) -> str | None:
    """The type a column is stored as in the serving file, if it must change.

    DuckDB 1.4 cannot open TIMESTAMP_NS / TIMESTAMPTZ_NS columns even in a v1.4.0 file.
    """
    upper = data_type.upper()
    if upper in ("TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE_NS", "TIMESTAMPTZ_NS"):
        return "TIMESTAMPTZ" if "ZONE" in upper or "TZ" in upper else "TIMESTAMP"
    return None


def publish(build_db: Path, serving_db: Path) -> list[PublishedTable]:
    """Copy the published schemas of `build_db` into a new `serving_db`, atomically."""
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    staging = serving_db.with_name(f".{serving_db.name}.{uuid.uuid4().hex}.tmp")
    published: list[PublishedTable] = []
    con = connect(":memory:")
    try:
        con.execute(f"ATTACH '{build_db}' AS build (READ_ONLY)")
        con.execute(f"ATTACH '{staging}' AS serving (STORAGE_VERSION '{SERVING_STORAGE_VERSION}')")
        tables = con.execute(
            """
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_catalog = 'build' AND table_type = 'BASE TABLE'
              AND table_schema IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY table_schema, table_name
            """,
            [list(PUBLISHED_SCHEMAS)],
        ).fetchall()
        for schema, name in tables:
            columns = con.execute(
                """
                SELECT column_name, data_type FROM information_schema.columns
                WHERE table_catalog = 'build' AND table_schema = ? AND table_name = ?
                ORDER BY ordinal_position
                """,
                [schema, name],
            ).fetchall()
            select = ", ".join(
                f'CAST("{col}" AS {_serving_type(t)}) AS "{col}"'
                if _serving_type(t)
                else f'"{col}"'
                for col, t in columns
            )
            con.execute(f'CREATE SCHEMA IF NOT EXISTS serving."{schema}"')
            target, origin = f'serving."{schema}"."{name}"', f'build."{schema}"."{name}"'
            con.execute(f"CREATE TABLE {target} AS SELECT {select} FROM {origin}")
            rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            published.append(PublishedTable(schema, name, rows))
        con.execute("DETACH serving")
        con.execute("DETACH build")
    except BaseException:
        con.close()
        staging.unlink(missing_ok=True)
        Path(f"{staging}.wal").unlink(missing_ok=True)
        raise
    con.close()
    os.replace(staging, serving_db)
    return published
