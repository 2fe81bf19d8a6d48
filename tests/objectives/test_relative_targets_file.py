"""The objectives file's relative targets and revisions: what is accepted, what is
refused (file, line, field, what to write instead), and the rows they load as."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from objectives import load_objectives_file, objectives_tables
from objectives.model import Revision
from tests.objectives.test_objectives_file import objective, one_problem, write


def test_a_relative_target_is_kept_as_its_change(tmp_path: Path) -> None:
    f = load_objectives_file(
        write(tmp_path, objective(metric="won_revenue", target='"+40%"', baseline="1000"))
    )
    (o,) = f.objectives
    assert (o.target, o.target_change, o.target_rule) == (None, pytest.approx(0.4), "+40%")
    assert (o.direction, o.baseline, o.baseline_period) == ("increase", 1000, None)


@pytest.mark.parametrize(
    ("fields", "change", "rule", "direction"),
    [
        ({"target": "-25%", "metric": "sales_cycle_days"}, -0.25, "-25%", "decrease"),
        ({"target": "'+ 12.5 %'"}, 0.125, "+12.5%", "increase"),
        ({"target": None, "target_change": "0.40"}, 0.40, "+40%", "increase"),
        (
            {"target": None, "target_change": "-0.1", "direction": "decrease"},
            -0.1,
            "-10%",
            "decrease",
        ),
    ],
)
def test_relative_forms(
    tmp_path: Path, fields: dict[str, str | None], change: float, rule: str, direction: str
) -> None:
    (o,) = load_objectives_file(write(tmp_path, objective(**fields))).objectives
    assert o.target_change == pytest.approx(change)
    assert (o.target_rule, o.direction, o.target) == (rule, direction, None)


def test_a_baseline_period(tmp_path: Path) -> None:
    text = objective(metric="won_deals", target='"+20%"', baseline="{period: same_last_year}")
    (o,) = load_objectives_file(write(tmp_path, text)).objectives
    assert (o.baseline, o.baseline_period, o.target_change) == (None, "same_last_year", 0.2)


def test_revisions_are_kept_in_order(tmp_path: Path) -> None:
    text = objective(
        revisions="[{from: 2026-03-01, target: 0.65, reason: market downturn}, "
        "{from: 2026-05-01, target: '+10%'}]",
        baseline="0.5",
    )
    (o,) = load_objectives_file(write(tmp_path, text)).objectives
    assert o.revisions == (
        Revision(date(2026, 3, 1), 0.65, None, None, "market downturn"),
        Revision(date(2026, 5, 1), None, pytest.approx(0.1), "+10%", None),
    )
    assert o.needs_reference


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"target": "+40"}, "target", 'write "+40%" (quoted)'),
        ({"target": "-25", "metric": "sales_cycle_days"}, "target", "has a sign but no '%'"),
        ({"target_change": "0.4"}, "target_change", "keep one"),
        ({"target": None}, "target", 'a change such as "+40%"'),
        ({"target": '"+0%"'}, "target", "a change of 0 %"),
        ({"target": None, "target_change": "-1.5"}, "target_change", "at most -100%"),
        ({"target": '"+40%"', "direction": "decrease"}, "direction", "contradicts the target"),
        ({"baseline": "{period: last_week}"}, "baseline.period", "same_last_year"),
        ({"baseline": "{value: 3}"}, "baseline.value", "unknown"),
        (
            {"metric": "won_deals", "target": "5", "baseline": "{period: same_last_year}"},
            "baseline",
            "only as the reference of a relative target",
        ),
        (
            {"revisions": "[{from: 2026-07-01, target: 0.6}]"},
            "revisions[1].from",
            "outside the period 2026-01-01..2026-06-30",
        ),
        (
            {"revisions": "[{from: 2026-01-01, target: 0.6}]"},
            "revisions[1].from",
            "after the start",
        ),
        (
            {"revisions": "[{from: 2026-04-01, target: 0.6}, {from: 2026-03-01, target: 0.65}]"},
            "revisions[2].from",
            "not after the previous revision's 2026-04-01",
        ),
        ({"revisions": "[{from: 2026-04-01}]"}, "revisions[1].target", "is missing"),
        ({"revisions": "[{from: 2026-04-01, target: +5}]"}, "revisions[1].target", "no '%'"),
        ({"revisions": "{from: 2026-04-01, target: 0.6}"}, "revisions", "must be a list"),
        (
            {"baseline": "0.5", "revisions": "[{from: 2026-04-01, target: 0.4}]"},
            "revisions",
            "below the baseline 0.5",
        ),
    ],
)
def test_refused(tmp_path: Path, fields: dict[str, str | None], field: str, says: str) -> None:
    rendered = one_problem(tmp_path, objective(**fields))
    assert f"field '{field}'" in rendered, rendered
    assert says in rendered, rendered
    assert "line " in rendered


def test_rows_of_the_target_rules_and_revisions_tables(tmp_path: Path) -> None:
    text = (
        objective(target='"+40%"')
        + "  - "
        + "\n    ".join(
            [
                "id: revised",
                "metric: won_revenue",
                "period: {start: 2026-01-01, end: 2026-06-30}",
                "target: 30000",
                "revisions: [{from: 2026-04-01, target: 15000, reason: downturn}]",
            ]
        )
        + "\n"
    )
    tables = objectives_tables(load_objectives_file(write(tmp_path, text)))
    assert tables["objectives"].column("target").to_pylist() == [None, 30000]
    assert tables["target_rules"].to_pylist() == [
        {
            "objective_id": "win-rate-h1",
            "target_rule": "+40%",
            "target_change": pytest.approx(0.4),
            "baseline_period": None,
        }
    ]
    assert tables["revisions"].to_pylist() == [
        {
            "objective_id": "revised",
            "revised_from": date(2026, 4, 1),
            "target": 15000,
            "target_change": None,
            "target_rule": None,
            "reason": "downturn",
        }
    ]
