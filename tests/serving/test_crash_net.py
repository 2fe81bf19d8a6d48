"""No Python traceback reaches a user: data that looks like Rich markup is printed as it
is, and an unexpected error becomes one line naming a log file that holds the details,
credentials masked (crm_kpi.crash)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from crm_kpi import cli
from tests.utils import run_cli


def test_markup_in_query_results_is_data(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.close()
    result = run_cli(
        "query",
        "SELECT '[/red] x' AS \"[bold]\", '[link=x]y' AS z",
        env={"CRM_KPI_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "[/red] x" in result.stdout and "[bold]" in result.stdout
    assert "[link=x]y" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unexpected_error_is_one_line_and_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRM_KPI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "CRM_KPI_ALERT_WEBHOOK", "https://hooks.example.com/services/T0/B0/s3cr3tPath"
    )

    def broken() -> None:
        raise RuntimeError(
            "boom at https://api.example.com/v1/deals?api_token=tok-123456789 "
            "and https://hooks.example.com/services/T0/B0/s3cr3tPath"
        )

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    printed = capsys.readouterr()
    lines = [line for line in printed.err.splitlines() if line.strip()]
    log = tmp_path / "data" / "logs" / "crm-kpi.log"
    assert "Traceback" not in printed.err + printed.out
    assert "RuntimeError: boom" in printed.err and str(log) in " ".join(printed.err.split())
    assert len(lines) <= 3  # one message, wrapped at most at the console's width
    details = log.read_text(encoding="utf-8")
    assert "Traceback" in details and "in broken" in details
    for secret in ("tok-123456789", "s3cr3tPath"):
        assert secret not in details and secret not in printed.err
