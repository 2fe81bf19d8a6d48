"""`crm-kpi demo` and `crm-kpi run`: the commands that load the sources and publish the marts."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

import typer

from core.paths import PROJECT_ROOT
from core.settings import Settings
from crm_kpi.app import EXIT_FAILED, EXIT_USAGE, AsOf, StrictAlerts, Verbose, err, fail
from crm_kpi.context import check_objectives_file, load_settings, locked, parse_as_of
from crm_kpi.output import print_kpis, print_scorecard, report_outcome


def execute(
    settings: Settings,
    sources: tuple[str, ...],
    as_of: date,
    overrides=None,
    full_refresh: bool = False,
) -> object:
    """Run the refresh job on `sources`; a failure before the run starts stops it (rc 1)."""
    from orchestration.runs import explain, run_refresh

    err.print(
        f"Running the pipeline for {', '.join(sources)} as of {as_of} "
        f"(data in {settings.data_dir})",
        highlight=False,
    )
    try:
        return run_refresh(settings, sources, as_of, overrides, full_refresh)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a configuration error before the run starts
        raise fail(explain(str(exc)), EXIT_FAILED, "The pipeline could not start: ") from None


def demo(
    deals: Annotated[int, typer.Option(help="Number of deals of the demo CRM.", min=100)] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the demo CRM (same seed, same CRM).")] = 42,
    as_of: AsOf = None,
    strict_alerts: StrictAlerts = False,
    verbose: Verbose = False,
) -> None:
    """Generate the demo CRM, run the whole pipeline on it and print the KPIs."""
    settings = load_settings(pipeline=True)
    if settings.objectives_path is None:
        # The shipped example objectives are written for the demo CRM.
        settings = dataclasses.replace(settings, objectives_path=PROJECT_ROOT / "objectives.yml")
    day = parse_as_of(as_of, settings)
    check_objectives_file(settings)
    overrides = {"demo": {"deals": deals, "seed": seed, "as_of": day.isoformat()}}
    with locked(settings, verbose):
        code = report_outcome(settings, execute(settings, ("demo",), day, overrides), strict_alerts)
    print_kpis(settings)
    print_scorecard(settings)
    raise typer.Exit(code)


def run(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="A source to load (repeat for several); default: every configured source.",
        ),
    ] = None,
    as_of: AsOf = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Reload the sources from scratch (drops their raw tables and incremental "
            "state): after changing a field mapping, or to catch deletions a CRM no "
            "longer reports.",
        ),
    ] = False,
    strict_alerts: StrictAlerts = False,
    verbose: Verbose = False,
) -> None:
    """One pipeline run: load the sources, build and check the marts, publish them."""
    from ingestion.registry import (
        SourceNotConfiguredError,
        UnknownSourceError,
        build_source,
        enabled_sources,
    )

    settings = load_settings(pipeline=True)
    try:
        sources = enabled_sources(tuple(source or ()) or settings.sources)
        for name in sources:
            build_source(name)
    except (UnknownSourceError, SourceNotConfiguredError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if not sources:
        raise fail(
            "No source is configured. Set SOURCES__FILES__PATH to a folder of CRM export files "
            "(see README and docs/crm-model.md), a CRM token such as SOURCES__HUBSPOT__API_KEY, "
            "or try `crm-kpi demo`.",
            EXIT_USAGE,
        )
    day = parse_as_of(as_of, settings)
    check_objectives_file(settings)
    with locked(settings, verbose):
        code = report_outcome(
            settings, execute(settings, sources, day, full_refresh=full_refresh), strict_alerts
        )
    raise typer.Exit(code)
