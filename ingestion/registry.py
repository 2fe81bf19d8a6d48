"""The sources crm-kpi knows, and which of them are configured.

A new CRM is one line here: its name (the same name as its dlt pipeline, dataset, dbt
staging folder and Dagster asset group) and the import path of its `@dlt.source`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ValueNotSecretException,
)
from dlt.extract.source import DltSource

from core.errors import SourceNotConfiguredError


@dataclass(frozen=True)
class SourceSpec:
    name: str
    factory_path: str  # "module:function" of the @dlt.source
    default_enabled: bool = True  # the demo runs only when asked for

    def factory(self) -> Callable[..., DltSource]:
        module, _, attr = self.factory_path.partition(":")
        return getattr(importlib.import_module(module), attr)


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec("demo", "ingestion.demo:demo_source", default_enabled=False),
        SourceSpec("files", "ingestion.files:files_source"),
        SourceSpec("hubspot", "ingestion.hubspot:hubspot_source"),
        SourceSpec("salesforce", "ingestion.salesforce:salesforce_source"),
        SourceSpec("pipedrive", "ingestion.pipedrive:pipedrive_source"),
    )
}


class UnknownSourceError(ValueError):
    pass


def get_spec(name: str) -> SourceSpec:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}: the sources are {', '.join(sorted(SOURCES))}"
        ) from None


def build_source(name: str, **overrides: object) -> DltSource:
    """The configured dlt source `name`; its settings come from dlt config and secrets.

    Raises SourceNotConfiguredError naming the missing settings, or a credential found
    in .dlt/config.toml (dlt refuses those; they belong in .dlt/secrets.toml).
    """
    from core.credentials import secrets_of

    spec = get_spec(name)
    try:
        return spec.factory()(**overrides)
    except ConfigFieldMissingException as exc:
        secret_keys = {s.key for s in secrets_of(name)}
        fields = ", ".join(f"SOURCES__{name.upper()}__{f.upper()}" for f in exc.fields)
        where = (
            f"sources.{name}.<key> in .dlt/secrets.toml, never config.toml"
            if secret_keys & set(exc.fields)
            else f"sources.{name}.<key> in .dlt/config.toml"
        )
        raise SourceNotConfiguredError(
            f"source {name!r} is not configured: set {fields} (environment, or {where})"
        ) from None
    except ValueNotSecretException as exc:
        key = exc.key.rpartition(".")[2]
        raise SourceNotConfiguredError(
            f"{exc.key} in .dlt/config.toml is a secret of source {name!r}: config.toml may be "
            "shared or committed, so no credential is read from it. Move it to "
            f".dlt/secrets.toml (key sources.{name}.{key}) or to the environment variable "
            f"SOURCES__{name.upper()}__{key.upper()}."
        ) from None


def is_configured(name: str) -> bool:
    try:
        build_source(name)
    except (SourceNotConfiguredError, ModuleNotFoundError):
        return False
    return True


def enabled_sources(explicit: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The sources a run loads: those named, else every configured source but the demo."""
    if explicit:
        for name in explicit:
            get_spec(name)
        return tuple(dict.fromkeys(explicit))
    return tuple(s.name for s in SOURCES.values() if s.default_enabled and is_configured(s.name))
