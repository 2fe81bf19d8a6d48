"""`crm-kpi ui`: `dagster dev` in its own process group, stopped with every server it started.

Separate because serving the UI is process management (signals, process groups), which no
other command does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from core.paths import PROJECT_ROOT
from crm_kpi.app import EXIT_USAGE, err, fail
from crm_kpi.context import load_settings


def ui(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Dagster UI and daemon (the daemon fires the nightly schedule)."""
    settings = load_settings(pipeline=True)
    # The definitions are loaded by `dagster dev`'s code server: check them here, where a
    # mistake reaches the person who started the UI.
    from ingestion.registry import enabled_sources

    if not enabled_sources(settings.sources):
        raise fail(
            "No source is configured for the nightly refresh: set SOURCES__FILES__PATH to a "
            "folder of CRM export files (see README), or a CRM token such as "
            "SOURCES__HUBSPOT__API_KEY.",
            EXIT_USAGE,
        )
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    err.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl+C stops it.")
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]
    raise typer.Exit(_serve(command, env))


def _serve(command: list[str], env: dict[str, str], grace_s: float = 30.0) -> int:
    """Run `dagster dev` until it ends or this process is told to stop (SIGTERM, SIGINT,
    SIGHUP); then stop it and every server it started, its whole process group. Killed
    outright, this process takes `dagster dev` with it (a parent-death signal)."""
    from core.children import preexec_die_with_parent

    process = subprocess.Popen(
        command,
        env=env,
        cwd=PROJECT_ROOT,
        start_new_session=True,  # its own process group: the webserver, daemon, code server
        preexec_fn=preexec_die_with_parent(signal.SIGTERM),
    )
    stopping: list[float] = []  # when a stop was asked for

    def _stop(_signum: int, _frame: object) -> None:
        stopping.append(time.monotonic())
        _signal_group(process.pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    while True:
        try:
            code = process.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stopping and time.monotonic() > stopping[0] + grace_s:
                _signal_group(process.pid, signal.SIGKILL)
    if not stopping:
        _signal_group(process.pid, signal.SIGTERM)  # it ended alone: so do its servers
        return code
    # The servers it started stop on their own; whatever outlives the grace is killed.
    while _signal_group(process.pid, 0) and time.monotonic() < stopping[0] + grace_s:
        time.sleep(0.2)
    _signal_group(process.pid, signal.SIGKILL)
    err.print("Dagster UI stopped.")
    return 0


def _signal_group(group: int, signum: int) -> bool:
    """Send `signum` to a process group; False when no process of it is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
