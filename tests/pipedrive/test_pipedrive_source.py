"""The Pipedrive source against a fake Pipedrive on 127.0.0.1, loaded into DuckDB.

Each test starts a fake company (tests/fakes/pipedrive/) serving a seeded CRM and runs
the real pipeline (ingestion.pipeline.run_source) into a DuckDB file under tmp_path.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import traceback
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.pipedrive import (
    PipedriveAuthError,
    PipedriveConfigError,
    PipedriveError,
    PipedriveResponseError,
    settings,
)
from ingestion.pipedrive.changelog import stage_path
from ingestion.pipedrive.deals import warn_if_deletions_may_be_missed
from ingestion.pipedrive.fields import resolve_fields
from ingestion.registry import SourceNotConfiguredError, build_source, is_configured
from tests.fakes.pipedrive import (
    DEFAULT_TOKEN,
    FakePipedrive,
    field_key,
    goal,
    pipedrive_error,
    rate_limited,
    serve_crm,
)
from tests.fakes.server import Fault, Response
from tests.pipedrive.crm import load, make_crm, rows, snapshot

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException:
    found = [e for e in _chain(exc) if isinstance(e, kind)]
    assert found, f"no {kind.__name__} in {[type(e).__name__ for e in _chain(exc)]}"
    return found[0]


def _changelog_ids(server: FakePipedrive) -> list[int]:
    return [
        int(re.search(r"/deals/([0-9]+)/changelog", r.path).group(1))
        for r in server.requests_to(r"/changelog$")
    ]


def _expected_deals(crm: dict[str, pa.Table]) -> list[tuple[Any, ...]]:
    result = []
    for d in sorted(crm["deals"].to_pylist(), key=lambda d: d["deal_id"]):
        result.append(
            (
                d["deal_id"],
                d["status"],
                d["amount"],
                d["currency"],
                d["created_at"],
                d["closed_at"],
                d["deal_type"],
                d["contract_start"],
                d["contract_end"],
                d["mrr"],
                d["currency"] if d["mrr"] is not None else None,
                d["lost_reason"],
            )
        )
    return result


DEALS_SQL = """
    select title, status, value, currency, add_time,
           case status when 'won' then won_time when 'lost' then lost_time end,
           kpi_deal_type, kpi_contract_start, kpi_contract_end, kpi_mrr, kpi_mrr_currency,
           lost_reason
    from raw_pipedrive.deals order by title
"""
PATHS_SQL = """
    select d.title, s.name, h.entered_at
    from raw_pipedrive.stage_history h
    join raw_pipedrive.deals d on d.id = h.deal_id
    join raw_pipedrive.stages s on s.id = h.stage_id
    order by d.title, h.seq
