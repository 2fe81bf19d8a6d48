"""`crm-kpi ui` serves the asset graph (its GraphQL endpoint lists the pipeline's assets)
and, stopped, stops every server it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.conftest import FIXTURES
from tests.utils import CLI, command_line, descendants, is_running

QUERY = "{ assetNodes { assetKey { path } groupName } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ui_serves_the_asset_graph_and_stops_with_all_its_servers(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SOURCES__FILES__PATH": str(FIXTURES / "export_small")}
    process = subprocess.Popen(
        [*CLI, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # only a safety net: the test stops `crm-kpi ui` alone
    )
    servers: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        nodes = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=5
                )
                body = response.json()
                if response.ok and body.get("data", {}).get("assetNodes"):
                    nodes = body["data"]["assetNodes"]
                    break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(2)
        assert nodes, f"the UI did not answer:\n{process.stdout.read() if process.poll() else ''}"
        # dagster dev, its webserver, daemon and code server: all stop with `crm-kpi ui`.
        servers = descendants(process.pid)
        assert len(servers) >= 3, [command_line(p) for p in servers]
        process.send_signal(signal.SIGTERM)  # as systemd stops the service
        assert process.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(is_running(p) for p in servers):
            time.sleep(0.2)
        left = [command_line(p) for p in servers if is_running(p)]
        assert not left, left
    finally:
        if process.poll() is None or any(is_running(p) for p in servers):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            for pid in servers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {
        "raw_files/deals",
        "marts/kpi_values",
        "marts/objective_progress",
        "serving",
        "alerts",
    } <= keys
    groups = {node["groupName"] for node in nodes if node["assetKey"]["path"][0] == "raw_files"}
    assert groups == {"files"}
