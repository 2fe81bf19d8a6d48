"""HubSpot's answers that are not records: tokens and scopes, error bodies, the faults.

Separate because tests build faults from these without a portal, and every endpoint
answers errors in this one shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.fakes.server import Fault, Response

DEFAULT_TOKEN = "pat-eu1-fake-0000-token-for-tests"


# The scopes each endpoint needs, as HubSpot names them.
SCOPES = {
    "deals": "crm.objects.deals.read",
    "companies": "crm.objects.companies.read",
    "goal_targets": "crm.objects.goals.read",
    "line_items": "crm.objects.line_items.read",
    "products": "e-commerce",
    "deal_properties": "crm.schemas.deals.read",
    "owners": "crm.objects.owners.read",
    "pipelines": "crm.objects.deals.read",
    "currencies": "settings.currencies.read",
}


ALL_SCOPES = frozenset(SCOPES.values())


def error_response(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response(status, body)


def rate_limit_body(policy: str = "SECONDLY") -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": "publicapi:private-app:fake",
    }


_RATE_LIMIT_HEADERS = {
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Max": "190",
    "X-HubSpot-RateLimit-Remaining": "0",
}


def _fault(
    path_pattern: str,
    kind: str,
    response: Response | None,
    *,
    nth: int,
    times: int,
    query: Mapping[str, str] | None,
    method: str | None,
) -> Fault:
    return Fault(
        path_pattern,
        kind=kind,
        response=response,
        nth=nth,
        times=times,
        method=method or None,
        query=dict(query) if query else None,
    )


def rate_limit_fault(
    path_pattern: str,
    *,
    nth: int = 1,
    times: int = 1,
    retry_after: int = 1,
    policy: str = "SECONDLY",
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """HubSpot's 429: a RATE_LIMIT body, `Retry-After` and rate-limit headers."""
    headers = {"Retry-After": str(retry_after), **_RATE_LIMIT_HEADERS}
    response = Response(429, rate_limit_body(policy), headers)
    return _fault(
        path_pattern, "status", response, nth=nth, times=times, query=query, method=method
    )


def error_fault(
    path_pattern: str,
    status: int = 500,
    *,
    nth: int = 1,
    times: int = 1,
    retry_after: int | None = None,
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """A HubSpot error answer (500 INTERNAL_ERROR, 503 with optional Retry-After, ...)."""
    response = error_response(
        status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR", "fault"
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return _fault(
        path_pattern, "status", response, nth=nth, times=times, query=query, method=method
    )


def fault(
    path_pattern: str,
    kind: str,
    *,
    nth: int = 1,
    times: int = 1,
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """A dropped connection ("drop") or a truncated JSON page ("malformed")."""
    return _fault(path_pattern, kind, None, nth=nth, times=times, query=query, method=method)


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # a float prints back the same digits up to 15 significant ones: an exact JSON number
        return float(value) if len(value.as_tuple().digits) <= 15 else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
