"""dbt's unit tests (given/expect rows written by hand, in the models' yml) on a built
warehouse. Pipeline runs leave them out: they check the SQL, not the data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from core.dbt import dbt_command, dbt_env
from core.paths import DBT_PROJECT_DIR
from core.settings import Settings
from tests.conftest import FIXTURES
from tests.utils import run_cli


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    built = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        "2026-07-15",
        env={"SOURCES__FILES__PATH": str(FIXTURES / "export_small")},
    )
    assert built.returncode == 0, built.stderr
    settings = Settings(data_dir=tmp_path / "data")
    target = tmp_path / "unit"
    result = subprocess.run(
        dbt_command(["test", "--select", "test_type:unit"], ("files",), target, target / "logs"),
        env={**os.environ, **dbt_env(settings)},
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    summary = [line for line in result.stdout.splitlines() if "Done." in line][-1]
    passed = int(summary.split("PASS=")[1].split()[0])
    assert passed >= 20, summary  # one per KPI model and the intermediate models
    assert "ERROR=0" in summary
