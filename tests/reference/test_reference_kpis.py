"""Tests of the reference KPIs on small CRMs built by hand.

Every expected figure is worked out by hand in the comment next to it, from the rules
in DESIGN.md and tests/reference/kpis.py's docstring, never by running the code. The last
test adds relations that must hold between grains and scopes on a random CRM.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from core.metrics import ACCOUNT_SCOPES, DEAL_SCOPES, GRAINS, METRICS
from tests.reference.kpis import (
    ACCOUNT_METRICS,
    DEAL_METRICS,
    OUTPUT_COLUMNS,
    ReferenceInputError,
    compute_kpis,
    next_period_start,
    period_start,
)

SOURCE = "crm"
D = date.fromisoformat


def deal(deal_id: str, created: str, **fields: object) -> dict[str, object]:
    """A deals-file record: open, EUR 100.00, account a1, owner o1, pipeline 'new'."""
    record: dict[str, object] = {
        "deal_id": deal_id,
        "account_id": "a1",
        "owner_id": "o1",
        "pipeline": "new",
        "stage": "qual",
        "status": "open",
        "amount": "100.00",
        "currency": "EUR",
        "created_at": created,
        "closed_at": None,
        "updated_at": created,
        "contract_start": None,
        "contract_end": None,
        "mrr": None,
    }
    unknown = set(fields) - set(record)
    assert not unknown, f"not a deals column: {unknown}"
    record.update(fields)
    return record


def make_tables(
    deals: list[dict[str, object]],
    *,
    history: list[tuple[str, str, str]] = (),
    accounts: list[tuple[str, str | None, str | None]] = (("a1", "smb", "emea"),),
    owners: list[tuple[str, str | None]] = (("o1", "Direct"),),
    stages: list[tuple[str, str, str]] = (),
    fx_rates: list[tuple[str, str, str]] = (),
) -> dict[str, pd.DataFrame]:
    """The files-contract tables, typed as the files reader hands them out: UTC
    timestamps, Decimal money, dates as datetime.date."""
    frame = pd.DataFrame(deals)
    for column in ("created_at", "closed_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    for column in ("amount", "mrr"):
        frame[column] = [None if pd.isna(v) else Decimal(v) for v in frame[column]]
    for column in ("contract_start", "contract_end"):
        frame[column] = [None if pd.isna(v) else D(v) for v in frame[column]]
    hist = pd.DataFrame(list(history), columns=["deal_id", "stage", "entered_at"])
    hist["entered_at"] = pd.to_datetime(hist["entered_at"], utc=True, format="ISO8601")
    return {
        "deals": frame,
        "stage_history": hist,
        "accounts": pd.DataFrame(
            [(a, f"Account {a}", s, r, None, None) for a, s, r in accounts],
            columns=["account_id", "name", "segment", "region", "industry", "created_at"],
        ),
        "owners": pd.DataFrame(
            [(o, f"Owner {o}", f"{o}@example.com", t) for o, t in owners],
            columns=["owner_id", "name", "email", "team"],
        ),
        "stages": pd.DataFrame(
            [(p, s, Decimal(pr), i) for i, (p, s, pr) in enumerate(stages)],
            columns=["pipeline", "stage", "probability", "display_order"],
        ),
        "fx_rates": pd.DataFrame(
            [(D(d), c, Decimal(r)) for d, c, r in fx_rates], columns=["date", "currency", "rate"]
        ),
    }


class Kpis:
    """The result of compute_kpis, looked up by key."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        keys = ["metric", "grain", "period_start", "scope_type", "scope_value"]
        assert not frame.duplicated(keys).any(), "one row per key"
        self.rows = frame.set_index(keys)

    def row(
        self, metric: str, grain: str, start: str, scope: tuple[str, str] = ("company", "all")
    ) -> pd.Series:
        return self.rows.loc[(metric, grain, D(start), *scope)]

    def value(
        self, metric: str, grain: str, start: str, scope: tuple[str, str] = ("company", "all")
    ) -> float | None:
        return self.row(metric, grain, start, scope)["value"]

    def parts(
        self, metric: str, grain: str, start: str, scope: tuple[str, str] = ("company", "all")
    ) -> tuple[float | None, float | None, float | None]:
        row = self.row(metric, grain, start, scope)
        return row["value"], row["numerator"], row["denominator"]


def kpis(tables: dict[str, pd.DataFrame], as_of: str, **settings: object) -> Kpis:
    return Kpis(compute_kpis(tables, source=SOURCE, as_of=D(as_of), **settings))


# ----------------------------------------------------------------- periods and dates


def test_period_boundaries_with_a_fiscal_year_starting_in_april() -> None:
    # fiscal year from April: quarters Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar
    assert period_start(D("2024-03-31"), "quarter", 4) == D("2024-01-01")
    assert period_start(D("2024-04-01"), "quarter", 4) == D("2024-04-01")
    assert period_start(D("2024-03-31"), "year", 4) == D("2023-04-01")
    assert period_start(D("2024-04-01"), "year", 4) == D("2024-04-01")
    # fiscal year from February: quarters start Feb, May, Aug, Nov; January is in
    # the quarter that started the previous November
    assert period_start(D("2024-01-15"), "quarter", 2) == D("2023-11-01")
    assert period_start(D("2024-01-15"), "year", 2) == D("2023-02-01")
    # ISO weeks start on Monday: 2024-03-03 is a Sunday, its week began Monday 02-26
    assert period_start(D("2024-03-03"), "week") == D("2024-02-26")
    assert next_period_start(D("2023-11-01"), "quarter") == D("2024-02-01")
    assert next_period_start(D("2023-04-01"), "year") == D("2024-04-01")
    assert next_period_start(D("2024-02-26"), "week") == D("2024-03-04")


