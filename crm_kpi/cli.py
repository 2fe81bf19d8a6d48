"""The `crm-kpi` command: run the demo or the pipeline, query the marts, open the UI."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crm_kpi.settings import PROJECT_ROOT, Settings, SettingsError

app = typer.Typer(
    help="CRM opportunities to sales KPIs and objectives, in DuckDB marts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Last complete day of data, YYYY-MM-DD (default: yesterday in the reporting "
        "timezone). Pins a run so it is reproducible.",
    ),
]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err.print(f"[red]Configuration error:[/] {exc}")
        raise typer.Exit(2) from None


def _as_of(value: str | None, settings: Settings) -> date:
    if not value:
        return settings.default_as_of()
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--as-of {value!r} is not a date: write it as YYYY-MM-DD.[/]")
        raise typer.Exit(2) from None


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _print_kpis(settings: Settings) -> None:
    from warehouse.queries import kpi_summary

    summary = kpi_summary(settings.serving_db)
    table = Table(title=f"KPIs, company-wide, by month (as of {summary.as_of})")
    table.add_column("metric")
    table.add_column("unit")
    for start, complete in zip(summary.months, summary.complete, strict=True):
        label = start.strftime("%Y-%m") + ("" if complete else " (to date)")
        table.add_column(label, justify="right")
    for metric, unit, values in summary.rows:
        table.add_row(metric, unit, *(format_value(v, unit) for v in values))
    out.print(table)


def _execute(
    settings: Settings,
    sources: tuple[str, ...],
    as_of: date,
    overrides=None,
    full_refresh: bool = False,
) -> None:
    from crm_kpi.runner import run_refresh

    err.print(
        f"Running the pipeline for {', '.join(sources)} as of {as_of} (data in {settings.data_dir})"
    )
    try:
        outcome = run_refresh(settings, sources, as_of, overrides, full_refresh)
    except Exception as exc:  # noqa: BLE001 - a configuration error before the run starts
        err.print(f"[red]The pipeline could not start:[/] {exc}")
        raise typer.Exit(1) from None
    _report(settings, outcome)


def _report(settings: Settings, outcome) -> None:
    if not outcome.success:
        err.print("[red]The run failed; serving.duckdb was left as it was.[/]")
        for message in outcome.errors:
            err.print(message, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    err.print(f"[green]Published[/] {settings.serving_db}")


def _print_scorecard(settings: Settings, as_of: date | None = None) -> None:
    from crm_kpi.scorecard import render
    from warehouse.queries import scorecard

    render(scorecard(settings.serving_db, as_of), out)


def _built_warehouse(settings: Settings) -> tuple[date, tuple[str, ...]]:
    from warehouse.objectives_load import warehouse_state

    state = warehouse_state(settings)
    if state is None:
        err.print(
            f"[red]No marts in {settings.data_dir} yet:[/] run `crm-kpi run` (or `crm-kpi "
            "demo`) first."
        )
        raise typer.Exit(2)
    return state


def _check_objectives_file(settings: Settings) -> None:
    """Validate objectives.yml before anything runs: a bad file changes nothing."""
    from ingestion.objectives import ObjectivesFileError
    from warehouse.objectives_load import read_objectives

    try:
        read_objectives(settings)
    except ObjectivesFileError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def demo(
    deals: Annotated[int, typer.Option(help="Number of deals of the demo CRM.", min=100)] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the demo CRM (same seed, same CRM).")] = 42,
    as_of: AsOf = None,
) -> None:
    """Generate the demo CRM, run the whole pipeline on it and print the KPIs."""
    settings = _settings()
    if settings.objectives_path is None:
        # The shipped example objectives are written for the demo CRM.
        settings = dataclasses.replace(settings, objectives_path=PROJECT_ROOT / "objectives.yml")
    day = _as_of(as_of, settings)
    _check_objectives_file(settings)
    overrides = {"demo": {"deals": deals, "seed": seed, "as_of": day.isoformat()}}
    _execute(settings, ("demo",), day, overrides)
    _print_kpis(settings)
    _print_scorecard(settings)


@app.command()
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
) -> None:
    """One pipeline run: load the sources, build and check the marts, publish them."""
    from ingestion.registry import (
        SourceNotConfiguredError,
        UnknownSourceError,
        build_source,
        enabled_sources,
    )

    settings = _settings()
    try:
        sources = enabled_sources(tuple(source or ()) or settings.sources)
        for name in sources:
            build_source(name)
    except (UnknownSourceError, SourceNotConfiguredError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if not sources:
        err.print(
            "[red]No source is configured.[/] Set SOURCES__FILES__PATH to a folder of CRM "
            "export files (see README), a CRM token such as SOURCES__HUBSPOT__API_KEY, or "
            "try `crm-kpi demo`."
        )
        raise typer.Exit(2)
    day = _as_of(as_of, settings)
    _check_objectives_file(settings)
    _execute(settings, sources, day, full_refresh=full_refresh)


@app.command()
def status(as_of: AsOf = None) -> None:
    """The objective scorecard: each objective's actual, expected, pace and status."""
    from warehouse.queries import ServingFileMissingError

    settings = _settings()
    try:
        _print_scorecard(settings, _as_of(as_of, settings) if as_of else None)
    except ServingFileMissingError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@app.command()
