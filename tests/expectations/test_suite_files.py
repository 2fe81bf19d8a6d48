"""The suite files: what they cover, and clear errors when one is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from expectations.settings import QualitySettings
from expectations.suites import SuiteFileError, load_layer, parse_layer
from tests.expectations.builders import RUN_ID, make_build, open_build


def covered(layer: str) -> dict[str, set[tuple[str, str | None, bool]]]:
    """table -> {(expectation, column, blocking)} of the shipped suites."""
    tables: dict[str, set] = {}
    for suite in load_layer(layer).suites:
        for spec in suite.expectations:
            tables.setdefault(suite.table, set()).add(
                (spec.expect, spec.column_label, spec.blocking)
            )
    return tables


@pytest.mark.parametrize("source", ["files", "demo"])
def test_raw_suites_key_every_table_of_the_files_contract(source: str) -> None:
    tables = covered(f"raw:{source}")
    keys = {
        "deals": [("expect_column_values_to_be_unique", "deal_id")],
        "accounts": [("expect_column_values_to_be_unique", "account_id")],
        "owners": [("expect_column_values_to_be_unique", "owner_id")],
        "stage_history": [("expect_compound_columns_to_be_unique", "deal_id, entered_at, stage")],
        "stages": [("expect_compound_columns_to_be_unique", "pipeline, stage")],
        "fx_rates": [("expect_compound_columns_to_be_unique", "date, currency")],
    }
    assert set(tables) == {f"raw_{source}.{t}" for t in keys}
    for table, expected in keys.items():
        for expectation, column in expected:
            assert (expectation, column, True) in tables[f"raw_{source}.{table}"]
    assert load_layer(f"raw:{source}").freshness.table == f"raw_{source}.deals"


def test_the_crm_suites_cover_the_issue_list() -> None:
    deals = covered("crm")["intermediate.int_opportunities"]
    for expected in [
        ("expect_column_values_to_be_unique", "opportunity_id", True),
        ("expect_column_values_to_be_in_set", "status", True),
        ("expect_column_values_to_match_regex", "currency", True),
        ("expect_column_values_to_be_between", "amount", True),
        ("expect_column_values_to_not_be_null", "closed_at", True),
        ("expect_column_pair_values_a_to_be_greater_than_b", "closed_date, created_date", True),
        ("expect_column_values_to_not_be_null", "amount_reporting", True),
        ("expect_column_pair_values_a_to_be_greater_than_b", "contract_end, contract_start", True),
        ("expect_column_values_to_be_in_set", "account_id", False),
        ("expect_column_values_to_be_in_set", "owner_id", False),
    ]:
        assert expected in deals
    assert load_layer("crm").quarantine.entities["opportunities"] == (
        "intermediate.int_opportunities"
    )


def test_a_source_without_raw_suites_has_none() -> None:
    layer = load_layer("raw:hubspot")
    assert layer.suites == () and layer.freshness is None and layer.source == "hubspot"


@pytest.mark.parametrize("layer", ["raw", "raw:", "staging", "marts:x", ""])
def test_a_bad_layer_name_says_which_exist(layer: str) -> None:
    with pytest.raises(ValueError, match="use 'raw:<source>'"):
        parse_layer(layer)


GOOD = """
layer: crm
suites:
  - name: crm.accounts
    table: intermediate.int_accounts
    expectations:
{entry}
"""


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            "      - expect: expect_column_values_to_be_sorted\n        column: account_id",
            "crm.yml, suite 1 (crm.accounts), expectations entry 1: "
            "'expect_column_values_to_be_sorted' is not a Great Expectations expectation",
        ),
        (
            "      - expect: expect_column_mean_to_be_between\n        column: account_id",
            "expectations entry 1: 'expect_column_mean_to_be_between' looks at the table as "
            "a whole",
        ),
        (
            "      - expect: expect_column_values_to_be_between\n        column: account_id\n"
            "        min_value: [1, 2]",
            "expectations entry 1: expect_column_values_to_be_between: ",
        ),
        (
            "      - expect: expect_column_values_to_not_be_null\n        column: account_id\n"
            "        row_condition: 'account_id > 1'",
            "row_condition is set by the runner; use `where:`",
        ),
        (
            "      - expect: expect_column_values_to_match_regex\n        column: account_id\n"
            "        regex: {query: 'select 1'}",
            "`{query: ...}` can only be the whole value_set of",
        ),
        (
            "      - column: account_id",
            "each expectation is a mapping with an `expect:` type",
        ),
        (
            "      - expect: expect_column_values_to_not_be_null\n        column: account_id\n"
            "        blocking: maybe",
            "blocking must be true or false",
        ),
    ],
    ids=["unknown", "aggregate", "bad argument", "row_condition", "query", "no type", "blocking"],
)
def test_a_mistake_in_a_suite_file_names_file_suite_and_entry(
    tmp_path: Path, entry: str, error: str
) -> None:
    (tmp_path / "crm.yml").write_text(GOOD.format(entry=entry))
    with pytest.raises(SuiteFileError) as raised:
        load_layer("crm", tmp_path)
    assert error in str(raised.value)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("layer: crm\nsuites: [{name: x, expectations: []}]", "give either `table:"),
        ("layer: crm\nsuites: [{name: x, table: nodot, expectations: []}]", "schema.table"),
        ("layer: crm\nsuites: [{name: x, table: a.b}]", "at least one expectation"),
        ("layer: crm\nsuites: [{name: x, table: a.b, colour: red}]", "unknown key(s) colour"),
        ("layer: staging\nsuites: []", "layer must be one of raw, crm, marts"),
        ("layer: crm\nsuites: [\n", "not valid YAML"),
    ],
)
def test_a_broken_suite_file_is_refused(tmp_path: Path, content: str, error: str) -> None:
    (tmp_path / "bad.yml").write_text(content)
    with pytest.raises(SuiteFileError) as raised:
        load_layer("crm", tmp_path)
    assert error in str(raised.value)
    assert "bad.yml" in str(raised.value)


def test_a_suite_of_my_own_runs_with_where_show_and_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file a person adds is picked up: `where`, `show` and `{run_context: ...}` work."""
    (tmp_path / "mine.yml").write_text(
        """
layer: crm
suites:
  - name: crm.big_eur_deals
    table: intermediate.int_opportunities
    key: [opportunity_id]
    row_count: false
    expectations:
      - expect: expect_column_values_to_be_between
        column: amount
        max_value: 15000
        where: {currency: {run_context: reporting_currency}, status: [open, won]}
        show: [status]
        description: deals in the reporting currency stay under 15,000
"""
    )
    import expectations.suites as suites_module
    from expectations.runner import run_suites

    monkeypatch.setattr(
        "expectations.runner.load_layer", lambda layer: suites_module.load_layer(layer, tmp_path)
    )
    con = open_build(make_build(tmp_path / "build.duckdb"))
    try:
        results = run_suites(con, "crm", run_id=RUN_ID, settings=QualitySettings())
    finally:
        con.close()
    [suite] = results
    [result] = suite.results
    # EUR deals that are open or won: files:1 (10,000) and files:4 (20,000).
    assert (result.element_count, result.unexpected_count) == (2, 1)
    assert result.samples == [
        {"opportunity_id": "files:4", "amount": 20000.0, "currency": "EUR", "status": "open"}
    ]