def test_fiscal_quarters_and_years_starting_in_april() -> None:
    tables = make_tables(
        [
            deal("q1", "2024-02-01T09:00Z", status="won", closed_at="2024-03-31T12:00Z"),
            deal("q2", "2024-02-01T09:00Z", status="won", closed_at="2024-04-01T00:00Z"),
            deal("q3", "2024-02-01T09:00Z", status="won", closed_at="2024-12-15T10:00Z"),
            deal("q4", "2024-02-01T09:00Z", status="won", closed_at="2025-01-10T10:00Z"),
        ]
    )
    k = kpis(tables, "2025-02-15", fiscal_year_start=4)
    # q1 closes in the quarter Jan-Mar 2024 of fiscal year Apr 2023 - Mar 2024
    assert k.value("won_deals", "quarter", "2024-01-01") == 1
    assert k.value("won_deals", "year", "2023-04-01") == 1
    # q2 opens the fiscal year Apr 2024 - Mar 2025 with q3 and q4
    assert k.value("won_deals", "quarter", "2024-04-01") == 1
    assert k.value("won_deals", "quarter", "2024-07-01") == 0
    assert k.value("won_deals", "quarter", "2024-10-01") == 1
    assert k.value("won_deals", "quarter", "2025-01-01") == 1
    assert k.value("won_deals", "year", "2024-04-01") == 3
    # the periods run from the one holding the first creation (2024-02-01) to the one
    # holding as_of (2025-02-15)
    quarters = k.frame[(k.frame["grain"] == "quarter") & (k.frame["metric"] == "won_deals")]
    starts = sorted(set(quarters["period_start"]))
    assert starts == [
        D(s) for s in ("2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01")
    ]
    # Oct-Dec 2024 ended before as_of; Jan-Mar 2025 and fiscal year 2024 (to 2025-03-31) not
    assert k.row("won_deals", "quarter", "2024-10-01")["is_complete"]
    assert not k.row("won_deals", "quarter", "2025-01-01")["is_complete"]
    assert k.row("won_deals", "year", "2023-04-01")["is_complete"]
    assert not k.row("won_deals", "year", "2024-04-01")["is_complete"]


def test_a_deal_closed_at_the_last_second_of_a_month_vs_the_first_second_of_the_next() -> None:
    tables = make_tables(
        [
            deal(
                "d1",
                "2024-01-10T09:00Z",
                status="won",
                amount="100.00",
                closed_at="2024-01-31T23:59:59Z",
            ),
            deal(
                "d2",
                "2024-01-10T09:00Z",
                status="won",
                amount="250.00",
                closed_at="2024-02-01T00:00:00Z",
            ),
        ]
    )
    k = kpis(tables, "2024-03-15")
    assert k.value("won_deals", "month", "2024-01-01") == 1  # d1
    assert k.value("won_deals", "month", "2024-02-01") == 1  # d2
    assert k.value("won_revenue", "month", "2024-01-01") == 100.00
    assert k.value("won_revenue", "month", "2024-02-01") == 250.00
    assert k.value("won_deals", "day", "2024-01-31") == 1
    assert k.value("won_deals", "day", "2024-02-01") == 1
    # cycles: d1 Jan 10 -> Jan 31 = 21 days, d2 Jan 10 -> Feb 1 = 22 days
    assert k.value("sales_cycle_days", "month", "2024-01-01") == 21
    assert k.value("sales_cycle_days", "month", "2024-02-01") == 22
    # end of January is t = Feb 1: d1 closed Jan 31 < t is out, d2 closed Feb 1 >= t is in
    assert k.value("pipeline_value", "month", "2024-01-01") == 250.00
    # end of February: both closed
    assert k.value("pipeline_value", "month", "2024-02-01") == 0


def test_an_offset_timestamp_in_another_utc_month_follows_the_reporting_timezone() -> None:
    # 2024-03-01T00:30+01:00 is 2024-02-29T23:30Z: March in Paris, February in UTC
    tables = make_tables(
        [
            deal(
                "tz",
                "2024-02-10T10:00:00+01:00",
                status="won",
                amount="80.00",
                closed_at="2024-03-01T00:30:00+01:00",
            ),
        ]
    )
    utc = kpis(tables, "2024-03-31", timezone="UTC")
    assert utc.value("won_deals", "month", "2024-02-01") == 1
    assert utc.value("won_deals", "month", "2024-03-01") == 0
    assert utc.value("won_deals", "day", "2024-02-29") == 1
    assert utc.value("sales_cycle_days", "month", "2024-02-01") == 19  # Feb 10 -> Feb 29

    paris = kpis(tables, "2024-03-31", timezone="Europe/Paris")
    assert paris.value("won_deals", "month", "2024-02-01") == 0
    assert paris.value("won_deals", "month", "2024-03-01") == 1
    assert paris.value("won_deals", "day", "2024-03-01") == 1
    assert paris.value("won_revenue", "month", "2024-03-01") == 80.00
    assert paris.value("sales_cycle_days", "month", "2024-03-01") == 20  # Feb 10 -> Mar 1 (leap)
    # the end of February (t = Mar 1) finds the deal still open in Paris only
    assert paris.value("pipeline_value", "month", "2024-02-01") == 80.00
    assert utc.value("pipeline_value", "month", "2024-02-01") == 0


def test_offset_text_timestamps_read_like_parsed_ones() -> None:
    records = [
        deal(
            "tz", "2024-02-10T10:00:00+01:00", status="won", closed_at="2024-03-01T00:30:00+01:00"
        ),
        deal("naive", "2024-02-12 08:00:00", status="lost", closed_at="2024-02-20 17:00:00"),
    ]
    parsed = make_tables(records)
    as_text = dict(parsed, deals=pd.DataFrame(records).assign(amount=Decimal("100.00")))
    expected = compute_kpis(parsed, source=SOURCE, as_of=D("2024-03-31"), timezone="Europe/Paris")
    got = compute_kpis(as_text, source=SOURCE, as_of=D("2024-03-31"), timezone="Europe/Paris")
    pd.testing.assert_frame_equal(got, expected)


# ------------------------------------------------------------------- closed deals


def test_median_cycle_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    def won(deal_id: str, created: str, closed: str, owner: str) -> dict[str, object]:
        return deal(
            deal_id, f"{created}T12:00Z", status="won", closed_at=f"{closed}T12:00Z", owner_id=owner
        )

    tables = make_tables(
        [
            won("c10", "2024-03-22", "2024-04-01", "o1"),  # 10 days
            won("c20", "2024-03-12", "2024-04-01", "o2"),  # 20 days
            won("c30", "2024-03-02", "2024-04-01", "o1"),  # 30 days
            won("c70", "2024-01-22", "2024-04-01", "o2"),  # 70 days (2024 is a leap year)
            won("c05", "2024-04-25", "2024-04-30", "o1"),  # 5 days
            # lost deals have no cycle
            deal("lost", "2023-12-01T12:00Z", status="lost", closed_at="2024-04-02T12:00Z"),
        ],
        owners=[("o1", "Direct"), ("o2", "Direct")],
    )
    k = kpis(tables, "2024-05-10")
    # April: 5, 10, 20, 30, 70 -> 20; the day 2024-04-01: 10, 20, 30, 70 -> (20 + 30) / 2
    assert k.value("sales_cycle_days", "month", "2024-04-01") == 20
    assert k.value("sales_cycle_days", "day", "2024-04-01") == 25
    # owner o1 on 2024-04-01: 10, 30 -> 20; o2: 20, 70 -> 45
    assert k.value("sales_cycle_days", "day", "2024-04-01", ("owner", "crm:o1")) == 20
    assert k.value("sales_cycle_days", "day", "2024-04-01", ("owner", "crm:o2")) == 45
    # week of Monday 2024-04-29: only c05
    assert k.value("sales_cycle_days", "week", "2024-04-29") == 5


