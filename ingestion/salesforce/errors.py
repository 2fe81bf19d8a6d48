"""What a failed Salesforce call raises, and how a Salesforce error body is read.

Kept apart so the auth flow, the HTTP client and the page parser raise one family of
errors without importing each other.
"""

from __future__ import annotations

import orjson
import requests

from ingestion.common.errors import SourceError


class SalesforceError(SourceError):
    """A Salesforce call failed; the message says what to do. It never holds the token.

    `transient` tells the orchestration whether the same load may succeed later (an
    outage that outlasted the HTTP retries) or will fail the same way (a refused token).
    """


class SalesforceAuthError(SalesforceError):
    """401: the access token was refused."""


class SalesforceAccessError(SalesforceError):
    """403: the token's user may not read what was asked."""


class SalesforceLimitError(SalesforceError):
    """403 REQUEST_LIMIT_EXCEEDED: the org's daily API requests are used up."""


class SalesforceRequestError(SalesforceError):
    """Any other refused or failed request (after the retries)."""


class MalformedPageError(SalesforceError):
    """A page was not the JSON Salesforce documents; the run stops, the cursor stays.

    Usually a body cut short on the way, so a later attempt may well succeed.
    """

    transient = True


class SalesforceConfigError(SalesforceError, ValueError):
    """A setting names something the org does not have."""


def error_of(response: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body: [{"message", "errorCode"}]."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "", response.reason or ""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code = first.get("errorCode") or first.get("error") or ""
        message = first.get("message") or first.get("error_description") or ""
        return str(code), str(message)
    return "", response.reason or ""


def malformed(what: str, body: bytes, reason: str) -> str:
    return (
        f"Salesforce sent a malformed page ({what}, {len(body)} bytes: {reason}). "
        "The run stopped before loading anything and the cursor did not move, so the "
        "next run reads these records again."
    )
