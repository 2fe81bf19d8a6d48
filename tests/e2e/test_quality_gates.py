"""The quality gates in a real run: a blocking expectation stops the publish and says
why; a warning is reported and the marts are published."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

from tests.conftest import FIXTURES
from tests.utils import query, run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_collapsing_table_blocks_the_publish(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "export_small", export)
    env = {"SOURCES__FILES__PATH": str(export)}
    first = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert first.returncode == 0, first.stderr
    # the deal with no account was kept, counted under (none), and reported
    assert "the deal has an account" in first.stderr
    serving = tmp_path / "data" / "serving.duckdb"
    before = digest(serving)

    # the next export lost two thirds of its deals (and their history)
    with open(export / "deals.csv") as f:
        rows = list(csv.reader(f))
    kept = rows[:6]
    with open(export / "deals.csv", "w", newline="") as f:
        csv.writer(f).writerows(kept)
    kept_ids = {r[0] for r in kept[1:]}
    with open(export / "stage_history.csv") as f:
        history = [r for r in csv.reader(f) if r[0] == "deal_id" or r[0] in kept_ids]
    with open(export / "stage_history.csv", "w", newline="") as f:
        csv.writer(f).writerows(history)

    second = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert second.returncode == 1
    assert "serving.duckdb was left as it was" in second.stderr
    assert "raw_files.deals" in second.stderr
    assert "5 rows" in second.stderr and "15" in second.stderr
    assert "CRM_KPI_MAX_SHRINK" in second.stderr
    assert digest(serving) == before
    assert query(serving, "SELECT count(*) FROM marts.fct_opportunities") == [(14,)]

    # a shrink the operator expects: allowed with a looser limit
    third = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        "2026-07-15",
        env={**env, "CRM_KPI_MAX_SHRINK": "0.9"},
    )
    assert third.returncode == 0, third.stderr
    assert query(serving, "SELECT count(*) FROM marts.fct_opportunities") == [(5,)]
