"""HubSpot's errors, exported by `ingestion.hubspot`: each says what to do, and whether
loading again later may succeed (`transient`).

Separate from the client because parsing and the row builders raise them too.
"""

from __future__ import annotations

from ingestion.common.errors import SourceError


class HubSpotError(SourceError):
    """HubSpot answered something the source cannot use; the message says what to do.

    `transient` tells the orchestration whether loading again later may succeed (an
    outage, a rate limit, a truncated page) or a person must act first (a token, a setting).
    """


class HubSpotAuthError(HubSpotError):
    """HubSpot refused the token (401) or its scopes (403)."""


class HubSpotRateLimitError(HubSpotError):
    """HubSpot's rate limit was still hit after every retry, or the daily limit is used up."""


class HubSpotResponseError(HubSpotError):
    """A page that is not the JSON HubSpot documents (truncated, not an object, no results)."""

    transient = True


class HubSpotDataError(HubSpotError):
    """A record's property value that does not parse as its type."""
