"""Fixtures of the Salesforce tests: a small demo CRM served by the fake Salesforce."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from dlt.common.pipeline import LoadInfo

from ingestion.demo.export import write_files
from ingestion.demo.generator import DemoConfig, DemoCRM
from ingestion.pipeline import run_source
from ingestion.salesforce import salesforce_source
from tests.fakes.salesforce import QUOTAS, FakeSalesforce, serve_crm

ROOT = Path(__file__).resolve().parents[2]

AS_OF = date(2026, 3, 31)
DEMO = DemoConfig(deals=300, seed=11, as_of=AS_OF, years=2)  # 2 years: fewer KPI periods
BATCH = 50  # records per page: the 300 opportunities come in 6 pages
# Fast but real retries: exponential waits of 10 ms, 20 ms...; Retry-After still honoured.
FAST_RETRIES = {"max_attempts": 4, "backoff_factor": 0.01, "max_retry_delay": 5.0}


def crm_tables(config: DemoConfig = DEMO) -> dict[str, pa.Table]:
    """The demo CRM as files-contract tables, deal products and channels included."""
    return DemoCRM(config).tables()


@pytest.fixture(scope="session")
def crm() -> dict[str, pa.Table]:
    return crm_tables()


@pytest.fixture
def server(crm: dict[str, pa.Table]) -> Iterator[FakeSalesforce]:
    with serve_crm(crm, min_batch_size=1) as fake:
        yield fake


def source_for(server: FakeSalesforce, **settings: Any):
    options = {
        "access_token": server.token,
        "base_url": server.url,
        "batch_size": BATCH,
        "lookback_seconds": 60.0,
        **FAST_RETRIES,
        **settings,
    }
    return salesforce_source(**options)


def load(server: FakeSalesforce, workdir: Path, **settings: Any) -> LoadInfo:
    """One run of the connector into workdir/build.duckdb (pipeline state in workdir/dlt)."""
    return run_source(
        source_for(server, **settings), "salesforce", workdir / "build.duckdb", workdir / "dlt"
    )


def rows(workdir: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(workdir / "build.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


RAW_TABLES = (
    "opportunities",
    "opportunity_history",
    "opportunity_line_items",
    "products",
    "accounts",
    "users",
    "opportunity_stages",
    "forecasting_quotas",
    "periods",
    "currency_types",
    "dated_conversion_rates",
    "organization",
)


def raw_snapshot(workdir: Path) -> dict[str, list[tuple]]:
    """Every raw_salesforce table's rows (without dlt's load ids), sorted."""
    con = duckdb.connect(str(workdir / "build.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        snapshot = {}
        for table in RAW_TABLES:
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "'raw_salesforce' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if not r[0].startswith("_dlt_")
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            snapshot[table] = con.execute(
                f"SELECT {listed} FROM raw_salesforce.{table} ORDER BY ALL"
            ).fetchall()
        return snapshot
    finally:
        con.close()


# -- end to end: the crm-kpi command line against the fake Salesforce ---------------------

QUOTAS_Q1 = pa.table(
    {
        "quota_id": ["0J9000000000001AAA", "0J9000000000002AAA"],
        "owner_id": ["1", "2"],
        "period_start": [date(2026, 1, 1), date(2026, 2, 1)],
        "period_end": [date(2026, 3, 31), date(2026, 2, 28)],
        "amount": pa.array([Decimal("150000.00"), Decimal("1000.00")], pa.decimal128(18, 2)),
        "currency": ["EUR", "USD"],
    },
    schema=QUOTAS,
)
COST_FIELD = "Cost__c"  # on Opportunity and OpportunityLineItem of the fake org


def add_line(
    server: FakeSalesforce, opportunity: str, product: str, quantity: float, unit_price: float
) -> str:
    """A new line item of `product` on `opportunity`, in the opportunity's currency."""
    currency = server.org.con.execute(
        'SELECT "CurrencyIsoCode" FROM "Opportunity" WHERE "Id" = ?', [opportunity]
    ).fetchone()[0]
    return server.org.insert(
        "OpportunityLineItem",
        OpportunityId=opportunity,
        Product2Id=product,
        PricebookEntryId=f"01uFAKE{product}",
        Name=f"Opportunity {opportunity} {product}",
        Quantity=quantity,
        UnitPrice=unit_price,
        ListPrice=unit_price,
        TotalPrice=quantity * unit_price,
        Cost__c=round(quantity * unit_price / 2, 2),
        CurrencyIsoCode=currency,
    )


