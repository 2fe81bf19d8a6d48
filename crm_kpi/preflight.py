"""Every setting a pipeline command will read, checked before it starts.

The quality gates, the schedule and the load retries read their settings when their step
runs; a bad value found there stops a run after the load and the dbt build. Checked here
first, every bad setting is reported at once, and nothing runs.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import SettingsError
from core.settings import Settings


def _checks() -> list[Callable[[], object]]:
    # Imported here: the command line starts without loading Dagster for `--help`.
    from expectations.settings import QualitySettings
    from orchestration.automation.schedules import schedule_settings
    from orchestration.ingestion.assets import retry_delay_s

    return [QualitySettings.from_env, schedule_settings, retry_delay_s]


def check_settings() -> Settings:
    """The run settings, with every other setting checked; SettingsError lists each bad
    one, a line each."""
    problems: list[str] = []
    settings = None
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        problems.append(str(exc))
    for check in _checks():
        try:
            check()
        except SettingsError as exc:
            problems.append(str(exc))
    if problems or settings is None:
        raise SettingsError("\n".join(problems))
    return settings
