"""Helpers shared by the tests: running the CLI for real, reading the marts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "crm_kpi.cli"]
# Settings of the developer's shell that must not reach a test or a measured run.
ISOLATED_PREFIXES = ("CRM_KPI_", "SOURCES__", "DESTINATION__", "DAGSTER_HOME", "RUNTIME__")


def die_after_copies(count: int) -> None:
    """SIGKILL this process once dlt has copied `count` files into DuckDB (0: never).

    For a child process standing in for a run killed mid-load: some tables written, the
    rest, the merges and the load package's completion not.
    """
    if not count:
        return
    # imported here: the bench imports this module too, and only killed children need it
    from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

    original = DuckDbCopyJob.run
    copied = 0

    def run_then_maybe_die(self: DuckDbCopyJob) -> None:
        nonlocal copied
        original(self)
        copied += 1
        if copied == count:
            os.kill(os.getpid(), signal.SIGKILL)

    DuckDbCopyJob.run = run_then_maybe_die


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """`crm-kpi <args>` in a new process with the test's environment (plus `env`)."""
    return subprocess.run(
        [*CLI, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def kpi(
    path: Path, metric: str, grain: str, scope_type: str = "company", scope_value: str = "all"
) -> dict:
    """{period_start: value} of one KPI series from marts.kpi_values."""
    rows = query(
        path,
        """
        SELECT period_start, value FROM marts.kpi_values
        WHERE metric = ? AND grain = ? AND scope_type = ? AND scope_value = ?
        ORDER BY period_start
        """,
        [metric, grain, scope_type, scope_value],
    )
    return {start.isoformat(): value for start, value in rows}


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process from /proc, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces
    return int(fields[1]), fields[0]


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie (dead, not yet reaped)."""
    found = _stat(pid)
    return found is not None and found[1] not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (children, their children...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) and found[1] != "Z":
            parents[int(entry.name)] = found[0]
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""
