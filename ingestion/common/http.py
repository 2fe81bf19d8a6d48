"""HTTP the connectors share: how hard to retry, dlt's retrying client built from that,
waiting out a used-up rate-limit window, and a bearer token no repr can show.

Which status codes, headers and error bodies mean what stays with each vendor's client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from dlt.sources.helpers.requests import Client

ResponseHook = Callable[..., Any]
RetryCondition = Callable[[requests.Response | None, BaseException | None], bool]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to insist on 429, 5xx and dropped connections before failing the run.

    No validation here: each source checks the values with its own setting names.
    """

    max_attempts: int
    backoff_factor: float
    max_retry_delay: float
    request_timeout: float


def retrying_client(
    policy: RetryPolicy,
    *,
    status_codes: Sequence[int] | None = None,
    retry_condition: RetryCondition | None = None,
    on_response: ResponseHook | None = None,
) -> Client:
    """dlt's retrying `requests` client under `policy`: Retry-After honoured, no raising on
    an error status (the caller turns it into its own error).

    `client.session` is one session per thread, so a client may be shared by threads.
    `status_codes` and `retry_condition` default to dlt's (429 and 5xx, none);
    `on_response` runs on every answer before the retry logic sees it.
    """
    options: dict[str, Any] = {}
    if status_codes is not None:
        options["status_codes"] = tuple(status_codes)
    if retry_condition is not None:
        options["retry_condition"] = retry_condition
    if on_response is not None:
        options["session_attrs"] = {"hooks": {"response": [on_response]}}
    return Client(
        request_timeout=policy.request_timeout,
        raise_for_status=False,
        request_max_attempts=policy.max_attempts,
        request_backoff_factor=policy.backoff_factor,
        request_max_retry_delay=policy.max_retry_delay,
        respect_retry_after_header=True,
        **options,
    )


def retrying_session(
    policy: RetryPolicy,
    *,
    status_codes: Sequence[int] | None = None,
    retry_condition: RetryCondition | None = None,
    on_response: ResponseHook | None = None,
) -> requests.Session:
    """A session of `retrying_client(...)`, for one thread (see there)."""
    return retrying_client(
        policy,
        status_codes=status_codes,
        retry_condition=retry_condition,
        on_response=on_response,
    ).session


def wait_out_window(seconds: float, cap: float, logger: logging.Logger, message: str) -> float:
    """Sleeps `seconds` (at most `cap`) before the next call, so the vendor need not answer
    429; logs `message` with the wait as its one `%` argument. Returns the wait."""
    if seconds <= 0:
        return 0.0
    wait = min(seconds, cap)
    logger.info(message, wait)
    time.sleep(wait)
    return wait


class BearerAuth(requests.auth.AuthBase):
    """Puts the token in the Authorization header, and nowhere a repr or log could show it.

    A subclass that fetches its token when first needed overrides `bearer_token`.
    """

    def __init__(self, token: str | None = None) -> None:
        self._token = token

    def bearer_token(self) -> str:
        return self._token or ""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.bearer_token()}"
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"
