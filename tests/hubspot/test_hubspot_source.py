"""The HubSpot source against a fake HubSpot (tests/fakes/hubspot/) serving a small demo
CRM, loaded into DuckDB by `ingestion.pipeline.run_source`, as the pipeline loads it.

What is checked at the raw layer: what the first run loads, that a later run asks only for
what changed (on the requests the server received), deletes, HubSpot's 10,000-result
search cap, 429/503 storms, 500s and dropped connections, a malformed page, a refused
token, replays, a process killed mid-load, and that the token shows nowhere.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.hubspot import (
    HubSpotAuthError,
    HubSpotDataError,
    HubSpotError,
    HubSpotResponseError,
)
from ingestion.hubspot import settings as hs
from ingestion.hubspot.schemas import DEALS_SCHEMA
from ingestion.hubspot.values import to_date, to_decimal, to_timestamp
from ingestion.registry import SourceNotConfiguredError, build_source, is_configured
from tests.conftest import ROOT
from tests.fakes.hubspot import (
    DEFAULT_TOKEN,
    FakeHubSpot,
    error_fault,
    fault,
    rate_limit_fault,
    serve_crm,
)
from tests.fakes.server import Fault, Request
from tests.hubspot.conftest import DEALS_ONLY, cursor, load, raw, raw_count, sql

DEALS_LIST = r"^/crm/v3/objects/deals$"
LIVE = {"archived": "false"}


def cause_chain(exc: BaseException) -> list[BaseException]:
    chain, current = [], exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def hubspot_error(exc: BaseException) -> HubSpotError:
    return next(e for e in cause_chain(exc) if isinstance(e, HubSpotError))


def list_pages_of(server: FakeHubSpot, object_type: str = "deals") -> list[Request]:
    return [
        r
        for r in server.requests_to(rf"^/crm/v3/objects/{object_type}$", "GET")
        if r.arg("archived") == "false"
    ]


# --- first run -----------------------------------------------------------------------


@dataclass
class FirstRun:
    portal: FakeHubSpot
    data_dir: Path


@pytest.fixture(scope="module")
def first_run(
    crm: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FirstRun]:
    """One first run (page_size 1000, above every HubSpot cap), read by several tests."""
    data_dir = tmp_path_factory.mktemp("first-run")
    with pytest.MonkeyPatch.context() as env, serve_crm(crm) as server:
        env.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        load(server, data_dir, page_size=1000)
        yield FirstRun(server, data_dir)


def test_first_run_loads_every_table_from_the_list_endpoints(
    first_run: FirstRun, crm: dict[str, pa.Table]
) -> None:
    portal, data_dir = first_run.portal, first_run.data_dir
    deals = crm["deals"]
    assert raw_count(data_dir, "deals") == deals.num_rows
    assert raw_count(data_dir, "deal_stage_history") == crm["stage_history"].num_rows
    assert raw_count(data_dir, "companies") == crm["accounts"].num_rows
    assert raw_count(data_dir, "owners") == crm["owners"].num_rows
    assert raw_count(data_dir, "deal_pipeline_stages") == crm["stages"].num_rows
    assert raw_count(data_dir, "exchange_rates") == crm["fx_rates"].num_rows
    assert raw_count(data_dir, "goal_targets") == 0  # the table exists, empty

    # pages capped at HubSpot's limits (50 with property history, else 100), the paging
    # cursor followed to the end, the token only in the Authorization header
    pages = list_pages_of(portal)
    assert len(pages) == -(-deals.num_rows // hs.HISTORY_PAGE_SIZE)
    assert {p.arg("limit") for p in pages} == {str(hs.HISTORY_PAGE_SIZE)}
    assert {p.arg("limit") for p in list_pages_of(portal, "companies")} == {str(hs.LIST_PAGE_SIZE)}
    assert all(p.arg("propertiesWithHistory") == "dealstage" for p in pages)
    assert all(p.headers["authorization"] == f"Bearer {portal.token}" for p in portal.requests)
    assert not any(portal.token in json.dumps(p.query) for p in portal.requests)

    # every value of a deal, parsed from HubSpot's strings into typed columns
    for first in deals.slice(0, 20).to_pylist():
        columns = [f.name for f in DEALS_SCHEMA]
        (row,) = sql(
            data_dir,
            f"SELECT {', '.join(columns)} FROM raw_hubspot.deals WHERE id = ?",
            [portal.hubspot_id("deals", first["deal_id"])],
        )
        named = dict(zip(columns, row, strict=True))
        assert named["amount"] == first["amount"]
        assert named["currency"] == first["currency"]
        assert named["created_at"] == first["created_at"]
        assert named["close_date"] == first["closed_at"]
        assert named["is_closed_won"] == (first["status"] == "won")
        assert named["is_closed"] == (first["status"] != "open")
        assert named["deal_type"] == first["deal_type"]
        assert named["contract_start"] == first["contract_start"]
        assert named["contract_end"] == first["contract_end"]
        assert named["mrr"] == first["mrr"]
        assert named["lost_reason"] == first["lost_reason"]
        assert named["updated_at"] == first["updated_at"]


def test_each_deal_gets_its_primary_company_not_the_first_listed(
    first_run: FirstRun, crm: dict[str, pa.Table]
) -> None:
    # the fake lists a second, unlabeled company first for every 7th deal
    portal = first_run.portal
    expected = {
        portal.hubspot_id("deals", d): portal.hubspot_id("companies", a) if a else None
        for d, a in zip(
            crm["deals"].column("deal_id").to_pylist(),
            crm["deals"].column("account_id").to_pylist(),
            strict=True,
        )
    }
    loaded = dict(sql(first_run.data_dir, "SELECT id, company_id FROM raw_hubspot.deals"))
    assert loaded == expected
    assert sum(1 for company in expected.values() if company) > 100


def test_raw_column_types(first_run: FirstRun) -> None:
    types = dict(
        sql(
            first_run.data_dir,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw_hubspot'",
        )
    )
    assert types["deals.amount"] == "DECIMAL(38,9)"
    assert types["deals.created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["deals.contract_start"] == "DATE"
    assert types["deals.is_closed_won"] == "BOOLEAN"
    assert types["deal_stage_history.entered_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["exchange_rates.conversion_rate"] == "DECIMAL(38,12)"
    assert types["deal_pipeline_stages.probability"] == "DECIMAL(38,9)"


# --- incremental runs ------------------------------------------------------------------


def test_second_run_asks_only_for_records_modified_since_the_cursor(
    portal: FakeHubSpot, data_dir: Path
) -> None:
    load(portal, data_dir, only=DEALS_ONLY)
    stored = cursor(data_dir)
    assert stored is not None
    portal.modify("deals", "7", amount="1234.56")
    portal.modify("deals", "8", dealstage=portal.stage_id("New Business", "Closed Won"))
    seen = len(portal.requests)

    load(portal, data_dir, only=DEALS_ONLY)

    second = portal.requests[seen:]
    deal_calls = [r for r in second if "/objects/deals" in r.path or "/associations/" in r.path]
    # no full listing of live deals, only a search from the cursor minus the lookback
    assert not [r for r in deal_calls if r.method == "GET" and r.arg("archived") == "false"]
    searches = [r.json() for r in deal_calls if r.path.endswith("/search")]
    (search,) = searches
    (flt,) = search["filterGroups"][0]["filters"]
    since_ms = int(stored.timestamp() * 1000) - hs.DEFAULT_LOOKBACK_SECONDS * 1000
    assert flt == {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)}
    # the records read in full are exactly those modified since then
    read_ids = {
        i["id"] for r in deal_calls if r.path.endswith("/batch/read") for i in r.json()["inputs"]
    }
    modified = portal.deals.modified_ms >= since_ms
    assert read_ids == {str(i) for i in portal.deals.ids[modified]}
    assert {portal.hubspot_id("deals", "7"), portal.hubspot_id("deals", "8")} <= read_ids
    assert len(read_ids) < portal.deals.ids.size / 10

    amounts = dict(sql(data_dir, "SELECT id, amount FROM raw_hubspot.deals"))
    assert len(amounts) == portal.deals.ids.size  # merged, no duplicates
    assert amounts[portal.hubspot_id("deals", "7")] == Decimal("1234.56")
    history = sql(
        data_dir,
        "SELECT stage_id FROM raw_hubspot.deal_stage_history WHERE deal_id = ? ORDER BY entered_at",
        [portal.hubspot_id("deals", "8")],
    )
    assert history[-1] == (portal.stage_id("New Business", "Closed Won"),)
    served = json.loads(portal.deals.history_json[portal.deals.index["8"]].as_py())
    assert len(history) == len(served)
    assert cursor(data_dir) > stored


def test_no_record_is_lost_past_the_search_cap_or_across_shared_cursor_values(
    portal: FakeHubSpot, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(portal, data_dir, only=DEALS_ONLY)
    # 60 deals modified at one millisecond and 40 at the next: with a cap of 20 results per
    # query and pages of 8, the search must restart past the cap and page the shared
    # millisecond by id, or records are lost
    monkeypatch.setattr(hs, "SEARCH_RESULT_LIMIT", 20)
    portal.search_result_limit = 20
    stamp = portal.tick()
    changed = {}
    for n, key in enumerate(list(portal.deals.index)[:100]):
        row = portal.deals.index[key]
        amount = f"{1000 + n}.25"
        portal.deals.set_prop(row, "amount", amount)
        portal.deals.modified_ms[row] = stamp if n < 60 else stamp + 1
        changed[str(portal.deals.ids[row])] = Decimal(amount)
    portal.deals.changed()
    seen = len(portal.requests)

    load(portal, data_dir, only=DEALS_ONLY, page_size=8)

    searches = [
        r.json() for r in portal.requests[seen:] if r.path == "/crm/v3/objects/deals/search"
    ]
    assert all(int(s.get("after", 0)) + s["limit"] <= 20 for s in searches)
    assert any(f["operator"] == "EQ" for s in searches for f in s["filterGroups"][0]["filters"])
    amounts = dict(sql(data_dir, "SELECT id, amount FROM raw_hubspot.deals"))
    assert {k: amounts[k] for k in changed} == changed
    assert len(amounts) == portal.deals.ids.size


def test_deleted_records_are_deleted_from_raw_on_the_next_run(
    portal: FakeHubSpot, crm: dict[str, pa.Table], data_dir: Path
) -> None:
    only = (*DEALS_ONLY, "companies")
    load(portal, data_dir, only=only)
    gone_deal = portal.hubspot_id("deals", "9")
    gone_company = portal.hubspot_id("companies", crm["accounts"].column("account_id")[0].as_py())
    assert raw_count(data_dir, "deal_stage_history", "deal_id = ?", [gone_deal]) > 0
    portal.archive("deals", "9")
    portal.archive("companies", crm["accounts"].column("account_id")[0].as_py())

    load(portal, data_dir, only=only)

    assert raw_count(data_dir, "deals", "id = ?", [gone_deal]) == 0
    assert raw_count(data_dir, "deal_stage_history", "deal_id = ?", [gone_deal]) == 0
    assert raw_count(data_dir, "companies", "id = ?", [gone_company]) == 0
    assert raw_count(data_dir, "deals") == crm["deals"].num_rows - 1
    assert raw_count(data_dir, "companies") == crm["accounts"].num_rows - 1


def test_a_full_reload_removes_records_deleted_for_good(
    portal: FakeHubSpot, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a record deleted for good (GDPR, or past HubSpot's 90-day recycle bin) is never
    # listed as archived: incremental runs cannot see it go, a full reload does
    load(portal, data_dir, only=DEALS_ONLY)
    purged = portal.hubspot_id("deals", "10")
    portal.purge("deals", "10")
    load(portal, data_dir, only=DEALS_ONLY)
    assert raw_count(data_dir, "deals", "id = ?", [purged]) == 1

    monkeypatch.setenv("HUBSPOT__REFRESH", "drop_sources")  # docs/connectors/hubspot.md
    seen = len(portal.requests)
    load(portal, data_dir, only=DEALS_ONLY)
    assert list_pages_of(portal)[-1] in portal.requests[seen:]  # read whole, as a first run
    assert raw_count(data_dir, "deals", "id = ?", [purged]) == 0
    assert raw_count(data_dir, "deal_stage_history", "deal_id = ?", [purged]) == 0
    assert raw_count(data_dir, "deals") == portal.deals.ids.size - 1


def test_replaying_a_run_changes_nothing(portal: FakeHubSpot, data_dir: Path) -> None:
    load(portal, data_dir)
    tables = ("deals", "deal_stage_history", "companies", "owners", "exchange_rates")
    before = {t: raw(data_dir, t, "all") for t in tables}
    load(portal, data_dir)
    assert {t: raw(data_dir, t, "all") for t in tables} == before


# --- faults --------------------------------------------------------------------------


def test_a_storm_of_429_and_503_with_retry_after_is_waited_out(
    portal: FakeHubSpot, crm: dict[str, pa.Table], data_dir: Path
) -> None:
    portal.faults += [
        rate_limit_fault(DEALS_LIST, nth=2, times=2, retry_after=1, query=LIVE),
        error_fault(r"^/crm/v3/owners$", 503, times=1, retry_after=1),
    ]
    started = time.monotonic()
    load(portal, data_dir, only=(*DEALS_ONLY, "owners"))
    elapsed = time.monotonic() - started

    assert all(f._fired == f.times for f in portal.faults)
    # three answers said Retry-After: 1 and backoff is 0.01 s: the waits are HubSpot's
    assert elapsed >= 3.0
    assert raw_count(data_dir, "deals") == crm["deals"].num_rows
    assert raw_count(data_dir, "owners") == crm["owners"].num_rows


def test_rate_limit_headers_are_respected_before_hubspot_says_429(
    crm: dict[str, pa.Table], data_dir: Path
) -> None:
    # a window of 6 requests per 300 ms: the client waits when Remaining reaches 0
    with serve_crm(crm, rate_limit=(6, 300)) as server:
        load(server, data_dir, only=DEALS_ONLY, page_size=25)
        assert server.rate_limited == 0
        assert len(server.requests) > 12
    assert raw_count(data_dir, "deals") == crm["deals"].num_rows


def test_a_500_and_a_dropped_connection_on_page_3_are_retried(
    portal: FakeHubSpot, crm: dict[str, pa.Table], data_dir: Path
) -> None:
    portal.faults += [
        error_fault(DEALS_LIST, 500, nth=3, query=LIVE, method="GET"),
        fault(DEALS_LIST, "drop", nth=3, query=LIVE, method="GET"),
    ]
    load(portal, data_dir, only=DEALS_ONLY, page_size=30)

    assert all(f._fired == 1 for f in portal.faults)
    pages = list_pages_of(portal)
    third = pages[2].arg("after")
    # page 3 was asked three times (500, dropped, answered), every other page once
    assert [p.arg("after") for p in pages].count(third) == 3
    assert len(pages) == -(-crm["deals"].num_rows // 30) + 2
    assert sorted(r[0] for r in raw(data_dir, "deals")) == sorted(map(str, portal.deals.ids))
    assert raw_count(data_dir, "deal_stage_history") == crm["stage_history"].num_rows


def test_retries_are_bounded(portal: FakeHubSpot, data_dir: Path) -> None:
    portal.faults.append(error_fault(DEALS_LIST, 502, times=100, query=LIVE))
    with pytest.raises(PipelineStepFailed) as failed:
        load(portal, data_dir, only=DEALS_ONLY, max_attempts=3)
    error = hubspot_error(failed.value)
    assert error.transient
    assert "502" in str(error) and "3 attempts" in str(error)
    assert len(list_pages_of(portal)) == 3


def test_a_malformed_page_fails_the_run_without_moving_the_cursor(
    portal: FakeHubSpot, crm: dict[str, pa.Table], data_dir: Path
) -> None:
    # first run: page 2 of the listing is truncated JSON
    portal.faults.append(fault(DEALS_LIST, "malformed", nth=2, query=LIVE))
    with pytest.raises(PipelineStepFailed) as failed:
        load(portal, data_dir, only=DEALS_ONLY, page_size=50)
    error = hubspot_error(failed.value)
    assert isinstance(error, HubSpotResponseError)
    assert "deals page 2" in str(error) and "cursor did not move" in str(error)
    assert cursor(data_dir) is None

    load(portal, data_dir, only=DEALS_ONLY, page_size=50)  # the next run loads everything
    assert raw_count(data_dir, "deals") == crm["deals"].num_rows
    stored = cursor(data_dir)

    # an incremental run whose second batch read is truncated: nothing moves either
    for key in ("3", "4", "5"):
        portal.modify("deals", key, amount="77.70")
    portal.faults.append(fault(r"/deals/batch/read$", "malformed", nth=2))
    with pytest.raises(PipelineStepFailed):
        load(portal, data_dir, only=DEALS_ONLY, page_size=4)
    assert cursor(data_dir) == stored
    assert raw_count(data_dir, "deals", "amount = 77.70") == 0

    load(portal, data_dir, only=DEALS_ONLY, page_size=4)
    assert raw_count(data_dir, "deals", "amount = 77.70") == 3
    assert raw_count(data_dir, "deals") == crm["deals"].num_rows  # no duplicates
    duplicates = sql(
        data_dir,
        "SELECT deal_id, stage_id, entered_at FROM raw_hubspot.deal_stage_history "
        "GROUP BY ALL HAVING count(*) > 1",
    )
    assert duplicates == []
    assert raw_count(data_dir, "deal_stage_history") == crm["stage_history"].num_rows


def test_a_refused_token_fails_at_once_naming_the_setting(
    portal: FakeHubSpot, data_dir: Path
) -> None:
    wrong = "pat-eu1-wrong-token-1111"
    with pytest.raises(PipelineStepFailed) as failed:
        load(portal, data_dir, only=DEALS_ONLY, api_key=wrong)
    error = hubspot_error(failed.value)
    assert isinstance(error, HubSpotAuthError)
    assert not error.transient
    assert "SOURCES__HUBSPOT__API_KEY" in str(error) and "401" in str(error)
    assert wrong not in str(failed.value)
    # no retry of a 401: one request, and the run stopped there
    assert len(portal.requests) == 1


def test_a_missing_scope_names_it_and_the_setting_that_turns_the_read_off(
    crm: dict[str, pa.Table], data_dir: Path
) -> None:
    from tests.fakes.hubspot import ALL_SCOPES

    scopes = ALL_SCOPES - {"crm.objects.goals.read"}
    with serve_crm(crm, scopes=scopes) as server:
        with pytest.raises(PipelineStepFailed) as failed:
            load(server, data_dir, only=("goal_targets",))
        error = hubspot_error(failed.value)
        assert isinstance(error, HubSpotAuthError)
        assert "403" in str(error) and "crm.objects.goals.read" in str(error)
        load(server, data_dir, only=("goal_targets",), goals=False)
    assert raw_count(data_dir, "goal_targets") == 0


def test_the_token_never_shows_in_logs_or_error_text(
    portal: FakeHubSpot, data_dir: Path, caplog: pytest.LogCaptureFixture, capfd: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "dlt", "ingestion"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    portal.faults += [
        rate_limit_fault(DEALS_LIST, retry_after=1, query=LIVE),
        fault(r"^/crm/v3/owners$", "drop"),
    ]
    few = (*DEALS_ONLY, "owners", "deal_pipeline_stages")
    load(portal, data_dir, only=few)
    portal.faults.append(error_fault(r"^/crm/v3/pipelines/deals$", 500, times=50))
    with pytest.raises(PipelineStepFailed) as server_error:
        load(portal, data_dir, only=few, max_attempts=2)
    with pytest.raises(PipelineStepFailed) as refused:
        load(portal, data_dir, only=few, api_key=DEFAULT_TOKEN + "-revoked")

    out, err = capfd.readouterr()
    texts = [caplog.text, out, err]
    for failure in (server_error.value, refused.value):
        texts += [str(e) for e in cause_chain(failure)] + [repr(e) for e in cause_chain(failure)]
    assert "DEBUG" in caplog.text  # the logs were captured at their most verbose
    for text in texts:
        assert DEFAULT_TOKEN not in text
        assert DEFAULT_TOKEN[-12:] not in text


def test_a_value_that_does_not_parse_names_the_record_and_property(
    portal: FakeHubSpot, data_dir: Path
) -> None:
    portal.modify("deals", "12", amount="12,000 EUR")
    with pytest.raises(PipelineStepFailed) as failed:
        load(portal, data_dir, only=DEALS_ONLY)
    error = hubspot_error(failed.value)
    assert isinstance(error, HubSpotDataError)
    assert portal.hubspot_id("deals", "12") in str(error)
    assert "'amount'" in str(error) and "'12,000 EUR'" in str(error)


# --- settings ------------------------------------------------------------------------


def test_custom_fields_are_mapped_by_settings(crm: dict[str, pa.Table], data_dir: Path) -> None:
    names = {
        "segment": "customer_tier",
        "region": "sales_territory",
        "deal_type": "kind_of_deal",
        "contract_start": "subscription_start",
        "contract_end": "subscription_end",
        "mrr": "monthly_value",
    }
    with serve_crm(crm, property_names=names) as server:
        # the portal stores deal types as newbusiness/existingbusiness/renewal
        load(
            server,
            data_dir,
            only=("deals", "companies"),
            segment_property="customer_tier",
            region_property="sales_territory",
            deal_type_property="kind_of_deal",
            contract_start_property="subscription_start",
            contract_end_property="subscription_end",
            mrr_property="monthly_value",
            deal_type_values={
                "newbusiness": "new_business",
                "existingbusiness": "expansion",
                "renewal": "renewal",
            },
        )
        requested = list_pages_of(server)[0].arg("properties").split(",")
        # keyed by id: the demo CRM has companies that share a name
        expected = {
            server.hubspot_id("companies", a["account_id"]): (
                f"{a['segment']} / {a['region']}" if a["segment"] and a["region"] else None
            )
            for a in crm["accounts"].to_pylist()
        }
    assert {"kind_of_deal", "subscription_start", "monthly_value"} <= set(requested)
    by_id = dict(sql(data_dir, "SELECT id, segment || ' / ' || region FROM raw_hubspot.companies"))
    assert by_id == expected
    deals = crm["deals"]
    assert (
        raw_count(data_dir, "deals", "deal_type = 'renewal'")
        == pc.sum(pc.equal(deals.column("deal_type"), "renewal")).as_py()
    )
    assert raw_count(data_dir, "deals", "mrr IS NOT NULL") == deals.column("mrr").length() - (
        deals.column("mrr").null_count
    )


def test_a_deal_without_currency_is_in_the_company_currency(
    crm: dict[str, pa.Table], data_dir: Path
) -> None:
    with serve_crm(crm, company_currency="CHF") as server:
        server.modify("deals", "5", deal_currency_code=None)
        load(server, data_dir, only=("deals",))
        assert len(server.requests_to("/company-currency$")) == 1  # asked once, when needed
        currency = dict(sql(data_dir, "SELECT id, currency FROM raw_hubspot.deals"))
        assert currency[server.hubspot_id("deals", "5")] == "CHF"
        assert currency[server.hubspot_id("deals", "7")] == crm["deals"]["currency"][6].as_py()

        server.modify("deals", "6", deal_currency_code="")
        load(server, data_dir, only=("deals",), default_currency="sek")
        assert len(server.requests_to("/company-currency$")) == 1  # the setting wins
        currency = dict(sql(data_dir, "SELECT id, currency FROM raw_hubspot.deals"))
        assert currency[server.hubspot_id("deals", "6")] == "SEK"


def test_only_the_token_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_configured("hubspot")
    with pytest.raises(SourceNotConfiguredError, match="SOURCES__HUBSPOT__API_KEY"):
        build_source("hubspot")
    monkeypatch.setenv("SOURCES__HUBSPOT__API_KEY", "pat-some-token")
    assert is_configured("hubspot")
    source = build_source("hubspot")
    assert set(source.resources) == {
        "deals",
        "deal_stage_history",
        "companies",
        "goal_targets",
        "line_items",
        "products",
        "property_options",
        "owners",
        "owner_teams",
        "deal_pipeline_stages",
        "exchange_rates",
    }
    deals = source.resources["deals"]
    assert deals.write_disposition == {"disposition": "merge", "strategy": "delete-insert"}
    assert deals.incremental.incremental.cursor_path == "updated_at"
    assert deals.incremental.incremental.lag == hs.DEFAULT_LOOKBACK_SECONDS


def test_bad_settings_fail_the_hubspot_run_with_the_setting_named(
    portal: FakeHubSpot, data_dir: Path
) -> None:
    with pytest.raises(PipelineStepFailed, match="SOURCES__HUBSPOT__SEGMENT_PROPERTY"):
        load(portal, data_dir, segment_property="customer segment")
    with pytest.raises(PipelineStepFailed, match="SOURCES__HUBSPOT__DEAL_TYPE_VALUES"):
        load(portal, data_dir, deal_type_values={"newbusiness": "new_logo"})
    with pytest.raises(PipelineStepFailed, match="SOURCES__HUBSPOT__BASE_URL"):
        load(portal, data_dir, base_url="api.hubapi.com")
    assert portal.requests == []


def test_deactivated_owners_are_kept_with_their_teams(
    portal: FakeHubSpot, crm: dict[str, pa.Table], data_dir: Path
) -> None:
    only = ("owners", "owner_teams")
    load(portal, data_dir, only=only)
    owner = crm["owners"].slice(0, 1).to_pylist()[0]
    portal.archive_owner(owner["owner_id"])
    load(portal, data_dir, only=only)
    rows = sql(
        data_dir,
        "SELECT first_name || ' ' || last_name, team_name, archived FROM raw_hubspot.owners "
        "WHERE id = ?",
        [portal.owner_ids[owner["owner_id"]]],
    )
    assert rows == [(owner["name"], owner["team"], True)]  # their deals still name them
    assert raw_count(data_dir, "owners") == crm["owners"].num_rows
    assert raw_count(data_dir, "owner_teams") == crm["owners"]["team"].drop_null().length()


# --- goal targets ----------------------------------------------------------------------


def test_goal_targets_load_with_their_metric_and_go_when_deleted(
    crm: dict[str, pa.Table], data_dir: Path
) -> None:
    from datetime import UTC, datetime

    owner = crm["owners"].slice(0, 1).to_pylist()[0]
    goals = pa.table(
        {
            "goal_id": ["g1", "g2", "g3"],
            "name": ["Revenue", "Calls made", "Deals created"],
            "target": pa.array([Decimal("50000.00"), Decimal("300"), Decimal("12")]),
            "start": pa.array([datetime(2026, 4, 1, tzinfo=UTC)] * 3),
            "end": pa.array([datetime(2026, 7, 1, tzinfo=UTC)] * 3),
            "owner_id": [owner["owner_id"], None, None],
            "team": [None, None, owner["team"]],
        }
    )
    only = ("goal_targets", "owners")
    with serve_crm({**crm, "goal_targets": goals}) as server:
        load(server, data_dir, only=only)
        rows = {
            r[0]: r[1:]
            for r in sql(
                data_dir,
                "SELECT goal_name, metric, target_amount, owner_id, assignee_team_id "
                "FROM raw_hubspot.goal_targets",
            )
        }
        assert rows["Revenue"] == (
            "won_revenue",
            Decimal("50000"),
            server.owner_ids[owner["owner_id"]],
            None,
        )
        assert rows["Calls made"][0] is None  # an activity goal crm-kpi does not measure
        assert rows["Deals created"] == (
            "deals_created",
            Decimal("12"),
            None,
            server.team_ids[owner["team"]],
        )
        server.archive("goal_targets", "g2")
        load(server, data_dir, only=only)
    assert sql(data_dir, "SELECT goal_name FROM raw_hubspot.goal_targets ORDER BY 1") == [
        ("Deals created",),
        ("Revenue",),
    ]


# --- a process killed mid-load -----------------------------------------------------------

_KILLED_RUN = """
import sys
from pathlib import Path
from ingestion.hubspot import hubspot_source
from ingestion.pipeline import run_source
from tests.utils import die_after_copies

