"""The MetricFlow semantic layer gives the numbers of marts.kpi_values.

`mf query` runs for real, as an analyst runs it (see docs/bi.md): on a copy of the dbt
project (MetricFlow reads `<project>/target/semantic_manifest.json`, so the copy keeps
the checkout clean) and on a copy of the demo build file. The demo warehouse has its
reporting timezone west of UTC and a fiscal year starting in April, so local dates and
fiscal quarters are both exercised.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from core.dbt import dbt_executable
from tests.conftest import ROOT
from tests.report.conftest import DemoWarehouse
from tests.utils import query

MF = str(Path(sys.executable).with_name("mf"))
METRICS = (
    "win_rate",
    "won_revenue",
    "won_deals",
    "lost_deals",
    "avg_deal_size",
    "sales_cycle_days",
    "deals_created",
    "pipeline_value",
    "weighted_pipeline_value",
    "gross_margin",
    "margin_rate",
)


@pytest.fixture(scope="module")
def semantic_project(
    demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    if not Path(MF).exists():
        pytest.fail("mf is not installed: add dbt-metricflow[dbt-duckdb] to the dependencies")
    root = tmp_path_factory.mktemp("semantic")
    project = root / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    build = root / "build.duckdb"
    shutil.copyfile(demo_warehouse.build, build)
    env = {
        **demo_warehouse.env(),
        "CRM_KPI_BUILD_DB": str(build),
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [dbt_executable(), "parse", "--vars", '{"crm_sources": ["demo"]}', "--quiet"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "target" / "semantic_manifest.json").exists()
    return project, env


def mf_query(
    project: tuple[Path, dict[str, str]], metrics: tuple[str, ...], group_by: str
) -> dict[date, dict[str, float | None]]:
    """`mf query ... --csv`: {period start: {metric: value}}."""
    folder, env = project
    out = folder / f"mf-{group_by}.csv"
    result = subprocess.run(
        [MF, "query", "--metrics", ",".join(metrics), "--group-by", group_by, "--csv", str(out)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    if "Required var 'crm_sources' not found" in output:
        pytest.fail(
            "mf cannot load dbt_project/dbt_project.yml: mf runs `dbt debug`, which renders "
            "the project's `sources:` block with no --vars, and var('crm_sources') has no "
            "default there. Write var('crm_sources', []) in dbt_project.yml."
        )
    assert result.returncode == 0 and out.exists(), output
    rows: dict[date, dict[str, float | None]] = {}
    with out.open(newline="") as handle:
        for row in csv.DictReader(handle):
            period = row.pop(group_by)
            if not period:
                continue
            start = datetime.fromisoformat(period).date()
            rows[start] = {m: (float(v) if v not in ("", None) else None) for m, v in row.items()}
    return rows


def kpis(warehouse: DemoWarehouse, grain: str) -> dict[date, dict[str, float | None]]:
    rows = query(
        warehouse.serving,
        """
        SELECT period_start, metric, value, denominator FROM marts.kpi_values
        WHERE grain = ? AND scope_type = 'company' AND metric IN (SELECT unnest(?::VARCHAR[]))
        """,
        [grain, list(METRICS)],
    )
    table: dict[date, dict[str, float | None]] = {}
    for start, metric, value, _ in rows:
        table.setdefault(start, {})[metric] = value
    return table


def assert_same(
    mf: dict[date, dict[str, float | None]],
    marts: dict[date, dict[str, float | None]],
    metrics: tuple[str, ...],
) -> None:
    # Every period of kpi_values, empty ones included (0 for counts and sums, null for
    # ratios and medians), and no other.
    assert set(mf) == set(marts)
    for start, values in marts.items():
        for metric in metrics:
            expected, got = values[metric], mf[start][metric]
            if expected is None:
                assert got is None, (start, metric, got)
            else:
                assert got == pytest.approx(expected, rel=1e-9, abs=0.005), (start, metric)


def test_monthly_metrics_equal_kpi_values(
    semantic_project: tuple[Path, dict[str, str]], demo_warehouse: DemoWarehouse
) -> None:
    mf = mf_query(semantic_project, METRICS, "metric_time__month")
    marts = kpis(demo_warehouse, "month")
    # Every month from the first deal to the one holding as_of.
    assert len(marts) >= 12 and max(marts) == date(2026, 10, 1)
    assert sum(1 for v in mf.values() if v["won_revenue"]) >= 12
    assert_same(mf, marts, METRICS)


def test_fiscal_quarters_and_weeks_equal_kpi_values(
    semantic_project: tuple[Path, dict[str, str]], demo_warehouse: DemoWarehouse
) -> None:
    metrics = ("win_rate", "won_revenue", "pipeline_value")
    quarters = mf_query(semantic_project, metrics, "metric_time__fiscal_quarter")
    marts = kpis(demo_warehouse, "quarter")
    # The fiscal year starts in April: quarters start in January, April, July, October.
    assert {q.month for q in marts} <= {1, 4, 7, 10} and date(2026, 10, 1) in marts
    assert_same(quarters, marts, metrics)
    weeks = mf_query(semantic_project, ("win_rate", "won_revenue"), "metric_time__week")
    assert all(w.weekday() == 0 for w in weeks)
    assert_same(weeks, kpis(demo_warehouse, "week"), ("win_rate", "won_revenue"))
