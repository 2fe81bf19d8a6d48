"""The base of every connector's errors, so the orchestration can ask any of them whether
loading again later may succeed.

Separate from the HTTP pieces because errors are raised by parsing and validation too.
"""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source could not be read; the message says what to do, and never holds a secret.

    `transient` tells the orchestration whether the same load may succeed later (an outage,
    a rate limit, a truncated page) or a person must act first (a token, a setting). A
    subclass sets the class attribute for its kind; `transient=` overrides it per error.
    """

    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient
