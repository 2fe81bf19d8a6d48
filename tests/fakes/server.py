"""A real HTTP server on 127.0.0.1 for fake CRM APIs, with fault injection.

A fake CRM subclasses `FakeServer` (or uses one as it is) and registers handlers on it:

    server = FakeServer()
    server.route("GET", "/crm/v3/owners", handler)   # handler(request) -> Response
    with server:                                      # starts on a free port
        ... server.url ...

`server.requests` records every request (method, path, query, headers, body), so tests
assert on what a connector asked for, and `server.arrivals` when each came;
`record_requests=False` keeps neither (a bench making a million requests). `latency`
delays every routed answer, as over a real network. `server.faults` is a list of
`Fault`s consumed in order by the first requests they match (by path, method and query
parameters): an HTTP error with a body and headers, a dropped connection, or a
malformed body. A vendor fake overrides `not_found` and `fault_response` to answer in
its own error shape.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, default=str).encode()


@dataclass
class Fault:
    """What to do instead of answering the `nth` matching request (1-based).

    kind: "status" (answer `response`), "drop" (close the socket without an answer),
    "malformed" (a 200 with a truncated JSON body). `query`: parameters the request
    must also carry (e.g. `{"archived": "false"}`); other requests are not counted.
    """

    path_pattern: str
    kind: str = "status"
    response: Response | None = None
    nth: int = 1
    times: int = 1
    method: str | None = None
    query: Mapping[str, str] | None = None
    _seen: int = 0
    _fired: int = 0

    def matches(self, request: Request) -> bool:
        if self.query and any(request.arg(k) != v for k, v in self.query.items()):
            return False
        if self.method and self.method != request.method:
            return False
        if not re.search(self.path_pattern, request.path):
            return False
        self._seen += 1
        if self._seen >= self.nth and self._fired < self.times:
            self._fired += 1
            return True
        return False


Handler = Callable[[Request], Response]


class FakeServer:
    def __init__(self, *, record_requests: bool = True, latency: float = 0.0) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), path) per request
        self.faults: list[Fault] = []
        self.record_requests = record_requests
        self.latency = latency  # seconds each routed answer takes
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, path_regex: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{path_regex}$"), handler))

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def requests_to(self, path_regex: str, method: str | None = None) -> list[Request]:
        pattern = re.compile(path_regex)
        return [
            r
            for r in self.requests
            if pattern.search(r.path) and (method is None or r.method == method)
        ]

    def not_found(self, request: Request) -> Response:
        """The answer to a request no route takes (a vendor fake answers in its shape)."""
        return Response(404, {"message": f"no route for {request.method} {request.path}"})

    def fault_response(self) -> Response:
        """The answer of a "status" fault given no response of its own."""
        return Response(500, {"message": "fault"})

    def _dispatch(self, request: Request) -> Response | str:
        with self._lock:
            if self.record_requests:
                self.requests.append(request)
                self.arrivals.append((time.monotonic(), request.path))
            for fault in self.faults:
                if fault.matches(request):
                    if fault.kind == "status":
                        return fault.response or self.fault_response()
                    return fault.kind
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.match(request.path):
                if self.latency:
                    time.sleep(self.latency)
                return handler(request)
        return self.not_found(request)

    def start(self) -> FakeServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it each answer on a kept-alive connection waits ~40 ms (Nagle).
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                outcome = server._dispatch(request)
                if outcome == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if outcome == "malformed":
                    outcome = Response(200, b'{"results": [{"id": "1", "propert')
                payload = outcome.payload()
                self.send_response(outcome.status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in outcome.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output quiet

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
