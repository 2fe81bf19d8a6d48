"""A seeded synthetic CRM, realistic enough to exercise every KPI of DESIGN.md.

The CRM is simulated forward in time and cut at `as_of`: a deal that will close after
`as_of` is open today, sits in the stage it had reached by then, and its history ends
there. Nothing is created, closed or entered after the end of `as_of` (UTC).

Scale. The deals are made in blocks of `BLOCK_DEALS`. A block is a set of accounts
with their whole lifecycles (new-business attempts, contracts, expansions, renewals,
churn) plus a few deals without account; it is generated from (seed, block index)
alone, vectorised with numpy, so its content does not depend on how a consumer
chunks the output, and memory stays flat whatever the number of deals. Deal ids are
"1".."N"; account ids are `block index * BLOCK_DEALS + n` (numeric, with gaps
between blocks, as real CRM ids have).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.files.contract import ENTITIES, MONEY, PROBABILITY, RATE, TIMESTAMP

DAY = 86_400
BLOCK_DEALS = 10_000
MIN_DEALS, MAX_DEALS = 100, 1_000_000
MIN_YEARS, MAX_YEARS = 2, 10
CACHED_BLOCKS = 4  # dlt pulls accounts, deals and history round-robin: one block serves all

# -- pipelines and stages --------------------------------------------------------------

NEW_BUSINESS, RENEWALS = "New Business", "Renewals"
NB_STAGES = (
    ("Lead", "0.05"),
    ("Qualified", "0.10"),
    ("Discovery", "0.20"),
    ("Demo", "0.30"),
    ("Technical Validation", "0.45"),
    ("Proposal", "0.60"),
    ("Negotiation", "0.75"),
    ("Contract Sent", "0.90"),
)
RENEWAL_STAGES = (
    ("Renewal Due", "0.70"),
    ("Usage Review", "0.75"),
    ("Renewal Proposal", "0.80"),
    ("Renewal Negotiation", "0.85"),
    ("Renewal Contract Sent", "0.95"),
)
CLOSED_WON, CLOSED_LOST = "Closed Won", "Closed Lost"
# One code per stage name: NB stages, then renewal stages, then the two closed stages.
STAGE_NAMES = (
    tuple(s for s, _ in NB_STAGES) + tuple(s for s, _ in RENEWAL_STAGES) + (CLOSED_WON, CLOSED_LOST)
)
RENEWAL_BASE = len(NB_STAGES)
WON_CODE = len(STAGE_NAMES) - 2
LOST_CODE = len(STAGE_NAMES) - 1
PIPELINES = (NEW_BUSINESS, RENEWALS)

# Where a deal enters its pipeline, and where a lost deal was lost (local stage index).
NB_START_P = (0.75, 0.15, 0.10)
NB_LOST_AT_P = (0.08, 0.12, 0.14, 0.15, 0.15, 0.13, 0.12, 0.11)
RENEWAL_LOST_AT_P = (0.15, 0.20, 0.20, 0.25, 0.20)
BOUNCE_RATE = 0.45  # expected backward moves per stage step: deals slip back and recover
MAX_BOUNCES = 2

# -- accounts ----------------------------------------------------------------------------

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_P = (0.62, 0.28, 0.10)
REGIONS = ("EMEA", "North America", "APAC", "LATAM")
REGION_P = (0.52, 0.28, 0.12, 0.08)
CURRENCIES = ("EUR", "USD", "GBP")
# Pricing is set in EUR and quoted in the account's currency at these round rates.
PRICE_EUR_PER_UNIT = np.array([1.0, 0.92, 1.17])
CURRENCY_P_BY_REGION = np.array(
    [
        [0.80, 0.02, 0.18],  # EMEA: the UK pays in GBP
        [0.25, 0.75, 0.00],  # some American and Asian customers buy in EUR
        [0.45, 0.55, 0.00],
        [0.40, 0.60, 0.00],
    ]
)
LOOSE_CURRENCY_P = (0.80, 0.12, 0.08)
INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Logistics",
    "Education",
    "Media",
    "Energy",
    "Professional Services",
)
INDUSTRY_MISSING_P = 0.02
PROSPECT_P = 0.10  # accounts that never get a deal
NAME_FIRST = (
    "Acme", "Blue", "Northwind", "Silver", "Red", "Bright", "Nordlicht", "Atlas", "Helix",
    "Quantum", "Cedar", "Granite", "Lumière", "Harbor", "Summit", "Pioneer", "Vertex",
    "Orion", "Falcon", "Maple", "Coral", "Iron", "Polar", "Sunrise", "Zephyr", "Östra",
    "Crescent", "Evergreen", "Nova", "Sterling",
)  # fmt: skip
NAME_SECOND = (
    "Systems", "Logistics", "Analytics", "Labs", "Foods", "Energy", "Health", "Media",
    "Software", "Industries", "Partners", "Retail", "Robotics", "Capital", "Learning",
    "Networks", "Dynamics", "Works", "Solutions", "Trading",
)  # fmt: skip
NAME_SUFFIX_BY_REGION = (
    (" GmbH", " SAS", " Ltd", " B.V.", " S.p.A.", " AB", " & Co. KG"),
    (", Inc.", " LLC", " Corp.", " Inc."),
    (" Pty Ltd", " Pte. Ltd.", " K.K.", " Ltd"),
    (" S.A.", " Ltda.", " S.A. de C.V."),
)

# Per segment (SMB, Mid-Market, Enterprise).
LIST_MRR_EUR = np.array([320.0, 1600.0, 7500.0])  # median list MRR
NB_WIN_P = np.array([0.33, 0.26, 0.19])
NB_CYCLE_DAYS = np.array([24.0, 52.0, 100.0])  # median days to close a won deal
RENEWAL_WIN_P = np.array([0.80, 0.87, 0.93])
NO_RENEWAL_P = np.array([0.08, 0.05, 0.03])  # the renewal deal is never opened: churn
EXPANSION_P = np.array([0.10, 0.22, 0.35])  # per contract year
RETRY_P = 0.35  # a lost prospect gets another new-business deal later
MAX_NB_ATTEMPTS = 3
EXPANSION_WIN_P, EXPANSION_CYCLE_DAYS = 0.55, 28.0
RENEWAL_CYCLE_DAYS = 35.0
LOOSE_SHARE = 0.03  # deals without account
LOOSE_WIN_P, LOOSE_CYCLE_DAYS, LOOSE_AMOUNT_EUR = 0.18, 20.0, 2500.0
STALE_P = 0.006  # open deals nobody closed: untouched for far longer than any cycle
UNOWNED_P = 0.004  # deals with no owner
DEALS_PER_ACCOUNT = 2.0  # first guess of a candidate account's deals; refined per block

LOST_REASONS = (
    "Price",
    "Competitor",
    "No budget",
    "No decision",
    "Timing",
    "Product fit",
    "Went dark",
    "Budget cuts",
    "Switched to competitor",
    "Low adoption",
    "Company acquired",
)
NB_REASONS = np.arange(0, 7)
RENEWAL_REASONS = np.arange(7, 11)
REASON_MISSING_P = 0.25

# -- owners --------------------------------------------------------------------------------

TEAMS = ("Enterprise", "Mid-Market", "SMB EMEA", "SMB International", "Account Management")
TEAM_SHARE = (0.16, 0.24, 0.22, 0.16, 0.22)
T_ENTERPRISE, T_MID, T_SMB_EMEA, T_SMB_INTL, T_AM = range(5)
POOL_ALL = len(TEAMS)  # every owner who takes deals
TEAMLESS_SHARE = 0.03
AM_OWNS_P = 0.75  # renewals and expansions go to Account Management, else the seller keeps them
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas",
    "Karin", "Liam", "Maria", "Noah", "Olivia", "Paul", "Quentin", "Rosa", "Samuel", "Tara",
    "Umar", "Vera", "William", "Xenia", "Yusuf", "Zoe", "Amelie", "Bruno", "Chloe", "Diego",
    "Emma", "Farid", "Greta", "Hannah", "Ivan", "Julia", "Kenji", "Lucia", "Marco", "Nina",
)  # fmt: skip
LAST_NAMES = (
    "Schmidt", "Martin", "Rossi", "Garcia", "Smith", "Dubois", "Jansen", "Nowak", "Silva",
    "Novak", "Larsen", "Murphy", "Costa", "Weber", "Moreau", "Bianchi", "Lopez", "Johnson",
    "Fischer", "Bernard", "Kowalski", "Santos", "Nielsen", "Walsh", "Ricci", "Meyer",
    "Laurent", "Fernandez", "Brown", "Wagner", "Petit", "Romano", "Sanchez", "Taylor",
    "Becker", "Leroy", "Greco", "Torres", "Wilson", "Hoffmann",
)  # fmt: skip


def _yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@dataclass(frozen=True)
class DemoConfig:
    """What the demo CRM looks like: its size, its randomness and the day it ends on."""

    deals: int = 5000
    seed: int = 42
    as_of: date = field(default_factory=_yesterday_utc)
    years: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.deals, bool) or not isinstance(self.deals, int):
            raise TypeError(f"DemoConfig.deals must be an int, got {self.deals!r}")
        if not MIN_DEALS <= self.deals <= MAX_DEALS:
            raise ValueError(
                f"DemoConfig.deals={self.deals} is out of range: choose {MIN_DEALS:,} to "
                f"{MAX_DEALS:,} deals"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"DemoConfig.seed={self.seed!r} must be a non-negative int")
        if isinstance(self.as_of, datetime) or not isinstance(self.as_of, date):
            raise TypeError(
                f"DemoConfig.as_of must be a datetime.date (the last complete day), "
                f"got {self.as_of!r}"
            )
        if isinstance(self.years, bool) or not isinstance(self.years, int):
            raise TypeError(f"DemoConfig.years must be an int, got {self.years!r}")
        if not MIN_YEARS <= self.years <= MAX_YEARS:
            raise ValueError(
                f"DemoConfig.years={self.years} is out of range: the KPIs need at least "
                f"{MIN_YEARS} years of history; choose {MIN_YEARS} to {MAX_YEARS}"
            )
        if self.as_of.year - self.years < 1971:
            raise ValueError(f"DemoConfig.as_of={self.as_of} is too early for {self.years} years")

    @property
    def start(self) -> date:
        """The first day of history: `years` before `as_of` (29 February -> 28th)."""
        try:
            return self.as_of.replace(year=self.as_of.year - self.years)
        except ValueError:
            return self.as_of.replace(year=self.as_of.year - self.years, day=28)


@dataclass(frozen=True)
class DemoBlock:
    """One independent slice of the CRM: its accounts, their deals and those deals' history."""

    index: int
    accounts: pa.Table
    deals: pa.Table
    stage_history: pa.Table


