"""Each blocking expectation of expectations/suites/ fails on a build with one defect, and
only that one; the gate's message names the suite, the expectation, the count and
sample rows. Warnings are reported without stopping the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expectations.runner import (
    QualityGateError,
    QualitySettings,
    SuiteResult,
    gate,
    report,
    run_suites,
)
from tests.expectations.builders import RUN_ID, make_build, open_build

# Freshness is a warning of its own (test_table_checks.py): out of the way here.
SETTINGS = QualitySettings(max_source_age_hours=1e9)


def run(path: Path, layer: str) -> list[SuiteResult]:
    con = open_build(path)
    try:
        return run_suites(con, layer, run_id=RUN_ID, settings=SETTINGS)
    finally:
        con.close()


@pytest.mark.parametrize("layer", ["raw:files", "crm", "marts"])
def test_the_clean_build_passes_every_expectation(tmp_path: Path, layer: str) -> None:
    results = run(make_build(tmp_path / "build.duckdb"), layer)
    failed = [(r.suite, r.description) for s in results for r in s.results if not r.success]
    assert failed == []
    # Every suite of the layer ran on a table that exists and has rows.
    assert all(
        r.element_count > 0
        for s in results
        for r in s.results
        if r.expectation.startswith("expect_")
    )
    gate(results)


# (id, layer, defect SQL, suite, expectation, column, unexpected rows, a value of a sample)
DEFECTS = [
    (
        "raw deal_id duplicated",
        "raw:files",
        "INSERT INTO raw_files.deals SELECT * FROM raw_files.deals WHERE deal_id = '2'",
        "raw_files.deals",
        "expect_column_values_to_be_unique",
        "deal_id",
        2,
        '"deal_id": "2"',
    ),
    (
        "raw deal_id null",
        "raw:files",
        "UPDATE raw_files.deals SET deal_id = NULL WHERE amount = 3000",
        "raw_files.deals",
        "expect_column_values_to_not_be_null",
        "deal_id",
        1,
        '"deal_id": null',
    ),
    (
        "raw stage change duplicated",
        "raw:files",
        "INSERT INTO raw_files.stage_history VALUES ('4', 'Proposal', '2026-04-01 08:00:00+00')",
        "raw_files.stage_history",
        "expect_compound_columns_to_be_unique",
        "deal_id, entered_at, stage",
        2,
        '"stage": "Proposal"',
    ),
    (
        "raw account duplicated",
        "raw:files",
        "INSERT INTO raw_files.accounts SELECT * FROM raw_files.accounts WHERE account_id = '12'",
        "raw_files.accounts",
        "expect_column_values_to_be_unique",
        "account_id",
        2,
        '"account_id": "12"',
    ),
    (
        "raw owner without id",
        "raw:files",
        "UPDATE raw_files.owners SET owner_id = NULL WHERE name = 'Bob Chen'",
        "raw_files.owners",
        "expect_column_values_to_not_be_null",
        "owner_id",
        1,
        '"owner_id": null',
    ),
    (
        "raw stage duplicated",
        "raw:files",
        "INSERT INTO raw_files.stages VALUES ('New Business', 'Proposal', 0.6, 5)",
        "raw_files.stages",
        "expect_compound_columns_to_be_unique",
        "pipeline, stage",
        2,
        '"stage": "Proposal"',
    ),
    (
        "raw rate duplicated",
        "raw:files",
        "INSERT INTO raw_files.fx_rates VALUES ('2026-04-01', 'USD', 0.81)",
        "raw_files.fx_rates",
        "expect_compound_columns_to_be_unique",
        "date, currency",
        2,
        '"date": "2026-04-01"',
    ),
    (
        "deal id duplicated",
        "crm",
        "INSERT INTO intermediate.int_opportunities "
        "SELECT * FROM intermediate.int_opportunities WHERE opportunity_id = 'files:3'",
        "crm.opportunities",
        "expect_column_values_to_be_unique",
        "opportunity_id",
        2,
        '"opportunity_id": "files:3"',
    ),
    (
        "deal id null",
        "crm",
        "UPDATE intermediate.int_opportunities SET opportunity_id = NULL WHERE amount = 3000",
        "crm.opportunities",
        "expect_column_values_to_not_be_null",
        "opportunity_id",
        1,
        '"opportunity_id": null',
    ),
    (
        "status outside open/won/lost",
        "crm",
        "UPDATE intermediate.int_opportunities SET status = 'pending' "
        "WHERE opportunity_id = 'files:4'",
        "crm.opportunities",
        "expect_column_values_to_be_in_set",
        "status",
        1,
        '"status": "pending"',
    ),
    (
        "unknown deal type",
        "crm",
        "UPDATE intermediate.int_opportunities SET deal_type = 'upsell' "
        "WHERE opportunity_id = 'files:4'",
        "crm.opportunities",
        "expect_column_values_to_be_in_set",
        "deal_type",
        1,
        '"deal_type": "upsell"',
    ),
    (
        "currency not an ISO code",
        "crm",
        "UPDATE intermediate.int_opportunities SET currency = 'euro' "
        "WHERE opportunity_id = 'files:3'",
        "crm.opportunities",
        "expect_column_values_to_match_regex",
        "currency",
        1,
        '"currency": "euro"',
    ),
    (
        "negative amount",
        "crm",
        "UPDATE intermediate.int_opportunities SET amount = -5 WHERE opportunity_id = 'files:3'",
        "crm.opportunities",
        "expect_column_values_to_be_between",
        "amount",
        1,
        '"amount": -5.0',
    ),
    (
        "negative mrr",
        "crm",
        "UPDATE intermediate.int_opportunities SET mrr = -1 WHERE opportunity_id = 'files:1'",
        "crm.opportunities",
        "expect_column_values_to_be_between",
        "mrr",
        1,
        '"mrr": -1.0',
    ),
    (
        "won deal without closed_at",
        "crm",
        "UPDATE intermediate.int_opportunities SET closed_at = NULL "
        "WHERE opportunity_id = 'files:2'",
        "crm.opportunities",
        "expect_column_values_to_not_be_null",
        "closed_at",
        1,
        '"status": "won"',
    ),
    (
        "closed before created",
        "crm",
        "UPDATE intermediate.int_opportunities SET closed_date = DATE '2026-02-01' "
        "WHERE opportunity_id = 'files:3'",
        "crm.opportunities",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "closed_date, created_date",
        1,
        '"closed_date": "2026-02-01"',
    ),
    (
        "missing exchange rate",
        "crm",
        "UPDATE intermediate.int_opportunities SET amount_reporting = NULL, fx_rate = NULL "
        "WHERE opportunity_id = 'files:2'",
        "crm.opportunities",
        "expect_column_values_to_not_be_null",
        "amount_reporting",
        1,
        '"currency": "USD"',
    ),
    (
        "contract ends before it starts",
        "crm",
        "UPDATE intermediate.int_opportunities SET contract_end = DATE '2026-03-01' "
        "WHERE opportunity_id = 'files:1'",
        "crm.opportunities",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "contract_end, contract_start",
        1,
        '"contract_end": "2026-03-01"',
    ),
    (
        "stage change duplicated",
        "crm",
        "INSERT INTO intermediate.int_stage_history "
        "SELECT * FROM intermediate.int_stage_history WHERE stage = 'Proposal'",
        "crm.stage_history",
        "expect_compound_columns_to_be_unique",
        "opportunity_id, entered_at, stage",
        2,
        '"opportunity_id": "files:4"',
    ),
    (
        "account duplicated",
        "crm",
        "INSERT INTO intermediate.int_accounts "
        "SELECT * FROM intermediate.int_accounts WHERE account_id = 'files:12'",
        "crm.accounts",
        "expect_column_values_to_be_unique",
        "account_id",
        2,
        '"account_id": "files:12"',
    ),
    (
        "owner without id",
        "crm",
        "INSERT INTO intermediate.int_owners VALUES (NULL, 'Nobody', 'SMB')",
        "crm.owners",
        "expect_column_values_to_not_be_null",
        "owner_id",
        1,
        '"owner_id": null',
    ),
    (
        "probability above 1",
        "crm",
        "UPDATE intermediate.int_stages SET probability = 1.5 WHERE stage = 'Proposal'",
        "crm.stages",
        "expect_column_values_to_be_between",
        "probability",
        1,
        '"probability": 1.5',
    ),
    (
        "two rates for a day",
        "crm",
        "INSERT INTO intermediate.int_fx_rates VALUES ('2026-01-01', 'USD', 0.9)",
        "crm.fx_rates",
        "expect_compound_columns_to_be_unique",
        "date, currency",
        2,
        '"currency": "USD"',
    ),
    (
        "rate of zero",
        "crm",
        "UPDATE intermediate.int_fx_rates SET rate = 0 WHERE date = DATE '2026-04-01'",
        "crm.fx_rates",
        "expect_column_values_to_be_between",
        "rate",
        1,
        '"rate": 0.0',
    ),
    (
        "kpi row duplicated",
        "marts",
        "INSERT INTO marts.kpi_values SELECT * FROM marts.kpi_values WHERE metric = 'won_revenue'",
        "marts.kpi_values",
        "expect_compound_columns_to_be_unique",
        "metric, grain, period_start, scope_type, scope_value",
        2,
        '"metric": "won_revenue"',
    ),
    (
        "win rate above 1",
        "marts",
        "UPDATE marts.kpi_values SET value = 1.5 WHERE metric = 'win_rate'",
        "marts.kpi_values",
        "expect_column_values_to_be_between",
        "value",
        1,
        '"value": 1.5',
    ),
    (
        "churn rate below 0",
        "marts",
        "UPDATE marts.kpi_values SET value = -0.1 WHERE metric = 'churn_rate'",
        "marts.kpi_values",
        "expect_column_values_to_be_between",
        "value",
        1,
        '"metric": "churn_rate"',
    ),
    (
        "unit not the reporting currency",
        "marts",
        "UPDATE marts.kpi_values SET unit = 'USD' WHERE metric = 'won_revenue'",
        "marts.kpi_values",
        "expect_column_values_to_be_in_set",
        "unit",
        1,
        '"unit": "USD"',
    ),
    (
        "unknown grain",
        "marts",
        "UPDATE marts.kpi_values SET grain = 'fortnight' WHERE metric = 'sales_cycle_days'",
        "marts.kpi_values",
        "expect_column_values_to_be_in_set",
        "grain",
        1,
        '"grain": "fortnight"',
    ),
    (
        "fact row duplicated",
        "marts",
        "INSERT INTO marts.fct_opportunities "
        "SELECT * FROM marts.fct_opportunities WHERE opportunity_id = 'files:1'",
        "marts.fct_opportunities",
        "expect_column_values_to_be_unique",
        "opportunity_id",
        2,
        '"opportunity_id": "files:1"',
    ),
    (
        "account dimension duplicated",
        "marts",
        "INSERT INTO marts.dim_accounts "
        "SELECT * FROM marts.dim_accounts WHERE account_id = 'files:10'",
        "marts.dim_accounts",
        "expect_column_values_to_be_unique",
        "account_id",
        2,
        '"account_id": "files:10"',
    ),
    (
        "owner dimension without id",
        "marts",
        "UPDATE marts.dim_owners SET owner_id = NULL WHERE name = 'Bob Chen'",
        "marts.dim_owners",
        "expect_column_values_to_not_be_null",
        "owner_id",
        1,
        '"owner_id": null',
    ),
]


@pytest.mark.parametrize(
    ("layer", "defect", "suite", "expectation", "column", "count", "sample"),
    [pytest.param(*d[1:], id=d[0]) for d in DEFECTS],
)
def test_a_defect_fails_its_blocking_expectation_and_the_gate(
    tmp_path: Path,
    layer: str,
    defect: str,
    suite: str,
    expectation: str,
    column: str,
    count: int,
    sample: str,
) -> None:
    results = run(make_build(tmp_path / "build.duckdb", defect), layer)

    failed = [r for s in results for r in s.failed_blocking]
    assert [(r.suite, r.expectation, r.column) for r in failed] == [(suite, expectation, column)]
    result = failed[0]
    assert result.unexpected_count == count
    assert result.blocking
    assert any(sample in json.dumps(s) for s in result.samples), result.samples

    with pytest.raises(QualityGateError) as raised:
        gate(results)
    message = str(raised.value)
    assert f"suite {suite}, table " in message
    assert result.description in message
    assert f"{count} of {result.element_count:,} rows" in message
    assert sample in message
    assert "FAIL " + result.description in report(results)


def test_the_message_shows_at_most_five_samples_and_the_share(tmp_path: Path) -> None:
    # 7 negative amounts out of 11 deals.
    defect = (
        "INSERT INTO intermediate.int_opportunities "
        "SELECT 'files:neg' || i, o.* EXCLUDE (opportunity_id) REPLACE (-1.0 AS amount) "
        "FROM intermediate.int_opportunities AS o, range(7) AS r(i) "
        "WHERE opportunity_id = 'files:4'"
    )
    results = run(make_build(tmp_path / "build.duckdb", defect), "crm")
    with pytest.raises(QualityGateError) as raised:
        gate(results)
    message = str(raised.value)
    assert "1. suite crm.opportunities, table intermediate.int_opportunities: amount is not " in (
        message
    )
    assert "7 of 11 rows (63.6 %) fail" in message
    assert "sample rows (5 of 7):" in message
    assert message.count('"amount": -1.0') == 5


def test_warnings_are_reported_without_stopping_the_gate(tmp_path: Path) -> None:
    defects = (
        # An account the CRM does not know, and a deal with no account at all.
        "UPDATE intermediate.int_opportunities SET account_id = 'files:99' "
        "WHERE opportunity_id = 'files:3'",
        "UPDATE intermediate.int_opportunities SET account_id = NULL "
        "WHERE opportunity_id = 'files:4'",
        "UPDATE intermediate.int_opportunities SET owner_id = 'files:7' "
        "WHERE opportunity_id = 'files:1'",
    )
    results = run(make_build(tmp_path / "build.duckdb", *defects), "crm")

    warnings = sorted(
        (r.column, r.expectation, r.unexpected_count, r.blocking)
        for s in results
        for r in s.failed_warnings
    )
    assert warnings == [
        ("account_id", "expect_column_values_to_be_in_set", 1, False),
        ("account_id", "expect_column_values_to_not_be_null", 1, False),
        ("owner_id", "expect_column_values_to_be_in_set", 1, False),
    ]
    unknown = next(
        r for s in results for r in s.failed_warnings if "exists in int_accounts" in r.description
    )
    assert unknown.samples == [{"opportunity_id": "files:3", "account_id": "files:99"}]
    assert all(not s.failed_blocking for s in results)
    gate(results)  # does not raise
    text = report(results)
    assert "0 blocking failure(s), 3 warning(s)" in text
    assert "WARN the deal's account exists in int_accounts" in text
    assert '{"opportunity_id": "files:3", "account_id": "files:99"}' in text


def test_a_missing_table_or_column_fails_instead_of_passing_silently(tmp_path: Path) -> None:
    path = make_build(
        tmp_path / "build.duckdb",
        "DROP TABLE intermediate.int_owners",
        "ALTER TABLE intermediate.int_opportunities DROP COLUMN amount_reporting",
    )
    results = run(path, "crm")
    failed = {(r.table, r.column): r.description for s in results for r in s.failed_blocking}
    assert (
        "table intermediate.int_owners does not exist"
        in failed[("intermediate.int_owners", "owner_id")]
    )
    assert (
        "column(s) amount_reporting not in intermediate.int_opportunities"
        in failed[("intermediate.int_opportunities", "amount_reporting")]
    )


def test_suites_run_offline_and_write_no_gx_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ephemeral context: no network (usage statistics, version checks), no files."""
    import socket

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    build = make_build(tmp_path / "build.duckdb")
    before = sorted(p.name for p in tmp_path.iterdir())
    results = run(build, "marts")  # the working directory is tmp_path (tests/conftest.py)
    assert results and all(s.success for s in results)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (Path.cwd() / "great_expectations").exists()
