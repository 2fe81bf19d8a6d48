"""`crm-kpi ui` serves the asset graph: its GraphQL endpoint lists the pipeline's assets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from tests.conftest import FIXTURES
from tests.utils import CLI

QUERY = "{ assetNodes { assetKey { path } groupName } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ui_serves_the_asset_graph(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SOURCES__FILES__PATH": str(FIXTURES / "export_small")}
    process = subprocess.Popen(
        [*CLI, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # dagster dev starts children: stop the whole group
    )
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
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
