"""The demo CRM: deterministic, in the files contract, consistent, and varied enough
to exercise every KPI; its dlt source loads into DuckDB and its export round-trips."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ingestion.demo import demo_source
from ingestion.demo.export import write_files
from ingestion.demo.generator import (
    BLOCK_DEALS,
    CLOSED_LOST,
    CLOSED_WON,
    DemoConfig,
    DemoCRM,
)
from ingestion.files.contract import ENTITIES
from ingestion.pipeline import run_source

AS_OF = date(2026, 6, 30)
END = pd.Timestamp("2026-07-01", tz="UTC")  # the end of AS_OF
# Two blocks, so ids and lifecycles are checked across a block boundary.
CONFIG = DemoConfig(deals=BLOCK_DEALS + 2000, seed=11, as_of=AS_OF)


def _tables(crm: DemoCRM) -> dict[str, pa.Table]:
    return {
        "accounts": pa.concat_tables(list(crm.accounts())),
        "owners": crm.owners(),
        "stages": crm.stages(),
        "fx_rates": crm.fx_rates(),
        "deals": pa.concat_tables(list(crm.deals())),
        "stage_history": pa.concat_tables(list(crm.stage_history())),
    }


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return _tables(DemoCRM(CONFIG))


@pytest.fixture(scope="module")
def frames(tables: dict[str, pa.Table]) -> dict[str, pd.DataFrame]:
    return {name: table.to_pandas() for name, table in tables.items()}


@pytest.fixture(scope="module")
def deals(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Deals with their account's segment and region (NaN without account)."""
    accounts = frames["accounts"][["account_id", "segment", "region"]]
    return frames["deals"].merge(accounts, on="account_id", how="left", validate="m:1")


# -- configuration -------------------------------------------------------------------------


