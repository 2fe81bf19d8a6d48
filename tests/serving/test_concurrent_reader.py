"""A dashboard holding serving.duckdb open in another process never blocks a refresh:
it keeps reading the snapshot it opened, and a new reader sees the new one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import EXPORT, refresh
from tests.utils import query

pytestmark = pytest.mark.slow  # runs the pipeline

# A reader as a BI tool is one: it opens the file read-only, reads, and keeps its
# connection open; each line on stdin makes it read again on that same connection.
READER = """
import json, sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)

def snapshot():
    revenue = con.execute(
        "SELECT value FROM marts.kpi_values WHERE metric = 'won_revenue' AND grain = 'month'"
        " AND scope_type = 'company' AND period_start = DATE '2026-03-01'"
    ).fetchone()[0]
    deals = con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0]
    print(json.dumps({"won_revenue_march": revenue, "deals": deals}), flush=True)

snapshot()
for _ in sys.stdin:
    snapshot()
"""

SNAPSHOT_SQL = (
    "SELECT (SELECT value FROM marts.kpi_values WHERE metric = 'won_revenue' AND grain = "
    "'month' AND scope_type = 'company' AND period_start = DATE '2026-03-01'), "
    "(SELECT count(*) FROM marts.fct_opportunities)"
)


def changed_export(folder: Path) -> Path:
    """The 15-deal export with deal 1 at 11,000 instead of 10,000 and a 16th deal."""
    shutil.copytree(EXPORT, folder)
    deals = folder / "deals.csv"
    lines = deals.read_text().splitlines()
    assert lines[1].startswith("1,10,1,New Business,Closed Won,won,10000,EUR,")
    lines[1] = lines[1].replace(",won,10000,EUR,", ",won,11000,EUR,")
    lines.append(
        "16,10,1,New Business,Proposal,open,700,EUR,2026-06-15T09:00:00Z,,2026-06-15T09:00:00Z,"
    )
    deals.write_text("\n".join(lines) + "\n")
    return folder


def test_an_open_reader_keeps_its_snapshot_through_a_full_refresh(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = refresh(data_dir, EXPORT)
    assert first.returncode == 0, first.stderr
    serving = data_dir / "serving.duckdb"

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        opened = json.loads(reader.stdout.readline() or "null")
        assert opened == {"won_revenue_march": 10000.0, "deals": 14}, reader.stderr.read()

        second = refresh(data_dir, changed_export(tmp_path / "export_changed"))
        assert second.returncode == 0, second.stderr  # the open reader did not block it

        reader.stdin.write("again\n")
        reader.stdin.flush()
        still = json.loads(reader.stdout.readline() or "null")
        assert still == opened  # the old snapshot, whole: no half-built state
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0, reader.stderr.read()

    # A new reader, in a new process, sees the new snapshot.
    assert query(serving, SNAPSHOT_SQL) == [(11000.0, 15)]
    # The refresh left no temporary file behind.
    assert sorted(p.name for p in data_dir.glob("*serving*")) == ["serving.duckdb"]
