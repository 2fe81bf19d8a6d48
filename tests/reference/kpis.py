"""A reference implementation of every KPI of DESIGN.md, in pandas, for tests.

`compute_kpis` takes the raw CRM records (the tables of the files contract, see
`ingestion/files/contract.py`) and returns the rows `marts.kpi_values` must hold. It
shares no code with the dbt SQL on purpose: a test computes both and compares them, so
a mistake has to be made twice, in two languages, to go unnoticed.

The rules it implements are DESIGN.md's KPI table, settled where DESIGN.md leaves a
choice open (the SQL follows the same rules):

- ids are `<source>:<native id>`; a null scope value is "(none)";
- local_date(ts) is the calendar date of ts in the reporting timezone;
- the as-of cut: deals created after `as_of` do not exist, a deal closed after `as_of`
  is open (closed_at null), stage changes after `as_of` did not happen;
- money is Decimal, converted per deal at the latest rate on or before the close date
  (creation date while open) and rounded half up to the cent;
- periods run from the one holding the earliest creation date through the one holding
  `as_of`; t = min(next period start, as_of + 1 day) is the "end of period" date;
- see `compute_kpis` for each metric.

Where even the brief is silent, this module decides as follows (a comparison that
disagrees on one of these points is about the rule, not a bug):

- the scope universes use the deals left after the as-of cut;
- churn_rate is null for the incomplete period holding `as_of`; a period that ends on
  `as_of` is complete and has its churn (DESIGN.md's "null for the period holding
  as_of" read as the brief's "the period that holds as_of (the incomplete one)");
- a contract is a won deal with an account and both contract dates: a won deal without
  account adds no MRR to arpa, as it makes no account active;
- two stage-history rows of a deal entered at the same instant are ordered by stage name;
- a won or lost deal without closed_at closes in no period, is in the pipeline at every
  t after its creation, and is converted at its creation date's rate.

It is written to be read and checked by a person: plain loops over periods with a
vectorised step each, no cleverness that would need its own proof.
"""

from __future__ import annotations

import bisect
import zoneinfo
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

import numpy as np
import pandas as pd

from tests.reference.margins import deal_costs, products_table

NONE = "(none)"
COMPANY = "all"
GRAINS = ("day", "week", "month", "quarter", "year")
DEAL_SCOPE_TYPES = ("company", "team", "owner", "segment", "region", "pipeline", "channel")
ACCOUNT_SCOPE_TYPES = ("company", "segment", "region")
STATUSES = ("open", "won", "lost")

# metric -> unit; "currency" is replaced by the reporting currency code in the output
DEAL_METRICS = {
    "won_deals": "count",
    "lost_deals": "count",
    "win_rate": "ratio",
    "won_revenue": "currency",
    "avg_deal_size": "currency",
    "deals_created": "count",
    "sales_cycle_days": "days",
    "pipeline_value": "currency",
    "weighted_pipeline_value": "currency",
    "new_customers": "count",
    "gross_margin": "currency",
    "margin_rate": "ratio",
    "repeat_purchase_rate": "ratio",
    "won_revenue_share": "ratio",
    "won_deals_share": "ratio",
    "new_customers_share": "ratio",
}
ACCOUNT_METRICS = {
    "churn_rate": "ratio",
    "arpa": "currency",
    "ltv": "currency",
    "active_customers": "count",
    "active_customers_share": "ratio",
    "retention_rate": "ratio",
    "customer_tenure_days": "days",
}
METRICS = {**DEAL_METRICS, **ACCOUNT_METRICS}

OUTPUT_COLUMNS = (
    "metric",
    "grain",
    "period_start",
    "scope_type",
    "scope_value",
    "value",
    "numerator",
    "denominator",
    "unit",
    "is_complete",
    "as_of",
)
KEYS = ["period_start", "scope_type", "scope_value"]
CENT = Decimal("0.01")
ZERO = Decimal(0)
# The closing day of a deal that is still open: after every real day, so "closed on or
# after t" holds for every t.
NEVER = date.max.toordinal() + 1


class ReferenceInputError(ValueError):
    """The tables given to `compute_kpis` cannot be read; the message says where and why."""