def test_default_as_of_is_yesterday_utc() -> None:
    assert DemoConfig().as_of == datetime.now(UTC).date() - timedelta(days=1)
    assert DemoConfig().deals == 5000 and DemoConfig().years == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"deals": 99}, ValueError, "deals=99"),
        ({"deals": 1_000_001}, ValueError, "1,000,000"),
        ({"seed": -1}, ValueError, "seed"),
        ({"years": 1}, ValueError, "years=1"),
        ({"as_of": datetime(2026, 1, 1, tzinfo=UTC)}, TypeError, "datetime.date"),
        ({"as_of": "2026-01-01"}, TypeError, "as_of"),
    ],
)
def test_bad_config_is_refused_with_the_field(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        DemoConfig(**kwargs)


# -- determinism and blocks ------------------------------------------------------------------


def test_same_seed_and_as_of_give_identical_tables(tables: dict[str, pa.Table]) -> None:
    again = _tables(DemoCRM(CONFIG))
    for name, table in tables.items():
        assert again[name].equals(table), name


def test_another_seed_or_as_of_gives_other_tables(tables: dict[str, pa.Table]) -> None:
    for other in (
        DemoConfig(deals=CONFIG.deals, seed=CONFIG.seed + 1, as_of=AS_OF),
        DemoConfig(deals=CONFIG.deals, seed=CONFIG.seed, as_of=AS_OF - timedelta(days=1)),
    ):
        crm = DemoCRM(other)
        deals = pa.concat_tables(list(crm.deals()))
        assert deals.num_rows == CONFIG.deals
        assert not deals.equals(tables["deals"])
        assert not crm.fx_rates().equals(tables["fx_rates"])


def test_a_block_does_not_depend_on_what_was_generated_before(
    tables: dict[str, pa.Table],
) -> None:
    crm = DemoCRM(CONFIG)
    last = crm.block(1)  # first, before block 0 and in a fresh generator
    first = crm.block(0)
    assert pa.concat_tables([first.deals, last.deals]).equals(tables["deals"])
    assert pa.concat_tables([first.stage_history, last.stage_history]).equals(
        tables["stage_history"]
    )
    assert pa.concat_tables([first.accounts, last.accounts]).equals(tables["accounts"])
    with pytest.raises(IndexError, match="2 blocks"):
        crm.block(2)


# -- contract --------------------------------------------------------------------------------


def test_every_chunk_has_the_contract_schema() -> None:
    crm = DemoCRM(CONFIG)
    for name in ("accounts", "deals", "stage_history"):
        for chunk in getattr(crm, name)():
            assert chunk.schema.equals(ENTITIES[name].schema), name
    for name in ("owners", "stages", "fx_rates"):
        assert getattr(crm, name)().schema.equals(ENTITIES[name].schema), name


def test_ids_are_numeric_and_unique(frames: dict[str, pd.DataFrame]) -> None:
    deals = frames["deals"]
    assert deals.deal_id.tolist() == [str(i) for i in range(1, CONFIG.deals + 1)]
    for name, key in (("accounts", "account_id"), ("owners", "owner_id")):
        ids = frames[name][key]
        assert ids.str.fullmatch(r"[1-9][0-9]*").all() and ids.is_unique, name
    assert set(deals.account_id.dropna()) <= set(frames["accounts"].account_id)
    assert set(deals.owner_id.dropna()) <= set(frames["owners"].owner_id)


def test_values_are_in_their_allowed_sets_and_ranges(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        frame = table.to_pandas()
        for column in ENTITIES[name].columns:
            values = frame[column.name].dropna()
            if column.allowed is not None:
                assert set(values) <= set(column.allowed), (name, column.name)
            if column.minimum is not None:
                assert (values.astype(float) >= column.minimum).all(), (name, column.name)
            if column.maximum is not None:
                assert (values.astype(float) <= column.maximum).all(), (name, column.name)
    assert set(tables["deals"]["currency"].to_pylist()) == {"EUR", "USD", "GBP"}


def test_timestamps_are_whole_seconds_and_never_after_as_of(frames) -> None:
    start = pd.Timestamp(CONFIG.start, tz="UTC")
    for name, columns in (
        ("deals", ("created_at", "closed_at", "updated_at")),
        ("stage_history", ("entered_at",)),
        ("accounts", ("created_at",)),
    ):
        for column in columns:
            values = frames[name][column].dropna()
            assert (values < END).all(), (name, column)
            assert (values >= start).all(), (name, column)
            assert (values.dt.microsecond == 0).all(), (name, column)
    deals = frames["deals"]
    assert (deals.created_at.dt.date.max() - deals.created_at.dt.date.min()).days > 2 * 365


def test_times_of_day_spread_with_month_boundary_edges(frames) -> None:
    deals = frames["deals"]
    assert deals.created_at.dt.hour.nunique() == 24
    created = deals.created_at
    midnight = (created.dt.day == 1) & (created.dt.strftime("%H:%M:%S") == "00:00:00")
    closed = deals.closed_at.dropna()
    last_second = closed.dt.is_month_end & (closed.dt.strftime("%H:%M:%S") == "23:59:59")
    assert midnight.sum() > 0 and last_second.sum() > 0


# -- deals and their history ---------------------------------------------------------------


def test_history_belongs_to_deals_and_starts_at_creation(frames) -> None:
    deals = frames["deals"].set_index("deal_id")
    history = frames["stage_history"]
    assert set(history.deal_id) == set(deals.index)
    first = history.groupby("deal_id", sort=False).first()
    assert (first.entered_at == deals.created_at.loc[first.index]).all()
    assert first.stage.isin([CLOSED_WON, CLOSED_LOST]).sum() == 0
    # Each row has its own second: "the stage at t" is never ambiguous.
    step = history.groupby("deal_id", sort=False).entered_at.diff().dropna()
    assert (step > pd.Timedelta(0)).all()
    assert not history.duplicated(["deal_id", "entered_at", "stage"]).any()
    assert 7.5 <= len(history) / len(deals) <= 11


def test_history_ends_in_the_deal_state(frames) -> None:
    deals = frames["deals"].set_index("deal_id")
    history = frames["stage_history"]
    last = history.groupby("deal_id", sort=False).last()
    deals = deals.loc[last.index]
    assert (last.stage == deals.stage).all()
    closed = deals.status != "open"
    assert (last.entered_at[closed] == deals.closed_at[closed]).all()
    assert (deals.stage[deals.status == "won"] == CLOSED_WON).all()
    assert (deals.stage[deals.status == "lost"] == CLOSED_LOST).all()
    assert not deals.stage[~closed].isin([CLOSED_WON, CLOSED_LOST]).any()
    closed_rows = history.stage.isin([CLOSED_WON, CLOSED_LOST])
    assert closed_rows.sum() == closed.sum()  # only the final row of a closed deal
    assert (deals.updated_at >= last.entered_at).all()
    # Deals slip back now and then.
    order = {s: i for i, s in enumerate(frames["stages"].stage)}
    rank = history.stage.map(order)
    back = (rank.diff() < 0) & (history.deal_id == history.deal_id.shift())
    assert back.sum() > 0.1 * len(deals)


def test_closed_deals_close_after_creation(frames) -> None:
    deals = frames["deals"]
    closed = deals.status != "open"
    assert deals.closed_at[closed].notna().all() and deals.closed_at[~closed].isna().all()
    assert (deals.closed_at[closed] >= deals.created_at[closed]).all()
    assert deals.lost_reason[deals.status != "lost"].isna().all()
    reasons = deals.lost_reason[deals.status == "lost"]
    assert reasons.nunique() >= 3 and reasons.isna().any()
    assert deals.amount[deals.status == "won"].notna().all()


def test_stages_of_both_pipelines(frames) -> None:
    stages = frames["stages"]
    assert set(stages.pipeline) == {"New Business", "Renewals"}
    for pipeline, group in stages.groupby("pipeline"):
        probability = group.set_index("stage").probability.astype(float)
        assert probability[CLOSED_WON] == 1.0 and probability[CLOSED_LOST] == 0.0, pipeline
        assert list(group.display_order) == list(range(1, len(group) + 1)), pipeline
        assert len(group) >= 5
    known = set(zip(stages.pipeline, stages.stage, strict=True))
    deals = frames["deals"]
    assert set(zip(deals.pipeline, deals.stage, strict=True)) <= known
    history = frames["stage_history"].merge(deals[["deal_id", "pipeline"]], on="deal_id")
    assert set(zip(history.pipeline, history.stage, strict=True)) <= known


def test_won_recurring_deals_have_yearly_contracts(deals: pd.DataFrame) -> None:
    won = deals[deals.status == "won"]
    recurring = won[won.contract_start.notna()]
    assert len(recurring) > 0.8 * len(won)
    assert recurring.contract_end.notna().all() and recurring.mrr.notna().all()
    assert (recurring.mrr.astype(float) > 0).all()
    assert (recurring.contract_end > recurring.contract_start).all()
    yearly = recurring[recurring.deal_type != "expansion"]
    length = pd.to_datetime(yearly.contract_end) - pd.to_datetime(yearly.contract_start)
    assert length.dt.days.between(364, 365).all()
    new = recurring[recurring.deal_type == "new_business"]
    assert (pd.to_datetime(new.contract_start).dt.date >= new.closed_at.dt.date).all()
    # Only won deals carry a contract, and deals without account carry none.
    assert deals.contract_start[deals.status != "won"].isna().all()
    assert deals.mrr[deals.account_id.isna()].isna().all()


def test_renewals_continue_contracts_and_expansions_overlap(deals: pd.DataFrame) -> None:
    contracts = deals[(deals.status == "won") & deals.contract_start.notna()]
    renewals = contracts[contracts.deal_type == "renewal"]
    assert len(renewals) > 100
    ends = set(
        zip(contracts.account_id, pd.to_datetime(contracts.contract_end).dt.date, strict=True)
    )
    for account, start in zip(
        renewals.account_id, pd.to_datetime(renewals.contract_start).dt.date, strict=True
    ):
        assert (account, start - timedelta(days=1)) in ends
    expansions = contracts[contracts.deal_type == "expansion"]
    assert len(expansions) > 20
    base = contracts[contracts.deal_type != "expansion"]
    joined = expansions.merge(base, on="account_id", suffixes=("", "_base"))
    overlaps = joined[
        (joined.contract_start >= joined.contract_start_base)
        & (joined.contract_end <= joined.contract_end_base)
    ]
    assert overlaps.deal_id.nunique() == len(expansions)


def test_there_are_churned_accounts(deals: pd.DataFrame) -> None:
    contracts = deals[(deals.status == "won") & deals.contract_start.notna()]
    last_end = pd.to_datetime(contracts.groupby("account_id").contract_end.max()).dt.date
    # Ended before as_of, with no renewal open: the customer left.
    open_renewal = set(deals.account_id[(deals.deal_type == "renewal") & (deals.status == "open")])
    churned = [a for a, end in last_end.items() if end < AS_OF and a not in open_renewal]
    assert len(churned) > 0.05 * len(last_end)
    lost_renewals = deals[(deals.deal_type == "renewal") & (deals.status == "lost")]
    assert len(lost_renewals) > 0


def test_variety_the_kpis_need(deals: pd.DataFrame, frames) -> None:
    assert deals.account_id.isna().sum() > 0.01 * len(deals)
    assert deals.owner_id.isna().any()
    assert set(deals.currency) == {"EUR", "USD", "GBP"}
    assert (deals.currency == "EUR").mean() > 0.5
    assert set(deals.deal_type) == {"new_business", "renewal", "expansion"}
    assert set(deals.status) == {"open", "won", "lost"}
    # A few open deals far older than any normal cycle.
    stale = deals[(deals.status == "open") & (deals.created_at < END - pd.Timedelta(days=400))]
    assert 0 < len(stale) < 0.02 * len(deals)
    accounts = frames["accounts"]
    assert set(accounts.segment) == {"SMB", "Mid-Market", "Enterprise"}
    assert set(accounts.region) == {"EMEA", "North America", "APAC", "LATAM"}
    assert accounts.industry.nunique() >= 5
    assert (accounts.name.str.contains(",")).any()  # CSV quoting gets exercised
    assert (
        accounts.created_at
        <= deals.groupby("account_id")
        .created_at.min()
        .reindex(accounts.account_id)
        .fillna(END)
        .to_numpy()
    ).all()


def test_owners_in_teams(frames) -> None:
    owners = frames["owners"]
    deals = frames["deals"]
    assert len(owners) == max(12, round(CONFIG.deals / 2500))
    assert 4 <= owners.team.nunique() <= 6
    assert owners.team.isna().any()
    assert owners.email.str.fullmatch(r"[a-z]+\.[a-z]+@example\.com").all()
    assert owners.email.is_unique
    without_deals = set(owners.owner_id) - set(deals.owner_id.dropna())
    assert len(without_deals) == 1
    with_deals = deals.merge(owners, on="owner_id")
    assert with_deals.team.isna().any()  # deals of owners without team


def test_win_rates_and_cycles_differ_by_segment_and_owner(deals: pd.DataFrame) -> None:
    closed = deals[(deals.status != "open") & (deals.deal_type == "new_business")]
    win_rate = closed.groupby("segment").status.apply(lambda s: (s == "won").mean())
    assert win_rate["SMB"] - win_rate["Enterprise"] > 0.05
    by_owner = closed.groupby("owner_id").status.apply(lambda s: (s == "won").mean())
    assert by_owner.max() - by_owner.min() > 0.1
    won = closed[closed.status == "won"]
    days = (won.closed_at.dt.normalize() - won.created_at.dt.normalize()).dt.days
    cycle = days.groupby(won.segment).median()
    assert cycle["Enterprise"] > 2 * cycle["SMB"]


def test_closes_bunch_at_quarter_ends_and_dip_in_summer(deals: pd.DataFrame) -> None:
    won = deals[(deals.status == "won") & (deals.deal_type == "new_business")]
    closed = won.closed_at
    quarter_end = closed.dt.is_quarter_end | (
        (closed.dt.month % 3 == 0) & (closed.dt.day >= closed.dt.days_in_month - 2)
    )
    assert quarter_end.mean() > 0.06  # about 3 % of days
    created = deals.created_at
    august = (created.dt.month == 8).sum()
    assert august < (created.dt.month == 9).sum() * 0.85


def test_fx_rates_cover_every_deal_date(frames) -> None:
    rates = frames["fx_rates"]
    deals = frames["deals"]
    assert set(rates.currency) == {"USD", "GBP"}
    assert (rates.rate.astype(float) > 0).all()
    dates = pd.to_datetime(rates.date)
    for currency, group in dates.groupby(rates.currency):
        assert group.min().date() < deals.created_at.min().date(), currency
        assert group.max().date() >= AS_OF - timedelta(days=4), currency
        gaps = group.sort_values().diff().dt.days
        assert gaps.max() <= 4 and (gaps > 1).any(), currency  # weekends without a rate
        # The rate moves: a random walk, not a constant.
        assert rates.rate[rates.currency == currency].nunique() > 100


# -- dlt source and export ------------------------------------------------------------------


def test_dlt_source_loads_the_six_tables_into_duckdb(tmp_path: Path) -> None:
    config = DemoConfig(deals=600, seed=5, as_of=AS_OF)
    expected = _tables(DemoCRM(config))
    run_source(
        demo_source(deals=600, seed=5, as_of=AS_OF.isoformat()),
        "demo",
        tmp_path / "build.duckdb",
        tmp_path / "dlt",
    )
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name, table in expected.items():
            count = con.execute(f"SELECT count(*) FROM raw_demo.{name}").fetchone()[0]
            assert count == table.num_rows, name
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'raw_demo' AND table_name = 'deals'"
            ).fetchall()
        )
        assert types["amount"] == "DECIMAL(18,2)" and types["mrr"] == "DECIMAL(18,2)"
        assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
        assert types["contract_start"] == "DATE"
        loaded = con.execute("SELECT sum(amount), max(created_at) FROM raw_demo.deals").fetchone()
        assert loaded[0] == sum(v for v in expected["deals"]["amount"].to_pylist() if v)
        assert loaded[1] < datetime(2026, 7, 1, tzinfo=UTC)
    finally:
        con.close()


