"""One demo warehouse for the report, semantic-layer and BI tests (they only read it).

The demo CRM is run as of a pinned day in a reporting timezone west of UTC and with a
fiscal year starting in April, so local dates and fiscal quarters are exercised; the
objectives are then measured for the two weeks before, so they have a history.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.utils import CLI

AS_OF = date(2026, 10, 20)
HISTORY_FROM = date(2026, 10, 6)
DEMO_SETTINGS = {
    "CRM_KPI_TIMEZONE": "America/New_York",
    "CRM_KPI_FISCAL_YEAR_START": "4",
    "CRM_KPI_OBJECTIVES": str(ROOT / "objectives.yml"),
}


@dataclass(frozen=True)
class DemoWarehouse:
    data_dir: Path
    as_of: date
    history_from: date

    @property
    def serving(self) -> Path:
        return self.data_dir / "serving.duckdb"

    @property
    def build(self) -> Path:
        return self.data_dir / "build.duckdb"

    def env(self) -> dict[str, str]:
        """A clean environment for a `crm-kpi` process on this warehouse."""
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CRM_KPI_", "SOURCES__", "DESTINATION__", "DAGSTER_HOME"))
        }
        return {**base, **DEMO_SETTINGS, "CRM_KPI_DATA_DIR": str(self.data_dir)}


def _cli(warehouse: DemoWarehouse, *args: str, cwd: Path) -> None:
    result = subprocess.run(
        [*CLI, *args],
        env=warehouse.env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"crm-kpi {' '.join(args)} failed:\n{result.stderr[-4000:]}"


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> DemoWarehouse:
    root = tmp_path_factory.mktemp("report-demo")
    warehouse = DemoWarehouse(root / "data", AS_OF, HISTORY_FROM)
    _cli(warehouse, "demo", "--deals", "400", "--as-of", AS_OF.isoformat(), cwd=root)
    _cli(
        warehouse,
        "backfill",
        "--from",
        HISTORY_FROM.isoformat(),
        "--to",
        (AS_OF - timedelta(days=1)).isoformat(),
        cwd=root,
    )
    return warehouse
