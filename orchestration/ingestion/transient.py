"""Which ingestion failures are worth retrying later, and which need a person."""

from __future__ import annotations

import requests

_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """True for network failures and server-side errors that outlived the client's retries.

    A broken export file, a rejected token or a bad setting fails the same way every
    time: retrying only delays the message a person needs to read.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, requests.ConnectionError | requests.Timeout):
            return True
        if isinstance(current, requests.HTTPError) and current.response is not None:
            return current.response.status_code in _TRANSIENT_STATUS
        if getattr(current, "transient", False):
            return True
        current = current.__cause__ or current.__context__
    return False