"""


def _expected_paths(crm: dict[str, pa.Table]) -> list[tuple[Any, ...]]:
    history = crm["stage_history"].to_pylist()
    ordered = sorted(history, key=lambda h: (h["deal_id"], h["entered_at"]))
    return [(h["deal_id"], h["stage"], h["entered_at"]) for h in ordered]


# -- a full load ----------------------------------------------------------------------


def test_a_first_load_mirrors_the_crm(server: FakePipedrive, crm, tmp_path: Path) -> None:
    load(server, tmp_path)

    assert rows(tmp_path, DEALS_SQL) == _expected_deals(crm)
    assert rows(tmp_path, PATHS_SQL) == _expected_paths(crm)
    assert rows(tmp_path, "select name, email, kpi_team from raw_pipedrive.users order by id") == [
        ("Alice Martin", "alice@example.com", "Enterprise"),
        ("Bob Chen", "bob@example.com", "SMB"),
        ("Carla Diaz", "carla@example.com", "SMB"),
        ("Dan Evans", "dan@example.com", None),
    ]
    accounts = crm["accounts"].to_pylist()
    assert rows(
        tmp_path,
        "select name, kpi_segment, kpi_region, kpi_industry, add_time "
        "from raw_pipedrive.organizations order by name",
    ) == sorted(
        (a["name"], a["segment"], a["region"], a["industry"], a["created_at"]) for a in accounts
    )
    assert rows(
        tmp_path,
        "select p.name, s.name, s.deal_probability, s.order_nr from raw_pipedrive.stages s "
        "join raw_pipedrive.pipelines p on p.id = s.pipeline_id order by p.name, s.order_nr",
    ) == [
        ("New Business", "Qualification", 10, 1),
        ("New Business", "Proposal", 40, 2),
        ("New Business", "Negotiation", 70, 3),
        ("Renewals", "Review", 50, 1),
        ("Renewals", "Signature", 90, 2),
    ]

    # paged with the cursor, oldest change first, deleted deals asked for
    deal_pages = server.requests_to(r"^/api/v2/deals$")
    assert len(deal_pages) == -(-60 // 7)
    assert deal_pages[0].arg("sort_by") == "update_time"
    assert deal_pages[0].arg("status") == "open,won,lost,deleted"
    assert deal_pages[0].arg("updated_since") is None  # a first load reads everything
    assert all(r.arg("cursor") for r in deal_pages[1:])
    # only the mapped custom fields are asked for
    assert set(deal_pages[0].arg("custom_fields").split(",")) == {
        field_key(f"deal:{name}") for name in ("Deal type", "Contract start", "Contract end", "MRR")
    }
    # one changelog request per deal
    assert sorted(_changelog_ids(server)) == list(range(1, 61))
    # the token travels in the header only
    assert all(r.headers.get("x-api-token") == DEFAULT_TOKEN for r in server.requests)
    assert not [r for r in server.requests if "api_token" in r.query]


def test_a_company_without_data_gets_empty_typed_tables(tmp_path: Path) -> None:
    empty = {name: table.schema.empty_table() for name, table in make_crm(deals=1).items()}
    with serve_crm(empty) as server:
        load(server, tmp_path)
    for table in ("deals", "stage_history", "organizations", "users", "goals"):
        assert rows(tmp_path, f"select count(*) from raw_pipedrive.{table}") == [(0,)]
    columns = {c[0] for c in rows(tmp_path, "describe raw_pipedrive.deals")}
    assert {"kpi_deal_type", "kpi_mrr", "update_time", "is_deleted"} <= columns


# -- incremental runs ---------------------------------------------------------------------


def test_a_second_run_asks_only_for_changes_since_the_cursor(
    server: FakePipedrive, crm, tmp_path: Path
) -> None:
    load(server, tmp_path)
    [(cursor,)] = rows(tmp_path, "select max(update_time) from raw_pipedrive.deals")
    server.modify_deal("D0003", amount=Decimal("1234.56"))
    moved = next(  # a New Business deal past its first stage, moved back to it
        d["deal_id"]
        for d in crm["deals"].to_pylist()
        if d["pipeline"] == "New Business" and d["stage"] != "Qualification"
    )
    server.modify_deal(moved, stage="Qualification")
    server.requests.clear()

    load(server, tmp_path)

    since = (cursor - timedelta(seconds=settings.LOOKBACK_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    deal_pages = server.requests_to(r"^/api/v2/deals$")
    assert {r.arg("updated_since") for r in deal_pages} == {since}
    # the API answered the modified deals plus those within the lookback of the cursor;
    # only those had their changelog read
    updated = {
        server.native_deal_id(d["deal_id"]): d["updated_at"] for d in crm["deals"].to_pylist()
    }
    window = {i for i, at in updated.items() if at >= cursor - timedelta(seconds=600)}
    modified = {server.native_deal_id("D0003"), server.native_deal_id(moved)}
    assert modified <= set(_changelog_ids(server)) <= modified | window
    assert len(window) < 5

    assert rows(tmp_path, "select count(*), count(distinct id) from raw_pipedrive.deals") == [
        (60, 60)
    ]
    assert rows(tmp_path, "select value from raw_pipedrive.deals where title = 'D0003'") == [
        (Decimal("1234.56"),)
    ]
    path = rows(
        tmp_path,
        "select s.name from raw_pipedrive.stage_history h join raw_pipedrive.deals d "
        "on d.id = h.deal_id join raw_pipedrive.stages s on s.id = h.stage_id "
        f"where d.title = '{moved}' order by h.seq",
    )
    before = [h["stage"] for h in crm["stage_history"].to_pylist() if h["deal_id"] == moved]
    assert [p[0] for p in path] == before + ["Qualification"]


def test_changes_sharing_a_cursor_value_across_a_page_boundary_are_all_loaded(
    server: FakePipedrive, tmp_path: Path
) -> None:
    load(server, tmp_path)
    same_second = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    changed = ["D0010", "D0011", "D0012", "D0013", "D0014"]
    for deal_id in changed:
        server.modify_deal(deal_id, at=same_second, amount=Decimal("77.70"))
    load(server, tmp_path, page_size=2, lookback_seconds=0)
    assert rows(
        tmp_path, "select title from raw_pipedrive.deals where value = 77.70 order by title"
    ) == [(d,) for d in changed]


def test_a_deal_deleted_between_two_runs_is_gone_from_raw(
    server: FakePipedrive, tmp_path: Path
) -> None:
    load(server, tmp_path)
    native = server.native_deal_id("D0007")
    server.delete_deal("D0007")
    load(server, tmp_path)
    assert rows(tmp_path, f"select count(*) from raw_pipedrive.deals where id = {native}") == [(0,)]
    assert rows(
        tmp_path, f"select count(*) from raw_pipedrive.stage_history where deal_id = {native}"
    ) == [(0,)]
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals") == [(59,)]
    # a deleted deal's changelog is not asked for
    assert native not in _changelog_ids(server)[60:]


def test_an_archived_deal_stays_a_deal(server: FakePipedrive, tmp_path: Path) -> None:
    load(server, tmp_path)
    server.archive_deal("D0008")
    load(server, tmp_path)
    assert rows(
        tmp_path, "select is_archived, count(*) from raw_pipedrive.deals group by 1 order by 1"
    ) == [(False, 59), (True, 1)]
    assert server.requests_to(r"^/api/v2/deals/archived$")


def test_a_full_refresh_finds_deletions_by_their_absence(
    server: FakePipedrive, tmp_path: Path
) -> None:
    load(server, tmp_path)
    # deleted 40 days ago: Pipedrive no longer lists it, an incremental run cannot see it
    server.delete_deal("D0009", at=datetime.now(UTC) - timedelta(days=40))
    server.delete_organization("a3")
    load(server, tmp_path)
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals where title = 'D0009'") == [
        (1,)
    ]
    load(server, tmp_path, full_refresh=True)
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals where title = 'D0009'") == [
        (0,)
    ]
    assert rows(tmp_path, "select count(*) from raw_pipedrive.organizations") == [(9,)]
    native = server.native_deal_id("D0009")
    assert rows(
        tmp_path, f"select count(*) from raw_pipedrive.stage_history where deal_id = {native}"
    ) == [(0,)]
    # and the next incremental run goes on from there
    server.modify_deal("D0001", amount=Decimal("10.00"))
    load(server, tmp_path)
    assert rows(tmp_path, "select count(*), count(distinct id) from raw_pipedrive.deals") == [
        (59, 59)
    ]


def test_replaying_a_run_gives_identical_tables(server: FakePipedrive, tmp_path: Path) -> None:
    load(server, tmp_path)
    first = snapshot(tmp_path)
    load(server, tmp_path)
    assert snapshot(tmp_path) == first
    load(server, tmp_path)
    assert snapshot(tmp_path) == first


# -- faults ---------------------------------------------------------------------------------


def test_a_429_and_503_storm_is_waited_out(server: FakePipedrive, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    load(server, reference)
    server.faults += [
        Fault(r"^/api/v2/deals$", response=rate_limited(1), nth=2, times=5),
        Fault(
            r"/changelog$",
            response=pipedrive_error(503, "Service unavailable", {"Retry-After": "1"}),
            nth=10,
            times=5,
        ),
        Fault(r"^/api/v2/organizations$", response=rate_limited(2), nth=1, times=3),
    ]
    load(server, tmp_path / "stormy")
    assert snapshot(tmp_path / "stormy") == snapshot(reference)
    assert all(f._fired == f.times for f in server.faults)


def test_retry_after_and_the_rate_limit_reset_are_honoured(
    server: FakePipedrive, tmp_path: Path
) -> None:
    server.faults += [
        Fault(r"^/api/v2/deals$", response=rate_limited(1), nth=1, times=1),
        # a 429 without Retry-After: the x-ratelimit-reset header says when to retry
        Fault(
            r"^/api/v2/stages$",
            response=pipedrive_error(
                429, "Request over limit", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}
            ),
        ),
    ]
    load(server, tmp_path, max_retry_delay=5)
    for path in ("/api/v2/deals", "/api/v2/stages"):
        times = [t for t, p in server.arrivals if p == path]
        assert times[1] - times[0] >= 0.95, f"{path} was retried after {times[1] - times[0]:.2f}s"


def test_the_client_waits_when_the_rate_limit_window_is_used_up(crm, tmp_path: Path) -> None:
    with serve_crm(crm, ratelimit=25, ratelimit_window=1.0) as server:
        started = time.monotonic()
        load(server, tmp_path, page_size=50, history_workers=2, max_retry_delay=2)
        elapsed = time.monotonic() - started
        assert len(server.requests) > 50  # so at least two windows were needed
        assert elapsed >= 1.0
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals") == [(60,)]


def test_a_500_and_a_dropped_connection_on_page_3_are_retried(
    server: FakePipedrive, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    load(server, reference)
    server.requests.clear()
    server.faults += [
        Fault(r"^/api/v2/deals$", response=pipedrive_error(500, "Internal server error"), nth=3),
        # FakeServer counts a fault's matches only on requests no earlier fault answered:
        # this one sees page 3's retry as its third request
        Fault(r"^/api/v2/deals$", kind="drop", nth=3),
    ]
    load(server, tmp_path / "faulty")
    assert snapshot(tmp_path / "faulty") == snapshot(reference)
    pages = server.requests_to(r"^/api/v2/deals$")
    assert len(pages) == -(-60 // 7) + 2
    assert pages[2].query == pages[3].query == pages[4].query  # page 3 asked three times


def test_retries_are_bounded(server: FakePipedrive, tmp_path: Path) -> None:
    server.faults.append(
        Fault(r"^/api/v2/deals$", response=pipedrive_error(502, "Bad gateway"), times=100)
    )
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path, max_attempts=3)
    message = str(_find(failure.value, PipedriveError))
    assert "502" in message and "after 3 attempts" in message
    assert len(server.requests_to(r"^/api/v2/deals$")) == 3


def test_a_malformed_page_fails_the_run_and_the_next_run_loads_everything(
    server: FakePipedrive, tmp_path: Path
) -> None:
    load(server, tmp_path)
    before = snapshot(tmp_path)
    pipeline = dlt.attach(pipeline_name="pipedrive", pipelines_dir=str(tmp_path / "dlt"))
    cursor = pipeline.state["sources"]["pipedrive"]["resources"]["deals"]["incremental"]
    cursor = cursor["update_time"]["last_value"]
    changed = ["D0020", "D0021", "D0022", "D0023"]
    for deal_id in changed:
        server.modify_deal(deal_id, amount=Decimal("5.55"))
    server.faults.append(Fault(r"^/api/v2/deals$", kind="malformed", nth=2))

    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path, page_size=2)
    error = _find(failure.value, PipedriveResponseError)
    assert "page 2" in str(error) and "not valid JSON" in str(error)
    assert snapshot(tmp_path) == before
    pipeline = dlt.attach(pipeline_name="pipedrive", pipelines_dir=str(tmp_path / "dlt"))
    state = pipeline.state["sources"]["pipedrive"]["resources"]["deals"]["incremental"]
    assert state["update_time"]["last_value"] == cursor

    load(server, tmp_path, page_size=2)
    assert rows(tmp_path, "select count(*), count(distinct id) from raw_pipedrive.deals") == [
        (60, 60)
    ]
    assert rows(
        tmp_path, "select title from raw_pipedrive.deals where value = 5.55 order by title"
    ) == [(d,) for d in changed]
    assert rows(
        tmp_path,
        "select count(*) from (select deal_id, seq from raw_pipedrive.stage_history "
        "group by 1, 2 having count(*) > 1)",
    ) == [(0,)]


def test_a_wrong_token_fails_at_once_with_a_clear_error(
    server: FakePipedrive, tmp_path: Path
) -> None:
    wrong = "pd-wrong-token-0000000000000000000000000000"
    started = time.monotonic()
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path, token=wrong, max_retry_delay=5)
    assert time.monotonic() - started < 5
    error = _find(failure.value, PipedriveAuthError)
    assert "401" in str(error) and "SOURCES__PIPEDRIVE__API_TOKEN" in str(error)
    paths = [r.path for r in server.requests]
    assert len(paths) == len(set(paths)), "a 401 must not be retried"
    assert wrong not in "".join(traceback.format_exception(failure.value))


def test_a_403_names_the_permission_to_check(server: FakePipedrive, tmp_path: Path) -> None:
    server.faults.append(
        Fault(r"^/api/v2/deals$", response=pipedrive_error(403, "You do not have permissions"))
    )
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path)
    error = str(_find(failure.value, PipedriveAuthError))
    assert "403" in error and "permission" in error and "SOURCES__PIPEDRIVE__API_TOKEN" in error


def test_the_token_never_reaches_logs_or_error_text(
    server: FakePipedrive,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    server.faults += [
        Fault(r"^/api/v2/deals$", response=rate_limited(1), nth=2),
        Fault(r"^/api/v2/deals$", response=pipedrive_error(500, "boom"), nth=3),
        Fault(r"^/api/v2/deals$", kind="drop", nth=4),
        Fault(r"/changelog$", kind="malformed", nth=30),
    ]
    texts: list[str] = []
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path)
    texts += [str(failure.value), repr(failure.value)]
    texts.append("".join(traceback.format_exception(failure.value)))
    load(server, tmp_path)
    with pytest.raises(PipelineStepFailed) as refused:
        load(server, tmp_path, token=DEFAULT_TOKEN[:-1] + "X")
    texts.append("".join(traceback.format_exception(refused.value)))
    out, err = capfd.readouterr()
    texts += [caplog.text, out, err]
    assert caplog.text  # the run did log, at debug level
    for text in texts:
        assert DEFAULT_TOKEN not in text
        assert DEFAULT_TOKEN[:-1] not in text


# -- a killed run ---------------------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from ingestion.pipeline import run_source
    from ingestion.pipedrive import pipedrive_source

    workdir = Path({workdir!r})
    source = pipedrive_source(api_token={token!r}, base_url={url!r}, page_size=5,
                              history_workers=2)
    run_source(source, "pipedrive", workdir / "build.duckdb", workdir / "dlt")
    """
)


