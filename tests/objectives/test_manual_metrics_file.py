"""Manual metrics: their declaration in objectives.yml, objectives on them, and the
values file (CSV or YAML), each problem with its file, line and field."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.settings import Settings
from objectives import (
    ManualMetric,
    ManualMetricsFileError,
    ManualValue,
    ObjectivesFileError,
    load_manual_values,
    load_objectives_file,
    read_objectives,
    write_objectives,
)

METRICS_YAML = """\
manual_metrics:
  - id: patents_filed
    title: Patents filed
    unit: patents
    aggregation: sum
  - id: partnerships
    unit: count
    aggregation: last
    scopes: [company, team]
  - id: recommendation_rate
    unit: ratio
    aggregation: mean
"""
DECLARED = (
    ManualMetric("patents_filed", "Patents filed", "patents", "sum", ("company",)),
    ManualMetric("partnerships", "partnerships", "count", "last", ("company", "team")),
    ManualMetric("recommendation_rate", "recommendation_rate", "ratio", "mean", ("company",)),
)


def write(tmp_path: Path, text: str, name: str = "objectives.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ObjectivesFileError) as info:
        load_objectives_file(write(tmp_path, text))
    return [p.render(info.value.path) for p in info.value.problems]


def value_problems(tmp_path: Path, text: str, name: str = "values.csv") -> list[str]:
    path = write(tmp_path, text, name)
    with pytest.raises(ManualMetricsFileError) as info:
        load_manual_values(path, DECLARED)
    assert "no value was loaded and nothing ran" in str(info.value)
    return [p.render(path) for p in info.value.problems]


# -- the declaration ---------------------------------------------------------------------


def test_manual_metrics_are_read_with_their_defaults(tmp_path: Path) -> None:
    f = load_objectives_file(write(tmp_path, METRICS_YAML))
    assert f.manual_metrics == DECLARED
    assert [m.additive for m in f.manual_metrics] == [True, False, False]


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ("{id: Patents, unit: count, aggregation: sum}", "id", "pattern [a-z][a-z0-9_]*"),
        ("{id: won_deals, unit: count, aggregation: sum}", "id", "computes from the CRM"),
        ("{id: p, unit: count}", "aggregation", "is missing"),
        ("{id: p, unit: count, aggregation: median}", "aggregation", "use one of sum, last, mean"),
        ("{id: p, unit: '42 things', aggregation: sum}", "unit", "is not a unit"),
        ("{id: p, unit: count, aggregation: sum, scopes: [planet]}", "scopes[1]", "not allowed"),
        ("{id: p, unit: count, aggregation: sum, colour: red}", "colour", "unknown field"),
    ],
)
def test_a_bad_declaration_names_its_line_and_field(
    tmp_path: Path, entry: str, field: str, words: str
) -> None:
    found = problems(tmp_path, f"objectives: []\nmanual_metrics:\n  - {entry}\n")
    assert len(found) == 1, found
    assert "line 3" in found[0] and f"field '{field}'" in found[0] and words in found[0]


def test_two_manual_metrics_with_one_id(tmp_path: Path) -> None:
    text = "manual_metrics:\n  - {id: p, unit: count, aggregation: sum}\n" * 1 + (
        "  - {id: p, unit: count, aggregation: last}\n"
    )
    (found,) = problems(tmp_path, text)
    assert "line 3" in found and "already used by the manual metric on line 2" in found


# -- objectives on manual metrics ---------------------------------------------------------


def objective(metric: str, extra: str = "") -> str:
    return (
        METRICS_YAML
        + "objectives:\n  - id: o\n"
        + f"    metric: {metric}\n    period: {{start: 2026-01-01, end: 2026-12-31}}\n"
        + "    target: 2\n"
        + extra
    )


def test_an_objective_on_a_manual_metric(tmp_path: Path) -> None:
    f = load_objectives_file(write(tmp_path, objective("patents_filed")))
    assert f.objectives[0].metric == "patents_filed"
    text = objective("partnerships", "    scope: {team: Enterprise}\n    baseline: 1\n")
    o = load_objectives_file(write(tmp_path, text)).objectives[0]
    assert (o.scope_type, o.scope_value, o.baseline) == ("team", "Enterprise", 1.0)


def test_an_unknown_metric_lists_the_manual_ones(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, objective("patent_filed"))
    assert "field 'metric'" in found and "did you mean 'patents_filed'?" in found
    assert "manual metrics patents_filed, partnerships, recommendation_rate" in found


def test_a_summed_manual_metric_takes_no_baseline(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, objective("patents_filed", "    baseline: 1\n"))
    assert "field 'baseline'" in found and "counted from 0" in found


def test_an_objective_scope_the_manual_metric_does_not_have(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, objective("patents_filed", "    scope: {team: Enterprise}\n"))
    assert "field 'scope'" in found and "whole company only" in found
    (found,) = problems(tmp_path, objective("partnerships", "    scope: {region: EMEA}\n"))
    assert "field 'scope'" in found and "'region' is not a scope of partnerships" in found


def test_a_ratio_manual_metric_takes_a_share(tmp_path: Path) -> None:
    (found,) = problems(
        tmp_path, objective("recommendation_rate").replace("target: 2", "target: 45")
    )
    assert "field 'target'" in found and "write 0.45" in found


# -- the values file -----------------------------------------------------------------------

GOOD_CSV = """\
date,metric,value,scope_type,scope_value,note
2026-03-14,patents_filed,1,,,EP 4 123 456

