"""OKR scores (docs/objectives.md, "OKR scores"): weighted key results in the objectives
file, and okr_key_result_scores / okr_progress against values worked out by hand from
the 15-deal export (tests/fixtures/export_small) and tests/fixtures/objectives_okr.yml,
as of 2026-07-15."""

from __future__ import annotations

from pathlib import Path

import pytest

from objectives import load_objectives_file, objectives_tables
from tests.conftest import FIXTURES
from tests.objectives.export_runs import AS_OF, run_export
from tests.objectives.test_objectives_file import error_of, objective, one_problem, write
from tests.utils import query

OKR_FILE = FIXTURES / "objectives_okr.yml"


# -- the file --------------------------------------------------------------------------


def test_weights_are_read_and_loaded(tmp_path: Path) -> None:
    text = (
        objective()
        + objective(id="b").removeprefix("objectives:\n")
        + "okrs:\n  - id: growth\n    key_results: [win-rate-h1, {objective: b, weight: 2.5}]\n"
        + "  - id: equal\n    key_results: [{objective: b}, win-rate-h1]\n"
    )
    f = load_objectives_file(write(tmp_path, text))
    growth, equal = f.okrs
    assert growth.key_results == ("win-rate-h1", "b") and growth.weights == (1.0, 2.5)
    assert equal.key_results == ("b", "win-rate-h1") and equal.weights == ()
    rows = objectives_tables(f)["okr_key_results"].to_pylist()
    assert [(r["okr_id"], r["objective_id"], r["position"], r["weight"]) for r in rows] == [
        ("growth", "win-rate-h1", 1, 1.0),
        ("growth", "b", 2, 2.5),
        ("equal", "b", 1, 1.0),
        ("equal", "win-rate-h1", 2, 1.0),
    ]


@pytest.mark.parametrize(
    ("weight", "says"),
    [
        ("0", "0 must be a positive number"),
        ("-2", "-2 must be a positive number"),
        ("two", "must be a number"),
        (".inf", "must be a finite number"),
    ],
)
def test_a_weight_that_is_not_positive(tmp_path: Path, weight: str, says: str) -> None:
    text = (
        objective()
        + "okrs:\n  - id: growth\n"
        + f"    key_results: [{{objective: win-rate-h1, weight: {weight}}}]\n"
    )
    rendered = one_problem(tmp_path, text)
    assert "line 8" in rendered and "OKR 'growth'" in rendered
    assert "field 'key_results[1].weight'" in rendered and says in rendered


def test_a_weighted_key_result_naming_an_unknown_objective(tmp_path: Path) -> None:
    text = (
        objective()
        + "okrs:\n  - id: growth\n    key_results:\n      - {objective: win-rate-h2, weight: 2}\n"
    )
    rendered = one_problem(tmp_path, text)
    assert "line 9" in rendered and "field 'key_results[1].objective'" in rendered
    assert "unknown objective 'win-rate-h2' (did you mean 'win-rate-h1'?)" in rendered


def test_a_weighted_key_result_without_objective_or_with_an_unknown_field(tmp_path: Path) -> None:
    text = objective() + "okrs:\n  - id: growth\n    key_results:\n      - {weight: 2}\n"
    rendered = one_problem(tmp_path, text)
    assert "field 'key_results[1].objective'" in rendered and "is missing" in rendered
    text = (
        objective()
        + "okrs:\n  - id: growth\n    key_results:\n      - {objective: win-rate-h1, weigth: 2}\n"
    )
    rendered = one_problem(tmp_path, text)
    assert "field 'key_results[1].weigth'" in rendered and "did you mean 'weight'?" in rendered


def test_a_weighted_key_result_listed_twice(tmp_path: Path) -> None:
    text = (
        objective()
        + "okrs:\n  - id: growth\n"
        + "    key_results: [win-rate-h1, {objective: win-rate-h1, weight: 2}]\n"
    )
    err = error_of(tmp_path, text)
    assert [p.field for p in err.problems] == ["key_results[2].objective"]
    assert "lists 'win-rate-h1' twice" in str(err)


# -- the marts -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_export(tmp_path_factory.mktemp("okr"), OKR_FILE)


# Hand-computed from the export (dates in UTC, as of 2026-07-15):
# july-wins: won 1 (deal 8, 07-01) of 4: attainment 0.25; milestone 07-20 (value 1) is
#   after as_of, so not reached yet although deal 8 already meets it.
# revenue-q2-july: won Apr 1 - Jul 15 17,500 of 30,000; milestone 05-31 at 10,000: won
#   Apr 1 - May 31 deals 2 (4,000.00) and 5 (7,500) = 11,500 >= 10,000: reached.
# win-rate-h2: Apr 1 - Jul 15 0.5 against baseline 0.5: attainment 0; milestone 06-30 at
#   0.6: Apr 1 - Jun 30 won 2, 5, lost 3, 6, 11 = 0.4 < 0.6: not reached.
# cycle-down (decrease): 63.5 d, baseline 70, target 50: attainment 0.325; milestone
#   06-30 at 66 d: won May 1 - Jun 30 deal 5 (66 d) <= 66: reached (on the boundary).
SCORES = {
    "july-wins": (3.0, 0.25, 1, 0),
    "revenue-q2-july": (1.0, 17500 / 30000, 1, 1),
    "win-rate-h2": (2.0, 0.0, 1, 0),
    "cycle-down": (0.5, 0.325, 1, 1),
}


def test_key_result_scores(serving: Path) -> None:
    rows = query(
        serving,
        "SELECT objective_id, position, weight, score, milestones_total, milestones_reached, "
        "status FROM marts.okr_key_result_scores WHERE okr_id = 'weighted' AND as_of = ? "
        "ORDER BY position",
        [AS_OF],
    )
    assert [r[0] for r in rows] == list(SCORES)
    assert [r[1] for r in rows] == [1, 2, 3, 4]
    for objective_id, _, weight, score, total, reached, _status in rows:
        w, s, t, r = SCORES[objective_id]
        assert (weight, total, reached) == (w, t, r), objective_id
        assert score == pytest.approx(s), objective_id
    # july-wins' milestone puts (20/31, 1) on its expected path: 0.75 at 15/31, pace 1.33
    assert rows[0][6] == "on_track"


def test_weighted_okr_score(serving: Path) -> None:
    columns = [r[0] for r in query(serving, "DESCRIBE marts.okr_progress")]
    assert columns == [
        "okr_id",
        "title",
        "as_of",
        "key_results",
        "progress",
        "worst_status",
        "score",
        "milestones_reached",
        "milestones_total",
    ]
    rows = dict(
        (r[0], r[1:])
        for r in query(
            serving,
            "SELECT okr_id, progress, score, milestones_reached, milestones_total "
            "FROM marts.okr_progress WHERE as_of = ?",
            [AS_OF],
        )
    )
    progress, score, reached, total = rows["weighted"]
    # (3 x 0.25 + 1 x 0.58333 + 2 x 0 + 0.5 x 0.325) / 6.5 = 0.2301
    assert score == pytest.approx((3 * 0.25 + 17500 / 30000 + 0.5 * 0.325) / 6.5)
    assert progress == pytest.approx((0.25 + 17500 / 30000 + 0 + 0.325) / 4)  # unweighted
    assert (reached, total) == (2, 4)
    progress, score, reached, total = rows["plain"]
    # equal weights: the score is the progress
    assert score == pytest.approx((0.25 + 17500 / 30000) / 2) == progress
    assert (reached, total) == (1, 2)