def test_a_period_without_closed_deals_has_zero_counts_and_null_ratios() -> None:
    tables = make_tables(
        [
            deal(
                "w1",
                "2024-01-02T10:00Z",
                status="won",
                amount="300.00",
                closed_at="2024-01-15T10:00Z",
            ),
            deal(
                "w2",
                "2024-01-02T10:00Z",
                status="won",
                amount="100.00",
                closed_at="2024-01-20T10:00Z",
                owner_id="o2",
            ),
            deal("l1", "2024-01-03T10:00Z", status="lost", closed_at="2024-01-25T10:00Z"),
            deal(
                "w3",
                "2024-01-04T10:00Z",
                status="won",
                amount="50.00",
                closed_at="2024-03-05T10:00Z",
            ),
        ],
        owners=[("o1", "Direct"), ("o2", None), ("idle", "Partners")],
    )
    k = kpis(tables, "2024-03-31")
    # January: won w1, w2, lost l1 -> win rate 2 / 3; avg deal size (300 + 100) / 2
    assert k.parts("win_rate", "month", "2024-01-01") == (2 / 3, 2, 3)
    assert k.parts("avg_deal_size", "month", "2024-01-01") == (200.0, 400.0, 2)
    # February: nothing closed
    assert k.value("won_deals", "month", "2024-02-01") == 0
    assert k.value("lost_deals", "month", "2024-02-01") == 0
    assert k.value("won_revenue", "month", "2024-02-01") == 0
    assert k.value("new_customers", "month", "2024-02-01") == 0
    assert k.value("deals_created", "month", "2024-02-01") == 0
    assert k.parts("win_rate", "month", "2024-02-01") == (None, 0, 0)
    assert k.parts("avg_deal_size", "month", "2024-02-01") == (None, 0, 0)
    assert k.parts("sales_cycle_days", "month", "2024-02-01") == (None, None, None)
    # an owner with no deals still has rows, with zeros and nulls
    idle = ("owner", "crm:idle")
    assert k.value("won_deals", "month", "2024-01-01", idle) == 0
    assert k.parts("win_rate", "month", "2024-01-01", idle) == (None, 0, 0)
    assert k.value("pipeline_value", "month", "2024-01-01", ("team", "Partners")) == 0
    # o2 has no team: its deal w2 counts under team "(none)"
    assert k.value("won_deals", "month", "2024-01-01", ("team", "(none)")) == 1
    assert k.value("won_deals", "month", "2024-01-01", ("team", "Direct")) == 1  # w1
    # l1 was lost on Jan 25; w1, w2 won before: January's last day finds only w3 open
    assert k.value("pipeline_value", "day", "2024-01-31") == 50.00


def test_new_customers_count_each_accounts_first_win_under_that_deal() -> None:
    tables = make_tables(
        [
            # account p: two wins at the same instant; "crm:p10" < "crm:p2" as strings,
            # so p10 (owner o2) is the first win, not p2 (owner o1)
            deal(
                "p2",
                "2024-01-02T09:00Z",
                account_id="p",
                owner_id="o1",
                status="won",
                closed_at="2024-01-10T12:00Z",
            ),
            deal(
                "p10",
                "2024-01-02T09:00Z",
                account_id="p",
                owner_id="o2",
                status="won",
                closed_at="2024-01-10T12:00Z",
                pipeline="renewals",
            ),
            # a lost deal earlier does not make a customer
            deal(
                "p0",
                "2024-01-02T09:00Z",
                account_id="p",
                owner_id="o2",
                status="lost",
                closed_at="2024-01-05T12:00Z",
            ),
            # account q: first win in January, second in February
            deal(
                "q1",
                "2024-01-03T09:00Z",
                account_id="q",
                owner_id="o1",
                status="won",
                closed_at="2024-01-20T12:00Z",
            ),
            deal(
                "q2",
                "2024-01-03T09:00Z",
                account_id="q",
                owner_id="o1",
                status="won",
                closed_at="2024-02-03T12:00Z",
            ),
            # a win without account is no customer
            deal(
                "x",
                "2024-01-03T09:00Z",
                account_id=None,
                status="won",
                closed_at="2024-01-21T12:00Z",
            ),
        ],
        accounts=[("p", "ent", "emea"), ("q", "smb", None)],
        owners=[("o1", "Direct"), ("o2", "Direct")],
    )
    k = kpis(tables, "2024-02-29")
    assert k.value("new_customers", "month", "2024-01-01") == 2  # p (via p10) and q
    assert k.value("new_customers", "month", "2024-02-01") == 0  # q2 is q's second win
    assert k.value("new_customers", "month", "2024-01-01", ("owner", "crm:o1")) == 1  # q1
    assert k.value("new_customers", "month", "2024-01-01", ("owner", "crm:o2")) == 1  # p10
    assert k.value("new_customers", "month", "2024-01-01", ("pipeline", "renewals")) == 1
    assert k.value("new_customers", "month", "2024-01-01", ("pipeline", "new")) == 1
    assert k.value("new_customers", "month", "2024-01-01", ("segment", "ent")) == 1
    assert k.value("new_customers", "month", "2024-01-01", ("region", "(none)")) == 1  # q
    assert k.value("new_customers", "month", "2024-01-01", ("segment", "(none)")) == 0  # x
    assert k.value("won_deals", "month", "2024-01-01", ("segment", "(none)")) == 1  # x


# ---------------------------------------------------------------------------- money