_ISOLATED = ("CRM_KPI_", "SOURCES__", "DESTINATION__", "RUNTIME__", "DAGSTER_HOME")


@dataclass
class EndToEnd:
    crm: dict[str, pa.Table]
    salesforce: Path  # data dir of the two salesforce runs
    files: Path  # data dir of the files run of the same CRM
    first_run_serving: Path  # serving.duckdb after the first salesforce run
    extra_deal: str  # in Salesforce for the first run only, deleted before the second
    extra_deal_line: str  # a line item of extra_deal, deleted with it
    extra_line: str  # a line item added to a demo deal, deleted before the second run
    first_run_output: str
    queries: list[str]  # SOQL of the opportunity queries, both runs
    token: str


def _cli(data_dir: Path, objectives: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATED)}
    return subprocess.Popen(
        [sys.executable, "-m", "crm_kpi.cli", "run", *args],
        env={
            **base,
            "PYTHONPATH": str(ROOT),
            "CRM_KPI_DATA_DIR": str(data_dir),
            "CRM_KPI_OBJECTIVES": str(objectives),
            "CRM_KPI_INGESTION_RETRY_DELAY_S": "0.1",
            **env,
        },
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen, what: str) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} failed:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="session")
def end_to_end(tmp_path_factory: pytest.TempPathFactory) -> EndToEnd:
    """`crm-kpi run --source salesforce` twice and `crm-kpi run --source files` once.

    The fake Salesforce serves the demo CRM, its quotas, and one more deal that is deleted
    in Salesforce between the two salesforce runs; the files source gets the demo CRM as
    an export. The first salesforce run and the files run go in parallel.
    """
    root = tmp_path_factory.mktemp("e2e")
    objectives = root / "objectives.yml"
    objectives.write_text("objectives: []\n")
    export = root / "export"
    write_files(DEMO, export)
    crm = crm_tables()
    with serve_crm(crm, quotas=QUOTAS_Q1, min_batch_size=1) as server:
        new_business = server.org.con.execute(
            """SELECT "Id" FROM "RecordType" WHERE "Name" = 'New Business'"""
        ).fetchone()[0]
        extra = server.org.insert(
            "Opportunity",
            AccountId=str(crm["accounts"]["account_id"][0]),
            OwnerId="1",
            RecordTypeId=new_business,
            Name="Deleted before the second run",
            StageName="Proposal",
            Amount=12345.0,
            CurrencyIsoCode="EUR",
            CloseDate=date(2026, 5, 15),
            IsClosed=False,
            IsWon=False,
            CreatedDate=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
        )
        extra_deal_line = add_line(server, extra, "P-100", quantity=2, unit_price=100.0)
        extra_line = add_line(
            server, str(crm["deals"]["deal_id"][0]), "P-400", quantity=1, unit_price=999.0
        )
        only_token = {
            "SOURCES__SALESFORCE__ACCESS_TOKEN": server.token,
            "SOURCES__SALESFORCE__BASE_URL": server.url,
            # Salesforce has no standard cost: the fake org's are custom Cost__c fields.
            "SOURCES__SALESFORCE__COST_FIELD": COST_FIELD,
            "SOURCES__SALESFORCE__LINE_COST_FIELD": COST_FIELD,
        }
        as_of = ("--as-of", AS_OF.isoformat())
        salesforce, files = root / "salesforce", root / "files"
        first = _cli(salesforce, objectives, only_token, "--source", "salesforce", *as_of)
        by_files = _cli(
            files, objectives, {"SOURCES__FILES__PATH": str(export)}, "--source", "files", *as_of
        )
        first_output = _finish(first, "the first salesforce run")
        _finish(by_files, "the files run")
        first_serving = root / "first-serving.duckdb"
        shutil.copy(salesforce / "serving.duckdb", first_serving)

        server.org.delete("Opportunity", extra)
        server.org.delete("OpportunityLineItem", extra_line)
        _finish(
            _cli(salesforce, objectives, only_token, "--source", "salesforce", *as_of),
            "the second salesforce run",
        )
        queries = server.queries_of("Opportunity")
    return EndToEnd(
        crm,
        salesforce,
        files,
        first_serving,
        extra,
        extra_deal_line,
        extra_line,
        first_output,
        queries,
        server.token,
    )
