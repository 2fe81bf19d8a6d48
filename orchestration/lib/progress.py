"""Concise progress of a pipeline run for a person at a terminal.

Dagster's console logger prints every engine event; a person running `crm-kpi run`
wants one line per step, the steps' own messages, failed checks and errors. By default
(quiet) the notices of the tools underneath are left out too: dlt's progress blocks,
dagster-dbt's selection notice and the dbt command it echoes; `--verbose` shows them.
"""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg
from dagster import DagsterEventType

_STEP_NAMES = {
    "run_context": "run context",
    "objectives": "objectives",
    "dbt_build": "dbt build (staging, intermediate, marts, tests)",
    "check_warehouse": "quality checks (one CRM model, marts)",
    "scorecard_report": "scorecard report",
    "serving": "publish serving.duckdb",
    "alerts": "alerts",
}


# Notices dagster-dbt logs about itself, not about the data: shown with --verbose only.
_TOOL_NOTICES = (
    "A dbt subsetted execution",
    "Running dbt command",
    "Finished dbt command",
    "Copying `",
    "dbt process terminated",
    "Forwarding interrupt",
)
_quiet = False


def set_quiet(quiet: bool) -> None:
    """The CLI's choice for this process: quiet (the default of `crm-kpi`) or verbose."""
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    """True when the CLI asked for quiet output; a run launched by Dagster is verbose (its
    compute logs keep everything)."""
    return _quiet


def _step_label(step_key: str | None) -> str:
    if not step_key:
        return "run"
    if step_key.startswith("load_"):
        return f"load {step_key.removeprefix('load_')} (dlt)"
    if step_key.startswith("check_raw_"):
        return f"quality checks ({step_key.removeprefix('check_raw_')} raw tables)"
    return _STEP_NAMES.get(step_key, step_key)


class ProgressHandler(logging.Handler):
    def __init__(self, stream=None) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stderr
        self._started: dict[str, float] = {}

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None:
            message = str(meta.get("orig_message", record.getMessage()))
            # Dagster's "Dependencies for step ... failed" repeats what the failure said;
            # dagster-dbt announces each source test's observation.
            noise = message.startswith(("Dependencies", "Logging an AssetObservation")) or (
                _quiet and message.startswith(_TOOL_NOTICES)
            )
            if record.levelno >= logging.INFO and step and not noise:
                self._write(f"    {message.strip()}")
            return
        kind = event.event_type
        label = _step_label(step)
        if kind == DagsterEventType.STEP_START:
            self._started[step] = time.monotonic()
            self._write(f"  > {label}")
        elif kind == DagsterEventType.STEP_SUCCESS:
            took = time.monotonic() - self._started.get(step, time.monotonic())
            self._write(f"  ok {label} ({took:.1f} s)")
        elif kind == DagsterEventType.STEP_UP_FOR_RETRY:
            self._write(f"  .. {label} failed, retrying")
        elif kind == DagsterEventType.STEP_FAILURE:
            self._write(f"  FAILED {label}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                severity = evaluation.severity.value.lower()
                self._write(
                    f"    check {evaluation.check_name} on "
                    f"{evaluation.asset_key.to_user_string()} failed ({severity})"
                )


@dg.logger(description="One line per step, for a person at a terminal.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("crm_kpi.progress")
    logger.handlers = [ProgressHandler()]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger
