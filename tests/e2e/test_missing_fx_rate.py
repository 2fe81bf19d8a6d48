"""A deal whose amount cannot be converted stops the run (DESIGN.md: "a missing rate is a
failed check, never a silently dropped deal").

The hand-built export of tests/fixtures/export_small has three USD deals, converted at
the rate of their date: deal 2 (won, closed 2026-04-01), deal 7 (open, created
2026-04-10) and deal 11 (lost, closed 2026-06-20). Here its fx_rates file starts on
2026-04-05: deal 2 has no rate on or before its date, deals 7 and 11 have one. The dbt test
assert_every_amount_has_a_rate must fail the run, the error output must name deal 2,
USD and the date, and the serving file must be neither created nor replaced.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb

from tests.conftest import FIXTURES
from tests.utils import query, run_cli

EXPORT = FIXTURES / "export_small"
RATES_FROM_APRIL_5 = "date,currency,rate\n2026-04-05,USD,0.8\n2026-06-15,USD,0.85\n"


def export_with_rates(folder: Path, fx_rates_csv: str) -> Path:
    """A copy of export_small with another fx_rates.csv."""
    shutil.copytree(EXPORT, folder)
    (folder / "fx_rates.csv").write_text(fx_rates_csv, encoding="utf-8")
    return folder


def run(export: Path, data_dir: Path, as_of: str) -> tuple[int, str]:
    result = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        as_of,
        env={"SOURCES__FILES__PATH": str(export), "CRM_KPI_DATA_DIR": str(data_dir)},
    )
    return result.returncode, result.stdout + result.stderr


def error_lines(output: str) -> list[str]:
    """The lines of the check's own report of the unconverted deals."""
    return [line for line in output.splitlines() if "cannot be converted" in line]


def test_a_deal_without_rate_fails_the_run_and_is_named(tmp_path: Path) -> None:
    export = export_with_rates(tmp_path / "export", RATES_FROM_APRIL_5)
    data_dir = tmp_path / "data"

    code, output = run(export, data_dir, "2026-07-15")

    assert code != 0, output
    assert "assert_every_amount_has_a_rate" in output
    reports = error_lines(output)
    assert len(reports) == 1, output
    # deal 2 only: deal 7 (created 04-10) and deal 11 (closed 06-20) have a rate.
    assert "1 deal(s)" in reports[0]
    assert "files:2 (USD on 2026-04-01)" in reports[0]
    assert "files:7" not in reports[0] and "files:11" not in reports[0]
    assert not (data_dir / "serving.duckdb").exists()


def test_a_deal_without_rate_leaves_the_published_marts_as_they_were(tmp_path: Path) -> None:
    # The marts an earlier run published (a stand-in: publishing must not touch it).
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    serving = data_dir / "serving.duckdb"
    con = duckdb.connect(str(serving))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.kpi_values AS SELECT DATE '2026-07-14' AS as_of")
    finally:
        con.close()
    published = hashlib.sha256(serving.read_bytes()).hexdigest()

    export = export_with_rates(tmp_path / "export", RATES_FROM_APRIL_5)
    code, output = run(export, data_dir, "2026-07-15")

    assert code != 0, output
    assert "files:2 (USD on 2026-04-01)" in output
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == published
    assert query(serving, "SELECT as_of::VARCHAR FROM marts.kpi_values") == [("2026-07-14",)]
