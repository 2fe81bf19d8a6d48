"""`crm-kpi run --source hubspot` end to end against the fake HubSpot serving the demo CRM.

Three runs of the real command line, shared by the tests of this module: the HubSpot
portal and the same demo CRM exported as files (`crm-kpi run --source files`), side by
side; then a deal and a line item of another deal are deleted in the portal and HubSpot
runs again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingestion.demo.export import write_files
from ingestion.demo.generator import DemoConfig
from tests.fakes.hubspot import FakeHubSpot, serve_crm
from tests.hubspot.conftest import AS_OF, DEALS, demo_tables
from tests.utils import CLI, query

pytestmark = pytest.mark.slow

SEED = 11
DELETED = "17"  # the demo deal deleted in HubSpot between the two runs


@dataclass
class Runs:
    portal: FakeHubSpot
    hubspot: Path  # serving.duckdb of the first HubSpot run
    files: Path  # serving.duckdb of the files run on the same demo CRM
    after_delete: Path  # serving.duckdb of the HubSpot run after the delete
    env: dict[str, str]
    first_build: Path  # build.duckdb of the first HubSpot run
    files_build: Path  # build.duckdb of the files run
    after_build: Path  # build.duckdb of the HubSpot run after the deletes
    deleted_line: str  # the line item deleted before the second run (its HubSpot id)


def _cli(env: dict[str, str], source: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "run", "--source", source, "--as-of", AS_OF.isoformat()],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen, what: str) -> None:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} failed:\n{out[-2000:]}\n{err[-4000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("hubspot-e2e")
    objectives = root / "objectives.yml"
    objectives.write_text("objectives: []\n")
    export = root / "export"
    write_files(DemoConfig(deals=DEALS, seed=SEED, as_of=AS_OF), export)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "CRM_KPI_", "DESTINATION__", "RUNTIME__"))
    }
    base.update(
        {
            "CRM_KPI_OBJECTIVES": str(objectives),
            "CRM_KPI_INGESTION_RETRY_DELAY_S": "0.1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    crm = demo_tables(DEALS, SEED)
    with serve_crm(crm) as portal:
        # only the token and the base URL: every other HubSpot setting keeps its default
        hubspot_env = {
            **base,
            "SOURCES__HUBSPOT__API_KEY": portal.token,
            "SOURCES__HUBSPOT__BASE_URL": portal.url,
            "CRM_KPI_DATA_DIR": str(root / "hubspot"),
        }
        files_env = {
            **base,
            "SOURCES__FILES__PATH": str(export),
            "CRM_KPI_DATA_DIR": str(root / "files"),
        }
        hubspot_run = _cli(hubspot_env, "hubspot", root)
        files_run = _cli(files_env, "files", root)
        _finish(hubspot_run, "crm-kpi run --source hubspot")
        _finish(files_run, "crm-kpi run --source files")
        first = root / "hubspot-first.duckdb"
        shutil.copy(root / "hubspot" / "serving.duckdb", first)
        first_build = root / "hubspot-first-build.duckdb"
        shutil.copy(root / "hubspot" / "build.duckdb", first_build)

        portal.archive("deals", DELETED)
        line = next(r for r in crm["deal_products"].to_pylist() if r["deal_id"] != DELETED)
        line_key = portal.line_item_key(line["deal_id"], line["product_id"])
        portal.archive("line_items", line_key)
        _finish(_cli(hubspot_env, "hubspot", root), "crm-kpi run --source hubspot (again)")
        return Runs(
            portal,
            first,
            root / "files" / "serving.duckdb",
            root / "hubspot" / "serving.duckdb",
            hubspot_env,
            first_build,
            root / "files" / "build.duckdb",
            root / "hubspot" / "build.duckdb",
            portal.hubspot_id("line_items", line_key),
        )


def _kpis(serving: Path) -> list[tuple]:
    """Every kpi_values row, owner scope values replaced by the owner's name."""
    return query(
        serving,
        """
        SELECT k.metric, k.grain, k.period_start, k.scope_type,
               CASE WHEN k.scope_type = 'owner' THEN coalesce(o.name, k.scope_value)
                    ELSE k.scope_value END AS scope_value,
               k.value, k.numerator, k.denominator, k.unit, k.is_complete, k.as_of
        FROM marts.kpi_values AS k
        LEFT JOIN marts.dim_owners AS o
            ON k.scope_type = 'owner' AND k.scope_value = o.owner_id
        ORDER BY ALL
        """,
    )


def test_hubspot_runs_with_only_the_token_and_base_url(runs: Runs) -> None:
    hubspot_settings = {k for k in runs.env if k.startswith("SOURCES__")}
    assert hubspot_settings == {"SOURCES__HUBSPOT__API_KEY", "SOURCES__HUBSPOT__BASE_URL"}
    (count,) = query(runs.hubspot, "SELECT count(*) FROM marts.fct_opportunities")[0]
    assert count == DEALS
    sources = query(runs.hubspot, "SELECT DISTINCT source FROM marts.fct_opportunities")
    assert sources == [("hubspot",)]


def test_kpi_values_equal_the_files_source_row_for_row(runs: Runs) -> None:
    hubspot, files = _kpis(runs.hubspot), _kpis(runs.files)
    assert len(hubspot) > 10_000
    owners = query(runs.hubspot, "SELECT count(DISTINCT name), count(*) FROM marts.dim_owners")
    assert owners[0][0] == owners[0][1]  # names identify owners, so the mapping is exact
    assert hubspot == files


def test_a_deal_deleted_in_hubspot_is_gone_from_the_marts(runs: Runs) -> None:
    gone = f"hubspot:{runs.portal.hubspot_id('deals', DELETED)}"
    before = query(
        runs.hubspot,
        "SELECT created_at FROM marts.fct_opportunities WHERE opportunity_id = ?",
        [gone],
    )
    assert len(before) == 1
    after = query(
        runs.after_delete,
        "SELECT count(*) FROM marts.fct_opportunities WHERE opportunity_id = ?",
        [gone],
    )
    assert after == [(0,)]
    created = before[0][0].date().replace(day=1)
    sql = (
        "SELECT value FROM marts.kpi_values WHERE metric = 'deals_created' AND grain = 'month' "
        "AND scope_type = 'company' AND period_start = ?"
    )
    assert (
        query(runs.after_delete, sql, [created])[0][0]
        == query(runs.hubspot, sql, [created])[0][0] - 1
    )


LINES = """
    SELECT product_name, product_family, quantity, unit_price, amount, currency, cost,
           count(*) OVER (PARTITION BY opportunity_id) AS lines_of_deal
    FROM intermediate.int_opportunity_products
    ORDER BY ALL
"""


def test_line_items_equal_the_files_deal_products(runs: Runs) -> None:
    hubspot, files = query(runs.first_build, LINES), query(runs.files_build, LINES)
    assert len(hubspot) > DEALS  # deals sell several products
    assert hubspot == files


def test_a_line_item_deleted_in_hubspot_is_gone_after_the_next_run(runs: Runs) -> None:
    sql = "SELECT count(*) FROM intermediate.int_opportunity_products WHERE line_id = ?"
    gone = [f"hubspot:{runs.deleted_line}"]
    assert query(runs.first_build, sql, gone) == [(1,)]
    assert query(runs.after_build, sql, gone) == [(0,)]
    count = "SELECT count(*) FROM raw_hubspot.line_items WHERE id = ?"
    assert query(runs.after_build, count, [runs.deleted_line]) == [(0,)]