def test_fx_conversion_uses_the_latest_rate_on_or_before_the_day_rounded_half_up() -> None:
    tables = make_tables(
        [
            # created Dec 28 (rate 0.8) but closed Jan 2, so converted on Jan 2: no rate that
            # day, the Jan 1 rate 0.9 applies: 100 x 0.9 = 90.00
            deal(
                "u1",
                "2023-12-28T08:00Z",
                currency="USD",
                amount="100.00",
                status="won",
                closed_at="2024-01-02T10:00Z",
                contract_start="2024-01-02",
                contract_end="2024-12-31",
                mrr="10.00",
            ),
            # 1.25 x 0.9 = 1.125 -> 1.13 half up (banker's rounding would give 1.12)
            deal(
                "u2",
                "2024-01-01T08:00Z",
                currency="USD",
                amount="1.25",
                status="won",
                closed_at="2024-01-02T11:00Z",
                account_id="a2",
            ),
            # open: converted on its creation day Jan 3, at that day's rate: 200 x 0.95
            deal("u3", "2024-01-03T08:00Z", currency="usd", amount="200.00"),
            # EUR needs no rate
            deal("e1", "2024-01-05T08:00Z", amount="7.00"),
        ],
        accounts=[("a1", "smb", "emea"), ("a2", "smb", "emea")],
        fx_rates=[
            ("2023-12-01", "USD", "0.8"),
            ("2024-01-01", "USD", "0.9"),
            ("2024-01-03", "USD", "0.95"),
        ],
    )
    k = kpis(tables, "2024-02-10")
    assert k.value("won_revenue", "month", "2024-01-01") == 91.13  # 90.00 + 1.13
    assert k.value("won_revenue", "day", "2024-01-02", ("owner", "crm:o1")) == 91.13
    assert k.row("won_revenue", "month", "2024-01-01")["unit"] == "EUR"
    assert k.value("pipeline_value", "month", "2024-01-01") == 197.00  # 190.00 + 7.00
    # mrr 10.00 at the close-day rate 0.9: 9.00, one active account on Feb 1
    assert k.parts("arpa", "month", "2024-02-01") == (9.0, 9.0, 1)


def test_a_currency_without_any_usable_rate_is_an_error_naming_the_deal() -> None:
    no_gbp = make_tables(
        [deal("g1", "2024-01-05T08:00Z", currency="GBP", amount="10.00")],
        fx_rates=[("2024-01-01", "USD", "0.9")],
    )
    with pytest.raises(ReferenceInputError, match=r"deal_id='g1'.*GBP"):
        compute_kpis(no_gbp, source=SOURCE, as_of=D("2024-01-31"))
    # a rate exists, but only after the deal's day
    too_late = make_tables(
        [deal("u1", "2023-12-20T08:00Z", currency="USD", amount="10.00")],
        fx_rates=[("2024-01-01", "USD", "0.9")],
    )
    with pytest.raises(ReferenceInputError, match=r"deal_id='u1'.*USD.*2023-12-20"):
        compute_kpis(too_late, source=SOURCE, as_of=D("2024-01-31"))
    # the reporting currency itself needs no rate: USD deals in a USD warehouse are fine
    k = kpis(too_late, "2024-01-31", reporting_currency="USD")
    assert k.value("pipeline_value", "month", "2023-12-01") == 10.00
    assert k.row("pipeline_value", "month", "2023-12-01")["unit"] == "USD"


def test_float_money_gives_the_same_rows_as_decimal_money() -> None:
    tables = make_tables(
        [
            deal(
                "u1",
                "2024-01-01T08:00Z",
                currency="USD",
                amount="0.10",
                status="won",
                closed_at="2024-01-02T10:00Z",
                contract_start="2024-01-02",
                contract_end="2024-12-31",
                mrr="0.30",
            ),
            deal("u2", "2024-01-01T08:00Z", stage="demo", amount="33.35"),
        ],
        stages=[("new", "demo", "0.3")],
        fx_rates=[("2024-01-01", "USD", "1.15")],
    )
    floats = {name: frame.copy() for name, frame in tables.items()}
    for name, column in [
        ("deals", "amount"),
        ("deals", "mrr"),
        ("fx_rates", "rate"),
        ("stages", "probability"),
    ]:
        floats[name][column] = [None if v is None else float(v) for v in floats[name][column]]
    expected = compute_kpis(tables, source=SOURCE, as_of=D("2024-02-05"))
    got = compute_kpis(floats, source=SOURCE, as_of=D("2024-02-05"))
    pd.testing.assert_frame_equal(got, expected)
    k = Kpis(got)
    # 0.10 x 1.15 = 0.115 -> 0.12; 33.35 x 0.3 = 10.005 -> 10.01 (floats would round down)
    assert k.value("won_revenue", "month", "2024-01-01") == 0.12
    assert k.value("weighted_pipeline_value", "month", "2024-01-01") == 10.01


# ------------------------------------------------------------------------- pipeline


PIPELINE_STAGES = [("new", "qual", "0.1"), ("new", "demo", "0.4"), ("new", "prop", "0.7")]


def pipeline_tables() -> dict[str, pd.DataFrame]:
    return make_tables(
        [
            deal("A", "2024-01-05T10:00Z", amount="1000.00", stage="prop"),
            deal(
                "B",
                "2024-01-20T10:00Z",
                amount="333.33",
                stage="won",
                status="won",
                closed_at="2024-02-10T10:00Z",
            ),
            deal("C", "2024-01-10T10:00Z", amount="500.00", stage="prop"),  # no history
            deal("D", "2024-01-31T12:00Z", amount="200.00", stage="prop"),
            deal("E", "2024-01-02T10:00Z", amount="50.00", stage="mystery"),  # not in stages
            deal("F", "2024-01-03T10:00Z", amount="12.25", stage="qual"),
        ],
        history=[
            ("A", "qual", "2024-01-05T10:00Z"),
            ("A", "demo", "2024-01-31T23:30Z"),  # Feb 1, 00:30 in Paris
            ("A", "prop", "2024-02-01T08:00Z"),
            ("B", "qual", "2024-01-20T10:00Z"),
            ("B", "prop", "2024-02-05T10:00Z"),
            ("B", "won", "2024-02-10T10:00Z"),
            ("D", "demo", "2024-02-03T10:00Z"),  # D's only row: after the end of January
            ("F", "qual", "2024-01-03T10:00Z"),
        ],
        stages=PIPELINE_STAGES,
    )


