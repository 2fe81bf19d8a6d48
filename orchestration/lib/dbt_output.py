"""dbt's own output, routed to the Dagster log instead of the process's stdout.

dagster-dbt re-prints every dbt line on stdout, where `crm-kpi` prints its tables.
Every line goes to the run's log at debug level; problems and the summary at info.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from dagster import DagsterLogManager

_NOTEWORTHY = re.compile(r"\b(ERROR|FAIL|WARN|Warning|Done\.|Compilation Error|Database Error)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class DbtLogSink(io.TextIOBase):
    def __init__(self, log: DagsterLogManager) -> None:
        self.log = log
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def _emit(self, line: str) -> None:
        clean = _ANSI.sub("", line).rstrip()
        if not clean:
            return
        if _NOTEWORTHY.search(clean):
            self.log.info(clean)
        else:
            self.log.debug(clean)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""


class DbtBuildError(RuntimeError):
    """`dbt build` failed; the message is one line a person reads, and the log file."""


_RESULT_ERROR = re.compile(r"^\d+ of \d+ (ERROR|FAIL)\b")
_NODE_PROBLEM = re.compile(
    r"^(?:(?:Runtime|Database|Compilation|Parsing|Dependency) )?(Error|Failure|Warning) in "
    r"(model|test|seed|snapshot|unit_test|sql_operation|source) (\S+)"
)
_LOG_FILE = re.compile(r"dbt debug log: (\S+?)\.?(?:\s|$)")


def dbt_failure(message: str, default_log: Path | None = None) -> DbtBuildError:
    """dagster-dbt's error (the command, "the Dagster compute logs", dbt's lines with their
    colour codes) as one clear line: how many nodes failed, the first node and its
    reason, and where dbt's full log is."""
    text = _ANSI.sub("", message)
    found = _LOG_FILE.search(text)
    log_file = found.group(1) if found else (str(default_log) if default_log else None)
    _, _, parsed = text.partition("Errors parsed from dbt logs:")
    lines = [line.strip() for line in parsed.splitlines() if line.strip()]
    failed = sum(1 for line in lines if _RESULT_ERROR.match(line))
    details = [line for line in lines if not _RESULT_ERROR.match(line)]
    first = None
    for index, line in enumerate(details):
        node = _NODE_PROBLEM.match(line)
        if node:
            # "Failure in test x", then "Runtime Error in test x", then dbt's reason.
            reason = next((d for d in details[index + 1 :] if not _NODE_PROBLEM.match(d)), "")
            first = f"{node.group(2)} {node.group(3)}" + (f": {reason}" if reason else "")
            break
    if first is None and details:
        first = details[0]
    summary = "dbt build failed"
    exit_code = re.search(r"exit code `?(\d+)", text)
    if failed:
        summary += f" ({failed} model(s) or test(s) in error)"
    elif exit_code:
        summary += f" (exit code {exit_code.group(1)})"
    if first:
        summary += f": {first}"
    if log_file:
        summary += f". dbt's full log: {log_file}"
    return DbtBuildError(summary)
