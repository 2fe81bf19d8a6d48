"""The objectives file: validation messages, the shipped example, and its load as data."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from core.metrics import METRICS
from core.paths import PROJECT_ROOT
from objectives import (
    OKR,
    TABLE_SCHEMAS,
    Milestone,
    Objective,
    ObjectivesFile,
    ObjectivesFileError,
    ObjectivesFileMissingError,
    load_objectives_file,
    objectives_tables,
    write_objectives,
)

EXAMPLE = PROJECT_ROOT / "objectives.yml"


def write(tmp_path: Path, text: str, name: str = "objectives.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, **kwargs: int) -> ObjectivesFileError:
    path = write(tmp_path, text)
    with pytest.raises(ObjectivesFileError) as info:
        load_objectives_file(path, **kwargs)
    return info.value


def one_problem(tmp_path: Path, text: str, **kwargs: int) -> str:
    """The single problem line of the error, which must name the file."""
    err = error_of(tmp_path, text, **kwargs)
    assert len(err.problems) == 1, str(err)
    rendered = err.problems[0].render(err.path)
    assert str(tmp_path / "objectives.yml") in rendered
    assert rendered in str(err)
    return rendered


def objective(**fields: str) -> str:
    """A valid objective as YAML, with fields replaced (value None removes the field)."""
    base = {
        "id": "win-rate-h1",
        "metric": "win_rate",
        "period": "{start: 2026-01-01, end: 2026-06-30}",
        "target": "0.70",
    }
    base.update(fields)
    lines = [f"{k}: {v}" for k, v in base.items() if v is not None]
    return "objectives:\n  - " + "\n    ".join(lines) + "\n"


# -- valid files -----------------------------------------------------------------------


def test_design_example_is_parsed_with_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        objectives:
          - id: new-logos-monthly
            title: Acquire 20 new customers a month
            metric: new_customers
            scope: {team: Enterprise}
            period: {start: 2026-03-01, end: 2026-06-30}
            grain: month
            target: 20
          - id: win-rate-h1
            title: Win rate from 55 % to 70 %
            metric: win_rate
            period: {start: 2026-01-01, end: 2026-06-30}
            baseline: 0.55
            target: 0.70
            milestones: [{date: 2026-03-31, value: 0.62}]
            thresholds: {at_risk: 0.9, off_track: 0.7}
          - id: cycle-down
            metric: sales_cycle_days
            period: {start: 2026-01-01, end: 2026-12-31}
            direction: decrease
            target: 45
        okrs:
          - id: sme-market
            title: Strengthen our position in the SME market
            key_results: [new-logos-monthly, win-rate-h1]
        """,
    )
    f = load_objectives_file(path)
    assert f.path == path
    assert f.objectives == (
        Objective(
            id="new-logos-monthly",
            title="Acquire 20 new customers a month",
            metric="new_customers",
            scope_type="team",
            scope_value="Enterprise",
            period_start=date(2026, 3, 1),
            period_end=date(2026, 6, 30),
            grain="month",
            direction="increase",
            target=20.0,
            baseline=None,
            milestones=(),
            at_risk=0.95,
            off_track=0.8,
        ),
        Objective(
            id="win-rate-h1",
            title="Win rate from 55 % to 70 %",
            metric="win_rate",
            scope_type="company",
            scope_value="all",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            grain=None,
            direction="increase",
            target=0.70,
            baseline=0.55,
            milestones=(Milestone(date(2026, 3, 31), 0.62),),
            at_risk=0.9,
            off_track=0.7,
        ),
        Objective(
            id="cycle-down",
            title="cycle-down",  # the title defaults to the id
            metric="sales_cycle_days",
            scope_type="company",
            scope_value="all",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            grain=None,
            direction="decrease",
            target=45.0,
            baseline=None,
            milestones=(),
            at_risk=0.95,
            off_track=0.8,
        ),
    )
    assert f.okrs == (
        OKR(
            "sme-market",
            "Strengthen our position in the SME market",
            ("new-logos-monthly", "win-rate-h1"),
        ),
    )


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "objectives: []\n", "objectives:\n"])
def test_empty_file_has_no_objectives(tmp_path: Path, text: str) -> None:
    f = load_objectives_file(write(tmp_path, text))
    assert f.objectives == () and f.okrs == ()


