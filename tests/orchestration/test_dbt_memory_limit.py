"""DuckDB's memory in dbt build: a setting, checked, handed to the dbt profile."""

from __future__ import annotations

import pytest

from core.dbt import dbt_env
from core.errors import SettingsError
from core.settings import Settings


def test_the_default_limit_reaches_dbt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_KPI_DUCKDB_MEMORY_LIMIT", raising=False)
    assert dbt_env(Settings.from_env())["CRM_KPI_DUCKDB_MEMORY_LIMIT"] == "1200MB"


def test_a_limit_from_the_environment_reaches_dbt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_KPI_DUCKDB_MEMORY_LIMIT", "4GB")
    assert dbt_env(Settings.from_env())["CRM_KPI_DUCKDB_MEMORY_LIMIT"] == "4GB"


@pytest.mark.parametrize("value", ["4G", "2GiB", "50%", "1.5 GB"])
def test_duckdbs_own_forms_are_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CRM_KPI_DUCKDB_MEMORY_LIMIT", value)
    assert Settings.from_env().duckdb_memory_limit == value


@pytest.mark.parametrize("value", ["lots", "4", "-1GB", "4 PB", "0MB", "150%", "10 bytes"])
def test_a_bad_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CRM_KPI_DUCKDB_MEMORY_LIMIT", value)
    with pytest.raises(SettingsError, match="CRM_KPI_DUCKDB_MEMORY_LIMIT=.* such as 1200MB"):
        Settings.from_env()