def test_pipeline_and_weighted_pipeline_at_period_ends_with_stage_changes() -> None:
    k = kpis(pipeline_tables(), "2024-02-20")
    # end of January, t = Feb 1: all six deals created before, none closed.
    # 1000 + 333.33 + 500 + 200 + 50 + 12.25
    assert k.value("pipeline_value", "month", "2024-01-01") == 2095.58
    # A in demo (Jan 31 < t): 400.00; B in qual: 33.333 -> 33.33; C's current stage prop:
    # 350.00; D has no row before t, its first row demo: 80.00; E unknown stage: 0;
    # F qual: 1.225 -> 1.23 (half up)  => 400 + 33.33 + 350 + 80 + 0 + 1.23
    assert k.value("weighted_pipeline_value", "month", "2024-01-01") == 864.56
    # the day Jan 31 ends at the same t
    assert k.value("weighted_pipeline_value", "day", "2024-01-31") == 864.56
    # February holds as_of, t = Feb 21: B closed Feb 10; A in prop (Feb 1): 700.00, C 350.00,
    # D demo (Feb 3): 80.00, E 0, F 1.23
    assert k.value("pipeline_value", "month", "2024-02-01") == 1762.25  # 1000+500+200+50+12.25
    assert k.value("weighted_pipeline_value", "month", "2024-02-01") == 1131.23
    assert not k.row("pipeline_value", "month", "2024-02-01")["is_complete"]
    # the day Jan 4 ends at t = Jan 5: E (Jan 2) and F (Jan 3); A was created on Jan 5
    assert k.value("pipeline_value", "day", "2024-01-04") == 62.25
    assert k.value("weighted_pipeline_value", "day", "2024-01-04") == 1.23
    # week of Monday Feb 5, t = Feb 12: B closed Feb 10; A prop 700, C 350, D 80, F 1.23
    assert k.value("weighted_pipeline_value", "week", "2024-02-05") == 1131.23
    # week of Monday Jan 29 ends at t = Feb 5: B entered prop on Feb 5, not before t, so
    # it is still in qual: A prop (Feb 1) 700 + B 33.33 + C 350 + D demo (Feb 3) 80 + F 1.23
    assert k.value("weighted_pipeline_value", "week", "2024-01-29") == 1164.56


def test_stage_changes_are_dated_in_the_reporting_timezone() -> None:
    k = kpis(pipeline_tables(), "2024-02-20", timezone="Europe/Paris")
    # A entered demo on Feb 1 in Paris, not before t = Feb 1: still qual, 100.00 instead
    # of 400.00 => 864.56 - 300
    assert k.value("weighted_pipeline_value", "month", "2024-01-01") == 564.56
    assert k.value("pipeline_value", "month", "2024-01-01") == 2095.58


# ------------------------------------------------------------------------ the as-of cut


def test_the_as_of_cut_treats_later_closes_as_open_and_ignores_later_records() -> None:
    tables = make_tables(
        [
            # won one second after the end of as_of: open at the end of January
            deal(
                "late",
                "2024-01-05T10:00Z",
                stage="won",
                status="won",
                closed_at="2024-02-01T00:00:01Z",
                contract_start="2024-01-20",
                contract_end="2024-12-31",
                mrr="10.00",
            ),
            # USD, won after as_of: converted at its creation day's rate (0.5), not 2.0
            deal(
                "usd",
                "2024-01-03T10:00Z",
                currency="USD",
                amount="200.00",
                status="won",
                stage="won",
                closed_at="2024-02-05T10:00Z",
            ),
            deal("lost", "2024-01-10T10:00Z", status="lost", closed_at="2024-01-31T23:59:59Z"),
            # created after as_of: does not exist yet
            deal("future", "2024-02-01T00:00:00Z", amount="999.00"),
        ],
        history=[
            ("late", "demo", "2024-01-10T10:00Z"),
            ("late", "won", "2024-02-01T00:00:01Z"),  # after as_of: did not happen yet
        ],
        stages=[("new", "demo", "0.4"), ("new", "won", "1"), ("new", "qual", "0.1")],
        fx_rates=[("2024-01-01", "USD", "0.5"), ("2024-02-05", "USD", "2.0")],
    )
    k = kpis(tables, "2024-01-31")
    assert k.value("won_deals", "month", "2024-01-01") == 0
    assert k.parts("win_rate", "month", "2024-01-01") == (0.0, 0, 1)  # lost only
    assert k.value("new_customers", "month", "2024-01-01") == 0
    assert k.value("deals_created", "month", "2024-01-01") == 3  # not "future"
    # t = Feb 1: late 100.00 + usd 200 x 0.5 = 100.00
    assert k.value("pipeline_value", "month", "2024-01-01") == 200.00
    # late in demo (its move to won is after as_of): 40.00; usd has no history, its
    # current stage won weighs 1: 100.00
    assert k.value("weighted_pipeline_value", "month", "2024-01-01") == 140.00
    # late is not a won deal yet, so its contract makes no account active
    assert k.parts("arpa", "day", "2024-01-25") == (None, 0, 0)
    # January ends on as_of: complete; no period after it exists
    assert k.row("won_deals", "month", "2024-01-01")["is_complete"]
    assert max(k.frame["period_start"]) == D("2024-01-31")
    assert set(k.frame["as_of"]) == {D("2024-01-31")}


# ------------------------------------------------------------------ account metrics


def account_tables() -> dict[str, pd.DataFrame]:
    def won(deal_id: str, account: str | None, closed: str, start: str, end: str, mrr: str) -> dict:
        return deal(
            deal_id,
            "2023-12-01T10:00Z",
            account_id=account,
            status="won",
            closed_at=f"{closed}T10:00Z",
            contract_start=start,
            contract_end=end,
            mrr=mrr,
        )

    return make_tables(
        [
            # X renews: Jan-Mar, then Apr-Dec
            won("x1", "X", "2024-01-01", "2024-01-01", "2024-03-31", "100.00"),
            won("x2", "X", "2024-03-20", "2024-04-01", "2024-12-31", "120.00"),
            # Y churns: its contract ends Feb 29
            won("y1", "Y", "2024-01-01", "2024-01-01", "2024-02-29", "50.00"),
            # Z: overlapping contracts, Jan 15 - Jun 30 and Mar 1 - Apr 30
            won("z1", "Z", "2024-01-10", "2024-01-15", "2024-06-30", "200.00"),
            won("z2", "Z", "2024-02-20", "2024-03-01", "2024-04-30", "30.00"),
            # no account: its contract makes no account active and adds no MRR
            won("n1", None, "2024-01-01", "2024-01-01", "2024-12-31", "999.00"),
        ],
        accounts=[
            ("X", "smb", "emea"),
            ("Y", "smb", "emea"),
            ("Z", "ent", "emea"),
            ("W", "mid", None),
        ],
    )


