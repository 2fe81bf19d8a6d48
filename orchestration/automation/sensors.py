"""A failed run reaches a person: the run-failure sensor posts it to the webhook."""

import os

import dagster as dg
from dagster import RunFailureSensorContext

from core.settings import Settings
from orchestration.automation.alerts import failure_payload, post


def failure_message(context: RunFailureSensorContext) -> str:
    """The failed steps' own errors, else Dagster's summary."""
    messages = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            innermost = error
            while innermost.cause is not None:
                innermost = innermost.cause
            messages.append(f"{event.step_key}: {innermost.message.strip()}")
    if not messages:
        # A run refused before its first step (another run holds the data dir's lock)
        # fails in its resources' set-up, not in a step.
        for entry in context.instance.all_logs(
            context.dagster_run.run_id, of_type=dg.DagsterEventType.RESOURCE_INIT_FAILURE
        ):
            error = entry.dagster_event.event_specific_data.error
            if error is not None:
                while error.cause is not None:
                    error = error.cause
                messages.append(error.message.strip())
    return "; ".join(messages) or context.failure_event.message or "unknown error"


def run_failure_alert(settings: Settings) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Posts every failed run to CRM_KPI_ALERT_WEBHOOK (and logs it).",
    )
    def _alert(context: RunFailureSensorContext) -> None:
        message = failure_message(context)
        context.log.error(f"run {context.dagster_run.run_id} failed: {message}")
        post(
            settings.alert_webhook,
            failure_payload(
                context.dagster_run.job_name,
                context.dagster_run.run_id,
                message,
                os.environ.get("CRM_KPI_DAGSTER_URL"),
            ),
            logger=context.log,
        )

    return _alert
