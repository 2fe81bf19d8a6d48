"""Running the refresh job in process: what `crm-kpi run` and `crm-kpi demo` do.

The job is the one the nightly schedule runs, from the same definitions, so a run by
hand and a scheduled run load, check and publish alike.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from core.settings import Settings


@dataclass(frozen=True)
class AlertOutcome:
    """What the alerts step did with this run's new alerts."""

    count: int
    webhook: bool  # a webhook is configured (else alerts are logged only)
    delivered: bool
    error: str  # why they were not delivered, when they were not
    messages: list[str]

    @property
    def undelivered(self) -> bool:
        return self.count > 0 and self.webhook and not self.delivered


@dataclass
class RunOutcome:
    success: bool
    as_of: date
    run_id: str
    sources: tuple[str, ...]
    errors: list[str] = field(default_factory=list)
    # What the steps warned about (failed warning checks, rows accepted with a doubt),
    # each once, for the run's final summary.
    warnings: list[str] = field(default_factory=list)
    alerts: AlertOutcome | None = None

    @property
    def interrupted(self) -> bool:
        return INTERRUPTED in self.errors


INTERRUPTED = "the run was interrupted (Ctrl+C or SIGTERM)"


def _root_message(error: SerializableErrorInfo) -> str:
    """The innermost error's message: the one that says what to fix, not where it surfaced."""
    chain = [error]
    while chain[-1].cause is not None:
        chain.append(chain[-1].cause)
    if any(info.cls_name == "DagsterExecutionInterruptedError" for info in chain):
        return INTERRUPTED
    for info in reversed(chain):
        message = (info.message or "").strip()
        if message:
            # "package.module.SomeError: text" -> "SomeError: text"; our own errors speak
            # to the user already and lose the class name altogether.
            message = re.sub(r"^(?:[\w]+\.)+(\w+: )", r"\1", message)
            own = (
                "ContractError",
                "ObjectivesFileError",
                "ManualMetricsFileError",
                "QualityGateError",
                "SettingsError",
                "DbtBuildError",
                "RunLockBusyError",
            )
            for cls in own:
                message = message.removeprefix(f"{cls}: ")
            return explain(message)
    return explain(error.to_string())


_LOCK_CONFLICT = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)": Conflicting lock is held in '
    r"(?P<program>\S+) \(PID (?P<pid>\d+)\)"
)


def explain(message: str) -> str:
    """A DuckDB file lock held by another process, said as what it is (dlt wraps it in
    "your internet connection may be down"); other messages as they are."""
    found = _LOCK_CONFLICT.search(message)
    if found is None:
        return message
    name = Path(found["program"]).name
    return (
        f"{found['file']} is open in another process (PID {found['pid']}, {name}), which "
        "blocks this run: close it (a DuckDB shell, a notebook or a BI tool reading the "
        "build file; BI tools should read serving.duckdb) or stop it, then run again."
    )


def _alert_outcome(result: dg.ExecuteInProcessResult) -> AlertOutcome | None:
    for event in result.all_events:
        if event.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            continue
        materialization = event.event_specific_data.materialization
        if materialization.asset_key != dg.AssetKey(["alerts"]):
            continue
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        return AlertOutcome(
            count=int(meta.get("alerts") or 0),
            webhook=bool(meta.get("webhook")),
            delivered=bool(meta.get("delivered")),
            error=str(meta.get("not_delivered") or ""),
            messages=list(meta.get("alert_messages") or []),
        )
    return None


def _warnings(dagster_instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The steps' own warnings and errors (not the alerts, summarised apart), each once."""
    found: list[str] = []
    for entry in dagster_instance.all_logs(run_id):
        if entry.dagster_event is not None or entry.level < logging.WARNING:
            continue
        if not entry.step_key or entry.step_key == "alerts":
            continue
        message = (entry.user_message or "").strip()
        if message and not message.startswith("Dependencies") and message not in found:
            found.append(message)
    return found


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
        warnings = _warnings(dagster_instance, result.run_id)
    errors: list[str] = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
        elif event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE:
            error = event.event_specific_data.error
        else:
            continue
        # Steps failing for one cause (a locked file) say it once.
        if error is not None and (message := _root_message(error)) not in errors:
            errors.append(message)
    return RunOutcome(
        result.success, as_of, result.run_id, sources, errors, warnings, _alert_outcome(result)
    )


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
