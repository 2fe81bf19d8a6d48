"""Keeping credentials out of messages: URLs without their credentials, and known secret
values masked in error messages before anything stores or prints them.

Connectors build their messages from setting names, never values; this is the net
under them, for messages made by libraries (a URL with a token in its query string, an
exception that repeats its input).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry credentials in the APIs crm-kpi meets (Pipedrive's
# api_token, HubSpot's legacy hapikey, OAuth's access_token/client_secret/code, signed
# URLs' sig/signature) and their usual spellings elsewhere.
_CREDENTIAL_PARAM = re.compile(
    r"(token|key|secret|password|passwd|pwd|auth|signature|^sig$|^code$|credential|session)",
    re.IGNORECASE,
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# Shorter values are not masked: they would blank out ordinary words.
MIN_MASKED_LENGTH = 6


def redact_url(url: str) -> str:
    """`url` without a password in its authority and with the values of credential-like
    query parameters replaced by ***: safe to print in an error message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_CREDENTIAL_PARAM.search(name) for name, _ in pairs):
            query = urlencode(
                [(n, MASK if _CREDENTIAL_PARAM.search(n) else v) for n, v in pairs], safe="*"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls(text: str) -> str:
    """Every URL in `text` redacted by `redact_url`."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def mask(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with each secret value (default: every credential configured now) replaced
    by ***, and its URLs redacted."""
    if secrets is None:
        from core.credentials import configured_values

        secrets = configured_values()
    for value in sorted(set(secrets), key=len, reverse=True):
        if len(value) >= MIN_MASKED_LENGTH:
            text = text.replace(value, MASK)
    return redact_urls(text)


def secret_parts(value: str) -> list[str]:
    """`value` and, for a URL, the parts a log line may show alone: its path (where a
    webhook keeps its secret) and query. An HTTP library logs "POST /services/T0/B0/XYZ"."""
    parts = [value]
    if "://" in value:
        with contextlib.suppress(ValueError):
            url = urlsplit(value)
            path_query = url.path + (f"?{url.query}" if url.query else "")
            parts += [p for p in (path_query, url.path, url.query) if len(p) >= 12]
    return parts


class SecretsFilter(logging.Filter):
    """Masks the given secrets in every record of the logger it is attached to."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = {part for value in secrets for part in secret_parts(value)}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


# Loggers that print request lines (method, path, query) at DEBUG, which Dagster captures
# when its python_log_level is DEBUG.
REQUEST_LOGGERS = ("urllib3.connectionpool",)


def hide_in_logs(secrets: Iterable[str], loggers: Iterable[str] = REQUEST_LOGGERS) -> None:
    """Mask `secrets` in what these loggers write, from now on in this process."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return
    for name in loggers:
        logger = logging.getLogger(name)
        known = next((f for f in logger.filters if isinstance(f, SecretsFilter)), None)
        if known is None:
            logger.addFilter(SecretsFilter(secrets))
        else:
            known.secrets |= {part for value in secrets for part in secret_parts(value)}


def scrub_exception(exc: BaseException, secrets: Iterable[str] | None = None) -> BaseException:
    """Mask credentials in the messages of `exc` and of the exceptions it was raised from,
    in place (Dagster stores a failed step's error chain in its event log and shows it in
    the UI). Returns `exc`."""
    if secrets is None:
        from core.credentials import configured_values

        secrets = configured_values()
    secrets = list(secrets)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(
            mask(arg, secrets) if isinstance(arg, str) else arg for arg in current.args
        )
        for name in ("msg", "message"):  # exceptions that keep their text in an attribute
            value = getattr(current, name, None)
            if isinstance(value, str):
                with contextlib.suppress(AttributeError):  # a read-only property
                    setattr(current, name, mask(value, secrets))
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return exc
