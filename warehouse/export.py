"""The marts as Parquet files, for tools that prefer files to a database.

One file per table of the serving file: `<table>.parquet` for the marts,
`<schema>.<table>.parquet` for any other schema. Each is written under a temporary name
beside its target and renamed into place, so a reader of the folder sees the previous
file or the new one, never half a file. The serving file is opened read-only: an
export never blocks or disturbs the pipeline or another reader.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from core.db import connect
from warehouse.queries import ServingFileMissingError

MARTS_SCHEMA = "marts"


def parquet_name(schema: str, table: str) -> str:
    return f"{table}.parquet" if schema == MARTS_SCHEMA else f"{schema}.{table}.parquet"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(serving_db: Path, out_dir: Path) -> list[Path]:
    """Write every table of `serving_db` to `out_dir` as Parquet; the paths, by table."""
    if not serving_db.exists():
        raise ServingFileMissingError(serving_db)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = connect(serving_db, read_only=True)
    try:
        tables = con.execute(
            """
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'
            ORDER BY table_schema, table_name
            """
        ).fetchall()
        for schema, table in tables:
            target = out_dir / parquet_name(schema, table)
            temporary = out_dir / f".{target.name}.{uuid.uuid4().hex}.tmp"
            try:
                con.execute(
                    f"COPY (SELECT * FROM {_identifier(schema)}.{_identifier(table)}) "
                    f"TO {_literal(temporary)} (FORMAT parquet, COMPRESSION zstd)"
                )
                os.replace(temporary, target)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            written.append(target)
    finally:
        con.close()
    return written
