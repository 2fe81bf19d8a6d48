"""BI tools still bundle DuckDB 1.x: a DuckDB 1.4 client, in a virtual environment of its
own, opens serving.duckdb and reads every marts table, every column."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils import query

pytestmark = pytest.mark.slow  # runs the pipeline

CLIENT = "duckdb>=1.4,<1.5"
# DuckDB 1.x needs pytz to hand TIMESTAMPTZ values to Python (2.0 does not).
PACKAGES = [CLIENT, "pytz"]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crm-kpi"

# Reads every table whole, then each column alone where a table fails, so a failure
# names the columns and types DuckDB 1.x cannot read.
READER = """
import json, sys
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET TimeZone = 'UTC'")
report = {"version": duckdb.__version__, "rows": {}, "unreadable": {}}
tables = con.execute(
    "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
).fetchall()
for schema, table in tables:
    name = f'"{schema}"."{table}"'
    try:
        report["rows"][f"{schema}.{table}"] = len(con.execute(f"SELECT * FROM {name}").fetchall())
    except Exception as exc:
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchall()
        for column, kind in columns:
            try:
                con.execute(f'SELECT "{column}" FROM {name}').fetchall()
            except Exception as column_exc:
                report["unreadable"][f"{schema}.{table}.{column}"] = f"{kind}: {column_exc}"
        report["unreadable"].setdefault(f"{schema}.{table}", str(exc))
report["won_revenue_q1"] = con.execute(
    "SELECT value FROM marts.kpi_values WHERE metric = 'won_revenue' AND grain = 'quarter' "
    "AND scope_type = 'company' AND period_start = DATE '2026-01-01'"
).fetchone()[0]
report["first_close"] = str(con.execute(
    "SELECT min(closed_at) FROM marts.fct_opportunities"
).fetchone()[0])
print(json.dumps(report))
"""


def _works(python: Path) -> bool:
    if not python.exists():
        return False
    check = subprocess.run(
        [str(python), "-c", "import duckdb, pytz; assert duckdb.__version__.startswith('1.4')"],
        capture_output=True,
        check=False,
    )
    return check.returncode == 0


@pytest.fixture(scope="session")
def duckdb1_python() -> Path:
    """The Python of a virtual environment holding DuckDB 1.4, created once and cached in
    ~/.cache/crm-kpi (a lock keeps two test sessions from building it at once)."""
    folder = CACHE / "duckdb-1.4"
    python = folder / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "duckdb-1.4.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _works(python):
            return python
        shutil.rmtree(folder, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(folder)],
            [str(python), "-m", "pip", "install", "--quiet", *PACKAGES],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                shutil.rmtree(folder, ignore_errors=True)
                pytest.skip(
                    f"cannot install {CLIENT} into a virtual environment ({' '.join(step)} "
                    f"failed: {(done.stderr or done.stdout).strip()[-400:]})"
                )
    assert _works(python), f"{folder} was built but cannot import DuckDB 1.4"
    return python


def test_a_duckdb_1_4_client_reads_every_marts_table(
    small_serving: Path, duckdb1_python: Path
) -> None:
    done = subprocess.run(
        [str(duckdb1_python), "-c", READER, str(small_serving)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["version"].startswith("1.4")
    assert report["unreadable"] == {}

    tables = query(
        small_serving,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1",
    )
    expected = {
        name: query(small_serving, f"SELECT count(*) FROM {name}")[0][0] for (name,) in tables
    }
    assert report["rows"] == expected
    assert "marts.kpi_values" in report["rows"] and report["rows"]["marts.kpi_values"] > 0
    # Values, not only shapes: Q1 won revenue of the export (see tests/e2e), and a UTC
    # timestamp that came through the TIMESTAMPTZ cast of the publish.
    assert report["won_revenue_q1"] == 12500.50
    assert report["first_close"].startswith("2026-01-31 23:00:00")
