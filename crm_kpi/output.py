"""What the commands print after a run: its outcome, the KPI table and the scorecard.

Separate from the commands because `demo`, `run`, `status`, `objectives` and `backfill` share it.
"""

from __future__ import annotations

from datetime import date

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.settings import Settings
from crm_kpi.app import EXIT_ALERTS, EXIT_FAILED, EXIT_INTERRUPTED, err, fail, out


def format_value(value: float | None, unit: str) -> str:
    """A KPI value for the terminal table: counts and money whole, ratios as percent."""
    if value is None:
        return "-"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _kpi_table(summary, months: int, bordered: bool) -> Table:
    """The last `months` months of the summary; a month still running is marked '*'."""
    table = Table(
        title=f"KPIs, company-wide, by month (as of {summary.as_of})",
        caption="* to date" if not all(summary.complete[-months:]) else None,
        box=box.HEAVY_HEAD if bordered else None,
        show_edge=bordered,
    )
    table.add_column("metric", no_wrap=True)
    table.add_column("unit", no_wrap=True)
    for start, complete in list(zip(summary.months, summary.complete, strict=True))[-months:]:
        table.add_column(
            start.strftime("%Y-%m") + ("" if complete else "*"), justify="right", no_wrap=True
        )
    for metric, unit, values in summary.rows:
        table.add_row(metric, unit, *(format_value(v, unit) for v in values[-months:]))
    return table


def print_kpis(settings: Settings) -> None:
    """The company-wide KPIs by month on stdout: as many of the latest months as the width
    holds with no cell wrapped, bordered in a terminal and plain (no borders, 100 columns)
    in a log or a pipe."""
    from crm_kpi.scorecard import TEXT_WIDTH
    from warehouse.queries import kpi_summary

    summary = kpi_summary(settings.serving_db)
    terminal = out.is_terminal
    width = out.width if terminal else TEXT_WIDTH
    console = (
        out
        if terminal
        else Console(file=out.file, width=width, color_system=None, highlight=False, emoji=False)
    )
    months = len(summary.months)
    table = _kpi_table(summary, months, terminal)
    measure = console.options.update_width(10_000)
    while months > 1 and console.measure(table, options=measure).maximum > width:
        months -= 1
        table = _kpi_table(summary, months, terminal)
    console.print(table)


def report_outcome(settings: Settings, outcome, strict_alerts: bool = False) -> int:
    """The run's final summary: published or failed (and why), its warnings, its alerts.
    Raises typer.Exit(1) when the run failed; returns the exit code otherwise."""
    if not outcome.success and outcome.interrupted:
        raise fail("Interrupted; serving.duckdb was left as it was.", EXIT_INTERRUPTED)
    if not outcome.success:
        err.print("[red]The run failed; serving.duckdb was left as it was.[/]")
        for message in outcome.errors:
            err.print(message, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)
    err.print(
        Text.assemble(("Published ", "green"), f"{settings.serving_db} (as of {outcome.as_of})"),
        highlight=False,
    )
    if outcome.warnings:
        err.print(f"{len(outcome.warnings)} warning(s):", style="yellow")
        for message in outcome.warnings:
            err.print(f"  - {message}", markup=False, highlight=False, soft_wrap=True)
    alerts = outcome.alerts
    if alerts is None or not alerts.count:
        err.print("No new alerts.")
        return 0
    if not alerts.webhook:
        err.print(
            f"{alerts.count} new alert(s), logged only (set CRM_KPI_ALERT_WEBHOOK to send them)."
        )
        return 0
    if alerts.delivered:
        err.print(f"{alerts.count} new alert(s) sent to the webhook.")
        return 0
    err.print(
        Text.assemble(
            (f"{alerts.count} new alert(s) NOT delivered", "bold red"),
            f": {alerts.error}. They stay pending and go out with the next run:",
        ),
        highlight=False,
        soft_wrap=True,
    )
    for message in alerts.messages:
        err.print(f"  - {message}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_ALERTS if strict_alerts else 0


def print_scorecard(
    settings: Settings, as_of: date | None = None, style: str | None = None
) -> None:
    """The objective scorecard as of `as_of` (default: the last day measured), as `style`:
    `table` (laid out for the console's width), `text` (plain, fixed width, for a log),
    `json` or `csv` (the objective_progress rows of that day). Default: a table in a
    terminal, text when stdout is a pipe or a file."""
    from crm_kpi.scorecard import render, render_text
    from warehouse.queries import ServingFileMissingError
    from warehouse.scorecard import NotMeasuredError, scorecard

    style = style or ("table" if out.is_terminal else "text")
    try:
        if style in ("json", "csv"):
            from crm_kpi.progress_export import write_csv, write_json
            from warehouse.progress_rows import progress_rows

            found = progress_rows(settings.serving_db, as_of)
            (write_json if style == "json" else write_csv)(found, out.file)
            return
        card = scorecard(settings.serving_db, as_of)
    except (NotMeasuredError, ServingFileMissingError) as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    if style == "text":
        render_text(card, out.file)
    else:
        render(card, out)