url, token, data_dir, kill_after = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
die_after_copies(kill_after)
source = hubspot_source(api_key=token, base_url=url, max_attempts=2, backoff_factor=0.01)
run_source(source, "hubspot", data_dir / "build.duckdb", data_dir / "dlt")
"""


class _KillClient(Fault):
    """Kills the client process (SIGKILL) when it asks for the nth matching page."""

    def __init__(self, pid_file: Path, **kwargs: Any) -> None:
        super().__init__(DEALS_LIST, **kwargs)
        self.pid_file = pid_file

    def matches(self, request: Request) -> bool:
        if request.arg("archived") == "false" and super().matches(request):
            os.kill(int(self.pid_file.read_text()), signal.SIGKILL)
            return True
        return False


@pytest.mark.parametrize("moment", ["load", "extract"])
def test_a_run_killed_mid_way_then_rerun_equals_an_uninterrupted_run(
    portal: FakeHubSpot, tmp_path: Path, moment: str
) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    script = tmp_path / "killed_run.py"
    script.write_text(_KILLED_RUN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, str(script), portal.url, portal.token, str(killed)]
    if moment == "load":
        process = subprocess.run([*args, "3"], env=env, capture_output=True, timeout=120)
    else:
        pid_file = tmp_path / "pid"
        portal.faults.append(_KillClient(pid_file, kind="drop", nth=3))
        child = subprocess.Popen(
            [*args, "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        pid_file.write_text(str(child.pid))
        child.communicate(timeout=120)
        process = child
    assert process.returncode == -signal.SIGKILL

    load(portal, killed)  # the rerun
    load(portal, clean)  # a run nothing interrupted
    for table in (
        "deals",
        "deal_stage_history",
        "companies",
        "owners",
        "owner_teams",
        "deal_pipeline_stages",
        "exchange_rates",
        "goal_targets",
    ):
        after_kill, uninterrupted = raw(killed, table, "all"), raw(clean, table, "all")
        if after_kill != uninterrupted:
            print(table, len(after_kill), len(uninterrupted))
            print([r for r in after_kill if r not in uninterrupted][:3])
            print([r for r in uninterrupted if r not in after_kill][:3])
        assert after_kill == uninterrupted, table


# --- parsing helpers -------------------------------------------------------------------


def test_values_in_other_forms_parse_the_same() -> None:
    ids = pa.array(["1", "2", "3", "4"])
    stamps = to_timestamp(
        pa.array(
            ["2024-01-02T03:04:05.123Z", "1704164645123", "2024-01-02T04:04:05.123+01:00", ""]
        ),
        ids,
        "deal",
        "createdate",
    )
    assert stamps.to_pylist()[:3] == [stamps[0].as_py()] * 3 and stamps[3].as_py() is None
    dates = to_date(
        pa.array(["2024-02-29", "1709164800000", "2024-02-29T10:00:00Z", None]), ids, "deal", "x"
    )
    assert {d for d in dates.to_pylist() if d} == {dates[0].as_py()}
    numbers = to_decimal(pa.array(["1.5", "1e3", "0.1234567895", " "]), ids, "deal", "amount")
    assert numbers.to_pylist() == [Decimal("1.5"), Decimal("1000"), Decimal("0.123456790"), None]
    with pytest.raises(HubSpotDataError, match=r"deal 3: property 'createdate' = 'yesterday'"):
        to_timestamp(
            pa.array(["2024-01-02T03:04:05Z", "0", "yesterday", None]), ids, "deal", "createdate"
        )
