"""A real BI client reads the marts: Apache Superset on serving.duckdb, read-only.

Superset runs from its own virtual environment (its pins clash with ours), built once
by scripts/install_superset.sh into ~/.cache/crm-kpi/superset (~2.5 minutes the first
time, then reused). The test configures a database on the serving file through
duckdb-engine with DuckDB opened read-only, a dataset on marts.fct_opportunities and a
saved bar chart of monthly won revenue, then asks Superset for the chart's data: it must
equal marts.kpi_values. Superset's DuckDB is 1.x: the serving file's storage version
(v1.4.0) is what lets it open the file at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.report.conftest import DemoWarehouse
from tests.utils import query

INSTALLER = ROOT / "scripts" / "install_superset.sh"


@dataclass(frozen=True)
class Superset:
    url: str
    session: requests.Session


@pytest.fixture(scope="module")
def superset_home() -> Path:
    """The cached Superset environment, installed now when missing."""
    result = subprocess.run(
        ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode == 3:
        pytest.skip(f"Superset cannot be installed here: {result.stderr.strip()}")
    assert result.returncode == 0, f"{INSTALLER} failed:\n{result.stderr[-4000:]}"
    return Path(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def superset(superset_home: Path, tmp_path: Path) -> Iterator[Superset]:
    home = tmp_path / "superset"
    home.mkdir()
    metadata = home / "superset.db"
    shutil.copyfile(superset_home / "metadata-template.db", metadata)
    config = home / "superset_config.py"
    config.write_text(
        f'SECRET_KEY = "{secrets.token_hex(32)}"\n'
        f'SQLALCHEMY_DATABASE_URI = "sqlite:///{metadata}"\n'
        "# An API client with a bearer token, not a browser form: no CSRF token to carry.\n"
        "WTF_CSRF_ENABLED = False\n"
    )
    env = {
        "PATH": f"{superset_home / 'bin'}:{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(config),
        "FLASK_APP": "superset",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    binary = str(superset_home / "bin" / "superset")
    password = secrets.token_urlsafe(16)
    created = subprocess.run(
        [binary, "fab", "create-admin", "--username", "analyst", "--firstname", "Ana",
         "--lastname", "Lyst", "--email", "analyst@example.invalid", "--password", password],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-3000:]
    port = _free_port()
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [binary, "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False  # never through a proxy: the server is on this machine
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            try:
                if session.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "Superset did not answer /health in 120 s"
            time.sleep(0.5)
        token = session.post(
            f"{url}/api/v1/security/login",
            json={"username": "analyst", "password": password, "provider": "db"},
            timeout=30,
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        yield Superset(url, session)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        log.close()


def _post(bi: Superset, path: str, payload: dict) -> dict:
    response = bi.session.post(f"{bi.url}{path}", json=payload, timeout=60)
    assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
    return response.json()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_superset_charts_monthly_won_revenue_from_the_serving_file(
    superset: Superset, demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    shutil.copyfile(demo_warehouse.serving, serving)
    before = _digest(serving)

    database = _post(
        superset,
        "/api/v1/database/",
        {
            "database_name": "crm-kpi serving",
            "sqlalchemy_uri": f"duckdb:///{serving}",
            "expose_in_sqllab": True,
            # docs/bi.md: the connection that BI tools should use.
            "extra": json.dumps({"engine_params": {"connect_args": {"read_only": True}}}),
        },
    )["id"]
    dataset = _post(
        superset,
        "/api/v1/dataset/",
        {"database": database, "schema": "marts", "table_name": "fct_opportunities"},
    )["id"]
    won_revenue = {
        "expressionType": "SIMPLE",
        "column": {"column_name": "amount_reporting"},
        "aggregate": "SUM",
        "label": "won_revenue",
    }
    month = {
        "timeGrain": "P1M",
        "columnType": "BASE_AXIS",
        "sqlExpression": "closed_date",
        "label": "closed_date",
        "expressionType": "SQL",
    }
    won = {"col": "status", "op": "==", "val": "won"}
    form_data = {
        "datasource": f"{dataset}__table",
        "viz_type": "echarts_timeseries_bar",
        "x_axis": "closed_date",
        "time_grain_sqla": "P1M",
        "metrics": [won_revenue],
        "adhoc_filters": [
            {"expressionType": "SIMPLE", "subject": "status", "operator": "==",
             "comparator": "won", "clause": "WHERE"}
        ],
    }  # fmt: skip
    query_context = {
        "datasource": {"id": dataset, "type": "table"},
        "force": True,
        "queries": [{"columns": [month], "metrics": [won_revenue], "filters": [won],
                     "orderby": [[won_revenue, True]], "row_limit": 10000}],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }  # fmt: skip
    chart = _post(
        superset,
        "/api/v1/chart/",
        {
            "slice_name": "Won revenue by month",
            "viz_type": "echarts_timeseries_bar",
            "datasource_id": dataset,
            "datasource_type": "table",
            "params": json.dumps(form_data),
            "query_context": json.dumps(query_context),
        },
    )["id"]
    response = superset.session.get(
        f"{superset.url}/api/v1/chart/{chart}/data/", params={"format": "json"}, timeout=60
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"][0]
    assert result["status"] == "success" and "DATE_TRUNC('month', closed_date)" in result["query"]
    charted = {
        datetime.fromtimestamp(row["closed_date"] / 1000, tz=UTC).date(): row["won_revenue"]
        for row in result["data"]
    }

    marts = {
        start: value
        for start, value in query(
            demo_warehouse.serving,
            """
            SELECT period_start, value FROM marts.kpi_values
            WHERE metric = 'won_revenue' AND grain = 'month' AND scope_type = 'company'
            """,
        )
        if value
    }
    assert len(marts) >= 12 and date(2026, 10, 1) in marts
    assert charted.keys() == marts.keys()
    for start, value in marts.items():
        assert float(charted[start]) == pytest.approx(value, abs=0.005), start

    # The connection is read-only in DuckDB itself, not only by Superset's own rules.
    lab = _post(
        superset,
        "/api/v1/sqllab/execute/",
        {"database_id": database, "sql": "SELECT current_setting('access_mode') AS mode",
         "runAsync": False, "schema": "marts"},
    )  # fmt: skip
    assert lab["data"] == [{"mode": "read_only"}]
    assert _digest(serving) == before
    assert not serving.with_name("serving.duckdb.wal").exists()
