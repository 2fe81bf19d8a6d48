"""The `crm-kpi` command: run the demo or the pipeline, query the marts, open the UI."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.errors import SettingsError
from core.paths import PROJECT_ROOT
from core.settings import Settings

# Exit codes (README, "Exit codes").
EXIT_FAILED = 1  # the run failed; serving.duckdb was left as it was
EXIT_USAGE = 2  # a bad setting, option or input file: nothing ran
EXIT_BUSY = 3  # another run holds the data directory
EXIT_ALERTS = 4  # published, but new alerts were not delivered (--strict-alerts)
EXIT_INTERRUPTED = 130

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


Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also show the tools' own output: dlt's progress blocks, dagster-dbt's "
        "notices and the dbt command it runs.",
    ),
]
StrictAlerts = Annotated[
    bool,
    typer.Option(
        "--strict-alerts",
        help=f"Exit with code {EXIT_ALERTS} when new alerts could not be delivered to the "
        "webhook (the marts are published all the same).",
    ),
]


def _fail(message: str, code: int, prefix: str = "") -> typer.Exit:
    """Print `message` (plain text: no markup is read in it) and the exit to raise."""
    text = Text(prefix, style="red") + Text(message, style="" if prefix else "red")
    err.print(text, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings(pipeline: bool = False) -> Settings:
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
def _locked(settings: Settings, verbose: bool) -> Iterator[None]:
    """Hold the data directory's run lock for the command (refused at once, rc 3, when
    another run holds it), with quiet or verbose progress; SIGTERM stops the run as
    Ctrl+C does, so the run ends cleanly and the lock is released."""
    from core.run_lock import RunLockBusyError, acquire, release
    from orchestration.lib.progress import set_quiet

    set_quiet(not verbose)
    try:
        acquired = acquire(settings.data_dir)
    except RunLockBusyError as exc:
        raise _fail(str(exc), EXIT_BUSY) from None
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
        raise _fail("Interrupted; serving.duckdb was left as it was.", EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        release(settings.data_dir)


def _as_of(value: str | None, settings: Settings, option: str = "--as-of") -> date:
    if not value:
        return settings.default_as_of()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r} is not a date: write it as YYYY-MM-DD.", 2) from None


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
) -> object:
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
        raise _fail(explain(str(exc)), EXIT_FAILED, "The pipeline could not start: ") from None


def _report(settings: Settings, outcome, strict_alerts: bool = False) -> int:
    """The run's final summary: published or failed (and why), its warnings, its alerts.
    Raises typer.Exit(1) when the run failed; returns the exit code otherwise."""
    if not outcome.success and outcome.interrupted:
        raise _fail("Interrupted; serving.duckdb was left as it was.", EXIT_INTERRUPTED)
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


def _print_scorecard(settings: Settings, as_of: date | None = None) -> None:
    from crm_kpi.scorecard import render
    from warehouse.queries import ServingFileMissingError
    from warehouse.scorecard import NotMeasuredError, scorecard

    try:
        card = scorecard(settings.serving_db, as_of)
    except (NotMeasuredError, ServingFileMissingError) as exc:
        raise _fail(str(exc), EXIT_FAILED) from None
    render(card, out)


def _built_warehouse(settings: Settings) -> tuple[date, tuple[str, ...]]:
    from warehouse.run_context import warehouse_state

    state = warehouse_state(settings)
    if state is None:
        raise _fail(
            f"No marts in {settings.data_dir} yet: run `crm-kpi run` (or `crm-kpi demo`) first.",
            EXIT_USAGE,
        )
    return state


def _check_objectives_file(settings: Settings) -> None:
    """Validate objectives.yml before anything runs: a bad file changes nothing."""
    from objectives import ObjectivesFileError, read_objectives

    try:
        read_objectives(settings)
    except ObjectivesFileError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def demo(
    deals: Annotated[int, typer.Option(help="Number of deals of the demo CRM.", min=100)] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the demo CRM (same seed, same CRM).")] = 42,
    as_of: AsOf = None,
    strict_alerts: StrictAlerts = False,
    verbose: Verbose = False,
) -> None:
    """Generate the demo CRM, run the whole pipeline on it and print the KPIs."""
    settings = _settings(pipeline=True)
    if settings.objectives_path is None:
        # The shipped example objectives are written for the demo CRM.
        settings = dataclasses.replace(settings, objectives_path=PROJECT_ROOT / "objectives.yml")
    day = _as_of(as_of, settings)
    _check_objectives_file(settings)
    overrides = {"demo": {"deals": deals, "seed": seed, "as_of": day.isoformat()}}
    with _locked(settings, verbose):
        code = _report(settings, _execute(settings, ("demo",), day, overrides), strict_alerts)
    _print_kpis(settings)
    _print_scorecard(settings)
    raise typer.Exit(code)


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

    settings = _settings(pipeline=True)
    try:
        sources = enabled_sources(tuple(source or ()) or settings.sources)
        for name in sources:
            build_source(name)
    except (UnknownSourceError, SourceNotConfiguredError) as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if not sources:
        raise _fail(
            "No source is configured. Set SOURCES__FILES__PATH to a folder of CRM export files "
            "(see README and docs/crm-model.md), a CRM token such as SOURCES__HUBSPOT__API_KEY, "
            "or try `crm-kpi demo`.",
            EXIT_USAGE,
        )
    day = _as_of(as_of, settings)
    _check_objectives_file(settings)
    with _locked(settings, verbose):
        code = _report(
            settings, _execute(settings, sources, day, full_refresh=full_refresh), strict_alerts
        )
    raise typer.Exit(code)


@app.command()
def status(as_of: AsOf = None) -> None:
    """The objective scorecard: each objective's actual, expected, pace and status, and
    every week or month of an objective set per week or month."""
    settings = _settings()
    _print_scorecard(settings, _as_of(as_of, settings) if as_of else None)


@app.command()
def doctor() -> None:
    """Which credentials are set and where (never their values); unsafe secrets files."""
    from crm_kpi.doctor import run_doctor

    raise typer.Exit(run_doctor(out))


@app.command()
def objectives(
    as_of: AsOf = None, strict_alerts: StrictAlerts = False, verbose: Verbose = False
) -> None:
    """Measure the objectives again after objectives.yml changed, without loading the CRM."""
    from orchestration.runs import run_objectives

    settings = _settings(pipeline=True)
    day = _as_of(as_of, settings) if as_of else None
    _check_objectives_file(settings)
    with _locked(settings, verbose):
        built_as_of, sources = _built_warehouse(settings)
        day = day or built_as_of
        if day > built_as_of:
            raise _fail(
                f"The marts hold data up to {built_as_of}: run `crm-kpi run --as-of {day}` to "
                "measure objectives as of a later day.",
                EXIT_USAGE,
            )
        code = _report(settings, run_objectives(settings, sources, day), strict_alerts)
    _print_scorecard(settings, day)
    raise typer.Exit(code)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")],
    verbose: Verbose = False,
) -> None:
    """Fill objective_progress as of every day of a range, so a new objective shows its
    history at once (measured from the marts already built)."""
    from orchestration.runs import run_objectives

    settings = _settings(pipeline=True)
    first, last = _as_of(start, settings, "--from"), _as_of(end, settings, "--to")
    if first > last:
        raise _fail(f"--from {first} is after --to {last}.", EXIT_USAGE)
    _check_objectives_file(settings)
    with _locked(settings, verbose):
        built_as_of, sources = _built_warehouse(settings)
        if last > built_as_of:
            raise _fail(
                f"The marts hold data up to {built_as_of}: --to must not be later (run "
                "`crm-kpi run` first).",
                EXIT_USAGE,
            )
        _report(settings, run_objectives(settings, sources, first, last))
    err.print(f"Objective progress measured as of {first} through {last}.")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run read-only on serving.duckdb.")],
    fmt: Annotated[
        str, typer.Option("--format", help="table, csv or json.", case_sensitive=False)
    ] = "table",
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds after which the query is stopped (0: never).", min=0
        ),
    ] = 60.0,
) -> None:
    """Run read-only SQL on the marts (schema `marts` of serving.duckdb)."""
    from warehouse.queries import QueryError, ServingFileMissingError, run_query

    fmt = fmt.lower()
    if fmt not in ("table", "csv", "json"):
        raise _fail(f"--format {fmt!r}: use table, csv or json.", EXIT_USAGE)
    settings = _settings()
    try:
        result = run_query(settings.serving_db, sql, timeout_s=timeout or None)
    except (QueryError, ServingFileMissingError) as exc:
        raise _fail(str(exc), EXIT_FAILED) from None
    if result.statements > 1:
        err.print(
            f"Note: {result.statements} statements were run; only the last one's result is shown.",
            style="yellow",
        )
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif fmt == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        json.dump(rows, sys.stdout, default=str, indent=2)
        sys.stdout.write("\n")
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
        err.print(f"{len(result.rows)} row(s)")


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
    from core.run_lock import RunLockBusyError, holder
    from warehouse.report import ReportError
    from warehouse.report.dbt_docs import generate_docs

    settings = _settings()
    running = holder(settings.data_dir)
    if running is not None:
        # dbt reads the build file, which the run holds: wait for it rather than fail in dbt.
        raise _fail(str(RunLockBusyError(settings.data_dir, running)), EXIT_BUSY)
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
    settings = _settings(pipeline=True)
    # The definitions are loaded by `dagster dev`'s code server: check them here, where a
    # mistake reaches the person who started the UI.
    from ingestion.registry import enabled_sources

    if not enabled_sources(settings.sources):
        raise _fail(
            "No source is configured for the nightly refresh: set SOURCES__FILES__PATH to a "
            "folder of CRM export files (see README), or a CRM token such as "
            "SOURCES__HUBSPOT__API_KEY.",
            EXIT_USAGE,
        )
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
    raise typer.Exit(_serve(command, env))


def _serve(command: list[str], env: dict[str, str], grace_s: float = 30.0) -> int:
    """Run `dagster dev` until it ends or this process is told to stop (SIGTERM, SIGINT,
    SIGHUP); then stop it and every server it started, its whole process group. Killed
    outright, this process takes `dagster dev` with it (a parent-death signal)."""
    from core.children import preexec_die_with_parent

    process = subprocess.Popen(
        command,
        env=env,
        cwd=PROJECT_ROOT,
        start_new_session=True,  # its own process group: the webserver, daemon, code server
        preexec_fn=preexec_die_with_parent(signal.SIGTERM),
    )
    stopping: list[float] = []  # when a stop was asked for

    def _stop(_signum: int, _frame: object) -> None:
        stopping.append(time.monotonic())
        _signal_group(process.pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    while True:
        try:
            code = process.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stopping and time.monotonic() > stopping[0] + grace_s:
                _signal_group(process.pid, signal.SIGKILL)
    if not stopping:
        _signal_group(process.pid, signal.SIGTERM)  # it ended alone: so do its servers
        return code
    # The servers it started stop on their own; whatever outlives the grace is killed.
    while _signal_group(process.pid, 0) and time.monotonic() < stopping[0] + grace_s:
        time.sleep(0.2)
    _signal_group(process.pid, signal.SIGKILL)
    err.print("Dagster UI stopped.")
    return 0


def _signal_group(group: int, signum: int) -> bool:
    """Send `signum` to a process group; False when no process of it is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    app()
