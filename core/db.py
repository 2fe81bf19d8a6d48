"""DuckDB connections as the project needs them: UTC session, and safe read-only reads."""

from __future__ import annotations

from pathlib import Path

import duckdb


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose session zone is UTC: dates of TIMESTAMPTZ values follow it."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def connect_sandboxed(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Read-only, with no access to files or the network: for SQL a person typed."""
    con = duckdb.connect(
        str(path),
        read_only=True,
        config={"enable_external_access": False, "autoload_known_extensions": False},
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    return con