def test_scope_value_is_kept_as_written(tmp_path: Path) -> None:
    # `007` would be the number 7 to YAML; as a team name it is the text 007.
    f = load_objectives_file(write(tmp_path, objective(scope="{team: 007}")))
    assert (f.objectives[0].scope_type, f.objectives[0].scope_value) == ("team", "007")


def test_yaml_anchors_and_merge_keys_are_honoured(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        objectives:
          - &h1
            id: deals-h1
            metric: won_deals
            period: {start: 2026-01-01, end: 2026-06-30}
            target: 100
          - <<: *h1
            id: deals-h1-emea
            scope: {region: EMEA}
            target: 40
        """,
    )
    f = load_objectives_file(path)
    emea = f.objective("deals-h1-emea")
    assert (emea.metric, emea.scope_value, emea.target) == ("won_deals", "EMEA", 40.0)
    assert emea.period_start == date(2026, 1, 1)


def test_an_aliased_objective_is_a_duplicate_not_a_field_given_twice(tmp_path: Path) -> None:
    text = """\
        objectives:
          - &base
            id: base-one
            metric: won_deals
            period: {start: 2026-01-01, end: 2026-03-31}
            target: 5
          - &two
            <<: *base
            id: two
            target: 6
          - *two
        """
    rendered = one_problem(tmp_path, text)
    assert "objective #3 (id 'two')" in rendered
    assert "already used by the objective on line 7" in rendered


def test_quarter_bounds_follow_the_fiscal_year(tmp_path: Path) -> None:
    text = objective(
        id="q-deals", metric="won_deals", period="{start: 2026-04-01, end: 2026-09-30}", target=30
    )
    text = text.replace("target: 30", "target: 30\n    grain: quarter")
    assert load_objectives_file(write(tmp_path, text), fiscal_year_start=4).objectives
    # The same period is not made of quarters when the fiscal year starts in February.
    err = error_of(tmp_path, text, fiscal_year_start=2)
    start, end = (p.render(err.path) for p in err.problems)
    assert "objective 'q-deals'" in start and "field 'period.start'" in start
    assert "quarters start in Feb, May, Aug, Nov" in start
    assert "start on 2026-02-01 or 2026-05-01" in start  # the quarter starts around it
    assert "field 'period.end'" in end and "end on 2026-10-31 or 2026-07-31" in end


def test_missing_file_is_a_distinct_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ObjectivesFileMissingError) as info:
        load_objectives_file(tmp_path / "nope.yml")
    assert isinstance(info.value, ObjectivesFileError)
    assert str(tmp_path / "nope.yml") in str(info.value)
    assert "CRM_KPI_OBJECTIVES" in str(info.value)


def test_fiscal_year_start_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fiscal_year_start=13"):
        load_objectives_file(write(tmp_path, ""), fiscal_year_start=13)


# -- one test per validation error ------------------------------------------------------


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    rendered = one_problem(
        tmp_path,
        """\
        objectives:
          - id: a
            metric: won_deals
           target: 3
        """,
    )
    assert "YAML syntax error" in rendered
    assert "line 4, column 4" in rendered


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("objectives:\n  - id: a\n\tmetric: won_deals\n", "indent with spaces, not tabs"),
        ("objectives: []\n---\nokrs: []\n", "remove the second '---' line"),
        ("objectives: [\n", "YAML syntax error"),
    ],
)
def test_other_yaml_syntax_errors(tmp_path: Path, text: str, says: str) -> None:
    rendered = one_problem(tmp_path, text)
    assert "YAML syntax error" in rendered and says in rendered
    assert ", column " in rendered


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "objectives.yml").mkdir()
    with pytest.raises(ObjectivesFileError, match="cannot be read"):
        load_objectives_file(tmp_path / "objectives.yml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, "- id: a\n  metric: won_deals\n")
    assert "line 1" in rendered
    assert "top level must be a mapping with the keys objectives and okrs" in rendered
    assert "got a list" in rendered


def test_unknown_top_level_key(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, "objective:\n  - id: a\n")
    assert "line 1" in rendered and "field 'objective'" in rendered
    assert "did you mean 'objectives'?" in rendered
    assert "objectives, okrs" in rendered


def test_objectives_must_be_a_list(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, "objectives: {id: a}\n")
    assert "field 'objectives'" in rendered and "must be a list" in rendered


@pytest.mark.parametrize("missing", ["id", "metric", "period", "target"])
def test_missing_required_field(tmp_path: Path, missing: str) -> None:
    rendered = one_problem(tmp_path, objective(**{missing: None}))
    assert f"field '{missing}'" in rendered and "is missing" in rendered
    assert "line 2" in rendered
    if missing == "id":
        assert "objective #1" in rendered
    else:
        assert "objective 'win-rate-h1'" in rendered
    if missing == "metric":
        assert "win_rate" in rendered and "sales_cycle_days" in rendered


@pytest.mark.parametrize("bad_id", ["Win_Rate", "win rate", "'win:rate'"])
def test_id_pattern(tmp_path: Path, bad_id: str) -> None:
    rendered = one_problem(tmp_path, objective(id=bad_id))
    assert "objective #1" in rendered and "field 'id'" in rendered
    assert "[a-z0-9-]+" in rendered and "line 2" in rendered


def test_duplicate_objective_ids(tmp_path: Path) -> None:
    text = objective() + objective().removeprefix("objectives:\n")
    rendered = one_problem(tmp_path, text)
    assert "objective #2 (id 'win-rate-h1')" in rendered and "field 'id'" in rendered
    assert "already used by the objective on line 2" in rendered
    assert "line 6" in rendered


def test_unknown_metric_lists_the_known_ones(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(metric="win_rates"))
    assert "objective 'win-rate-h1'" in rendered and "field 'metric'" in rendered
    assert "did you mean 'win_rate'?" in rendered
    assert all(name in rendered for name in METRICS)


@pytest.mark.parametrize(
    ("scope", "got"),
    [
        ("{team: Enterprise, region: EMEA}", "a mapping with 2 keys"),
        ("Enterprise", "'Enterprise'"),
        ("[team, Enterprise]", "a list"),
    ],
)
def test_scope_must_be_a_one_key_mapping(tmp_path: Path, scope: str, got: str) -> None:
    rendered = one_problem(tmp_path, objective(scope=scope))
    assert "objective 'win-rate-h1'" in rendered and "field 'scope'" in rendered
    assert "exactly one key among team, owner, segment, region, pipeline" in rendered
    assert got in rendered


@pytest.mark.parametrize("metric", ["churn_rate", "arpa", "ltv"])
def test_account_metrics_support_only_segment_and_region(tmp_path: Path, metric: str) -> None:
    target = "0.05" if metric == "churn_rate" else "500"
    text = objective(metric=metric, scope="{team: Enterprise}", target=target)
    rendered = one_problem(tmp_path, text)
    assert "objective 'win-rate-h1'" in rendered and "field 'scope'" in rendered
    assert f"'team' is not a scope of {metric}" in rendered
    assert "use one of segment, region" in rendered


def test_scope_unknown_for_a_deal_metric(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(scope="{country: France}"))
    assert "field 'scope'" in rendered
    assert "use one of team, owner, segment, region, pipeline" in rendered


@pytest.mark.parametrize("value", ["", "~", "''"])
def test_empty_scope_value(tmp_path: Path, value: str) -> None:
    rendered = one_problem(tmp_path, objective(scope=f"{{segment: {value}}}"))
    assert "objective 'win-rate-h1'" in rendered and "field 'scope.segment'" in rendered
    assert "is empty" in rendered


def test_period_end_before_start(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(period="{start: 2026-06-30, end: 2026-01-01}"))
    assert "objective 'win-rate-h1'" in rendered and "field 'period.end'" in rendered
    assert "2026-01-01 is before the start 2026-06-30" in rendered


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("March 1st", "a date written YYYY-MM-DD"),
        ("2026-02-30", "not a valid date: day is out of range"),
        ("2026-13-01", "not a valid date"),
        ("2026-01-01T09:00:00", "has a time of day"),
        ("'2026-02-31'", "not a valid date"),
        ("20260101", "a date written YYYY-MM-DD"),
    ],
)
def test_dates_that_are_not_dates(tmp_path: Path, value: str, says: str) -> None:
    rendered = one_problem(tmp_path, objective(period=f"{{start: {value}, end: 2026-06-30}}"))
    assert "objective 'win-rate-h1'" in rendered and "field 'period.start'" in rendered
    assert says in rendered


def test_quoted_iso_date_is_a_date(tmp_path: Path) -> None:
    f = load_objectives_file(
        write(tmp_path, objective(period="{start: '2026-01-01', end: \"2026-06-30\"}"))
    )
    assert (f.objectives[0].period_start, f.objectives[0].period_end) == (
        date(2026, 1, 1),
        date(2026, 6, 30),
    )


def test_period_needs_start_and_end(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(period="{start: 2026-01-01}"))
    assert "field 'period.end'" in rendered and "is missing" in rendered


@pytest.mark.parametrize("grain", ["day", "year", "monthly"])
def test_grain_must_be_week_month_or_quarter(tmp_path: Path, grain: str) -> None:
    rendered = one_problem(tmp_path, objective(grain=grain))
    assert "objective 'win-rate-h1'" in rendered and "field 'grain'" in rendered
    assert "use one of week, month, quarter" in rendered


@pytest.mark.parametrize(
    ("grain", "period", "field", "says"),
    [
        (
            "week",
            "{start: 2026-03-03, end: 2026-03-29}",
            "period.start",
            "2026-03-03 (Tuesday) is not the first day of a week",
        ),
        (
            "week",
            "{start: 2026-03-02, end: 2026-03-28}",
            "period.end",
            "end on 2026-03-29 or 2026-03-22",
        ),
        (
            "month",
            "{start: 2026-03-01, end: 2026-04-29}",
            "period.end",
            "2026-04-29 is not the last day of a month",
        ),
        (
            "month",
            "{start: 2026-03-15, end: 2026-04-30}",
            "period.start",
            "start on 2026-03-01 or 2026-04-01",
        ),
        (
            "quarter",
            "{start: 2026-02-01, end: 2026-06-30}",
            "period.start",
            "quarters start in Jan, Apr, Jul, Oct",
        ),
    ],
)
def test_grain_boundaries(tmp_path: Path, grain: str, period: str, field: str, says: str) -> None:
    rendered = one_problem(
        tmp_path, objective(metric="won_deals", target=5, period=period, grain=grain)
    )
    assert "objective 'win-rate-h1'" in rendered and f"field '{field}'" in rendered
    assert says in rendered


def test_milestones_with_a_grain(tmp_path: Path) -> None:
    text = objective(grain="month", milestones="[{date: 2026-03-31, value: 0.62}]")
    rendered = one_problem(tmp_path, text)
    assert "objective 'win-rate-h1'" in rendered and "field 'milestones'" in rendered
    assert "cannot be combined with grain month" in rendered


@pytest.mark.parametrize("when", ["2025-12-31", "2026-06-30", "2026-07-15"])
def test_milestone_outside_the_period(tmp_path: Path, when: str) -> None:
    rendered = one_problem(tmp_path, objective(milestones=f"[{{date: {when}, value: 0.6}}]"))
    assert "objective 'win-rate-h1'" in rendered and "field 'milestones[1].date'" in rendered
    assert f"{when} is outside the period 2026-01-01..2026-06-30" in rendered


@pytest.mark.parametrize("second", ["2026-03-31", "2026-02-28"])
def test_milestone_dates_must_increase(tmp_path: Path, second: str) -> None:
    text = objective(
        milestones=f"[{{date: 2026-03-31, value: 0.6}}, {{date: {second}, value: 0.65}}]"
    )
    rendered = one_problem(tmp_path, text)
    assert "objective 'win-rate-h1'" in rendered and "field 'milestones[2].date'" in rendered
    assert "is not after the previous milestone's 2026-03-31" in rendered


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target": "high"}, "target"),
        ({"target": "true"}, "target"),
        ({"target": "[0.7]"}, "target"),
        ({"target": ".nan"}, "target"),
        ({"baseline": "about half"}, "baseline"),
        ({"milestones": "[{date: 2026-03-31, value: n/a}]"}, "milestones[1].value"),
    ],
)
def test_non_numeric_values(tmp_path: Path, fields: dict[str, str], field: str) -> None:
    rendered = one_problem(tmp_path, objective(**fields))
    assert "objective 'win-rate-h1'" in rendered and f"field '{field}'" in rendered
    assert "number" in rendered


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target": "70"}, "target"),
        ({"baseline": "55", "target": "0.7"}, "baseline"),
        ({"milestones": "[{date: 2026-03-31, value: 62}]"}, "milestones[1].value"),
    ],
)
def test_ratio_values_are_between_0_and_1(
    tmp_path: Path, fields: dict[str, str], field: str
) -> None:
    rendered = one_problem(tmp_path, objective(**fields))
    assert "objective 'win-rate-h1'" in rendered and f"field '{field}'" in rendered
    assert "outside [0, 1]" in rendered
    value = fields.get(field, "62")
    assert f"write {int(value) / 100:.2f}, not {value}" in rendered


def test_churn_rate_is_a_ratio_too(tmp_path: Path) -> None:
    text = objective(metric="churn_rate", target="3", direction="decrease")
    rendered = one_problem(tmp_path, text)
    assert "field 'target'" in rendered and "write 0.03, not 3" in rendered


def test_percent_text_for_a_ratio(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(target="'70 %'"))
    assert "field 'target'" in rendered and "write shares as decimals, 0.7, not 70 %" in rendered


def test_negative_target(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(metric="won_deals", target="-5"))
    assert "field 'target'" in rendered and "negative" in rendered


def test_direction_must_be_increase_or_decrease(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(direction="down"))
    assert "objective 'win-rate-h1'" in rendered and "field 'direction'" in rendered
    assert "use one of increase, decrease" in rendered


@pytest.mark.parametrize(
    ("thresholds", "field", "says"),
    [
        ("{at_risk: high}", "thresholds.at_risk", "must be a number"),
        ("{at_risk: 0.8, off_track: 0.9}", "thresholds", "0 < off_track <= at_risk"),
        ("{off_track: 0.97}", "thresholds", "off_track (0.97) must be at most at_risk (0.95)"),
        ("{at_risk: 0.9, off_track: 0}", "thresholds.off_track", "in (0, 1]"),
        ("{at_risk: 95, off_track: 80}", "thresholds.at_risk", "write 0.95, not 95"),
        ("{at_risk: 0.9, offtrack: 0.5}", "thresholds.offtrack", "did you mean 'off_track'?"),
        ("0.9", "thresholds", "must be a mapping"),
    ],
)
def test_thresholds(tmp_path: Path, thresholds: str, field: str, says: str) -> None:
    err = error_of(tmp_path, objective(thresholds=thresholds))
    rendered = err.problems[0].render(err.path)
    assert str(err.path) in rendered
    assert "objective 'win-rate-h1'" in rendered and f"field '{field}'" in rendered
    assert says in rendered


def test_unknown_field_suggests_the_closest(tmp_path: Path) -> None:
    text = objective(target=None, targt="0.7")
    err = error_of(tmp_path, text)
    rendered = [p.render(err.path) for p in err.problems]
    assert any(
        "field 'targt'" in r and "did you mean 'target'?" in r and "line 5" in r for r in rendered
    ), rendered
    assert any("field 'target'" in r and "is missing" in r for r in rendered), rendered


def test_a_field_given_twice(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective() + "    target: 0.8\n")
    assert "field 'target'" in rendered and "given twice (also on line 5)" in rendered


def test_baseline_on_an_additive_metric(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, objective(metric="won_deals", target="50", baseline="30"))
    assert "field 'baseline'" in rendered and "counted from 0" in rendered


def test_target_on_the_wrong_side_of_the_baseline(tmp_path: Path) -> None:
    rendered = one_problem(
        tmp_path, objective(metric="sales_cycle_days", baseline="60", target="45")
    )
    assert "field 'target'" in rendered and "direction: decrease" in rendered
    rendered = one_problem(
        tmp_path,
        objective(metric="sales_cycle_days", baseline="40", target="45", direction="decrease"),
    )
    assert "field 'target'" in rendered and "above the baseline 40" in rendered


def test_month_measured_metric_needs_a_whole_month(tmp_path: Path) -> None:
    text = objective(
        metric="churn_rate",
        direction="decrease",
        target="0.02",
        period="{start: 2026-01-15, end: 2026-02-27}",
    )
    rendered = one_problem(tmp_path, text)
    assert "field 'period'" in rendered and "holds no whole month" in rendered
    text = objective(
        metric="ltv", target="9000", grain="week", period="{start: 2026-03-02, end: 2026-03-29}"
    )
    rendered = one_problem(tmp_path, text)
    assert "field 'grain'" in rendered and "use month" in rendered


def test_objective_that_is_not_a_mapping(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, "objectives:\n  - win-rate-h1\n")
    assert "objective #1" in rendered and "must be a mapping of fields" in rendered


def test_okr_without_key_results(tmp_path: Path) -> None:
    base = objective()
    rendered = one_problem(tmp_path, base + "okrs:\n  - id: growth\n")
    assert "OKR 'growth'" in rendered and "field 'key_results'" in rendered
    assert "is missing" in rendered
    rendered = one_problem(tmp_path, base + "okrs:\n  - id: growth\n    key_results: []\n")
    assert "OKR 'growth'" in rendered and "field 'key_results'" in rendered
    assert "non-empty list" in rendered


def test_okr_naming_an_unknown_objective(tmp_path: Path) -> None:
    text = objective() + "okrs:\n  - id: growth\n    key_results: [win-rate-h1, win-rate-h2]\n"
    rendered = one_problem(tmp_path, text)
    assert "OKR 'growth'" in rendered and "field 'key_results[2]'" in rendered
    assert "unknown objective 'win-rate-h2' (did you mean 'win-rate-h1'?)" in rendered
    assert "line 8" in rendered


def test_okr_key_result_of_a_faulty_objective_is_not_reported_twice(tmp_path: Path) -> None:
    text = objective(target="70") + "okrs:\n  - id: growth\n    key_results: [win-rate-h1]\n"
    rendered = one_problem(tmp_path, text)
    assert "field 'target'" in rendered


def test_duplicate_okr_ids(tmp_path: Path) -> None:
    okr = "  - id: growth\n    key_results: [win-rate-h1]\n"
    rendered = one_problem(tmp_path, objective() + "okrs:\n" + okr + okr)
    assert "OKR #2 (id 'growth')" in rendered and "field 'id'" in rendered
    assert "already used by the OKR on line 7" in rendered


def test_every_problem_is_listed_in_file_order(tmp_path: Path) -> None:
    text = (
        objective(metric="nope", target="x")
        + objective(id="b", direction="sideways").removeprefix("objectives:\n")
        + "okrs:\n  - id: Bad\n    key_results: [c]\n"
    )
    err = error_of(tmp_path, text)
    fields = [p.field for p in err.problems]
    assert fields == ["metric", "target", "direction", "id", "key_results[1]"]
    lines = [p.line for p in err.problems]
    assert lines == sorted(lines)
    assert f"has {len(err.problems)} problem(s)" in str(err)


# -- the shipped example ---------------------------------------------------------------


def test_the_shipped_example_validates_and_covers_the_use_cases() -> None:
    f = load_objectives_file(EXAMPLE)
    by_id = {o.id: o for o in f.objectives}
    assert len(by_id) >= 8
    metrics = {o.metric for o in f.objectives}
    assert {"new_customers", "win_rate", "pipeline_value", "sales_cycle_days"} <= metrics
    assert {"churn_rate", "ltv"} <= metrics
    assert any(o.grain == "month" and o.metric == "new_customers" for o in f.objectives)
    assert any(o.baseline is not None and o.milestones for o in f.objectives)
    assert {o.direction for o in f.objectives} == {"increase", "decrease"}
    assert {"team", "segment"} <= {o.scope_type for o in f.objectives}
    assert f.okrs and all(2 <= len(k.key_results) <= 3 for k in f.okrs)
    # relative targets (a given-free one on the period before, one on last year) and a
    # revision
    relative = [o for o in f.objectives if o.target_change is not None]
    assert {o.direction for o in relative} == {"increase", "decrease"}
    assert any(o.baseline_period == "same_last_year" for o in relative)
    assert any(o.revisions and o.revisions[0].reason for o in f.objectives)
    # The demo's as_of is yesterday (2026-11-23 when written): some objectives ended,
    # some run through it, some have not started, so the scorecard shows every status.
    as_of = date(2026, 11, 23)
    assert any(o.period_end < as_of for o in f.objectives)
    assert any(o.period_start <= as_of <= o.period_end for o in f.objectives)
    assert any(o.grain is not None and o.period_start < as_of < o.period_end for o in f.objectives)


# -- tables and their load ---------------------------------------------------------------


def test_tables_have_the_documented_schema() -> None:
    f = load_objectives_file(EXAMPLE)
    tables = objectives_tables(f)
    assert list(tables) == [
        "objectives",
        "milestones",
        "okrs",
        "okr_key_results",
        "target_rules",
        "revisions",
        "manual_metrics",
        "manual_metric_values",
        "objective_parts",
    ]
    expected = {
        "objectives": [
            ("objective_id", pa.string()),
            ("source", pa.string()),
            ("title", pa.string()),
            ("metric", pa.string()),
            ("scope_type", pa.string()),
            ("scope_value", pa.string()),
            ("period_start", pa.date32()),
            ("period_end", pa.date32()),
            ("grain", pa.string()),
            ("direction", pa.string()),
            ("target", pa.float64()),
            ("baseline", pa.float64()),
            ("at_risk", pa.float64()),
            ("off_track", pa.float64()),
        ],
        "milestones": [
            ("objective_id", pa.string()),
            ("milestone_date", pa.date32()),
            ("value", pa.float64()),
        ],
        "okrs": [("okr_id", pa.string()), ("title", pa.string())],
        "okr_key_results": [
            ("okr_id", pa.string()),
            ("objective_id", pa.string()),
            ("position", pa.int32()),
            ("weight", pa.float64()),
        ],
        "objective_parts": [
            ("objective_id", pa.string()),
            ("parent_id", pa.string()),
            ("part_kind", pa.string()),
            ("share", pa.float64()),
        ],
        "target_rules": [
            ("objective_id", pa.string()),
            ("target_rule", pa.string()),
            ("target_change", pa.float64()),
            ("baseline_period", pa.string()),
        ],
        "revisions": [
            ("objective_id", pa.string()),
            ("revised_from", pa.date32()),
            ("target", pa.float64()),
            ("target_change", pa.float64()),
            ("target_rule", pa.string()),
            ("reason", pa.string()),
        ],
        "manual_metrics": [
            ("metric", pa.string()),
            ("title", pa.string()),
            ("unit", pa.string()),
            ("aggregation", pa.string()),
            ("scopes", pa.string()),
        ],
        "manual_metric_values": [
            ("metric", pa.string()),
            ("value_date", pa.date32()),
            ("value", pa.float64()),
            ("scope_type", pa.string()),
            ("scope_value", pa.string()),
            ("note", pa.string()),
            ("file", pa.string()),
            ("line", pa.int32()),
        ],
    }
    for name, columns in expected.items():
        assert [(c.name, c.type) for c in tables[name].schema] == columns
        assert tables[name].schema == TABLE_SCHEMAS[name]
    objectives = tables["objectives"].to_pylist()
    assert [r["objective_id"] for r in objectives] == [o.id for o in f.objectives]
    assert {r["source"] for r in objectives} == {"file"}
    assert tables["milestones"].num_rows == sum(len(o.milestones) for o in f.objectives)
    assert tables["okr_key_results"].num_rows == sum(len(k.key_results) for k in f.okrs)
    first = f.okrs[0]
    rows = [r for r in tables["okr_key_results"].to_pylist() if r["okr_id"] == first.id]
    assert [(r["objective_id"], r["position"]) for r in rows] == [
        (kr, i) for i, kr in enumerate(first.key_results, start=1)
    ]
    assert objectives_tables(f, source="demo")["objectives"]["source"].to_pylist() == [
        "demo"
    ] * len(f.objectives)


def test_tables_are_typed_when_empty(tmp_path: Path) -> None:
    tables = objectives_tables(ObjectivesFile(tmp_path / "objectives.yml"))
    assert set(tables) == set(TABLE_SCHEMAS)
    for name, table in tables.items():
        assert table.num_rows == 0
        assert table.schema == TABLE_SCHEMAS[name]


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    return con


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        name: con.execute(f"SELECT * FROM raw_objectives.{name} ORDER BY ALL").fetchall()
        for name in TABLE_SCHEMAS
    }


TRICKY = """\
objectives:
  - id: q-revenue
    title: "Won revenue: O'Brien's \\"big\\" quarter'); DROP TABLE x; --"
    metric: won_revenue
    scope: {pipeline: "New business"}
    period: {start: 2026-10-01, end: 2026-12-31}
    target: 250000.50
  - id: rate
    metric: win_rate
    period: {start: 2026-01-01, end: 2026-06-30}
    baseline: 0.5
    target: 0.6
    milestones: [{date: 2026-03-31, value: 0.55}]
okrs:
  - id: growth
    title: Grow
    key_results: [rate, q-revenue]
"""


def test_write_objectives_loads_typed_rows(tmp_path: Path) -> None:
    f = load_objectives_file(write(tmp_path, TRICKY))
    con = _connect(tmp_path / "build.duckdb")
    write_objectives(con, f)
    types = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'raw_objectives' AND table_name = 'objectives' "
        "ORDER BY ordinal_position"
    ).fetchall()
    assert types[0] == ("objective_id", "VARCHAR", "NO")
    assert ("period_start", "DATE", "NO") in types and ("baseline", "DOUBLE", "YES") in types
    rows = _contents(con)
    assert rows["objectives"][0][:6] == (
        "q-revenue",
        "file",
        "Won revenue: O'Brien's \"big\" quarter'); DROP TABLE x; --",
        "won_revenue",
        "pipeline",
        "New business",
    )
    assert rows["objectives"][0][10] == 250000.50
    assert rows["milestones"] == [("rate", date(2026, 3, 31), 0.55)]
    assert rows["okrs"] == [("growth", "Grow")]
    assert rows["okr_key_results"] == [
        ("growth", "q-revenue", 2, 1.0),
        ("growth", "rate", 1, 1.0),
    ]


def test_write_objectives_replaces_the_previous_load(tmp_path: Path) -> None:
    con = _connect(tmp_path / "build.duckdb")
    write_objectives(con, load_objectives_file(write(tmp_path, TRICKY)))
    write_objectives(con, load_objectives_file(write(tmp_path, objective(), "b.yml")))
    rows = _contents(con)
    assert [r[0] for r in rows["objectives"]] == ["win-rate-h1"]
    assert rows["milestones"] == rows["okrs"] == rows["okr_key_results"] == []
    write_objectives(con, load_objectives_file(write(tmp_path, "", "empty.yml")))
    assert all(v == [] for v in _contents(con).values())


def test_a_failed_write_leaves_the_previous_tables(tmp_path: Path) -> None:
    con = _connect(tmp_path / "build.duckdb")
    write_objectives(con, load_objectives_file(write(tmp_path, TRICKY)))
    before = _contents(con)
    # A view in the place of `okrs`: replacing it with a table fails half-way, after
    # `objectives` and `milestones` were already replaced inside the transaction.
    con.execute("DROP TABLE raw_objectives.okrs")
    con.execute("CREATE VIEW raw_objectives.okrs AS SELECT 'old' AS okr_id, 'Old' AS title")
    with pytest.raises(duckdb.Error):
        write_objectives(con, load_objectives_file(write(tmp_path, objective(), "b.yml")))
    after = _contents(con)
    assert after["objectives"] == before["objectives"]
    assert after["milestones"] == before["milestones"]
    assert after["okrs"] == [("old", "Old")]
    # The connection is usable again: no transaction was left open.
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    # And the committed state on disk is the old one.
    assert _contents(_connect(tmp_path / "build.duckdb"))["objectives"] == before["objectives"]


class _FailingSecondInsert:
    """A connection whose second INSERT fails, as a full disk or a killed query would."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.inserts = 0

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        if sql.lstrip().upper().startswith("INSERT"):
            self.inserts += 1
            if self.inserts == 2:
                raise duckdb.IOException("simulated failure during the second insert")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def test_a_failure_on_the_second_insert_rolls_everything_back(tmp_path: Path) -> None:
    con = _connect(tmp_path / "build.duckdb")
    old = load_objectives_file(write(tmp_path, TRICKY))
    write_objectives(con, old)
    before = _contents(con)
    failing = _FailingSecondInsert(con)
    with pytest.raises(duckdb.IOException, match="second insert"):
        write_objectives(failing, load_objectives_file(write(tmp_path, objective(), "b.yml")))  # type: ignore[arg-type]
    assert failing.inserts == 2
    assert _contents(con) == before
    # A reader on another connection never saw anything else either.
    reader = con.cursor()
    reader.execute("SET TimeZone = 'UTC'")
    assert _contents(reader) == before
