"""Errors of configuration that every layer raises or catches."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names the variable."""


class SourceNotConfiguredError(ValueError):
    """A source lacks the settings it needs; a source raises it when dlt alone cannot
    tell (one of several ways to authenticate, say)."""
