"""The deal KPIs at month grain for every scope type: won, lost and created deals, win rate,
won revenue, average deal size, sales cycle, new customers, and the pipeline value and
weighted pipeline value of the deals open at each month's snapshot.

Separate from the account KPIs (churn, arpa, ltv), which count contracts, not deals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.pandas_kpis.arrays import (
    Grids,
    covering,
    grid,
    instants,
    local_days,
    month,
    put,
    sort_codes,
    times_rate,
)
from bench.pandas_kpis.deals import DealFrame, Periods
from bench.pandas_kpis.inputs import NEVER, SCOPE_TYPES, RunSettings


def first_wins(frame: DealFrame) -> np.ndarray:
    """The first won deal of each account: earliest closed_at, ties by id."""
    status, account, deal_ids = frame.status, frame.account, frame.deal_ids
    won_with_account = np.flatnonzero((status == "won") & frame.has_account)
    closed_at = instants(frame.deals["closed_at"])
    order = np.lexsort(
        (
            sort_codes(deal_ids[won_with_account]),
            closed_at[won_with_account],
            sort_codes(account[won_with_account]),
        )
    )
    ranked = won_with_account[order]
    first_of_account = np.ones(len(ranked), dtype=bool)
    first_of_account[1:] = account[ranked][1:] != account[ranked][:-1]
    wins = ranked[first_of_account]
    return wins[frame.closed[wins] != NEVER]


def stage_intervals(
    frame: DealFrame, periods: Periods, tables: dict[str, pd.DataFrame], settings: RunSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stage intervals [valid_from, valid_to) from the stage history up to as_of: each
    interval's deal, weighted amount (cents), and its span of snapshots [first, end)."""
    src, as_of, created, closed = settings.source, frame.as_of, frame.created, frame.closed
    history = tables["stage_history"]
    stages = tables["stages"]
    deal_of = pd.Index(frame.deal_ids).get_indexer(src + ":" + history["deal_id"].astype(str))
    entered = local_days(history["entered_at"], settings.timezone)
    keep = (deal_of >= 0) & (entered <= as_of)
    h_deal = deal_of[keep]
    h_entered_at = instants(history["entered_at"])[keep]
    h_stage = history["stage"].to_numpy(dtype=object)[keep]
    h_entered = entered[keep]
    order = np.lexsort((sort_codes(h_stage), h_entered_at, h_deal))
    h_deal, h_stage, h_entered = h_deal[order], h_stage[order], h_entered[order]
    first_row = np.ones(len(h_deal), dtype=bool)
    first_row[1:] = h_deal[1:] != h_deal[:-1]
    last_row = np.ones(len(h_deal), dtype=bool)
    last_row[:-1] = first_row[1:]
    next_entered = np.where(last_row, NEVER, np.roll(h_entered, -1))
    valid_from = np.where(first_row, created[h_deal], np.maximum(h_entered, created[h_deal]))
    valid_to = np.minimum(next_entered, closed[h_deal])
    no_history = np.setdiff1d(np.arange(len(frame.deals)), h_deal)
    i_deal = np.concatenate([h_deal, no_history])
    i_stage = np.concatenate([h_stage, frame.deals["stage"].to_numpy(dtype=object)[no_history]])
    i_from = np.concatenate([valid_from, created[no_history]])
    i_to = np.concatenate([valid_to, closed[no_history]])
    real = i_from < i_to
    i_deal, i_stage, i_from, i_to = i_deal[real], i_stage[real], i_from[real], i_to[real]
    probability = pd.Series(
        np.round(pd.to_numeric(stages["probability"]).to_numpy(float) * 10**4).astype(np.int64),
        index=pd.MultiIndex.from_arrays([stages["pipeline"], stages["stage"]]),
    )
    probability = probability[~probability.index.duplicated()]
    i_probability = (
        probability.reindex(
            pd.MultiIndex.from_arrays([frame.per_deal["pipeline"][i_deal], i_stage])
        )
        .fillna(0)
        .to_numpy(np.int64)
    )
    weighted = times_rate(frame.amount[i_deal], i_probability, 10**4)
    p_interval_first = np.searchsorted(periods.snapshot, i_from, side="left")
    p_interval_end = np.searchsorted(periods.snapshot, i_to, side="left")
    return i_deal, weighted, p_interval_first, p_interval_end


def deal_metrics(
    frame: DealFrame, periods: Periods, tables: dict[str, pd.DataFrame], settings: RunSettings
) -> Grids:
    """Every deal KPI's grid (scope value x month) for every scope type."""
    results: Grids = {}
    scopes, status, closed, created = frame.scopes, frame.status, frame.closed, frame.created
    amount, n, first_month = frame.amount, periods.n, periods.first_month
    won = np.flatnonzero((status == "won") & (closed != NEVER))
    lost = np.flatnonzero((status == "lost") & (closed != NEVER))
    all_rows = np.arange(len(frame.deals))
    p_created = month(created) - first_month
    p_closed = np.where(closed != NEVER, month(np.minimum(closed, frame.as_of)) - first_month, 0)
    cycle = (closed - created).astype(float)
    wins = first_wins(frame)

    # open deals at each snapshot: created_date <= s < max(closed_date, created_date)
    open_end = np.maximum(closed, created)
    p_open_first = np.searchsorted(periods.snapshot, created, side="left")
    p_open_end = np.searchsorted(periods.snapshot, open_end, side="left")
    i_deal, weighted, p_interval_first, p_interval_end = stage_intervals(
        frame, periods, tables, settings
    )

    for scope_type in SCOPE_TYPES:
        won_count = grid(scopes, scope_type, won, p_closed[won], n)
        lost_count = grid(scopes, scope_type, lost, p_closed[lost], n)
        revenue = grid(scopes, scope_type, won, p_closed[won], n, amount[won].astype(float))
        put(results, "won_deals", scope_type, won_count, scopes)
        put(results, "lost_deals", scope_type, lost_count, scopes)
        put(results, "won_revenue", scope_type, revenue / 100, scopes)
        deals_created = grid(scopes, scope_type, all_rows, p_created, n)
        put(results, "deals_created", scope_type, deals_created, scopes)
        closed_count = won_count + lost_count
        with np.errstate(invalid="ignore", divide="ignore"):
            win_rate = np.where(closed_count > 0, won_count / closed_count, np.nan)
            put(results, "win_rate", scope_type, win_rate, scopes)
            avg_deal = np.where(won_count > 0, revenue / 100 / won_count, np.nan)
            put(results, "avg_deal_size", scope_type, avg_deal, scopes)
        width = len(scopes.values[scope_type])
        medians = (
            pd.Series(cycle[won])
            .groupby(scopes.codes[scope_type][won] * n + p_closed[won])
            .median()
        )
        median_grid = np.full(width * n, np.nan)
        median_grid[medians.index.to_numpy()] = medians.to_numpy()
        put(results, "sales_cycle_days", scope_type, median_grid.reshape(width, n), scopes)
        new_customers = grid(scopes, scope_type, wins, p_closed[wins], n)
        put(results, "new_customers", scope_type, new_customers, scopes)
        pipeline = covering(
            scopes, scope_type, all_rows, p_open_first, p_open_end, n, amount.astype(float)
        )
        put(results, "pipeline_value", scope_type, pipeline / 100, scopes)
        weighted_pipeline = covering(
            scopes,
            scope_type,
            i_deal,
            p_interval_first,
            p_interval_end,
            n,
            weighted.astype(float),
        )
        put(results, "weighted_pipeline_value", scope_type, weighted_pipeline / 100, scopes)
    return results
