"""The errors the Pipedrive source raises, apart from the code that raises them.

Callers (the registry, Dagster's retry policy, tests) catch them by class; keeping them in
their own module lets every other module of the connector import them without a cycle.
"""

from __future__ import annotations

from ingestion.common.errors import SourceError


class PipedriveError(SourceError):
    """Pipedrive could not be read; the message says what to check. Never holds the token."""


class PipedriveAuthError(PipedriveError):
    """Pipedrive refused the token (401) or its user's rights (403): not retried."""


class PipedriveResponseError(PipedriveError):
    """A page is not what the API documents (malformed JSON, missing fields)."""


class PipedriveConfigError(PipedriveError):
    """A setting of the source cannot be applied to this Pipedrive company."""