def test_a_run_killed_mid_load_then_rerun_equals_an_uninterrupted_run(crm, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    with serve_crm(crm) as server:
        load(server, reference)
    killed = tmp_path / "killed"
    with serve_crm(crm, latency=0.01) as server:
        script = KILLED_RUN.format(
            root=str(PROJECT_ROOT), workdir=str(killed), token=DEFAULT_TOKEN, url=server.url
        )
        process = subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT)
        try:
            deadline = time.monotonic() + 60
            while len(server.requests_to(r"/changelog$")) < 25:
                assert process.poll() is None, "the load ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.01)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        fetched_before = set(_changelog_ids(server))
        server.requests.clear()
        server.latency = 0
        load(server, killed)
        refetched = set(_changelog_ids(server))
    assert snapshot(killed) == snapshot(reference)
    # it resumed: the changelogs the killed run had stored were not asked for again
    assert len(fetched_before - refetched) >= 20
    assert len(refetched) < 60


# -- goals, settings, configuration -----------------------------------------------------------


def test_goals_become_objectives_or_are_reported_unmapped(
    crm, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    month = date(2026, 3, 1)
    quarter_end = date(2026, 6, 30)
    goals = [
        goal("g1", "Won deals each month", "deals_won", "quantity", 12, month, quarter_end),
        goal(
            "g2",
            "Revenue Q2",
            "deals_won",
            "sum",
            50000,
            date(2026, 4, 1),
            quarter_end,
            interval="quarterly",
            currency_id=1,
        ),
        goal(
            "g3",
            "Revenue in dollars",
            "deals_won",
            "sum",
            9000,
            month,
            quarter_end,
            currency_id=2,
        ),
        goal("g4", "Deals progressed", "deals_progressed", "quantity", 30, month, quarter_end),
        goal(
            "g5",
            "Bob's new deals",
            "deals_started",
            "quantity",
            8,
            month,
            quarter_end,
            assignee_type="person",
            assignee_id=2,
        ),
        goal(
            "g6",
            "SMB team wins",
            "deals_won",
            "quantity",
            5,
            month,
            quarter_end,
            assignee_type="team",
            assignee_id=2,
        ),
        goal(
            "g7",
            "Renewals pipeline",
            "deals_won",
            "quantity",
            3,
            month,
            quarter_end,
            pipeline_ids=[2],
        ),
        goal("g8", "Mid-month start", "deals_won", "quantity", 3, date(2026, 3, 15), quarter_end),
        goal(
            "g9",
            "Yearly wins",
            "deals_won",
            "quantity",
            100,
            date(2026, 1, 1),
            date(2026, 12, 31),
            interval="yearly",
        ),
        goal("g10", "Inactive", "deals_won", "quantity", 1, month, quarter_end, is_active=False),
    ]
    caplog.set_level(logging.WARNING)
    with serve_crm(crm, goals=goals) as server:
        load(server, tmp_path)
    got = rows(
        tmp_path,
        "select id, kpi_metric, kpi_scope_type, kpi_scope_value, kpi_grain, unmapped_reason "
        "from raw_pipedrive.goals order by id",
    )
    by_id = {g[0]: g[1:] for g in got}
    assert set(by_id) == {f"g{i}" for i in range(1, 10)}  # only active goals
    assert by_id["g1"] == ("won_deals", "company", "all", "month", None)
    assert by_id["g2"] == ("won_revenue", "company", "all", "quarter", None)
    assert by_id["g5"] == ("deals_created", "owner", "2", "month", None)
    assert by_id["g6"] == ("won_deals", "team", "SMB", "month", None)
    assert by_id["g7"] == ("won_deals", "pipeline", "Renewals", "month", None)
    assert by_id["g9"] == ("won_deals", "company", "all", None, None)
    assert "reporting currency is EUR" in by_id["g3"][4]
    assert "no crm-kpi metric" in by_id["g4"][4]
    assert "whole calendar months" in by_id["g8"][4]
    assert by_id["g3"][0] is None and by_id["g4"][0] is None and by_id["g8"][0] is None
    warned = "\n".join(r.getMessage() for r in caplog.records)
    for unmapped in ("g3", "g4", "g8"):
        assert f"goal {unmapped} " in warned


def test_custom_fields_are_found_by_key_or_by_name(
    crm, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING)
    # a dict setting from the environment, as dlt reads it: JSON
    monkeypatch.setenv("SOURCES__PIPEDRIVE__DEAL_TYPE_LABELS", '{"Renewal": "expansion"}')
    with serve_crm(crm) as server:
        load(
            server,
            tmp_path,
            mrr_field=field_key("deal:MRR"),  # the API key
            segment_field="segment",  # a name, in another case
            region_field="Territory",  # no such field: left empty, with a warning
            industry_field="",  # turned off
            team_field="timezone_name",  # a user attribute instead of Pipedrive's teams
        )
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals where kpi_mrr is not null") == [
        (sum(1 for m in crm["deals"]["mrr"].to_pylist() if m is not None),)
    ]
    assert rows(
        tmp_path,
        "select count(kpi_segment), count(kpi_region), count(kpi_industry) "
        "from raw_pipedrive.organizations",
    ) == [(10, 0, 0)]
    assert "'Territory'" in caplog.text and "SOURCES__PIPEDRIVE__REGION_FIELD" in caplog.text
    renewals = sum(1 for t in crm["deals"]["deal_type"].to_pylist() if t == "renewal")
    assert rows(
        tmp_path,
        "select count(*) from raw_pipedrive.deals where kpi_deal_type_label = 'Renewal' "
        "and kpi_deal_type = 'expansion'",
    ) == [(renewals,)]
    assert rows(tmp_path, "select distinct kpi_team from raw_pipedrive.users") == [
        ("Europe/Paris",)
    ]
    assert rows(tmp_path, "select count(*) from raw_pipedrive.teams") == [(0,)]


