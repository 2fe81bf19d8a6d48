"""`crm-kpi query`, `export`, `report` and `docs`: reading the published marts (and dbt's
documentation of them), without running the pipeline."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from crm_kpi.app import EXIT_BUSY, EXIT_FAILED, EXIT_USAGE, err, fail, out
from crm_kpi.context import load_settings, parse_as_of


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
        raise fail(f"--format {fmt!r}: use table, csv or json.", EXIT_USAGE)
    settings = load_settings()
    try:
        result = run_query(settings.serving_db, sql, timeout_s=timeout or None)
    except (QueryError, ServingFileMissingError) as exc:
        raise fail(str(exc), EXIT_FAILED) from None
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
        # Text, not str: a value or a column name such as '[/red]' is data, not markup.
        table = Table()
        for column in result.columns:
            table.add_column(Text(column))
        for row in result.rows:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        out.print(table)
        err.print(f"{len(result.rows)} row(s)")


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

    settings = load_settings()
    try:
        paths = export_parquet(settings.serving_db, parquet)
    except ServingFileMissingError as exc:
        err.print(Text(str(exc), style="red"), highlight=False)
        raise typer.Exit(1) from None
    except (OSError, duckdb.Error) as exc:
        err.print(
            Text.assemble((f"Could not export to {parquet}:", "red"), f" {exc}"), highlight=False
        )
        raise typer.Exit(1) from None
    for path in paths:
        # Plain text, one file per line: easy to read and to pipe into another tool.
        sys.stdout.write(f"{path}\t{pq.read_metadata(path).num_rows} rows\n")
    err.print(f"{len(paths)} table(s) exported from {settings.serving_db}")


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

    settings = load_settings()
    day = parse_as_of(as_of, settings) if as_of else None
    try:
        path = build_report(settings.serving_db, out_file, day, png)
    except (ServingFileMissingError, ReportError) as exc:
        err.print(Text(str(exc), style="red"), highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(Text.assemble(("Could not write the report:", "red"), f" {exc}"), highlight=False)
        raise typer.Exit(1) from None
    err.print(f"Wrote {path.resolve()}" + (f" and the charts as PNG in {png}" if png else ""))


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

    settings = load_settings()
    running = holder(settings.data_dir)
    if running is not None:
        # dbt reads the build file, which the run holds: wait for it rather than fail in dbt.
        raise fail(str(RunLockBusyError(settings.data_dir, running)), EXIT_BUSY)
    try:
        page = generate_docs(settings, out_dir or settings.data_dir / "docs")
    except ReportError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    err.print(f"Wrote {page.resolve()} (open it in a browser; no server needed)")
