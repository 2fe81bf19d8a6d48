"""Objective history: `crm-kpi objectives` after an edit, `crm-kpi backfill`, the
"worse than at the previous day" flag, and the weak-signal rule on series built by hand."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.utils import query, run_cli

OBJECTIVE = """
objectives:
  - id: july-wins
    metric: won_deals
    period: {{start: 2026-07-01, end: 2026-07-31}}
    target: {target}
"""


def test_edit_backfill_and_worsened_flag(tmp_path: Path) -> None:
    objectives = tmp_path / "objectives.yml"
    env = {
        "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
        "CRM_KPI_OBJECTIVES": str(objectives),
    }
    objectives.write_text(OBJECTIVE.format(target=1))
    result = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert result.returncode == 0, result.stderr
    serving = tmp_path / "data" / "serving.duckdb"

    # History for the days before: deal 8 (won 07-01) is the only win of July
    result = run_cli("backfill", "--from", "2026-07-10", "--to", "2026-07-14", env=env)
    assert result.returncode == 0, result.stderr
    rows = query(
        serving,
        "SELECT as_of::VARCHAR, actual, expected, status FROM marts.objective_progress "
        "WHERE objective_id = 'july-wins' ORDER BY as_of",
    )
    assert [r[0] for r in rows] == [f"2026-07-{d}" for d in range(10, 16)]
    assert all(r[1] == 1 and r[3] == "on_track" for r in rows)
    assert rows[0][2] == pytest.approx(10 / 31)  # as of 07-10: 10 of 31 days

    # The manager raises the target: recomputed from the marts, without loading the CRM
    objectives.write_text(OBJECTIVE.format(target=4))
    result = run_cli("objectives", "--as-of", "2026-07-15", env=env)
    assert result.returncode == 0, result.stderr
    assert "load files" not in result.stderr
    [(status, expected)] = query(
        serving,
        "SELECT status, expected FROM marts.objective_progress "
        "WHERE objective_id = 'july-wins' AND as_of = '2026-07-15'",
    )
    assert status == "off_track" and expected == pytest.approx(4 * 15 / 31)
    # earlier days keep what was measured then
    assert query(
        serving,
        "SELECT status FROM marts.objective_progress "
        "WHERE objective_id = 'july-wins' AND as_of = '2026-07-14'",
    ) == [("on_track",)]
    flags = query(
        serving,
        "SELECT flag_type, status, previous_status, severity, message FROM "
        "marts.variance_flags WHERE as_of = '2026-07-15' AND objective_id = 'july-wins'",
    )
    assert flags == [
        (
            "objective_worsened",
            "off_track",
            "on_track",
            "critical",
            "july-wins: off track (was on track), actual 1 vs expected 2 (target 4 by 2026-07-31)",
        )
    ]
    assert "july-wins" in result.stdout  # the scorecard follows


def test_objectives_command_refuses_a_day_after_the_marts(tmp_path: Path) -> None:
    env = {"SOURCES__FILES__PATH": str(FIXTURES / "export_small")}
    assert run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env).returncode == 0
    result = run_cli("objectives", "--as-of", "2026-07-20", env=env)
    assert result.returncode == 2
    assert "hold data up to 2026-07-15" in result.stderr


def write_weekly_export(folder: Path, counts_a: list[int], counts_b: list[int]) -> date:
    """Deals created every week from Monday 2026-03-02: counts per week for an owner of
    team A and one of team B; all stay open. Returns the Sunday ending the last week."""
    folder.mkdir()
    first_monday = date(2026, 3, 2)
    with open(folder / "owners.csv", "w", newline="") as f:
        csv.writer(f).writerows(
            [["owner_id", "name", "email", "team"], ["1", "Ann", "", "A"], ["2", "Ben", "", "B"]]
        )
    with open(folder / "accounts.csv", "w", newline="") as f:
        csv.writer(f).writerows(
            [
                ["account_id", "name", "segment", "region", "industry", "created_at"],
                ["1", "Acme", "SMB", "EMEA", "", ""],
            ]
        )
    deals = [
        [
            "deal_id",
            "account_id",
            "owner_id",
            "pipeline",
            "stage",
            "status",
            "amount",
            "currency",
            "created_at",
            "closed_at",
            "updated_at",
        ]
    ]
    for owner, counts in (("1", counts_a), ("2", counts_b)):
        for week, count in enumerate(counts):
            if count is None:
                continue
            tuesday = first_monday + timedelta(days=7 * week + 1)
            for n in range(count):
                deals.append(
                    [
                        f"{owner}-{week}-{n}",
                        "1",
                        owner,
                        "Sales",
                        "Open",
                        "open",
                        "100",
                        "EUR",
                        f"{tuesday}T10:00:00Z",
                        "",
                        "",
                    ]
                )
    with open(folder / "deals.csv", "w", newline="") as f:
        csv.writer(f).writerows(deals)
    with open(folder / "stage_history.csv", "w", newline="") as f:
        csv.writer(f).writerow(["deal_id", "stage", "entered_at"])
    return first_monday + timedelta(days=7 * max(len(counts_a), len(counts_b)) - 1)


def weak_signals(tmp_path: Path, counts_a: list, counts_b: list) -> dict:
    as_of = write_weekly_export(tmp_path / "export", counts_a, counts_b)
    result = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        as_of.isoformat(),
        env={"SOURCES__FILES__PATH": str(tmp_path / "export")},
    )
    assert result.returncode == 0, result.stderr
    rows = query(
        tmp_path / "data" / "serving.duckdb",
        "SELECT scope_type, scope_value, value, reference_value, deviation, message "
        "FROM marts.variance_flags WHERE flag_type = 'weak_signal' AND metric = 'deals_created'",
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def test_weak_signal_on_an_outlier_week(tmp_path: Path) -> None:
    # team A: 8 ordinary weeks then 25; team B: 5 every week
    usual = [10, 12, 11, 9, 10, 12, 11, 9]
    flags = weak_signals(tmp_path, [*usual, 25], [5] * 9)
    # team A: mean 10.5; squared deviations sum to 10, sample sd = sqrt(10 / 7)
    sd = (10 / 7) ** 0.5
    value, mean, deviation, message = flags[("team", "A")]
    assert (value, mean) == (25, 10.5)
    assert deviation == pytest.approx(14.5 / sd)  # 12.1 > k = 2
    assert message == (
        "deals_created (team A), week of 2026-04-27: 25, above the 8 weeks before "
        "(10.5 on average, 12.1 standard deviations away)"
    )
    assert ("team", "B") not in flags  # a deviation of 0
    # the company's 30 (25 + 5) against 15.5 on average: flagged too
    assert ("company", "all") in flags


def test_no_weak_signal_on_an_ordinary_week(tmp_path: Path) -> None:
    usual = [10, 12, 11, 9, 10, 12, 11, 9]
    # 12 is (12 - 10.5) / 1.195 = 1.25 sd from the mean: no flag
    flags = weak_signals(tmp_path, [*usual, 12], [5] * 9)
    assert flags == {}


def test_no_weak_signal_without_8_weeks_before(tmp_path: Path) -> None:
    # an outlier after only 7 complete weeks
    flags = weak_signals(tmp_path, [10, 12, 11, 9, 10, 12, 11, 100], [5] * 8)
    assert flags == {}
