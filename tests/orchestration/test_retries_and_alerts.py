"""The operations lead hears from the pipeline only when it needs a person: transient
ingestion failures are retried, new flags are alerted once, a failed run is alerted."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from core.paths import PROJECT_ROOT
from core.settings import Settings
from orchestration.automation.schedules import refresh_run_config
from orchestration.definitions import REFRESH_JOB, build_definitions
from tests.fakes.hubspot import error_fault, serve_crm
from tests.fakes.webhook import Receiver
from tests.hubspot.conftest import AS_OF, demo_tables


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def run(
    defs: dg.Definitions, as_of: date, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(REFRESH_JOB).execute_in_process(
        run_config=refresh_run_config(as_of.isoformat()), instance=instance, raise_on_error=False
    )


def test_a_transient_ingestion_failure_is_retried(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=data_dir)
    with serve_crm(demo_tables(120)) as hubspot:
        monkeypatch.setenv("SOURCES__HUBSPOT__API_KEY", hubspot.token)
        monkeypatch.setenv("SOURCES__HUBSPOT__BASE_URL", hubspot.url)
        # no retry inside the HTTP client: the 500s reach the pipeline, twice
        monkeypatch.setenv("SOURCES__HUBSPOT__MAX_ATTEMPTS", "1")
        hubspot.faults.append(error_fault(r"/crm/v3/owners", 500, times=2))
        defs = build_definitions(settings, ("hubspot",))
        result = run(defs, AS_OF, dg.DagsterInstance.ephemeral())
    assert result.success
    retries = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert [e.step_key for e in retries] == ["load_hubspot", "load_hubspot"]
    assert settings.serving_db.exists()


def test_new_flags_are_alerted_once_then_a_failed_run_is_alerted(
    data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        data_dir=data_dir,
        objectives_path=PROJECT_ROOT / "tests" / "fixtures" / "objectives_small.yml",
        alert_webhook=receiver.url,
        scorecard_url="https://bi.example.com/scorecard.html",
    )
    monkeypatch.setenv("SOURCES__FILES__PATH", str(PROJECT_ROOT / "tests/fixtures/export_small"))
    defs = build_definitions(settings, ("files",))
    instance = dg.DagsterInstance.ephemeral()

    assert run(defs, date(2026, 7, 15), instance).success
    [message] = receiver.payloads
    assert message["text"].startswith("crm-kpi: 6 new alert(s) as of 2026-07-15, 3 critical")
    assert "pipeline-july: at risk, actual 45,100 EUR vs expected 55,406 EUR" in message["text"]
    assert message["blocks"][-1]["elements"][0]["text"] == (
        "<https://bi.example.com/scorecard.html|Open the scorecard>"
    )

    # The same day again: nothing new, nothing sent
    assert run(defs, date(2026, 7, 15), instance).success
    assert len(receiver.payloads) == 1

    # A failing blocking check (a deal closed before it was created: quarantined, more
    # than 1 % of the deals) stops the publish; the run-failure sensor tells the webhook
    export = data_dir.parent / "export"
    shutil.copytree(PROJECT_ROOT / "tests/fixtures/export_small", export)
    deals = (export / "deals.csv").read_text()
    (export / "deals.csv").write_text(
        deals.replace(
            "2026-02-15T10:00:00Z,2026-04-20T12:00:00Z", "2026-02-15T10:00:00Z,2026-01-20T12:00:00Z"
        )
    )
    monkeypatch.setenv("SOURCES__FILES__PATH", str(export))
    published = (data_dir / "serving.duckdb").read_bytes()
    failed = run(defs, date(2026, 7, 16), instance)
    assert not failed.success
    assert (data_dir / "serving.duckdb").read_bytes() == published  # nothing published
    materialized = {e.asset_key.to_user_string() for e in failed.get_asset_materialization_events()}
    assert "serving" not in materialized and "alerts" not in materialized
    sensor = defs.resolve_sensor_def("alert_on_run_failure")
    failure_event = next(
        e for e in failed.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
        dagster_event=failure_event,
    ).for_run_failure()
    sensor(context)
    alert = receiver.payloads[-1]["text"]
    assert alert.startswith(
        f"crm-kpi: the refresh run {failed.run_id[:8]} failed: check_warehouse:"
    )
    assert "1 x closed before it was created" in alert


def test_a_webhook_that_is_down_does_not_fail_the_run(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = Receiver(down=True)
    try:
        settings = Settings(
            data_dir=data_dir,
            objectives_path=PROJECT_ROOT / "tests" / "fixtures" / "objectives_small.yml",
            alert_webhook=down.url,
        )
        monkeypatch.setenv(
            "SOURCES__FILES__PATH", str(PROJECT_ROOT / "tests/fixtures/export_small")
        )
        instance = dg.DagsterInstance.ephemeral()
        result = run(build_definitions(settings, ("files",)), date(2026, 7, 15), instance)
    finally:
        down.close()
    assert result.success
    assert len(down.payloads) == 2  # tried, then tried once more
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.step_key == "alerts" and "not delivered" in entry.user_message
    ]
    assert len(warnings) == 2
    assert down.url not in " ".join(warnings)  # the webhook address is a secret
