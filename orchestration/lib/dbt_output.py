"""dbt's own output, routed to the Dagster log instead of the process's stdout.

dagster-dbt re-prints every dbt line on stdout, where `crm-kpi` prints its tables.
Every line goes to the run's log at debug level; problems and the summary at info.
"""

from __future__ import annotations

import io
import re

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
