"""The KPIs of DESIGN.md at month grain, every metric and scope, in plain pandas/numpy.

The "is it worth it over a pandas script?" side of `pandas_vs_marts`: what an analyst
fluent in pandas would write against the same raw tables (`raw_files.*` of the build
file), vectorised (no Python loop over deals), money in integer cents so sums are exact.
It follows the rules of the marts (DESIGN.md and the dbt models): the as-of cut, local
dates in the reporting timezone, conversion at the latest rate on or before the close
(creation while open) date rounded half up to the cent, scope universes, pipeline
snapshots at t = min(next period start, as_of + 1 day) with the stage each deal was in,
active runs of accounts for churn and arpa, ltv over the complete months m-11..m.

`compare` checks its result against `marts.kpi_values` (month rows), so the benchmark
times a script that computes the same numbers, not a simpler problem.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError
from core.db import connect

NONE = "(none)"
NEVER = np.int64(10**9)  # the day number of "not closed": after every real day
SCOPE_TYPES = ("company", "owner", "team", "segment", "region", "pipeline")
ACCOUNT_SCOPE_TYPES = ("company", "segment", "region")
RAW_TABLES = ("deals", "stage_history", "accounts", "owners", "stages", "fx_rates")
TOLERANCE = 1e-6  # relative, between this script's doubles and the marts' doubles


class PandasKpiError(BenchError):
    """The raw tables cannot give the KPIs (a missing rate, say); the message says which."""


@dataclass(frozen=True)
class RunSettings:
    as_of: date
    timezone: str = "UTC"
    reporting_currency: str = "EUR"
    gross_margin: float = 1.0
    source: str = "files"


def read_inputs(
    build_db: Path, source: str = "files"
) -> tuple[dict[str, pd.DataFrame], RunSettings]:
    """The raw tables of `source` and the run's settings, from a pipeline's build file."""
    con = connect(build_db, read_only=True)
    try:
        tables = {}
        for name in RAW_TABLES:
            frame = con.execute(f"SELECT * FROM raw_{source}.{name}").df()
            tables[name] = frame[[c for c in frame.columns if not c.startswith("_dlt")]]
        as_of, zone, currency, margin = con.execute(
            "SELECT as_of, timezone, reporting_currency, gross_margin FROM raw_run.run_context"
        ).fetchone()
    finally:
        con.close()
    return tables, RunSettings(as_of, zone, currency, float(margin), source)


# -- dates as day numbers (days since 1970-01-01), months as month numbers ----------------


def _local_days(timestamps: pd.Series, tz: str) -> np.ndarray:
    """Local calendar day numbers of UTC timestamps; NEVER where null."""
    series = pd.to_datetime(timestamps, utc=True)
    local = series.dt.tz_convert(zoneinfo.ZoneInfo(tz)).dt.tz_localize(None)
    days = local.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(series.isna().to_numpy(), NEVER, days)


def _day_numbers(values: pd.Series) -> np.ndarray:
    days = pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(values.isna().to_numpy(), NEVER, days)


def _instants(timestamps: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds (for ordering; NaT sorts last)."""
    series = pd.to_datetime(timestamps, utc=True).dt.tz_localize(None)
    values = series.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return np.where(series.isna().to_numpy(), np.iinfo(np.int64).max, values)


def _sort_codes(values: np.ndarray) -> np.ndarray:
    """Integer codes that sort as the values do (lexsort is slow on Python strings)."""
    return pd.factorize(values, sort=True)[0]


