"""The nightly run's report step, and `crm-kpi docs`."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import dagster as dg

from core.settings import Settings
from orchestration.lib.run_lock import RunLockResource
from orchestration.serving.report import REPORT_KEY, report_asset
from tests.report.conftest import DemoWarehouse
from tests.report.helpers import report_specs
from tests.utils import run_cli


def _materialize(data_dir: Path) -> tuple[dg.ExecuteInProcessResult, list[str]]:
    """Run the report step alone; its result and the messages it logged."""
    settings = dataclasses.replace(Settings(), data_dir=data_dir)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [report_asset(settings)],
        instance=instance,
        resources={"run_lock": RunLockResource(data_dir=str(data_dir))},
        raise_on_error=False,
    )
    return result, [entry.user_message for entry in instance.all_logs(result.run_id)]


def test_report_asset_writes_the_report_beside_the_serving_file(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(demo_warehouse.serving, data_dir / "serving.duckdb")
    result, _ = _materialize(data_dir)
    assert result.success
    [event] = result.get_asset_materialization_events()
    materialization = event.materialization
    assert materialization.asset_key == REPORT_KEY
    page = data_dir / "scorecard.html"
    assert materialization.metadata["path"].path == str(page)
    assert f"Objectives as of <strong>{demo_warehouse.as_of}</strong>" in page.read_text()
    assert "chart-objectives-attainment" in report_specs(page)


def test_a_report_failure_is_logged_and_the_run_stays_green(tmp_path: Path) -> None:
    result, messages = _materialize(tmp_path / "empty")
    assert result.success
    assert result.get_asset_materialization_events() == []
    [error] = [m for m in messages if "could not be written" in m]
    assert "serving.duckdb does not exist" in error and "crm-kpi report" in error
    assert not (tmp_path / "empty" / "scorecard.html").exists()


def test_cli_docs_writes_one_static_page(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    # dbt opens the build file to read its catalog: give it a copy, the demo is shared.
    data_dir = tmp_path / "data"
    shutil.copytree(demo_warehouse.data_dir, data_dir)
    out = tmp_path / "docs"
    env = {**demo_warehouse.env(), "CRM_KPI_DATA_DIR": str(data_dir)}
    result = run_cli("docs", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    page = out / "static_index.html"
    text = page.read_text(encoding="utf-8")
    # dbt's static page carries the manifest and the catalog inside it.
    for name in (
        "exposure.crm_kpi.scorecard_report",
        "exposure.crm_kpi.serving_marts_bi",
        "metric.crm_kpi.win_rate",
        "semantic_model.crm_kpi.opportunities",
        "model.crm_kpi.kpi_values",
    ):
        assert name in text, name
    assert not re.search(r"<script[^>]+src\s*=\s*[\"']https?:", text)


def test_cli_docs_needs_a_built_warehouse(tmp_path: Path) -> None:
    result = run_cli("docs", "--out", str(tmp_path / "docs"))
    assert result.returncode == 1
    assert "No marts in" in result.stderr and "crm-kpi run" in result.stderr
