"""The account KPIs at month grain for the account scope types: churn rate, arpa and ltv, from
the won deals' contracts merged into unbroken active runs per account.

Separate from the deal KPIs because these count accounts and their contracts, not deals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.pandas_kpis.arrays import (
    Grids,
    Scopes,
    covering,
    day_numbers,
    month,
    put,
    scope_codes,
    sort_codes,
)
from bench.pandas_kpis.deals import DealFrame, Periods
from bench.pandas_kpis.inputs import ACCOUNT_SCOPE_TYPES, NEVER, RunSettings


def account_metrics(frame: DealFrame, periods: Periods, settings: RunSettings) -> Grids:
    """churn_rate, arpa and ltv's grids (scope value x month) for every account scope type."""
    results: Grids = {}
    deals, account = frame.deals, frame.account
    n, first_month, starts = periods.n, periods.first_month, periods.starts
    next_starts, complete = periods.next_starts, periods.complete

    # accounts: contracts, unbroken active runs, churn, arpa, ltv
    is_contract = (
        (frame.status == "won")
        & frame.has_account
        & deals["contract_start"].notna().to_numpy()
        & deals["contract_end"].notna().to_numpy()
    )
    c_rows = np.flatnonzero(is_contract)
    c_start = day_numbers(deals["contract_start"])[c_rows]
    c_end = day_numbers(deals["contract_end"])[c_rows]
    valid = c_end >= c_start
    c_rows, c_start, c_end = c_rows[valid], c_start[valid], c_end[valid]
    c_account = account[c_rows]
    order = np.lexsort((c_end, c_start, sort_codes(c_account)))
    c_rows, c_start, c_end, c_account = (
        c_rows[order],
        c_start[order],
        c_end[order],
        c_account[order],
    )
    new_account = np.ones(len(c_rows), dtype=bool)
    new_account[1:] = c_account[1:] != c_account[:-1]
    covered = pd.Series(c_end).groupby(np.cumsum(new_account)).cummax().to_numpy()
    covered_before = np.where(new_account, -NEVER, np.roll(covered, 1))
    starts_run = new_account | (c_start > covered_before + 1)
    run_id = np.cumsum(starts_run) - 1
    runs = pd.DataFrame({"run": run_id, "account": c_account, "start": c_start, "end": c_end})
    runs = runs.groupby("run").agg(
        account=("account", "first"), start=("start", "min"), end=("end", "max")
    )
    r_account = runs["account"].to_numpy(dtype=object)
    r_start, r_end = runs["start"].to_numpy(), runs["end"].to_numpy()

    per_account = {
        "company": np.full(len(frame.account_key), "all", dtype=object),
        "segment": frame.segment_of.to_numpy(dtype=object),
        "region": frame.region_of.to_numpy(dtype=object),
    }
    # account scope universes: the accounts' values and those the deals carry
    account_scopes = scope_codes(
        per_account, {t: set(frame.scopes.values[t]) for t in ACCOUNT_SCOPE_TYPES}
    )
    account_row = pd.Index(frame.account_key)
    run_owner = account_row.get_indexer(r_account)
    contract_owner = account_row.get_indexer(c_account)

    # churned: a run covering the month's first day ends in the month, and no later run of
    # the account covers the next month's first day
    p_run_end = month(r_end) - first_month
    in_range = (p_run_end >= 0) & (p_run_end < n)
    candidate = np.flatnonzero(in_range)
    candidate = candidate[r_start[candidate] <= starts[p_run_end[candidate]]]
    after = next_starts[p_run_end[candidate]]
    lookup = pd.DataFrame(
        {"account": r_account[candidate], "day": after, "i": candidate}
    ).sort_values("day")
    table = pd.DataFrame({"account": r_account, "day": r_start, "run_end": r_end}).sort_values(
        "day"
    )
    found = pd.merge_asof(lookup, table, on="day", by="account")
    still_active = found["run_end"].fillna(-1).to_numpy() >= found["day"].to_numpy()
    churned = found["i"].to_numpy()[~still_active]

    for scope_type in ACCOUNT_SCOPE_TYPES:
        codes = account_scopes.codes[scope_type]
        width = len(account_scopes.values[scope_type])
        scoped = Scopes({scope_type: codes[run_owner]}, account_scopes.values)
        first = np.searchsorted(starts, r_start, side="left")
        end = np.searchsorted(starts, r_end, side="right")
        active = covering(
            scoped, scope_type, np.arange(len(r_start)), first, end, n, np.ones(len(r_start))
        )
        scoped_contracts = Scopes({scope_type: codes[contract_owner]}, account_scopes.values)
        active_mrr = (
            covering(
                scoped_contracts,
                scope_type,
                np.arange(len(c_rows)),
                np.searchsorted(starts, c_start, side="left"),
                np.searchsorted(starts, c_end, side="right"),
                n,
                frame.mrr[c_rows].astype(float),
            )
            / 100
        )
        churn_count = np.bincount(
            codes[run_owner][churned] * n + p_run_end[churned], minlength=width * n
        ).reshape(width, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            churn = np.where(complete & (active > 0), churn_count / active, np.nan)
            arpa = np.where(active > 0, active_mrr / active, np.nan)
        put(results, "churn_rate", scope_type, churn, account_scopes)
        put(results, "arpa", scope_type, arpa, account_scopes)
        window = pd.DataFrame(churn.T).rolling(12, min_periods=1).mean().to_numpy().T
        with np.errstate(invalid="ignore", divide="ignore"):
            ltv = np.where(window > 0, arpa * settings.gross_margin / window, np.nan)
        put(results, "ltv", scope_type, ltv, account_scopes)
    return results
