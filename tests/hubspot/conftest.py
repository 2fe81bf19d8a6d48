"""Fixtures of the HubSpot source tests: a small demo CRM served by a fake HubSpot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from dlt.common.pipeline import LoadInfo

from ingestion.demo.generator import DemoConfig, DemoCRM
from ingestion.hubspot import hubspot_source
from ingestion.pipeline import make_pipeline, run_source
from tests.fakes.hubspot import FakeHubSpot, serve_crm

AS_OF = date(2026, 6, 30)
DEALS = 300
# Retries fast enough for tests: the waits that matter (Retry-After) come from the server.
FAST = {"max_attempts": 4, "backoff_factor": 0.01, "max_retry_delay": 3.0, "request_timeout": 10.0}


def demo_tables(deals: int = DEALS, seed: int = 11) -> dict[str, pa.Table]:
    return DemoCRM(DemoConfig(deals=deals, seed=seed, as_of=AS_OF)).tables()


@pytest.fixture(scope="session")
def crm() -> dict[str, pa.Table]:
    return demo_tables()


@pytest.fixture
def portal(crm: dict[str, pa.Table]) -> Iterator[FakeHubSpot]:
    with serve_crm(crm) as server:
        yield server


DEALS_ONLY = ("deals", "deal_stage_history")


def load(
    server: FakeHubSpot, data_dir: Path, only: tuple[str, ...] = (), **settings: Any
) -> LoadInfo:
    """One run of the HubSpot source into `data_dir`/build.duckdb, as the pipeline runs it
    (`only` these resources, to keep a test that needs no more fast)."""
    options = {"api_key": server.token, "base_url": server.url, **FAST, **settings}
    source = hubspot_source(**options)
    if only:
        source = source.with_resources(*only)
    return run_source(source, "hubspot", build_db(data_dir), data_dir / "dlt")


def build_db(data_dir: Path) -> Path:
    return data_dir / "build.duckdb"


def raw(data_dir: Path, table: str, order_by: str = "1") -> list[tuple]:
    """The rows of raw_hubspot.`table` without dlt's own columns, in a stable order."""
    con = duckdb.connect(str(build_db(data_dir)), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        columns = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'raw_hubspot' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if not r[0].startswith("_dlt")
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        return con.execute(
            f"SELECT {select} FROM raw_hubspot.{table} ORDER BY {order_by}"
        ).fetchall()
    finally:
        con.close()


def raw_count(data_dir: Path, table: str, where: str = "true", params: list | None = None) -> int:
    con = duckdb.connect(str(build_db(data_dir)), read_only=True)
    try:
        return con.execute(
            f"SELECT count(*) FROM raw_hubspot.{table} WHERE {where}", params or []
        ).fetchone()[0]
    finally:
        con.close()


def cursor(data_dir: Path, resource: str = "deals") -> Any:
    """The incremental cursor dlt stored for `resource` (None before any complete run)."""
    state = make_pipeline("hubspot", build_db(data_dir), data_dir / "dlt").state
    resources = state.get("sources", {}).get("hubspot", {}).get("resources", {})
    return (
        resources.get(resource, {}).get("incremental", {}).get("updated_at", {}).get("last_value")
    )


def sql(data_dir: Path, query: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on the build file (read-only, UTC)."""
    con = duckdb.connect(str(build_db(data_dir)), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(autouse=True)
def no_telemetry(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt would report usage to its vendor over the network: the tests stay on 127.0.0.1."""
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
