"""The Salesforce connector against the fake Salesforce, loading into DuckDB in tmp_path.

The CRM is the demo CRM (300 deals) served through the fake REST API in pages of 50, so
every query spans several pages. Each fault of the connector issue that shows at the
raw layer is a test here; the staging models and the marts are tested elsewhere.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion import registry
from ingestion.salesforce import salesforce_source
from ingestion.salesforce.auth import request_access_token
from ingestion.salesforce.errors import SalesforceAuthError, SalesforceConfigError
from ingestion.salesforce.settings import DEFAULT_DEAL_TYPE_VALUES
from orchestration.ingestion.transient import is_transient
from tests.fakes.salesforce import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeSalesforce,
    serve_crm,
)
from tests.salesforce.conftest import BATCH, load, raw_snapshot, rows, source_for

ROOT = Path(__file__).resolve().parents[2]


def org_count(server: FakeSalesforce, sobject: str) -> int:
    return server.org.count(sobject)


def requests_for_page(server: FakeSalesforce, sobject: str, page: int) -> int:
    return sum(1 for r in server.requests if server.page_of(r) == (sobject.lower(), page))


def cursor_of(workdir: Path, resource: str) -> datetime | None:
    pipeline = dlt.attach("salesforce", pipelines_dir=str(workdir / "dlt"))
    state = pipeline.state.get("sources", {}).get("salesforce", {}).get("resources", {})
    value = state.get(resource, {}).get("incremental", {}).get("system_modstamp", {})
    return value.get("last_value")


# -- a full load ------------------------------------------------------------------------


def test_full_load_holds_every_record_of_the_org(server: FakeSalesforce, tmp_path: Path) -> None:
    load(server, tmp_path)

    for table, sobject in [
        ("opportunities", "Opportunity"),
        ("opportunity_history", "OpportunityHistory"),
        ("accounts", "Account"),
        ("users", "User"),
        ("opportunity_stages", "OpportunityStage"),
        ("dated_conversion_rates", "DatedConversionRate"),
        ("currency_types", "CurrencyType"),
        ("organization", "Organization"),
    ]:
        assert rows(tmp_path, f"SELECT count(*) FROM raw_salesforce.{table}")[0][0] == (
            org_count(server, sobject)
        ), table
    # Paged as asked: 300 opportunities in pages of 50, following nextRecordsUrl.
    pages = [p for p in server.served_for("Opportunity")]
    assert [p.records for p in pages] == [BATCH] * 6
    assert {p.endpoint for p in pages} == {"queryAll"}
    # Typed like the warehouse wants them: money DECIMAL(18,2), times TIMESTAMPTZ.
    types = dict(
        rows(
            tmp_path,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw_salesforce' AND table_name = 'opportunities'",
        )
    )
    assert types["amount"] == "DECIMAL(18,2)"
    assert types["mrr"] == "DECIMAL(18,2)"
    assert types["system_modstamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["close_date"] == "DATE"
    # One record, field by field, against what the fake org holds.
    org = server.org.con.execute(
        'SELECT "Id", "StageName", "Amount", "CurrencyIsoCode", "IsWon", "Type", '
        '"MRR__c", "Contract_End__c" FROM "Opportunity" WHERE "MRR__c" IS NOT NULL '
        'ORDER BY "Id" LIMIT 1'
    ).fetchone()
    raw = rows(
        tmp_path,
        "SELECT id, stage_name, amount, currency_iso_code, is_won, deal_type, mrr, "
        "contract_end, pipeline FROM raw_salesforce.opportunities WHERE id = ?",
        [org[0]],
    )[0]
    assert raw[:5] == (org[0], org[1], pytest.approx(org[2]), org[3], org[4])
    assert raw[5] == DEFAULT_DEAL_TYPE_VALUES[org[5].lower()]  # Type through the value map
    assert float(raw[6]) == pytest.approx(org[6])
    assert raw[7] == org[7]
    assert raw[8] in ("New Business", "Renewals")


def test_the_token_goes_in_the_authorization_header_only(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    data = server.requests_to("/services/data/")
    assert data
    assert all(r.headers["authorization"] == f"Bearer {server.token}" for r in data)
    assert all(r.headers.get("sforce-query-options") == f"batchSize={BATCH}" for r in data)
    assert not any(server.token in str(r.query) or server.token in r.path for r in data)


def test_client_credentials_fetch_a_fresh_token_for_the_run(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    # no token: the External Client App's key and secret, as a nightly refresh needs
    load(
        server,
        tmp_path,
        access_token=None,
        client_id=server.client_id,
        client_secret=server.client_secret,
    )
    [token_request] = server.requests_to("/services/oauth2/token", "POST")
    assert b"grant_type=client_credentials" in token_request.body
    data = server.requests_to("/services/data/")
    assert data and all(r.headers["authorization"].startswith("Bearer ") for r in data)
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities")[0][0] > 0


def test_without_token_or_client_credentials_the_source_is_not_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("SOURCES__SALESFORCE__"):
            monkeypatch.delenv(name)
    assert not registry.is_configured("salesforce")
    monkeypatch.setenv("SOURCES__SALESFORCE__CLIENT_ID", "key")
    monkeypatch.setenv("SOURCES__SALESFORCE__CLIENT_SECRET", "secret")
    assert registry.is_configured("salesforce")


# -- incremental ------------------------------------------------------------------------


def test_second_run_asks_only_for_records_modified_since_the_cursor(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    cursor = cursor_of(tmp_path, "opportunities")
    assert (
        cursor
        == rows(tmp_path, "SELECT max(system_modstamp) FROM raw_salesforce.opportunities")[0][0]
    )
    changed = [
        r[0]
        for r in server.org.con.execute(
            'SELECT "Id" FROM "Opportunity" WHERE NOT "IsClosed" ORDER BY "Id" LIMIT 3'
        ).fetchall()
    ]
    for record_id in changed:
        server.org.update("Opportunity", record_id, Amount=4242.0, StageName="Negotiation")
    new_id = server.org.insert(
        "Opportunity",
        Name="Fresh",
        StageName="Lead",
        Amount=10.0,
        IsClosed=False,
        IsWon=False,
        CloseDate=datetime(2026, 6, 30).date(),
        CurrencyIsoCode="EUR",
    )
    served_before = len(server.served)

    load(server, tmp_path)

    # The query starts at the stored cursor less the 60 s lookback (SOQL, whole seconds).
    since = (cursor - timedelta(seconds=60)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = [p for p in server.served[served_before:] if p.sobject == "Opportunity"]
    assert second[0].soql.endswith(
        f"FROM Opportunity WHERE SystemModstamp > {since} ORDER BY SystemModstamp"
    )
    # ... and gets only what changed since then: the 4 records, plus those the lookback
    # re-reads (modified in the last minute before the cursor), not the other ~290.
    in_window = server.org.con.execute(
        'SELECT count(*) FROM "Opportunity" WHERE "SystemModstamp" > ?',
        [datetime.fromisoformat(since.replace("Z", "+00:00"))],
    ).fetchone()[0]
    assert sum(p.records for p in second) == in_window
    assert 5 <= in_window < 20
    got = dict(rows(tmp_path, "SELECT id, amount FROM raw_salesforce.opportunities"))
    assert len(got) == org_count(server, "Opportunity") == 301
    assert all(float(got[i]) == 4242.0 for i in changed)
    assert new_id in got
    # The stage changes wrote history rows, loaded by the history resource's own cursor.
    history = rows(
        tmp_path,
        "SELECT count(*) FROM raw_salesforce.opportunity_history "
        "WHERE opportunity_id IN (?, ?, ?, ?)",
        [*changed, new_id],
    )[0][0]
    assert (
        history
        == server.org.con.execute(
            'SELECT count(*) FROM "OpportunityHistory" WHERE "OpportunityId" IN (?, ?, ?, ?)',
            [*changed, new_id],
        ).fetchone()[0]
    )
    assert cursor_of(tmp_path, "opportunities") > cursor


def test_records_sharing_a_cursor_value_across_a_page_boundary_are_all_loaded(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    ids = [
        r[0]
        for r in server.org.con.execute(
            'SELECT "Id" FROM "Opportunity" ORDER BY "Id" LIMIT 120'
        ).fetchall()
    ]
    for record_id in ids:
        server.org.update("Opportunity", record_id, Amount=1.23)
    # A mass update committed in one transaction: 120 records, one SystemModstamp,
    # spread over three pages of 50.
    same = server.org.tick()
    server.org.con.execute(
        'UPDATE "Opportunity" SET "SystemModstamp" = ? WHERE "Id" IN (SELECT unnest(?))',
        [same, ids],
    )

    load(server, tmp_path)
    load(server, tmp_path)  # the lookback re-reads them: merged, not duplicated

    got = rows(tmp_path, "SELECT id, amount FROM raw_salesforce.opportunities")
    assert len(got) == len({i for i, _ in got}) == 300
    amounts = dict(got)
    assert all(float(amounts[i]) == 1.23 for i in ids)
    last = [p for p in server.served if p.sobject == "Opportunity"][-3:]
    assert [p.records for p in last] == [50, 50, 20]


def test_a_record_deleted_in_salesforce_is_deleted_from_raw(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    deal, account = server.org.con.execute(
        'SELECT "Id", "AccountId" FROM "Opportunity" WHERE "AccountId" IS NOT NULL '
        'ORDER BY "Id" LIMIT 1'
    ).fetchone()
    assert (
        rows(
            tmp_path,
            "SELECT count(*) FROM raw_salesforce.opportunity_history WHERE opportunity_id = ?",
            [deal],
        )[0][0]
        > 0
    )
    server.org.delete("Opportunity", deal)
    server.org.delete("Account", account)

    load(server, tmp_path)

    assert rows(
        tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities WHERE id = ?", [deal]
    ) == [(0,)]
    assert rows(
        tmp_path,
        "SELECT count(*) FROM raw_salesforce.opportunity_history WHERE opportunity_id = ?",
        [deal],
    ) == [(0,)]
    assert rows(
        tmp_path, "SELECT count(*) FROM raw_salesforce.accounts WHERE id = ?", [account]
    ) == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities")[0][0] == 299
    assert (
        rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities WHERE is_deleted")[0][0]
        == 0
    )
    # The deletes came from queryAll, which shows the recycle bin.
    last_query = server.queries_of("Opportunity")[-1]
    assert "WHERE SystemModstamp >" in last_query
    assert server.served_for("Opportunity")[-1].endpoint == "queryAll"


def test_the_same_run_replayed_gives_identical_raw_tables(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path / "a")
    load(server, tmp_path / "b")
    first = raw_snapshot(tmp_path / "a")
    assert first == raw_snapshot(tmp_path / "b")
    load(server, tmp_path / "a")  # again, nothing changed in the org
    assert raw_snapshot(tmp_path / "a") == first


# -- HTTP faults ------------------------------------------------------------------------


def test_a_503_storm_with_retry_after_is_waited_out(server: FakeSalesforce, tmp_path: Path) -> None:
    server.page_fault(
        "Opportunity",
        2,
        status=503,
        error_code="SERVER_UNAVAILABLE",
        headers={"Retry-After": "1"},
        times=2,
    )
    started = time.monotonic()
    load(server, tmp_path)
    elapsed = time.monotonic() - started

    assert requests_for_page(server, "Opportunity", 2) == 3
    # Retry-After: 1 honoured twice (the backoff alone would wait 10 ms + 20 ms).
    assert elapsed >= 2.0
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities")[0][0] == 300


def test_an_overload_that_outlasts_the_retries_fails_with_a_clear_error(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    server.page_fault("Opportunity", 2, status=503, headers={"Retry-After": "0"}, times=99)
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path)
    message = str(failed.value)
    assert "kept answering 503" in message
    assert "page 2 of the Opportunity queryAll" in message
    assert "after 4 attempts" in message
    assert requests_for_page(server, "Opportunity", 2) == 4
    assert is_transient(failed.value)  # the orchestration tries the whole load again later


def test_a_500_and_a_dropped_connection_on_page_3_are_retried(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    server.page_fault(
        "Opportunity", 3, status=500, error_code="UNKNOWN_EXCEPTION", message="An unexpected error"
    )
    server.page_fault("Opportunity", 3, kind="drop")

    load(server, tmp_path)

    assert requests_for_page(server, "Opportunity", 3) == 3
    got = rows(tmp_path, "SELECT count(*), count(DISTINCT id) FROM raw_salesforce.opportunities")
    assert got == [(300, 300)]


def test_a_malformed_page_fails_the_run_and_leaves_the_cursor_where_it_was(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    load(server, tmp_path)
    cursor = cursor_of(tmp_path, "opportunities")
    changed = [
        r[0]
        for r in server.org.con.execute(
            'SELECT "Id" FROM "Opportunity" ORDER BY "Id" LIMIT 120'
        ).fetchall()
    ]
    for record_id in changed:
        server.org.update("Opportunity", record_id, Amount=7.77)
    server.page_fault("Opportunity", 2, kind="malformed")

    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path)

    message = str(failed.value)
    assert "malformed page (page 2 of the Opportunity queryAll" in message
    assert "the cursor did not move" in message
    assert cursor_of(tmp_path, "opportunities") == cursor
    # Nothing of the failed run reached raw, not even its good first page.
    assert rows(
        tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities WHERE amount = 7.77"
    ) == [(0,)]

    load(server, tmp_path)  # the next run reads everything that was missed

    got = rows(tmp_path, "SELECT id, amount FROM raw_salesforce.opportunities")
    assert len(got) == len({i for i, _ in got}) == 300
    amounts = dict(got)
    assert all(float(amounts[i]) == 7.77 for i in changed)
    assert cursor_of(tmp_path, "opportunities") > cursor


def test_a_refused_token_fails_at_once_naming_the_setting(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    wrong = "00DFAKE000000001!AQ0AQExpiredTokenValue42"
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path, access_token=wrong)
    message = str(failed.value)
    assert "SOURCES__SALESFORCE__ACCESS_TOKEN" in message
    assert "INVALID_SESSION_ID" in message
    assert wrong not in message and wrong not in repr(failed.value)
    assert len(server.requests_to("/services/data/")) == 1  # no retry
    assert not is_transient(failed.value)  # nor a later one: a person must act


def test_the_org_api_limit_fails_at_once_naming_the_limit_not_the_token(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    server.page_fault(
        "Opportunity",
        2,
        status=403,
        error_code="REQUEST_LIMIT_EXCEEDED",
        message="TotalRequests Limit exceeded.",
    )
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path)
    message = str(failed.value)
    assert "API request limit is used up" in message
    assert "REQUEST_LIMIT_EXCEEDED" in message
    assert "ACCESS_TOKEN" not in message
    assert requests_for_page(server, "Opportunity", 2) == 1  # no retry
    assert not is_transient(failed.value)


def test_the_run_stops_short_of_the_org_api_limit(crm: dict, tmp_path: Path) -> None:
    # Sforce-Limit-Info says how much of the org's daily allowance is used: the connector
    # stops at its ceiling (95 %) instead of using up what other integrations need.
    with serve_crm(crm, min_batch_size=1, api_limit=20) as server:
        with pytest.raises(PipelineStepFailed) as failed:
            load(server, tmp_path)
        assert "has used 19 of its 20 daily API requests" in str(failed.value)
        assert "SOURCES__SALESFORCE__API_USAGE_CEILING" in str(failed.value)
        assert len(server.requests_to("/services/data/")) == 19
        assert server.api_usage == 19  # the org's own limit was never hit


def test_missing_read_access_fails_naming_the_permission(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    server.page_fault(
        "Opportunity",
        1,
        status=403,
        error_code="INSUFFICIENT_ACCESS_OR_READONLY",
        message="insufficient access rights on object id",
    )
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path)
    message = str(failed.value)
    assert "'API Enabled' permission and read access" in message
    assert requests_for_page(server, "Opportunity", 1) == 1


def test_the_token_never_appears_in_logs_or_errors(
    server: FakeSalesforce,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refused_token = "00DFAKE000000001!AQ0AQAnotherSecretToken"
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addHandler(caplog.handler)
    try:
        server.page_fault("Opportunity", 2, status=503)  # a retry, logged on the way
        load(server, tmp_path / "ok")
        with pytest.raises(PipelineStepFailed) as refused:
            load(server, tmp_path / "refused", access_token=refused_token)
        server.api_limit = server.api_usage  # the org's daily allowance is used up
        with pytest.raises(PipelineStepFailed) as limited:
            load(server, tmp_path / "limited")
    finally:
        dlt_logger.removeHandler(caplog.handler)
    out, err = capfd.readouterr()
    assert "Salesforce Opportunity: 300 records in 6 page(s)" in caplog.text
    for secret in (server.token, refused_token):
        assert secret not in caplog.text
        assert secret not in out and secret not in err
        for error in (refused.value, limited.value):
            chain = [error, error.__cause__, error.__context__]
            assert all(secret not in str(e) and secret not in repr(e) for e in chain if e)


def test_sigkill_during_a_load_then_a_rerun_gives_the_uninterrupted_result(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from ingestion.pipeline import run_source
        from ingestion.salesforce import salesforce_source
        from tests.utils import die_after_copies

        url, token, workdir, kill_after = *sys.argv[1:4], int(sys.argv[4])
        die_after_copies(kill_after)
        source = salesforce_source(access_token=token, base_url=url, batch_size=50,
                                   lookback_seconds=60.0, backoff_factor=0.01)
        run_source(source, "salesforce", Path(workdir) / "build.duckdb", Path(workdir) / "dlt")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(workdir: Path, kill_after: int = 0) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", script, server.url, server.token, str(workdir), str(kill_after)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # Killed while extracting: page 3 of the opportunities never comes back.
    hold = server.hold("Opportunity", 3)
    killed = start(tmp_path / "killed")
    assert hold.arrived.wait(60), "the subprocess never asked for page 3"
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(30) == -signal.SIGKILL
    answered = len(server.served)
    hold.release.set()  # the fake still answers the held page, to a closed socket
    server.holds.clear()
    deadline = time.monotonic() + 30
    while len(server.served) == answered and time.monotonic() < deadline:
        time.sleep(0.01)

    # Killed after extracting, while loading into DuckDB: it kills itself once two
    # tables are written (a kill from here, timed on the pages served, raced its end).
    load(server, tmp_path / "reference")
    late = start(tmp_path / "late", kill_after=2)
    assert late.wait(120) == -signal.SIGKILL  # killed before it could finish

    load(server, tmp_path / "killed")
    load(server, tmp_path / "late")
    reference = raw_snapshot(tmp_path / "reference")
    assert raw_snapshot(tmp_path / "killed") == reference
    assert raw_snapshot(tmp_path / "late") == reference
    assert len(reference["opportunities"]) == 300


# -- settings ---------------------------------------------------------------------------


def test_fields_are_mapped_by_settings(server: FakeSalesforce, tmp_path: Path) -> None:
    load(
        server,
        tmp_path,
        team_field="Department",
        segment_field="",
        region_field="BillingCountry",
        deal_type_values={"New Customer": "expansion"},
        pipeline_field="",
        default_pipeline="Everything",
    )
    teams = dict(rows(tmp_path, "SELECT id, team FROM raw_salesforce.users"))
    departments = dict(server.org.con.execute('SELECT "Id", "Department" FROM "User"').fetchall())
    assert teams == departments
    assert rows(
        tmp_path, "SELECT count(*) FROM raw_salesforce.accounts WHERE segment IS NOT NULL"
    ) == [(0,)]
    assert rows(tmp_path, "SELECT DISTINCT pipeline FROM raw_salesforce.opportunities") == [
        ("Everything",)
    ]
    by_type = dict(
        rows(
            tmp_path,
            "SELECT type, any_value(deal_type) FROM raw_salesforce.opportunities "
            "WHERE type IS NOT NULL GROUP BY type",
        )
    )
    assert by_type["New Customer"] == "expansion"
    assert by_type["Existing Customer - Upgrade"] == "expansion"
    assert by_type["Existing Customer - Replacement"] == "renewal"


def test_a_mapped_field_the_org_lacks_is_an_error_unless_it_is_the_default(
    server: FakeSalesforce, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path / "typo", segment_field="Segmnt__c")
    message = str(failed.value)
    assert "SOURCES__SALESFORCE__SEGMENT_FIELD='Segmnt__c'" in message
    assert "(did you mean Segment__c" in message

    with pytest.raises(PipelineStepFailed) as failed:
        load(server, tmp_path / "type", mrr_field="Name")
    assert "Opportunity.Name is a string field" in str(failed.value)

    server.org.remove_field("Opportunity", "Loss_Reason__c")
    caplog.set_level(logging.INFO, logger="crm_kpi.salesforce")
    load(server, tmp_path / "default")
    assert "Salesforce Opportunity has no field Loss_Reason__c" in caplog.text
    assert rows(
        tmp_path / "default",
        "SELECT count(*) FROM raw_salesforce.opportunities WHERE lost_reason IS NOT NULL",
    ) == [(0,)]
    assert "Loss_Reason__c" not in server.queries_of("Opportunity")[-1]


def test_settings_come_from_the_environment(
    server: FakeSalesforce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "ACCESS_TOKEN": server.token,
        "BASE_URL": server.url,
        "BATCH_SIZE": "100",
        "TEAM_FIELD": "Department",
        "DEAL_TYPE_VALUES": '{"New Customer": "renewal"}',
        "BACKOFF_FACTOR": "0.01",
    }.items():
        monkeypatch.setenv(f"SOURCES__SALESFORCE__{name}", value)
    assert registry.is_configured("salesforce")
    assert server.requests == []  # checking the configuration calls nobody

    from ingestion.pipeline import run_source

    run_source(
        registry.build_source("salesforce"), "salesforce", tmp_path / "b.duckdb", tmp_path / "dlt"
    )

    assert {p.records for p in server.served_for("Opportunity")} == {100}
    assert all(
        r.headers["sforce-query-options"] == "batchSize=100" for r in server.requests_to("/query")
    )
    import duckdb

    con = duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True)
    got = con.execute(
        "SELECT DISTINCT deal_type FROM raw_salesforce.opportunities WHERE type = 'New Customer'"
    ).fetchall()
    con.close()
    assert got == [("renewal",)]


def test_the_source_is_not_configured_without_a_token() -> None:
    assert not registry.is_configured("salesforce")
    with pytest.raises(
        registry.SourceNotConfiguredError, match="SOURCES__SALESFORCE__ACCESS_TOKEN"
    ):
        registry.build_source("salesforce")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("batch_size", 5000),
        ("api_version", "61"),
        ("base_url", "my.salesforce.com"),
        ("lookback_seconds", -1.0),
        ("max_attempts", 0),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(setting: str, value: object) -> None:
    with pytest.raises(Exception, match=f"SOURCES__SALESFORCE__{setting.upper()}") as refused:
        salesforce_source(access_token="t0ken-value", **{setting: value})
    assert isinstance(refused.value, SalesforceConfigError) or isinstance(
        refused.value.__cause__, SalesforceConfigError
    )
    assert "t0ken-value" not in str(refused.value)


def test_a_single_currency_org_loads_without_currency_objects(crm: dict, tmp_path: Path) -> None:
    with serve_crm(crm, min_batch_size=1, multi_currency=False) as server:
        load(server, tmp_path)
        assert "CurrencyIsoCode" not in server.queries_of("Opportunity")[-1]
        assert not server.queries_of("DatedConversionRate")
    assert rows(
        tmp_path,
        "SELECT count(*) FROM raw_salesforce.opportunities WHERE currency_iso_code IS NOT NULL",
    ) == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.dated_conversion_rates") == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.currency_types") == [(0,)]
    assert rows(tmp_path, "SELECT default_currency_iso_code FROM raw_salesforce.organization") == [
        ("EUR",)
    ]


def test_forecasting_quotas_and_their_periods_are_loaded(crm: dict, tmp_path: Path) -> None:
    import pyarrow as pa

    from tests.fakes.salesforce import QUOTAS

    quotas = pa.table(
        {
            "quota_id": ["0J9000000000001AAA", "0J9000000000002AAA"],
            "owner_id": ["1", "2"],
            "period_start": [datetime(2026, 1, 1).date(), datetime(2026, 1, 1).date()],
            "period_end": [datetime(2026, 3, 31).date(), datetime(2026, 3, 31).date()],
            "amount": pa.array([Decimal("150000.00"), Decimal("90000.00")], pa.decimal128(18, 2)),
            "currency": ["EUR", "USD"],
        },
        schema=QUOTAS,
    )
    with serve_crm(crm, min_batch_size=1, quotas=quotas) as server:
        load(server, tmp_path)
    got = rows(
        tmp_path,
        "SELECT q.id, q.quota_owner_id, q.quota_amount, q.currency_iso_code, p.type, p.end_date "
        "FROM raw_salesforce.forecasting_quotas q "
        "JOIN raw_salesforce.periods p ON p.id = q.period_id "
        "ORDER BY q.id",
    )
    assert [(r[0], r[1], float(r[2]), r[3], r[4], r[5].isoformat()) for r in got] == [
        ("0J9000000000001AAA", "1", 150000.0, "EUR", "Quarter", "2026-03-31"),
        ("0J9000000000002AAA", "2", 90000.0, "USD", "Quarter", "2026-03-31"),
    ]


# -- credentials ------------------------------------------------------------------------


def test_a_client_credentials_token_works_and_a_bad_secret_is_refused(
    server: FakeSalesforce, tmp_path: Path
) -> None:
    issued = request_access_token(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    assert issued.instance_url == server.url
    assert issued.access_token not in repr(issued)
    load(server, tmp_path, access_token=issued.access_token)
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities") == [(300,)]

    with pytest.raises(SalesforceAuthError, match="invalid_client") as refused:
        request_access_token(server.url, DEFAULT_CLIENT_ID, "wrong-secret-value")
    assert "wrong-secret-value" not in str(refused.value)


def test_a_login_host_base_url_finds_the_org_instance(
    server: FakeSalesforce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake plays login.salesforce.com too: its userinfo names itself as the instance.
    monkeypatch.setattr("ingestion.salesforce.client.LOGIN_HOSTS", frozenset({"127.0.0.1"}))
    load(server, tmp_path)
    assert len(server.requests_to("/services/oauth2/userinfo")) == 1
    assert rows(tmp_path, "SELECT count(*) FROM raw_salesforce.opportunities") == [(300,)]


def test_building_the_source_calls_nobody_and_declares_its_hints(server: FakeSalesforce) -> None:
    # Building the source is free: no request until a resource is read.
    source = source_for(server)
    assert set(source.resources) >= {"opportunities", "opportunity_history", "accounts"}
    assert server.requests == []
    hints = source.resources["opportunities"].compute_table_schema()
    assert hints["write_disposition"] == "merge"
    assert hints["columns"]["id"]["primary_key"] is True
    assert hints["columns"]["is_deleted"]["hard_delete"] is True
    assert (
        source.resources["opportunities"].incremental.incremental.cursor_path == "system_modstamp"
    )