def test_a_pipeline_idle_for_30_days_warns_that_deletions_may_have_been_missed(
    server: FakePipedrive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load(server, tmp_path)
    pipeline = dlt.attach(pipeline_name="pipedrive", pipelines_dir=str(tmp_path / "dlt"))
    deals_state = pipeline.state["sources"]["pipedrive"]["resources"]["deals"]
    last_read = datetime.fromisoformat(deals_state["last_read_at"])
    assert datetime.now(UTC) - last_read < timedelta(minutes=5)
    caplog.set_level(logging.WARNING)
    load(server, tmp_path)  # read again today: the CRM's own changes are months old
    assert "FULL_REFRESH" not in caplog.text
    now = datetime.now(UTC)
    warn_if_deletions_may_be_missed((now - timedelta(days=10)).isoformat(), now, False)
    warn_if_deletions_may_be_missed((now - timedelta(days=40)).isoformat(), now, True)
    assert "FULL_REFRESH" not in caplog.text
    warn_if_deletions_may_be_missed((now - timedelta(days=40)).isoformat(), now, False)
    assert "SOURCES__PIPEDRIVE__FULL_REFRESH=true" in caplog.text
    assert "40 days ago" in caplog.text


def test_a_field_of_the_wrong_type_is_a_clear_error(server: FakePipedrive, tmp_path) -> None:
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path, mrr_field="Contract start")
    error = str(_find(failure.value, PipedriveConfigError))
    assert "'date'" in error and "SOURCES__PIPEDRIVE__MRR_FIELD" in error


