"""Every row of marts.kpi_values for complete periods equals an independent pandas
implementation of DESIGN.md's definitions (tests/reference/kpis.py, no shared code),
computed from the same demo CRM export. Zero differences allowed."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
import pytest

from ingestion.demo.export import write_files
from ingestion.demo.generator import DemoConfig
from ingestion.files.contract import ENTITIES
from tests.reference.kpis import METRICS, compute_kpis
from tests.utils import query, run_cli

AS_OF = date(2026, 6, 30)
KEY = ["metric", "grain", "period_start", "scope_type", "scope_value"]


def read_export(folder: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name, entity in ENTITIES.items():
        path = folder / f"{name}.csv"
        if path.exists():
            options = pacsv.ConvertOptions(column_types=entity.schema, strings_can_be_null=True)
            tables[name] = pacsv.read_csv(path, convert_options=options).to_pandas()
    return tables


def close(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(("timezone", "fiscal_year_start"), [("UTC", 1), ("America/New_York", 4)])
def test_every_complete_kpi_row_matches_the_reference(
    tmp_path: Path, timezone: str, fiscal_year_start: int
) -> None:
    export = tmp_path / "export"
    write_files(DemoConfig(deals=1500, seed=11, as_of=AS_OF, years=2), export)
    result = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        AS_OF.isoformat(),
        env={
            "SOURCES__FILES__PATH": str(export),
            "CRM_KPI_TIMEZONE": timezone,
            "CRM_KPI_FISCAL_YEAR_START": str(fiscal_year_start),
            "CRM_KPI_GROSS_MARGIN": "0.8",
        },
    )
    assert result.returncode == 0, result.stderr

    expected = compute_kpis(
        read_export(export),
        source="files",
        as_of=AS_OF,
        timezone=timezone,
        fiscal_year_start=fiscal_year_start,
        gross_margin=__import__("decimal").Decimal("0.8"),
    )
    expected = expected[expected["is_complete"]]

    serving = tmp_path / "data" / "serving.duckdb"
    columns = [*KEY, "value", "numerator", "denominator", "unit", "is_complete", "as_of"]
    actual = pd.DataFrame(
        query(serving, f"SELECT {', '.join(columns)} FROM marts.kpi_values WHERE is_complete"),
        columns=columns,
    )

    merged = expected.merge(actual, on=KEY, how="outer", suffixes=("_ref", "_sql"), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"rows on one side only:\n{missing[KEY + ['_merge']].head(20)}"

    differences = []
    for row in merged.itertuples(index=False):
        for column in ("value", "numerator", "denominator"):
            ref, sql = getattr(row, f"{column}_ref"), getattr(row, f"{column}_sql")
            if not close(ref, sql):
                differences.append(
                    (
                        row.metric,
                        row.grain,
                        row.period_start,
                        row.scope_type,
                        row.scope_value,
                        column,
                        ref,
                        sql,
                    )
                )
        if row.unit_ref != row.unit_sql:
            differences.append(
                (row.metric, row.grain, row.period_start, "unit", row.unit_ref, row.unit_sql)
            )
    assert not differences, f"{len(differences)} differences, first ones:\n" + "\n".join(
        map(str, differences[:25])
    )
    # The comparison covered every metric at every grain.
    # The comparison covered every metric of the reference at every grain: DESIGN.md's
    # and those of docs/metrics.md's "Margin, customers and shares".
    assert set(actual["metric"]) == set(METRICS)
    assert {"gross_margin", "repeat_purchase_rate", "customer_tenure_days"} <= set(METRICS)
    assert "channel" in set(actual["scope_type"])
    assert set(actual["grain"]) == {"day", "week", "month", "quarter", "year"}
