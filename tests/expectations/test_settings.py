"""The quality settings: defaults, the environment, and errors that say what to write."""

from __future__ import annotations

import pytest

from core.errors import SettingsError
from expectations.settings import QualitySettings


def test_defaults() -> None:
    settings = QualitySettings.from_env()
    assert settings == QualitySettings(
        max_shrink=0.5, max_quarantine_share=0.01, max_source_age_hours=36.0, chunk_rows=200_000
    )


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_KPI_MAX_SHRINK", "0.2")
    monkeypatch.setenv("CRM_KPI_MAX_QUARANTINE_SHARE", "0")
    monkeypatch.setenv("CRM_KPI_MAX_SOURCE_AGE_HOURS", "72")
    monkeypatch.setenv("CRM_KPI_QUALITY_CHUNK_ROWS", "50000")
    assert QualitySettings.from_env() == QualitySettings(0.2, 0.0, 72.0, 50_000)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CRM_KPI_MAX_SHRINK", "half", "CRM_KPI_MAX_SHRINK='half' must be a share between 0 and 1"),
        ("CRM_KPI_MAX_SHRINK", "1.5", "CRM_KPI_MAX_SHRINK='1.5' must be a share between 0 and 1"),
        ("CRM_KPI_MAX_QUARANTINE_SHARE", "-0.1", "CRM_KPI_MAX_QUARANTINE_SHARE='-0.1' must be"),
        ("CRM_KPI_MAX_QUARANTINE_SHARE", "nan", "CRM_KPI_MAX_QUARANTINE_SHARE='nan' must be"),
        ("CRM_KPI_MAX_SOURCE_AGE_HOURS", "0", "a positive number of hours, for example 36"),
        ("CRM_KPI_QUALITY_CHUNK_ROWS", "10", "CRM_KPI_QUALITY_CHUNK_ROWS='10' must be a whole"),
        ("CRM_KPI_QUALITY_CHUNK_ROWS", "1e6", "at least 1000"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        QualitySettings.from_env()
    assert message in str(raised.value)


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("false", False), ("1", True)])
def test_the_sql_pushdown_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    assert QualitySettings().sql_pushdown is True
    monkeypatch.setenv("CRM_KPI_QUALITY_SQL_PUSHDOWN", value)
    assert QualitySettings.from_env().sql_pushdown is expected


def test_a_bad_sql_pushdown_value_says_what_to_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_KPI_QUALITY_SQL_PUSHDOWN", "maybe")
    with pytest.raises(SettingsError) as raised:
        QualitySettings.from_env()
    assert "CRM_KPI_QUALITY_SQL_PUSHDOWN='maybe' must be 1 or 0" in str(raised.value)


def test_every_bad_setting_a_run_reads_is_reported_up_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crm_kpi.preflight import check_settings

    assert check_settings().reporting_currency == "EUR"
    monkeypatch.setenv("CRM_KPI_GROSS_MARGIN", "2")
    monkeypatch.setenv("CRM_KPI_MAX_SHRINK", "half")
    monkeypatch.setenv("CRM_KPI_SCHEDULE_CRON", "0 25 * * *")
    monkeypatch.setenv("CRM_KPI_INGESTION_RETRY_DELAY_S", "-5")
    with pytest.raises(SettingsError) as caught:
        check_settings()
    lines = str(caught.value).splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "CRM_KPI_GROSS_MARGIN",
        "CRM_KPI_MAX_SHRINK",
        "CRM_KPI_SCHEDULE_CRON",
        "CRM_KPI_INGESTION_RETRY_DELAY_S",
    ]
