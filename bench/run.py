"""`make bench`: crm-kpi at a million deals, as figures and as ratios against raw limits.

    python bench/run.py --deals 1000000 [--runs 3] [--out bench/results.json]

Generates the demo CRM (as CSV and Parquet exports, and as a fake HubSpot API on
127.0.0.1), then measures, each run in a new process as a person would start it:

- the files source end to end (`crm-kpi run --source files`) on CSV and on Parquet,
  beside DuckDB alone reading the same files and running dbt's compiled SQL, and beside a
  pandas script computing the same KPIs from the same raw tables;
- the HubSpot connector: fetching and parsing its pages only, a first full run, and
  the next run after 1 % of the deals changed;
- `crm-kpi demo` at its default size.

Each measurement is the median of `--runs` runs, except one whose first run takes more
than `--long-run-s` (a single run that long is little moved by noise, and repeating it
would not fit the 30-minute budget at a million deals): `details.runs` says how many
each figure had. Ratios are taken run by run between measurements made side by side,
then their median, because the machine is shared and absolute times drift with its load.

Prints one table and writes `{"figures", "ratios", "machine", "goals", "details"}` to
`--out`. docs/performance.md explains every figure and records a run.

This module orders the measurements; the files runs are in bench/files_runs.py, the HubSpot
runs in bench/connector.py, and bench/figures.py turns them into the record.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first on the path, not ROOT
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.cli_run import CliRun, clean_env, run_cli  # noqa: E402
from bench.connector import run_connector  # noqa: E402
from bench.errors import BenchError  # noqa: E402
from bench.figures import record  # noqa: E402
from bench.files_runs import OBJECTIVES, files_iteration, log, repeated, write_exports  # noqa: E402
from bench.machine import load_average, machine_info  # noqa: E402

DEFAULT_AS_OF = date(2026, 10, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000, help="deals of the demo CRM")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument(
        "--long-run-s",
        type=float,
        default=120.0,
        help="a measurement whose first run (with what is measured beside it) takes longer "
        "is not repeated",
    )
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    args = parser.parse_args(argv)
    check_arguments(parser, args)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="crm-kpi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    started = time.perf_counter()
    log(f"crm-kpi benchmark: {args.deals:,} deals, as of {args.as_of}, work dir {work}")
    try:
        results = measure(args, work, machine)
    except BenchError as exc:
        print(f"benchmark failed: {exc}\n(work dir kept: {work})", file=sys.stderr)
        return 1
    machine["load_average_end"] = load_average()
    machine["bench_s"] = round(time.perf_counter() - started, 1)
    print()
    print(report.table(results))
    try:
        report.write(results, args.out)
    except OSError as exc:
        print(f"\ncould not write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"\n{args.out} written; the whole benchmark took {machine['bench_s']:.0f} s.")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse before measuring what would fail or mislead after half an hour of it."""
    from ingestion.demo.generator import MAX_DEALS, MIN_DEALS

    if not MIN_DEALS <= args.deals <= MAX_DEALS:
        parser.error(f"--deals must be from {MIN_DEALS:,} to {MAX_DEALS:,} (the demo CRM's range)")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be 0 or more")
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        # a data dir left from an earlier benchmark would make the "first" connector run
        # incremental and the demo runs not fresh: figures wrong without any error
        parser.error(f"--workdir {args.workdir} is not empty: give a new or empty folder")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder: give the path of the JSON file to write")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a"):
            pass
    except OSError as exc:
        parser.error(f"--out {args.out} cannot be written: {exc.strerror}")


def measure(args: argparse.Namespace, work: Path, machine: dict[str, Any]) -> dict[str, Any]:
    runs, long_s = args.runs, args.long_run_s
    log("exports of the demo CRM")
    exports = write_exports(args.deals, args.seed, args.as_of, work)

    log("files source, CSV, beside DuckDB alone and a pandas script")
    csv = repeated(
        runs,
        long_s,
        lambda i: files_iteration("csv", i, work, exports["csv"], args.as_of, True),
        lambda it: it.seconds,
    )
    log("files source, Parquet, beside DuckDB alone")
    parquet = repeated(
        runs,
        long_s,
        lambda i: files_iteration("parquet", i, work, exports["parquet"], args.as_of, False),
        lambda it: it.seconds,
    )

    log("HubSpot connector from the fake API")
    hubspot = run_connector(
        args.deals, args.seed, args.as_of, work, OBJECTIVES, runs, log=log, long_run_s=long_s
    )

    log("crm-kpi demo at its default size, in a fresh data dir each time")

    def demo_run(i: int) -> CliRun:
        env = clean_env({"CRM_KPI_DATA_DIR": str(work / f"demo-{i}" / "data")})
        run = run_cli(["demo"], env, work, work / "logs" / f"demo-{i}.log")
        log(f"  demo run {i}: {run.seconds:.1f} s")
        return run

    demos = repeated(runs, long_s, demo_run, lambda r: r.seconds)

    return record(args.deals, csv, parquet, hubspot, demos, machine)


if __name__ == "__main__":
    sys.exit(main())
