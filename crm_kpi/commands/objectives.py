"""`crm-kpi status`, `objectives` and `backfill`: the objective scorecard, and measuring the
objectives again from the marts already built, without loading the CRM."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from crm_kpi.app import EXIT_USAGE, AsOf, StrictAlerts, Verbose, err, fail
from crm_kpi.context import (
    built_warehouse,
    check_objectives_file,
    check_sources_configured,
    load_settings,
    locked,
    parse_as_of,
)
from crm_kpi.output import print_scorecard, report_outcome


class StatusFormat(StrEnum):
    text = "text"
    table = "table"
    json = "json"
    csv = "csv"


def status(
    as_of: AsOf = None,
    style: Annotated[
        StatusFormat | None,
        typer.Option(
            "--format",
            help="table: laid out for the terminal's width; text: plain, fixed width, for a "
            "log; json or csv: the objective_progress rows of that day, for scripts. "
            "Default: table in a terminal, text otherwise.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The objective scorecard: each objective's actual, expected, pace and status, and
    every week or month of an objective set per week or month."""
    settings = load_settings()
    day = parse_as_of(as_of, settings) if as_of else None
    print_scorecard(settings, day, style.value if style else None)


def objectives(
    as_of: AsOf = None, strict_alerts: StrictAlerts = False, verbose: Verbose = False
) -> None:
    """Measure the objectives again after objectives.yml changed, without loading the CRM."""
    from orchestration.runs import run_objectives

    settings = load_settings(pipeline=True)
    day = parse_as_of(as_of, settings) if as_of else None
    check_objectives_file(settings)
    with locked(settings, verbose):
        built_as_of, sources = built_warehouse(settings)
        day = day or built_as_of
        if day > built_as_of:
            raise fail(
                f"The marts hold data up to {built_as_of}: run `crm-kpi run --as-of {day}` to "
                "measure objectives as of a later day.",
                EXIT_USAGE,
            )
        check_sources_configured(sources, "objectives")
        code = report_outcome(settings, run_objectives(settings, sources, day), strict_alerts)
    print_scorecard(settings, day)
    raise typer.Exit(code)


def backfill(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
    verbose: Verbose = False,
) -> None:
    """Fill objective_progress as of every day of a range, so a new objective shows its
    history at once (measured from the marts already built)."""
    from orchestration.runs import run_objectives

    settings = load_settings(pipeline=True)
    first, last = parse_as_of(start, settings, "--from"), parse_as_of(end, settings, "--to")
    if first > last:
        raise fail(f"--from {first} is after --to {last}.", EXIT_USAGE)
    check_objectives_file(settings)
    with locked(settings, verbose):
        built_as_of, sources = built_warehouse(settings)
        if last > built_as_of:
            raise fail(
                f"The marts hold data up to {built_as_of}: --to must not be later (run "
                "`crm-kpi run` first).",
                EXIT_USAGE,
            )
        check_sources_configured(sources, "backfill")
        report_outcome(settings, run_objectives(settings, sources, first, last))
    err.print(f"Objective progress measured as of {first} through {last}.")
