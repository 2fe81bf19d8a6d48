"""The demo CRM's owners have e-mail addresses; none reaches any column of the marts that
analysts and BI tools read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils import query, run_cli

pytestmark = pytest.mark.slow  # runs the pipeline

# Checked by DuckDB itself, independently of the expectations package.
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"


def text_columns(path: Path) -> list[tuple[str, str]]:
    return query(
        path,
        """
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'marts'
          AND (data_type LIKE 'VARCHAR%' OR data_type LIKE '%[]' OR data_type LIKE 'STRUCT%')
        ORDER BY 1, 2
        """,
    )


def test_no_email_address_in_any_marts_column_of_the_demo(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    done = run_cli(
        "demo", "--deals", "300", "--as-of", "2026-07-15", env={"CRM_KPI_DATA_DIR": str(data_dir)}
    )
    assert done.returncode == 0, done.stderr
    build, serving = data_dir / "build.duckdb", data_dir / "serving.duckdb"

    # The premise: the CRM did hand over addresses.
    addresses = query(
        build, "SELECT count(*) FROM raw_demo.owners WHERE regexp_matches(email, ?)", [EMAIL]
    )[0][0]
    assert addresses > 0

    columns = text_columns(serving)
    assert ("dim_owners", "name") in columns and ("kpi_values", "scope_value") in columns
    found = {}
    for table, column in columns:
        hits = query(
            serving,
            f'SELECT count(*) FROM marts."{table}" '
            f'WHERE regexp_matches(CAST("{column}" AS VARCHAR), ?)',
            [EMAIL],
        )[0][0]
        if hits:
            found[f"{table}.{column}"] = hits
    assert found == {}
