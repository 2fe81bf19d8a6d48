"""Peak resident memory of a process tree, sampled from /proc (Linux).

`crm-kpi run` is one Python process that starts a `dbt` subprocess (which holds the
DuckDB engine while it builds the marts): the memory a machine needs is their sum at the
worst moment, not each one's own peak. `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`
gives only the largest single process ever waited for, so the tree is sampled instead.

RSS counts shared pages (libraries) once per process, so the figure is a slight
over-estimate: a safe side for a memory budget.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _ppid_and_name(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")"
    head, _, rest = stat.rpartition(")")
    fields = rest.split()
    return int(fields[1]), head.partition("(")[2]


def _rss_bytes(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0  # the process ended between listing and reading


def tree_pids(root: int) -> dict[int, str]:
    """`root` and all its descendants, with their command names."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        found = _ppid_and_name(int(entry.name))
        if found is not None:
            parents.setdefault(found[0], []).append((int(entry.name), found[1]))
    own = _ppid_and_name(root)
    tree = {root: own[1] if own else "?"}
    todo = [root]
    while todo:
        for child, name in parents.get(todo.pop(), []):
            if child not in tree:
                tree[child] = name
                todo.append(child)
    return tree


@dataclass
class TreeMemorySampler:
    """Samples the summed RSS of `pid` and its descendants every `interval` seconds."""

    pid: int
    interval: float = 0.2
    peak_bytes: int = 0
    # the processes at the peak sample, by name: which one needs the memory
    peak_by_process: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    # (seconds since start, MiB of each process) every `timeline_every` samples: where
    # in a run the memory goes
    timeline: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    timeline_every: int = 5
    _started: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> int:
        by_process: dict[str, int] = {}
        for pid, name in tree_pids(self.pid).items():
            key = f"{name}[{pid}]"
            by_process[key] = _rss_bytes(pid)
        total = sum(by_process.values())
        if self.samples % self.timeline_every == 0:
            self.timeline.append(
                (
                    round(time.monotonic() - self._started, 1),
                    {k: round(v / 2**20, 1) for k, v in by_process.items() if v > 50 * 2**20},
                )
            )
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes = total
            self.peak_by_process = by_process
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> TreeMemorySampler:
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


def wait_sampled(process, sampler: TreeMemorySampler, timeout: float | None) -> None:
    """Wait for a Popen while `sampler` runs; kill its whole group on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while process.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise TimeoutError(f"{process.args!r} took more than {timeout:.0f} s")
            time.sleep(0.05)
    finally:
        sampler.stop()
