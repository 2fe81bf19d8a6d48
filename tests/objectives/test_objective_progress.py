"""objective_progress, okr_progress and variance_flags against values worked out by
hand from the 15-deal export (tests/fixtures/export_small, described in
tests/e2e/test_files_export_kpis.py) and tests/fixtures/objectives_small.yml, as of
2026-07-15."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.objectives.export_runs import AS_OF, progress, run_export
from tests.utils import query


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_export(tmp_path_factory.mktemp("objectives"), FIXTURES / "objectives_small.yml")


def test_columns_are_the_designs(serving: Path) -> None:
    columns = [r[0] for r in query(serving, "DESCRIBE marts.objective_progress")]
    assert columns == [
        "objective_id",
        "source",
        "as_of",
        "period_start",
        "period_end",
        "metric",
        "scope_type",
        "scope_value",
        "direction",
        "target",
        "baseline",
        "actual",
        "expected",
        "attainment",
        "pace",
        "projected",
        "variance",
        "status",
        "status_reason",
        # relative targets and revisions (docs/objectives.md), after DESIGN's columns
        "target_rule",
        "baseline_source",
        "target_reference",
        "original_target",
        "revised_from",
        "revision_reason",
        "original_target_met",
        "parent_id",  # docs/objectives.md, "Cascades"
    ]


def test_additive_in_progress_without_milestones(serving: Path) -> None:
    row = progress(serving, "july-wins")
    # 15 of 31 days elapsed; deal 8 won 07-01 (UTC); expected 4 x 15/31
    assert row["actual"] == 1
    assert row["baseline"] == 0
    assert row["expected"] == pytest.approx(4 * 15 / 31)
    assert row["pace"] == pytest.approx(1 / (4 * 15 / 31))  # 0.5167 < 0.8
    assert row["attainment"] == pytest.approx(0.25)
    assert row["projected"] == pytest.approx(31 / 15)
    assert row["variance"] == pytest.approx(1 - 4 * 15 / 31)
    assert row["status"] == "off_track"


def test_additive_with_a_milestone(serving: Path) -> None:
    row = progress(serving, "revenue-q2-july")
    # 122 days (Apr 1 - Jul 31), 106 elapsed; milestone May 31 at x = 61/122 = 0.5
    share = 106 / 122
    expected = 10000 + 20000 * (share - 0.5) / 0.5
    # won Apr 1 - Jul 15: deal 2 (4000.00), 5 (7500), 8 (6000)
    assert row["actual"] == pytest.approx(17500)
    assert row["expected"] == pytest.approx(expected)  # 24,754.10
    assert row["pace"] == pytest.approx(17500 / expected)  # 0.707
    assert row["projected"] == pytest.approx(17500 / share)
    assert row["status"] == "off_track"


def test_a_monthly_objective_has_ended_current_and_future_months(serving: Path) -> None:
    june = progress(serving, "logos-monthly", "2026-06-01")
    july = progress(serving, "logos-monthly", "2026-07-01")
    august = progress(serving, "logos-monthly", "2026-08-01")
    # first wins: account 10 in Feb, 11 in Apr, 13 in May, 12 on 07-01 (deal 8)
    assert (june["actual"], june["status"]) == (0, "missed")
    assert (july["actual"], july["target"]) == (1, 1)
    assert july["expected"] == pytest.approx(15 / 31)
    assert july["projected"] == pytest.approx(31 / 15)
    assert july["status"] == "on_track"
    assert august["status"] == "not_started"
    assert august["actual"] is None
    assert august["status_reason"] == "starts on 2026-08-01"


def test_a_level_objective_with_baseline_and_milestone(serving: Path) -> None:
    row = progress(serving, "win-rate-h2")
    # 183 days (Apr 1 - Sep 30), 106 elapsed; milestone Jun 30 at x = 91/183
    share, x_m = 106 / 183, 91 / 183
    expected = 0.6 + (0.8 - 0.6) * (share - x_m) / (1 - x_m)  # 0.6326
    # Apr 1 - Jul 15: won 2, 5, 8; lost 3, 6, 11
    assert row["actual"] == pytest.approx(0.5)
    assert row["baseline"] == pytest.approx(0.5)
    assert row["expected"] == pytest.approx(expected)
    assert row["pace"] == pytest.approx(0.5 / expected)  # 0.790 < 0.8
    assert row["attainment"] == pytest.approx(0.0)
    assert row["projected"] == pytest.approx(0.5)
    assert row["status"] == "off_track"


def test_a_level_objective_takes_its_baseline_from_the_days_before(serving: Path) -> None:
    row = progress(serving, "pipeline-july")
    # no baseline: the pipeline at the end of the 31 days before (end of 06-30)
    baseline = 51099.99
    expected = baseline + (60000 - baseline) * 15 / 31
    assert row["baseline"] == pytest.approx(baseline)
    assert row["actual"] == pytest.approx(45099.99)  # at the end of as_of
    assert row["expected"] == pytest.approx(expected)
    assert row["pace"] == pytest.approx(45099.99 / expected)  # 0.814
    assert row["attainment"] == pytest.approx((45099.99 - baseline) / (60000 - baseline))
    assert row["status"] == "at_risk"


def test_a_decrease_objective(serving: Path) -> None:
    row = progress(serving, "cycle-down")
    # 123 days (May 1 - Aug 31), 76 elapsed
    expected = 70 + (50 - 70) * 76 / 123  # 57.64
    # won May 1 - Jul 15: deal 5 (03-10 -> 05-15: 66 days), 8 (05-01 -> 07-01: 61 days)
    assert row["actual"] == pytest.approx(63.5)
    assert row["expected"] == pytest.approx(expected)
    assert row["pace"] == pytest.approx(expected / 63.5)  # expected / actual: 0.908
    assert row["attainment"] == pytest.approx((63.5 - 70) / (50 - 70))
    assert row["status"] == "at_risk"


def test_thresholds_at_their_boundaries(serving: Path) -> None:
    # 60 days from 06-16, 30 elapsed: share 0.5 exactly; won 1 (deal 8) of target 4:
    # expected 2, pace 0.5 exactly
    at_off_track = progress(serving, "pace-at-off-track")
    at_at_risk = progress(serving, "pace-at-at-risk")
    assert at_off_track["pace"] == 0.5 and at_at_risk["pace"] == 0.5
    assert at_off_track["status"] == "at_risk"  # pace >= off_track (0.5)
    assert at_at_risk["status"] == "on_track"  # pace >= at_risk (0.5)


def test_a_scope_without_data(serving: Path) -> None:
    row = progress(serving, "ghost-team")
    assert row["actual"] is None
    assert row["status"] == "no_data"
    assert row["status_reason"] == "no team 'Ghost' in the CRM data"


def test_a_metric_without_a_value_yet_and_an_owner_named_by_name(serving: Path) -> None:
    row = progress(serving, "carla-win-rate")
    # Carla (owner 3) closed nothing from 07-01 to 07-15: the win rate has no value
    assert row["scope_type"] == "owner" and row["scope_value"] == "Carla Diaz"
    assert row["actual"] is None
    assert row["status"] == "no_data"
    assert row["status_reason"] == "no deal won or lost in the period yet"


def test_okr_progress(serving: Path) -> None:
    [(progress_value, worst, key_results)] = query(
        serving,
        "SELECT progress, worst_status, key_results FROM marts.okr_progress "
        "WHERE okr_id = 'grow' AND as_of = ?",
        [AS_OF],
    )
    # july-wins attainment 0.25; win-rate-h2 0.0; logos-monthly July (holds as_of) 1.0
    assert key_results == 3
    assert progress_value == pytest.approx((0.25 + 0.0 + 1.0) / 3)
    assert worst == "off_track"


def test_flags_name_objectives_at_risk_or_off_track(serving: Path) -> None:
    flagged = dict(
        query(
            serving,
            "SELECT objective_id, severity FROM marts.variance_flags "
            "WHERE flag_type = 'objective_status' AND as_of = ?",
            [AS_OF],
        )
    )
    assert flagged == {
        "july-wins": "critical",
        "revenue-q2-july": "critical",
        "win-rate-h2": "critical",
        "pipeline-july": "warning",
        "cycle-down": "warning",
        "pace-at-off-track": "warning",
    }
    [(message,)] = query(
        serving,
        "SELECT message FROM marts.variance_flags WHERE objective_id = 'pipeline-july' "
        "AND flag_type = 'objective_status' AND as_of = ?",
        [AS_OF],
    )
    assert message == (
        "pipeline-july: at risk, actual 45,100 EUR vs expected 55,406 EUR "
        "(target 60,000 EUR by 2026-07-31)"
    )