def _month(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _cents(values: pd.Series) -> np.ndarray:
    """DECIMAL(18,2) values as integer cents (null as 0)."""
    return np.round(pd.to_numeric(values).fillna(0).to_numpy(dtype=float) * 100).astype(np.int64)


def _times_rate(cents: np.ndarray, factor: np.ndarray, scale: int) -> np.ndarray:
    """round(cents x factor / scale) half away from zero, in exact integers."""
    product = cents * factor
    return np.sign(product) * ((np.abs(product) + scale // 2) // scale)


# -- the script ----------------------------------------------------------------------------


@dataclass
class _Scopes:
    codes: dict[str, np.ndarray]  # scope type -> each row's code in `values`
    values: dict[str, list[str]]  # scope type -> the universe of values


def _scopes(per_row: dict[str, np.ndarray], extra: dict[str, set[str]]) -> _Scopes:
    codes, values = {}, {}
    for scope_type, row_values in per_row.items():
        universe = sorted(set(pd.unique(row_values)) | extra.get(scope_type, set()))
        codes[scope_type] = pd.Index(universe).get_indexer(row_values)
        values[scope_type] = universe
    return _Scopes(codes, values)


def _grid(
    scopes: _Scopes, scope_type: str, rows: np.ndarray, periods: np.ndarray, n: int, weights=None
):
    """Sum of `weights` (or counts) per (scope value, period) of the rows selected."""
    width = len(scopes.values[scope_type])
    keys = scopes.codes[scope_type][rows] * n + periods
    return np.bincount(keys, weights=weights, minlength=width * n).reshape(width, n)


def _covering(
    scopes: _Scopes,
    scope_type: str,
    rows: np.ndarray,
    first: np.ndarray,
    end: np.ndarray,
    n: int,
    weights: np.ndarray,
) -> np.ndarray:
    """Per (scope value, period): the sum of `weights` of the rows whose span of periods
    [first, end) holds the period (a +/- event per row, cumulated over the periods)."""
    width = len(scopes.values[scope_type])
    codes = scopes.codes[scope_type][rows]
    changes = np.bincount(codes * (n + 1) + first, weights=weights, minlength=width * (n + 1))
    changes -= np.bincount(codes * (n + 1) + end, weights=weights, minlength=width * (n + 1))
    return np.cumsum(changes.reshape(width, n + 1), axis=1)[:, :n]


def month_kpis(tables: dict[str, pd.DataFrame], settings: RunSettings) -> pd.DataFrame:
    """Every KPI at month grain for every scope: metric, period_start, scope_type,
    scope_value, value (NaN where the marts hold null)."""
    src = settings.source
    as_of = np.int64((np.datetime64(settings.as_of, "D")).astype(np.int64))
    tz = settings.timezone

    # deals as the CRM stood at the end of as_of
    raw = tables["deals"]
    created = _local_days(raw["created_at"], tz)
    kept = created <= as_of
    deals = raw[kept].reset_index(drop=True)
    created = created[kept]
    closed = _local_days(deals["closed_at"], tz)
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
                "day": _day_numbers(fx["date"]),
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
    amount = _times_rate(_cents(deals["amount"]), rate, 10**8)
    mrr = _times_rate(_cents(deals["mrr"]), rate, 10**8) if "mrr" in deals else np.zeros(n_deals)

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
    }
    stages = tables["stages"]
    scopes = _scopes(
        per_deal,
        {
            "owner": set(owner_key),
            "team": set(team_of),
            "segment": set(segment_of),
            "region": set(region_of),
            "pipeline": set(stages["pipeline"].dropna()),
        },
    )

    # the periods: months from the first creation through as_of
    first_month = _month(np.array([created.min()]))[0]
    months = np.arange(first_month, _month(np.array([as_of]))[0] + 1)
    n = len(months)
    starts = _month_start(months)
    next_starts = _month_start(months + 1)
    snapshot = np.minimum(next_starts - 1, as_of)
    complete = next_starts - 1 <= as_of

    # metric -> scope type -> (the scope values, their grid of values by period)
    results: dict[str, dict[str, tuple[list[str], np.ndarray]]] = {}

    def put(metric: str, scope_type: str, grid: np.ndarray, universe: _Scopes = scopes) -> None:
        results.setdefault(metric, {})[scope_type] = (universe.values[scope_type], grid)

    won = np.flatnonzero((status == "won") & (closed != NEVER))
    lost = np.flatnonzero((status == "lost") & (closed != NEVER))
    all_rows = np.arange(n_deals)
    p_created = _month(created) - first_month
    p_closed = np.where(closed != NEVER, _month(np.minimum(closed, as_of)) - first_month, 0)
    cycle = (closed - created).astype(float)

    # first won deal of each account: earliest closed_at, ties by id
    won_with_account = np.flatnonzero((status == "won") & (account_series.notna().to_numpy()))
    closed_at = _instants(deals["closed_at"])
    order = np.lexsort(
        (
            _sort_codes(deal_ids[won_with_account]),
            closed_at[won_with_account],
            _sort_codes(account[won_with_account]),
        )
    )
    ranked = won_with_account[order]
    first_of_account = np.ones(len(ranked), dtype=bool)
    first_of_account[1:] = account[ranked][1:] != account[ranked][:-1]
    first_wins = ranked[first_of_account]
    first_wins = first_wins[closed[first_wins] != NEVER]

    # open deals at each snapshot: created_date <= s < max(closed_date, created_date)
    open_end = np.maximum(closed, created)
    p_open_first = np.searchsorted(snapshot, created, side="left")
    p_open_end = np.searchsorted(snapshot, open_end, side="left")

    # stage intervals [valid_from, valid_to) from the stage history up to as_of
    history = tables["stage_history"]
    deal_of = pd.Index(deal_ids).get_indexer(src + ":" + history["deal_id"].astype(str))
    entered = _local_days(history["entered_at"], tz)
    keep = (deal_of >= 0) & (entered <= as_of)
    h_deal = deal_of[keep]
    h_entered_at = _instants(history["entered_at"])[keep]
    h_stage = history["stage"].to_numpy(dtype=object)[keep]
    h_entered = entered[keep]
    order = np.lexsort((_sort_codes(h_stage), h_entered_at, h_deal))
    h_deal, h_stage, h_entered = h_deal[order], h_stage[order], h_entered[order]
    first_row = np.ones(len(h_deal), dtype=bool)
    first_row[1:] = h_deal[1:] != h_deal[:-1]
    last_row = np.ones(len(h_deal), dtype=bool)
    last_row[:-1] = first_row[1:]
    next_entered = np.where(last_row, NEVER, np.roll(h_entered, -1))
    valid_from = np.where(first_row, created[h_deal], np.maximum(h_entered, created[h_deal]))
    valid_to = np.minimum(next_entered, closed[h_deal])
    no_history = np.setdiff1d(all_rows, h_deal)
    i_deal = np.concatenate([h_deal, no_history])
    i_stage = np.concatenate([h_stage, deals["stage"].to_numpy(dtype=object)[no_history]])
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
        probability.reindex(pd.MultiIndex.from_arrays([per_deal["pipeline"][i_deal], i_stage]))
        .fillna(0)
        .to_numpy(np.int64)
    )
    weighted = _times_rate(amount[i_deal], i_probability, 10**4)
    p_interval_first = np.searchsorted(snapshot, i_from, side="left")
    p_interval_end = np.searchsorted(snapshot, i_to, side="left")

    for scope_type in SCOPE_TYPES:
        won_count = _grid(scopes, scope_type, won, p_closed[won], n)
        lost_count = _grid(scopes, scope_type, lost, p_closed[lost], n)
        revenue = _grid(scopes, scope_type, won, p_closed[won], n, amount[won].astype(float))
        put("won_deals", scope_type, won_count)
        put("lost_deals", scope_type, lost_count)
        put("won_revenue", scope_type, revenue / 100)
        put("deals_created", scope_type, _grid(scopes, scope_type, all_rows, p_created, n))
        closed_count = won_count + lost_count
        with np.errstate(invalid="ignore", divide="ignore"):
            put(
                "win_rate", scope_type, np.where(closed_count > 0, won_count / closed_count, np.nan)
            )
            put(
                "avg_deal_size",
                scope_type,
                np.where(won_count > 0, revenue / 100 / won_count, np.nan),
            )
        width = len(scopes.values[scope_type])
        medians = (
            pd.Series(cycle[won])
            .groupby(scopes.codes[scope_type][won] * n + p_closed[won])
            .median()
        )
        median_grid = np.full(width * n, np.nan)
        median_grid[medians.index.to_numpy()] = medians.to_numpy()
        put("sales_cycle_days", scope_type, median_grid.reshape(width, n))
        put(
            "new_customers",
            scope_type,
            _grid(scopes, scope_type, first_wins, p_closed[first_wins], n),
        )
        put(
            "pipeline_value",
            scope_type,
            _covering(
                scopes, scope_type, all_rows, p_open_first, p_open_end, n, amount.astype(float)
            )
            / 100,
        )
        put(
            "weighted_pipeline_value",
            scope_type,
            _covering(
                scopes,
                scope_type,
                i_deal,
                p_interval_first,
                p_interval_end,
                n,
                weighted.astype(float),
            )
            / 100,
        )

    # accounts: contracts, unbroken active runs, churn, arpa, ltv
    is_contract = (
        (status == "won")
        & account_series.notna().to_numpy()
        & deals["contract_start"].notna().to_numpy()
        & deals["contract_end"].notna().to_numpy()
    )
    c_rows = np.flatnonzero(is_contract)
    c_start = _day_numbers(deals["contract_start"])[c_rows]
    c_end = _day_numbers(deals["contract_end"])[c_rows]
    valid = c_end >= c_start
    c_rows, c_start, c_end = c_rows[valid], c_start[valid], c_end[valid]
    c_account = account[c_rows]
    order = np.lexsort((c_end, c_start, _sort_codes(c_account)))
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
        "company": np.full(len(account_key), "all", dtype=object),
        "segment": segment_of.to_numpy(dtype=object),
        "region": region_of.to_numpy(dtype=object),
    }
    # account scope universes: the accounts' values and those the deals carry
    account_scopes = _scopes(per_account, {t: set(scopes.values[t]) for t in ACCOUNT_SCOPE_TYPES})
    account_row = pd.Index(account_key)
    run_owner = account_row.get_indexer(r_account)
    contract_owner = account_row.get_indexer(c_account)

    # churned: a run covering the month's first day ends in the month, and no later run of
    # the account covers the next month's first day
    p_run_end = _month(r_end) - first_month
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
        scoped = _Scopes({scope_type: codes[run_owner]}, account_scopes.values)
        first = np.searchsorted(starts, r_start, side="left")
        end = np.searchsorted(starts, r_end, side="right")
        active = _covering(
            scoped, scope_type, np.arange(len(r_start)), first, end, n, np.ones(len(r_start))
        )
        scoped_contracts = _Scopes({scope_type: codes[contract_owner]}, account_scopes.values)
        active_mrr = (
            _covering(
                scoped_contracts,
                scope_type,
                np.arange(len(c_rows)),
                np.searchsorted(starts, c_start, side="left"),
                np.searchsorted(starts, c_end, side="right"),
                n,
                mrr[c_rows].astype(float),
            )
            / 100
        )
        churn_count = np.bincount(
            codes[run_owner][churned] * n + p_run_end[churned], minlength=width * n
        ).reshape(width, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            churn = np.where(complete & (active > 0), churn_count / active, np.nan)
            arpa = np.where(active > 0, active_mrr / active, np.nan)
        put("churn_rate", scope_type, churn, account_scopes)
        put("arpa", scope_type, arpa, account_scopes)
        window = pd.DataFrame(churn.T).rolling(12, min_periods=1).mean().to_numpy().T
        with np.errstate(invalid="ignore", divide="ignore"):
            ltv = np.where(window > 0, arpa * settings.gross_margin / window, np.nan)
        put("ltv", scope_type, ltv, account_scopes)

    frames = []
    period_dates = pd.to_datetime(starts.astype("datetime64[D]")).date
    for metric, by_scope in results.items():
        for scope_type, (values, grid) in by_scope.items():
            frames.append(
                pd.DataFrame(
                    {
                        "metric": metric,
                        "period_start": np.tile(period_dates, len(values)),
                        "scope_type": scope_type,
                        "scope_value": np.repeat(np.asarray(values, dtype=object), n),
                        "value": np.asarray(grid, dtype=float).ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Comparison:
    rows: int
    missing_here: int  # month rows of the marts this script has not
    extra_here: int  # rows this script has that the marts have not
    mismatches: int
    examples: list[str]

    @property
    def same(self) -> bool:
        return not (self.missing_here or self.extra_here or self.mismatches)


def compare(result: pd.DataFrame, build_db: Path) -> Comparison:
    """This script's rows against `marts.kpi_values` at month grain."""
    con = connect(build_db, read_only=True)
    try:
        marts = con.execute(
            "SELECT metric, period_start, scope_type, scope_value, value AS mart_value "
            "FROM marts.kpi_values WHERE grain = 'month'"
        ).df()
    finally:
        con.close()
    marts["period_start"] = pd.to_datetime(marts["period_start"]).dt.date
    keys = ["metric", "period_start", "scope_type", "scope_value"]
    merged = result.merge(marts, on=keys, how="outer", indicator=True)
    both = merged[merged["_merge"] == "both"]
    a, b = both["value"].to_numpy(float), both["mart_value"].to_numpy(float)
    same = (np.isnan(a) & np.isnan(b)) | (
        np.abs(a - b) <= TOLERANCE * np.maximum(1.0, np.abs(np.nan_to_num(b)))
    )
    wrong = both[~same]
    examples = [
        f"{r.metric} {r.period_start} {r.scope_type}={r.scope_value}: "
        f"{r.value!r} here, {r.mart_value!r} in the marts"
        for r in wrong.head(5).itertuples()
    ]
    return Comparison(
        rows=len(merged),
        missing_here=int((merged["_merge"] == "right_only").sum()),
        extra_here=int((merged["_merge"] == "left_only").sum()),
        mismatches=int((~same).sum()),
        examples=examples,
    )