# -- Arrow helpers (exact: money and rates go in as integer units, never floats) ---------


def _mask(valid: np.ndarray | None) -> np.ndarray | None:
    return None if valid is None else ~valid


def _decimal(units: np.ndarray, dtype: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A decimal array from unscaled integers (cents for MONEY), built without floats."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)  # decimal128: low word, sign word
    words[:, 0] = units
    words[:, 1] = units >> 63
    bitmap, nulls = None, 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(len(units) - np.count_nonzero(valid))
    return pa.Array.from_buffers(dtype, len(units), [bitmap, pa.py_buffer(words)], null_count=nulls)


def _timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype(np.int64) * 1_000_000, type=TIMESTAMP, mask=_mask(valid))


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=_mask(valid))


def _ids(numbers: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pc.cast(pa.array(numbers.astype(np.int64), mask=_mask(valid)), pa.string())


def _labels(vocab: pa.Array, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return vocab.take(pa.array(codes.astype(np.int32), mask=_mask(valid)))


# -- calendar helpers on day numbers (days since 1970-01-01) -------------------------------


def _day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _month_index(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_of_year(days: np.ndarray) -> np.ndarray:
    return _month_index(days) % 12 + 1


def _is_first_of_month(days: np.ndarray) -> np.ndarray:
    return _month_start(_month_index(days)) == days


def _is_last_of_month(days: np.ndarray) -> np.ndarray:
    return _month_start(_month_index(days) + 1) - 1 == days


def _quarter_end(days: np.ndarray) -> np.ndarray:
    return _month_start((_month_index(days) // 3 + 1) * 3) - 1


def _contract_end(start: np.ndarray) -> np.ndarray:
    """12 months after `start` less a day: the inclusive end of a yearly contract."""
    months = _month_index(start)
    return _month_start(months + 12) + (start - _month_start(months)) - 1


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0


# -- sampling helpers ------------------------------------------------------------------------


def _pick(rng: np.random.Generator, p: tuple[float, ...] | np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def _pick_rows(rng: np.random.Generator, p_rows: np.ndarray) -> np.ndarray:
    """One draw per row of a probability matrix."""
    cum = np.cumsum(p_rows, axis=1)
    u = rng.random(len(p_rows))[:, None] * cum[:, -1:]
    return np.minimum((cum <= u).sum(axis=1), p_rows.shape[1] - 1)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day: mostly office hours (of all regions), some at any time."""
    busy = rng.normal(13.5 * 3600, 3.5 * 3600, n)
    anytime = rng.uniform(0, DAY, n)
    tod = np.where(rng.random(n) < 0.8, busy, anytime)
    return np.clip(tod, 0, DAY - 1).astype(np.int64)


class _Deals:
    """Columns of deals made by the lifecycle steps, concatenated once at the end."""

    FIELDS = (
        "account",  # local account index, -1 without account
        "owner",  # owner index (a few deals lose their owner when the tables are made)
        "kind",  # 0 new business, 1 renewal, 2 expansion
        "created",  # seconds
        "outcome",  # 0 lost, 1 won, 2 stale (stays open)
        "close",  # seconds of the (possibly future) close; for stale deals the last activity
        "amount",  # cents
        "mrr",  # cents; 0 for a one-off deal
        "contract_start",  # day numbers, meaningful for won recurring deals
        "contract_end",
        "reason",  # lost reason code, -1 for none
        "currency",
    )

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in self.FIELDS}

    def add(self, keep: np.ndarray, **columns: np.ndarray | int) -> None:
        n = int(np.count_nonzero(keep))
        if n == 0:
            return
        for name in self.FIELDS:
            value = columns[name]
            if isinstance(value, np.ndarray):
                self._parts[name].append(value[keep].astype(np.int64))
            else:
                self._parts[name].append(np.full(n, value, dtype=np.int64))

    def columns(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
            for name, parts in self._parts.items()
        }


@dataclass(frozen=True)
class _Owners:
    team: np.ndarray  # team index, -1 without team
    skill: np.ndarray  # log-odds added to every win probability of the owner's deals
    speed: np.ndarray  # multiplies the owner's cycle lengths
    pools: tuple[tuple[np.ndarray, np.ndarray], ...]  # per team, then POOL_ALL: owners, cum weight
    table: pa.Table

    @classmethod
    def build(cls, config: DemoConfig) -> _Owners:
        rng = np.random.default_rng([config.seed, 1])
        n = max(12, round(config.deals / 2500))
        no_deals = n - 1  # the latest hire: an owner the warehouse knows with zero deals
        n_teamless = max(1, round(TEAMLESS_SHARE * n))
        sized = n - 1 - n_teamless
        exact = np.array(TEAM_SHARE) * sized
        sizes = np.maximum(1, np.floor(exact).astype(int))
        while sizes.sum() < sized:  # largest remainder first
            sizes[np.argmax(exact - sizes)] += 1
        while sizes.sum() > sized:
            sizes[np.argmax(sizes)] -= 1
        teams = np.concatenate(
            [np.full(k, t) for t, k in enumerate(sizes)] + [np.full(n_teamless, -1)]
        )
        team = np.empty(n, dtype=np.int64)
        team[:no_deals] = rng.permutation(teams)
        team[no_deals] = int(np.argmax(sizes))
        skill = rng.normal(0, 0.35, n)
        speed = np.exp(rng.normal(0, 0.25, n))
        capacity = np.exp(rng.normal(0, 0.4, n))
        capacity[no_deals] = 0.0
        pools = []
        for t in range(len(TEAMS)):
            members = np.flatnonzero((team == t) | (team == -1))
            weights = capacity[members] * np.where(team[members] == -1, 0.3, 1.0)
            pools.append((members, np.cumsum(weights)))
        members = np.flatnonzero(capacity > 0)
        pools.append((members, np.cumsum(capacity[members])))

        combo = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))[:n]  # unique names
        first = [FIRST_NAMES[c % len(FIRST_NAMES)] for c in combo]
        last = [LAST_NAMES[c // len(FIRST_NAMES)] for c in combo]
        table = pa.Table.from_arrays(
            [
                _ids(np.arange(1, n + 1)),
                pa.array([f"{f} {la}" for f, la in zip(first, last, strict=True)]),
                pa.array(
                    [f"{f}.{la}@example.com".lower() for f, la in zip(first, last, strict=True)]
                ),
                _labels(pa.array(TEAMS), np.maximum(team, 0), team >= 0),
            ],
            schema=ENTITIES["owners"].schema,
        )
        return cls(team, skill, speed, tuple(pools), table)

    def sample(self, rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
        """An owner index per row, drawn from the row's pool by the owners' capacity."""
        out = np.empty(len(pool), dtype=np.int64)
        for p, (members, cum) in enumerate(self.pools):
            rows = np.flatnonzero(pool == p)
            if rows.size:
                u = rng.random(rows.size) * cum[-1]
                pick = np.minimum(np.searchsorted(cum, u, side="right"), len(members) - 1)
                out[rows] = members[pick]
        return out


class DemoCRM:
    """The demo CRM of a `DemoConfig`: the same config always gives the same tables."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self._start_day = _day_number(config.start)
        self._end_day = _day_number(config.as_of) + 1  # exclusive
        self._end = self._end_day * DAY
        self._owners = _Owners.build(config)
        days = np.arange(self._start_day, self._end_day)
        trend = 0.6 + 0.8 * (days - self._start_day) / len(days)  # the company grows
        month = _month_of_year(days)
        season = np.select([month == 8, month == 7, month == 12], [0.6, 0.75, 0.8], 1.0)
        weekday = np.where(_weekday(days) >= 5, 0.15, 1.0)
        weights = np.cumsum(trend * season * weekday)
        self._day_cum = weights / weights[-1]
        self._cache: OrderedDict[int, DemoBlock] = OrderedDict()
        self._lock = threading.Lock()
        self._vocab = {
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

    # -- public tables -------------------------------------------------------------------

    @property
    def n_blocks(self) -> int:
        return math.ceil(self.config.deals / BLOCK_DEALS)

    def owners(self) -> pa.Table:
        return self._owners.table

    def stages(self) -> pa.Table:
        rows = [(NEW_BUSINESS, s, p) for s, p in NB_STAGES]
        rows += [(NEW_BUSINESS, CLOSED_WON, "1"), (NEW_BUSINESS, CLOSED_LOST, "0")]
        rows += [(RENEWALS, s, p) for s, p in RENEWAL_STAGES]
        rows += [(RENEWALS, CLOSED_WON, "1"), (RENEWALS, CLOSED_LOST, "0")]
        orders: dict[str, int] = {}
        display = []
        for pipeline, _, _ in rows:
            orders[pipeline] = orders.get(pipeline, 0) + 1
            display.append(orders[pipeline])
        probability = np.array([round(float(p) * 10_000) for _, _, p in rows])
        return pa.Table.from_arrays(
            [
                pa.array([r[0] for r in rows]),
                pa.array([r[1] for r in rows]),
                _decimal(probability, PROBABILITY),
                pa.array(display, type=pa.int32()),
            ],
            schema=ENTITIES["stages"].schema,
        )

    def fx_rates(self) -> pa.Table:
        """Daily EUR per USD and per GBP, a random walk; most weekends and 25 Dec have none.

        The first rate is well before the first deal, so every deal date has a latest
        rate on or before it.
        """
        rng = np.random.default_rng([self.config.seed, 2])
        days = np.arange(self._start_day - 45, self._end_day)
        month_day = days.astype("datetime64[D]").astype(str)
        holiday = np.char.endswith(month_day, "-12-25") | np.char.endswith(month_day, "-01-01")
        parts = []
        for code, start_rate in (("USD", 0.92), ("GBP", 1.17)):
            steps = rng.normal(0, 0.0045, len(days))
            steps[0] = 0.0
            rate = start_rate * np.exp(np.cumsum(steps))
            published = ((_weekday(days) < 5) | (rng.random(len(days)) < 0.25)) & ~holiday
            published[0] = True
            micro = np.rint(rate[published] * 1_000_000).astype(np.int64)  # 6 decimals
            parts.append(
                pa.Table.from_arrays(
                    [
                        _dates(days[published]),
                        pa.array([code] * int(published.sum())),
                        _decimal(micro * 100, RATE),
                    ],
                    schema=ENTITIES["fx_rates"].schema,
                )
            )
        return pa.concat_tables(parts)

    def blocks(self) -> Iterator[DemoBlock]:
        """Every block in order: accounts, deals and history of one slice at a time."""
        for index in range(self.n_blocks):
            yield self.block(index)

    def block(self, index: int) -> DemoBlock:
        if not 0 <= index < self.n_blocks:
            raise IndexError(f"block {index} does not exist: there are {self.n_blocks} blocks")
        with self._lock:
            cached = self._cache.get(index)
            if cached is None:
                cached = self._build_block(index)
                self._cache[index] = cached
                while len(self._cache) > CACHED_BLOCKS:
                    self._cache.popitem(last=False)
            return cached

    def tables(self) -> dict[str, pa.Table]:
        """The whole CRM as one table per files-contract entity, in one pass over the blocks."""
        accounts, deals, history = [], [], []
        for block in self.blocks():
            accounts.append(block.accounts)
            deals.append(block.deals)
            history.append(block.stage_history)
        return {
            "deals": pa.concat_tables(deals),
            "stage_history": pa.concat_tables(history),
            "accounts": pa.concat_tables(accounts),
            "owners": self.owners(),
            "stages": self.stages(),
            "fx_rates": self.fx_rates(),
        }

    def accounts(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.accounts

    def deals(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.deals

    def stage_history(self) -> Iterator[pa.Table]:
        for block in self.blocks():
            yield block.stage_history

    # -- simulation ------------------------------------------------------------------------

    def _days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Days drawn with growth, a summer and Christmas dip, and quiet weekends."""
        return self._start_day + np.searchsorted(self._day_cum, rng.random(n), side="right")

    def _close(
        self,
        rng: np.random.Generator,
        created: np.ndarray,
        cycle_days: np.ndarray,
        push: np.ndarray,
        latest_day: np.ndarray | None = None,
    ) -> np.ndarray:
        """Close timestamps: quarter-end pushes for `push` rows, August slips, month-end nights."""
        n = len(created)
        created_day = created // DAY
        day = created_day + np.maximum(1, np.rint(cycle_days)).astype(np.int64)
        quarter_end = _quarter_end(day)
        pulled = push & (quarter_end - day <= 20) & (rng.random(n) < 0.45)
        day = np.where(pulled, quarter_end - rng.integers(0, 3, n), day)
        slipped = (_month_of_year(day) == 8) & (rng.random(n) < 0.35)
        day = np.where(slipped, day + rng.integers(10, 25, n), day)
        if latest_day is not None:
            day = np.minimum(day, latest_day)
        day = np.maximum(day, created_day + 1)
        tod = _time_of_day(rng, n)
        tod[_is_last_of_month(day) & (rng.random(n) < 0.2)] = DAY - 1  # 23:59:59 bookings
        # At least an hour open, so every stage change has its own second.
        return np.maximum(day * DAY + tod, created + 3600)

    def _created(self, rng: np.random.Generator, day: np.ndarray, midnight_p: float) -> np.ndarray:
        """Timestamps on `day`; on the 1st of a month some at 00:00:00 (imports, workflows)."""
        seconds = day * DAY + _time_of_day(rng, len(day))
        midnight = _is_first_of_month(day) & (rng.random(len(day)) < midnight_p)
        return np.where(midnight, day * DAY, seconds)

    def _lost_reason(self, rng: np.random.Generator, n: int, codes: np.ndarray) -> np.ndarray:
        reason = codes[rng.integers(0, len(codes), n)]
        return np.where(rng.random(n) < REASON_MISSING_P, -1, reason)

    def _lifecycles(self, rng: np.random.Generator, n: int) -> tuple[dict, dict[str, np.ndarray]]:
        """`n` candidate accounts and every deal of their lives up to `as_of`."""
        owners, end = self._owners, self._end
        seg = _pick(rng, SEGMENT_P, n)
        region = _pick(rng, REGION_P, n)
        currency = _pick_rows(rng, CURRENCY_P_BY_REGION[region])
        industry = _pick(rng, np.ones(len(INDUSTRIES)), n)
        industry = np.where(rng.random(n) < INDUSTRY_MISSING_P, -1, industry)
        created = self._created(rng, self._days(rng, n), 0.3)
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
        deals = _Deals()

        # New business: up to MAX_NB_ATTEMPTS tries, each after the previous was lost.
        acc = np.flatnonzero(~prospect)
        day = created[acc] // DAY + rng.exponential(9.0, acc.size).astype(np.int64)
        at = np.maximum(
            self._created(rng, day, 0.0), created[acc] + rng.integers(60, 3600, acc.size)
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
            won = ~stale & (rng.random(k) < _sigmoid(_logit(NB_WIN_P[s]) + owners.skill[o]))
            cycle = NB_CYCLE_DAYS[s] * owners.speed[o] * np.exp(rng.normal(0, 0.55, k))
            cycle = np.where(won, cycle, cycle * rng.uniform(0.25, 1.0, k))
            close = self._close(rng, at, cycle, won)
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
                contract_end=_contract_end(start),
                reason=self._lost_reason(rng, k, NB_REASONS),
                currency=currency[acc],
            )
            signed = won & (close < end)
            won_acc.append(acc[signed])
            won_start.append(start[signed])
            won_mrr.append(list_mrr[acc[signed]])
            retry = ~won & ~stale & (rng.random(k) < RETRY_P)
            acc = acc[retry]
            day = close[retry] // DAY + rng.integers(30, 300, acc.size)
            at = self._created(rng, day, 0.0)

        # Contracts: each year an expansion may be sold, then a renewal is opened ~60 days
        # before the end; a lost or never-opened renewal is churn.
        acc = np.concatenate(won_acc)
        start = np.concatenate(won_start)
        mrr = np.concatenate(won_mrr)
        while acc.size:
            k = acc.size
            s, o = seg[acc], manager[acc]
            end_day = _contract_end(start)
            span = end_day - start - 120
            row = np.flatnonzero((rng.random(k) < EXPANSION_P[s]) & (span > 0))
            e_at = self._created(
                rng, start[row] + 30 + (rng.random(row.size) * span[row]).astype(np.int64), 0.0
            )
            e_won = rng.random(row.size) < _sigmoid(_logit(EXPANSION_WIN_P) + owners.skill[o[row]])
            e_cycle = (
                EXPANSION_CYCLE_DAYS * owners.speed[o[row]] * np.exp(rng.normal(0, 0.5, row.size))
            )
            e_cycle = np.where(e_won, e_cycle, e_cycle * rng.uniform(0.3, 1.0, row.size))
            e_close = self._close(rng, e_at, e_cycle, e_won, latest_day=end_day[row] - 7)
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
                reason=self._lost_reason(rng, row.size, NB_REASONS),
                currency=currency[acc[row]],
            )

            r_day = end_day - 60 + np.rint(rng.normal(0, 12, k)).astype(np.int64)
            r_at = self._created(rng, np.maximum(r_day, start + 1), 0.5)
            opened = (rng.random(k) >= NO_RENEWAL_P[s]) & (r_at < end)
            # An expansion won before the renewal is opened is renewed with the base.
            grown = mrr.copy()
            signed_before = e_won & (e_close < r_at[row])
            np.add.at(grown, row[signed_before], e_mrr[signed_before])
            r_mrr = np.rint(grown * rng.uniform(1.0, 1.07, k)).astype(np.int64)
            r_won = rng.random(k) < _sigmoid(_logit(RENEWAL_WIN_P[s]) + owners.skill[o])
            r_cycle = RENEWAL_CYCLE_DAYS * owners.speed[o] * np.exp(rng.normal(0, 0.45, k))
            r_cycle = np.where(r_won, r_cycle, r_cycle * rng.uniform(0.5, 1.2, k))
            r_close = self._close(rng, r_at, r_cycle, np.zeros(k, dtype=bool))
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
                contract_end=_contract_end(end_day + 1),
                reason=self._lost_reason(rng, k, RENEWAL_REASONS),
                currency=currency[acc],
            )
            renewed = opened & r_won & (r_close < end)
            acc, start, mrr = acc[renewed], end_day[renewed] + 1, r_mrr[renewed]
        return accounts, deals.columns()

    def _loose_deals(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """One-off deals entered without an account: no contract, no MRR."""
        owners = self._owners
        deals = _Deals()
        at = self._created(rng, self._days(rng, n), 0.3)
        o = owners.sample(rng, np.full(n, POOL_ALL))
        currency = _pick(rng, LOOSE_CURRENCY_P, n)
        stale = (rng.random(n) < STALE_P) & (at < self._end - 400 * DAY)
        won = ~stale & (rng.random(n) < _sigmoid(_logit(LOOSE_WIN_P) + owners.skill[o]))
        cycle = LOOSE_CYCLE_DAYS * owners.speed[o] * np.exp(rng.normal(0, 0.6, n))
        cycle = np.where(won, cycle, cycle * rng.uniform(0.25, 1.0, n))
        close = self._close(rng, at, cycle, won)
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
            reason=self._lost_reason(rng, n, NB_REASONS),
            currency=currency,
        )
        return deals.columns()

    def _build_block(self, index: int) -> DemoBlock:
        seed = self.config.seed
        size = min(BLOCK_DEALS, self.config.deals - index * BLOCK_DEALS)
        n_loose = round(size * LOOSE_SHARE)
        wanted = size - n_loose
        candidates = math.ceil(wanted / DEALS_PER_ACCOUNT * 1.1) + 10
        for attempt in range(8):
            rng = np.random.default_rng([seed, 3, index, attempt])
            accounts, deals = self._lifecycles(rng, candidates)
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
        loose = self._loose_deals(rng, n_loose)
        deals = {name: np.concatenate([deals[name], loose[name]]) for name in deals}
        # Within a block, ids follow creation time, as a CRM numbers its records.
        order = np.argsort(deals["created"], kind="stable")
        deals = {name: values[order] for name, values in deals.items()}
        first_id = index * BLOCK_DEALS + 1
        account_ids = index * BLOCK_DEALS + 1 + np.arange(n_accounts)
        accounts_table = self._accounts_table(accounts, account_ids)
        deals_table, history_table = self._deals_and_history(rng, deals, first_id, account_ids)
        return DemoBlock(index, accounts_table, deals_table, history_table)

    def _accounts_table(self, accounts: dict, ids: np.ndarray) -> pa.Table:
        n = len(ids)
        v = self._vocab
        seg = accounts["segment"][:n]
        region = accounts["region"][:n]
        industry = accounts["industry"][:n]
        first, second, suffix_draw = (a[:n] for a in accounts["name"])
        suffixes = pa.array([s for group in NAME_SUFFIX_BY_REGION for s in group])
        offsets = np.cumsum([0] + [len(g) for g in NAME_SUFFIX_BY_REGION])
        counts = np.diff(offsets)
        suffix = offsets[region] + suffix_draw % counts[region]
        name = pc.binary_join_element_wise(
            _labels(v["first"], first), _labels(v["second"], second), " "
        )
        name = pc.binary_join_element_wise(name, _labels(suffixes, suffix), "")
        return pa.Table.from_arrays(
            [
                _ids(ids),
                name,
                _labels(v["segment"], seg),
                _labels(v["region"], region),
                _labels(v["industry"], np.maximum(industry, 0), industry >= 0),
                _timestamps(accounts["created"][:n]),
            ],
            schema=ENTITIES["accounts"].schema,
        )

    def _deals_and_history(
        self,
        rng: np.random.Generator,
        d: dict[str, np.ndarray],
        first_id: int,
        account_ids: np.ndarray,
    ) -> tuple[pa.Table, pa.Table]:
        n = len(d["created"])
        end = self._end
        kind, outcome = d["kind"], d["outcome"]
        renewal = kind == 1
        stale = outcome == 2
        closes = ~stale  # the deal has a close, maybe after as_of

        # Stage paths: from the entry stage to the stage it is won from or lost at.
        n_open_stages = np.where(renewal, len(RENEWAL_STAGES), len(NB_STAGES))
        base = np.where(renewal, RENEWAL_BASE, 0)
        lost_at = np.where(renewal, _pick(rng, RENEWAL_LOST_AT_P, n), _pick(rng, NB_LOST_AT_P, n))
        start = np.select([renewal, kind == 2], [0, 2], _pick(rng, NB_START_P, n))
        target = np.where(outcome == 1, n_open_stages - 1, lost_at)
        target = np.where(
            stale, np.minimum(start + rng.integers(0, 3, n), n_open_stages - 2), target
        )
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
        row_stage[row_first[closes] + m[closes]] = np.where(
            outcome[closes] == 1, WON_CODE, LOST_CODE
        )

        # Times: m exponential gaps per deal share the span from creation to the close
        # (to the last activity for a stale deal); +j keeps every row on its own second.
        gaps = np.cumsum(rng.exponential(1.0, int(m.sum())))
        gap_first = np.cumsum(m) - m
        before = np.where(gap_first > 0, gaps[np.maximum(gap_first - 1, 0)], 0.0)
        span_total = gaps[gap_first + m - 1] - before
        filled = np.zeros(total)
        later = row_j > 0
        filled[later] = (
            gaps[gap_first[row_deal[later]] + row_j[later] - 1] - before[row_deal[later]]
        )
        frac = filled / span_total[row_deal]
        duration = d["close"] - d["created"] - m
        entered = (
            d["created"][row_deal] + np.floor(frac * duration[row_deal]).astype(np.int64) + row_j
        )

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
        deal_ids = _ids(first_id + np.arange(n))
        v = self._vocab
        deals = pa.Table.from_arrays(
            [
                deal_ids,
                _ids(account_ids[np.maximum(d["account"], 0)], has_account),
                _ids(d["owner"] + 1, owned),
                _labels(v["pipeline"], renewal.astype(np.int64)),
                _labels(v["stage"], stage),
                _labels(v["status"], status),
                _decimal(d["amount"], MONEY, ~no_amount),
                _labels(v["currency"], d["currency"]),
                _timestamps(d["created"]),
                _timestamps(d["close"], closed),
                _timestamps(updated),
                _labels(v["kind"], kind),
                _dates(d["contract_start"], contract),
                _dates(d["contract_end"], contract),
                _decimal(d["mrr"], MONEY, contract),
                _labels(v["reason"], np.maximum(d["reason"], 0), lost & (d["reason"] >= 0)),
            ],
            schema=ENTITIES["deals"].schema,
        )
        history = pa.Table.from_arrays(
            [
                deal_ids.take(pa.array(row_deal[seen])),
                _labels(v["stage"], row_stage[seen]),
                _timestamps(entered[seen]),
            ],
            schema=ENTITIES["stage_history"].schema,
        )
        return deals, history
