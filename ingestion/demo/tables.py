"""The demo CRM's blocks as Arrow tables in the files contract.

Apart from the simulation because this is where simulated columns become what a CRM
shows at `as_of`: stage paths with their bounces, a history cut at the end of `as_of`,
open deals with the stage they reached, and labels, ids and money typed by the contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo.arrays import dates, decimal, ids, labels, pick, timestamps
from ingestion.demo.parameters import (
    BLOCK_DEALS,
    BOUNCE_RATE,
    CURRENCIES,
    DAY,
    DEALS_PER_ACCOUNT,
    INDUSTRIES,
    LOOSE_SHARE,
    LOST_CODE,
    LOST_REASONS,
    MAX_BOUNCES,
    NAME_FIRST,
    NAME_SECOND,
    NAME_SUFFIX_BY_REGION,
    NB_LOST_AT_P,
    NB_STAGES,
    NB_START_P,
    PIPELINES,
    REGIONS,
    RENEWAL_BASE,
    RENEWAL_LOST_AT_P,
    RENEWAL_STAGES,
    SEGMENTS,
    STAGE_NAMES,
    UNOWNED_P,
    WON_CODE,
)
from ingestion.demo.products import channels, deal_products
from ingestion.files.contract import ENTITIES, MONEY

if TYPE_CHECKING:
    from ingestion.demo.generator import DemoConfig
    from ingestion.demo.lifecycle import Simulation


@dataclass(frozen=True)
class DemoBlock:
    """One independent slice of the CRM: its accounts, their deals and those deals' history."""

    index: int
    accounts: pa.Table
    deals: pa.Table
    stage_history: pa.Table
    deal_products: pa.Table


def vocabulary() -> dict[str, pa.Array]:
    """The labels the tables take by code: stages, pipelines, statuses, reasons, ..."""
    return {
        "stage": pa.array(STAGE_NAMES),
        "pipeline": pa.array(PIPELINES),
        "status": pa.array(("open", "won", "lost")),
        "kind": pa.array(("new_business", "renewal", "expansion")),
        "currency": pa.array(CURRENCIES),
        "reason": pa.array(LOST_REASONS),
        "segment": pa.array(SEGMENTS),
        "region": pa.array(REGIONS),
        "industry": pa.array(INDUSTRIES),
        "first": pa.array(NAME_FIRST),
        "second": pa.array(NAME_SECOND),
    }


def build_block(
    simulation: Simulation, vocab: dict[str, pa.Array], index: int, config: DemoConfig
) -> DemoBlock:
    """Block `index` of the CRM: its accounts, their deals, and the history of those deals."""
    seed = config.seed
    size = min(BLOCK_DEALS, config.deals - index * BLOCK_DEALS)
    n_loose = round(size * LOOSE_SHARE)
    wanted = size - n_loose
    candidates = math.ceil(wanted / DEALS_PER_ACCOUNT * 1.1) + 10
    for attempt in range(8):
        rng = np.random.default_rng([seed, 3, index, attempt])
        accounts, deals = simulation.lifecycles(rng, candidates)
        if len(deals["account"]) >= wanted:
            break
        # Too few deals (short history, say): retry with more accounts, sized by the yield.
        got = max(len(deals["account"]), 1)
        candidates = math.ceil(candidates * wanted / got * 1.1) + 10
    else:  # pragma: no cover - the yield is never this low for years >= MIN_YEARS
        raise RuntimeError(f"demo block {index}: could not make {wanted} account deals")

    # Keep whole account lifecycles in account order until the block's budget is met;
    # the last kept account loses its latest deals.
    order = np.lexsort((deals["created"], deals["account"]))[:wanted]
    deals = {name: values[order] for name, values in deals.items()}
    n_accounts = int(deals["account"].max()) + 1 if wanted else 0
    if n_accounts > BLOCK_DEALS:  # pragma: no cover - guarded by the id scheme
        raise RuntimeError(f"demo block {index}: {n_accounts} accounts overflow the id range")
    rng = np.random.default_rng([seed, 4, index])
    loose = simulation.loose_deals(rng, n_loose)
    deals = {name: np.concatenate([deals[name], loose[name]]) for name in deals}
    # Within a block, ids follow creation time, as a CRM numbers its records.
    order = np.argsort(deals["created"], kind="stable")
    deals = {name: values[order] for name, values in deals.items()}
    first_id = index * BLOCK_DEALS + 1
    account_ids = index * BLOCK_DEALS + 1 + np.arange(n_accounts)
    block_accounts = accounts_table(accounts, account_ids, vocab)
    block_deals, block_history = deals_and_history(
        rng, deals, first_id, account_ids, end=simulation.timeline.end, vocab=vocab
    )
    # Products and channels draw from their own stream, after the simulation's.
    rng = np.random.default_rng([seed, 5, index])
    block_deals = block_deals.set_column(
        block_deals.schema.get_field_index("channel"), "channel", channels(rng, block_deals)
    )
    block_products = deal_products(rng, block_deals, deals["amount"])
    return DemoBlock(index, block_accounts, block_deals, block_history, block_products)


