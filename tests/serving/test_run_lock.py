"""The run lock of a data directory: one holder, re-entrant in a process, taken over from
a run that died, released on every way out (core/run_lock.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from core.run_lock import (
    RunLockBusyError,
    acquire,
    holder,
    lock_path,
    release,
    run_lock,
)
from orchestration.automation.sensors import failure_message
from orchestration.lib.run_lock import RunLockResource

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from core.run_lock import acquire
    acquire(Path(sys.argv[1]))
    print("held", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def other_holder(tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the lock of tmp_path/data until the test ends (or kills it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_the_lock_file_names_its_holder_and_goes_away(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with run_lock(data_dir) as acquired:
        record = json.loads(lock_path(data_dir).read_text())
        assert record["pid"] == os.getpid() and record["started_at"]
        assert acquired.stale is None
    assert not lock_path(data_dir).exists()


def test_a_second_process_is_refused_with_the_holders_pid(
    tmp_path: Path, other_holder: subprocess.Popen
) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(RunLockBusyError) as refused:
        acquire(data_dir)
    message = str(refused.value)
    assert f"PID {other_holder.pid}" in message and "started" in message
    assert holder(data_dir).pid == other_holder.pid


def test_the_lock_of_a_killed_run_is_taken_over(
    tmp_path: Path, other_holder: subprocess.Popen
) -> None:
    other_holder.send_signal(signal.SIGKILL)
    other_holder.wait()
    data_dir = tmp_path / "data"
    assert lock_path(data_dir).exists()  # nothing could remove it
    assert holder(data_dir) is None
    with run_lock(data_dir) as acquired:
        assert acquired.stale is not None and acquired.stale.pid == other_holder.pid
    assert not lock_path(data_dir).exists()


def test_reentrant_in_one_process_and_released_on_an_exception(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acquire(data_dir)
    with pytest.raises(ValueError), run_lock(data_dir):
        raise ValueError("a failing step")
    # Still held by the outer acquisition.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from core.run_lock import acquire; acquire(sys.argv[1])",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert probe.returncode != 0 and "RunLockBusyError" in probe.stderr
    release(data_dir)
    assert not lock_path(data_dir).exists()


def _job(data_dir: Path) -> dg.JobDefinition:
    @dg.asset
    def writes_the_data_dir(run_lock: RunLockResource) -> None:
        assert lock_path(data_dir).exists()

    defs = dg.Definitions(
        assets=[writes_the_data_dir],
        resources={"run_lock": RunLockResource(data_dir=str(data_dir))},
        executor=dg.in_process_executor,
    )
    return defs.resolve_implicit_global_asset_job_def()


def test_a_dagster_run_holds_the_lock_from_start_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _job(data_dir).execute_in_process(raise_on_error=False)
    assert result.success
    assert not lock_path(data_dir).exists()


def test_a_dagster_run_is_refused_while_another_run_holds_the_lock(
    tmp_path: Path, other_holder: subprocess.Popen
) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = _job(tmp_path / "data").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        # What the run-failure sensor posts to the webhook: the holder, not "an exception
        # was thrown during execution".
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        message = failure_message(context)
    assert f"Another run is using {tmp_path / 'data'}: PID {other_holder.pid}" in message