def test_dlt_source_refuses_a_bad_as_of() -> None:
    with pytest.raises(ValueError, match="SOURCES__DEMO__AS_OF"):
        demo_source(as_of="2026-13-01")


def _read_csv(path: Path, schema: pa.Schema) -> pa.Table:
    options = pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        strings_can_be_null=True,
        timestamp_parsers=[pacsv.ISO8601],
    )
    return pacsv.read_csv(path, convert_options=options)


def test_write_files_csv_round_trips(tmp_path: Path) -> None:
    config = DemoConfig(deals=BLOCK_DEALS + 300, seed=8, as_of=AS_OF)
    expected = _tables(DemoCRM(config))
    paths = write_files(config, tmp_path / "export")
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(
        f"{name}.csv" for name in ENTITIES
    )
    for name, table in expected.items():
        schema = ENTITIES[name].schema
        back = _read_csv(paths[name], schema)
        assert back.column_names == schema.names, name
        assert back.cast(schema).equals(table), name
    header, *lines = paths["deals"].read_text().splitlines()
    assert header.replace('"', "").split(",") == ENTITIES["deals"].schema.names
    open_deal = next(line.split(",") for line in lines if ",open," in line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", open_deal[8])
    assert open_deal[9] == ""  # no closed_at: an empty field


def test_write_files_parquet_round_trips(tmp_path: Path) -> None:
    config = DemoConfig(deals=400, seed=9, as_of=AS_OF)
    expected = _tables(DemoCRM(config))
    paths = write_files(config, tmp_path, fmt="parquet")
    for name, table in expected.items():
        assert pq.read_table(paths[name]).equals(table), name


def test_write_files_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        write_files(DemoConfig(deals=100, as_of=AS_OF), tmp_path, fmt="xlsx")
    assert list(tmp_path.iterdir()) == []
