"""The raw limit: DuckDB alone, running the SQL that dbt compiled, with nothing around it.

From the dbt target folder of a pipeline run (`<data_dir>/dbt_target/<sources>/`):
`manifest.json` gives the models, their materializations and dependencies, and
`compiled/` the SQL dbt ran. Into a fresh DuckDB file named `build.duckdb` (the
compiled SQL names its tables `"build"."<schema>"."<table>"`):

1. the export files are read with `read_csv`/`read_parquet` into typed `raw_files.*`
   tables (the files contract's types: what the dlt load produces, without checks);
2. this run's settings and objectives (`raw_run.*`, `raw_objectives.*`, a few rows) are
   copied from the run's build file, untimed;
3. every model runs in dependency order as `CREATE VIEW` or `CREATE TABLE ... AS`
   (incremental models built whole, as on a first run);
4. every data test runs as dbt runs it, `SELECT count(*) FROM (<test SQL>)`, and must
   find no failing row: the direct build is then the same warehouse as dbt's.

Steps 1 and 3 are `raw_limit_s`; steps 3 and 4 are what `dbt build` executes on the data
(`direct_sql_s`), so their time is the denominator of `dbt_vs_direct_sql`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import pyarrow as pa

from bench.dbt_artifacts import model_parents, read_manifest
from bench.errors import BenchError
from core.db import connect
from ingestion.files.contract import ENTITIES
from ingestion.files.reader import find_file

SETTINGS_SCHEMAS = ("raw_run", "raw_objectives")


class DirectSqlError(BenchError):
    """The compiled SQL could not be replayed; the message names the node."""


@dataclass(frozen=True)
class Node:
    unique_id: str
    name: str
    kind: str  # model | test
    materialized: str  # view | table | incremental | ephemeral | test
    relation: str | None
    sql: str


@dataclass
class DirectResult:
    load_s: float = 0.0
    models_s: float = 0.0
    tests_s: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)
    tests_run: int = 0
    failing_tests: list[str] = field(default_factory=list)

    @property
    def raw_limit_s(self) -> float:
        return self.load_s + self.models_s

    @property
    def direct_sql_s(self) -> float:
        return self.models_s + self.tests_s


def _sql_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_integer(t):
        return "INTEGER"
    if pa.types.is_string(t):
        return "VARCHAR"
    raise TypeError(f"no DuckDB type for {t}")  # a contract type this module does not know


def _compiled_sql(node: dict, target: Path) -> str:
    path = Path(node.get("compiled_path") or "")
    if not path.is_absolute():
        path = target / "compiled" / node["package_name"] / node["original_file_path"]
    if not path.is_file():
        raise DirectSqlError(
            f"{node['unique_id']}: no compiled SQL at {path}; the target folder must be that "
            "of a completed `dbt build` (run the pipeline first)"
        )
    return path.read_text().strip().rstrip(";")


def load_graph(target: Path) -> tuple[list[Node], list[Node]]:
    """The models in dependency order and the data tests, from a dbt target folder."""
    manifest = read_manifest(target)
    nodes = manifest["nodes"]
    ordered = []
    for key in TopologicalSorter(model_parents(manifest)).static_order():
        n = nodes[key]
        materialized = n["config"]["materialized"]
        if materialized == "ephemeral":
            continue  # inlined as a CTE in the SQL of the models using it
        ordered.append(
            Node(
                key, n["name"], "model", materialized, n["relation_name"], _compiled_sql(n, target)
            )
        )
    tests = [
        Node(k, n["name"], "test", "test", None, _compiled_sql(n, target))
        for k, n in sorted(nodes.items())
        if n["resource_type"] == "test"
    ]
    return ordered, tests


def load_raw_files(con: duckdb.DuckDBPyConnection, folder: Path, source: str = "files") -> None:
    """Each export file into `raw_<source>.<entity>`, typed as the files contract says."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS raw_{source}")
    for entity in ENTITIES.values():
        path = find_file(folder, entity.name)
        columns = {c.name: _sql_type(c.type) for c in entity.columns}
        if path is None:
            # an optional file the export lacks: the table exists, empty, as dlt makes it
            spec = ", ".join(f'"{c}" {t}' for c, t in columns.items())
            con.execute(f"CREATE TABLE raw_{source}.{entity.name} ({spec})")
            continue
        if path.name.endswith(".parquet"):
            reader = f"read_parquet('{path}')"
            present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
        else:
            header = con.execute(
                f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true) LIMIT 0"
            ).description
            present = {d[0] for d in header}
            types = ", ".join(f"'{c}': '{columns.get(c, 'VARCHAR')}'" for c in present)
            # `types` keyed by name, so the file's column order does not matter
            reader = f"read_csv('{path}', header = true, types = {{{types}}})"
        select = ", ".join(
            f'CAST("{c}" AS {t}) AS "{c}"' if c in present else f'CAST(NULL AS {t}) AS "{c}"'
            for c, t in columns.items()
        )
        con.execute(f"CREATE TABLE raw_{source}.{entity.name} AS SELECT {select} FROM {reader}")


def copy_settings(con: duckdb.DuckDBPyConnection, run_build_db: Path) -> None:
    """This run's settings and objectives, a few rows, from the pipeline's build file."""
    con.execute(f"ATTACH '{run_build_db}' AS pipeline_run (READ_ONLY)")
    try:
        for schema in SETTINGS_SCHEMAS:
            tables = con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = 'pipeline_run' AND table_schema = ?",
                [schema],
            ).fetchall()
            con.execute(f"CREATE SCHEMA IF NOT EXISTS build.{schema}")
            for (table,) in tables:
                con.execute(
                    f'CREATE TABLE build.{schema}."{table}" AS '
                    f'SELECT * FROM pipeline_run.{schema}."{table}"'
                )
    finally:
        con.execute("DETACH pipeline_run")


def run_direct(
    target: Path, export_folder: Path, run_build_db: Path, workdir: Path
) -> DirectResult:
    """Replay the compiled SQL of `target` on `export_folder` in a fresh DuckDB file."""
    models, tests = load_graph(target)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "build.duckdb"  # the catalog name the compiled SQL uses
    for stale in (db, workdir / "build.duckdb.wal"):
        stale.unlink(missing_ok=True)
    result = DirectResult()
    con = connect(db)
    try:
        con.execute("SET enable_progress_bar = false")
        copy_settings(con, run_build_db)

        started = time.perf_counter()
        load_raw_files(con, export_folder)
        con.execute("CHECKPOINT")  # dbt reads tables the load committed to the file
        result.load_s = time.perf_counter() - started

        schemas = {m.relation.rsplit(".", 1)[0] for m in models if m.relation}
        for schema in sorted(schemas):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for model in models:
            kind = "VIEW" if model.materialized == "view" else "TABLE"
            started = time.perf_counter()
            try:
                con.execute(f"CREATE {kind} {model.relation} AS {model.sql}")
            except duckdb.Error as exc:
                raise DirectSqlError(f"{model.unique_id}: {exc}") from exc
            took = time.perf_counter() - started
            result.model_seconds[model.name] = took
            result.models_s += took

        started = time.perf_counter()
        for test in tests:
            try:
                failures = con.execute(
                    f"SELECT count(*) FROM ({test.sql}) AS dbt_internal_test"
                ).fetchone()[0]
            except duckdb.Error as exc:
                raise DirectSqlError(f"{test.unique_id}: {exc}") from exc
            result.tests_run += 1
            if failures:
                result.failing_tests.append(f"{test.name} ({failures} rows)")
        result.tests_s = time.perf_counter() - started
    finally:
        con.close()
    return result