def accounts_table(accounts: dict, account_ids: np.ndarray, vocab: dict[str, pa.Array]) -> pa.Table:
    """The accounts of a block, named from their drawn parts and their region's suffixes."""
    n = len(account_ids)
    v = vocab
    seg = accounts["segment"][:n]
    region = accounts["region"][:n]
    industry = accounts["industry"][:n]
    first, second, suffix_draw = (a[:n] for a in accounts["name"])
    suffixes = pa.array([s for group in NAME_SUFFIX_BY_REGION for s in group])
    offsets = np.cumsum([0] + [len(g) for g in NAME_SUFFIX_BY_REGION])
    counts = np.diff(offsets)
    suffix = offsets[region] + suffix_draw % counts[region]
    name = pc.binary_join_element_wise(labels(v["first"], first), labels(v["second"], second), " ")
    name = pc.binary_join_element_wise(name, labels(suffixes, suffix), "")
    return pa.Table.from_arrays(
        [
            ids(account_ids),
            name,
            labels(v["segment"], seg),
            labels(v["region"], region),
            labels(v["industry"], np.maximum(industry, 0), industry >= 0),
            timestamps(accounts["created"][:n]),
        ],
        schema=ENTITIES["accounts"].schema,
    )


def deals_and_history(
    rng: np.random.Generator,
    d: dict[str, np.ndarray],
    first_id: int,
    account_ids: np.ndarray,
    *,
    end: int,
    vocab: dict[str, pa.Array],
) -> tuple[pa.Table, pa.Table]:
    """The deals of a block as the CRM shows them at `as_of`, and their stage history."""
    n = len(d["created"])
    kind, outcome = d["kind"], d["outcome"]
    renewal = kind == 1
    stale = outcome == 2
    closes = ~stale  # the deal has a close, maybe after as_of

    # Stage paths: from the entry stage to the stage it is won from or lost at.
    n_open_stages = np.where(renewal, len(RENEWAL_STAGES), len(NB_STAGES))
    base = np.where(renewal, RENEWAL_BASE, 0)
    lost_at = np.where(renewal, pick(rng, RENEWAL_LOST_AT_P, n), pick(rng, NB_LOST_AT_P, n))
    start = np.select([renewal, kind == 2], [0, 2], pick(rng, NB_START_P, n))
    target = np.where(outcome == 1, n_open_stages - 1, lost_at)
    target = np.where(stale, np.minimum(start + rng.integers(0, 3, n), n_open_stages - 2), target)
    start = np.minimum(start, target)

    # Each step forward may bounce back one stage and recover (two extra rows).
    steps = target - start + 1
    step_deal = np.repeat(np.arange(n), steps)
    step_first = np.repeat(np.cumsum(steps) - steps, steps)
    step_pos = np.arange(step_deal.size) - step_first
    bounces = np.minimum(rng.poisson(BOUNCE_RATE, step_deal.size), MAX_BOUNCES)
    bounces[step_pos == 0] = 0
    step_stage = base[step_deal] + start[step_deal] + step_pos
    rows_per_step = 1 + 2 * bounces
    entry_step = np.repeat(np.arange(step_deal.size), rows_per_step)
    entry_in_step = np.arange(entry_step.size) - np.repeat(
        np.cumsum(rows_per_step) - rows_per_step, rows_per_step
    )
    entry_stage = step_stage[entry_step] - (entry_in_step % 2)
    entry_deal = step_deal[entry_step]
    m = np.bincount(entry_deal, minlength=n)  # open-stage rows per deal
    rows = m + closes
    row_first = np.cumsum(rows) - rows
    total = int(rows.sum())
    row_deal = np.repeat(np.arange(n), rows)
    row_j = np.arange(total) - row_first[row_deal]
    row_stage = np.empty(total, dtype=np.int64)
    entry_j = np.arange(entry_deal.size) - np.repeat(np.cumsum(m) - m, m)
    row_stage[row_first[entry_deal] + entry_j] = entry_stage
    row_stage[row_first[closes] + m[closes]] = np.where(outcome[closes] == 1, WON_CODE, LOST_CODE)

    # Times: m exponential gaps per deal share the span from creation to the close
    # (to the last activity for a stale deal); +j keeps every row on its own second.
    gaps = np.cumsum(rng.exponential(1.0, int(m.sum())))
    gap_first = np.cumsum(m) - m
    before = np.where(gap_first > 0, gaps[np.maximum(gap_first - 1, 0)], 0.0)
    span_total = gaps[gap_first + m - 1] - before
    filled = np.zeros(total)
    later = row_j > 0
    filled[later] = gaps[gap_first[row_deal[later]] + row_j[later] - 1] - before[row_deal[later]]
    frac = filled / span_total[row_deal]
    duration = d["close"] - d["created"] - m
    entered = d["created"][row_deal] + np.floor(frac * duration[row_deal]).astype(np.int64) + row_j

    seen = entered < end  # cut at as_of: a prefix of each deal's rows
    kept = np.bincount(row_deal[seen], minlength=n)
    last_at = entered[row_first + kept - 1]
    closed = closes & (d["close"] < end)
    won = closed & (outcome == 1)
    lost = closed & (outcome == 0)
    status = np.select([won, lost], [1, 2], 0)
    stage = row_stage[row_first + kept - 1]

    touched = np.where(
        closed,
        d["close"] + rng.integers(0, 3 * DAY, n),
        last_at + np.where(stale, rng.integers(0, 5 * DAY, n), rng.exponential(4 * DAY, n)),
    ).astype(np.int64)
    updated = np.minimum(touched, end - 1)

    # Leads carry no amount yet, now and then.
    no_amount = (stage == 0) & (rng.random(n) < 0.3) & ~won
    no_amount |= lost & (target == 0) & (base == 0) & (rng.random(n) < 0.3)
    has_account = d["account"] >= 0
    contract = won & (d["mrr"] > 0) & has_account
    owned = (d["owner"] >= 0) & (rng.random(n) >= UNOWNED_P)
    deal_ids = ids(first_id + np.arange(n))
    v = vocab
    deals = pa.Table.from_arrays(
        [
            deal_ids,
            ids(account_ids[np.maximum(d["account"], 0)], has_account),
            ids(d["owner"] + 1, owned),
            labels(v["pipeline"], renewal.astype(np.int64)),
            labels(v["stage"], stage),
            labels(v["status"], status),
            decimal(d["amount"], MONEY, ~no_amount),
            labels(v["currency"], d["currency"]),
            timestamps(d["created"]),
            timestamps(d["close"], closed),
            timestamps(updated),
            labels(v["kind"], kind),
            dates(d["contract_start"], contract),
            dates(d["contract_end"], contract),
            decimal(d["mrr"], MONEY, contract),
            labels(v["reason"], np.maximum(d["reason"], 0), lost & (d["reason"] >= 0)),
            pa.nulls(n, pa.string()),  # channel: drawn after the simulation (products.py)
            pa.nulls(n, MONEY),  # cost: the demo's costs are on its products
        ],
        schema=ENTITIES["deals"].schema,
    )
    history = pa.Table.from_arrays(
        [
            deal_ids.take(pa.array(row_deal[seen])),
            labels(v["stage"], row_stage[seen]),
            timestamps(entered[seen]),
        ],
        schema=ENTITIES["stage_history"].schema,
    )
    return deals, history
