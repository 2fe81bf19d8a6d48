"""One run at a time per data directory: the run lock, `<data dir>/run.lock`.

A run (`crm-kpi run`, `demo`, `objectives`, `backfill`, and every Dagster run of the
refresh or measure_objectives job) writes `build.duckdb`; two at once fight over
DuckDB's file lock and the second dies half-way. The first takes this lock and the
second is refused at once, told which run holds it.

The lock is an exclusive `flock` on `run.lock`, which holds the holder's PID, start time
and command as JSON. The kernel drops a `flock` when its process dies, however it dies
(SIGKILL included), so a crashed run never blocks the next one: the next run finds the
file, takes the lock and says it took over from a run that ended without releasing it.
On a normal exit, an exception or a signal that Python handles, the lock is released
and the file removed. Within one process the lock is re-entrant: the CLI takes it
before anything else, and the Dagster job it runs in process takes it again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "run.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as written in the lock file."""

    pid: int | None
    started_at: str | None  # ISO 8601, UTC
    command: str | None
    host: str | None

    def describe(self) -> str:
        parts = [f"PID {self.pid}" if self.pid else "an unknown process"]
        if self.command:
            parts.append(f"`{self.command}`")
        if self.host and self.host != socket.gethostname():
            parts.append(f"on {self.host}")
        text = " ".join(parts)
        if self.started_at:
            text += f", started {_readable(self.started_at)}"
        return text


class RunLockBusyError(RuntimeError):
    """Another run holds the lock of this data directory."""

    def __init__(self, data_dir: Path, holder: Holder) -> None:
        self.data_dir = data_dir
        self.holder = holder
        super().__init__(
            f"Another run is using {data_dir}: {holder.describe()}. Wait for it to finish "
            f"(or stop it), then run again; one run at a time writes build.duckdb."
        )


@dataclass(frozen=True)
class Acquired:
    path: Path
    # The run that held the lock last and died without releasing it (SIGKILL, power
    # loss), when this acquisition took over from it.
    stale: Holder | None


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_FILE


def _readable(started_at: str) -> str:
    try:
        return datetime.fromisoformat(started_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return started_at


def _read_holder(fd: int) -> Holder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64 * 1024).decode("utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return Holder(None, None, None, None)
    if not isinstance(data, dict):
        return Holder(None, None, None, None)
    pid = data.get("pid")
    return Holder(
        pid if isinstance(pid, int) else None,
        data.get("started_at"),
        data.get("command"),
        data.get("host"),
    )


def _command_line() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if name in ("cli.py", "__main__.py", "-m", "-c"):
        name = "crm-kpi"
    return " ".join([name, *sys.argv[1:]])[:300]


class _Held:
    def __init__(self, fd: int, path: Path, stale: Holder | None) -> None:
        self.fd = fd
        self.path = path
        self.stale = stale
        self.depth = 1


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def _try_lock(path: Path) -> tuple[int, Holder | None]:
    """Open and lock the file at `path`; (fd, the previous holder's record). Raises
    BlockingIOError with the holder in `.holder` when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _flock_soon(fd)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                busy = BlockingIOError(exc.errno, "locked")
                busy.holder = holder or Holder(None, None, None, None)  # type: ignore[attr-defined]
                raise busy from None
            raise
        # The holder before us may have removed the file between our open and our lock:
        # then we locked a file nobody else will see. Start again on the one at `path`.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, _read_holder(fd)
        os.close(fd)


def _flock_soon(fd: int, attempts: int = 5) -> None:
    """An exclusive lock, tried a few times over a quarter of a second: `holder()` of
    another process takes a shared lock for an instant, which must not refuse a run."""
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _write_holder(fd: int) -> None:
    record = {
        "pid": os.getpid(),
        "started_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": _command_line(),
        "host": socket.gethostname(),
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
    os.fsync(fd)


def acquire(data_dir: Path) -> Acquired:
    """Take the lock of `data_dir` (re-entrant in this process); raise RunLockBusyError
    when another process holds it. Pair each call with `release`."""
    data_dir = Path(data_dir).resolve()
    path = lock_path(data_dir)
    with _guard:
        held = _held.get(path)
        if held is not None:
            held.depth += 1
            return Acquired(path, None)
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd, previous = _try_lock(path)
        except BlockingIOError as exc:
            raise RunLockBusyError(data_dir, exc.holder) from None  # type: ignore[attr-defined]
        # A record left in the file means its run never released the lock: it died.
        stale = previous if previous is not None and previous.pid != os.getpid() else None
        _write_holder(fd)
        _held[path] = _Held(fd, path, stale)
        return Acquired(path, stale)


def release(data_dir: Path) -> None:
    path = lock_path(Path(data_dir).resolve())
    with _guard:
        held = _held.get(path)
        if held is None:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _held[path]
        # Remove the file while still holding the lock, so no one locks it in between.
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(held.fd)


@contextlib.contextmanager
def run_lock(data_dir: Path) -> Iterator[Acquired]:
    """Hold the run lock of `data_dir` for the block (see `acquire`)."""
    acquired = acquire(data_dir)
    try:
        yield acquired
    finally:
        release(data_dir)


def holder(data_dir: Path) -> Holder | None:
    """The run holding the lock of `data_dir` now, if another process holds it."""
    path = lock_path(Path(data_dir).resolve())
    with _guard:
        if path in _held:
            return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return _read_holder(fd) or Holder(None, None, None, None)
        raise
    finally:
        os.close(fd)
    return None
