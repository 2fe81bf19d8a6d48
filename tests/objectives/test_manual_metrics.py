"""Manual metrics in a real run: kpi_values at month and quarter grain for sum, last and
mean, objectives measured on them, their flags and scorecard labels, and a bad values
file refused with serving.duckdb left byte-identical. Expected values are worked out by
hand from tests/fixtures/manual_metrics (objectives.yml and manual_metrics.csv) on the
15-deal export, as of 2026-07-15."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pytest

from core.metrics import METRICS
from tests.conftest import FIXTURES
from tests.reference.kpis import OUTPUT_COLUMNS
from tests.utils import query, run_cli

pytestmark = pytest.mark.slow  # a real pipeline run

AS_OF = "2026-07-15"
MANUAL = FIXTURES / "manual_metrics"


def run(data_dir: Path, objectives: Path, values: Path | None = None):
    env = {
        "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
        "CRM_KPI_DATA_DIR": str(data_dir),
        "CRM_KPI_OBJECTIVES": str(objectives),
    }
    if values is not None:
        env["CRM_KPI_MANUAL_METRICS"] = str(values)
    return run_cli("run", "--source", "files", "--as-of", AS_OF, env=env)


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("manual")
    # manual_metrics.csv is found beside the objectives file (no CRM_KPI_MANUAL_METRICS)
    result = run(data_dir, MANUAL / "objectives.yml")
    assert result.returncode == 0, result.stderr
    return data_dir / "serving.duckdb"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(serving: Path, metric: str, grain: str, scope: tuple[str, str] = ("company", "all")):
    return query(
        serving,
        """
        SELECT period_start::VARCHAR, value, numerator, denominator, unit, is_complete
        FROM marts.kpi_values
        WHERE metric = ? AND grain = ? AND scope_type = ? AND scope_value = ?
        ORDER BY period_start
        """,
        [metric, grain, *scope],
    )


def test_source_is_the_last_column_and_tells_crm_from_manual(serving: Path) -> None:
    columns = [r[0] for r in query(serving, "DESCRIBE marts.kpi_values")]
    assert columns == [*OUTPUT_COLUMNS, "source"]  # DESIGN's columns, then source
    by_source = dict(
        query(
            serving,
            "SELECT source, list(DISTINCT metric ORDER BY metric) FROM marts.kpi_values GROUP BY 1",
        )
    )
    assert by_source["manual"] == ["partnerships", "patents_filed", "recommendation_rate"]
    assert by_source["crm"] == sorted(METRICS)  # every metric of core.metrics, no other


def test_a_summed_manual_metric(serving: Path) -> None:
    # 01-20: 1, 03-05: 1, 03-28: 2; the 07-20 value is after as_of
    month = [(p, v) for p, v, *_ in rows(serving, "patents_filed", "month")]
    assert month == [
        ("2026-01-01", 1),
        ("2026-02-01", 0),
        ("2026-03-01", 3),
        ("2026-04-01", 0),
        ("2026-05-01", 0),
        ("2026-06-01", 0),
        ("2026-07-01", 0),
    ]
    assert rows(serving, "patents_filed", "quarter") == [
        ("2026-01-01", 4, None, None, "patents", True),
        ("2026-04-01", 0, None, None, "patents", True),
        ("2026-07-01", 0, None, None, "patents", False),
    ]
    # every day from the first value (01-20) through as_of: 12 + 28 + 31 + 30 + 31 + 30 + 15
    days = query(
        serving,
        "SELECT count(*), min(period_start), sum(value) FROM marts.kpi_values "
        "WHERE metric = 'patents_filed' AND grain = 'day'",
    )
    assert days == [(177, date(2026, 1, 20), 4)]


def test_a_last_manual_metric_carries_its_latest_value(serving: Path) -> None:
    # company: 02-10: 3, 02-25: 4, 05-15: 5; Enterprise: 03-01: 2, 06-10: 3
    assert [(p, v) for p, v, *_ in rows(serving, "partnerships", "month")] == [
        ("2026-02-01", 4),
        ("2026-03-01", 4),
        ("2026-04-01", 4),
        ("2026-05-01", 5),
        ("2026-06-01", 5),
        ("2026-07-01", 5),
    ]
    assert rows(serving, "partnerships", "quarter") == [
        ("2026-01-01", 4, None, None, "count", True),
        ("2026-04-01", 5, None, None, "count", True),
        ("2026-07-01", 5, None, None, "count", False),
    ]
    team = ("team", "Enterprise")
    assert [(p, v) for p, v, *_ in rows(serving, "partnerships", "month", team)] == [
        ("2026-03-01", 2),
        ("2026-04-01", 2),
        ("2026-05-01", 2),
        ("2026-06-01", 3),
        ("2026-07-01", 3),
    ]
    assert [(p, v) for p, v, *_ in rows(serving, "partnerships", "quarter", team)] == [
        ("2026-01-01", 2),
        ("2026-04-01", 3),
        ("2026-07-01", 3),
    ]
    # no values were given for the team SMB: no series
    assert rows(serving, "partnerships", "month", ("team", "SMB")) == []


def test_a_mean_manual_metric(serving: Path) -> None:
    # 03-31: 0.5; 04-15: 0.25 and 04-30: 0.75; none in May; 06-30: 1; 07-10: 0.5
    assert rows(serving, "recommendation_rate", "month") == [
        ("2026-03-01", 0.5, 0.5, 1, "ratio", True),
        ("2026-04-01", 0.5, 1.0, 2, "ratio", True),
        ("2026-05-01", None, 0, 0, "ratio", True),
        ("2026-06-01", 1.0, 1.0, 1, "ratio", True),
        ("2026-07-01", 0.5, 0.5, 1, "ratio", False),
    ]
    quarter = rows(serving, "recommendation_rate", "quarter")
    assert quarter[0] == ("2026-01-01", 0.5, 0.5, 1, "ratio", True)
    assert quarter[1][0] == "2026-04-01" and quarter[1][1] == pytest.approx(2 / 3)
    assert quarter[1][2:] == (2.0, 3, "ratio", True)
    assert quarter[2] == ("2026-07-01", 0.5, 0.5, 1, "ratio", False)


def progress(serving: Path, objective_id: str) -> dict:
    columns = [r[0] for r in query(serving, "DESCRIBE marts.objective_progress")]
    (row,) = query(
        serving, "SELECT * FROM marts.objective_progress WHERE objective_id = ?", [objective_id]
    )
    return dict(zip(columns, row, strict=True))


def test_an_objective_on_a_summed_manual_metric(serving: Path) -> None:
    row = progress(serving, "patents-2026")
    # 365 days, 196 elapsed (181 to the end of June + 15); 4 patents filed so far
    share = 196 / 365
    assert (row["baseline"], row["actual"], row["status"]) == (0, 4, "on_track")
    assert row["expected"] == pytest.approx(6 * share)  # 3.22
    assert row["pace"] == pytest.approx(4 / (6 * share))  # 1.24
    assert row["attainment"] == pytest.approx(4 / 6)
    assert row["projected"] == pytest.approx(4 / share)  # 7.45


def test_an_objective_on_a_last_manual_metric_with_its_baseline_from_before(
    serving: Path,
) -> None:
    row = progress(serving, "partners-enterprise")
    # 183 days (Apr 1 - Sep 30), 106 elapsed; baseline: the latest Enterprise value on or
    # before 03-31 (2, on 03-01); actual: the latest on or before as_of (3, on 06-10)
    expected = 2 + (6 - 2) * 106 / 183
    assert (row["scope_type"], row["scope_value"]) == ("team", "Enterprise")
    assert (row["baseline"], row["actual"], row["projected"]) == (2, 3, 3)
    assert row["expected"] == pytest.approx(expected)  # 4.32
    assert row["pace"] == pytest.approx(3 / expected)  # 0.69
    assert row["attainment"] == pytest.approx(0.25)
    assert row["status"] == "off_track"


def test_an_objective_on_a_mean_manual_metric(serving: Path) -> None:
    row = progress(serving, "recommendation-q3")
    # 92 days, 15 elapsed; actual: mean of 07-01..07-15 (0.5); baseline: mean of the 92
    # days before, 03-31..06-30: (0.5 + 0.25 + 0.75 + 1) / 4
    expected = 0.625 + (0.8 - 0.625) * 15 / 92
    assert (row["baseline"], row["actual"]) == (0.625, 0.5)
    assert row["expected"] == pytest.approx(expected)  # 0.6535
    assert row["pace"] == pytest.approx(0.5 / expected)  # 0.765
    assert row["attainment"] == pytest.approx((0.5 - 0.625) / 0.175)
    assert row["status"] == "off_track"


def test_flags_and_the_scorecard_speak_the_metrics_unit(serving: Path) -> None:
    messages = [m for (m,) in query(serving, "SELECT message FROM marts.variance_flags")]
    assert sorted(messages) == [
        "Enterprise team at 6 partnerships by September: off track, actual 3 vs expected 4 "
        "(target 6 by 2026-09-30)",
        "Recommendation rate at 80 % in Q3: off track, actual 50.0 % vs expected 65.4 % "
        "(target 80.0 % by 2026-09-30)",
    ]
    units = dict(query(serving, "SELECT objective_id, unit FROM marts.dim_objectives"))
    assert units == {
        "patents-2026": "patents",
        "partners-enterprise": "count",
        "recommendation-q3": "ratio",
    }
    status = run_cli("status", "--format", "text", env={"CRM_KPI_DATA_DIR": str(serving.parent)})
    assert status.returncode == 0, status.stderr
    text = " ".join(status.stdout.split())
    assert "actual 4 patents of target 6 patents" in text
    assert "actual 50.0% of target 80.0%" in text


def test_a_bad_values_file_is_refused_before_anything_runs(serving: Path, tmp_path: Path) -> None:
    before = digest(serving)
    bad = tmp_path / "manual_metrics.csv"
    bad.write_text(
        "date,metric,value,scope_type,scope_value,note\n"
        "2026-03-14,patents_filed,1,,,\n"
        "2026-03-14,patent_filed,1,,,\n"
        "2026-02-30,patents_filed,1,,,\n"
        "2026-03-14,patents_filed,two,,,\n"
        "2026-03-14,partnerships,2,region,EMEA,\n"
    )
    result = run(serving.parent, MANUAL / "objectives.yml", bad)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 2, output
    assert "Traceback" not in output and "Running the pipeline" not in output
    assert f"The manual metrics file {bad} has 4 problem(s)" in output
    assert f"{bad}, line 3, field 'metric': unknown manual metric 'patent_filed'" in output
    assert f"{bad}, line 4, field 'date': '2026-02-30' is not a valid date" in output
    assert f"{bad}, line 5, field 'value': 'two' is not a number" in output
    assert f"{bad}, line 6, field 'scope_type': partnerships takes no region values" in output
    assert digest(serving) == before


def test_a_scope_value_the_crm_does_not_hold_stops_the_build(serving: Path, tmp_path: Path) -> None:
    before = digest(serving)
    bad = tmp_path / "manual_metrics.csv"
    shutil.copy(MANUAL / "manual_metrics.csv", bad)
    with open(bad, "a") as f:
        f.write("2026-06-01,partnerships,4,team,Enterprize,typo\n")
    result = run(serving.parent, MANUAL / "objectives.yml", bad)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "serving.duckdb was left as it was" in output
    assert (
        f"The manual metrics file {bad}, line 16, field 'scope_value': there is no team "
        "'Enterprize' in the CRM data" in output
    )
    assert digest(serving) == before