def test_churn_of_an_account_that_renews_vs_one_that_churns() -> None:
    k = kpis(account_tables(), "2024-06-15", gross_margin=Decimal("0.8"))
    # Dec 1: nobody active
    assert k.parts("churn_rate", "month", "2023-12-01") == (None, 0, 0)
    # Jan 1: X, Y active (Z from Jan 15); Feb 1: both still active
    assert k.parts("churn_rate", "month", "2024-01-01") == (0.0, 0, 2)
    # Feb 1: X, Y, Z; Mar 1: Y's contract ended Feb 29
    assert k.parts("churn_rate", "month", "2024-02-01") == (1 / 3, 1, 3)
    assert k.parts("churn_rate", "month", "2024-02-01", ("segment", "smb")) == (0.5, 1, 2)
    assert k.parts("churn_rate", "month", "2024-02-01", ("segment", "ent")) == (0.0, 0, 1)
    # Mar 1: X, Z; Apr 1: X renewed (x2 starts that day), Z still active
    assert k.parts("churn_rate", "month", "2024-03-01") == (0.0, 0, 2)
    # Q1 from Jan 1 (X, Y) to Apr 1 (X, Z): Y lost; Z was not active on Jan 1
    assert k.parts("churn_rate", "quarter", "2024-01-01") == (0.5, 1, 2)
    # the day Feb 29 is Y's last contract day: active that day, gone the next
    assert k.parts("churn_rate", "day", "2024-02-29") == (1 / 3, 1, 3)
    assert k.parts("arpa", "day", "2024-02-29") == (350 / 3, 350.0, 3)  # y1 still counts
    # June holds as_of and is not over: no churn figure at all
    assert k.parts("churn_rate", "month", "2024-06-01") == (None, None, None)
    assert not k.row("churn_rate", "month", "2024-06-01")["is_complete"]
    # the day as_of is complete: X and Z active on Jun 15 and on Jun 16
    assert k.parts("churn_rate", "day", "2024-06-15") == (0.0, 0, 2)
    # a period that ends on as_of is complete and has its churn: with as_of May 31,
    # May 1 (X, Z) -> Jun 1 (X, Z)
    may = kpis(account_tables(), "2024-05-31")
    assert may.row("churn_rate", "month", "2024-05-01")["is_complete"]
    assert may.parts("churn_rate", "month", "2024-05-01") == (0.0, 0, 2)
    # a segment whose only account never had a contract
    assert k.parts("churn_rate", "month", "2024-02-01", ("segment", "mid")) == (None, 0, 0)
    assert k.parts("arpa", "month", "2024-02-01", ("region", "(none)")) == (None, 0, 0)


def test_arpa_sums_overlapping_contracts_but_counts_the_account_once() -> None:
    k = kpis(account_tables(), "2024-06-15", gross_margin=Decimal("0.8"))
    assert k.parts("arpa", "month", "2024-01-01") == (75.0, 150.0, 2)  # (x1 100 + y1 50) / 2
    assert k.parts("arpa", "month", "2024-02-01") == (350 / 3, 350.0, 3)  # 100 + 50 + 200
    # Mar 1: x1 100 + z1 200 + z2 30, accounts X and Z
    assert k.parts("arpa", "month", "2024-03-01") == (165.0, 330.0, 2)
    assert k.parts("arpa", "month", "2024-03-01", ("segment", "ent")) == (230.0, 230.0, 1)
    # Apr 1: x2 120 + z1 200 + z2 30
    assert k.parts("arpa", "month", "2024-04-01") == (175.0, 350.0, 2)
    # May 1: z2 ended Apr 30: 120 + 200
    assert k.parts("arpa", "month", "2024-05-01") == (160.0, 320.0, 2)
    # June holds as_of, but arpa is taken on its first day, which has passed
    assert k.parts("arpa", "month", "2024-06-01") == (160.0, 320.0, 2)
    # the day Jan 15: Z's contract starts: (100 + 50 + 200) / 3
    assert k.parts("arpa", "day", "2024-01-15") == (350 / 3, 350.0, 3)
    assert k.parts("arpa", "day", "2024-01-14") == (75.0, 150.0, 2)


def test_ltv_is_month_arpa_times_margin_over_the_mean_churn_of_the_last_12_months() -> None:
    k = kpis(account_tables(), "2024-06-15", gross_margin=Decimal("0.8"))
    # monthly churn: Dec none, Jan 0, Feb 1/3, Mar 0, Apr 0 (X, Z on Apr 1 and May 1),
    # May 0 (X, Z on May 1 and Jun 1), Jun not complete
    # Dec: no arpa and no month with a churn rate
    assert k.parts("ltv", "month", "2023-12-01") == (None, None, None)
    # Jan: arpa 75 x 0.8 = 60; mean churn of Jan = 0 -> no value
    assert k.parts("ltv", "month", "2024-01-01") == (None, 60.0, 0.0)
    # Feb: arpa 350/3 x 0.8; mean of 0 and 1/3 = 1/6 -> 350/3 x 0.8 x 6 = 560
    value, numerator, denominator = k.parts("ltv", "month", "2024-02-01")
    assert numerator == pytest.approx(350 / 3 * 0.8, rel=1e-12)
    assert denominator == pytest.approx(1 / 6, rel=1e-12)
    assert value == pytest.approx(560.0, rel=1e-12)
    # Mar: 165 x 0.8 = 132 over (0 + 1/3 + 0) / 3 = 1/9 -> 1188
    assert k.value("ltv", "month", "2024-03-01") == pytest.approx(1188.0, rel=1e-12)
    # Jun: 160 x 0.8 = 128 over (0 + 1/3 + 0 + 0 + 0) / 5 = 1/15 -> 1920
    assert k.value("ltv", "month", "2024-06-01") == pytest.approx(1920.0, rel=1e-12)
    # segment smb in Feb: arpa (100 + 50) / 2 = 75 x 0.8 = 60 over (0 + 1/2) / 2 -> 240
    assert k.value("ltv", "month", "2024-02-01", ("segment", "smb")) == pytest.approx(240.0)
    # no ltv at other grains
    assert set(k.frame.loc[k.frame["metric"] == "ltv", "grain"]) == {"month"}


