"""No credential of a source or of the alert webhook is written anywhere or printed.

Each secret is planted as a unique marker (tests/secrets/sandbox.py): the HubSpot token
(from `.dlt/secrets.toml`), the Pipedrive token, the Salesforce access token, client
id and client secret (the fake Salesforce also issues tokens that carry a marker), the
alert webhook URL and the PII salt (from the environment). Then, against the fake CRMs,
five `crm-kpi run` of the three sources, each source refused once (401) and failing
once on its second page (500, past every retry), Salesforce both with its token and with
its client credentials (refused, then failing mid-pagination), and a last run where all
succeed; then the read commands, and
the run-failure sensor posting a failed run to the webhook. Every byte the runs wrote
and printed is then searched (tests/secrets/scan.py).

The runs load the three sources together so that one `dbt build` serves them all: a
failed source fails its own load step, the others still run theirs.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pytest

from core.settings import Settings
from ingestion.demo.export import write_files
from ingestion.demo.generator import DemoConfig, DemoCRM
from orchestration.automation.sensors import run_failure_alert
from tests.fakes import hubspot, pipedrive, salesforce
from tests.fakes.server import Fault, Response
from tests.salesforce.conftest import crm_tables
from tests.secrets.sandbox import Run, Sandbox, Webhook
from tests.secrets.scan import found_in

pytestmark = pytest.mark.slow

AS_OF = date(2026, 6, 30)
DEMO = DemoConfig(deals=150, seed=11, as_of=AS_OF, years=2)
HUBSPOT_DEALS = r"^/crm/v3/objects/deals$"
PIPEDRIVE_DEALS = r"^/api/v2/deals$"
SALESFORCE_DATA = r"^/services/data/"
# Fast retries: the 500 runs give up in a second, not in minutes.
FAST = {
    f"SOURCES__{source}__{name}": value
    for source in ("HUBSPOT", "PIPEDRIVE", "SALESFORCE")
    for name, value in (("MAX_ATTEMPTS", "2"), ("BACKOFF_FACTOR", "0.01"))
}


@dataclass
class Runs:
    sandbox: Sandbox
    hubspot: hubspot.FakeHubSpot
    pipedrive: pipedrive.FakePipedrive
    salesforce: salesforce.FakeSalesforce
    webhook: Webhook
    # hubspot 401, pipedrive 500, salesforce (token) 401
    first: Run
    # hubspot 500, pipedrive 401, salesforce (token) 500
    second: Run
    # salesforce (client credentials): the token it issued is refused, 401
    third: Run
    # salesforce (client credentials): a fresh token, then a 500 on the second page
    fourth: Run
    # all three load; the webhook answers 500 to the alerts
    last: Run
    commands: dict[str, Run]
    alerts: int  # posts to the webhook before the sensor
    sensor_output: str  # what the run-failure sensor logged and printed
    leaks: list[str]


def _revoked(server: hubspot.FakeHubSpot | pipedrive.FakePipedrive) -> None:
    server.token = "a-token-that-is-not-the-planted-one"


def _alert_on_failure(sandbox: Sandbox, webhook_url: str) -> str:
    """Evaluate the run-failure sensor on the first failed run, as the daemon would; what
    it logged and printed."""
    printed = io.StringIO()
    handler = logging.StreamHandler(printed)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with (
            contextlib.redirect_stdout(printed),
            contextlib.redirect_stderr(printed),
            dg.DagsterInstance.from_config(str(sandbox.dagster_home)) as instance,
        ):
            _evaluate(instance, webhook_url)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return printed.getvalue()


def _evaluate(instance: dg.DagsterInstance, webhook_url: str) -> None:
    # the oldest failed run: the first of the module, whose three loads failed
    failed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    run = failed[-1]
    record = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records[0]
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=record.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()
    run_failure_alert(Settings(alert_webhook=webhook_url))(context)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    sandbox = Sandbox(tmp_path_factory.mktemp("secrets"))
    hubspot_token = sandbox.plant("SOURCES__HUBSPOT__API_KEY")
    pipedrive_token = sandbox.plant("SOURCES__PIPEDRIVE__API_TOKEN")
    access_token = sandbox.plant("SOURCES__SALESFORCE__ACCESS_TOKEN")
    client_id = sandbox.plant("SOURCES__SALESFORCE__CLIENT_ID")
    client_secret = sandbox.plant("SOURCES__SALESFORCE__CLIENT_SECRET")
    issued = sandbox.plant("issued Salesforce access token")
    hook = sandbox.plant("CRM_KPI_ALERT_WEBHOOK")
    salt = sandbox.plant("CRM_KPI_PII_SALT")
    sandbox.write_secrets_toml(f'[sources.hubspot]\napi_key = "{hubspot_token}"\n')
    export = sandbox.root / "export"
    write_files(DemoConfig(deals=100, seed=5, as_of=AS_OF, years=2), export)

    with (
        hubspot.serve_crm(DemoCRM(DEMO).tables(), token=hubspot_token) as hs,
        pipedrive.serve_crm(
            DemoCRM(DemoConfig(deals=100, seed=5, as_of=AS_OF, years=2)).tables(),
            token=pipedrive_token,
        ) as pd,
        salesforce.serve_crm(
            crm_tables(DEMO),
            min_batch_size=1,
            client_id=client_id,
            client_secret=client_secret,
            issued_token_prefix=issued,
        ) as sf,
        Webhook(status=500) as webhook,
    ):
        common = {
            "SOURCES__HUBSPOT__BASE_URL": hs.url,
            "SOURCES__PIPEDRIVE__BASE_URL": pd.url,
            "SOURCES__PIPEDRIVE__API_TOKEN": pipedrive_token,
            "SOURCES__PIPEDRIVE__PAGE_SIZE": "20",
            # Pipedrive keeps no exchange rates: the demo's come as the fx_rates file
            "CRM_KPI_FX_RATES": str(export / "fx_rates.csv"),
            "SOURCES__SALESFORCE__BASE_URL": sf.url,
            "SOURCES__SALESFORCE__BATCH_SIZE": "50",
            "CRM_KPI_ALERT_WEBHOOK": webhook.url_with(hook),
            "CRM_KPI_PII_SALT": salt,
            **FAST,
        }
        by_token = {**common, "SOURCES__SALESFORCE__ACCESS_TOKEN": access_token}
        by_client = {
            **common,
            "SOURCES__SALESFORCE__CLIENT_ID": client_id,
            "SOURCES__SALESFORCE__CLIENT_SECRET": client_secret,
        }
        run = ("run", "--as-of", AS_OF.isoformat())
        for source in ("hubspot", "pipedrive", "salesforce"):
            run += ("--source", source)
        never = 10_000

        _revoked(hs)
        pd.faults.append(
            Fault(
                PIPEDRIVE_DEALS,
                response=pipedrive.pipedrive_error(500, "Internal server error"),
                nth=2,
                times=never,
            )
        )
        first = sandbox.cli(*run, settings=by_token)  # the token is unknown to Salesforce

        hs.token = hubspot_token
        hs.faults.append(
            hubspot.error_fault(
                HUBSPOT_DEALS, 500, nth=2, times=never, query={"archived": "false"}, method="GET"
            )
        )
        pd.faults.clear()
        _revoked(pd)
        sf.tokens.add(access_token)
        sf.page_fault("Opportunity", 2, status=500, error_code="UNKNOWN_EXCEPTION", times=never)
        second = sandbox.cli(*run, settings=by_token)

        hs.faults.clear()
        pd.token = pipedrive_token
        sf.faults.clear()
        sf.faults.append(
            Fault(
                SALESFORCE_DATA,
                response=Response(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                ),
                times=never,
            )
        )
        third = sandbox.cli(*run, settings=by_client)

        sf.faults.clear()
        sf.page_fault("Opportunity", 2, status=500, error_code="UNKNOWN_EXCEPTION", times=never)
        fourth = sandbox.cli(*run, settings=by_client)

        sf.faults.clear()
        last = sandbox.cli(*run, settings=by_client)

        commands = {
            args[0]: sandbox.cli(*args, settings=by_client)
            for args in (
                ("status",),
                ("doctor",),
                ("report", "--out", str(sandbox.work / "scorecard.html")),
                ("export", "--parquet", str(sandbox.work / "export")),
                ("query", "SELECT * FROM marts.dim_owners", "--format", "json"),
            )
        }
        alerts = len(webhook.posts())
        sensor_output = _alert_on_failure(sandbox, webhook.url_with(hook))
        leaks, files = sandbox.leaks()
        assert files > 100, f"only {files} files were searched: the runs wrote less than expected"
    return Runs(
        sandbox,
        hs,
        pd,
        sf,
        webhook,
        first,
        second,
        third,
        fourth,
        last,
        commands,
        alerts,
        sensor_output,
        leaks,
    )


def _leaks_of(runs: Runs, *names: str) -> list[str]:
    return [hit for hit in runs.leaks if any(f": {name} (" in hit for name in names)]


def _loaded(runs: Runs, source: str) -> int:
    import duckdb

    con = duckdb.connect(str(runs.sandbox.data / "serving.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FROM marts.fct_opportunities WHERE source = ?", [source]
        ).fetchone()[0]
    finally:
        con.close()


def test_every_run_failed_or_succeeded_as_planned(runs: Runs) -> None:
    for failed in (runs.first, runs.second, runs.third, runs.fourth):
        assert failed.returncode == 1, failed.output[-4000:]
    assert runs.last.returncode == 0, runs.last.output[-4000:]
    assert {name: c.returncode for name, c in runs.commands.items()} == {
        "status": 0,
        "doctor": 0,
        "report": 0,
        "export": 0,
        "query": 0,
    }, {name: c.output[-2000:] for name, c in runs.commands.items()}


def test_the_hubspot_token_leaves_no_trace(runs: Runs) -> None:
    token = runs.sandbox.markers["SOURCES__HUBSPOT__API_KEY"]
    assert "HubSpot" in runs.first.stderr and "401" in runs.first.stderr
    assert "500" in runs.second.stderr
    live_pages = [
        r for r in runs.hubspot.requests_to(HUBSPOT_DEALS) if r.arg("archived") == "false"
    ]
    assert any(r.arg("after") for r in live_pages), "the second page was never asked for"
    # the planted token was the credential sent, on every request
    assert {r.headers.get("authorization") for r in runs.hubspot.requests} == {f"Bearer {token}"}
    assert _loaded(runs, "hubspot") > 0
    assert _leaks_of(runs, "SOURCES__HUBSPOT__API_KEY") == []


def test_the_pipedrive_token_leaves_no_trace(runs: Runs) -> None:
    token = runs.sandbox.markers["SOURCES__PIPEDRIVE__API_TOKEN"]
    assert "Pipedrive" in runs.first.stderr and "500" in runs.first.stderr
    assert "401" in runs.second.stderr
    deal_pages = runs.pipedrive.requests_to(PIPEDRIVE_DEALS)
    assert any(r.arg("cursor") for r in deal_pages), "the second page was never asked for"
    assert {r.headers.get("x-api-token") for r in runs.pipedrive.requests} == {token}
    assert _loaded(runs, "pipedrive") > 0
    assert _leaks_of(runs, "SOURCES__PIPEDRIVE__API_TOKEN") == []


def test_the_salesforce_access_token_leaves_no_trace(runs: Runs) -> None:
    assert "Salesforce refused the access token" in runs.first.stderr
    assert "500 UNKNOWN_EXCEPTION" in runs.second.stderr and "page 2" in runs.second.stderr
    assert _leaks_of(runs, "SOURCES__SALESFORCE__ACCESS_TOKEN") == []


def test_the_salesforce_client_credentials_leave_no_trace(runs: Runs) -> None:
    assert "client-credentials flow issued" in runs.third.stderr
    assert "500 UNKNOWN_EXCEPTION" in runs.fourth.stderr and "page 2" in runs.fourth.stderr
    assert _loaded(runs, "salesforce") > 0
    token_requests = runs.salesforce.requests_to(r"^/services/oauth2/token$", method="POST")
    assert len(token_requests) >= 3  # one per run of the client-credentials flow at least
    # the tokens the flow was issued carry a marker too: they are secrets as well
    issued = runs.sandbox.markers["issued Salesforce access token"]
    assert any(issued in token for token in runs.salesforce.tokens)
    assert (
        _leaks_of(
            runs,
            "SOURCES__SALESFORCE__CLIENT_ID",
            "SOURCES__SALESFORCE__CLIENT_SECRET",
            "issued Salesforce access token",
        )
        == []
    )


def test_the_alert_webhook_leaves_no_trace(runs: Runs) -> None:
    hook = runs.sandbox.markers["CRM_KPI_ALERT_WEBHOOK"]
    posts = runs.webhook.posts()
    assert runs.alerts >= 2, "the alerts of the last run were not posted (and retried)"
    assert "alert not delivered" in runs.last.stderr
    assert all(r.path.endswith(hook) for r in posts)
    assert len(posts) > runs.alerts, "the run-failure sensor did not post the failed run"
    assert "failed" in posts[-1].json()["text"]
    assert "alert not delivered" in runs.sensor_output
    assert found_in(runs.sensor_output.encode(), runs.sandbox.markers) == []
    assert _leaks_of(runs, "CRM_KPI_ALERT_WEBHOOK") == []


def test_the_pii_salt_stays_in_the_build_file(runs: Runs) -> None:
    """The salt is no credential, and the build file holds the e-mails it hashes: dbt reads
    it there (raw_run.pii). It reaches no other file, output or log."""
    leaks = _leaks_of(runs, "CRM_KPI_PII_SALT")
    build = str(runs.sandbox.data / "build.duckdb")
    assert leaks and all(hit.startswith(build) for hit in leaks), leaks


def test_nothing_else_leaks(runs: Runs) -> None:
    assert [hit for hit in runs.leaks if "CRM_KPI_PII_SALT" not in hit] == []


def test_doctor_names_each_credential_and_where_it_is_without_its_value(runs: Runs) -> None:
    doctor = runs.commands["doctor"].stdout
    assert f"{runs.sandbox.secrets_toml}, key sources.hubspot.api_key" in doctor
    for name in (
        "SOURCES__PIPEDRIVE__API_TOKEN",
        "SOURCES__SALESFORCE__CLIENT_ID",
        "SOURCES__SALESFORCE__CLIENT_SECRET",
        "CRM_KPI_ALERT_WEBHOOK",
        "CRM_KPI_PII_SALT",
    ):
        assert f"environment variable {name}" in doctor
    assert "No problem found." in doctor
