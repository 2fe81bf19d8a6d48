"""Every credential crm-kpi reads, in one list, and where each may (and may not) come from.

A credential is read from its environment variable or from `.dlt/secrets.toml`, never
from `.dlt/config.toml`: that file holds settings, is meant to be shared and may be
committed. A new source or sink (a CRM, a warehouse engine) adds each of its secrets as
one `Secret(...)` line in `SECRETS`; `crm-kpi doctor`, the refusal of secrets in
config.toml and the masking of error messages then know it. A source declares the same
names as `dlt.secrets.value` arguments, so dlt keeps their values out of its traces
(tests/secrets checks that the two lists agree).

Values never leave this module except through `configured_values()`, whose only use is
masking them out of messages.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import SettingsError


@dataclass(frozen=True)
class Secret:
    owner: str  # the source or sink it belongs to: a SOURCES name, "alerts", an engine
    section: str  # the dlt section it is read from: "sources.hubspot", "crm_kpi"
    key: str
    description: str

    @property
    def env(self) -> str:
        """Its environment variable: dlt's SECTION__KEY; crm-kpi's own are CRM_KPI_<KEY>."""
        if self.section == "crm_kpi":
            return f"CRM_KPI_{self.key.upper()}"
        return "__".join([*self.section.split("."), self.key]).upper()

    @property
    def toml(self) -> str:
        """Its dotted key in .dlt/secrets.toml (`key` in the file's `[section]` table)."""
        return f"{self.section}.{self.key}"

    def lookup_paths(self) -> list[tuple[str, ...]]:
        """The sections dlt looks the key up in, most specific first: a source's
        `sources.<name>.<name>`, `sources.<name>`, `sources` and the top level."""
        parts = tuple(self.section.split("."))
        if self.section == "crm_kpi":  # core.config reads `crm_kpi.<key>` only
            return [parts]
        paths = [parts[:n] for n in range(len(parts), -1, -1)]
        if parts[0] == "sources" and len(parts) == 2:
            paths.insert(0, (*parts, parts[1]))
        return paths

    def env_names(self) -> list[str]:
        if self.section == "crm_kpi":
            return [self.env]
        return ["__".join([*path, self.key]).upper() for path in self.lookup_paths()]


# One line per credential. Engines add theirs here, e.g.
#   Secret("postgres", "destination.postgres.credentials", "password", "the database password"),
SECRETS: tuple[Secret, ...] = (
    Secret("hubspot", "sources.hubspot", "api_key", "private app access token"),
    Secret("pipedrive", "sources.pipedrive", "api_token", "API token"),
    Secret("salesforce", "sources.salesforce", "access_token", "OAuth access token"),
    Secret("salesforce", "sources.salesforce", "client_id", "External Client App consumer key"),
    Secret(
        "salesforce", "sources.salesforce", "client_secret", "External Client App consumer secret"
    ),
    Secret("alerts", "crm_kpi", "alert_webhook", "incoming webhook URL, a bearer secret"),
    Secret("warehouse", "crm_kpi", "pii_salt", "salt of the owners' e-mail hashes"),
)


def secrets_of(owner: str) -> tuple[Secret, ...]:
    return tuple(s for s in SECRETS if s.owner == owner)


class SecretInConfigError(SettingsError):
    """A credential sits in .dlt/config.toml; the message names it and where it belongs."""


# -- the files dlt reads -------------------------------------------------------------------


def _dlt_files(kind: str) -> list[Path]:
    """The `config.toml` or `secrets.toml` files dlt reads, project's first: the
    working directory's `.dlt/` (or DLT_PROJECT_DIR's), then dlt's global folder."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    context = Container()[PluggableRunContext].context
    folders = [Path(context.settings_dir), Path(context.global_dir)]
    return [folder / f"{kind}.toml" for folder in dict.fromkeys(folders)]


def secrets_files() -> list[Path]:
    return _dlt_files("secrets")


def config_files() -> list[Path]:
    return _dlt_files("config")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SecretInConfigError(f"{path} cannot be read as TOML: {exc}") from None


def _at(document: dict[str, Any], path: tuple[str, ...], key: str) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node.get(key) if isinstance(node, dict) else None


def _display(path: tuple[str, ...], key: str) -> str:
    # dotted, without TOML's [table] brackets: rich would read those as markup
    return ".".join([*path, key]) if path else f"{key} (top level)"


# -- where a credential was found ----------------------------------------------------------


@dataclass(frozen=True)
class Found:
    secret: Secret
    where: str  # "environment variable X" or "<path> (key under [section])"
    value: str = ""  # kept out of repr: only masking reads it

    def __repr__(self) -> str:
        return f"Found({self.secret.env}, {self.where!r})"


def _found_in_env(secret: Secret) -> Iterator[Found]:
    for name in secret.env_names():
        value = os.environ.get(name)
        if value:
            yield Found(secret, f"environment variable {name}", value)


def _found_in_files(secret: Secret) -> Iterator[Found]:
    for path in secrets_files():
        document = _read_toml(path)
        for section in secret.lookup_paths():
            value = _at(document, section, secret.key)
            if value not in (None, ""):
                where = f"{path.resolve()}, key {_display(section, secret.key)}"
                yield Found(secret, where, str(value))


def locate(secret: Secret) -> list[Found]:
    """Every place this credential is set, in the order dlt reads them (the first wins)."""
    return [*_found_in_env(secret), *_found_in_files(secret)]


def configured_values() -> list[str]:
    """The values of every credential set now, and of a URL the path and query a log line
    may show alone (for masking them out of messages), longest first."""
    from core.redaction import secret_parts

    values = {
        part for secret in SECRETS for found in locate(secret) for part in secret_parts(found.value)
    }
    return sorted(values, key=len, reverse=True)


# -- credentials where they do not belong --------------------------------------------------


def secrets_in_config() -> list[str]:
    """One message per credential found in a config.toml, naming it and where it belongs."""
    problems = []
    for path in config_files():
        document = _read_toml(path)
        for secret in SECRETS:
            for section in secret.lookup_paths():
                if _at(document, section, secret.key) is not None:
                    problems.append(
                        f"{_display(section, secret.key)} in {path.resolve()} is a secret "
                        f"({secret.owner}: {secret.description}). config.toml holds settings "
                        "and may be shared or committed, so crm-kpi reads no credential from "
                        f"it: move it to .dlt/secrets.toml (key {secret.toml}; that file is "
                        f"never committed) or to the environment variable {secret.env}."
                    )
    return problems


def refuse_secrets_in_config() -> None:
    """Raise SecretInConfigError when a config.toml holds a credential."""
    problems = secrets_in_config()
    if problems:
        raise SecretInConfigError("\n".join(problems))
