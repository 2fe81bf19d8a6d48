"""`FakeHubSpot`, the portal on a port: its routes, auth, scopes, rate limit, and the
changes tests make between runs; `serve_crm`.

The state is built by PortalData and DealData, answered by ReadEndpoints and
SearchEndpoint; this module holds what ties them to one server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ingestion.hubspot import settings as hs
from tests.fakes.hubspot.commerce import CommerceEndpoints
from tests.fakes.hubspot.crm import PortalData
from tests.fakes.hubspot.deals import DealData
from tests.fakes.hubspot.products import ProductData
from tests.fakes.hubspot.reads import ReadEndpoints
from tests.fakes.hubspot.records import Objects, history_entries
from tests.fakes.hubspot.responses import (
    ALL_SCOPES,
    DEFAULT_TOKEN,
    SCOPES,
    error_response,
    json_default,
    rate_limit_body,
)
from tests.fakes.hubspot.search import SearchEndpoint
from tests.fakes.ratelimit import RateWindow
from tests.fakes.server import FakeServer, Request, Response


class FakeHubSpot(
    PortalData,
    DealData,
    ProductData,
    ReadEndpoints,
    SearchEndpoint,
    CommerceEndpoints,
    FakeServer,
):
    """A HubSpot portal serving `tables` (files contract); see the package docstring."""

    def __init__(
        self,
        tables: Mapping[str, pa.Table | Iterable[pa.Table] | None],
        *,
        token: str = DEFAULT_TOKEN,
        company_currency: str = "EUR",
        scopes: Iterable[str] | None = None,
        rate_limit: tuple[int, int] | None = None,
        search_result_limit: int = hs.SEARCH_RESULT_LIMIT,
        property_names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.company_currency = company_currency
        self.scopes = frozenset(scopes) if scopes is not None else ALL_SCOPES
        self.search_result_limit = search_result_limit
        self.names = {
            "segment": hs.DEFAULT_SEGMENT_PROPERTY,
            "region": hs.DEFAULT_REGION_PROPERTY,
            "industry": hs.DEFAULT_INDUSTRY_PROPERTY,
            "deal_type": hs.DEFAULT_DEAL_TYPE_PROPERTY,
            "contract_start": hs.DEFAULT_CONTRACT_START_PROPERTY,
            "contract_end": hs.DEFAULT_CONTRACT_END_PROPERTY,
            "mrr": hs.DEFAULT_MRR_PROPERTY,
            "lost_reason": hs.DEFAULT_LOST_REASON_PROPERTY,
            "channel": hs.DEFAULT_CHANNEL_PROPERTY,
            "product_family": hs.DEFAULT_PRODUCT_FAMILY_PROPERTY,
            **(property_names or {}),
        }
        self._window = (
            RateWindow(rate_limit[0], rate_limit[1] / 1000, count_refused=False)
            if rate_limit
            else None
        )
        self._window_ms = rate_limit[1] if rate_limit else 0
        self._state = threading.RLock()
        self.rate_limited = 0  # 429s the window answered
        self._build(tables)
        self._routes()

    def _routes(self) -> None:
        objects = "(deals|companies|goal_targets|line_items|products)"
        self.route("GET", f"/crm/v3/objects/{objects}", self._guard(self._list))
        self.route("POST", f"/crm/v3/objects/{objects}/search", self._guard(self._search))
        self.route("POST", f"/crm/v3/objects/{objects}/batch/read", self._guard(self._batch_read))
        self.route(
            "POST",
            "/crm/v4/associations/deals/companies/batch/read",
            self._guard(self._associations, scope=SCOPES["deals"]),
        )
        self.route(
            "POST",
            "/crm/v4/associations/line_items/deals/batch/read",
            self._guard(self._line_item_deals, scope=SCOPES["line_items"]),
        )
        self.route(
            "GET",
            "/crm/v3/properties/deals/[^/]+",
            self._guard(self._property, scope=SCOPES["deal_properties"]),
        )
        self.route(
            "GET",
            "/crm/v3/properties/products/[^/]+",
            self._guard(self._property, scope=SCOPES["products"]),
        )
        self.route("GET", "/crm/v3/owners/?", self._guard(self._owners, scope=SCOPES["owners"]))
        self.route(
            "GET",
            "/crm/v3/pipelines/deals",
            self._guard(self._pipelines, scope=SCOPES["pipelines"]),
        )
        self.route(
            "GET",
            "/settings/v3/currencies/exchange-rates",
            self._guard(self._exchange_rates, scope=SCOPES["currencies"]),
        )
        self.route(
            "GET",
            "/settings/v3/currencies/company-currency",
            self._guard(self._company_currency, scope=SCOPES["currencies"]),
        )

    def _rate_headers(self) -> dict[str, str]:
        if self._window is None:
            return {
                "X-HubSpot-RateLimit-Daily": "500000",
                "X-HubSpot-RateLimit-Daily-Remaining": "499000",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": "190",
                "X-HubSpot-RateLimit-Remaining": "189",
            }
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self._window_ms),
            "X-HubSpot-RateLimit-Max": str(self._window.maximum),
            "X-HubSpot-RateLimit-Remaining": str(self._window.remaining),
        }

    def _take_window(self) -> Response | None:
        if self._window is None:
            return None
        allowed, _, reset = self._window.take()
        if allowed:
            return None
        with self._state:
            self.rate_limited += 1
        return Response(
            429,
            rate_limit_body("TEN_SECONDLY_ROLLING"),
            {"Retry-After": str(reset), **self._rate_headers()},
        )

    def _guard(self, handler: Any, scope: str | None = None) -> Any:
        def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error_response(
                    401,
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                )
            limited = self._take_window()
            if limited is not None:
                return limited
            needed = scope or SCOPES[request.path.split("/")[4]]
            if needed not in self.scopes:
                return error_response(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [needed]},
                        }
                    ],
                )
            with self._state:
                response = handler(request)
            response.headers = {**self._rate_headers(), **response.headers}
            if not isinstance(response.body, bytes):
                response.body = json.dumps(response.body, default=json_default).encode()
            return response

        return guarded

    def _objects(self, object_type: str) -> Objects:
        return {
            "deals": self.deals,
            "companies": self.companies,
            "goal_targets": self.goals,
            "line_items": self.line_items,
            "products": self.products,
        }[object_type]

    def tick(self) -> int:
        with self._state:
            self.now_ms += 1000
            return self.now_ms

    def hubspot_id(self, object_type: str, key: str) -> str:
        """The HubSpot id the record `key` (its files-contract id) is served under."""
        objects = self._objects(object_type)
        return str(objects.ids[objects.index[str(key)]])

    def modify(self, object_type: str, key: str, **changes: Any) -> int:
        """Changes a record's properties (HubSpot property names, string values) and stamps
        its modification time; for a deal, `dealstage` also adds a stage-history version.
        Returns the new modification time (epoch ms)."""
        row = self._objects(object_type).index[str(key)]
        values = {
            prop: pa.array([None if value is None else str(value)], pa.string())
            for prop, value in changes.items()
        }
        return int(self.modify_many(object_type, np.array([row]), values)[0])

    def modify_many(
        self,
        object_type: str,
        rows: np.ndarray,
        changes: Mapping[str, pa.Array],
        not_before_ms: int = 0,
    ) -> np.ndarray:
        """`modify` for many records at once: `rows` (ascending) and, per property, one
        string value each. They are stamped a second apart, from `not_before_ms` at the
        earliest; returns the stamps (epoch ms)."""
        with self._state:
            objects = self._objects(object_type)
            self.now_ms = max(self.now_ms, not_before_ms)
            stamps = self.now_ms + 1000 * np.arange(1, len(rows) + 1, dtype=np.int64)
            self.now_ms = int(stamps[-1])
            for prop, values in changes.items():
                objects.set_props(rows, prop, values)
                if prop == "dealstage" and objects.history_json is not None:
                    objects.prepend_histories(rows, history_entries(values, stamps))
            objects.modified_ms[rows] = stamps
            objects.changed()
            return stamps

    def quote_all(self) -> None:
        """Every property quoted for JSON now: what the first pages would do otherwise, so
        that a timed reader does not pay for the fake's own set-up."""
        with self._state:
            for name in ("deals", "companies", "goal_targets", "line_items", "products"):
                self._objects(name).quote_all()

    def purge(self, object_type: str, key: str) -> None:
        """Deletes a record for good (a GDPR delete, or 90 days in the recycle bin): it is
        then neither listed nor listed as archived."""
        with self._state:
            objects = self._objects(object_type)
            objects.purged[objects.index[str(key)]] = True
            objects.changed()

    def archive(self, object_type: str, key: str) -> None:
        """Deletes (archives) a record, as HubSpot's delete does."""
        with self._state:
            objects = self._objects(object_type)
            row = objects.index[str(key)]
            objects.archived[row] = True
            objects.archived_ms[row] = self.tick()
            objects.changed()

    def archive_owner(self, key: str) -> None:
        with self._state:
            native = self.owner_ids[str(key)]
            for owner in self.owners:
                if owner["id"] == native:
                    owner["archived"] = True

    def stage_id(self, pipeline: str, stage: str) -> str:
        return self.stage_ids[(pipeline, stage)]


def serve_crm(
    tables: Mapping[str, pa.Table | Iterable[pa.Table] | None], **options: Any
) -> FakeHubSpot:
    """A fake HubSpot portal serving `tables` (not started: use it as a context manager).

    `tables` holds files-contract tables (or iterables of them): `deals` (required),
    `stage_history`, `accounts`, `owners`, `stages`, `fx_rates`, `deal_products` (served as
    line items and products; a line item's key is `line_item_key(deal_id, product_id)`),
    and optionally `goal_targets` (`goal_id`, `name`, `target`, `start`, `end`,
    `owner_id`, `team`). The deals' optional `channel` is served as hs_analytics_source.
    `options` go to FakeHubSpot (token, company_currency, scopes, rate_limit, ...).
    """
    return FakeHubSpot(tables, **options)
