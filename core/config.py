"""Reading one crm-kpi setting: the environment (`CRM_KPI_<NAME>`), else the `[crm_kpi]`
section of `.dlt/config.toml` (a secret: of `.dlt/secrets.toml`), else unset.

The parsers below turn a setting into a number or a switch, raising SettingsError with a
message that names the variable and says what it must be.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import SettingsError


def setting(name: str) -> str | None:
    """The text of setting `name`, or None when it is unset (or empty)."""
    value = os.environ.get(f"CRM_KPI_{name.upper()}")
    if value not in (None, ""):
        return value
    try:
        import dlt

        value = dlt.config.get(f"crm_kpi.{name.lower()}")
    except Exception:  # noqa: BLE001 - no config.toml, or an unreadable one: use the default
        value = None
    return None if value in (None, "") else str(value)


def secret(name: str) -> str | None:
    """A secret: from the environment (CRM_KPI_<NAME>) or `[crm_kpi]` of .dlt/secrets.toml,
    never config.toml (core.credentials lists every secret)."""
    value = os.environ.get(f"CRM_KPI_{name.upper()}")
    if value:
        return value
    try:
        import dlt

        value = dlt.secrets.get(f"crm_kpi.{name.lower()}")
    except Exception:  # noqa: BLE001 - no secrets.toml: the secret is unset
        value = None
    return str(value) if value else None


def path_setting(name: str, default: Path | None) -> Path | None:
    """Setting `name` as an absolute path (`~` expanded), else `default`."""
    value = setting(name)
    return Path(value).expanduser().resolve() if value else default


def number_setting(
    name: str, default: float, *, low: float, high: float | None, rule: str, strict: bool = False
) -> float:
    """Setting `name` as a number in [low, high] ((low, high] when `strict`), else
    `default`; `rule` completes the message "CRM_KPI_<NAME>=... must be <rule>."."""
    text = setting(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    # `not (...)` so that NaN fails too.
    above_low = value > low if strict else value >= low
    if not (above_low and (high is None or value <= high)):
        raise SettingsError(f"CRM_KPI_{name.upper()}={text!r} must be {rule}.")
    return value


_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def switch_setting(name: str, default: bool) -> bool:
    """Setting `name` as on or off (1/0, true/false, yes/no, on/off), else `default`."""
    text = setting(name)
    if text is None:
        return default
    if text.strip().lower() not in _ON + _OFF:
        raise SettingsError(
            f"CRM_KPI_{name.upper()}={text!r} must be 1 or 0 (also true/false, yes/no, on/off)."
        )
    return text.strip().lower() in _ON
