"""The Salesforce staging models, on the build file of the end-to-end salesforce runs.

The demo CRM goes in as files-contract tables, comes out of Salesforce's shapes (close
dates without a time, stage history with amount-change rows, percent probabilities,
conversion rates against the corporate currency), and must come back out of staging
exactly as it went in: the files contract and the one CRM model say the same things.
The deal that was deleted in Salesforce between the two runs is in none of them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from tests.salesforce.conftest import EndToEnd

pytestmark = pytest.mark.slow  # the build file of the end-to-end runs


@pytest.fixture(scope="module")
def staged(end_to_end: EndToEnd) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """The build file of the end-to-end salesforce runs, beside the CRM they loaded."""
    con = duckdb.connect(str(end_to_end.salesforce / "build.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    for name, table in end_to_end.crm.items():
        con.register(f"crm_{name}", table)
    return con, end_to_end.crm


def difference(con: duckdb.DuckDBPyConnection, expected: str, actual: str) -> list[tuple]:
    """Rows of each side missing from the other (both empty when they are equal)."""
    return con.execute(
        f"(({expected}) EXCEPT ALL ({actual})) UNION ALL (({actual}) EXCEPT ALL ({expected}))"
    ).fetchall()


def test_opportunities_come_back_as_the_crm_had_them(staged) -> None:
    con, _ = staged
    expected = """
        SELECT 'salesforce:' || deal_id, 'salesforce',
               CASE WHEN account_id IS NOT NULL THEN 'salesforce:' || account_id END,
               CASE WHEN owner_id IS NOT NULL THEN 'salesforce:' || owner_id END,
               pipeline, stage, status, amount, currency, created_at,
               closed_at, coalesce(deal_type, 'new_business'), contract_start, contract_end,
               mrr, lost_reason, coalesce(updated_at, created_at),
               -- the channel's label (LeadSource is stored as an API value); the cost
               -- from the custom field SOURCES__SALESFORCE__COST_FIELD names
               nullif(trim(channel), ''), cost
        FROM crm_deals
    """
    actual = "SELECT * FROM staging.stg_salesforce__opportunities"
    assert difference(con, expected, actual) == []
    assert (
        con.execute("SELECT count(*) FROM staging.stg_salesforce__opportunities").fetchone()[0]
        == 300
    )


def test_opportunity_products_come_back_as_the_crm_had_them(staged, end_to_end) -> None:
    con, crm = staged
    assert crm["deal_products"].num_rows > 300  # several lines a deal: something to compare
    expected = """
        SELECT 'salesforce:' || deal_id, 'salesforce', 'salesforce:' || product_id,
               product_name, product_family, quantity, unit_price, amount, currency, cost
        FROM crm_deal_products
    """
    actual = """
        SELECT opportunity_id, source, product_id, product_name, product_family, quantity,
               unit_price, amount, currency, cost
        FROM staging.stg_salesforce__opportunity_products
    """
    assert difference(con, expected, actual) == []
    # The line deleted on its own and the line of the deleted deal left raw and staging.
    gone = [end_to_end.extra_line, end_to_end.extra_deal_line]
    assert con.execute(
        "SELECT count(*) FROM raw_salesforce.opportunity_line_items WHERE id IN (?, ?)", gone
    ).fetchone() == (0,)
    staged_ids = {
        r[0]
        for r in con.execute(
            "SELECT line_id FROM staging.stg_salesforce__opportunity_products"
        ).fetchall()
    }
    assert len(staged_ids) == crm["deal_products"].num_rows
    assert not staged_ids & {f"salesforce:{i}" for i in gone}
    # The contract's columns, in its order and types.
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
        "'staging' AND table_name = 'stg_salesforce__opportunity_products' "
        "ORDER BY ordinal_position"
    ).fetchall()
    assert columns == [
        ("line_id", "VARCHAR"), ("opportunity_id", "VARCHAR"), ("source", "VARCHAR"),
        ("product_id", "VARCHAR"), ("product_name", "VARCHAR"), ("product_family", "VARCHAR"),
        ("quantity", "DECIMAL(18,4)"), ("unit_price", "DECIMAL(18,2)"),
        ("amount", "DECIMAL(18,2)"), ("currency", "VARCHAR"), ("cost", "DECIMAL(18,2)"),
        ("updated_at", "TIMESTAMP WITH TIME ZONE"),
    ]  # fmt: skip


def test_stage_history_drops_the_rows_that_change_no_stage(staged) -> None:
    con, _ = staged
    expected = "SELECT 'salesforce:' || deal_id, stage, entered_at FROM crm_stage_history"
    actual = "SELECT * FROM staging.stg_salesforce__stage_history"
    assert difference(con, expected, actual) == []
    # The fake's OpportunityHistory had amount-change rows too: there was something to drop.
    raw = con.execute("SELECT count(*) FROM raw_salesforce.opportunity_history").fetchone()[0]
    assert raw > con.execute("SELECT count(*) FROM crm_stage_history").fetchone()[0]


def test_accounts_owners_and_stages(staged) -> None:
    con, _ = staged
    assert (
        difference(
            con,
            "SELECT 'salesforce:' || account_id, name, segment, region, industry, created_at "
            "FROM crm_accounts",
            "SELECT * FROM staging.stg_salesforce__accounts",
        )
        == []
    )
    assert (
        difference(
            con,
            "SELECT 'salesforce:' || owner_id, name, email, team FROM crm_owners",
            "SELECT * FROM staging.stg_salesforce__owners",
        )
        == []
    )
    # Every (pipeline, stage, probability) of the CRM is there; Salesforce's single stage
    # list gives each pipeline the other pipeline's stages as well.
    assert (
        con.execute(
            "SELECT pipeline, stage, probability FROM crm_stages EXCEPT "
            "SELECT pipeline, stage, probability FROM staging.stg_salesforce__stages"
        ).fetchall()
        == []
    )


def test_fx_rates_are_the_crm_rates_to_the_reporting_currency(staged) -> None:
    con, _ = staged
    first_day = con.execute("SELECT min(created_at)::DATE FROM crm_deals").fetchone()[0]
    # Salesforce stores the inverse rate (units per EUR); the round trip is exact.
    assert (
        difference(
            con,
            f"SELECT date, currency, rate FROM crm_fx_rates WHERE date > DATE '{first_day}'",
            f"SELECT * FROM staging.stg_salesforce__fx_rates WHERE date > DATE '{first_day}' "
            "AND currency <> 'EUR'",
        )
        == []
    )
    # The rate Salesforce holds since 0001-01-01 starts on the first deal's day instead.
    assert con.execute("SELECT min(date) FROM staging.stg_salesforce__fx_rates").fetchone()[0] == (
        first_day
    )


def test_forecasting_quotas_become_objectives_in_the_reporting_currency(staged) -> None:
    con, _ = staged
    usd_on_feb_1 = con.execute(
        "SELECT rate FROM crm_fx_rates WHERE currency = 'USD' AND date <= DATE '2026-02-01' "
        "ORDER BY date DESC LIMIT 1"
    ).fetchone()[0]
    got = con.execute(
        "SELECT objective_id, source, metric, scope_type, scope_value, period_start, "
        "period_end, grain, direction, target, baseline, at_risk, off_track, title "
        "FROM staging.stg_salesforce__objectives ORDER BY objective_id"
    ).fetchall()
    owner_1, owner_2 = (
        con.execute("SELECT name FROM crm_owners WHERE owner_id = ?", [i]).fetchone()[0]
        for i in ("1", "2")
    )
    assert got == [
        (
            "salesforce:0J9000000000001AAA", "salesforce", "won_revenue", "owner",
            "salesforce:1", date(2026, 1, 1), date(2026, 3, 31), None, "increase",
            150000.0, None, 0.95, 0.8, f"Salesforce quota of {owner_1}, January FY2026",
        ),
        (
            "salesforce:0J9000000000002AAA", "salesforce", "won_revenue", "owner",
            "salesforce:2", date(2026, 2, 1), date(2026, 2, 28), None, "increase",
            float(round(Decimal("1000.00") * usd_on_feb_1, 2)), None, 0.95, 0.8,
            f"Salesforce quota of {owner_2}, February FY2026",
        ),
    ]  # fmt: skip
