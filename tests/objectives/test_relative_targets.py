"""Relative targets and revisions (docs/objectives.md, "Relative targets and
revisions") against values worked out by hand from the 15-deal export
(tests/fixtures/export_small, described in tests/e2e/test_files_export_kpis.py) and
tests/fixtures/objectives_relative.yml, as of 2026-07-15."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.utils import query, run_cli

AS_OF = "2026-07-15"


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("relative")
    result = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        AS_OF,
        env={
            "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
            "CRM_KPI_DATA_DIR": str(data_dir),
            "CRM_KPI_OBJECTIVES": str(FIXTURES / "objectives_relative.yml"),
        },
    )
    assert result.returncode == 0, result.stderr
    return data_dir / "serving.duckdb"


def progress(serving: Path, objective_id: str, period_start: str | None = None) -> dict:
    rows = query(
        serving,
        """
        SELECT * FROM marts.objective_progress
        WHERE objective_id = ? AND as_of = ? AND (? IS NULL OR period_start = ?::DATE)
        """,
        [objective_id, AS_OF, period_start, period_start],
    )
    assert len(rows) == 1, rows
    columns = [r[0] for r in query(serving, "DESCRIBE marts.objective_progress")]
    return dict(zip(columns, rows[0], strict=True))


def test_plus_40_percent_over_a_given_baseline(serving: Path) -> None:
    row = progress(serving, "wins-up-given")
    # 5 x 1.4; won_deals is additive, so the path still starts from 0
    assert row["target"] == pytest.approx(7)
    assert (row["target_rule"], row["baseline_source"]) == ("+40%", "given")
    assert row["target_reference"] == 5
    assert row["baseline"] == 0
    assert row["direction"] == "increase"
    assert row["actual"] == 1  # deal 8, won 07-01 (UTC)
    assert row["expected"] == pytest.approx(7 * 15 / 31)
    assert row["original_target"] == pytest.approx(7)
    assert row["revised_from"] is None and row["original_target_met"] is None


def test_plus_40_percent_over_the_prior_period(serving: Path) -> None:
    row = progress(serving, "revenue-up-prior")
    # the 91 days before 04-01 (12-31 .. 03-31): deal 1 (10000, 03-31) and deal 14
    # (2500.50, 02-14) were won: 12500.50 x 1.4 = 17500.70
    assert row["baseline_source"] == "prior_period"
    assert row["target_reference"] == pytest.approx(12500.50)
    assert row["target"] == pytest.approx(17500.70)
    # won 04-01 .. 06-30: deal 2 (4000.00), deal 5 (7500)
    assert row["actual"] == pytest.approx(11500)
    assert row["status"] == "missed"


def test_minus_25_percent_is_a_decrease(serving: Path) -> None:
    row = progress(serving, "cycle-down-25")
    # before 04-01: deal 14 won in 20 days, deal 1 in 80: median 50; 50 x 0.75
    assert row["direction"] == "decrease"
    assert row["baseline"] == pytest.approx(50)
    assert row["target_reference"] == pytest.approx(50)
    assert row["target"] == pytest.approx(37.5)
    # won 04-01 .. 06-30: deal 2 in 59 days, deal 5 in 66: median 62.5
    assert row["actual"] == pytest.approx(62.5)
    assert row["status"] == "missed"
    assert row["target_rule"] == "-25%"


def test_same_last_year_without_data_is_no_data_with_a_reason(serving: Path) -> None:
    row = progress(serving, "wins-same-last-year")
    assert row["target"] is None
    assert row["status"] == "no_data"
    assert row["status_reason"] == (
        "no baseline data for the relative target +10%: nothing measured from "
        "2025-07-01 to 2025-07-31"
    )
    assert row["baseline_source"] == "same_last_year"


def test_same_last_year_resolves_before_the_period_starts(serving: Path) -> None:
    row = progress(serving, "revenue-feb-2027")
    # February 2026: deal 14 (2500.50, 02-14) was won; x 2
    assert row["target_reference"] == pytest.approx(2500.50)
    assert row["target"] == pytest.approx(5001.0)
    assert row["status"] == "not_started"


def test_a_revision_mid_period(serving: Path) -> None:
    row = progress(serving, "revenue-revised")
    # 106 of 122 days; won 04-01 .. 07-15: deals 2, 5 and 8 (6000, 07-01) = 17500
    assert (row["target"], row["original_target"]) == (15000, 30000)
    assert row["revised_from"] == dt.date(2026, 6, 1)
    assert row["revision_reason"] == "market downturn"
    assert row["expected"] == pytest.approx(15000 * 106 / 122)
    assert row["pace"] == pytest.approx(17500 / (15000 * 106 / 122))
    assert row["status"] == "on_track"
    assert row["original_target_met"] is False


def test_achieved_against_the_revised_target_but_missed_against_the_original(
    serving: Path,
) -> None:
    row = progress(serving, "revenue-revised-ended")
    assert row["actual"] == pytest.approx(11500)
    assert (row["target"], row["original_target"]) == (10000, 30000)
    assert row["status"] == "achieved"
    assert row["original_target_met"] is False


def test_a_revision_holds_for_the_sub_periods_it_reaches(serving: Path) -> None:
    # created: week of 06-01 deals 9 and 10; week of 06-08 deal 11; week of 06-15 none
    first = progress(serving, "weekly-revised", "2026-06-01")
    second = progress(serving, "weekly-revised", "2026-06-08")
    third = progress(serving, "weekly-revised", "2026-06-15")
    # the first week ended on 06-07, before the revision of 06-10: judged on the original
    assert (first["target"], first["revised_from"], first["status"]) == (2, None, "achieved")
    assert (second["target"], second["original_target"], second["status"]) == (3, 2, "missed")
    assert second["revised_from"] == dt.date(2026, 6, 10)
    assert (third["target"], third["actual"], third["original_target_met"]) == (3, 0, False)
