"""Running the real `crm-kpi` command line, timed, with its memory sampled.

Each run is a new process, as a person or a cron job starts it: imports, Dagster's
start-up and dbt's own start-up are part of what is measured.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.memory import TreeMemorySampler, wait_sampled
from tests.utils import CLI, ISOLATED_PREFIXES

ROOT = Path(__file__).resolve().parent.parent
# "  ok load files (dlt) (31.7 s)": the progress line of each finished step
STEP_LINE = re.compile(r"^\s+ok (?P<step>.+) \((?P<seconds>[0-9.]+) s\)$", re.MULTILINE)


@dataclass
class CliRun:
    seconds: float
    peak_rss_mb: float
    # the largest processes at the peak: {"python3[123]": MiB, "dbt[456]": MiB}
    peak_by_process_mb: dict[str, float]
    steps: dict[str, float] = field(default_factory=dict)  # step label -> seconds
    # (seconds into the run, MiB per process above 50 MiB), about once a second
    memory_timeline: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def step(self, prefix: str) -> float | None:
        """Seconds of the first step whose label starts with `prefix` ("dbt build")."""
        return next((s for label, s in self.steps.items() if label.startswith(prefix)), None)


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float = 3600
) -> CliRun:
    """`crm-kpi <args>` in a new process; raises BenchError when it fails.

    Output goes to `log` (a pipe could fill up and stall a long run).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*CLI, *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills dbt too
        )
        sampler = TreeMemorySampler(process.pid).start()
        try:
            wait_sampled(process, sampler, timeout)
        except TimeoutError as exc:
            raise BenchError(f"`crm-kpi {' '.join(args)}`: {exc}; see {log}") from exc
        except BaseException:
            # Ctrl-C reaches only this process (the run has its own session): stop dbt too
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if process.returncode != 0:
        raise BenchError(
            f"`crm-kpi {' '.join(args)}` failed (exit {process.returncode}); see {log}:\n"
            + text[-4000:]
        )
    steps = {m["step"]: float(m["seconds"]) for m in STEP_LINE.finditer(text)}
    biggest = sorted(sampler.peak_by_process.items(), key=lambda kv: -kv[1])[:4]
    return CliRun(
        seconds=seconds,
        peak_rss_mb=sampler.peak_mb,
        peak_by_process_mb={name: round(b / 2**20, 1) for name, b in biggest},
        steps=steps,
        memory_timeline=sampler.timeline,
    )
