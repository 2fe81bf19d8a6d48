"""The net under every command: an unexpected error becomes one line and a log file.

A command reports the errors it expects (a bad setting, a failed run) itself. Anything
else would print a Python traceback, which tells a user nothing and may repeat an input
verbatim; instead the traceback, with credentials masked, goes to
`<data dir>/logs/crm-kpi.log` and the user reads one line naming that file.
"""

from __future__ import annotations

import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text

from crm_kpi.app import EXIT_FAILED, err

LOG_NAME = "crm-kpi.log"


def _log_dir() -> Path:
    # The settings may be what failed: read the data directory without validating them.
    try:
        from core.config import path_setting
        from core.settings import Settings

        return path_setting("data_dir", Settings().data_dir) / "logs"
    except Exception:  # noqa: BLE001 - any failure here: fall back to the temp dir
        return Path(tempfile.gettempdir()) / "crm-kpi-logs"


def _masked(text: str) -> str:
    try:
        from core.redaction import mask

        return mask(text)
    except Exception:  # noqa: BLE001 - masking failed: redact URLs at least
        from core.redaction import redact_urls

        return redact_urls(text)


def log_crash(exc: BaseException) -> Path | None:
    """Append the traceback (masked) to the log file; its path, or None if unwritable."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    details = "".join(traceback.format_exception(exc))
    for folder in (_log_dir(), Path(tempfile.gettempdir()) / "crm-kpi-logs"):
        path = folder / LOG_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write(f"--- {stamp} unexpected error\n{_masked(details)}\n")
            return path
        except OSError:
            continue
    return None


def report_crash(exc: BaseException) -> int:
    """Log `exc` and print one line saying what happened and where the details are."""
    path = log_crash(exc)
    summary = _masked(f"{type(exc).__name__}: {exc}".splitlines()[0])
    where = f"the details are in {path}" if path else "the details could not be logged"
    err.print(
        Text(
            f"crm-kpi stopped on an unexpected error ({summary}); {where}. "
            "Please report it with that file.",
            style="red",
        ),
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_FAILED
