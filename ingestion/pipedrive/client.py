"""HTTP and paging: GET requests to one Pipedrive company, retried, one page at a time.

Everything that talks to the network is here, so the table builders never see a response
and the rate-limit and error handling are in one place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import requests
from dlt.common import json

from core.redaction import redact_url
from ingestion.common.http import RetryPolicy, retrying_client, wait_out_window
from ingestion.common.paging import follow
from ingestion.pipedrive import settings
from ingestion.pipedrive.errors import (
    PipedriveAuthError,
    PipedriveConfigError,
    PipedriveError,
    PipedriveResponseError,
)

logger = logging.getLogger("ingestion.pipedrive")


class PipedriveClient:
    """GET requests to one Pipedrive company through dlt's retrying `requests` client.

    The token travels only in the `x-api-token` header: it is not part of any URL, so
    it cannot reach a log line or an exception text through the URL.
    """

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        request_timeout: float = settings.REQUEST_TIMEOUT,
        max_attempts: int = settings.MAX_ATTEMPTS,
        backoff_factor: float = settings.BACKOFF_FACTOR,
        max_retry_delay: float = settings.MAX_RETRY_DELAY,
    ) -> None:
        if not isinstance(api_token, str) or not api_token.strip():
            raise PipedriveAuthError(
                f"the Pipedrive API token is empty: set {settings.TOKEN_SETTING} "
                "(Pipedrive: Personal preferences > API)"
            )
        if not re.match(r"^https?://[^/\s]+", base_url or ""):
            raise PipedriveConfigError(
                f"SOURCES__PIPEDRIVE__BASE_URL={redact_url(str(base_url))!r} is not an http(s) "
                "URL such as "
                f"{settings.DEFAULT_BASE_URL!r} or 'https://yourcompany.pipedrive.com'"
            )
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.max_retry_delay = max_retry_delay
        self._headers = {settings.TOKEN_HEADER: api_token.strip(), "Accept": "application/json"}
        policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff_factor=backoff_factor,
            max_retry_delay=max_retry_delay,
            request_timeout=request_timeout,
        )
        # a client, not one session: the changelog's threads each get their own session
        self._http = retrying_client(policy, on_response=self._rate_limit_hook)

    def _rate_limit_hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Apply Pipedrive's rate-limit headers before dlt's retry logic sees the answer.

        A 429 without Retry-After still says when the window resets (x-ratelimit-reset):
        it becomes the Retry-After that dlt's wait honours. A success that used the
        window's last request waits for the reset, so the next call is not a 429.
        """
        headers = response.headers
        reset = _seconds(headers.get("x-ratelimit-reset"))
        if response.status_code == 429:
            if "Retry-After" not in headers and reset is not None:
                headers["Retry-After"] = str(max(1, round(reset)))
        elif (
            response.status_code < 400
            and (headers.get("x-ratelimit-remaining") or "").strip() == "0"
        ):
            wait_out_window(
                reset or 0.0,
                self.max_retry_delay,
                logger,
                "pipedrive: rate-limit window used up, waiting %.1f s",
            )

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, what: str = "") -> Any:
        """One GET, retried per the client's policy, returning the parsed JSON body."""
        label = what or f"GET {path}"
        try:
            response = self._http.session.get(
                self.base_url + path, params=dict(params or {}), headers=self._headers
            )
        except requests.RequestException as exc:
            raise PipedriveError(
                f"{label}: no answer from {redact_url(self.base_url)} after "
                f"{self.max_attempts} attempts "
                f"({type(exc).__name__}); check SOURCES__PIPEDRIVE__BASE_URL and the network, "
                "then rerun: nothing from this run was loaded"
            ) from exc
        status = response.status_code
        if status in (401, 403):
            detail = _error_text(response)
            advice = (
                "the token is wrong, revoked or of a deactivated user"
                if status == 401
                else "the token's user lacks the permission (reading every deal, "
                "organization, user and goal needs a global admin or a permission set "
                "that sees all items)"
            )
            raise PipedriveAuthError(
                f"{label}: Pipedrive answered {status} ({detail}): {advice}. "
                f"Check {settings.TOKEN_SETTING}."
            )
        if status >= 400:
            retried = status == 429 or status >= 500
            raise PipedriveError(
                f"{label}: Pipedrive answered {status} ({_error_text(response)})"
                + (f" after {self.max_attempts} attempts" if retried else "")
                + "; nothing from this run was loaded, rerun later"
            )
        try:
            body = json.loadb(response.content)
        except ValueError as exc:
            raise PipedriveResponseError(
                f"{label}: the answer is not valid JSON ({len(response.content)} bytes: {exc}); "
                "nothing from this run was loaded and the incremental cursor did not move, "
                "so the next run reads the same records again"
            ) from None
        if isinstance(body, dict) and body.get("success") is False:
            raise PipedriveError(f"{label}: Pipedrive answered success=false ({_body_error(body)})")
        return body

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, what: str = ""
    ) -> Iterator[list[dict[str, Any]]]:
        """The `data` list of every page of a cursor-paged list (`additional_data.next_cursor`)."""
        query = dict(params or {})

        def fetch(cursor: str | None, page: int) -> tuple[list[dict[str, Any]], str | None]:
            label = f"{what or 'GET ' + path} (page {page})"
            if cursor is not None:
                query["cursor"] = cursor
            body = self.get_json(path, query, what=label)
            if not isinstance(body, dict):
                raise PipedriveResponseError(f"{label}: the answer is not a JSON object")
            data = body.get("data")
            if data is None:
                data = []
            if not isinstance(data, list):
                raise PipedriveResponseError(f"{label}: 'data' is not a list")
            return data, (body.get("additional_data") or {}).get("next_cursor") or None

        yield from follow(fetch)


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _body_error(body: Mapping[str, Any]) -> str:
    error = str(body.get("error") or "no error text")[:200]
    code = body.get("errorCode")
    return f"{error}, errorCode {code}" if code is not None else error


def _error_text(response: requests.Response) -> str:
    try:
        body = json.loadb(response.content)
    except ValueError:
        return response.reason or "no error body"
    return _body_error(body) if isinstance(body, dict) else (response.reason or "")
