"""`FakePipedrive`, the company on a port: routes, the token, the rate-limit window,
the clock and the changes tests make; `serve_crm`.

The state is built by CompanyData and answered by DealEndpoints and CompanyEndpoints;
this module ties them to one server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tests.fakes.arrow import epoch_of
from tests.fakes.pipedrive.columns import NULL, STATUS_CODES
from tests.fakes.pipedrive.company import CompanyData
from tests.fakes.pipedrive.deals import DealEndpoints
from tests.fakes.pipedrive.endpoints import CompanyEndpoints
from tests.fakes.pipedrive.responses import DEFAULT_TOKEN, BadRequest, pipedrive_error
from tests.fakes.ratelimit import RateWindow
from tests.fakes.server import FakeServer, Request, Response


class FakePipedrive(CompanyData, DealEndpoints, CompanyEndpoints, FakeServer):
    """A fake Pipedrive company; start it with `with FakePipedrive(tables) as server:`.

    `requests`, `arrivals`, `faults`, `requests_to()`, `record_requests` and `latency`
    come from FakeServer. `ratelimit` is the number of requests allowed per
    `ratelimit_window` seconds (Pipedrive: 20 to 120 per 2 s); `latency` delays answers.
    """

    def __init__(
        self,
        tables: Mapping[str, Any],
        *,
        token: str = DEFAULT_TOKEN,
        goals: Sequence[Mapping[str, Any]] = (),
        record_requests: bool = True,
        ratelimit: int = 1_000_000,
        ratelimit_window: float = 2.0,
        latency: float = 0.0,
        now: datetime | None = None,
    ) -> None:
        super().__init__(record_requests=record_requests, latency=latency)
        self.token = token
        self._window = RateWindow(
            ratelimit, ratelimit_window, count_refused=True, started=time.monotonic()
        )
        self._data_lock = threading.RLock()
        self._now = now
        self.goals: list[dict[str, Any]] = [dict(g) for g in goals]
        self._build(tables)
        for method, path, handler in (
            ("GET", r"/api/v2/deals", self._deals),
            ("GET", r"/api/v2/deals/archived", self._archived_deals),
            ("GET", r"/api/v2/dealFields", self._deal_fields),
            ("GET", r"/api/v2/deals/products", self._many_deals_products),
            ("GET", r"/api/v2/deals/(?P<id>[0-9]+)/products", self._deal_products),
            ("GET", r"/api/v2/products", self._products),
            ("GET", r"/api/v2/productFields", self._product_fields),
            ("GET", r"/api/v2/organizations", self._organizations),
            ("GET", r"/api/v2/organizationFields", self._organization_fields),
            ("GET", r"/api/v2/pipelines", self._pipelines),
            ("GET", r"/api/v2/stages", self._stages),
            ("GET", r"/api/v1/users", self._users),
            ("GET", r"/api/v1/legacyTeams", self._teams),
            ("GET", r"/api/v1/goals/find", self._goals),
            ("GET", r"/api/v1/currencies", self._currencies),
            ("GET", r"/api/v1/deals/(?P<id>[0-9]+)/changelog", self._changelog),
        ):
            self.route(method, path, self._guarded(handler))

    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    def native_deal_id(self, deal_id: str) -> int:
        """The id Pipedrive gives the deal `deal_id` of the files contract (its title)."""
        if self._deal_ids is None:
            self._deal_ids = {d: i + 1 for i, d in enumerate(self._d_title)}
        return self._deal_ids[deal_id]

    def _deal_index(self, deal_id: str | int) -> int:
        native = deal_id if isinstance(deal_id, int) else self.native_deal_id(deal_id)
        return native - 1

    def _touch(self, i: int, at: datetime | None) -> int:
        moment = epoch_of(at or self.now(), "us")
        if moment <= self._d_update[i]:
            moment = int(self._d_update[i]) + 1_000_000
        self._d_update[i] = moment
        return moment

    def modify_deal(self, deal_id: str | int, at: datetime | None = None, **changes: Any) -> None:
        """Change a deal as a user would: `amount`, `stage` (a move, logged), `status`."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            moment = self._touch(i, at)
            for name, value in changes.items():
                if name == "amount":
                    self._d_value[i] = 0.0 if value is None else float(value)
                elif name == "stage":
                    pipeline = next(
                        p for p, pid in self.pipeline_ids.items() if pid == self._d_pipeline[i]
                    )
                    sid = self.stage_ids[(pipeline, value)]
                    self._d_stage[i] = sid
                    self._d_stage_change[i] = moment
                    self._h_extra.setdefault(i, []).append((moment, sid))
                elif name == "status":
                    self._d_status[i] = STATUS_CODES[value]
                    self._d_close[i] = moment if value in ("won", "lost") else NULL
                else:
                    raise ValueError(f"modify_deal: cannot change {name!r} (amount, stage, status)")
            self._index_deals()

    def delete_deal(self, deal_id: str | int, at: datetime | None = None) -> None:
        """Delete a deal: listed with status=deleted for 30 days, then not at all."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            self._touch(i, at)
            self._d_status[i] = STATUS_CODES["deleted"]
            self._d_deleted[i] = True
            self._index_deals()

    def archive_deal(self, deal_id: str | int, at: datetime | None = None) -> None:
        """Archive a deal: it moves from /deals to /deals/archived, otherwise unchanged."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            self._touch(i, at)
            self._d_archived[i] = True
            self._index_deals()

    def delete_organization(self, account_id: str) -> None:
        """Pipedrive's v2 lists no deleted organization: it simply disappears."""
        with self._data_lock:
            index = self._account_keys.to_pylist().index(account_id)
            self._o_deleted[index] = True

    def not_found(self, request: Request) -> Response:
        return pipedrive_error(404, f"Unknown method {request.method} {request.path}")

    def fault_response(self) -> Response:
        return pipedrive_error(500, "Internal server error")

    def _rate_headers(self) -> tuple[dict[str, str], bool]:
        allowed, remaining, reset = self._window.take()
        return (
            {
                "x-ratelimit-limit": str(self._window.maximum),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(reset),
            },
            not allowed,
        )

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: Request) -> Response:
            headers, over = self._rate_headers()
            if over:
                return pipedrive_error(
                    429,
                    "Request over limit",
                    {**headers, "Retry-After": headers["x-ratelimit-reset"]},
                )
            if "api_token" in request.query or request.headers.get("x-api-token") != self.token:
                # the v2 API takes the token in the x-api-token header only
                return pipedrive_error(401, "unauthorized access", headers)
            try:
                response = handler(request)
            except BadRequest as exc:
                return pipedrive_error(400, str(exc), headers)
            response.headers.update(headers)
            return response

        return guarded


def serve_crm(tables: Mapping[str, Any], **options: Any) -> FakePipedrive:
    """A fake Pipedrive serving these files-contract tables (use it as a context manager)."""
    return FakePipedrive(tables, **options)
