"""A seeded synthetic CRM, realistic enough to exercise every KPI of DESIGN.md.

The CRM is simulated forward in time and cut at `as_of`: a deal that will close after
`as_of` is open today, sits in the stage it had reached by then, and its history ends
there. Nothing is created, closed or entered after the end of `as_of` (UTC).

Scale. The deals are made in blocks of `BLOCK_DEALS`. A block is a set of accounts
with their whole lifecycles (new-business attempts, contracts, expansions, renewals,
churn) plus a few deals without account; it is generated from (seed, block index)
alone, vectorised with numpy, so its content does not depend on how a consumer
chunks the output, and memory stays flat whatever the number of deals. Deal ids are
"1".."N"; account ids are `block index * BLOCK_DEALS + n` (numeric, with gaps
between blocks, as real CRM ids have).

Here: the config and the CRM object that hands out its tables, block by block with a
small cache; the parameters, the simulation and the tables sit beside it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from ingestion.demo.arrays import dates, decimal, weekday
from ingestion.demo.lifecycle import Simulation
from ingestion.demo.owners import Owners
from ingestion.demo.parameters import (
    BLOCK_DEALS,
    CACHED_BLOCKS,
    CLOSED_LOST,
    CLOSED_WON,
    MAX_DEALS,
    MAX_YEARS,
    MIN_DEALS,
    MIN_YEARS,
    NB_STAGES,
    NEW_BUSINESS,
    RENEWAL_STAGES,
    RENEWALS,
)
from ingestion.demo.tables import DemoBlock, build_block, vocabulary
from ingestion.demo.timeline import Timeline
from ingestion.files.contract import ENTITIES, PROBABILITY, RATE


def _yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@dataclass(frozen=True)
class DemoConfig:
    """What the demo CRM looks like: its size, its randomness and the day it ends on."""

    deals: int = 5000
    seed: int = 42
    as_of: date = field(default_factory=_yesterday_utc)
    years: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.deals, bool) or not isinstance(self.deals, int):
            raise TypeError(f"DemoConfig.deals must be an int, got {self.deals!r}")
        if not MIN_DEALS <= self.deals <= MAX_DEALS:
            raise ValueError(
                f"DemoConfig.deals={self.deals} is out of range: choose {MIN_DEALS:,} to "
                f"{MAX_DEALS:,} deals"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"DemoConfig.seed={self.seed!r} must be a non-negative int")
        if isinstance(self.as_of, datetime) or not isinstance(self.as_of, date):
            raise TypeError(
                f"DemoConfig.as_of must be a datetime.date (the last complete day), "
                f"got {self.as_of!r}"
            )
        if isinstance(self.years, bool) or not isinstance(self.years, int):
            raise TypeError(f"DemoConfig.years must be an int, got {self.years!r}")
        if not MIN_YEARS <= self.years <= MAX_YEARS:
            raise ValueError(
                f"DemoConfig.years={self.years} is out of range: the KPIs need at least "
                f"{MIN_YEARS} years of history; choose {MIN_YEARS} to {MAX_YEARS}"
            )
        if self.as_of.year - self.years < 1971:
            raise ValueError(f"DemoConfig.as_of={self.as_of} is too early for {self.years} years")

    @property
    def start(self) -> date:
        """The first day of history: `years` before `as_of` (29 February -> 28th)."""
        try:
            return self.as_of.replace(year=self.as_of.year - self.years)
        except ValueError:
            return self.as_of.replace(year=self.as_of.year - self.years, day=28)


class DemoCRM:
    """The demo CRM of a `DemoConfig`: the same config always gives the same tables."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self._owners = Owners.build(config)
        self._timeline = Timeline(config)
        self._simulation = Simulation(self._timeline, self._owners)
        self._cache: OrderedDict[int, DemoBlock] = OrderedDict()
        self._lock = threading.Lock()
        self._vocab = vocabulary()

    # -- public tables -------------------------------------------------------------------

    @property
    def n_blocks(self) -> int:
        return math.ceil(self.config.deals / BLOCK_DEALS)

    def owners(self) -> pa.Table:
        return self._owners.table

    def stages(self) -> pa.Table:
        rows = [(NEW_BUSINESS, s, p) for s, p in NB_STAGES]
        rows += [(NEW_BUSINESS, CLOSED_WON, "1"), (NEW_BUSINESS, CLOSED_LOST, "0")]
        rows += [(RENEWALS, s, p) for s, p in RENEWAL_STAGES]
        rows += [(RENEWALS, CLOSED_WON, "1"), (RENEWALS, CLOSED_LOST, "0")]
        orders: dict[str, int] = {}
        display = []
        for pipeline, _, _ in rows:
            orders[pipeline] = orders.get(pipeline, 0) + 1
            display.append(orders[pipeline])
        probability = np.array([round(float(p) * 10_000) for _, _, p in rows])
        return pa.Table.from_arrays(
            [
                pa.array([r[0] for r in rows]),
                pa.array([r[1] for r in rows]),
                decimal(probability, PROBABILITY),
                pa.array(display, type=pa.int32()),
            ],
            schema=ENTITIES["stages"].schema,
        )

    def fx_rates(self) -> pa.Table:
        """Daily EUR per USD and per GBP, a random walk; most weekends and 25 Dec have none.

        The first rate is well before the first deal, so every deal date has a latest
        rate on or before it.
        """
        rng = np.random.default_rng([self.config.seed, 2])
        days = np.arange(self._timeline.start_day - 45, self._timeline.end_day)
        month_day = days.astype("datetime64[D]").astype(str)
        holiday = np.char.endswith(month_day, "-12-25") | np.char.endswith(month_day, "-01-01")
        parts = []
        for code, start_rate in (("USD", 0.92), ("GBP", 1.17)):
            steps = rng.normal(0, 0.0045, len(days))
            steps[0] = 0.0
            rate = start_rate * np.exp(np.cumsum(steps))
            published = ((weekday(days) < 5) | (rng.random(len(days)) < 0.25)) & ~holiday
            published[0] = True
            micro = np.rint(rate[published] * 1_000_000).astype(np.int64)  # 6 decimals
            parts.append(
                pa.Table.from_arrays(
                    [
                        dates(days[published]),
                        pa.array([code] * int(published.sum())),
                        decimal(micro * 100, RATE),
                    ],
                    schema=ENTITIES["fx_rates"].schema,
                )
            )
        return pa.concat_tables(parts)

    def blocks(self) -> Iterator[DemoBlock]:
        """Every block in order: accounts, deals and history of one slice at a time."""
        for index in range(self.n_blocks):
            yield self.block(index)

    def block(self, index: int) -> DemoBlock:
        if not 0 <= index < self.n_blocks:
            raise IndexError(f"block {index} does not exist: there are {self.n_blocks} blocks")
        with self._lock:
            cached = self._cache.get(index)
            if cached is None:
                cached = build_block(self._simulation, self._vocab, index, self.config)
                self._cache[index] = cached
                while len(self._cache) > CACHED_BLOCKS:
                    self._cache.popitem(last=False)
            return cached

    def tables(self) -> dict[str, pa.Table]:
        """The whole CRM as one table per files-contract entity, in one pass over the blocks."""
        accounts, deals, history, products = [], [], [], []
        for block in self.blocks():
            accounts.append(block.accounts)
            deals.append(block.deals)
            history.append(block.stage_history)
            products.append(block.deal_products)
        return {
            "deals": pa.concat_tables(deals),
            "stage_history": pa.concat_tables(history),
            "deal_products": pa.concat_tables(products),
            "accounts": pa.concat_tables(accounts),
            "owners": self.owners(),
            "stages": self.stages(),
            "fx_rates": self.fx_rates(),
        }

    def accounts(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.accounts

    def deals(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.deals

    def stage_history(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.stage_history

    def deal_products(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.deal_products
