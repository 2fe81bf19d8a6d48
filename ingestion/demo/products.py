"""The products (line items) and acquisition channels of the demo CRM's deals.

Apart from the lifecycle simulation because they are drawn after it, from their own
random stream: adding them left every deal, amount and date of earlier demos as it was.
A deal's lines split its amount exactly (to the cent), so the products of a deal add up
to the deal; a deal without amount, and a few others, have no line.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo.arrays import decimal, labels
from ingestion.demo.parameters import (
    CHANNEL_P,
    CHANNELS,
    EXISTING_CUSTOMER,
    MAX_LINES,
    NO_CHANNEL_P,
    NO_LINES_P,
    PRODUCTS,
)
from ingestion.files.contract import ENTITIES, QUANTITY


def channels(rng: np.random.Generator, deals: pa.Table) -> pa.Array:
    """Each deal's channel: drawn for new business, "Existing customer" otherwise."""
    n = deals.num_rows
    vocab = pa.array((*CHANNELS, EXISTING_CUSTOMER))
    drawn = np.searchsorted(np.cumsum(CHANNEL_P), rng.random(n) * sum(CHANNEL_P), side="right")
    drawn = np.minimum(drawn, len(CHANNELS) - 1)
    new_business = pc.equal(deals["deal_type"], "new_business").to_numpy(zero_copy_only=False)
    code = np.where(new_business, drawn, len(CHANNELS))
    return labels(vocab, code, rng.random(n) >= NO_CHANNEL_P)


def deal_products(rng: np.random.Generator, deals: pa.Table, cents: np.ndarray) -> pa.Table:
    """The line items of `deals` (whose amounts are `cents`, null or not): distinct
    products per deal, splitting its amount."""
    has_amount = pc.is_valid(deals["amount"]).to_numpy(zero_copy_only=False)
    n_lines = 1 + rng.binomial(MAX_LINES - 1, 0.5, deals.num_rows)
    n_lines[~has_amount | (rng.random(deals.num_rows) < NO_LINES_P)] = 0

    # Weighted draws without replacement: the largest keys u ** (1 / weight) win.
    weights = np.array([p[4] for p in PRODUCTS])
    keys = rng.random((deals.num_rows, len(PRODUCTS))) ** (1 / weights)
    ranked = np.argsort(-keys, axis=1)
    line_deal = np.repeat(np.arange(deals.num_rows), n_lines)
    line_rank = np.arange(line_deal.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    product = ranked[line_deal, line_rank]

    # Split each deal's cents by random shares; the first line takes the remainder.
    share = rng.gamma(2.0, 1.0, line_deal.size)
    total_share = np.bincount(line_deal, share, minlength=deals.num_rows)
    line_cents = np.floor(cents[line_deal] * share / total_share[line_deal]).astype(np.int64)
    remainder = cents - np.bincount(line_deal, line_cents, minlength=deals.num_rows).astype(
        np.int64
    )
    first = line_rank == 0
    line_cents[first] += remainder[line_deal[first]]
    quantity = 1 + rng.poisson(2.0, line_deal.size)
    unit_cents = np.rint(line_cents / quantity).astype(np.int64)

    ratio = np.array([np.nan if p[3] is None else p[3] for p in PRODUCTS])[product]
    has_cost = ~np.isnan(ratio)
    noise = np.exp(rng.normal(0, 0.1, line_deal.size))
    cost_cents = np.rint(np.nan_to_num(ratio) * noise * line_cents).astype(np.int64)

    take = pa.array(line_deal)
    product_ids, names, families = (pa.array([p[i] for p in PRODUCTS]) for i in range(3))
    return pa.Table.from_arrays(
        [
            deals["deal_id"].take(take),
            labels(product_ids, product),
            labels(names, product),
            labels(families, product),
            decimal(quantity * 10_000, QUANTITY),
            decimal(unit_cents, ENTITIES["deal_products"].column("unit_price").type),
            decimal(line_cents, ENTITIES["deal_products"].column("amount").type),
            deals["currency"].take(take),
            decimal(cost_cents, ENTITIES["deal_products"].column("cost").type, has_cost),
        ],
        schema=ENTITIES["deal_products"].schema,
    )
