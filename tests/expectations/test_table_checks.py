"""The runner's table checks: row counts against the last successful run, quarantined
rows against their entity, source freshness."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from expectations.runner import (
    QualityGateError,
    QualitySettings,
    SuiteResult,
    check_freshness,
    gate,
    record_row_counts,
    report,
    row_count_tables,
    run_suites,
    stale_sources,
)
from tests.expectations.builders import RUN_ID, make_build, open_build

SETTINGS = QualitySettings(max_source_age_hours=1e9)
DEALS = "intermediate.int_opportunities"


def run(path: Path, layer: str, settings: QualitySettings = SETTINGS) -> list[SuiteResult]:
    con = open_build(path)
    try:
        return run_suites(con, layer, run_id=RUN_ID, settings=settings)
    finally:
        con.close()


def row_count_check(results: list[SuiteResult], table: str):
    return next(
        r
        for s in results
        for r in s.results
        if r.table == table and r.expectation == "row_count_not_collapsing"
    )


def record_previous_run(path: Path, extra_deals: int) -> None:
    """Run 'run-1' had `extra_deals` more deals than the build has now."""
    con = open_build(path, read_only=False)
    try:
        con.execute(
            f"INSERT INTO {DEALS} SELECT 'files:old' || i, o.* EXCLUDE (opportunity_id) "
            f"FROM {DEALS} AS o, range(?) AS r(i) WHERE opportunity_id = 'files:4'",
            [extra_deals],
        )
        record_row_counts(con, "run-1", [DEALS, "intermediate.int_accounts"])
        con.execute(f"DELETE FROM {DEALS} WHERE opportunity_id LIKE 'files:old%'")
    finally:
        con.close()


def test_the_first_run_has_nothing_to_compare_with(tmp_path: Path) -> None:
    results = run(make_build(tmp_path / "build.duckdb"), "crm")
    check = row_count_check(results, DEALS)
    assert check.success and check.blocking
    assert "no earlier run recorded; 4 rows now" in check.description
    assert DEALS in row_count_tables(results)
    assert "intermediate.int_fx_rates" not in row_count_tables(results)  # row_count: false


def test_a_table_that_lost_more_than_half_its_rows_blocks(tmp_path: Path) -> None:
    path = make_build(tmp_path / "build.duckdb")
    record_previous_run(path, extra_deals=6)  # 10 deals then, 4 now: 60 % lost

    results = run(path, "crm")
    check = row_count_check(results, DEALS)
    assert not check.success
    assert (check.element_count, check.unexpected_count) == (10, 6)
    assert row_count_check(results, "intermediate.int_accounts").success
    with pytest.raises(QualityGateError) as raised:
        gate(results)
    message = str(raised.value)
    assert "suite crm.opportunities, table intermediate.int_opportunities" in message
    assert "its row count falls by at most 50 % since the last successful run" in message
    assert "(run run-1: 10 rows; now 4)" in message
    assert "6 of 10 rows (60 %) fail" in message


def test_a_smaller_shrink_is_a_note_and_the_share_is_a_setting(tmp_path: Path) -> None:
    path = make_build(tmp_path / "build.duckdb")
    record_previous_run(path, extra_deals=2)  # 6 then, 4 now: a third lost

    results = run(path, "crm")
    check = row_count_check(results, DEALS)
    assert check.success and check.unexpected_count == 2
    gate(results)
    assert "NOTE its row count falls by at most 50 %" in report(results)

    strict = run(path, "crm", QualitySettings(max_shrink=0.25, max_source_age_hours=1e9))
    assert not row_count_check(strict, DEALS).success


def test_recorded_counts_replace_those_of_the_same_run(tmp_path: Path) -> None:
    path = make_build(tmp_path / "build.duckdb")
    con = open_build(path, read_only=False)
    try:
        record_row_counts(con, "run-1", [DEALS])
        con.execute(f"INSERT INTO {DEALS} SELECT * FROM {DEALS}")
        record_row_counts(con, "run-1", [DEALS])
        rows = con.execute(
            "SELECT run_id, table_name, row_count FROM quality.row_counts"
        ).fetchall()
        with pytest.raises(ValueError, match="table marts.nothing does not exist"):
            record_row_counts(con, "run-1", ["marts.nothing"])
    finally:
        con.close()
    assert rows == [("run-1", DEALS, 8)]


QUARANTINE = """
CREATE SCHEMA quarantine;
CREATE TABLE quarantine.opportunities AS
SELECT * EXCLUDE (amount_reporting), 'negative amount' AS reason, 'run-2' AS run_id
FROM intermediate.int_opportunities WHERE opportunity_id = 'files:3';
UPDATE quarantine.opportunities SET opportunity_id = 'files:9', amount = -3000;
INSERT INTO quarantine.opportunities
SELECT * REPLACE ('files:8' AS opportunity_id, 'closed before created' AS reason)
FROM quarantine.opportunities;
-- An earlier run's row: not this run's problem.
INSERT INTO quarantine.opportunities
SELECT * REPLACE ('files:7' AS opportunity_id, 'run-1' AS run_id) FROM quarantine.opportunities
LIMIT 1;
"""


def quarantine_check(results: list[SuiteResult], table: str):
    return next(r for s in results for r in s.results if r.table == table)


def test_quarantined_rows_above_the_share_block_with_their_reasons(tmp_path: Path) -> None:
    results = run(make_build(tmp_path / "build.duckdb", QUARANTINE), "crm")
    check = quarantine_check(results, "quarantine.opportunities")
    # 2 rows of this run against 4 kept deals: 2 of 6, far above 1 %.
    assert (check.element_count, check.unexpected_count, check.success) == (6, 2, False)
    assert "1 x closed before created; 1 x negative amount" in check.description
    assert {s["reason"] for s in check.samples} == {"negative amount", "closed before created"}
    assert {s["run_id"] for s in check.samples} == {RUN_ID}
    with pytest.raises(QualityGateError) as raised:
        gate(results)
    message = str(raised.value)
    assert "suite crm.quarantine, table quarantine.opportunities" in message
    assert "rows quarantined are at most 1 % of opportunities" in message
    assert "2 of 6 rows (33.3 %) fail" in message


def test_quarantined_rows_under_the_share_are_reported_only(tmp_path: Path) -> None:
    path = make_build(tmp_path / "build.duckdb", QUARANTINE)
    results = run(path, "crm", QualitySettings(max_quarantine_share=0.5, max_source_age_hours=1e9))
    check = quarantine_check(results, "quarantine.opportunities")
    assert check.success and check.unexpected_count == 2
    gate(results)
    assert "NOTE rows quarantined are at most 50 % of opportunities (2 quarantined" in report(
        results
    )


def test_no_quarantine_schema_means_nothing_quarantined(tmp_path: Path) -> None:
    results = run(make_build(tmp_path / "build.duckdb"), "crm")
    assert not [s for s in results if s.suite == "crm.quarantine"]
    empty = run(make_build(tmp_path / "empty.duckdb", "CREATE SCHEMA quarantine"), "crm")
    assert not [s for s in empty if s.suite == "crm.quarantine"]


def test_a_quarantine_table_without_its_entity_or_reason_fails_clearly(tmp_path: Path) -> None:
    path = make_build(
        tmp_path / "build.duckdb",
        "CREATE SCHEMA quarantine",
        "CREATE TABLE quarantine.widgets (id VARCHAR, reason VARCHAR, run_id VARCHAR)",
        "CREATE TABLE quarantine.accounts AS SELECT * FROM intermediate.int_accounts",
    )
    results = run(path, "crm")
    widgets = quarantine_check(results, "quarantine.widgets")
    assert not widgets.success and widgets.blocking
    assert "no table intermediate.int_widgets holds the kept rows of widgets" in (
        widgets.description
    )
    assert "quarantine.entities in expectations/suites/crm.yml" in widgets.description
    accounts = quarantine_check(results, "quarantine.accounts")
    assert not accounts.success
    assert "quarantine.accounts has no column reason, run_id" in accounts.description


NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def test_a_source_not_updated_within_the_age_is_a_warning(tmp_path: Path) -> None:
    # The newest deal change is 2026-07-14 08:00 UTC: 28 hours before NOW.
    con = open_build(make_build(tmp_path / "build.duckdb"))
    try:
        fresh = check_freshness(con, "files", settings=QualitySettings(), now=NOW)
        stale = check_freshness(
            con, "files", settings=QualitySettings(max_source_age_hours=24), now=NOW
        )
        listed = stale_sources(
            con, ["files"], settings=QualitySettings(max_source_age_hours=24), now=NOW
        )
    finally:
        con.close()
    assert fresh.success
    assert "newest updated_at in raw_files.deals: 2026-07-14T08:00:00+00:00, 28.0 hours" in (
        fresh.description
    )
    assert not stale.success and not stale.blocking
    assert stale.samples == [{"newest": "2026-07-14T08:00:00+00:00", "age_hours": 28.0}]
    assert listed == [stale]
    gate([SuiteResult(stale.suite, stale.table, [stale])])  # a warning does not raise


def test_without_updated_at_the_last_load_time_counts(tmp_path: Path) -> None:
    path = make_build(tmp_path / "build.duckdb", "ALTER TABLE raw_files.deals DROP updated_at")
    con = open_build(path)
    try:
        check = check_freshness(con, "files", settings=QualitySettings(), now=NOW)
    finally:
        con.close()
    # Loaded 2026-07-15 02:00 UTC, 10 hours before NOW.
    assert check.success
    assert check.table == "raw_files._dlt_loads"
    assert "last load of raw_files: 2026-07-15T02:00:00+00:00, 10.0 hours" in check.description


def test_the_raw_layer_reports_freshness(tmp_path: Path) -> None:
    results = run(make_build(tmp_path / "build.duckdb"), "raw:files", QualitySettings())
    freshness = [s for s in results if s.suite == "raw_files.freshness"]
    assert len(freshness) == 1
    # Measured against the wall clock: the fixture's July changes are old by now.
    check = freshness[0].results[0]
    assert check.expectation == "source_is_fresh" and not check.blocking
    gate(results)
