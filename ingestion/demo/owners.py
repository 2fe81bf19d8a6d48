"""The demo CRM's sales team: who owns deals, in which team, how good and how fast.

Apart from the simulation because the owners are drawn once per CRM (their own random
stream, `[seed, 1]`) and every block samples its deals' owners from the same pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ingestion.demo.arrays import ids, labels
from ingestion.demo.parameters import FIRST_NAMES, LAST_NAMES, TEAM_SHARE, TEAMLESS_SHARE, TEAMS
from ingestion.files.contract import ENTITIES

if TYPE_CHECKING:
    from ingestion.demo.generator import DemoConfig


@dataclass(frozen=True)
class Owners:
    """The owners table, and per team who may take a deal and how often."""

    team: np.ndarray  # team index, -1 without team
    skill: np.ndarray  # log-odds added to every win probability of the owner's deals
    speed: np.ndarray  # multiplies the owner's cycle lengths
    pools: tuple[tuple[np.ndarray, np.ndarray], ...]  # per team, then POOL_ALL: owners, cum weight
    table: pa.Table

    @classmethod
    def build(cls, config: DemoConfig) -> Owners:
        rng = np.random.default_rng([config.seed, 1])
        n = max(12, round(config.deals / 2500))
        no_deals = n - 1  # the latest hire: an owner the warehouse knows with zero deals
        n_teamless = max(1, round(TEAMLESS_SHARE * n))
        sized = n - 1 - n_teamless
        exact = np.array(TEAM_SHARE) * sized
        sizes = np.maximum(1, np.floor(exact).astype(int))
        while sizes.sum() < sized:  # largest remainder first
            sizes[np.argmax(exact - sizes)] += 1
        while sizes.sum() > sized:
            sizes[np.argmax(sizes)] -= 1
        teams = np.concatenate(
            [np.full(k, t) for t, k in enumerate(sizes)] + [np.full(n_teamless, -1)]
        )
        team = np.empty(n, dtype=np.int64)
        team[:no_deals] = rng.permutation(teams)
        team[no_deals] = int(np.argmax(sizes))
        skill = rng.normal(0, 0.35, n)
        speed = np.exp(rng.normal(0, 0.25, n))
        capacity = np.exp(rng.normal(0, 0.4, n))
        capacity[no_deals] = 0.0
        pools = []
        for t in range(len(TEAMS)):
            members = np.flatnonzero((team == t) | (team == -1))
            weights = capacity[members] * np.where(team[members] == -1, 0.3, 1.0)
            pools.append((members, np.cumsum(weights)))
        members = np.flatnonzero(capacity > 0)
        pools.append((members, np.cumsum(capacity[members])))

        combo = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))[:n]  # unique names
        first = [FIRST_NAMES[c % len(FIRST_NAMES)] for c in combo]
        last = [LAST_NAMES[c // len(FIRST_NAMES)] for c in combo]
        table = pa.Table.from_arrays(
            [
                ids(np.arange(1, n + 1)),
                pa.array([f"{f} {la}" for f, la in zip(first, last, strict=True)]),
                pa.array(
                    [f"{f}.{la}@example.com".lower() for f, la in zip(first, last, strict=True)]
                ),
                labels(pa.array(TEAMS), np.maximum(team, 0), team >= 0),
            ],
            schema=ENTITIES["owners"].schema,
        )
        return cls(team, skill, speed, tuple(pools), table)

    def sample(self, rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
        """An owner index per row, drawn from the row's pool by the owners' capacity."""
        out = np.empty(len(pool), dtype=np.int64)
        for p, (members, cum) in enumerate(self.pools):
            rows = np.flatnonzero(pool == p)
            if rows.size:
                u = rng.random(rows.size) * cum[-1]
                pick = np.minimum(np.searchsorted(cum, u, side="right"), len(members) - 1)
                out[rows] = members[pick]
        return out
