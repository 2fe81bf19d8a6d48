"""`crm-kpi run --source salesforce` end to end, against the fake Salesforce.

Only the token, the base URL and the fields of the deal and line costs (Salesforce has no
standard ones) are set. The same demo CRM loaded through the files
source gives the same `marts.kpi_values`, row for row; a deal deleted in Salesforce
between two runs leaves the marts; Salesforce quotas become objectives.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.salesforce.conftest import AS_OF, EndToEnd

pytestmark = pytest.mark.slow


def serving(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def kpis_by_owner_name(alias: str) -> str:
    """kpi_values of an attached serving file, owner scopes named by the owner's name
    (ids differ by source prefix)."""
    return f"""
        SELECT k.metric, k.grain, k.period_start, k.scope_type,
               CASE WHEN k.scope_type = 'owner' THEN coalesce(o.name, k.scope_value)
                    ELSE k.scope_value END AS scope_value,
               k.value, k.numerator, k.denominator, k.unit, k.is_complete, k.as_of
        FROM {alias}.marts.kpi_values k
        LEFT JOIN {alias}.marts.dim_owners o
            ON k.scope_type = 'owner' AND o.owner_id = k.scope_value
    """


def test_a_run_with_only_the_token_and_base_url_publishes_the_marts(
    end_to_end: EndToEnd,
) -> None:
    con = serving(end_to_end.first_run_serving)
    sources = con.execute("SELECT DISTINCT source FROM marts.fct_opportunities").fetchall()
    assert sources == [("salesforce",)]
    assert con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0] == 301
    assert con.execute("SELECT max(as_of) FROM marts.kpi_values").fetchone()[0] == AS_OF
    # The two Salesforce quotas are objectives beside the (empty) objectives file's.
    quotas = con.execute(
        "SELECT DISTINCT objective_id, metric, scope_value FROM marts.objective_progress "
        "WHERE source = 'salesforce' ORDER BY 1"
    ).fetchall()
    assert quotas == [
        ("salesforce:0J9000000000001AAA", "won_revenue", "salesforce:1"),
        ("salesforce:0J9000000000002AAA", "won_revenue", "salesforce:2"),
    ]
    con.close()


def test_kpis_equal_those_of_the_same_crm_loaded_from_files(end_to_end: EndToEnd) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{end_to_end.files / 'serving.duckdb'}' AS by_files (READ_ONLY)")
    con.execute(f"ATTACH '{end_to_end.salesforce / 'serving.duckdb'}' AS by_salesforce (READ_ONLY)")
    files, salesforce = kpis_by_owner_name("by_files"), kpis_by_owner_name("by_salesforce")
    total = con.execute(f"SELECT count(*) FROM ({files})").fetchone()[0]
    assert total > 10_000
    assert con.execute(f"SELECT count(*) FROM ({salesforce})").fetchone()[0] == total
    only_files = con.execute(f"({files}) EXCEPT ALL ({salesforce}) LIMIT 10").fetchall()
    only_salesforce = con.execute(f"({salesforce}) EXCEPT ALL ({files}) LIMIT 10").fetchall()
    assert only_files == [] and only_salesforce == []
    # Every owner scope was named: the two warehouses know the same owners.
    unnamed = con.execute(
        "SELECT count(*) FROM by_salesforce.marts.kpi_values k "
        "LEFT JOIN by_salesforce.marts.dim_owners o ON o.owner_id = k.scope_value "
        "WHERE k.scope_type = 'owner' AND k.scope_value <> '(none)' AND o.name IS NULL"
    ).fetchone()[0]
    assert unnamed == 0


def test_a_deal_deleted_in_salesforce_is_gone_from_the_marts(end_to_end: EndToEnd) -> None:
    deal = f"salesforce:{end_to_end.extra_deal}"
    before = serving(end_to_end.first_run_serving)
    after = serving(end_to_end.salesforce / "serving.duckdb")
    in_facts = "SELECT count(*) FROM marts.fct_opportunities WHERE opportunity_id = ?"
    assert before.execute(in_facts, [deal]).fetchone()[0] == 1
    assert after.execute(in_facts, [deal]).fetchone()[0] == 0
    created = (
        "SELECT value FROM marts.kpi_values WHERE metric = 'deals_created' AND grain = 'month' "
        "AND period_start = DATE '2026-03-01' AND scope_type = 'company'"
    )
    assert before.execute(created).fetchone()[0] == after.execute(created).fetchone()[0] + 1
    # The second run asked only for what changed since the first (and so saw the delete).
    assert "WHERE SystemModstamp >" not in end_to_end.queries[0]
    assert "WHERE SystemModstamp >" in end_to_end.queries[-1]
    before.close()
    after.close()


def test_the_token_is_in_no_output_and_no_file(end_to_end: EndToEnd) -> None:
    assert "salesforce" in end_to_end.first_run_output
    assert end_to_end.token not in end_to_end.first_run_output
    secret = end_to_end.token.encode()
    written = [p for p in end_to_end.salesforce.rglob("*") if p.is_file()]
    assert any(p.name == "build.duckdb" for p in written)
    assert [p for p in written if secret in p.read_bytes()] == []
