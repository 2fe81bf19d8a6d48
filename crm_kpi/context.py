"""What a command settles before it does its work: the settings, the day it runs as of, the
objectives file, the warehouse already built and the data directory's run lock.

Separate from the commands because most of them share these checks and their messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import date

import typer
from rich.text import Text

from core.errors import SettingsError
from core.settings import Settings
from crm_kpi.app import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_USAGE, err, fail


def load_settings(pipeline: bool = False) -> Settings:
    """The settings; for a command that runs the pipeline, every setting its steps read
    later is checked too, so a bad one stops it now (rc 2) rather than after the build."""
    try:
        if pipeline:
            from crm_kpi.preflight import check_settings

            return check_settings()
        return Settings.from_env()
    except SettingsError as exc:
        for line in str(exc).splitlines():
            err.print(Text("Configuration error: ", style="red") + line, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


@contextlib.contextmanager
def locked(settings: Settings, verbose: bool) -> Iterator[None]:
    """Hold the data directory's run lock for the command (refused at once, rc 3, when
    another run holds it), with quiet or verbose progress; SIGTERM stops the run as
    Ctrl+C does, so the run ends cleanly and the lock is released."""
    from core.run_lock import RunLockBusyError, acquire, release
    from orchestration.lib.progress import set_quiet

    set_quiet(not verbose)
    try:
        acquired = acquire(settings.data_dir)
    except RunLockBusyError as exc:
        raise fail(str(exc), EXIT_BUSY) from None
    if acquired.stale is not None:
        err.print(
            f"Took over the run lock of {acquired.stale.describe()}, which ended without "
            "releasing it (killed?).",
            highlight=False,
        )
    previous = signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        yield
    except KeyboardInterrupt:
        raise fail("Interrupted; serving.duckdb was left as it was.", EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        release(settings.data_dir)


def parse_as_of(value: str | None, settings: Settings, option: str = "--as-of") -> date:
    """The day `value` names, or the default as-of day when it is empty."""
    if not value:
        return settings.default_as_of()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date: write it as YYYY-MM-DD.", 2) from None


def built_warehouse(settings: Settings) -> tuple[date, tuple[str, ...]]:
    """The as-of day and sources of the marts already built; stops (rc 2) when there are none."""
    from warehouse.run_context import warehouse_state

    state = warehouse_state(settings)
    if state is None:
        raise fail(
            f"No marts in {settings.data_dir} yet: run `crm-kpi run` (or `crm-kpi demo`) first.",
            EXIT_USAGE,
        )
    return state


def check_objectives_file(settings: Settings) -> None:
    """Validate objectives.yml before anything runs: a bad file changes nothing."""
    from objectives import ObjectivesFileError, read_objectives

    try:
        read_objectives(settings)
    except ObjectivesFileError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def check_sources_configured(sources: tuple[str, ...], command: str) -> None:
    """The settings of every source the marts were built from: measuring objectives again
    rebuilds those marts, so it needs them as `crm-kpi run` does (exit code 2 if not)."""
    from ingestion.registry import SourceNotConfiguredError, build_source

    for name in sources:
        try:
            build_source(name)
        except SourceNotConfiguredError as exc:
            raise fail(
                f"{exc}. `crm-kpi {command}` rebuilds the marts of the sources this data "
                f"directory holds ({', '.join(sources)}) from their loaded data, and needs "
                "their settings as `crm-kpi run` does.",
                EXIT_USAGE,
            ) from None
