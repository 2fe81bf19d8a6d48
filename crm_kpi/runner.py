"""Running the refresh job in process: what `crm-kpi run` and `crm-kpi demo` do.

The job is the one the nightly schedule runs, from the same definitions, so a run by
hand and a scheduled run load, check and publish alike.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from crm_kpi.settings import Settings


@dataclass
class RunOutcome:
    success: bool
    as_of: date
    run_id: str
    sources: tuple[str, ...]
    errors: list[str] = field(default_factory=list)


def _root_message(error: SerializableErrorInfo) -> str:
    """The innermost error's message: the one that says what to fix, not where it surfaced."""
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    for info in reversed(chain):
        message = (info.message or "").strip()
        if message:
            # "package.module.SomeError: text" -> "SomeError: text"; our own errors speak
            # to the user already and lose the class name altogether.
            message = re.sub(r"^(?:[\w]+\.)+(\w+: )", r"\1", message)
            own = ("ContractError", "ObjectivesFileError", "QualityGateError", "SettingsError")
            for cls in own:
                message = message.removeprefix(f"{cls}: ")
            return message
    return error.to_string()


def instance() -> dg.DagsterInstance:
    """The Dagster instance of DAGSTER_HOME when set (run history, alert state), else a
    throw-away one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_job(
    settings: Settings,
    sources: tuple[str, ...],
    job_name: str,
    run_config: dict[str, Any],
    as_of: date,
    source_overrides: dict[str, dict[str, Any]] | None = None,
) -> RunOutcome:
    """Execute a job of the definitions in this process, with progress on stderr."""
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings, sources, source_overrides)
    job = defs.resolve_job_def(job_name)
    with instance() as dagster_instance:
        result = job.execute_in_process(
            run_config={**run_config, "loggers": {"progress": {}}},
            instance=dagster_instance,
            raise_on_error=False,
            tags={"crm_kpi/as_of": as_of.isoformat(), "crm_kpi/trigger": "cli"},
        )
    errors = [
        _root_message(event.step_failure_data.error)
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_FAILURE
        and event.step_failure_data.error is not None
    ]
    return RunOutcome(result.success, as_of, result.run_id, sources, errors)


def run_refresh(
    settings: Settings,
    sources: tuple[str, ...],
    as_of: date,
    source_overrides: dict[str, dict[str, Any]] | None = None,
    full_refresh: bool = False,
) -> RunOutcome:
    """The nightly refresh, by hand: load, build, check, publish."""
    from orchestration.automation.schedules import refresh_run_config
    from orchestration.definitions import REFRESH_JOB

    run_config = refresh_run_config(as_of.isoformat())
    if full_refresh:
        for name in sources:
            run_config["ops"][f"load_{name}"] = {"config": {"full_refresh": True}}
    if full_refresh or "demo" in sources:
        # A reload or a demo of another size may shrink tables: no collapse, a new baseline.
        run_config["ops"]["run_context"]["config"]["reset_quality_baseline"] = True
    return run_job(settings, sources, REFRESH_JOB, run_config, as_of, source_overrides)


def run_objectives(
    settings: Settings, sources: tuple[str, ...], as_of: date, until: date | None = None
) -> RunOutcome:
    """Measure objectives again from the marts already built: as of one day, or every day
    from `as_of` through `until` (a backfill)."""
    from orchestration.definitions import OBJECTIVES_JOB

    config = (
        {"backfill_from": as_of.isoformat(), "backfill_to": until.isoformat()}
        if until
        else {"as_of": as_of.isoformat()}
    )
    return run_job(
        settings,
        sources,
        OBJECTIVES_JOB,
        {"ops": {"objectives": {"config": config}}},
        until or as_of,
    )
