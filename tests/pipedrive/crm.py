"""A small, seeded CRM in the files contract, and helpers to load it through the connector."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from dlt.common.pipeline import LoadInfo

from ingestion.files.contract import ENTITIES
from ingestion.pipedrive import pipedrive_source
from ingestion.pipeline import run_source
from tests.fakes.pipedrive import DEFAULT_TOKEN, FakePipedrive

PIPELINES = {
    "New Business": [("Qualification", "0.1"), ("Proposal", "0.4"), ("Negotiation", "0.7")],
    "Renewals": [("Review", "0.5"), ("Signature", "0.9")],
}
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
REGIONS = ("EMEA", "North America", None)
INDUSTRIES = ("Software", "Finance", "Retail")
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
CHANNELS = ("Website", "Partner", "Referral", None)
# code, name, family, unit cost (None: the CRM knows no cost)
PRODUCTS = (
    ("SKU-1", "Platform", "Software", Decimal("12.50")),
    ("SKU-2", "Seats", "Software", Decimal("3.00")),
    ("SKU-3", "Onboarding", "Services", None),
    ("SKU-4", "Mixer", None, Decimal("40.00")),
)


def make_crm(deals: int = 60, seed: int = 7) -> dict[str, pa.Table]:
    """Files-contract tables: 4 owners (3 in teams), 10 accounts, 2 pipelines, `deals` deals.

    Every deal starts in its pipeline's first stage at created_at and moves forward;
    closed deals stay in the stage they reached. Some deals carry a deal type, a
    contract and an MRR; amounts are in EUR or USD with cents. Most deals have a channel
    and one to three product lines (every third deal none); a line's cost is its
    quantity times its product's unit cost, as Pipedrive's catalog keeps it.
    """
    rng = random.Random(seed)
    owners = {
        "owner_id": ["u1", "u2", "u3", "u4"],
        "name": ["Alice Martin", "Bob Chen", "Carla Diaz", "Dan Evans"],
        "email": ["alice@example.com", "bob@example.com", "carla@example.com", "dan@example.com"],
        "team": ["Enterprise", "SMB", "SMB", None],
    }
    accounts = {
        "account_id": [f"a{i}" for i in range(10)],
        "name": [f"Account {i}" for i in range(10)],
        "segment": [SEGMENTS[i % 3] for i in range(10)],
        "region": [REGIONS[i % 3] for i in range(10)],
        "industry": [INDUSTRIES[(i + 1) % 3] for i in range(10)],
        "created_at": [START - timedelta(days=30 - i) for i in range(10)],
    }
    stages = {"pipeline": [], "stage": [], "probability": [], "display_order": []}
    for pipeline, steps in PIPELINES.items():
        for order, (stage, probability) in enumerate(steps, start=1):
            stages["pipeline"].append(pipeline)
            stages["stage"].append(stage)
            stages["probability"].append(Decimal(probability))
            stages["display_order"].append(order)
    deal_rows: dict[str, list[Any]] = {c.name: [] for c in ENTITIES["deals"].columns}
    history: dict[str, list[Any]] = {"deal_id": [], "stage": [], "entered_at": []}
    lines: dict[str, list[Any]] = {c.name: [] for c in ENTITIES["deal_products"].columns}
    for n in range(deals):
        deal_id = f"D{n:04d}"
        pipeline = "New Business" if n % 4 else "Renewals"
        steps = [s for s, _ in PIPELINES[pipeline]]
        created = START + timedelta(days=rng.randrange(0, 300), minutes=rng.randrange(0, 600))
        reached = rng.randrange(1, len(steps) + 1)
        at = created
        for stage in steps[:reached]:
            history["deal_id"].append(deal_id)
            history["stage"].append(stage)
            history["entered_at"].append(at)
            at = at + timedelta(days=rng.randrange(1, 20), hours=rng.randrange(0, 8))
        last_move = history["entered_at"][-1]
        status = rng.choice(["open", "won", "lost"])
        closed = last_move + timedelta(days=rng.randrange(1, 10)) if status != "open" else None
        deal_type = rng.choice([None, "new_business", "renewal", "expansion"])
        recurring = status == "won" and deal_type is not None
        contract_start = (closed.date() + timedelta(days=1)) if recurring else None
        deal_rows["deal_id"].append(deal_id)
        deal_rows["account_id"].append(None if n % 11 == 5 else f"a{n % 10}")
        deal_rows["owner_id"].append(owners["owner_id"][n % 4])
        deal_rows["pipeline"].append(pipeline)
        deal_rows["stage"].append(steps[reached - 1])
        deal_rows["status"].append(status)
        deal_rows["amount"].append(Decimal(rng.randrange(50_000, 5_000_000)) / 100)
        deal_rows["currency"].append("USD" if n % 5 == 0 else "EUR")
        deal_rows["created_at"].append(created)
        deal_rows["closed_at"].append(closed)
        deal_rows["updated_at"].append(closed or last_move)
        deal_rows["deal_type"].append(deal_type)
        deal_rows["contract_start"].append(contract_start)
        deal_rows["contract_end"].append(
            contract_start + timedelta(days=364) if contract_start else None
        )
        deal_rows["mrr"].append(
            (Decimal(rng.randrange(10_000, 500_000)) / 100) if recurring else None
        )
        deal_rows["lost_reason"].append("Price" if status == "lost" else None)
        deal_rows["channel"].append(CHANNELS[n % len(CHANNELS)])
        deal_rows["cost"].append(None)
        for code, name, family, unit_cost in rng.sample(PRODUCTS, 0 if n % 3 == 0 else 1 + n % 3):
            quantity = rng.randrange(1, 5)
            price = Decimal(rng.randrange(1_000, 50_000)) / 100
            lines["deal_id"].append(deal_id)
            lines["product_id"].append(code)
            lines["product_name"].append(name)
            lines["product_family"].append(family)
            lines["quantity"].append(Decimal(quantity))
            lines["unit_price"].append(price)
            lines["amount"].append(price * quantity - (Decimal("5.00") if n % 2 else 0))
            lines["currency"].append(deal_rows["currency"][-1])
            lines["cost"].append(None if unit_cost is None else unit_cost * quantity)
    tables = {
        "owners": owners,
        "accounts": accounts,
        "stages": stages,
        "deals": deal_rows,
        "stage_history": history,
        "deal_products": lines,
    }
    return {
        name: pa.Table.from_pydict(columns, schema=ENTITIES[name].schema)
        for name, columns in tables.items()
    }


FAST = {"max_attempts": 6, "backoff_factor": 0.01, "max_retry_delay": 0.05}


def load(
    server: FakePipedrive, workdir: Path, *, token: str = DEFAULT_TOKEN, **settings: Any
) -> LoadInfo:
    """One pipedrive pipeline run into workdir/build.duckdb, fast retries unless overridden."""
    options = {"page_size": 7, **FAST, **settings}
    source = pipedrive_source(api_token=token, base_url=server.url, **options)
    return run_source(source, "pipedrive", workdir / "build.duckdb", workdir / "dlt")


def rows(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(workdir / "build.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


RAW_TABLES = (
    "deals",
    "stage_history",
    "organizations",
    "pipelines",
    "stages",
    "users",
    "teams",
    "goals",
    "deal_products",
    "products",
    "product_prices",
)
KEYS = {
    "stage_history": "deal_id, seq",
    "goals": "id",
    "deal_products": "deal_id, id",
    "product_prices": "product_id, currency",
}


def snapshot(workdir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw table's rows without dlt's load columns, in key order."""
    con = duckdb.connect(str(workdir / "build.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        result = {}
        for table in RAW_TABLES:
            columns = [
                c[0]
                for c in con.execute(f"DESCRIBE raw_pipedrive.{table}").fetchall()
                if not c[0].startswith("_dlt")
            ]
            order = KEYS.get(table, "id")
            result[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM raw_pipedrive.{table} ORDER BY {order}"
            ).fetchall()
        return result
    finally:
        con.close()


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def first_of_month(today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    return today.replace(day=1)
