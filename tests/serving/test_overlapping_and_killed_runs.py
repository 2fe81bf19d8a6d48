"""Runs that overlap, crash or fail leave the data directory usable and say what happened:
a second run is refused at once while the first publishes, a run killed during its dbt
build leaves no process behind and the next run takes its lock over, a failing dbt build
ends in one clear line. Runs the pipeline on the 15-deal export (with one stage history
row naming an unknown stage, and an empty objectives file: both warned about)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.serving.conftest import AS_OF
from tests.utils import CLI, command_line, descendants, is_running, run_cli

pytestmark = pytest.mark.slow  # runs the pipeline


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """export_small, with line 3 of stage_history.csv in a stage stages.csv lacks."""
    folder = tmp_path_factory.mktemp("export") / "export"
    shutil.copytree(FIXTURES / "export_small", folder)
    history = folder / "stage_history.csv"
    lines = history.read_text().splitlines()
    assert lines[2] == "1,Negotiation,2026-03-01T10:00:00Z"
    lines[2] = "1,Demo,2026-03-01T10:00:00Z"
    history.write_text("\n".join(lines) + "\n")
    (folder.parent / "objectives.yml").write_text("# nothing yet\n")
    return folder


def _env(data_dir: Path, export: Path, **extra: str) -> dict[str, str]:
    return {
        "SOURCES__FILES__PATH": str(export),
        "CRM_KPI_DATA_DIR": str(data_dir),
        "CRM_KPI_OBJECTIVES": str(export.parent / "objectives.yml"),
        **extra,
    }


def _run_args() -> list[str]:
    return ["run", "--source", "files", "--as-of", AS_OF]


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, *_run_args()],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(found: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _lock_pid(data_dir: Path) -> int | None:
    try:
        return json.loads((data_dir / "run.lock").read_text())["pid"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def test_a_second_run_is_refused_at_once_and_the_first_publishes(
    tmp_path: Path, export: Path
) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir, export)
    first = _start(env)
    try:
        _wait_for(lambda: _lock_pid(data_dir) == first.pid, 120, "the first run's lock")
        second = run_cli(*_run_args(), env=env, timeout=120)
        out, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert second.returncode == 3
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"Another run is using {data_dir}: PID {first.pid}" in lines[0]
    assert "started 20" in lines[0] and "UTC" in lines[0]

    assert first.returncode == 0, err
    assert (data_dir / "serving.duckdb").exists()
    assert not (data_dir / "run.lock").exists()
    assert "Traceback" not in err
    summary = err[err.index("Published") :]
    # Accepted, but not without a word: the unknown stage with its file and line, the
    # suite's count of it, and the empty objectives file.
    assert "stage_history.csv, line 3: stage 'Demo' of deal '1'" in summary
    assert "1 history row(s) name a stage stages.csv lacks ('Demo')" in summary
    assert "the stage change names one of the CRM's stages" in summary
    assert "1 of 27 rows" in summary
    assert "objectives.yml holds no objectives" in summary
    # Quiet by default: no dlt progress block, no echoed dbt command.
    assert "Extract files" not in err and "Running dbt command" not in err


def test_a_run_killed_during_dbt_build_leaves_nothing_running(tmp_path: Path, export: Path) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir, export)
    run = _start(env)
    try:
        _wait_for(
            lambda: [p for p in descendants(run.pid) if "crm-kpi-dbt build" in command_line(p)],
            180,
            "dbt build to start",
        )
        children = descendants(run.pid)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        run.kill()
        run.communicate()
    # dbt needs seconds more to build: gone at once, it died with its parent.
    _wait_for(
        lambda: not [p for p in children if is_running(p)],
        5,
        f"the killed run's processes to end: {[command_line(p) for p in children]}",
    )
    assert _lock_pid(data_dir) == run.pid  # nothing could remove it

    again = run_cli(*_run_args(), "--verbose", env=env)
    assert again.returncode == 0, again.stderr
    assert f"Took over the run lock of PID {run.pid}" in again.stderr
    # --verbose: the tools' own output too.
    assert "Extract files" in again.stderr and "Running dbt command" in again.stderr
    assert "Conflicting lock" not in again.stderr and "internet" not in again.stderr
    assert not (data_dir / "run.lock").exists()


def test_a_failing_dbt_build_is_one_clear_line(tmp_path: Path, export: Path) -> None:
    data_dir = tmp_path / "data"
    # Too little memory for DuckDB: dbt's models fail with an out-of-memory error.
    env = _env(data_dir, export, CRM_KPI_DUCKDB_MEMORY_LIMIT="2MB")
    result = run_cli(*_run_args(), env=env)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "\x1b[" not in output
    assert "Dagster compute logs" not in output and "DagsterDbtCliRuntimeError" not in output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("dbt build failed")]
    assert "Out of Memory Error" in line
    log_file = line.rsplit("dbt's full log: ", 1)[1]
    assert Path(log_file).is_file()
    assert not (data_dir / "serving.duckdb").exists()
    assert not (data_dir / "run.lock").exists()


def test_a_run_stopped_with_sigterm_ends_cleanly(tmp_path: Path, export: Path) -> None:
    data_dir = tmp_path / "data"
    run = _start(_env(data_dir, export))
    try:
        _wait_for(
            lambda: [p for p in descendants(run.pid) if "crm-kpi-dbt build" in command_line(p)],
            180,
            "dbt build to start",
        )
        children = descendants(run.pid)
        run.send_signal(signal.SIGTERM)  # as systemd or a scheduler stops a job
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 130
    assert err.strip().endswith("Interrupted; serving.duckdb was left as it was.")
    assert "Traceback" not in err
    assert not (data_dir / "run.lock").exists()  # released, not left for a take-over
    # dbt was told to stop (dagster-dbt forwards the interrupt), and dies with its parent.
    _wait_for(lambda: not [p for p in children if is_running(p)], 5, "dbt to end")
