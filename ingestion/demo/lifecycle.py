"""The demo CRM's simulation: every deal of an account's life, cut at `as_of`.

Apart from the tables because it works in plain numpy columns (seconds, cents, codes):
new-business attempts, contracts with their expansions and renewals, churn, and deals
without account. The draws of each call keep their order, so a block's random streams
(`[seed, 3, index, attempt]`, `[seed, 4, index]`) give the same CRM every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ingestion.demo.arrays import contract_end, logit, pick, pick_rows, sigmoid
from ingestion.demo.deal_columns import DealColumns
from ingestion.demo.parameters import (
    AM_OWNS_P,
    CURRENCY_P_BY_REGION,
    DAY,
    EXPANSION_CYCLE_DAYS,
    EXPANSION_P,
    EXPANSION_WIN_P,
    INDUSTRIES,
    INDUSTRY_MISSING_P,
    LIST_MRR_EUR,
    LOOSE_AMOUNT_EUR,
    LOOSE_CURRENCY_P,
    LOOSE_CYCLE_DAYS,
    LOOSE_WIN_P,
    MAX_NB_ATTEMPTS,
    NAME_FIRST,
    NAME_SECOND,
    NB_CYCLE_DAYS,
    NB_REASONS,
    NB_WIN_P,
    NO_RENEWAL_P,
    POOL_ALL,
    PRICE_EUR_PER_UNIT,
    PROSPECT_P,
    REASON_MISSING_P,
    REGION_P,
    RENEWAL_CYCLE_DAYS,
    RENEWAL_REASONS,
    RENEWAL_WIN_P,
    RETRY_P,
    SEGMENT_P,
    STALE_P,
    T_AM,
    T_ENTERPRISE,
    T_MID,
    T_SMB_EMEA,
    T_SMB_INTL,
)

if TYPE_CHECKING:
    from ingestion.demo.owners import Owners
    from ingestion.demo.timeline import Timeline


class Simulation:
    """The deals the accounts of a CRM make on its timeline, owned by its owners."""

    def __init__(self, timeline: Timeline, owners: Owners) -> None:
        self.timeline = timeline
        self.owners = owners

    def lost_reason(self, rng: np.random.Generator, n: int, codes: np.ndarray) -> np.ndarray:
        reason = codes[rng.integers(0, len(codes), n)]
        return np.where(rng.random(n) < REASON_MISSING_P, -1, reason)

    def lifecycles(self, rng: np.random.Generator, n: int) -> tuple[dict, dict[str, np.ndarray]]:
        """`n` candidate accounts and every deal of their lives up to `as_of`."""
        owners, end = self.owners, self.timeline.end
        seg = pick(rng, SEGMENT_P, n)
        region = pick(rng, REGION_P, n)
        currency = pick_rows(rng, CURRENCY_P_BY_REGION[region])
        industry = pick(rng, np.ones(len(INDUSTRIES)), n)
        industry = np.where(rng.random(n) < INDUSTRY_MISSING_P, -1, industry)
        created = self.timeline.created(rng, self.timeline.days(rng, n), 0.3)
        prospect = rng.random(n) < PROSPECT_P
        nb_team = np.select(
            [seg == 2, seg == 1, region == 0], [T_ENTERPRISE, T_MID, T_SMB_EMEA], T_SMB_INTL
        )
        seller = owners.sample(rng, nb_team)
        manager = np.where(rng.random(n) < AM_OWNS_P, owners.sample(rng, np.full(n, T_AM)), seller)
        list_mrr = LIST_MRR_EUR[seg] * np.exp(rng.normal(0, 0.55, n)) / PRICE_EUR_PER_UNIT[currency]
        list_mrr = np.maximum(20, np.rint(list_mrr)).astype(np.int64) * 100  # whole units
        accounts = {
            "segment": seg,
            "region": region,
            "industry": industry,
            "created": created,
            "name": (
                rng.integers(0, len(NAME_FIRST), n),
                rng.integers(0, len(NAME_SECOND), n),
                rng.integers(0, 1 << 30, n),
            ),
        }
        deals = DealColumns()

        # New business: up to MAX_NB_ATTEMPTS tries, each after the previous was lost.
        acc = np.flatnonzero(~prospect)
        day = created[acc] // DAY + rng.exponential(9.0, acc.size).astype(np.int64)
        at = np.maximum(
            self.timeline.created(rng, day, 0.0), created[acc] + rng.integers(60, 3600, acc.size)
        )
        none = np.empty(0, dtype=np.int64)
        won_acc, won_start, won_mrr = [none], [none], [none]
        for _ in range(MAX_NB_ATTEMPTS):
            live = at < end
            acc, at = acc[live], at[live]
            k = acc.size
            if k == 0:
                break
            s, o = seg[acc], seller[acc]
            stale = (rng.random(k) < STALE_P) & (at < end - 400 * DAY)
            won = ~stale & (rng.random(k) < sigmoid(logit(NB_WIN_P[s]) + owners.skill[o]))
            cycle = NB_CYCLE_DAYS[s] * owners.speed[o] * np.exp(rng.normal(0, 0.55, k))
            cycle = np.where(won, cycle, cycle * rng.uniform(0.25, 1.0, k))
            close = self.timeline.close(rng, at, cycle, won)
            close = np.where(stale, at + rng.integers(5, 60, k) * DAY, close)
            start = close // DAY + rng.integers(0, 15, k)
            deals.add(
                np.ones(k, dtype=bool),
                account=acc,
                owner=o,
                kind=0,
                created=at,
                outcome=np.where(stale, 2, won.astype(np.int64)),
                close=close,
                amount=list_mrr[acc] * 12,
                mrr=list_mrr[acc],
                contract_start=start,
                contract_end=contract_end(start),
                reason=self.lost_reason(rng, k, NB_REASONS),
                currency=currency[acc],
            )
            signed = won & (close < end)
            won_acc.append(acc[signed])
            won_start.append(start[signed])
            won_mrr.append(list_mrr[acc[signed]])
            retry = ~won & ~stale & (rng.random(k) < RETRY_P)
            acc = acc[retry]
            day = close[retry] // DAY + rng.integers(30, 300, acc.size)
            at = self.timeline.created(rng, day, 0.0)

        # Contracts: each year an expansion may be sold, then a renewal is opened ~60 days
        # before the end; a lost or never-opened renewal is churn.
        acc = np.concatenate(won_acc)
        start = np.concatenate(won_start)
        mrr = np.concatenate(won_mrr)
        while acc.size:
            k = acc.size
            s, o = seg[acc], manager[acc]
            end_day = contract_end(start)
            span = end_day - start - 120
            row = np.flatnonzero((rng.random(k) < EXPANSION_P[s]) & (span > 0))
            e_at = self.timeline.created(
                rng, start[row] + 30 + (rng.random(row.size) * span[row]).astype(np.int64), 0.0
            )
            e_won = rng.random(row.size) < sigmoid(logit(EXPANSION_WIN_P) + owners.skill[o[row]])
            e_cycle = (
                EXPANSION_CYCLE_DAYS * owners.speed[o[row]] * np.exp(rng.normal(0, 0.5, row.size))
            )
            e_cycle = np.where(e_won, e_cycle, e_cycle * rng.uniform(0.3, 1.0, row.size))
            e_close = self.timeline.close(rng, e_at, e_cycle, e_won, latest_day=end_day[row] - 7)
            e_mrr = np.rint(mrr[row] * rng.uniform(0.1, 0.4, row.size) / 100).astype(np.int64) * 100
            e_mrr = np.maximum(e_mrr, 1000)
            months = np.maximum(1, np.rint((end_day[row] - e_close // DAY) / 30.44)).astype(
                np.int64
            )
            e_start = np.minimum(e_close // DAY + rng.integers(0, 4, row.size), end_day[row] - 1)
            deals.add(
                e_at < end,
                account=acc[row],
                owner=o[row],
                kind=2,
                created=e_at,
                outcome=e_won.astype(np.int64),
                close=e_close,
                amount=e_mrr * months,
                mrr=e_mrr,
                contract_start=e_start,
                contract_end=end_day[row],
                reason=self.lost_reason(rng, row.size, NB_REASONS),
                currency=currency[acc[row]],
            )

            r_day = end_day - 60 + np.rint(rng.normal(0, 12, k)).astype(np.int64)
            r_at = self.timeline.created(rng, np.maximum(r_day, start + 1), 0.5)
            opened = (rng.random(k) >= NO_RENEWAL_P[s]) & (r_at < end)
            # An expansion won before the renewal is opened is renewed with the base.
            grown = mrr.copy()
            signed_before = e_won & (e_close < r_at[row])
            np.add.at(grown, row[signed_before], e_mrr[signed_before])
            r_mrr = np.rint(grown * rng.uniform(1.0, 1.07, k)).astype(np.int64)
            r_won = rng.random(k) < sigmoid(logit(RENEWAL_WIN_P[s]) + owners.skill[o])
            r_cycle = RENEWAL_CYCLE_DAYS * owners.speed[o] * np.exp(rng.normal(0, 0.45, k))
            r_cycle = np.where(r_won, r_cycle, r_cycle * rng.uniform(0.5, 1.2, k))
            r_close = self.timeline.close(rng, r_at, r_cycle, np.zeros(k, dtype=bool))
            deals.add(
                opened,
                account=acc,
                owner=o,
                kind=1,
                created=r_at,
                outcome=r_won.astype(np.int64),
                close=r_close,
                amount=r_mrr * 12,
                mrr=r_mrr,
                contract_start=end_day + 1,
                contract_end=contract_end(end_day + 1),
                reason=self.lost_reason(rng, k, RENEWAL_REASONS),
                currency=currency[acc],
            )
            renewed = opened & r_won & (r_close < end)
            acc, start, mrr = acc[renewed], end_day[renewed] + 1, r_mrr[renewed]
        return accounts, deals.columns()

    def loose_deals(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """One-off deals entered without an account: no contract, no MRR."""
        owners = self.owners
        deals = DealColumns()
        at = self.timeline.created(rng, self.timeline.days(rng, n), 0.3)
        o = owners.sample(rng, np.full(n, POOL_ALL))
        currency = pick(rng, LOOSE_CURRENCY_P, n)
        stale = (rng.random(n) < STALE_P) & (at < self.timeline.end - 400 * DAY)
        won = ~stale & (rng.random(n) < sigmoid(logit(LOOSE_WIN_P) + owners.skill[o]))
        cycle = LOOSE_CYCLE_DAYS * owners.speed[o] * np.exp(rng.normal(0, 0.6, n))
        cycle = np.where(won, cycle, cycle * rng.uniform(0.25, 1.0, n))
        close = self.timeline.close(rng, at, cycle, won)
        close = np.where(stale, at + rng.integers(5, 60, n) * DAY, close)
        amount = LOOSE_AMOUNT_EUR * np.exp(rng.normal(0, 0.7, n)) / PRICE_EUR_PER_UNIT[currency]
        deals.add(
            np.ones(n, dtype=bool),
            account=-1,
            owner=o,
            kind=0,
            created=at,
            outcome=np.where(stale, 2, won.astype(np.int64)),
            close=close,
            amount=np.rint(amount * 100).astype(np.int64),
            mrr=0,
            contract_start=0,
            contract_end=0,
            reason=self.lost_reason(rng, n, NB_REASONS),
            currency=currency,
        )
        return deals.columns()
