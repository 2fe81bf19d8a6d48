"""The nightly refresh: every night at 02:00 (cron and timezone configurable), with
as_of the day before the tick."""

import os
import zoneinfo
from datetime import timedelta

import dagster as dg
from dagster import ScheduleEvaluationContext
from dagster._utils.schedules import is_valid_cron_string

from core.errors import SettingsError

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"


def schedule_settings() -> tuple[str, str]:
    """CRM_KPI_SCHEDULE_CRON and CRM_KPI_SCHEDULE_TIMEZONE, checked (SettingsError)."""
    cron = (os.environ.get("CRM_KPI_SCHEDULE_CRON") or DEFAULT_CRON).strip()
    timezone = (os.environ.get("CRM_KPI_SCHEDULE_TIMEZONE") or DEFAULT_TIMEZONE).strip()
    if not is_valid_cron_string(cron):
        raise SettingsError(
            f"CRM_KPI_SCHEDULE_CRON={cron!r} is not a cron schedule: write five fields, "
            "minute hour day-of-month month day-of-week, such as '0 2 * * *' (02:00 every "
            "night) or '30 5 * * 1-5' (05:30 on weekdays)."
        )
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CRM_KPI_SCHEDULE_TIMEZONE={timezone!r} is not an IANA timezone such as "
            "'Europe/Paris' or 'UTC'."
        ) from None
    return cron, timezone


def refresh_run_config(as_of: str) -> dict:
    """The run config of a refresh as of a day: the run context and the objectives."""
    return {
        "ops": {
            "run_context": {"config": {"as_of": as_of}},
            "objectives": {"config": {"as_of": as_of}},
        }
    }


def nightly_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    cron, timezone = schedule_settings()

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