2026-03-14,partnerships,2,team,Enterprise,"Acme, Inc."
2026-03-31,recommendation_rate,0.45,company,all,
"""


def test_csv_values_are_read_with_their_lines(tmp_path: Path) -> None:
    values = load_manual_values(write(tmp_path, GOOD_CSV, "v.csv"), DECLARED)
    assert values == (
        ManualValue(date(2026, 3, 14), "patents_filed", 1.0, "company", "all", "EP 4 123 456", 2),
        ManualValue(date(2026, 3, 14), "partnerships", 2.0, "team", "Enterprise", "Acme, Inc.", 4),
        ManualValue(date(2026, 3, 31), "recommendation_rate", 0.45, "company", "all", None, 5),
    )


def test_yaml_values_are_read_with_their_lines(tmp_path: Path) -> None:
    text = """\
    - {date: 2026-03-14, metric: patents_filed, value: 1, note: EP 4 123 456}
    - date: 2026-03-14
      metric: partnerships
      value: 2
      scope_type: team
      scope_value: Enterprise
    """
    values = load_manual_values(write(tmp_path, text, "v.yml"), DECLARED)
    assert [(v.metric, v.value, v.scope_value, v.line) for v in values] == [
        ("patents_filed", 1.0, "all", 1),
        ("partnerships", 2.0, "Enterprise", 2),
    ]


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("2026-03-14,patent_filed,1,,,", "metric", "unknown manual metric 'patent_filed'"),
        ("2026-02-30,patents_filed,1,,,", "date", "'2026-02-30' is not a valid date"),
        ("14/03/2026,patents_filed,1,,,", "date", "written YYYY-MM-DD"),
        ("2026-03-14,patents_filed,one,,,", "value", "'one' is not a number"),
        ("2026-03-14,patents_filed,-1,,,", "value", "0 or more"),
        ("2026-03-14,recommendation_rate,45,,,", "value", "outside [0, 1]"),
        ("2026-03-14,patents_filed,1,team,Enterprise,", "scope_type", "takes no team values"),
        ("2026-03-14,partnerships,1,planet,Mars,", "scope_type", "is not a scope type"),
        ("2026-03-14,partnerships,1,team,,", "scope_value", "is empty"),
        ("2026-03-14,partnerships,1,,EMEA,", "scope_value", "with the company scope"),
        (",patents_filed,1,,,", "date", "is empty"),
    ],
)
def test_a_bad_row_names_the_file_its_line_and_field(
    tmp_path: Path, row: str, field: str, words: str
) -> None:
    text = "date,metric,value,scope_type,scope_value,note\n2026-01-05,patents_filed,1,,,\n"
    (found,) = value_problems(tmp_path, text + row + "\n")
    assert found.startswith(f"{tmp_path / 'values.csv'}, line 3, field '{field}'"), found
    assert words in found, found


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
    date,metric,value
    2026-03-14,nope,1
    2026-13-01,patents_filed,1
    2026-03-14,patents_filed,1.5.2
    """
    found = value_problems(tmp_path, text)
    assert [f.split(": ")[0] for f in found] == [
        f"{tmp_path / 'values.csv'}, line 2, field 'metric'",
        f"{tmp_path / 'values.csv'}, line 3, field 'date'",
        f"{tmp_path / 'values.csv'}, line 4, field 'value'",
    ]


