"""The Dagster definitions: they load, every key resolves, the schedule ticks as
configured, and a full in-process run on a small demo CRM materialises every asset."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from core.paths import PROJECT_ROOT
from core.settings import Settings
from orchestration.automation.schedules import refresh_run_config
from orchestration.definitions import OBJECTIVES_JOB, REFRESH_JOB, build_definitions

AS_OF = date(2026, 6, 30)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, objectives_path=PROJECT_ROOT / "objectives.yml")


def demo_definitions(settings: Settings) -> dg.Definitions:
    overrides = {"demo": {"deals": 300, "seed": 3, "as_of": AS_OF.isoformat()}}
    return build_definitions(settings, ("demo",), overrides)


def test_definitions_load_and_every_key_resolves(settings: Settings) -> None:
    defs = demo_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    # one group per source: raw tables and staging models carry the source's name
    assert {
        "raw_demo/deals",
        "raw_demo/stage_history",
        "staging/stg_demo__opportunities",
        "marts/kpi_values",
        "marts/objective_progress",
        "serving",
        "alerts",
    } <= keys
    groups = {
        graph.get(dg.AssetKey.from_user_string(k)).group_name
        for k in ("raw_demo/deals", "staging/stg_demo__opportunities")
    }
    assert groups == {"demo"}
    # every dependency is an asset of these definitions (none dangling)
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert graph.has(parent), f"{key.to_user_string()} depends on unknown {parent}"
    assert {job.name for job in defs.resolve_all_job_defs()} >= {REFRESH_JOB, OBJECTIVES_JOB}
    # dbt tests are asset checks
    assert any(
        check.asset_key == dg.AssetKey(["marts", "kpi_values"]) for check in graph.asset_check_keys
    )


@pytest.mark.parametrize(
    ("cron", "timezone", "after", "expected"),
    [
        ("0 2 * * *", "UTC", datetime(2026, 11, 25, 3, tzinfo=UTC), "2026-11-26T02:00:00+00:00"),
        (
            "30 6 * * 1-5",
            "Europe/Paris",
            datetime(2026, 11, 27, 12, tzinfo=UTC),  # a Friday
            "2026-11-30T06:30:00+01:00",  # the next weekday, 06:30 in Paris
        ),
    ],
)
def test_the_schedule_ticks_as_configured(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, cron, timezone, after, expected
) -> None:
    monkeypatch.setenv("CRM_KPI_SCHEDULE_CRON", cron)
    monkeypatch.setenv("CRM_KPI_SCHEDULE_TIMEZONE", timezone)
    schedule = demo_definitions(settings).resolve_schedule_def("nightly_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (cron, timezone)
    # the next tick, as the daemon computes it from these two settings
    tick = next(cron_string_iterator(after.timestamp(), cron, timezone))
    assert tick.isoformat() == expected
    # a tick measures the day before it
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    request = schedule.evaluate_tick(context).run_requests[0]
    day_before = (tick.date() - __import__("datetime").timedelta(days=1)).isoformat()
    assert request.run_config == refresh_run_config(day_before)


def test_a_full_run_materialises_every_asset_and_passes_every_check(settings: Settings) -> None:
    defs = demo_definitions(settings)
    job = defs.resolve_job_def(REFRESH_JOB)
    result = job.execute_in_process(
        run_config=refresh_run_config(AS_OF.isoformat()),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    graph = defs.resolve_asset_graph()
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    missing = {k.to_user_string() for k in graph.get_all_asset_keys()} - {
        k.to_user_string() for k in materialized
    }
    assert not missing
    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert evaluations, "no asset check ran"
    errors = [e.check_name for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    assert errors == []
    # the one warning: the demo has deals without an account, kept under (none), reported
    warned = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed}
    assert warned <= {("intermediate/int_opportunities", "great_expectations")}
    assert settings.serving_db.exists()