def test_ltv_looks_back_twelve_months_only() -> None:
    # A churns in Jan 2023 (active Jan 1, not Feb 1); B stays active throughout
    tables = make_tables(
        [
            deal(
                "a",
                "2023-01-01T10:00Z",
                account_id="A",
                status="won",
                closed_at="2023-01-01T10:00Z",
                contract_start="2023-01-01",
                contract_end="2023-01-31",
                mrr="10.00",
            ),
            deal(
                "b",
                "2023-01-01T10:00Z",
                account_id="B",
                status="won",
                closed_at="2023-01-01T10:00Z",
                contract_start="2023-01-01",
                contract_end="2025-12-31",
                mrr="30.00",
            ),
        ],
        accounts=[("A", "smb", "emea"), ("B", "smb", "emea")],
    )
    k = kpis(tables, "2024-02-10")
    # Jan 2023 churn 1/2, then 0 every month. Dec 2023 looks at Jan..Dec 2023:
    # mean 0.5 / 12 -> arpa 30 (B alone on Dec 1) x 1 / (1/24) = 720
    assert k.value("ltv", "month", "2023-12-01") == pytest.approx(720.0, rel=1e-12)
    # Jan 2024 looks at Feb 2023..Jan 2024: all 0 -> no value
    assert k.parts("ltv", "month", "2024-01-01") == (None, 30.0, 0.0)


# ------------------------------------------------------------------ shape of the result


def test_every_metric_has_a_row_for_every_period_and_scope_value() -> None:
    tables = make_tables(
        [
            deal("d1", "2024-01-30T10:00Z", owner_id=None, account_id="ghost"),
            deal(
                "d2",
                "2024-02-02T10:00Z",
                status="won",
                closed_at="2024-02-03T10:00Z",
                pipeline="renewals",
            ),
        ],
        accounts=[("a1", "smb", "emea"), ("a2", None, "na")],
        owners=[("o1", "Direct"), ("o2", None)],
        stages=[("new", "qual", "0.1"), ("partner", "qual", "0.2")],
    )
    result = compute_kpis(tables, source=SOURCE, as_of=D("2024-02-05"))
    assert list(result.columns) == list(OUTPUT_COLUMNS)
    universes = {
        "company": {"all"},
        # owners o1, o2 and d1's missing owner
        "owner": {"crm:o1", "crm:o2", "(none)"},
        "team": {"Direct", "(none)"},
        # accounts' values, plus "(none)" from a2's segment and d1's unknown account
        "segment": {"smb", "(none)"},
        "region": {"emea", "na", "(none)"},
        # stages' pipelines plus the deals'
        "pipeline": {"new", "partner", "renewals"},
        # the deals' channels: neither has one
        "channel": {"(none)"},
    }
    # days Jan 30 .. Feb 5; ISO weeks of Jan 29 and Feb 5; months Jan, Feb; Q1; 2024
    period_counts = {"day": 7, "week": 2, "month": 2, "quarter": 1, "year": 1}
    for metric in METRICS:
        scope_types = ACCOUNT_SCOPES if metric in ACCOUNT_METRICS else DEAL_SCOPES
        grains = ("month",) if metric == "ltv" else GRAINS
        rows = result[result["metric"] == metric]
        scope_values = sum(len(universes[s]) for s in scope_types)
        assert len(rows) == sum(period_counts[g] for g in grains) * scope_values, metric
        for scope_type in scope_types:
            found = set(rows.loc[rows["scope_type"] == scope_type, "scope_value"])
            assert found == universes[scope_type], (metric, scope_type)
    assert max(result["period_start"]) == D("2024-02-05")
    assert min(result["period_start"]) == D("2024-01-01")  # Q1 and the year
    assert not result.duplicated(
        ["metric", "grain", "period_start", "scope_type", "scope_value"]
    ).any()
    # d1's account is not in the accounts file: segment and region "(none)"
    k = Kpis(result)
    assert k.value("deals_created", "day", "2024-01-30", ("segment", "(none)")) == 1
    assert k.value("deals_created", "day", "2024-01-30", ("owner", "(none)")) == 1
    assert k.value("deals_created", "day", "2024-01-30", ("team", "(none)")) == 1


def test_the_catalogue_matches_crm_kpi_metrics() -> None:
    units = {**DEAL_METRICS, **ACCOUNT_METRICS}
    assert set(units) == set(METRICS)
    for name, metric in METRICS.items():
        assert units[name] == metric.unit, name
        expected_scopes = ACCOUNT_SCOPES if name in ACCOUNT_METRICS else DEAL_SCOPES
        assert set(metric.scopes) == set(expected_scopes), name
        assert metric.grains == (("month",) if name == "ltv" else GRAINS), name


def test_stages_and_fx_rates_are_optional() -> None:
    tables = make_tables([deal("d1", "2024-01-05T10:00Z", amount="40.00", stage="demo")])
    del tables["stages"], tables["fx_rates"]
    k = kpis(tables, "2024-01-31")
    assert k.value("pipeline_value", "month", "2024-01-01") == 40.00
    # no stages table: no stage has a probability, so every weight is 0
    assert k.value("weighted_pipeline_value", "month", "2024-01-01") == 0
    pipelines = k.frame.loc[k.frame["scope_type"] == "pipeline", "scope_value"]
    assert set(pipelines) == {"new"}


def test_no_deal_by_as_of_gives_no_rows() -> None:
    tables = make_tables([deal("d1", "2024-03-01T10:00Z")])
    result = compute_kpis(tables, source=SOURCE, as_of=D("2024-02-28"))
    assert result.empty
    assert list(result.columns) == list(OUTPUT_COLUMNS)


# -------------------------------------------------------------------------- bad input


def test_bad_input_is_reported_with_table_record_and_field() -> None:
    good = make_tables([deal("d1", "2024-01-05T10:00Z")])
    with pytest.raises(ReferenceInputError, match=r"tables\['owners'\] is missing"):
        compute_kpis(
            {k: v for k, v in good.items() if k != "owners"}, source=SOURCE, as_of=D("2024-01-31")
        )
    with pytest.raises(ReferenceInputError, match=r"deals: column\(s\) status missing"):
        compute_kpis(
            dict(good, deals=good["deals"].drop(columns="status")),
            source=SOURCE,
            as_of=D("2024-01-31"),
        )
    bad_status = make_tables([deal("d1", "2024-01-05T10:00Z", status="closed")])
    with pytest.raises(ReferenceInputError, match=r"deal_id='d1'.*status 'closed'"):
        compute_kpis(bad_status, source=SOURCE, as_of=D("2024-01-31"))
    bad_amount = dict(good, deals=good["deals"].assign(amount=["ten"]))
    with pytest.raises(ReferenceInputError, match=r"deal_id='d1'.*'amount'.*'ten'"):
        compute_kpis(bad_amount, source=SOURCE, as_of=D("2024-01-31"))
    bad_time = dict(good, deals=good["deals"].assign(created_at=["not a date"]))
    with pytest.raises(ReferenceInputError, match=r"deal_id='d1'.*'created_at'.*'not a date'"):
        compute_kpis(bad_time, source=SOURCE, as_of=D("2024-01-31"))
    duplicate = make_tables([deal("d1", "2024-01-05T10:00Z"), deal("d1", "2024-01-06T10:00Z")])
    with pytest.raises(ReferenceInputError, match=r"'d1' occurs more than once"):
        compute_kpis(duplicate, source=SOURCE, as_of=D("2024-01-31"))
    with pytest.raises(ReferenceInputError, match=r"fiscal_year_start=13"):
        compute_kpis(good, source=SOURCE, as_of=D("2024-01-31"), fiscal_year_start=13)
    with pytest.raises(ReferenceInputError, match=r"Mars/Olympus"):
        compute_kpis(good, source=SOURCE, as_of=D("2024-01-31"), timezone="Mars/Olympus")


