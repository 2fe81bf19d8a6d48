"""Child processes die with their parent.

A run starts `dbt` (and `crm-kpi ui` starts `dagster dev`) as child processes. Killed
with SIGKILL, a parent cannot stop them: a `dbt build` left running keeps
`build.duckdb` locked and the next run fails. On Linux a child asks the kernel to
signal it when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere this is a no-op.

`crm-kpi-dbt` (this module's `dbt_main`) is dbt itself, started that way: the
pipeline runs it instead of `dbt` (core/dbt.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# The pipeline's process as dbt's parent: set in the environment dbt inherits, so a dbt
# whose parent died before the parent-death signal was armed still notices.
PARENT_PID_ENV = "CRM_KPI_DBT_PARENT_PID"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


def die_with_parent(sig: int = signal.SIGKILL, expected_parent: int | None = None) -> None:
    """Have the kernel send `sig` to this process when its parent dies (Linux).

    When `expected_parent` is given and that process is already gone (it died before
    this ran), exit at once.
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if (
        expected_parent is not None
        and os.getppid() != expected_parent
        and not _pid_alive(expected_parent)
    ):
        os._exit(128 + int(sig))


def preexec_die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when this process dies."""
    parent = os.getpid()
    _libc()  # loaded here: after fork the child only calls it

    def _arm() -> None:
        die_with_parent(sig, parent)

    return _arm


def dbt_main() -> None:
    """`crm-kpi-dbt`: dbt's own command line, in a process that dies with its parent."""
    expected = os.environ.get(PARENT_PID_ENV, "")
    die_with_parent(signal.SIGKILL, int(expected) if expected.isdigit() else None)
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())
