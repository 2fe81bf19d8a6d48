"""End to end: `crm-kpi run --source pipedrive` against the fake Pipedrive serving the demo
CRM, compared with the same demo CRM loaded through the files source.

Three CLI runs, shared by the tests of this module: the files export, the Pipedrive
company (only its token and base URL set), and the Pipedrive company again after a deal
was deleted in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingestion.demo.export import write_files
from ingestion.demo.generator import DemoConfig, DemoCRM
from tests.fakes.pipedrive import DEFAULT_TOKEN, serve_crm
from tests.utils import query

pytestmark = pytest.mark.slow

AS_OF = date(2026, 9, 30)
CONFIG = DemoConfig(deals=400, seed=5, as_of=AS_OF)
ROOT = Path(__file__).resolve().parents[2]
ISOLATED = ("CRM_KPI_", "SOURCES__", "DESTINATION__", "DAGSTER_HOME", "RUNTIME__")


def _cli(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`crm-kpi run` in a new process, with a clean environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "crm_kpi.cli",
            "run",
            "--as-of",
            AS_OF.isoformat(),
            *env.pop("args"),
        ],
        env={**clean, **env},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pipedrive-e2e")
    export = root / "export"
    write_files(CONFIG, export)
    objectives = root / "objectives.yml"
    objectives.write_text("objectives: []\n")
    common = {"CRM_KPI_OBJECTIVES": str(objectives)}
    files = _cli(
        root,
        {
            **common,
            "args": ["--source", "files"],
            "CRM_KPI_DATA_DIR": str(root / "files"),
            "SOURCES__FILES__PATH": str(export),
        },
    )
    assert files.returncode == 0, files.stderr[-4000:]
    tables = DemoCRM(CONFIG).tables()
    won = next(
        d
        for d in tables["deals"].to_pylist()
        if d["status"] == "won" and d["closed_at"].date() < AS_OF
    )
    with serve_crm(tables) as server:
        pipedrive_env = {
            **common,
            "CRM_KPI_DATA_DIR": str(root / "pipedrive"),
            # only the token and the base URL: every other setting keeps its default
            "SOURCES__PIPEDRIVE__API_TOKEN": DEFAULT_TOKEN,
            "SOURCES__PIPEDRIVE__BASE_URL": server.url,
            # Pipedrive keeps no exchange rates: the demo's rates come as the fx_rates file
            "CRM_KPI_FX_RATES": str(export / "fx_rates.csv"),
        }
        first = _cli(root, {**pipedrive_env, "args": ["--source", "pipedrive"]})
        assert first.returncode == 0, first.stderr[-4000:]
        shutil.copy(root / "pipedrive" / "serving.duckdb", root / "before-delete.duckdb")
        deleted = f"pipedrive:{server.native_deal_id(won['deal_id'])}"
        server.delete_deal(won["deal_id"])
        second = _cli(root, {**pipedrive_env, "args": ["--source", "pipedrive"]})
        assert second.returncode == 0, second.stderr[-4000:]
        assert not [r for r in server.requests if "api_token" in r.query]
    return {
        "files": root / "files" / "serving.duckdb",
        "pipedrive": root / "before-delete.duckdb",
        "after_delete": root / "pipedrive" / "serving.duckdb",
        "deleted": deleted,
        "deleted_deal": won,
        "logs": first.stderr + second.stderr,
    }


KPI_ROWS = """
    select k.metric, k.grain, k.period_start, k.scope_type,
           case when k.scope_type = 'owner' then coalesce(o.name, k.scope_value)
                else k.scope_value end as scope,
           k.value, k.numerator, k.denominator, k.unit, k.is_complete, k.as_of
    from marts.kpi_values k
    left join marts.dim_owners o on k.scope_type = 'owner' and o.owner_id = k.scope_value
    order by all
"""


# Pipedrive keeps a product's cost per currency, not per line: the demo gives each line
# its own cost, so the fake serves the average unit cost and margins agree only in
# total. Every other KPI, channels included, is equal.
CATALOG_COST_METRICS = {"gross_margin", "margin_rate"}


def test_the_same_crm_gives_the_same_kpis_through_pipedrive_and_files(runs) -> None:
    files = query(runs["files"], KPI_ROWS)
    pipedrive = query(runs["pipedrive"], KPI_ROWS)
    assert len(files) > 1000
    exact = [r for r in files if r[0] not in CATALOG_COST_METRICS]
    assert [r for r in pipedrive if r[0] not in CATALOG_COST_METRICS] == exact
    assert {r[1:5] for r in exact if r[3] == "channel"}, "no channel-scope rows"
    # the margin rows exist for the same periods and scopes
    assert [r[:5] for r in pipedrive if r[0] in CATALOG_COST_METRICS] == [
        r[:5] for r in files if r[0] in CATALOG_COST_METRICS
    ]
    owners = query(runs["pipedrive"], "select owner_id from marts.dim_owners order by 1")
    assert owners and all(o[0].startswith("pipedrive:") for o in owners)


def test_a_deal_deleted_in_pipedrive_is_gone_from_the_marts(runs) -> None:
    sql = "select count(*) from marts.fct_opportunities where opportunity_id = ?"
    assert query(runs["pipedrive"], sql, [runs["deleted"]]) == [(1,)]
    assert query(runs["after_delete"], sql, [runs["deleted"]]) == [(0,)]
    closed = runs["deleted_deal"]["closed_at"].date().replace(day=1)
    won = (
        "select value from marts.kpi_values where metric = 'won_deals' and grain = 'month' "
        "and scope_type = 'company' and period_start = ?"
    )
    [(before,)] = query(runs["pipedrive"], won, [closed])
    [(after,)] = query(runs["after_delete"], won, [closed])
    assert after == before - 1


def test_the_token_is_not_in_the_run_output(runs) -> None:
    assert DEFAULT_TOKEN not in runs["logs"]