# ------------------------------------------------------- invariants on a random CRM


def random_tables(seed: int) -> dict[str, pd.DataFrame]:
    rng = random.Random(seed)
    records, history = [], []
    for i in range(150):
        created = date(2023, 6, 1) + timedelta(days=rng.randrange(300))
        status = rng.choice(["open", "won", "won", "lost"])
        closed = created + timedelta(days=rng.randrange(0, 90)) if status != "open" else None
        start = closed if status == "won" and rng.random() < 0.8 else None
        records.append(
            deal(
                f"d{i}",
                f"{created}T{rng.randrange(24):02d}:30Z",
                account_id=f"a{rng.randrange(40)}",
                owner_id=rng.choice(["o1", "o2", "o3", None]),
                pipeline=rng.choice(["new", "renewals"]),
                stage=rng.choice(["qual", "demo", "prop"]),
                status=status,
                amount=f"{rng.randrange(100, 500000) / 100:.2f}",
                currency=rng.choice(["EUR", "USD"]),
                closed_at=None if closed is None else f"{closed}T{rng.randrange(24):02d}:15Z",
                contract_start=None if start is None else str(start),
                contract_end=None
                if start is None
                else str(start + timedelta(days=rng.choice([30, 90, 364]))),
                mrr=None if start is None else f"{rng.randrange(1000, 90000) / 100:.2f}",
            )
        )
        for j, stage in enumerate(["qual", "demo", "prop"][: rng.randrange(4)]):
            history.append((f"d{i}", stage, f"{created + timedelta(days=7 * j)}T09:00Z"))
    return make_tables(
        records,
        history=history,
        accounts=[
            (f"a{i}", rng.choice(["smb", "ent", None]), rng.choice(["emea", "na"]))
            for i in range(40)
        ],
        owners=[("o1", "Direct"), ("o2", "Direct"), ("o3", None)],
        stages=[
            (p, s, pr)
            for p in ("new", "renewals")
            for s, pr in (("qual", "0.1"), ("demo", "0.35"), ("prop", "0.65"))
        ],
        fx_rates=[("2023-05-01", "USD", "0.91234567"), ("2023-11-15", "USD", "0.93")],
    )


def test_invariants_between_grains_on_a_random_crm() -> None:
    as_of = D("2024-04-10")
    result = compute_kpis(
        random_tables(11), source=SOURCE, as_of=as_of, timezone="America/New_York"
    )
    result["value"] = result["value"].astype(float)
    keys = ["metric", "grain", "period_start", "scope_type", "scope_value"]
    days = result[result["grain"] == "day"].copy()
    months = result[result["grain"] == "month"].copy()
    assert sorted(set(months["period_start"]))[0] == D("2023-06-01")
    assert len(set(months["period_start"])) == 11  # June 2023 .. April 2024

    # additive metrics: the days of a month add up to the month
    days["month"] = [d.replace(day=1) for d in days["period_start"]]
    additive = ["won_deals", "lost_deals", "deals_created", "new_customers", "won_revenue"]
    summed = (
        days[days["metric"].isin(additive)]
        .groupby(["metric", "month", "scope_type", "scope_value"])["value"]
        .sum()
    )
    monthly = months[months["metric"].isin(additive)].set_index(
        ["metric", "period_start", "scope_type", "scope_value"]
    )["value"]
    assert len(monthly) == len(summed)
    for key, total in monthly.items():
        assert summed[key] == pytest.approx(total), key
    assert monthly[("won_deals", D("2024-01-01"), "company", "all")] > 0

    by_key = result.set_index(keys)["value"]
    for month in sorted(set(months["period_start"])):
        # a month ends when its last day ends: same pipeline snapshot
        last_day = min(next_period_start(month, "month") - timedelta(days=1), as_of)
        for metric in ("pipeline_value", "weighted_pipeline_value"):
            for scope in (("company", "all"), ("owner", "crm:o3"), ("team", "(none)")):
                assert (
                    by_key[(metric, "month", month, *scope)]
                    == by_key[(metric, "day", last_day, *scope)]
                ), (metric, month, scope)
        # a month starts when its first day starts: same arpa
        if ("arpa", "day", month, "segment", "smb") in by_key.index:
            assert by_key[("arpa", "month", month, "segment", "smb")] == pytest.approx(
                by_key[("arpa", "day", month, "segment", "smb")], nan_ok=True
            )

    # the company is the sum of its owners for every additive metric
    for metric in ("won_deals", "won_revenue", "pipeline_value", "deals_created"):
        rows = result[(result["metric"] == metric) & (result["grain"] == "quarter")]
        company = rows[rows["scope_type"] == "company"].set_index("period_start")["value"]
        owners = rows[rows["scope_type"] == "owner"].groupby("period_start")["value"].sum()
        for start, total in company.items():
            assert owners[start] == pytest.approx(total), (metric, start)

    # a weighted pipeline never exceeds the pipeline, and win_rate's parts are the counts
    pipeline = by_key.xs("pipeline_value")
    weighted = by_key.xs("weighted_pipeline_value")
    assert (weighted <= pipeline + 1e-9).all()
    assert (weighted > 0).any()
    win_rate = result[result["metric"] == "win_rate"].set_index(keys[1:])
    assert (win_rate["numerator"].astype(float) == by_key.xs("won_deals")).all()
    closed = by_key.xs("won_deals") + by_key.xs("lost_deals")
    assert (win_rate["denominator"].astype(float) == closed).all()
