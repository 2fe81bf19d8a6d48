"""Shared fixtures: every test gets its own data dir and a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.utils import ISOLATED_PREFIXES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the developer's shell or another test."""
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CRM_KPI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CRM_KPI_INGESTION_RETRY_DELAY_S", "0.1")
    # dlt looks for .dlt/ in the working directory: use the test's own.
    monkeypatch.chdir(tmp_path)
    return data_dir


@pytest.fixture
def data_dir(isolated_env: Path) -> Path:
    return isolated_env
