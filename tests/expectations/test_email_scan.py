"""No column of any marts table may hold an e-mail address, tables added later included;
the report shows where, without spreading the address itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expectations.runner import QualityGateError, QualitySettings, gate, run_suites
from expectations.samples import mask_emails
from tests.expectations.builders import RUN_ID, make_build, open_build

SCAN = "marts.no_email_addresses"


def scan(path: Path) -> list:
    con = open_build(path)
    try:
        results = run_suites(
            con, "marts", run_id=RUN_ID, settings=QualitySettings(max_source_age_hours=1e9)
        )
    finally:
        con.close()
    return results


@pytest.mark.parametrize(
    ("defect", "table", "column", "masked"),
    [
        (
            "UPDATE marts.dim_owners SET name = 'Alice <alice.martin@example.com>' "
            "WHERE owner_id = 'files:1'",
            "marts.dim_owners",
            "name",
            "Alice <a***@example.com>",
        ),
        (
            "UPDATE marts.kpi_values SET scope_value = 'bob.chen@example.com' "
            "WHERE scope_type = 'team'",
            "marts.kpi_values",
            "scope_value",
            "b***@example.com",
        ),
        (
            "UPDATE marts.fct_opportunities SET segment = 'x@sub.example.co.uk' "
            "WHERE opportunity_id = 'files:2'",
            "marts.fct_opportunities",
            "segment",
            "x***@sub.example.co.uk",
        ),
        (
            # A table no suite names: found because the scan lists the schema.
            "CREATE TABLE marts.contacts AS SELECT 'c1' AS id, 'carla.diaz@example.org' AS who",
            "marts.contacts",
            "who",
            "c***@example.org",
        ),
        (
            # Text inside a list is scanned as the list's text.
            "CREATE TABLE marts.notes AS SELECT 1 AS id, ['vip', 'dan@example.net'] AS tags",
            "marts.notes",
            "tags",
            "d***@example.net",
        ),
    ],
    ids=["dim_owners.name", "kpi_values.scope_value", "fct.segment", "new table", "list column"],
)
def test_an_email_address_in_any_marts_column_blocks(
    tmp_path: Path, defect: str, table: str, column: str, masked: str
) -> None:
    results = scan(make_build(tmp_path / "build.duckdb", defect))
    failed = [r for s in results for r in s.failed_blocking]
    assert [(r.suite, r.table, r.column) for r in failed] == [(SCAN, table, column)]
    assert failed[0].unexpected_count >= 1
    assert masked in str(failed[0].samples)

    with pytest.raises(QualityGateError) as raised:
        gate(results)
    message = str(raised.value)
    assert f"suite {SCAN}, table {table}: no e-mail address in {column}" in message
    assert masked in message
    address = re.search(r"[\w.+-]+@[\w.-]+\.\w+", defect).group()
    assert address not in message  # logs must not spread the address


def test_at_signs_that_are_not_addresses_pass(tmp_path: Path) -> None:
    results = scan(
        make_build(
            tmp_path / "build.duckdb",
            "UPDATE marts.dim_owners SET name = '@alice' WHERE owner_id = 'files:1'",
            "UPDATE marts.dim_owners SET team = 'Sales @ EMEA' WHERE owner_id = 'files:2'",
        )
    )
    assert not [r for s in results for r in s.failed_blocking]
    # Every table of the schema is scanned, each text column once.
    scanned = {(s.table, r.column) for s in results if s.suite == SCAN for r in s.results}
    assert ("marts.dim_owners", "name") in scanned
    assert ("marts.kpi_values", "unit") in scanned
    assert not any(column == "value" for _, column in scanned)  # DOUBLE: not text


def test_mask_emails_keeps_the_first_letter_and_the_domain() -> None:
    assert mask_emails("write to jane.doe@example.com or j@x.io") == (
        "write to j***@example.com or j***@x.io"
    )