def test_an_ambiguous_field_name_asks_for_the_key() -> None:
    fields = [
        {"field_name": "Segment", "field_code": "a" * 40, "field_type": "enum"},
        {"field_name": "segment", "field_code": "b" * 40, "field_type": "varchar"},
    ]
    with pytest.raises(PipedriveConfigError, match="SOURCES__PIPEDRIVE__SEGMENT_FIELD"):
        resolve_fields(fields, {"segment": ("segment_field", "Segment")}, "organization")
    resolved = resolve_fields(fields, {"segment": ("segment_field", "b" * 40)}, "organization")
    assert resolved["segment"].field_type == "varchar"


def test_stage_changes_are_ordered_by_time_then_chained() -> None:
    changes = [  # newest first, two changes within one second, other fields mixed in
        {
            "field_key": "stage_id",
            "old_value": "3",
            "new_value": "4",
            "time": "2026-01-03 10:00:00",
        },
        {"field_key": "value", "old_value": "1", "new_value": "2", "time": "2026-01-02 00:00:00"},
        {
            "field_key": "stage_id",
            "old_value": "2",
            "new_value": "3",
            "time": "2026-01-02 10:00:00",
        },
        {
            "field_key": "stage_id",
            "old_value": "1",
            "new_value": "2",
            "time": "2026-01-02 10:00:00",
        },
    ]
    assert stage_path(changes, current_stage=4, what="test") == [
        (1, None),
        (2, "2026-01-02 10:00:00"),
        (3, "2026-01-02 10:00:00"),
        (4, "2026-01-03 10:00:00"),
    ]
    assert stage_path([], current_stage=7, what="test") == [(7, None)]


