"""The scorecard report file: self-contained, one chart per section, numbers from the marts."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

from tests.report.conftest import DemoWarehouse
from tests.report.helpers import data_urls, report_specs, spec_rows
from tests.report.png import read_png
from tests.utils import query, run_cli
from warehouse.queries import ServingFileMissingError
from warehouse.report import ReportError, build_report
from warehouse.report.html import script_json
from warehouse.scorecard import scorecard

TREND_CHARTS = {
    "chart-kpi-win_rate",
    "chart-kpi-won_revenue",
    "chart-kpi-pipeline_value",
    "chart-kpi-sales_cycle_days",
    "chart-kpi-churn_rate",
    "chart-kpi-ltv",
}


@pytest.fixture(scope="module")
def report(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "scorecard.html"
    build_report(demo_warehouse.serving, out, png_dir=out.parent / "png")
    return out


def _charted_objectives(warehouse: DemoWarehouse, as_of: date) -> set[str]:
    rows = query(
        warehouse.serving,
        """
        SELECT DISTINCT objective_id FROM marts.objective_progress
        WHERE as_of <= ? AND as_of BETWEEN period_start AND period_end
        """,
        [as_of],
    )
    return {r[0] for r in rows}


def test_report_is_one_self_contained_file(report: Path, demo_warehouse: DemoWarehouse) -> None:
    page = report.read_text(encoding="utf-8")
    # Nothing to fetch: no external script, stylesheet, image or font.
    assert not re.search(r"<script[^>]+src\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page
    assert "vegaEmbed" in page and '"renderer":"svg"' in page

    specs = report_specs(report)
    objectives = _charted_objectives(demo_warehouse, demo_warehouse.as_of)
    assert objectives, "the demo objectives should have been measured in their periods"
    expected = {
        "chart-objectives-attainment",
        "chart-okrs",
        "chart-funnel",
        *TREND_CHARTS,
        *(f"chart-objective-{o}" for o in objectives),
    }
    assert set(specs) == expected
    for chart_id, spec in specs.items():
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6"), chart_id
        assert data_urls(spec) == [], f"{chart_id} would fetch its data"
        assert spec_rows(spec), f"{chart_id} has no data"
        # Its container is in the page.
        assert f'id="{chart_id}"' in page


def test_every_chart_is_also_a_png(report: Path) -> None:
    specs = report_specs(report)
    pngs = {p.stem for p in (report.parent / "png").glob("*.png")}
    assert pngs == {chart_id.removeprefix("chart-") for chart_id in specs}
    image = read_png((report.parent / "png" / "objectives-attainment.png").read_bytes())
    assert image.width > 400 and image.height > 200
    # Not a blank canvas: bars of several colours on white.
    assert image.pixels[..., :3].std() > 20


def _monthly(warehouse: DemoWarehouse, metric: str) -> dict[str, float | None]:
    rows = query(
        warehouse.serving,
        """
        SELECT period_start, value FROM marts.kpi_values
        WHERE metric = ? AND grain = 'month' AND scope_type = 'company'
          AND period_start BETWEEN ? AND ?
        """,
        [metric, date(2025, 11, 1), date(2026, 10, 1)],
    )
    return {start.strftime("%b %Y"): value for start, value in rows}


@pytest.mark.parametrize("metric", ["win_rate", "won_revenue", "pipeline_value", "churn_rate"])
def test_trend_charts_show_the_marts_kpis(
    report: Path, demo_warehouse: DemoWarehouse, metric: str
) -> None:
    rows = spec_rows(report_specs(report)[f"chart-kpi-{metric}"])
    company = [r for r in rows if r.get("series") == "company" and "value" in r]
    charted = {r["month"]: r["value"] for r in company}
    marts = _monthly(demo_warehouse, metric)
    # The 12 months ending with the one holding as_of (2026-10-20).
    assert len(marts) == 12
    assert charted == marts


def _pro_rata(target: float, start: date, end: date, month: date) -> float:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    first, last = max(start, month), min(end, following - timedelta(days=1))
    return target * max((last - first).days + 1, 0) / ((end - start).days + 1)


def test_targets_overlay_the_objectives(report: Path, demo_warehouse: DemoWarehouse) -> None:
    objectives = query(
        demo_warehouse.serving,
        """
        SELECT metric, title, target, period_start, period_end FROM marts.dim_objectives
        WHERE scope_type = 'company' AND grain IS NULL
          AND metric IN ('won_revenue', 'win_rate', 'sales_cycle_days')
        """,
    )
    assert {o[0] for o in objectives} == {"won_revenue", "win_rate", "sales_cycle_days"}
    specs = report_specs(report)
    months = [date(2025, 11, 1)]
    while len(months) < 12:
        months.append((months[-1] + timedelta(days=31)).replace(day=1))
    for metric, title, target, start, end in objectives:
        ticks = {
            r["month"]: r["target"]
            for r in spec_rows(specs[f"chart-kpi-{metric}"])
            if r.get("objective") == title
        }
        expected = {}
        for month in months:
            share = _pro_rata(target, start, end, month)
            if share:
                # A total (revenue) is spread over its days; a level holds in each month.
                expected[month.strftime("%b %Y")] = share if metric == "won_revenue" else target
        assert ticks == pytest.approx(expected), title


def test_attainment_and_flags_are_the_scorecards(
    report: Path, demo_warehouse: DemoWarehouse
) -> None:
    card = scorecard(demo_warehouse.serving, demo_warehouse.as_of)
    rows = spec_rows(report_specs(report)["chart-objectives-attainment"])
    bars = {r["objective"]: r["attainment"] for r in rows if "attainment" in r}
    assert bars == {line.title: line.attainment for line in card.objectives}
    page = report.read_text(encoding="utf-8")
    assert page.count('<td class="sev-') == len(card.flags)
    for flag in card.flags[:3]:
        assert str(escape(flag.message)) in page
    okr_rows = spec_rows(report_specs(report)["chart-okrs"])
    progress = {r["okr"]: r["value"] for r in okr_rows if r["label"] == "Overall progress"}
    assert sorted(progress.values()) == sorted(o.progress or 0.0 for o in card.okrs)


def test_history_charts_stop_at_the_day_reported(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    day = date(2026, 10, 10)
    out = build_report(demo_warehouse.serving, tmp_path / "past.html", as_of=day)
    page = out.read_text(encoding="utf-8")
    assert "Objectives as of <strong>2026-10-10</strong>" in page
    specs = report_specs(out)
    dates = {
        r["date"]
        for chart_id, spec in specs.items()
        if chart_id.startswith("chart-objective-")
        for r in spec_rows(spec)
        if "actual_text" in r
    }
    assert dates and max(dates) == day.isoformat()
    assert min(dates) == demo_warehouse.history_from.isoformat()
    flags = query(
        demo_warehouse.serving, "SELECT count(*) FROM marts.variance_flags WHERE as_of = ?", [day]
    )[0][0]
    assert page.count('<td class="sev-') == flags


def test_days_the_report_cannot_show_are_refused(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match=r"crm-kpi backfill --from 2026-09-01 --to 2026-09-01"):
        build_report(demo_warehouse.serving, tmp_path / "a.html", as_of=date(2026, 9, 1))
    with pytest.raises(ReportError, match=r"hold data up to 2026-10-20"):
        build_report(demo_warehouse.serving, tmp_path / "b.html", as_of=date(2026, 11, 1))
    with pytest.raises(ServingFileMissingError):
        build_report(tmp_path / "none" / "serving.duckdb", tmp_path / "c.html")
    with pytest.raises(ReportError, match="is a folder"):
        build_report(demo_warehouse.serving, tmp_path)
    assert not list(tmp_path.glob("*.html"))


def test_titles_cannot_break_out_of_the_page_script() -> None:
    hostile = {"title": "</script><script>alert(1)</script><!-- \u2028"}
    text = script_json(hostile)
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text) == hostile


def test_cli_report(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    env = demo_warehouse.env()
    out, png = tmp_path / "card.html", tmp_path / "png"
    result = run_cli("report", "--out", str(out), "--png", str(png), env=env)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 500_000 and len(list(png.glob("*.png"))) >= 10
    result = run_cli("report", "--as-of", "2026-09-01", "--out", str(tmp_path / "x.html"), env=env)
    assert result.returncode == 1
    assert "backfill" in result.stderr and not (tmp_path / "x.html").exists()


def test_a_warehouse_without_objectives_still_has_its_kpis(
    demo_warehouse: DemoWarehouse, tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    shutil.copyfile(demo_warehouse.serving, serving)
    con = duckdb.connect(str(serving))
    con.execute("SET TimeZone = 'UTC'")
    for table in ("objective_progress", "dim_objectives", "okr_progress", "variance_flags"):
        con.execute(f"DELETE FROM marts.{table}")
    con.close()
    out = build_report(serving, tmp_path / "kpis-only.html")
    page = out.read_text(encoding="utf-8")
    assert "No objectives yet" in page and "No flags as of 2026-10-20" in page
    # The KPIs as of the day the marts were built, without any objective's target.
    specs = report_specs(out)
    assert set(specs) == {*TREND_CHARTS, "chart-funnel"}
    assert not any("target" in r for s in specs.values() for r in spec_rows(s))