def doctor() -> None:
    """Which credentials are set and where (never their values); unsafe secrets files."""
    from crm_kpi.doctor import run_doctor

    raise typer.Exit(run_doctor(out))


@app.command()
def objectives(as_of: AsOf = None) -> None:
    """Measure the objectives again after objectives.yml changed, without loading the CRM."""
    from crm_kpi.runner import run_objectives

    settings = _settings()
    built_as_of, sources = _built_warehouse(settings)
    day = _as_of(as_of, settings) if as_of else built_as_of
    if day > built_as_of:
        err.print(
            f"[red]The marts hold data up to {built_as_of}:[/] run `crm-kpi run --as-of {day}` "
            "to measure objectives as of a later day."
        )
        raise typer.Exit(2)
    _check_objectives_file(settings)
    _report(settings, run_objectives(settings, sources, day))
    _print_scorecard(settings, day)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
) -> None:
    """Fill objective_progress as of every day of a range, so a new objective shows its
    history at once (measured from the marts already built)."""
    from crm_kpi.runner import run_objectives

    settings = _settings()
    built_as_of, sources = _built_warehouse(settings)
    first, last = _as_of(start, settings), _as_of(end, settings)
    if first > last:
        err.print(f"[red]--from {first} is after --to {last}.[/]")
        raise typer.Exit(2)
    if last > built_as_of:
        err.print(
            f"[red]The marts hold data up to {built_as_of}:[/] --to must not be later "
            "(run `crm-kpi run` first)."
        )
        raise typer.Exit(2)
    _check_objectives_file(settings)
    _report(settings, run_objectives(settings, sources, first, last))
    err.print(f"Objective progress measured as of {first} through {last}.")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run read-only on serving.duckdb.")],
    fmt: Annotated[
        str, typer.Option("--format", help="table, csv or json.", case_sensitive=False)
    ] = "table",
) -> None:
    """Run read-only SQL on the marts (schema `marts` of serving.duckdb)."""
    from warehouse.queries import QueryError, ServingFileMissingError, run_query

    settings = _settings()
    try:
        result = run_query(settings.serving_db, sql)
    except (QueryError, ServingFileMissingError) as exc:
        err.print(f"[red]{exc}[/]", markup=True, highlight=False)
        raise typer.Exit(1) from None
    fmt = fmt.lower()
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif fmt == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        json.dump(rows, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    elif fmt == "table":
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
        err.print(f"{len(result.rows)} row(s)")
    else:
        err.print(f"[red]--format {fmt!r}: use table, csv or json.[/]")
        raise typer.Exit(2)


@app.command()
def export(
    parquet: Annotated[
        Path,
        typer.Option(
            "--parquet",
            help="Folder to write the marts into, one Parquet file per table (created if "
            "missing; files of the same name are replaced).",
            file_okay=False,
            resolve_path=True,
        ),
    ],
) -> None:
    """Export the marts of serving.duckdb as Parquet files, one per table."""
    import duckdb
    import pyarrow.parquet as pq

    from warehouse.export import export_parquet
    from warehouse.queries import ServingFileMissingError

    settings = _settings()
    try:
        paths = export_parquet(settings.serving_db, parquet)
    except ServingFileMissingError as exc:
        err.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from None
    except (OSError, duckdb.Error) as exc:
        err.print(f"[red]Could not export to {parquet}:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for path in paths:
        # Plain text, one file per line: easy to read and to pipe into another tool.
        sys.stdout.write(f"{path}\t{pq.read_metadata(path).num_rows} rows\n")
    err.print(f"{len(paths)} table(s) exported from {settings.serving_db}")


@app.command()
def report(
    out_file: Annotated[
        Path,
        typer.Option("--out", help="HTML file to write (replaced if it exists).", dir_okay=False),
    ] = Path("scorecard.html"),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Day to show the objectives as of, YYYY-MM-DD (default: the last day they "
            "were measured).",
        ),
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option(
            "--png", help="Also write each chart as a PNG into this folder.", file_okay=False
        ),
    ] = None,
) -> None:
    """The scorecard as one self-contained HTML file with charts (opens without network)."""
    from warehouse.queries import ServingFileMissingError
    from warehouse.report import ReportError, build_report

    settings = _settings()
    day = _as_of(as_of, settings) if as_of else None
    try:
        path = build_report(settings.serving_db, out_file, day, png)
    except (ServingFileMissingError, ReportError) as exc:
        err.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]Could not write the report:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"Wrote {path.resolve()}" + (f" and the charts as PNG in {png}" if png else ""))


@app.command()
def docs(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write static_index.html into (default: <data dir>/docs).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """The models, columns, KPIs and metrics documented by dbt, as one HTML file."""
    from warehouse.report import ReportError
    from warehouse.report.dbt_docs import generate_docs

    settings = _settings()
    try:
        page = generate_docs(settings, out_dir or settings.data_dir / "docs")
    except ReportError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    err.print(f"Wrote {page.resolve()} (open it in a browser; no server needed)")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the Dagster UI and daemon (the daemon fires the nightly schedule)."""
    settings = _settings()
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    err.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl+C stops it.")
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        host,
        "-p",
        str(port),
    ]
    raise typer.Exit(subprocess.call(command, env=env, cwd=PROJECT_ROOT))


if __name__ == "__main__":
    app()
