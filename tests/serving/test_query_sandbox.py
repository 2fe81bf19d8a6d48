"""`crm-kpi query` reads the marts and nothing else: a write, a file read or write, an
attach or an attempt to turn file access back on is refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import query, run_cli

pytestmark = pytest.mark.slow  # runs the pipeline


def run_query(serving: Path, sql: str):
    return run_cli("query", sql, "--format", "csv", env={"CRM_KPI_DATA_DIR": str(serving.parent)})


def test_a_select_works(small_serving: Path) -> None:
    done = run_query(small_serving, "SELECT count(*) AS n FROM marts.fct_opportunities")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "14"]


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("CREATE TABLE marts.extra AS SELECT 1 AS x", "the serving file is read-only"),
        (
            "INSERT INTO marts.dim_owners (owner_id, name, team) VALUES ('x:1', 'Mallory', 'Red')",
            "the serving file is read-only",
        ),
        ("DELETE FROM marts.kpi_values", "the serving file is read-only"),
        ("SELECT * FROM read_csv('/etc/passwd')", "without access to files or the network"),
        ("SELECT * FROM read_text('/etc/hostname')", "without access to files or the network"),
        ("COPY marts.dim_owners TO '{out}/owners.csv'", "without access to files or the network"),
        ("ATTACH '{out}/other.duckdb' AS other", "without access to files or the network"),
        ("SET enable_external_access = true", "the configuration has been locked"),
        ("SET lock_configuration = false", "the configuration has been locked"),
    ],
    ids=[
        "create",
        "insert",
        "delete",
        "read_csv",
        "read_text",
        "copy to",
        "attach",
        "set external access",
        "unlock",
    ],
)
def test_a_query_that_writes_or_touches_files_is_refused(
    small_serving: Path, tmp_path: Path, sql: str, reason: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = query(small_serving, "SELECT count(*) FROM marts.kpi_values")

    done = run_query(small_serving, sql.format(out=out))

    assert done.returncode != 0
    message = " ".join(done.stderr.split())  # rich wraps long lines
    assert reason in message, message
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(out.iterdir()) == []  # nothing written, nothing attached
    assert query(small_serving, "SELECT count(*) FROM marts.kpi_values") == before
    tables = query(
        small_serving, "SELECT table_name FROM information_schema.tables WHERE table_name = 'extra'"
    )
    assert tables == []


def test_several_statements_show_the_last_and_say_so(small_serving: Path) -> None:
    done = run_query(small_serving, "SELECT 1 AS one; SELECT 2 AS two")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["two", "2"]
    assert "2 statements were run; only the last one's result is shown" in done.stderr
    single = run_query(small_serving, "SELECT 1 AS one")
    assert "statements were run" not in single.stderr


def test_a_query_running_past_its_timeout_is_stopped(small_serving: Path) -> None:
    done = run_cli(
        "query",
        "SELECT count(*) FROM range(1000000000000) a",
        "--timeout",
        "1",
        env={"CRM_KPI_DATA_DIR": str(small_serving.parent)},
        timeout=120,
    )
    assert done.returncode == 1
    assert "stopped after 1 s (--timeout)" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and done.stdout == ""
