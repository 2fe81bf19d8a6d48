"""Cascades (docs/objectives.md, "Cascades"): `split:` parts in the objectives file, the
refusal of a bad split, and the parts measured as objectives against values worked out
by hand from the 15-deal export (tests/fixtures/export_small) and
tests/fixtures/objectives_okr.yml, as of 2026-07-15."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from objectives import load_objectives_file, objectives_tables
from tests.conftest import FIXTURES
from tests.objectives.test_objectives_file import error_of, objective, one_problem, write
from tests.objectives.test_okr_scores import AS_OF, serving  # noqa: F401 (the fixture)
from tests.utils import query, run_cli

REVENUE = """\
objectives:
  - id: revenue
    title: Revenue
    metric: won_revenue
    period: {start: 2026-01-01, end: 2026-06-30}
    target: 100
    split:
"""


def split(*parts: str, head: str = REVENUE) -> str:
    return head + "".join(f"      - {p}\n" for p in parts)


# -- the file --------------------------------------------------------------------------


def test_a_split_becomes_objectives_after_its_parent(tmp_path: Path) -> None:
    text = split("{team: Enterprise, target: 50}", "{team: SMB AB, share: 0.3}")
    f = load_objectives_file(write(tmp_path, text))
    got = [(o.id, o.scope_type, o.scope_value, o.target, o.parent_id) for o in f.objectives]
    assert got == [
        ("revenue", "company", "all", 100, None),
        ("revenue--team-enterprise", "team", "Enterprise", 50, "revenue"),
        ("revenue--team-smb-ab", "team", "SMB AB", pytest.approx(30), "revenue"),
        ("revenue--unassigned", "company", "all", pytest.approx(20), "revenue"),
    ]
    assert [o.title for o in f.objectives[1:]] == [
        "Revenue · team Enterprise",
        "Revenue · team SMB AB",
        "Revenue · unassigned",
    ]
    rows = objectives_tables(f)["objective_parts"].to_pylist()
    assert [(r["objective_id"], r["part_kind"], r["share"]) for r in rows] == [
        ("revenue--team-enterprise", "part", None),
        ("revenue--team-smb-ab", "part", 0.3),
        ("revenue--unassigned", "unassigned", None),
    ]


def test_parts_that_add_up_leave_no_remainder(tmp_path: Path) -> None:
    text = split("{owner: o-17, target: 60}", "{owner: o-18, share: 0.4}")
    f = load_objectives_file(write(tmp_path, text))
    assert [o.id for o in f.objectives] == ["revenue", "revenue--owner-o-17", "revenue--owner-o-18"]


def test_parts_above_the_parent_are_refused(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, split("{team: A, target: 70}", "{team: B, share: 0.4}"))
    assert (
        "line 8" in rendered and "objective 'revenue'" in rendered and "field 'split'" in rendered
    )
    assert "add up to 110, above the objective's target 100" in rendered
    rendered = one_problem(tmp_path, split("{team: A, share: 0.7}", "{team: B, share: 0.4}"))
    assert "shares add up to 1.1, more than 1" in rendered


@pytest.mark.parametrize(
    ("part", "field", "says"),
    [
        (
            "{team: A, share: 0}",
            "split[1].share",
            "must be a share of the parent's target in (0, 1]",
        ),
        ("{team: A, share: 40}", "split[1].share", "(write 0.4)"),
        ("{team: A}", "split[1]", "gives neither target nor share"),
        ("{team: A, target: 5, share: 0.1}", "split[1]", "gives both target and share"),
        ("{team: A, owner: b, target: 5}", "split[1]", "names team and owner"),
        ("{target: 5}", "split[1]", "names no scope"),
        ("{team: A, targt: 5}", "split[1].targt", "did you mean 'target'?"),
        ("Enterprise", "split[1]", "must be a mapping"),
    ],
)
def test_a_bad_part_is_refused(tmp_path: Path, part: str, field: str, says: str) -> None:
    rendered = one_problem(tmp_path, split(part))
    assert "line 8" in rendered and f"field '{field}'" in rendered and says in rendered


def test_a_bad_split_is_refused(tmp_path: Path) -> None:
    rendered = one_problem(tmp_path, split("{team: A, target: 5}", "{owner: b, target: 5}"))
    assert "field 'split'" in rendered and "mixes owner and team" in rendered
    rendered = one_problem(tmp_path, split("{team: A, target: 5}", "{team: A, target: 5}"))
    assert "field 'split[2].team'" in rendered and "already has a part (line 8)" in rendered
    rendered = one_problem(tmp_path, REVENUE.replace("    split:\n", "    split: []\n"))
    assert "field 'split'" in rendered and "non-empty list" in rendered
    scoped = REVENUE.replace("    target: 100\n", "    scope: {team: A}\n    target: 100\n")
    rendered = one_problem(tmp_path, split("{team: B, target: 5}", head=scoped))
    assert "field 'split[1].team'" in rendered and "split it by another scope" in rendered


def test_a_level_is_split_by_targets_only(tmp_path: Path) -> None:
    head = objective(split="").replace("split: ", "split:")
    rendered = one_problem(tmp_path, head + "      - {team: A, share: 0.5}\n")
    assert "field 'split[1].share'" in rendered and "win_rate is a level" in rendered
    f = load_objectives_file(write(tmp_path, head + "      - {team: A, target: 0.9}\n"))
    # no remainder: a level's parts do not add up to it
    assert [o.id for o in f.objectives] == ["win-rate-h1", "win-rate-h1--team-a"]
    rendered = one_problem(tmp_path, head + "      - {team: A, target: 1.5}\n")
    assert "field 'split[1].target'" in rendered and "outside [0, 1]" in rendered


def test_a_generated_id_already_taken_is_refused(tmp_path: Path) -> None:
    text = split("{team: A, target: 5}") + objective(id="revenue--team-a").removeprefix(
        "objectives:\n"
    )
    err = error_of(tmp_path, text)
    assert [p.field for p in err.problems] == ["split"]
    assert "makes objective 'revenue--team-a', an id the objective on line 9" in str(err)


# -- the marts -------------------------------------------------------------------------


def progress(serving: Path, objective_id: str) -> dict:  # noqa: F811
    rows = query(
        serving,
        "SELECT * FROM marts.objective_progress WHERE objective_id = ? AND as_of = ?",
        [objective_id, AS_OF],
    )
    assert len(rows) == 1, (objective_id, rows)
    columns = [r[0] for r in query(serving, "DESCRIBE marts.objective_progress")]
    return dict(zip(columns, rows[0], strict=True))


# cascade-revenue, won_revenue Apr 1 - Jul 31 (122 days, 106 elapsed), target 30,000:
# Enterprise (Alice) 12,000, SMB (Bob) 0.4 x 30,000 = 12,000, unassigned 6,000 (20 %).
# Won Apr 1 - Jul 15: deal 2 (Bob, 4,000.00), 5 (Carla, no team, 7,500), 8 (Alice, 6,000).
SHARE = 106 / 122
CASCADE = {
    # id: (scope_type, scope_value, target, actual)
    "cascade-revenue": ("company", "all", 30000, 17500),
    "cascade-revenue--team-enterprise": ("team", "Enterprise", 12000, 6000),
    "cascade-revenue--team-smb": ("team", "SMB", 12000, 4000),
    # the parent's actual less its parts': Carla's deal, in no team
    "cascade-revenue--unassigned": ("company", "all", 6000, 7500),
}


def test_a_cascade_leaving_20_percent_unassigned(serving: Path) -> None:  # noqa: F811
    for objective_id, (scope_type, scope_value, target, actual) in CASCADE.items():
        row = progress(serving, objective_id)
        assert (row["scope_type"], row["scope_value"]) == (scope_type, scope_value)
        assert row["target"] == pytest.approx(target), objective_id
        assert row["actual"] == pytest.approx(actual), objective_id
        assert row["expected"] == pytest.approx(target * SHARE), objective_id
        assert row["pace"] == pytest.approx(actual / (target * SHARE)), objective_id
        assert row["attainment"] == pytest.approx(actual / target), objective_id
        assert row["parent_id"] == (
            None if objective_id == "cascade-revenue" else "cascade-revenue"
        )
    statuses = {k: progress(serving, k)["status"] for k in CASCADE}
    assert statuses == {
        "cascade-revenue": "off_track",  # pace 0.672
        "cascade-revenue--team-enterprise": "off_track",  # 0.576
        "cascade-revenue--team-smb": "off_track",  # 0.384
        "cascade-revenue--unassigned": "on_track",  # 1.439
    }
    [flag] = query(
        serving,
        "SELECT objective_id, severity, value, reference_value, deviation, message "
        "FROM marts.variance_flags WHERE flag_type = 'split_unassigned' AND as_of = ?",
        [AS_OF],
    )
    assert flag[:2] == ("cascade-revenue--unassigned", "info")
    assert flag[2:5] == (pytest.approx(7500), pytest.approx(6000), pytest.approx(0.2))
    assert flag[5] == (
        "Win 30 k EUR by July: 20 % of the target (6,000 EUR of 30,000 EUR) is assigned "
        "to none of its parts; the rest measured 7,500 EUR so far"
    )


def test_a_level_cascade(serving: Path) -> None:  # noqa: F811
    enterprise = progress(serving, "cascade-win-rate--team-enterprise")
    # Alice: won 8 (07-01) in the period; the 183 days before: won 1 (03-31), lost 13
    assert enterprise["actual"] == pytest.approx(1.0)
    assert enterprise["baseline"] == pytest.approx(0.5)
    assert enterprise["target"] == pytest.approx(0.9)
    assert enterprise["attainment"] == pytest.approx((1.0 - 0.5) / (0.9 - 0.5))
    smb = progress(serving, "cascade-win-rate--team-smb")
    # Bob (SMB) from 04-01: won 2 (04-01), lost 3 (04-20) and 11 (06-20)
    assert smb["actual"] == pytest.approx(1 / 3)
    assert smb["target"] == pytest.approx(0.5)
    # a level leaves no remainder
    assert not query(
        serving,
        "SELECT 1 FROM marts.objective_progress "
        "WHERE objective_id = 'cascade-win-rate--unassigned'",
    )
    parents = dict(
        query(serving, "SELECT objective_id, parent_id FROM marts.dim_objectives ORDER BY 1")
    )
    assert parents["cascade-win-rate--team-smb"] == "cascade-win-rate"
    assert parents["cascade-win-rate"] is None and parents["july-wins"] is None


def test_the_scorecard_shows_the_tree(serving: Path) -> None:  # noqa: F811
    result = run_cli("status", "--format", "text", env={"CRM_KPI_DATA_DIR": str(serving.parent)})
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index("Win 30 k EUR by July")
    # the parts right under their parent (their own order: off track, then on track)
    parts = [line for line in lines[start + 1 :] if line.startswith("↳ ")][:3]
    assert parts == ["↳ team Enterprise", "↳ team SMB", "↳ unassigned"]
    between = lines[start : lines.index("↳ unassigned")]
    assert not any(line in ("Win rate h2", "july-wins") for line in between)


def test_a_part_on_a_team_the_crm_lacks_is_no_data_with_its_reason(
    serving: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The CRM's teams are known only once it is loaded: a part on one it lacks (a typo,
    or the shipped example's demo teams on another CRM) is measured, and says why it has
    no data, like any objective's scope; the run is not stopped."""
    bad = write(
        tmp_path,
        split("{team: Enterprise, target: 50}", "{team: Ghost, target: 20}"),
    )
    data_dir = tmp_path / "data"
    shutil.copytree(serving.parent, data_dir, ignore=shutil.ignore_patterns("*.lock"))
    result = run_cli(
        "objectives",
        env={
            "CRM_KPI_DATA_DIR": str(data_dir),
            "CRM_KPI_OBJECTIVES": str(bad),
            "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
        },
    )
    assert result.returncode == 0, result.stderr
    (row,) = query(
        data_dir / "serving.duckdb",
        "SELECT status, status_reason, parent_id FROM marts.objective_progress "
        "WHERE objective_id = 'revenue--team-ghost'",
    )
    assert row == ("no_data", "no team 'Ghost' in the CRM data", "revenue")
