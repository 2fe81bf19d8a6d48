"""The deals as the CRM stood at the end of as_of, their amounts in the reporting currency
and their scopes, and the months the KPIs are computed for.

Separate because every deal metric and every account metric starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.pandas_kpis.arrays import (
    Scopes,
    cents,
    day_numbers,
    local_days,
    month,
    month_start,
    scope_codes,
    times_rate,
)
from bench.pandas_kpis.inputs import NEVER, NONE, PandasKpiError, RunSettings


@dataclass(frozen=True)
class DealFrame:
    """The deals kept as of the day, one array element per deal (row of `deals`)."""

    deals: pd.DataFrame
    as_of: np.int64  # day number
    created: np.ndarray  # local day numbers
    closed: np.ndarray  # local day numbers; NEVER when open as of the day
    status: np.ndarray
    deal_ids: np.ndarray  # "<source>:<deal_id>"
    account: np.ndarray  # "<source>:<account_id>", None without an account
    has_account: np.ndarray
    amount: np.ndarray  # cents in the reporting currency
    mrr: np.ndarray  # cents in the reporting currency
    per_deal: dict[str, np.ndarray]  # scope type -> each deal's value
    scopes: Scopes
    account_key: np.ndarray  # every account, "<source>:<account_id>"
    segment_of: pd.Series  # account key -> segment
    region_of: pd.Series  # account key -> region


@dataclass(frozen=True)
class Periods:
    """The months from the first creation through as_of."""

    first_month: np.int64
    n: int
    starts: np.ndarray  # day numbers of the months' first days
    next_starts: np.ndarray
    snapshot: np.ndarray  # the pipeline snapshot day of each month
    complete: np.ndarray  # the month ended on or before as_of


def deals_as_of(tables: dict[str, pd.DataFrame], settings: RunSettings) -> DealFrame:
    """The deals of `tables` as of `settings.as_of`, with their amounts and scopes."""
    src = settings.source
    as_of = np.int64((np.datetime64(settings.as_of, "D")).astype(np.int64))
    tz = settings.timezone

    # deals as the CRM stood at the end of as_of
    raw = tables["deals"]
    created = local_days(raw["created_at"], tz)
    kept = created <= as_of
    deals = raw[kept].reset_index(drop=True)
    created = created[kept]
    closed = local_days(deals["closed_at"], tz)
    closed_later = (closed != NEVER) & (closed > as_of)
    closed = np.where(closed_later, NEVER, closed)
    status = np.where(closed_later, "open", deals["status"].to_numpy(dtype=object))
    n_deals = len(deals)
    deal_ids = (src + ":" + deals["deal_id"].astype(str)).to_numpy()

    # amounts in the reporting currency, exact to the cent
    fx_day = np.where(np.isin(status, ("won", "lost")) & (closed != NEVER), closed, created)
    currency = deals["currency"].str.upper().to_numpy(dtype=object)
    rate = np.full(n_deals, -1, dtype=np.int64)
    rate[currency == settings.reporting_currency] = 10**8
    fx = tables["fx_rates"]
    if len(fx):
        rates = pd.DataFrame(
            {
                "day": day_numbers(fx["date"]),
                "currency": fx["currency"].str.upper(),
                "rate": np.round(pd.to_numeric(fx["rate"]).to_numpy(float) * 1e8).astype(np.int64),
            }
        ).sort_values("day")
        foreign = np.flatnonzero(rate < 0)
        wanted = pd.DataFrame(
            {"row": foreign, "day": fx_day[foreign], "currency": currency[foreign]}
        ).sort_values("day")
        found = pd.merge_asof(wanted, rates, on="day", by="currency")
        rate[found["row"].to_numpy()] = found["rate"].fillna(-1).to_numpy(np.int64)
    if (rate < 0).any():
        row = int(np.flatnonzero(rate < 0)[0])
        raise PandasKpiError(
            f"deal {deal_ids[row]}: no {currency[row]} rate on or before day {fx_day[row]} "
            "in fx_rates"
        )
    amount = times_rate(cents(deals["amount"]), rate, 10**8)
    mrr = times_rate(cents(deals["mrr"]), rate, 10**8) if "mrr" in deals else np.zeros(n_deals)

    # scopes of each deal, and every value the warehouse knows
    owners = tables["owners"]
    accounts = tables["accounts"]
    owner_key = (src + ":" + owners["owner_id"].astype(str)).to_numpy()
    team_of = pd.Series(owners["team"].fillna(NONE).to_numpy(), index=owner_key)
    account_key = (src + ":" + accounts["account_id"].astype(str)).to_numpy()
    segment_of = pd.Series(accounts["segment"].fillna(NONE).to_numpy(), index=account_key)
    region_of = pd.Series(accounts["region"].fillna(NONE).to_numpy(), index=account_key)
    owner = np.where(deals["owner_id"].isna(), NONE, src + ":" + deals["owner_id"].astype(str))
    account = np.where(
        deals["account_id"].isna(), None, src + ":" + deals["account_id"].astype(str)
    )
    account_series = pd.Series(account)
    per_deal = {
        "company": np.full(n_deals, "all", dtype=object),
        "owner": owner.astype(object),
        "team": team_of.reindex(owner).fillna(NONE).to_numpy(dtype=object),
        "segment": segment_of.reindex(account_series).fillna(NONE).to_numpy(dtype=object),
        "region": region_of.reindex(account_series).fillna(NONE).to_numpy(dtype=object),
        "pipeline": deals["pipeline"].fillna(NONE).to_numpy(dtype=object),
        "channel": (
            deals["channel"].replace("", None).fillna(NONE).to_numpy(dtype=object)
            if "channel" in deals
            else np.full(n_deals, NONE, dtype=object)
        ),
    }
    stages = tables["stages"]
    deal_scopes = scope_codes(
        per_deal,
        {
            "owner": set(owner_key),
            "team": set(team_of),
            "segment": set(segment_of),
            "region": set(region_of),
            "pipeline": set(stages["pipeline"].dropna()),
            "channel": set(),
        },
    )
    return DealFrame(
        deals=deals,
        as_of=as_of,
        created=created,
        closed=closed,
        status=status,
        deal_ids=deal_ids,
        account=account,
        has_account=account_series.notna().to_numpy(),
        amount=amount,
        mrr=mrr,
        per_deal=per_deal,
        scopes=deal_scopes,
        account_key=account_key,
        segment_of=segment_of,
        region_of=region_of,
    )


def months_of(frame: DealFrame) -> Periods:
    """The periods: months from the first creation through as_of."""
    first_month = month(np.array([frame.created.min()]))[0]
    months = np.arange(first_month, month(np.array([frame.as_of]))[0] + 1)
    next_starts = month_start(months + 1)
    return Periods(
        first_month=first_month,
        n=len(months),
        starts=month_start(months),
        next_starts=next_starts,
        snapshot=np.minimum(next_starts - 1, frame.as_of),
        complete=next_starts - 1 <= frame.as_of,
    )
