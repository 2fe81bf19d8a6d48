"""A sandbox for `crm-kpi` runs whose every written byte can be searched for secrets.

Everything a run may write goes under one folder: the working directory (with its
`.dlt/secrets.toml`), the data dir (build and serving files, dlt's pipelines, dbt's
target and logs, the scorecard), DAGSTER_HOME (run storage, event logs), HOME, TMPDIR
and dlt's global data folder. `leaks()` then searches all of it, plus the project's
own dbt target and log folders and the output of every command run, for the markers.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.paths import DBT_PROJECT_DIR
from tests.fakes.server import FakeServer, Request, Response
from tests.secrets.scan import found_in, leaks
from tests.utils import ISOLATED_PREFIXES, ROOT


def marker(name: str) -> str:
    """A unique value to plant as the secret `name`: nothing else can contain it. The
    `!` makes its URL-encoded form differ from it, as real tokens' often do."""
    return f"MkR{name.lower().replace('_', '')[:12]}{secrets.token_hex(8)}!Zq"


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Sandbox:
    root: Path
    markers: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        for folder in (self.work / ".dlt", self.data, self.home, self.tmp, self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        self.objectives.write_text("objectives: []\n")

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def objectives(self) -> Path:
        return self.work / "objectives.yml"

    @property
    def secrets_toml(self) -> Path:
        return self.work / ".dlt" / "secrets.toml"

    def plant(self, name: str) -> str:
        """A new marker for the secret `name` (kept, so `leaks` looks for it)."""
        self.markers[name] = marker(name)
        return self.markers[name]

    def write_secrets_toml(self, text: str) -> None:
        self.secrets_toml.write_text(text)
        self.secrets_toml.chmod(0o600)

    def env(self, settings: dict[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
        return {
            **base,
            "PYTHONPATH": str(ROOT),
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "DLT_DATA_DIR": str(self.root / "dlt-data"),
            "DAGSTER_HOME": str(self.dagster_home),
            "CRM_KPI_DATA_DIR": str(self.data),
            "CRM_KPI_OBJECTIVES": str(self.objectives),
            "CRM_KPI_INGESTION_RETRY_DELAY_S": "0.1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            **settings,
        }

    def cli(self, *args: str, settings: dict[str, str]) -> Run:
        """`crm-kpi <args>` in the sandbox, its output kept for the search."""
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "crm_kpi.cli", *args],
            env=self.env(settings),
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        took = time.monotonic() - started
        run = Run(args, result.returncode, result.stdout, result.stderr, took)
        self.runs.append(run)
        return run

    def leaks(self) -> tuple[list[str], int]:
        """Where a marker appears: files (the planted secrets.toml aside) and outputs;
        and how many files were read."""
        roots = [self.root, DBT_PROJECT_DIR / "target", DBT_PROJECT_DIR / "logs"]
        found, files = leaks(roots, self.markers, skip=[self.secrets_toml])
        for run in self.runs:
            for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
                found.extend(
                    f"{stream} of crm-kpi {' '.join(run.args)}: {hit}"
                    for hit in found_in(text.encode(), self.markers)
                )
        return found, files


class Webhook(FakeServer):
    """A Slack-compatible incoming webhook on 127.0.0.1 answering `status`."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.route("POST", r"/services/.*", self._receive)

    def _receive(self, request: Request) -> Response:
        if self.status >= 400:
            return Response(self.status, b"invalid_token" if self.status < 500 else b"error")
        return Response(200, b"ok")

    def url_with(self, secret: str) -> str:
        """A webhook address whose secret part (like Slack's last path segment) is `secret`."""
        return f"{self.url}/services/T0000000/B0000000/{secret}"

    def posts(self) -> list[Request]:
        return self.requests_to(r"^/services/", method="POST")


def assert_no_leak(sandbox: Sandbox) -> None:
    found, files = sandbox.leaks()
    assert files > 50, f"only {files} files were searched: the runs wrote less than expected"
    assert not found, "secrets found:\n" + "\n".join(found[:50])