def test_the_source_is_configured_by_its_token_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCES__PIPEDRIVE__API_TOKEN", raising=False)
    assert not is_configured("pipedrive")
    with pytest.raises(SourceNotConfiguredError, match="SOURCES__PIPEDRIVE__API_TOKEN"):
        build_source("pipedrive")
    monkeypatch.setenv("SOURCES__PIPEDRIVE__API_TOKEN", "some-token")
    assert is_configured("pipedrive")
    monkeypatch.setenv("SOURCES__PIPEDRIVE__BASE_URL", "not a url")
    with pytest.raises(PipedriveConfigError, match="SOURCES__PIPEDRIVE__BASE_URL"):
        build_source("pipedrive")


def test_the_api_token_is_not_in_the_settings_of_a_run(monkeypatch, server, tmp_path) -> None:
    monkeypatch.setenv("SOURCES__PIPEDRIVE__API_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("SOURCES__PIPEDRIVE__BASE_URL", server.url)
    source = build_source("pipedrive", page_size=20)
    assert DEFAULT_TOKEN not in repr(source)
    from ingestion.pipeline import run_source

    run_source(source, "pipedrive", tmp_path / "build.duckdb", tmp_path / "dlt")
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deals") == [(60,)]
    for state_file in (tmp_path / "dlt").rglob("*"):
        if state_file.is_file() and state_file.suffix in (".json", ".yaml", ".toml", ".log"):
            assert DEFAULT_TOKEN not in state_file.read_text(errors="ignore")


def test_unexpected_record_shapes_fail_the_page(server: FakePipedrive, tmp_path: Path) -> None:
    broken = {"success": True, "data": [{"id": "not-a-number", "update_time": "x"}]}
    server.faults.append(Fault(r"^/api/v2/deals$", response=Response(200, broken)))
    with pytest.raises(PipelineStepFailed) as failure:
        load(server, tmp_path)
    assert "page 1" in str(_find(failure.value, PipedriveResponseError))


# -- staging models -------------------------------------------------------------------------

STAGING = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "pipedrive"
DOCS = PROJECT_ROOT / "dbt_project" / "models" / "docs" / "columns.md"


def _build_staging(workdir: Path) -> subprocess.CompletedProcess[str]:
    """dbt build of the pipedrive staging models, alone, in a throwaway project."""
    project = workdir / "dbt"
    (project / "models" / "staging").mkdir(parents=True)
    shutil.copytree(STAGING, project / "models" / "staging" / "pipedrive")
    (project / "models" / "docs").mkdir()
    shutil.copy(DOCS, project / "models" / "docs" / "columns.md")
    # the project's macros (type_double, the staging helpers) as the real build has them
    shutil.copytree(PROJECT_ROOT / "dbt_project" / "macros", project / "macros")
    (project / "dbt_project.yml").write_text(
        "name: pipedrive_staging\nversion: '1.0.0'\nconfig-version: 2\n"
        "profile: pipedrive_staging\n"
        "models:\n  pipedrive_staging:\n    staging:\n      +materialized: view\n"
    )
    (project / "profiles.yml").write_text(
        "pipedrive_staging:\n  target: build\n  outputs:\n    build:\n      type: duckdb\n"
        f"      path: '{workdir / 'build.duckdb'}'\n      threads: 2\n"
        "      settings:\n        TimeZone: UTC\n"
    )
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [
            str(dbt),
            "build",
            "--profiles-dir",
            str(project),
            "--project-dir",
            str(project),
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(project / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_staging_models_give_the_one_crm_model(crm, tmp_path: Path) -> None:
    goals = [
        goal("g1", "Won deals", "deals_won", "quantity", 12, date(2026, 3, 1), date(2026, 6, 30)),
        goal(
            "g2",
            "Carla's revenue",
            "deals_won",
            "sum",
            9000.5,
            date(2026, 4, 1),
            date(2026, 6, 30),
            interval="quarterly",
            assignee_type="person",
            assignee_id=3,
            currency_id=1,
        ),
        goal(
            "g3", "Progress", "deals_progressed", "quantity", 3, date(2026, 3, 1), date(2026, 3, 31)
        ),
    ]
    with serve_crm(crm, goals=goals) as server:
        load(server, tmp_path)
        server.delete_deal("D0002")
        load(server, tmp_path)
    result = _build_staging(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PASS=" in result.stdout and "ERROR=0" in result.stdout

    deals = [d for d in crm["deals"].to_pylist() if d["deal_id"] != "D0002"]
    got = rows(
        tmp_path,
        "select o.source, o.status, o.amount, o.currency, o.created_at, o.closed_at, "
        "o.deal_type, o.contract_start, o.contract_end, o.mrr, o.pipeline, o.stage, "
        "a.name, w.name, w.team "
        "from main.stg_pipedrive__opportunities o "
        "left join main.stg_pipedrive__accounts a on a.account_id = o.account_id "
        "join main.stg_pipedrive__owners w on w.owner_id = o.owner_id "
        "join raw_pipedrive.deals r on o.opportunity_id = 'pipedrive:' || r.id order by r.title",
    )
    accounts = {a["account_id"]: a["name"] for a in crm["accounts"].to_pylist()}
    owners = {o["owner_id"]: (o["name"], o["team"]) for o in crm["owners"].to_pylist()}
    assert got == [
        (
            "pipedrive",
            d["status"],
            d["amount"],
            d["currency"],
            d["created_at"],
            d["closed_at"],
            d["deal_type"] or "new_business",
            d["contract_start"],
            d["contract_end"],
            d["mrr"],
            d["pipeline"],
            d["stage"],
            accounts.get(d["account_id"]),
            *owners[d["owner_id"]],
        )
        for d in sorted(deals, key=lambda d: d["deal_id"])
    ]
    history = rows(
        tmp_path,
        "select r.title, h.stage, h.entered_at from main.stg_pipedrive__stage_history h "
        "join raw_pipedrive.deals r on h.opportunity_id = 'pipedrive:' || r.id "
        "order by r.title, h.entered_at",
    )
    assert history == [h for h in _expected_paths(crm) if h[0] != "D0002"]
    assert rows(
        tmp_path,
        "select pipeline, stage, probability, display_order from "
        "main.stg_pipedrive__stages order by pipeline, display_order",
    ) == [
        ("New Business", "Qualification", Decimal("0.1000"), 1),
        ("New Business", "Proposal", Decimal("0.4000"), 2),
        ("New Business", "Negotiation", Decimal("0.7000"), 3),
        ("Renewals", "Review", Decimal("0.5000"), 1),
        ("Renewals", "Signature", Decimal("0.9000"), 2),
    ]
    assert rows(
        tmp_path,
        "select objective_id, metric, scope_type, scope_value, period_start, period_end, "
        "grain, direction, target, at_risk, off_track "
        "from main.stg_pipedrive__objectives order by objective_id",
    ) == [
        (
            "pipedrive:g1",
            "won_deals",
            "company",
            "all",
            date(2026, 3, 1),
            date(2026, 6, 30),
            "month",
            "increase",
            12.0,
            0.95,
            0.8,
        ),
        (
            "pipedrive:g2",
            "won_revenue",
            "owner",
            "pipedrive:3",
            date(2026, 4, 1),
            date(2026, 6, 30),
            "quarter",
            "increase",
            9000.5,
            0.95,
            0.8,
        ),
    ]
    assert rows(tmp_path, "select count(*) from main.stg_pipedrive__fx_rates") == [(0,)]
