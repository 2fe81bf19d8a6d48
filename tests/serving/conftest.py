"""A serving file published by a real run of the pipeline on the 15-deal export."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.utils import run_cli

EXPORT = FIXTURES / "export_small"
AS_OF = "2026-07-15"


def refresh(data_dir: Path, export: Path) -> subprocess.CompletedProcess:
    """`crm-kpi run --source files` on `export` into `data_dir`, as a person runs it."""
    return run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        AS_OF,
        env={"SOURCES__FILES__PATH": str(export), "CRM_KPI_DATA_DIR": str(data_dir)},
    )


@pytest.fixture(scope="session")
def small_serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """serving.duckdb of one run on tests/fixtures/export_small (shared: tests only read it)."""
    data_dir = tmp_path_factory.mktemp("serving-small")
    result = refresh(data_dir, EXPORT)
    assert result.returncode == 0, result.stderr
    return data_dir / "serving.duckdb"
