"""Relative targets and revisions (docs/objectives.md, "Relative targets and
revisions") against values worked out by hand from the 15-deal export
(tests/fixtures/export_small, described in tests/e2e/test_files_export_kpis.py) and
tests/fixtures/objectives_relative.yml, as of 2026-07-15."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.objectives.export_runs import progress, run_export
from tests.utils import run_cli


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_export(tmp_path_factory.mktemp("relative"), FIXTURES / "objectives_relative.yml")


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


@pytest.mark.parametrize(
    ("target", "revisions", "field", "says"),
    [
        ("+40", "[]", "target", "has a sign but no '%'"),
        ("30000", "[{from: 2026-09-01, target: 15000}]", "revisions[1].from", "outside the period"),
    ],
)
def test_a_bad_file_is_refused_and_serving_is_untouched(
    serving: Path, tmp_path: Path, target: str, revisions: str, field: str, says: str
) -> None:
    bad = tmp_path / "objectives.yml"
    bad.write_text(
        "objectives:\n"
        "  - id: revenue-bad\n"
        "    metric: won_revenue\n"
        "    period: {start: 2026-04-01, end: 2026-07-31}\n"
        f"    target: {target}\n"
        f"    revisions: {revisions}\n",
        encoding="utf-8",
    )
    before = hashlib.sha256(serving.read_bytes()).hexdigest()
    result = run_cli(
        "objectives",
        env={"CRM_KPI_DATA_DIR": str(serving.parent), "CRM_KPI_OBJECTIVES": str(bad)},
    )
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    assert str(bad) in message and f"field '{field}'" in message and says in message
    assert "line " in message and "Traceback" not in message
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "command", [("objectives",), ("backfill", "--from", "2026-07-10", "--to", "2026-07-11")]
)
def test_measuring_again_needs_the_sources_settings(serving: Path, command: tuple) -> None:
    """objectives and backfill rebuild the marts of the files source: without its
    setting they stop at once, saying which, not on an unexpected error."""
    before = hashlib.sha256(serving.read_bytes()).hexdigest()
    result = run_cli(
        *command,
        env={
            "CRM_KPI_DATA_DIR": str(serving.parent),
            "CRM_KPI_OBJECTIVES": str(FIXTURES / "objectives_relative.yml"),
        },
    )
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    assert "set SOURCES__FILES__PATH" in message and "needs their settings" in message
    assert "unexpected error" not in message and "Traceback" not in message
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before
