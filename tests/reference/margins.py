"""The reference's reading of deal costs (docs/metrics.md, "Margin, customers and
shares"), for tests: each deal's cost and gross margin in the reporting currency.

A deal's cost is its own `cost` when the export gives one; else the sum of its product
lines' costs, a line without cost counting (1 - gross margin) of its converted amount;
a deal without lines costs (1 - gross margin) of its converted amount. Lines convert at
the deal's rate day: at the deal's rate when in the deal's currency, else at their own
currency's latest rate on or before that day.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal

import pandas as pd

RateLookup = Callable[[str, date, str], Decimal]  # (currency, day, label) -> rate


def deal_costs(
    deals: pd.DataFrame,
    products: pd.DataFrame | None,
    source: str,
    rate: RateLookup,
    gross_margin: Decimal,
    money_times: Callable[[Decimal, Decimal], Decimal],
    to_decimal: Callable[[object, str], Decimal | None],
) -> pd.DataFrame:
    """`deals` with cost_reporting and margin_reporting (Decimal) added."""
    lines_of: dict[str, list[tuple[str, Decimal, Decimal | None]]] = {}
    if products is not None and len(products):
        for i, row in enumerate(products.itertuples()):
            where = f"deal_products row {i}"
            deal = f"{source}:{str(row.deal_id).strip()}"
            amount = to_decimal(row.amount, f"{where}, column 'amount'")
            cost = to_decimal(getattr(row, "cost", None), f"{where}, column 'cost'")
            currency = str(row.currency).strip().upper()
            lines_of.setdefault(deal, []).append((currency, amount or Decimal(0), cost))
    unknown_cost = 1 - gross_margin
    costs = []
    for deal in deals.itertuples():
        deal_rate = deal.fx_rate
        if deal.cost is not None:
            costs.append(money_times(deal.cost, deal_rate))
            continue
        lines = lines_of.get(deal.opportunity_id)
        if not lines:
            costs.append(money_times(deal.amount_reporting, unknown_cost))
            continue
        total = Decimal(0)
        for currency, amount, cost in lines:
            line_rate = (
                deal_rate if currency == deal.currency else rate(currency, deal.fx_date, deal.label)
            )
            amount_reporting = money_times(amount, line_rate)
            total += (
                money_times(cost, line_rate)
                if cost is not None
                else money_times(amount_reporting, unknown_cost)
            )
        costs.append(total)
    deals = deals.copy()
    deals["cost_reporting"] = pd.Series(costs, index=deals.index, dtype=object)
    deals["margin_reporting"] = pd.Series(
        [a - c for a, c in zip(deals["amount_reporting"], costs, strict=True)],
        index=deals.index,
        dtype=object,
    )
    return deals


def products_table(tables: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame | None:
    table = tables.get("deal_products")
    return None if table is None else table