def test_a_last_metric_takes_one_value_a_day(tmp_path: Path) -> None:
    text = "date,metric,value\n2026-03-14,partnerships,1\n2026-03-14,partnerships,2\n"
    (found,) = value_problems(tmp_path, text)
    assert "line 3, field 'date'" in found and "(line 2)" in found and "one value a day" in found


def test_a_bad_header_or_file_kind(tmp_path: Path) -> None:
    unknown, missing = value_problems(tmp_path, "day,metric,value\n")
    assert "line 1, field 'day'" in unknown and "unknown column" in unknown
    assert "line 1, field 'date'" in missing
    found = value_problems(tmp_path, "metric,value\n")
    assert any("field 'date'" in f and "is missing from the header" in f for f in found)
    (found,) = value_problems(tmp_path, "x", "values.txt")
    assert "must be a .csv, .yml or .yaml file" in found
    (found,) = value_problems(tmp_path, "- {date: 2026-03-14, metric: nope, value: 1}\n", "v.yml")
    assert "line 1, field 'metric'" in found


def test_the_settings_name_the_file_or_default_beside_the_objectives(tmp_path: Path) -> None:
    objectives = write(tmp_path, METRICS_YAML)
    settings = Settings(data_dir=tmp_path / "data", objectives_path=objectives)
    assert settings.manual_metrics_file() == (None, False)
    assert read_objectives(settings).manual_values == ()
    beside = write(tmp_path, GOOD_CSV, "manual_metrics.csv")
    assert settings.manual_metrics_file() == (beside, False)
    loaded = read_objectives(settings)
    assert len(loaded.manual_values) == 3 and loaded.values_path == beside
    named = Settings(
        data_dir=tmp_path / "data",
        objectives_path=objectives,
        manual_metrics_path=tmp_path / "missing.csv",
    )
    with pytest.raises(ManualMetricsFileError, match="does not exist"):
        read_objectives(named)


def test_the_values_load_as_rows_with_their_file_and_line(tmp_path: Path) -> None:
    objectives = write(tmp_path, METRICS_YAML)
    write(tmp_path, GOOD_CSV, "manual_metrics.csv")
    loaded = read_objectives(Settings(data_dir=tmp_path, objectives_path=objectives))
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    write_objectives(con, loaded)
    assert con.execute("SELECT * FROM raw_objectives.manual_metrics").fetchall() == [
        ("patents_filed", "Patents filed", "patents", "sum", "company"),
        ("partnerships", "partnerships", "count", "last", "company,team"),
        ("recommendation_rate", "recommendation_rate", "ratio", "mean", "company"),
    ]
    rows = con.execute(
        "SELECT metric, value_date, value, scope_type, scope_value, note, file, line "
        "FROM raw_objectives.manual_metric_values ORDER BY line"
    ).fetchall()
    csv_path = str(tmp_path / "manual_metrics.csv")
    assert rows[1] == (
        "partnerships",
        date(2026, 3, 14),
        2.0,
        "team",
        "Enterprise",
        "Acme, Inc.",
        csv_path,
        4,
    )
    assert len(rows) == 3


def test_the_shipped_example_has_the_issues_objectives_and_values() -> None:
    from core.paths import PROJECT_ROOT

    settings = Settings(
        data_dir=PROJECT_ROOT / "warehouse" / "data",
        objectives_path=PROJECT_ROOT / "objectives.yml",
    )
    loaded = read_objectives(settings)
    assert loaded.values_path == PROJECT_ROOT / "manual_metrics.csv"
    assert {m.aggregation for m in loaded.manual_metrics} == {"sum", "last", "mean"}
    targets = {o.metric: o.target for o in loaded.objectives if o.period_start.year == 2026}
    # "2 patents filed, 5 strategic partnerships, 8 media mentions in 12 months"
    assert targets["patents_filed"] == 2
    assert targets["strategic_partnerships"] == 5
    assert targets["media_mentions"] == 8
    declared = {m.id for m in loaded.manual_metrics}
    assert {v.metric for v in loaded.manual_values} == declared
