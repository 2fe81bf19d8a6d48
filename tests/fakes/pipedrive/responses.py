"""Pipedrive's envelopes: the token, error and success bodies, limits, cursors and
v1 times.

Separate because every endpoint answers through these, and tests build faults from
`pipedrive_error` and `rate_limited` without a company.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from tests.fakes.arrow import parse_iso
from tests.fakes.server import Request, Response

DEFAULT_TOKEN = "pd-fake-0123456789abcdef0123456789abcdef"
MAX_LIMIT = 500
DELETED_LISTED_DAYS = 30
ACCOUNT_OWNER_USER = 1  # the token's own user: goals/find without type.name returns theirs
DEAL_TYPE_LABELS = {"new_business": "New business", "renewal": "Renewal", "expansion": "Expansion"}
# the optional fields GET /api/v2/deals adds when `include_fields` names them
INCLUDE_FIELDS = {
    "next_activity_id",
    "last_activity_id",
    "first_won_time",
    "products_count",
    "files_count",
    "notes_count",
    "followers_count",
    "email_messages_count",
    "activities_count",
    "done_activities_count",
    "undone_activities_count",
    "participants_count",
    "last_incoming_mail_time",
    "last_outgoing_mail_time",
    "smart_bcc_email",
    "source_lead_id",
}
CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD", "JPY")


def field_key(name: str) -> str:
    """A stable 40-character hash key, the shape Pipedrive gives custom fields."""
    return hashlib.sha1(f"pipedrive-fake:{name}".encode()).hexdigest()


def pipedrive_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"success": False, "error": message, "errorCode": status}
    if status in (401, 403):
        body["error_info"] = "Please check developers.pipedrive.com for more information."
    return Response(status, orjson.dumps(body), dict(headers or {}))


def rate_limited(retry_after: int = 1) -> Response:
    """A 429 as Pipedrive sends it, for fault injection."""
    return pipedrive_error(
        429,
        "Request over limit",
        {
            "Retry-After": str(retry_after),
            "x-ratelimit-limit": "80",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(retry_after),
        },
    )


class BadRequest(ValueError):
    pass


def limit_of(request: Request) -> int:
    text = request.arg("limit", "100") or "100"
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}")
    return int(text)


def ok(
    data: Any, next_cursor: str | None = None, extra: Mapping[str, Any] | None = None
) -> Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if next_cursor is not None or extra is not None:
        body["additional_data"] = {**(extra or {}), "next_cursor": next_cursor}
    return Response(200, orjson.dumps(body))


def offset_page(items: list[Any], request: Request) -> Response:
    limit = limit_of(request)
    cursor = request.arg("cursor")
    try:
        start = int(decode_cursor(cursor)[0]) if cursor else 0
    except (ValueError, IndexError, TypeError):
        raise BadRequest("Invalid cursor") from None
    page = items[start : start + limit]
    more = start + limit < len(items)
    return ok(page, encode_cursor(start + limit) if more else None)


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode()


def decode_cursor(text: str) -> list[Any]:
    parts = orjson.loads(base64.urlsafe_b64decode(text.encode()))
    if not isinstance(parts, list):
        raise ValueError("bad cursor")
    return parts


def v1_time(us: int | None) -> str | None:
    """v1 times: 'YYYY-MM-DD HH:MM:SS' in UTC (a fraction only when the data has one)."""
    if us is None:
        return None
    moment = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    if us % 1_000_000:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def parse_rfc3339(text: str) -> int:
    return parse_iso(text.replace("z", "Z"), "us", assume_utc=False)
