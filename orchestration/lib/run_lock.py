"""The run lock as a Dagster resource: every step that writes the data directory needs it.

Dagster sets a run's resources up once, before its first step, and tears them down after
its last (the in-process executor), so a run launched by the schedule or the UI holds
`<data dir>/run.lock` from start to end, like `crm-kpi run` (core/run_lock.py). A
run started while another holds it fails at once, naming the holder; the run-failure
sensor reports it. `crm-kpi` takes the lock before it starts the job in its own process,
and the resource takes it again (the lock is re-entrant within a process).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from core.run_lock import run_lock

RUN_LOCK = "run_lock"


class RunLockResource(dg.ConfigurableResource):
    data_dir: str

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[RunLockResource]:
        with run_lock(Path(self.data_dir)) as acquired:
            if acquired.stale is not None and context.log is not None:
                context.log.warning(
                    f"took over the run lock of {acquired.stale.describe()}, which ended "
                    "without releasing it"
                )
            yield self