# --------------------------------------------------------------------------- periods


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + (first_of_month.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(day: date, grain: str, fiscal_year_start: int = 1) -> date:
    """The first day of the period of `grain` holding `day`.

    Weeks are ISO weeks (Monday); quarters and years start at month `fiscal_year_start`.
    """
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        months_into_quarter = (day.month - fiscal_year_start) % 3
        return _add_months(day.replace(day=1), -months_into_quarter)
    if grain == "year":
        months_into_year = (day.month - fiscal_year_start) % 12
        return _add_months(day.replace(day=1), -months_into_year)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def next_period_start(start: date, grain: str) -> date:
    """The first day of the period after the one starting on `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}.get(grain)
    if months is None:
        raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    return _add_months(start, months)


def periods(grain: str, first_day: date, as_of: date, fiscal_year_start: int = 1) -> pd.DataFrame:
    """The periods of `grain` from the one holding `first_day` through the one holding `as_of`.

    Columns: period_start, next_start, is_complete (the period ended on or before as_of),
    t_date (the "end of period" date, min(next_start, as_of + 1 day)).
    """
    rows = []
    start = period_start(first_day, grain, fiscal_year_start)
    while start <= as_of:
        nxt = next_period_start(start, grain)
        rows.append(
            {
                "period_start": start,
                "next_start": nxt,
                "is_complete": nxt - timedelta(days=1) <= as_of,
                "t_date": min(nxt, as_of + timedelta(days=1)),
            }
        )
        start = nxt
    columns = ["period_start", "next_start", "is_complete", "t_date"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------- reading the input


def _is_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or other container: not a null scalar
        return False


def _text(value: object) -> str | None:
    return None if _is_null(value) else str(value)


def _decimal(value: object, where: str) -> Decimal | None:
    """A money/probability/rate value as Decimal; floats go through their shortest repr so
    that 0.1 stays 0.1 rather than becoming its binary approximation."""
    if _is_null(value):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool | np.bool_):
        raise ReferenceInputError(f"{where}: {value!r} is a boolean, not a number")
    elif isinstance(value, int | np.integer):
        number = Decimal(int(value))
    elif isinstance(value, float | np.floating):
        number = Decimal(repr(float(value)))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ReferenceInputError(f"{where}: {value!r} is not a number") from None
    else:
        raise ReferenceInputError(f"{where}: {value!r} ({type(value).__name__}) is not a number")
    if not number.is_finite():
        raise ReferenceInputError(f"{where}: {value!r} is not a finite number")
    return number


def _date(value: object, where: str) -> date | None:
    if _is_null(value):
        return None
    if isinstance(value, datetime):  # pd.Timestamp too; checked before date, its base class
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ReferenceInputError(f"{where}: {value!r} is not a date (expected YYYY-MM-DD)")


def _utc_timestamps(frame: pd.DataFrame, table: str, column: str, labels: list[str]) -> pd.Series:
    """The column as tz-aware UTC timestamps; naive values are UTC (DESIGN.md)."""
    values = frame[column]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    converted = []
    for label, value in zip(labels, values, strict=True):
        if _is_null(value):
            converted.append(pd.NaT)
            continue
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise ReferenceInputError(
                f"{table} {label}, column {column!r}: {value!r} is not an ISO 8601 timestamp"
            ) from None
        converted.append(ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
    return pd.Series(pd.to_datetime(converted, utc=True), index=frame.index, name=column)


def _local_dates(timestamps: pd.Series, tz: zoneinfo.ZoneInfo) -> list[date | None]:
    return [None if pd.isna(ts) else ts.date() for ts in timestamps.dt.tz_convert(tz)]


def _table(
    tables: Mapping[str, pd.DataFrame | None],
    name: str,
    columns: tuple[str, ...],
    *,
    optional: bool = False,
) -> pd.DataFrame:
    frame = tables.get(name)
    if frame is None:
        if optional:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        raise ReferenceInputError(
            f"tables[{name!r}] is missing: pass the {name} table of the files contract "
            "(DESIGN.md, 'The files source')"
        )
    if not isinstance(frame, pd.DataFrame):
        raise ReferenceInputError(
            f"tables[{name!r}] is a {type(frame).__name__}; pass a pandas DataFrame"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReferenceInputError(
            f"{name}: column(s) {', '.join(missing)} missing; the files contract requires them "
            "(ingestion/files/contract.py)"
        )
    return frame.reset_index(drop=True)


def _namespaced(source: str, value: object) -> str | None:
    native = _text(value)
    return None if native is None else f"{source}:{native}"


def _read_deals(
    tables: Mapping[str, pd.DataFrame | None], source: str, tz: zoneinfo.ZoneInfo
) -> pd.DataFrame:
    required = (
        "deal_id",
        "account_id",
        "owner_id",
        "pipeline",
        "stage",
        "status",
        "amount",
        "currency",
        "created_at",
        "closed_at",
    )
    raw = _table(tables, "deals", required)
    labels = [f"record deal_id={_text(v)!r}" for v in raw["deal_id"]]
    if raw["deal_id"].isna().any():
        row = int(np.flatnonzero(raw["deal_id"].isna().to_numpy())[0])
        raise ReferenceInputError(f"deals row {row}: deal_id is empty; every deal needs an id")
    duplicated = raw["deal_id"].astype(str).duplicated()
    if duplicated.any():
        dup = raw["deal_id"][duplicated].iloc[0]
        raise ReferenceInputError(f"deals: deal_id {dup!r} occurs more than once; ids are unique")

    def optional_column(name: str) -> list[object]:
        return raw[name].tolist() if name in raw.columns else [None] * len(raw)

    created_at = _utc_timestamps(raw, "deals", "created_at", labels)
    closed_at = _utc_timestamps(raw, "deals", "closed_at", labels)
    deals = pd.DataFrame(
        {
            "opportunity_id": [_namespaced(source, v) for v in raw["deal_id"]],
            "account_id": [_namespaced(source, v) for v in raw["account_id"]],
            "owner_id": [_namespaced(source, v) for v in raw["owner_id"]],
            "pipeline": [_text(v) for v in raw["pipeline"]],
            "stage": [_text(v) for v in raw["stage"]],
            "status": [_text(v) for v in raw["status"]],
            "currency": [None if _is_null(v) else str(v).strip().upper() for v in raw["currency"]],
            "amount": [
                _decimal(v, f"deals {lab}, column 'amount'")
                for lab, v in zip(labels, raw["amount"], strict=True)
            ],
            "mrr": [
                _decimal(v, f"deals {lab}, column 'mrr'")
                for lab, v in zip(labels, optional_column("mrr"), strict=True)
            ],
            "contract_start": [
                _date(v, f"deals {lab}, column 'contract_start'")
                for lab, v in zip(labels, optional_column("contract_start"), strict=True)
            ],
            "contract_end": [
                _date(v, f"deals {lab}, column 'contract_end'")
                for lab, v in zip(labels, optional_column("contract_end"), strict=True)
            ],
            "channel": [_text(v) for v in optional_column("channel")],
            "cost": [
                _decimal(v, f"deals {lab}, column 'cost'")
                for lab, v in zip(labels, optional_column("cost"), strict=True)
            ],
            "created_at": created_at,
            "closed_at": closed_at,
            "created_date": _local_dates(created_at, tz),
            "closed_date": _local_dates(closed_at, tz),
            "label": labels,
        },
        dtype=object,
    )
    # the object dtype above would have turned the timestamps into plain objects
    deals["created_at"] = created_at
    deals["closed_at"] = closed_at
    for label, status, created, currency in zip(
        labels, deals["status"], deals["created_date"], deals["currency"], strict=True
    ):
        if status not in STATUSES:
            raise ReferenceInputError(
                f"deals {label}: status {status!r} is not one of {', '.join(STATUSES)}"
            )
        if created is None:
            raise ReferenceInputError(f"deals {label}: created_at is empty")
        if currency is None:
            raise ReferenceInputError(f"deals {label}: currency is empty")
    return deals


def _apply_as_of_cut(deals: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The deals as the CRM held them at the end of `as_of`."""
    deals = deals[[d <= as_of for d in deals["created_date"]]].reset_index(drop=True)
    closed_later = np.array([d is not None and d > as_of for d in deals["closed_date"]], bool)
    deals.loc[closed_later, "status"] = "open"
    deals.loc[closed_later, "closed_at"] = pd.NaT
    deals.loc[closed_later, "closed_date"] = None
    return deals


def _read_fx_rates(
    tables: Mapping[str, pd.DataFrame | None],
) -> dict[str, tuple[list[date], list[Decimal]]]:
    """currency -> (its rate dates ascending, the rates), for the latest-on-or-before look-up."""
    raw = _table(tables, "fx_rates", ("date", "currency", "rate"), optional=True)
    by_currency: dict[str, dict[date, Decimal]] = {}
    for i, (day, currency, rate) in enumerate(
        zip(raw["date"], raw["currency"], raw["rate"], strict=True)
    ):
        where = f"fx_rates row {i}"
        day_ = _date(day, f"{where}, column 'date'")
        rate_ = _decimal(rate, f"{where}, column 'rate'")
        if day_ is None or _is_null(currency) or rate_ is None:
            raise ReferenceInputError(f"{where}: date, currency and rate must all be filled")
        if rate_ <= 0:
            raise ReferenceInputError(f"{where}, column 'rate': {rate!r} must be above 0")
        rates = by_currency.setdefault(str(currency).strip().upper(), {})
        if day_ in rates:
            raise ReferenceInputError(f"{where}: a second rate for {currency} on {day_}")
        rates[day_] = rate_
    return {
        currency: (sorted(rates), [rates[d] for d in sorted(rates)])
        for currency, rates in by_currency.items()
    }


def _rate(
    fx: dict[str, tuple[list[date], list[Decimal]]],
    currency: str,
    day: date,
    reporting_currency: str,
    deal_label: str,
) -> Decimal:
    if currency == reporting_currency:
        return Decimal(1)
    dates, rates = fx.get(currency, ([], []))
    position = bisect.bisect_right(dates, day)
    if position == 0:
        raise ReferenceInputError(
            f"deals {deal_label}: no {currency}->{reporting_currency} rate on or before {day} "
            f"in fx_rates; add a rate for {currency} dated {day} or earlier"
        )
    return rates[position - 1]


def round_half_up(value: Decimal) -> Decimal:
    """`value` rounded to the cent, halves away from zero (SQL ROUND, not banker's)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money_times(amount: Decimal, factor: Decimal) -> Decimal:
    # DECIMAL(18,2) x DECIMAL(18,8) needs up to 36 digits: more than the default 28, and
    # an intermediate rounding would be a second rounding the SQL does not make.
    with localcontext() as ctx:
        ctx.prec = 60
        return round_half_up(amount * factor)


def _convert_currency(
    deals: pd.DataFrame,
    fx: dict[str, tuple[list[date], list[Decimal]]],
    reporting_currency: str,
) -> pd.DataFrame:
    amounts, mrrs, rates, rate_days = [], [], [], []
    for row in deals.itertuples():
        closed = row.status in ("won", "lost") and row.closed_date is not None
        rate_day = row.closed_date if closed else row.created_date
        rate = _rate(fx, row.currency, rate_day, reporting_currency, row.label)
        amounts.append(_money_times(row.amount if row.amount is not None else ZERO, rate))
        mrrs.append(None if row.mrr is None else _money_times(row.mrr, rate))
        rates.append(rate)
        rate_days.append(rate_day)
    deals = deals.copy()
    deals["fx_rate"] = pd.Series(rates, index=deals.index, dtype=object)
    deals["fx_date"] = pd.Series(rate_days, index=deals.index, dtype=object)
    deals["amount_reporting"] = pd.Series(amounts, index=deals.index, dtype=object)
    deals["mrr_reporting"] = pd.Series(mrrs, index=deals.index, dtype=object)
    return deals


def _read_history(
    tables: Mapping[str, pd.DataFrame | None],
    source: str,
    tz: zoneinfo.ZoneInfo,
    deals: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """Stage history of the deals that exist as of `as_of`, with `deal` the deal's row
    number in `deals`, sorted by deal and time (ties on entered_at by stage name)."""
    raw = _table(tables, "stage_history", ("deal_id", "stage", "entered_at"))
    labels = [f"row {i} (deal_id={_text(v)!r})" for i, v in enumerate(raw["deal_id"])]
    entered_at = _utc_timestamps(raw, "stage_history", "entered_at", labels)
    for label, ts, stage in zip(labels, entered_at, raw["stage"], strict=True):
        if pd.isna(ts) or _is_null(stage):
            raise ReferenceInputError(f"stage_history {label}: stage and entered_at are required")
    row_of = {opp: i for i, opp in enumerate(deals["opportunity_id"])}
    history = pd.DataFrame(
        {
            "deal": [row_of.get(_namespaced(source, v), -1) for v in raw["deal_id"]],
            "stage": [_text(v) for v in raw["stage"]],
            "entered_at": entered_at,
            "entered_date": _local_dates(entered_at, tz),
        }
    )
    known = history["deal"] >= 0
    before_cut = np.array([d <= as_of for d in history["entered_date"]], bool)
    history = history[known.to_numpy() & before_cut]
    return history.sort_values(["deal", "entered_at", "stage"], kind="stable").reset_index(
        drop=True
    )


def _read_probabilities(
    tables: Mapping[str, pd.DataFrame | None],
) -> tuple[dict[tuple[str, str], Decimal], set[str]]:
    """(pipeline, stage) -> probability, and the pipelines the stages table names."""
    raw = _table(tables, "stages", ("pipeline", "stage", "probability"), optional=True)
    probabilities = {}
    for i, (pipeline, stage, probability) in enumerate(
        zip(raw["pipeline"], raw["stage"], raw["probability"], strict=True)
    ):
        p = _decimal(probability, f"stages row {i} ({pipeline}/{stage}), column 'probability'")
        if p is None or not ZERO <= p <= 1:
            raise ReferenceInputError(
                f"stages row {i} ({pipeline}/{stage}): probability {probability!r} must be "
                "between 0 and 1"
            )
        probabilities[(_text(pipeline), _text(stage))] = p
    pipelines = {NONE if _is_null(p) else str(p) for p in raw["pipeline"]}
    return probabilities, pipelines


# ------------------------------------------------------------------------------ scopes


def _add_scopes(
    deals: pd.DataFrame, owners: pd.DataFrame, accounts: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str], dict[str, tuple[str, str]]]:
    """Adds one column per scope type (`scope_<type>`) to the deals.

    Returns the deals, owner_id -> team and account_id -> (segment, region), each with
    nulls as "(none)".
    """
    team_of = {
        oid: _text(team) or NONE
        for oid, team in zip(owners["owner_id"], owners["team"], strict=True)
        if oid is not None
    }
    place_of = {
        aid: (_text(seg) or NONE, _text(reg) or NONE)
        for aid, seg, reg in zip(
            accounts["account_id"], accounts["segment"], accounts["region"], strict=True
        )
        if aid is not None
    }
    deals = deals.copy()
    deals["scope_company"] = COMPANY
    deals["scope_owner"] = [o or NONE for o in deals["owner_id"]]
    deals["scope_team"] = [team_of.get(o, NONE) if o else NONE for o in deals["owner_id"]]
    deals["scope_segment"] = [place_of.get(a, (NONE, NONE))[0] for a in deals["account_id"]]
    deals["scope_region"] = [place_of.get(a, (NONE, NONE))[1] for a in deals["account_id"]]
    deals["scope_pipeline"] = [p or NONE for p in deals["pipeline"]]
    deals["scope_channel"] = [c or NONE for c in deals["channel"]]
    return deals, team_of, place_of


def _scope_universes(
    deals: pd.DataFrame,
    team_of: dict[str, str],
    place_of: dict[str, tuple[str, str]],
    stage_pipelines: set[str],
) -> dict[str, list[str]]:
    """Every scope value a row is due for, per scope type (empty populations included)."""
    universes = {
        "company": {COMPANY},
        "owner": set(team_of),
        "team": set(team_of.values()),
        "segment": {seg for seg, _ in place_of.values()},
        "region": {reg for _, reg in place_of.values()},
        "pipeline": set(stage_pipelines),
        "channel": set(),
    }
    for scope_type in DEAL_SCOPE_TYPES:
        universes[scope_type] |= set(deals[f"scope_{scope_type}"])
    return {scope_type: sorted(values) for scope_type, values in universes.items()}


def _long_scopes(frame: pd.DataFrame, scope_types: tuple[str, ...]) -> pd.DataFrame:
    """One row per (row of `frame`, scope type): columns row, scope_type, scope_value."""
    parts = [
        pd.DataFrame(
            {
                "row": frame.index.to_numpy(),
                "scope_type": scope_type,
                "scope_value": frame[f"scope_{scope_type}"].to_numpy(),
            }
        )
        for scope_type in scope_types
    ]
    return pd.concat(parts, ignore_index=True)


def _grid(
    period_frame: pd.DataFrame, universes: dict[str, list[str]], scope_types: tuple[str, ...]
) -> pd.DataFrame:
    scopes = pd.DataFrame(
        [(t, v) for t in scope_types for v in universes[t]], columns=["scope_type", "scope_value"]
    )
    return period_frame.merge(scopes, how="cross")


def _decimal_sum(values: pd.Series) -> Decimal:
    return sum(values, ZERO)


# ------------------------------------------------------------------------ deal metrics


def _first_wins(deals: pd.DataFrame) -> pd.Series:
    """True for each account's first won deal: earliest closed_at, then smallest id."""
    won = deals[
        (deals["status"] == "won") & deals["account_id"].notna() & deals["closed_at"].notna()
    ]
    ordered = won.sort_values(["account_id", "closed_at", "opportunity_id"], kind="stable")
    first_rows = ordered.drop_duplicates("account_id", keep="first").index
    return pd.Series(deals.index.isin(first_rows), index=deals.index)


def _pipeline_snapshots(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    probabilities: dict[tuple[str, str], Decimal],
    t_dates: list[date],
) -> pd.DataFrame:
    """pipeline_value and weighted_pipeline_value at each `t` in `t_dates`, per deal scope.

    A deal is in the pipeline at t when local_date(created_at) < t and it is not closed
    before t (closed_at null or local_date(closed_at) >= t). Its weight is the probability
    of its stage at t: the last history row entered on a local date before t, else its
    first history row, else its current stage.
    """
    n = len(deals)
    created = np.array([d.toordinal() for d in deals["created_date"]], dtype=np.int64)
    closed = np.array(
        [NEVER if d is None else d.toordinal() for d in deals["closed_date"]], dtype=np.int64
    )
    amount = deals["amount_reporting"].to_numpy(dtype=object)
    pipelines = deals["pipeline"].tolist()

    def weighted(deal: int, stage: str) -> Decimal:
        p = probabilities.get((pipelines[deal], stage), ZERO)
        return _money_times(amount[deal], p)

    # the weight of each deal in its current stage, and in the stage of each history row
    weight_now = np.array([weighted(i, s) for i, s in enumerate(deals["stage"])], dtype=object)
    hist_deal = history["deal"].to_numpy(dtype=np.int64)
    hist_day = np.array([d.toordinal() for d in history["entered_date"]], dtype=np.int64)
    hist_weight = np.array(
        [weighted(d, s) for d, s in zip(hist_deal, history["stage"], strict=True)], dtype=object
    )
    # history is sorted by deal, then time: each deal's rows are one block, oldest first
    has_history = np.bincount(hist_deal, minlength=n) > 0
    first_row = np.searchsorted(hist_deal, np.arange(n))

    long = _long_scopes(deals, DEAL_SCOPE_TYPES)
    keys = list(dict.fromkeys(zip(long["scope_type"], long["scope_value"], strict=True)))
    key_of = {k: i for i, k in enumerate(keys)}
    long_deal = long["row"].to_numpy(dtype=np.int64)
    long_key = np.array(
        [key_of[k] for k in zip(long["scope_type"], long["scope_value"], strict=True)], np.int64
    )

    rows = []
    for t in t_dates:
        t_day = t.toordinal()
        in_pipeline = (created < t_day) & (closed >= t_day)
        # a deal's rows entered before t are the first rows_before_t of its block, so its
        # stage at t is the last of them, or its first row when none was entered before t
        rows_before_t = np.bincount(hist_deal[hist_day < t_day], minlength=n)
        stage_row = first_row + np.maximum(rows_before_t - 1, 0)
        weight = weight_now.copy()
        weight[has_history] = hist_weight[stage_row[has_history]]

        selected = in_pipeline[long_deal]
        value = np.full(len(keys), ZERO, dtype=object)
        weighted_value = np.full(len(keys), ZERO, dtype=object)
        np.add.at(value, long_key[selected], amount[long_deal[selected]])
        np.add.at(weighted_value, long_key[selected], weight[long_deal[selected]])
        rows.extend(
            (t, scope_type, scope_value, value[i], weighted_value[i])
            for i, (scope_type, scope_value) in enumerate(keys)
        )
    return pd.DataFrame(
        rows,
        columns=[
            "t_date",
            "scope_type",
            "scope_value",
            "pipeline_value",
            "weighted_pipeline_value",
        ],
    )


def _deal_metrics(
    grain: str,
    period_frame: pd.DataFrame,
    deals: pd.DataFrame,
    universes: dict[str, list[str]],
    snapshots: pd.DataFrame,
    fiscal_year_start: int,
) -> pd.DataFrame:
    """One row per (period, deal scope) with the deal metrics' parts as columns."""
    long = _long_scopes(deals, DEAL_SCOPE_TYPES).merge(
        deals[
            [
                "status",
                "created_date",
                "closed_date",
                "amount_reporting",
                "margin_reporting",
                "first_win",
                "account_id",
                "first_win_date",
            ]
        ],
        left_on="row",
        right_index=True,
    )
    start_of = {
        d: period_start(d, grain, fiscal_year_start)
        for d in set(deals["created_date"]) | set(deals["closed_date"])
        if d is not None
    }

    closed = long[long["status"].isin(["won", "lost"]) & long["closed_date"].notna()].copy()
    closed["period_start"] = [start_of[d] for d in closed["closed_date"]]
    closed["cycle_days"] = np.array(
        [(c - o).days for c, o in zip(closed["closed_date"], closed["created_date"], strict=True)],
        dtype=np.int64,
    )
    won = closed[closed["status"] == "won"]
    won_parts = won.groupby(KEYS).agg(
        won_deals=("row", "size"),
        won_revenue=("amount_reporting", _decimal_sum),
        sales_cycle_days=("cycle_days", "median"),
        new_customers=("first_win", "sum"),
        gross_margin=("margin_reporting", _decimal_sum),
    )
    # repeat purchase: the accounts buying in the period, and those whose first win
    # closed before the period's start
    buyers = won[won["account_id"].notna()].copy()
    buyers["repeat"] = np.array(
        [f < p for f, p in zip(buyers["first_win_date"], buyers["period_start"], strict=True)],
        dtype=bool,
    )
    buyer_parts = buyers.groupby(KEYS).agg(buyers=("account_id", "nunique"))
    repeat_parts = (
        buyers[buyers["repeat"].to_numpy(dtype=bool)]
        .groupby(KEYS)
        .agg(repeat_buyers=("account_id", "nunique"))
    )
    lost_parts = closed[closed["status"] == "lost"].groupby(KEYS).agg(lost_deals=("row", "size"))
    created = long.assign(period_start=[start_of[d] for d in long["created_date"]])
    created_parts = created.groupby(KEYS).agg(deals_created=("row", "size"))

    grid = _grid(period_frame, universes, DEAL_SCOPE_TYPES)
    for parts in (won_parts, lost_parts, created_parts, buyer_parts, repeat_parts):
        grid = grid.merge(parts.reset_index(), on=KEYS, how="left")
    grid = grid.merge(snapshots, on=["t_date", "scope_type", "scope_value"], how="left")
    for column in (
        "won_deals",
        "lost_deals",
        "deals_created",
        "new_customers",
        "buyers",
        "repeat_buyers",
    ):
        grid[column] = grid[column].fillna(0).astype(int)
    for column in ("won_revenue", "pipeline_value", "weighted_pipeline_value", "gross_margin"):
        grid[column] = [ZERO if _is_null(v) else v for v in grid[column]]
    return grid


# --------------------------------------------------------------------- account metrics


def _account_metrics(
    period_frame: pd.DataFrame,
    deals: pd.DataFrame,
    place_of: dict[str, tuple[str, str]],
    universes: dict[str, list[str]],
) -> pd.DataFrame:
    """One row per (period, account scope) with the churn and arpa parts as columns.

    Account a is active on day d when one of its won deals has contract_start <= d <=
    contract_end. churn: of the accounts active on the period's first day, those not
    active on the day after its last day. arpa: MRR of the contracts (won deals with an
    account) active on the first day over the accounts active then.
    """
    contracts = deals[
        (deals["status"] == "won")
        & deals["account_id"].notna()
        & deals["contract_start"].notna()
        & deals["contract_end"].notna()
    ].reset_index(drop=True)
    keys = [(t, v) for t in ACCOUNT_SCOPE_TYPES for v in universes[t]]
    key_of = {k: i for i, k in enumerate(keys)}

    accounts = sorted(set(contracts["account_id"]))
    account_index = {a: i for i, a in enumerate(accounts)}
    # membership[a, k]: account a belongs to scope k (company, its segment, its region)
    membership = np.zeros((len(accounts), len(keys)), dtype=np.int64)
    for a, account in enumerate(accounts):
        segment, region = place_of.get(account, (NONE, NONE))
        for k in (("company", COMPANY), ("segment", segment), ("region", region)):
            membership[a, key_of[k]] = 1

    # Every day a period starts on, and every day after a period's last day.
    days = sorted(set(period_frame["period_start"]) | set(period_frame["next_start"]))
    # each account's first contract start (of the contracts that make it active)
    first_start = np.zeros(len(accounts), dtype=np.int64)
    first_start[:] = np.iinfo(np.int64).max
    for start, end, account in zip(
        contracts["contract_start"], contracts["contract_end"], contracts["account_id"], strict=True
    ):
        if start <= end:
            a = account_index[account]
            first_start[a] = min(first_start[a], start.toordinal())
    first, last = days[0].toordinal(), days[-1].toordinal()
    active = np.zeros((last - first + 1, len(accounts)), dtype=bool)  # [day - first, account]
    starts = np.array([d.toordinal() for d in contracts["contract_start"]], np.int64)
    ends = np.array([d.toordinal() for d in contracts["contract_end"]], np.int64)
    for start, end, account in zip(starts, ends, contracts["account_id"], strict=True):
        if start <= last and end >= first and start <= end:
            active[
                max(start, first) - first : min(end, last) - first + 1, account_index[account]
            ] = True

    contract_keys = np.array(
        [
            [key_of[("company", COMPANY)], key_of[("segment", s)], key_of[("region", r)]]
            for s, r in zip(contracts["scope_segment"], contracts["scope_region"], strict=True)
        ],
        dtype=np.int64,
    ).reshape(-1, 3)
    mrr = np.array([ZERO if m is None else m for m in contracts["mrr_reporting"]], dtype=object)

    rows = []
    for period in period_frame.itertuples():
        s = period.period_start.toordinal()
        after = period.next_start.toordinal()
        active_on_s = active[s - first]
        still_active = active[after - first]
        accounts_active = active_on_s.astype(np.int64) @ membership
        churned = (active_on_s & ~still_active).astype(np.int64) @ membership
        # at t: active on the snapshot day (t - 1 day), with the days since each one's
        # first contract start
        snapshot = period.t_date.toordinal() - 1
        active_at_t = active[snapshot - first]
        customers = active_at_t.astype(np.int64) @ membership
        tenure = np.where(active_at_t, snapshot - first_start, 0) @ membership
        running = (starts <= s) & (s <= ends)
        mrr_sum = np.full(len(keys), ZERO, dtype=object)
        for column in range(3):
            np.add.at(mrr_sum, contract_keys[running, column], mrr[running])
        rows.extend(
            (
                period.period_start,
                t,
                v,
                int(churned[k]),
                int(accounts_active[k]),
                mrr_sum[k],
                int(customers[k]),
                int(tenure[k]),
            )
            for k, (t, v) in enumerate(keys)
        )
    parts = pd.DataFrame(
        rows,
        columns=[
            *KEYS,
            "churned_accounts",
            "active_accounts",
            "active_mrr",
            "active_customers",
            "tenure_days",
        ],
    )
    grid = _grid(period_frame, universes, ACCOUNT_SCOPE_TYPES)
    return grid.merge(parts, on=KEYS, how="left")


# ----------------------------------------------------------------------------- output


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _float(value: object) -> float | None:
    return None if _is_null(value) else float(value)


def _rows(
    grid: pd.DataFrame,
    grain: str,
    metric: str,
    unit: str,
    values: list[float | None],
    numerators: list[float | None] | None = None,
    denominators: list[float | None] | None = None,
) -> pd.DataFrame:
    n = len(grid)
    return pd.DataFrame(
        {
            "metric": metric,
            "grain": grain,
            "period_start": grid["period_start"].to_numpy(dtype=object),
            "scope_type": grid["scope_type"].to_numpy(dtype=object),
            "scope_value": grid["scope_value"].to_numpy(dtype=object),
            "value": pd.Series(values, dtype=object),
            "numerator": pd.Series(numerators or [None] * n, dtype=object),
            "denominator": pd.Series(denominators or [None] * n, dtype=object),
            "unit": unit,
            "is_complete": grid["is_complete"].to_numpy(dtype=bool),
        }
    )


def _deal_rows(grid: pd.DataFrame, grain: str, currency: str) -> list[pd.DataFrame]:
    won = [float(v) for v in grid["won_deals"]]
    lost = [float(v) for v in grid["lost_deals"]]
    revenue = [float(v) for v in grid["won_revenue"]]
    closed = [w + lo for w, lo in zip(won, lost, strict=True)]
    return [
        _rows(grid, grain, "won_deals", "count", won),
        _rows(grid, grain, "lost_deals", "count", lost),
        _rows(
            grid,
            grain,
            "win_rate",
            "ratio",
            [_ratio(w, c) for w, c in zip(won, closed, strict=True)],
            won,
            closed,
        ),
        _rows(grid, grain, "won_revenue", currency, revenue),
        _rows(
            grid,
            grain,
            "avg_deal_size",
            currency,
            [_ratio(r, w) for r, w in zip(revenue, won, strict=True)],
            revenue,
            won,
        ),
        _rows(grid, grain, "deals_created", "count", [float(v) for v in grid["deals_created"]]),
        _rows(
            grid, grain, "sales_cycle_days", "days", [_float(v) for v in grid["sales_cycle_days"]]
        ),
        _rows(grid, grain, "pipeline_value", currency, [float(v) for v in grid["pipeline_value"]]),
        _rows(
            grid,
            grain,
            "weighted_pipeline_value",
            currency,
            [float(v) for v in grid["weighted_pipeline_value"]],
        ),
        _rows(grid, grain, "new_customers", "count", [float(v) for v in grid["new_customers"]]),
        *_margin_and_share_rows(grid, grain, currency, revenue, won),
    ]


def _company_values(grid: pd.DataFrame, values: list[float]) -> list[float]:
    """Each row's period value of the company scope, for the shares."""
    company_of = {
        p: v
        for p, t, v in zip(grid["period_start"], grid["scope_type"], values, strict=True)
        if t == "company"
    }
    return [company_of[p] for p in grid["period_start"]]


def _share_rows(grid: pd.DataFrame, grain: str, metric: str, values: list[float]) -> pd.DataFrame:
    company = _company_values(grid, values)
    shares = [_ratio(v, c) for v, c in zip(values, company, strict=True)]
    return _rows(grid, grain, metric, "ratio", shares, values, company)


def _margin_and_share_rows(
    grid: pd.DataFrame, grain: str, currency: str, revenue: list[float], won: list[float]
) -> list[pd.DataFrame]:
    margin = [float(v) for v in grid["gross_margin"]]
    buyers = [float(v) for v in grid["buyers"]]
    repeat = [float(v) for v in grid["repeat_buyers"]]
    new = [float(v) for v in grid["new_customers"]]
    return [
        _rows(grid, grain, "gross_margin", currency, margin),
        _rows(
            grid,
            grain,
            "margin_rate",
            "ratio",
            [_ratio(m, r) for m, r in zip(margin, revenue, strict=True)],
            margin,
            revenue,
        ),
        _rows(
            grid,
            grain,
            "repeat_purchase_rate",
            "ratio",
            [_ratio(r, b) for r, b in zip(repeat, buyers, strict=True)],
            repeat,
            buyers,
        ),
        _share_rows(grid, grain, "won_revenue_share", revenue),
        _share_rows(grid, grain, "won_deals_share", won),
        _share_rows(grid, grain, "new_customers_share", new),
    ]


def _account_rows(
    grid: pd.DataFrame, grain: str, currency: str, gross_margin: Decimal
) -> list[pd.DataFrame]:
    # churn is not known for a period that has not ended by as_of
    known = grid["is_complete"].to_numpy(dtype=bool)
    churn_num = [
        float(c) if k else None for c, k in zip(grid["churned_accounts"], known, strict=True)
    ]
    churn_den = [
        float(a) if k else None for a, k in zip(grid["active_accounts"], known, strict=True)
    ]
    churn = [_ratio(c, a) for c, a in zip(churn_num, churn_den, strict=True)]
    arpa_num = [float(v) for v in grid["active_mrr"]]
    arpa_den = [float(v) for v in grid["active_accounts"]]
    arpa = [_ratio(m, a) for m, a in zip(arpa_num, arpa_den, strict=True)]
    retention_num = [
        None if a is None else a - c for c, a in zip(churn_num, churn_den, strict=True)
    ]
    retention = [None if c is None else 1 - c for c in churn]
    customers = [float(v) for v in grid["active_customers"]]
    tenure = [float(v) for v in grid["tenure_days"]]
    frames = [
        _rows(grid, grain, "churn_rate", "ratio", churn, churn_num, churn_den),
        _rows(grid, grain, "arpa", currency, arpa, arpa_num, arpa_den),
        _rows(grid, grain, "active_customers", "count", customers),
        _share_rows(grid, grain, "active_customers_share", customers),
        _rows(grid, grain, "retention_rate", "ratio", retention, retention_num, churn_den),
        _rows(
            grid,
            grain,
            "customer_tenure_days",
            "days",
            [_ratio(t, c) for t, c in zip(tenure, customers, strict=True)],
            tenure,
            customers,
        ),
    ]
    if grain == "month":
        frames.append(_ltv_rows(grid, churn, arpa, currency, gross_margin))
    return frames


def _ltv_rows(
    grid: pd.DataFrame,
    churn: list[float | None],
    arpa: list[float | None],
    currency: str,
    gross_margin: Decimal,
) -> pd.DataFrame:
    """ltv of month m: arpa(m) x gross margin / the mean churn_rate of the complete months
    m-11 .. m of the same scope that have one."""
    frame = grid[["period_start", "scope_type", "scope_value", "is_complete"]].copy()
    frame["churn"] = pd.Series(churn, index=frame.index, dtype=object)
    numerators, denominators, values = [], [], []
    for row, arpa_value in zip(frame.itertuples(), arpa, strict=True):
        window_start = _add_months(row.period_start, -11)
        window = frame[
            (frame["scope_type"] == row.scope_type)
            & (frame["scope_value"] == row.scope_value)
            & (frame["period_start"] >= window_start)
            & (frame["period_start"] <= row.period_start)
            & frame["is_complete"]
            & frame["churn"].notna()
        ]
        rates = [float(c) for c in window["churn"]]
        numerator = None if arpa_value is None else arpa_value * float(gross_margin)
        denominator = sum(rates) / len(rates) if rates else None
        numerators.append(numerator)
        denominators.append(denominator)
        values.append(_ratio(numerator, denominator))
    return _rows(grid, "month", "ltv", currency, values, numerators, denominators)


# ------------------------------------------------------------------------------ entry


def compute_kpis(
    tables: dict[str, pd.DataFrame],
    *,
    source: str,
    as_of: date,
    timezone: str = "UTC",
    fiscal_year_start: int = 1,
    reporting_currency: str = "EUR",
    gross_margin: Decimal = Decimal("1"),
) -> pd.DataFrame:
    """Every KPI of DESIGN.md from the raw CRM records of one source, as of `as_of`.

    `tables`: deals, stage_history, accounts, owners, and optionally stages and fx_rates,
    with the files-contract columns and native ids (timestamps tz-aware or naive UTC,
    dates as date/datetime64/ISO text, money as Decimal, float or text).

    Returns one row per (metric, grain, period_start, scope_type, scope_value) with
    value, numerator, denominator (Python float or None; numerator and denominator are
    filled for win_rate, avg_deal_size, churn_rate, arpa and ltv only), unit,
    is_complete and as_of, sorted by those keys. Metrics:

    - won_deals, lost_deals, won_revenue, sales_cycle_days (median days from the
      creation date to the close date), new_customers (each account's first won deal)
      by the local close date; deals_created by the local creation date;
    - win_rate = won / (won + lost); avg_deal_size = won_revenue / won_deals;
    - pipeline_value and weighted_pipeline_value at t = min(next period start,
      as_of + 1 day);
    - churn_rate, arpa (company/segment/region scopes) and ltv (month grain only).

    Raises ReferenceInputError for unreadable input or a missing exchange rate.
    """
    if not source or not isinstance(source, str):
        raise ReferenceInputError("source must be the non-empty name of the source, e.g. 'files'")
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise ReferenceInputError(f"as_of must be a datetime.date, not {as_of!r}")
    if fiscal_year_start not in range(1, 13):
        raise ReferenceInputError(
            f"fiscal_year_start={fiscal_year_start!r} must be the first month, 1 to 12"
        )
    try:
        tz = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ReferenceInputError(
            f"timezone={timezone!r} is not an IANA timezone such as 'Europe/Paris'"
        ) from None
    currency_code = reporting_currency.strip().upper()
    margin = _decimal(gross_margin, "gross_margin")
    if margin is None:
        raise ReferenceInputError("gross_margin must be a number, e.g. Decimal('0.8')")

    deals = _apply_as_of_cut(_read_deals(tables, source, tz), as_of)
    if deals.empty:  # no deal created by as_of: no period holds a creation date
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
    fx = _read_fx_rates(tables)
    deals = _convert_currency(deals, fx, currency_code)
    deals = deal_costs(
        deals,
        products_table(tables),
        source,
        lambda code, day, label: _rate(fx, code, day, currency_code, label),
        margin,
        _money_times,
        _decimal,
    )
    history = _read_history(tables, source, tz, deals, as_of)
    probabilities, stage_pipelines = _read_probabilities(tables)

    owners_raw = _table(tables, "owners", ("owner_id", "team"))
    owners = pd.DataFrame(
        {
            "owner_id": [_namespaced(source, v) for v in owners_raw["owner_id"]],
            "team": owners_raw["team"].tolist(),
        }
    )
    accounts_raw = _table(tables, "accounts", ("account_id", "segment", "region"))
    accounts = pd.DataFrame(
        {
            "account_id": [_namespaced(source, v) for v in accounts_raw["account_id"]],
            "segment": accounts_raw["segment"].tolist(),
            "region": accounts_raw["region"].tolist(),
        }
    )
    deals, team_of, place_of = _add_scopes(deals, owners, accounts)
    deals["first_win"] = _first_wins(deals)
    first_win_date = {
        a: d
        for a, d, f in zip(
            deals["account_id"], deals["closed_date"], deals["first_win"], strict=True
        )
        if f
    }
    deals["first_win_date"] = [first_win_date.get(a) for a in deals["account_id"]]
    universes = _scope_universes(deals, team_of, place_of, stage_pipelines)

    first_day = min(deals["created_date"])
    period_frames = {g: periods(g, first_day, as_of, fiscal_year_start) for g in GRAINS}
    t_dates = sorted(set().union(*(set(f["t_date"]) for f in period_frames.values())))
    snapshots = _pipeline_snapshots(deals, history, probabilities, t_dates)

    frames = []
    for grain, period_frame in period_frames.items():
        deal_grid = _deal_metrics(
            grain, period_frame, deals, universes, snapshots, fiscal_year_start
        )
        frames.extend(_deal_rows(deal_grid, grain, currency_code))
        account_grid = _account_metrics(period_frame, deals, place_of, universes)
        frames.extend(_account_rows(account_grid, grain, currency_code, margin))
    result = pd.concat(frames, ignore_index=True)
    result["as_of"] = as_of
    result = result.sort_values(
        ["metric", "grain", "period_start", "scope_type", "scope_value"], kind="stable"
    ).reset_index(drop=True)
    return result[list(OUTPUT_COLUMNS)]
