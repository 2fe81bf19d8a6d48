"""Headless Chromium driven through the Chrome DevTools Protocol, just enough for the
report's rendering test: no Playwright or Selenium, only the `websockets` package.

Chromium writes the port it picked (`--remote-debugging-port=0`) into DevToolsActivePort
in its profile folder; we open a page target and talk to it over one websocket.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "install_chromium.sh"
# Quiet, offline, throwaway: no sync, updates, QUIC or first-run pages, a new profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumUnavailable(RuntimeError):
    """Chromium is not installed and cannot be installed on this machine."""


def find_chromium() -> str:
    """The chromium binary, installed by scripts/install_chromium.sh when missing."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    result = subprocess.run(
        ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode == 3:
        raise ChromiumUnavailable(result.stderr.strip())
    if result.returncode != 0:
        raise RuntimeError(f"{INSTALLER} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Page:
    """One page target: send commands, collect the events they cause."""

    ws: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to {method} within {timeout} s")
            message = json.loads(self.ws.recv(timeout=remaining))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """The first event `method` received so far, else the next one."""
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} event within {timeout} s")
            message = json.loads(self.ws.recv(timeout=remaining))
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30, interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"{expression!r} still false after {timeout} s")

    def screenshot(self, **params: Any) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", format="png", **params)["data"])

    def events_named(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["method"] == method]


def _debugging_port(profile: Path, process: subprocess.Popen, timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} before listening")
        if marker.exists():
            lines = marker.read_text().split()
            if lines:
                return int(lines[0])
        time.sleep(0.05)
    raise TimeoutError(f"chromium wrote no {marker} within {timeout} s")


def _first_page(port: int, timeout: float) -> dict[str, Any]:
    """The blank tab's target; Chromium may list it a moment after it starts listening."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"chromium listed no page within {timeout} s: {targets}")
        time.sleep(0.05)


@contextmanager
def chromium_page(
    binary: str, profile: Path, width: int = 1366, height: int = 768
) -> Iterator[Page]:
    """A blank page of a new headless Chromium (own profile folder), closed afterwards."""
    profile.mkdir(parents=True, exist_ok=True)
    # A port file left by an earlier browser on this profile would point at a dead port.
    (profile / "DevToolsActivePort").unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port = _debugging_port(profile, process, timeout=30)
        target = _first_page(port, timeout=30)
        with connect(
            target["webSocketDebuggerUrl"], max_size=None, proxy=None, open_timeout=10
        ) as ws:
            yield Page(ws)
    finally:
        # Chromium starts helper processes: end its whole session group, ours only.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
