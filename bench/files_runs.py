"""The files source's side of the benchmark: the demo CRM's exports, and one run of
`crm-kpi run --source files` with DuckDB alone and the pandas script measured beside it.

Separate from `bench/run.py`, which only orders the measurements and writes the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from bench import report
from bench.cli_run import ROOT, CliRun, clean_env, run_cli
from bench.dbt_artifacts import execution_seconds, model_parents, prepare_dbt, read_manifest
from bench.direct_sql import DirectResult, run_direct
from bench.errors import BenchError
from bench.pandas_kpis import compare, month_kpis, read_inputs

OBJECTIVES = ROOT / "objectives.yml"
T = TypeVar("T")


def log(message: str) -> None:
    """A line of progress, shown at once (the benchmark runs for half an hour)."""
    print(message, flush=True)


def repeated(
    runs: int, long_run_s: float, run: Callable[[int], T], seconds: Callable[[T], float]
) -> list[T]:
    """`run(1)`, then more up to `runs`, unless the first one was long."""
    results = [run(1)]
    if seconds(results[0]) <= long_run_s:
        results.extend(run(i) for i in range(2, runs + 1))
    return results


def write_exports(deals: int, seed: int, as_of: date, work: Path) -> dict[str, Path]:
    from ingestion.demo.export import write_files
    from ingestion.demo.generator import DemoConfig

    folders = {}
    for fmt in ("csv", "parquet"):
        started = time.perf_counter()
        folders[fmt] = work / f"export-{fmt}"
        write_files(DemoConfig(deals=deals, seed=seed, as_of=as_of), folders[fmt], fmt)
        size = sum(p.stat().st_size for p in folders[fmt].iterdir()) / 2**20
        log(f"  {fmt} export: {size:,.0f} MiB in {time.perf_counter() - started:.1f} s")
    return folders


def kpi_model_seconds(target: Path) -> tuple[float, float, dict[str, float]]:
    """dbt's execution seconds of the models kpi_values is built from (all of them, from
    the raw tables on), of the kpi_* models alone, and every model's."""
    manifest = read_manifest(target)
    parents = model_parents(manifest)
    names = {key: manifest["nodes"][key]["name"] for key in parents}
    seconds = execution_seconds(target)
    root = next(k for k, n in names.items() if n == "kpi_values")
    needed, todo = set(), [root]
    while todo:
        key = todo.pop()
        if key not in needed:
            needed.add(key)
            todo.extend(parents.get(key, []))
    upstream = sum(seconds.get(k, 0.0) for k in needed)
    kpis = sum(seconds.get(k, 0.0) for k, n in names.items() if n.startswith("kpi_"))
    per_model = {names[k]: round(v, 3) for k, v in seconds.items() if k in names}
    return upstream, kpis, per_model


@dataclass
class FilesIteration:
    """One run of the files source, with the raw limit and the pandas script beside it."""

    run: CliRun
    direct: DirectResult
    seconds: float = 0.0  # the iteration's wall time, what is measured beside the run included
    pandas_s: float | None = None
    kpi_marts_s: float | None = None
    kpi_models_s: float | None = None
    dbt_model_seconds: dict[str, float] | None = None
    pandas_rows: int | None = None


def files_iteration(
    fmt: str, i: int, work: Path, export: Path, as_of: date, with_pandas: bool
) -> FilesIteration:
    """Run `i` of the files source on the `fmt` export, DuckDB alone replaying dbt's SQL
    beside it and, `with_pandas`, the pandas script checked equal to the marts."""
    data_dir = work / f"files-{fmt}" / "data"
    env = clean_env(
        {
            "CRM_KPI_DATA_DIR": str(data_dir),
            "CRM_KPI_OBJECTIVES": str(OBJECTIVES),
            "SOURCES__FILES__PATH": str(export),
        }
    )
    target = prepare_dbt(data_dir, ("files",))
    started = time.perf_counter()
    run = run_cli(
        ["run", "--source", "files", "--as-of", as_of.isoformat()],
        env,
        work,
        work / "logs" / f"files-{fmt}-{i}.log",
    )
    direct = run_direct(target, export, data_dir / "build.duckdb", work / f"direct-{fmt}")
    if direct.failing_tests:
        raise BenchError(
            f"the compiled SQL replayed on {export} fails data tests that dbt passed: "
            + ", ".join(direct.failing_tests[:5])
        )
    iteration = FilesIteration(run, direct)
    log(
        f"  {fmt} run {i}: crm-kpi run {run.seconds:.1f} s (peak {run.peak_rss_mb:,.0f} MiB); "
        f"DuckDB alone {direct.raw_limit_s:.1f} s (read {direct.load_s:.1f} s + models "
        f"{direct.models_s:.1f} s), data tests {direct.tests_s:.1f} s"
    )
    if with_pandas:
        upstream, kpis, per_model = kpi_model_seconds(target)
        tables, settings = read_inputs(data_dir / "build.duckdb")
        pandas_started = time.perf_counter()
        result = month_kpis(tables, settings)
        pandas_s = time.perf_counter() - pandas_started
        check = compare(result, data_dir / "build.duckdb")
        if not check.same:
            raise BenchError(
                "the pandas script does not compute the marts' KPIs: "
                f"{check.missing_here} rows missing, {check.extra_here} extra, "
                f"{check.mismatches} different values; e.g. " + "; ".join(check.examples)
            )
        iteration.pandas_s, iteration.pandas_rows = pandas_s, check.rows
        iteration.kpi_marts_s, iteration.kpi_models_s = upstream, kpis
        iteration.dbt_model_seconds = per_model
        log(
            f"  {fmt} run {i}: pandas {pandas_s:.1f} s ({check.rows:,} rows, all equal to the "
            f"marts); dbt's KPI models {upstream:.1f} s"
        )
    iteration.seconds = time.perf_counter() - started
    return iteration


def median_of(
    items: list[FilesIteration], get: Callable[[FilesIteration], float | None]
) -> float | None:
    """The median of `get` over the iterations, leaving out those without the figure."""
    return report.median([get(item) for item in items])
