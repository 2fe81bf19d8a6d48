"""The demo source: a seeded synthetic CRM, the embedded default of `crm-kpi demo`.

It needs no account and no network. A seed and an `as_of` day give the same CRM every
time: three years of history ending on `as_of` (UTC), with accounts in segments,
regions and industries, owners in sales teams, a "New Business" and a "Renewals"
pipeline, deals that move through their stages (and sometimes back), win or lose at
rates and speeds that differ by segment and owner, yearly contracts that are expanded,
renewed or churned, amounts in EUR, USD and GBP, and daily FX rates.

Resources (one table each in `raw_demo`, replaced on every run; columns and types are
the files contract, `ingestion/files/contract.py`, so the demo loads like an export):

- `accounts`, `owners`, `stages`, `fx_rates` (EUR per unit of USD and GBP)
- `deals` (every optional column present), `stage_history`, `deal_products` (2.5
  products a deal on average, in four families; one product has no cost)

Settings (all optional): `SOURCES__DEMO__DEALS` (100 to 1,000,000, default 5000),
`SOURCES__DEMO__SEED` (default 42), `SOURCES__DEMO__AS_OF` (ISO date, default
yesterday UTC). The generator itself is `ingestion.demo.generator.DemoCRM`; CSV or
Parquet files of the same data come from `ingestion.demo.export.write_files`.
"""

from collections.abc import Iterator
from datetime import date

import dlt
import pyarrow as pa
from dlt.extract.source import DltResource

from ingestion.demo.generator import DemoConfig, DemoCRM
from ingestion.files.contract import ENTITIES

__all__ = ["DemoCRM", "DemoConfig", "demo_source", "parse_as_of"]


def parse_as_of(as_of: str | date | None) -> date | None:
    """The `as_of` setting as a date (None stays None: DemoConfig then uses yesterday UTC)."""
    if as_of is None or isinstance(as_of, date):
        return as_of
    text = str(as_of).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"demo source: as_of={as_of!r} is not an ISO date such as 2026-03-31 "
            "(check SOURCES__DEMO__AS_OF or the as_of argument)"
        ) from None


@dlt.source(name="demo")
def demo_source(
    deals: int = 5000, seed: int = 42, as_of: str | None = None
) -> tuple[DltResource, ...]:
    day = parse_as_of(as_of)
    config = DemoConfig(deals=deals, seed=seed) if day is None else DemoConfig(deals, seed, day)
    crm = DemoCRM(config)

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["accounts"].primary_key)
    def accounts() -> Iterator[pa.Table]:
        yield from crm.accounts()

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["owners"].primary_key)
    def owners() -> Iterator[pa.Table]:
        yield crm.owners()

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["stages"].primary_key)
    def stages() -> Iterator[pa.Table]:
        yield crm.stages()

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["fx_rates"].primary_key)
    def fx_rates() -> Iterator[pa.Table]:
        yield crm.fx_rates()

    # Named explicitly: the function name would shadow the `deals` argument.
    @dlt.resource(
        name="deals", write_disposition="replace", primary_key=ENTITIES["deals"].primary_key
    )
    def deal_rows() -> Iterator[pa.Table]:
        yield from crm.deals()

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["stage_history"].primary_key)
    def stage_history() -> Iterator[pa.Table]:
        yield from crm.stage_history()

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["deal_products"].primary_key)
    def deal_products() -> Iterator[pa.Table]:
        yield from crm.deal_products()

    return accounts, owners, stages, fx_rates, deal_rows, stage_history, deal_products
