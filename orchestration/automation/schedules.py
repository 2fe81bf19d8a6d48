"""The nightly refresh: every night at 02:00 (cron and timezone configurable), with
as_of the day before the tick."""

import os
from datetime import timedelta

import dagster as dg
from dagster import ScheduleEvaluationContext

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def refresh_run_config(as_of: str) -> dict:
    """The run config of a refresh as of a day: the run context and the objectives."""
    return {
        "ops": {
            "run_context": {"config": {"as_of": as_of}},
            "objectives": {"config": {"as_of": as_of}},
        }
    }


def nightly_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    cron = os.environ.get("CRM_KPI_SCHEDULE_CRON") or DEFAULT_CRON
    timezone = os.environ.get("CRM_KPI_SCHEDULE_TIMEZONE") or DEFAULT_TIMEZONE

    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=cron,
        execution_timezone=timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _nightly(context: ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time
        as_of = (tick.date() - timedelta(days=1)).isoformat()
        return dg.RunRequest(
            run_key=f"nightly-{as_of}",
            run_config=refresh_run_config(as_of),
            tags={"crm_kpi/as_of": as_of},
        )

    return _nightly
