"""`crm-kpi export --parquet DIR` and warehouse.export: one Parquet file per marts table,
with every row, written under a temporary name and renamed into place."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.utils import query, run_cli
from warehouse.export import export_parquet
from warehouse.queries import ServingFileMissingError


@pytest.mark.slow  # runs the pipeline
def test_the_export_command_writes_every_marts_table(small_serving: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    done = run_cli(
        "export", "--parquet", str(out), env={"CRM_KPI_DATA_DIR": str(small_serving.parent)}
    )
    assert done.returncode == 0, done.stderr

    tables = query(
        small_serving,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1",
    )
    assert {"kpi_values", "fct_opportunities", "dim_accounts", "dim_owners"} <= {
        t for (t,) in tables
    }
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for (t,) in tables)
    for (table,) in tables:
        path = out / f"{table}.parquet"
        expected = query(small_serving, f"SELECT count(*) FROM marts.{table}")[0][0]
        assert pq.read_metadata(path).num_rows == expected, table
        assert f"{path}\t{expected} rows" in done.stdout
    # Values survive the trip: the same won revenue as the serving file.
    revenue = "SELECT sum(value) FROM {} WHERE metric = 'won_revenue' AND grain = 'month'"
    assert query(small_serving, revenue.format(f"'{out}/kpi_values.parquet'")) == query(
        small_serving, revenue.format("marts.kpi_values")
    )


def test_the_export_command_without_a_serving_file_says_what_to_do(tmp_path: Path) -> None:
    done = run_cli(
        "export", "--parquet", str(tmp_path / "out"), env={"CRM_KPI_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode == 1
    assert "does not exist yet: run the pipeline first" in " ".join(done.stderr.split())


def make_serving(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA extra")
        con.execute(
            "CREATE TABLE marts.kpi_values AS SELECT range AS n, (range * 1.5)::DECIMAL(18,2) "
            "AS amount, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS at FROM range(2500)"
        )
        con.execute('CREATE TABLE marts."odd ""name""" AS SELECT 1 AS x')
        con.execute("CREATE TABLE extra.notes AS SELECT 'a' AS note")
    finally:
        con.close()
    return path


def test_export_parquet_names_files_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    serving = make_serving(tmp_path / "serving.duckdb")
    modified = serving.stat().st_mtime_ns
    out = tmp_path / "out"
    out.mkdir()
    (out / "kpi_values.parquet").write_text("an older export")

    paths = export_parquet(serving, out)

    # Marts tables by their name; a table of another schema with the schema in front.
    assert [p.name for p in paths] == [
        "extra.notes.parquet",
        "kpi_values.parquet",
        'odd "name".parquet',
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    table = pq.read_table(out / "kpi_values.parquet")
    assert table.num_rows == 2500
    assert str(table.schema.field("amount").type) == "decimal128(18, 2)"
    assert serving.stat().st_mtime_ns == modified  # read-only: the file is untouched


def test_export_parquet_while_a_reader_holds_the_file(tmp_path: Path) -> None:
    serving = make_serving(tmp_path / "serving.duckdb")
    reader = duckdb.connect(str(serving), read_only=True)
    try:
        paths = export_parquet(serving, tmp_path / "out")
        assert reader.execute("SELECT count(*) FROM marts.kpi_values").fetchone() == (2500,)
    finally:
        reader.close()
    assert len(paths) == 3


def test_export_parquet_without_a_serving_file(tmp_path: Path) -> None:
    with pytest.raises(ServingFileMissingError):
        export_parquet(tmp_path / "serving.duckdb", tmp_path / "out")
    assert not (tmp_path / "out").exists()
