"""The HTTP client of one HubSpot portal: dlt's retrying `requests` client with the token
in a header, 429/5xx and dropped connections retried with bounded backoff (Retry-After
honoured), HubSpot's rate-limit headers respected, and HubSpot's error bodies turned into
errors that say which setting to check. The token never reaches a log line or an exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import requests

from core.redaction import redact_url
from ingestion.common.http import BearerAuth, RetryPolicy, retrying_client, wait_out_window
from ingestion.hubspot import settings as hs
from ingestion.hubspot.errors import HubSpotAuthError, HubSpotError, HubSpotRateLimitError

logger = logging.getLogger("ingestion.hubspot")


DEFAULT_RETRY = RetryPolicy(
    max_attempts=hs.DEFAULT_MAX_ATTEMPTS,
    backoff_factor=hs.DEFAULT_BACKOFF_FACTOR,
    max_retry_delay=hs.DEFAULT_MAX_RETRY_DELAY,
    request_timeout=hs.DEFAULT_REQUEST_TIMEOUT,
)


def check_retry(policy: RetryPolicy) -> RetryPolicy:
    """`policy` if its values can bound a request, else a HubSpotError naming the setting."""
    if policy.max_attempts < 1:
        raise HubSpotError(
            f"SOURCES__HUBSPOT__MAX_ATTEMPTS={policy.max_attempts} must be at least 1"
        )
    for name in ("backoff_factor", "max_retry_delay", "request_timeout"):
        if getattr(policy, name) < 0:
            raise HubSpotError(
                f"SOURCES__HUBSPOT__{name.upper()}={getattr(policy, name)} must not be negative"
            )
    return policy


def _is_daily_limit(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("policyName", "")).upper() == "DAILY"


def _retry_rate_limited(
    response: requests.Response | None, exception: BaseException | None
) -> bool:
    # 429 is retried except for the daily limit: waiting seconds cannot help that one.
    return response is not None and response.status_code == 429 and not _is_daily_limit(response)


class HubSpotClient:
    """One HubSpot portal's API at `base_url`, with the private app token `api_key`."""

    def __init__(self, api_key: str, base_url: str, retry: RetryPolicy | None = None) -> None:
        token = (api_key or "").strip()
        if not token:
            raise HubSpotAuthError(
                f"the HubSpot token is empty: set {hs.API_KEY_SETTING} to a private app "
                "access token (see docs/connectors/hubspot.md)"
            )
        if not re.match(r"^https?://", base_url or ""):
            raise HubSpotError(
                f"SOURCES__HUBSPOT__BASE_URL={redact_url(str(base_url))!r} is not an http(s) URL; "
                f"the default is {hs.DEFAULT_BASE_URL}"
            )
        self._token = token
        self._auth = BearerAuth(token)
        self.base_url = base_url.rstrip("/")
        self.retry = retry or DEFAULT_RETRY
        self.requests_made = 0
        self._client = retrying_client(
            self.retry,
            status_codes=range(500, 600),
            retry_condition=_retry_rate_limited,
            on_response=self._respect_rate_limit_headers,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<redacted>")

    def _respect_rate_limit_headers(
        self, response: requests.Response, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Waits out a used-up window before the next call, so HubSpot need not answer 429."""
        if response.status_code == 429:
            return response  # the retry waits what Retry-After says
        headers = response.headers
        wait = 0.0
        if headers.get("X-HubSpot-RateLimit-Remaining", "").strip() == "0":
            interval_ms = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
            wait = float(interval_ms) / 1000 if interval_ms.strip().isdigit() else 10.0
        elif headers.get("X-HubSpot-RateLimit-Secondly-Remaining", "").strip() == "0":
            wait = 1.0
        wait_out_window(
            wait,
            self.retry.max_retry_delay,
            logger,
            "HubSpot rate-limit window used up: waiting %.2f s",
        )
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> bytes:
        """The body of a 2xx answer; any other outcome raises a HubSpotError saying why."""
        response = self._send(method, path, what=what, params=params, body=body)
        if 200 <= response.status_code < 300:
            return response.content
        raise self._error(response, what)

    def get_if_exists(self, path: str, *, what: str) -> bytes | None:
        """The body of a GET, or None where HubSpot answers 404 (e.g. a property the
        portal does not have); other errors raise as `request` does."""
        response = self._send("GET", path, what=what)
        if response.status_code == 404:
            return None
        if 200 <= response.status_code < 300:
            return response.content
        raise self._error(response, what)

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        self.requests_made += 1
        try:
            response = self._client.session.request(
                method,
                url,
                params=params,
                json=body,
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise HubSpotError(
                f"{what}: no answer from {redact_url(self.base_url)} after "
                f"{self.retry.max_attempts} attempts ({type(exc).__name__}). Check "
                "SOURCES__HUBSPOT__BASE_URL and the network, then run again: nothing from "
                "this run was loaded and the cursor did not move.",
                transient=True,
            ) from None
        return response

    def _error(self, response: requests.Response, what: str) -> HubSpotError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        category = body.get("category") or body.get("errorType") or ""
        message = self._redact(str(body.get("message") or response.reason or ""))[:300]
        detail = f"{status} {category}".strip()
        if status == 401:
            return HubSpotAuthError(
                f"HubSpot refused the token ({detail}) on {what}: check {hs.API_KEY_SETTING} "
                "(a private app access token of this portal; it may have been rotated or "
                "revoked)."
            )
        if status == 403:
            scopes = sorted(
                {
                    scope
                    for error in body.get("errors") or []
                    if isinstance(error, dict)
                    for scope in (error.get("context") or {}).get("requiredGranularScopes") or []
                }
            )
            need = f" the scope(s) {', '.join(scopes)}" if scopes else " the read scopes listed"
            return HubSpotAuthError(
                f"HubSpot refused access ({detail}) on {what}: give the private app behind "
                f"{hs.API_KEY_SETTING}{need} (docs/connectors/hubspot.md), or turn the "
                "resource off in the source's settings."
            )
        if status == 429:
            policy = body.get("policyName") or "unknown"
            if str(policy).upper() == "DAILY":
                return HubSpotRateLimitError(
                    f"HubSpot's daily API limit of this portal is used up ({what}); run again "
                    "after midnight in the portal's timezone: the cursor did not move."
                )
            return HubSpotRateLimitError(
                f"HubSpot kept answering 429 ({policy} limit) on {what} after "
                f"{self.retry.max_attempts} attempts; run again later: the cursor did not move.",
                transient=True,
            )
        if status >= 500:
            return HubSpotError(
                f"HubSpot answered {detail} on {what} after {self.retry.max_attempts} attempts "
                f"({message}); run again later: nothing from this run was loaded and the "
                "cursor did not move.",
                transient=True,
            )
        return HubSpotError(f"HubSpot answered {detail} on {what}: {message}")
