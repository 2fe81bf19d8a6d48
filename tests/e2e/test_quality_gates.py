"""The quality gates in a real run: a blocking expectation stops the publish and says
why; a warning is reported and the marts are published."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

from tests.conftest import FIXTURES
from tests.utils import query, run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_collapsing_table_blocks_the_publish(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "export_small", export)
    env = {"SOURCES__FILES__PATH": str(export)}
    first = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert first.returncode == 0, first.stderr
    # the deal with no account was kept, counted under (none), and reported
    assert "the deal has an account" in first.stderr
    serving = tmp_path / "data" / "serving.duckdb"
    before = digest(serving)

    # the next export lost two thirds of its deals (and their history)
    with open(export / "deals.csv") as f:
        rows = list(csv.reader(f))
    kept = rows[:6]
    with open(export / "deals.csv", "w", newline="") as f:
        csv.writer(f).writerows(kept)
    kept_ids = {r[0] for r in kept[1:]}
    with open(export / "stage_history.csv") as f:
        history = [r for r in csv.reader(f) if r[0] == "deal_id" or r[0] in kept_ids]
    with open(export / "stage_history.csv", "w", newline="") as f:
        csv.writer(f).writerows(history)

    second = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert second.returncode == 1
    assert "serving.duckdb was left as it was" in second.stderr
    assert "raw_files.deals" in second.stderr
    assert "5 rows" in second.stderr and "15" in second.stderr
    assert "CRM_KPI_MAX_SHRINK" in second.stderr
    assert digest(serving) == before
    assert query(serving, "SELECT count(*) FROM marts.fct_opportunities") == [(14,)]

    # a shrink the operator expects: allowed with a looser limit
    third = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        "2026-07-15",
        env={**env, "CRM_KPI_MAX_SHRINK": "0.9"},
    )
    assert third.returncode == 0, third.stderr
    assert query(serving, "SELECT count(*) FROM marts.fct_opportunities") == [(5,)]


def test_a_bad_row_is_quarantined_and_blocks_only_above_the_share(tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "export_small", export)
    # deal 3 "closed" a month before it was created: a row-level problem
    text = (export / "deals.csv").read_text()
    (export / "deals.csv").write_text(
        text.replace(
            "2026-02-15T10:00:00Z,2026-04-20T12:00:00Z", "2026-02-15T10:00:00Z,2026-01-20T12:00:00Z"
        )
    )
    env = {"SOURCES__FILES__PATH": str(export)}
    blocked = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert blocked.returncode == 1
    assert "1 x closed before it was created" in blocked.stderr
    assert '"opportunity_id": "files:3"' in blocked.stderr
    assert not (tmp_path / "data" / "serving.duckdb").exists()

    allowed = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        "2026-07-15",
        env={**env, "CRM_KPI_MAX_QUARANTINE_SHARE": "0.1"},
    )
    assert allowed.returncode == 0, allowed.stderr
    build = tmp_path / "data" / "build.duckdb"
    assert query(build, "SELECT opportunity_id, reason FROM quarantine.opportunities") == [
        ("files:3", "closed before it was created")
    ]
    serving = tmp_path / "data" / "serving.duckdb"
    # never counted: 3 was the only loss of April
    assert query(
        serving,
        "SELECT value FROM marts.kpi_values WHERE metric = 'lost_deals' AND grain = 'month' "
        "AND scope_type = 'company' AND period_start = '2026-04-01'",
    ) == [(0.0,)]


MARTS = {
    "kpi_values": "SELECT * FROM marts.kpi_values ORDER BY ALL",
    "funnel": "SELECT * FROM marts.fct_funnel_conversion ORDER BY ALL",
    "pipeline": "SELECT * FROM marts.fct_pipeline_daily ORDER BY ALL",
    # Days in stage are DOUBLE means and percentiles: their last bits may differ from one
    # run to the next (parallel aggregation), so they are compared to the microday.
    "time_in_stage": (
        "SELECT stage, scope_type, scope_value, stays, round(mean_days, 6), "
        "round(median_days, 6), round(p75_days, 6), round(p90_days, 6), as_of "
        "FROM marts.fct_time_in_stage ORDER BY ALL"
    ),
}


def test_history_of_deleted_deals_is_quarantined_and_blocks_only_above_the_share(
    tmp_path: Path,
) -> None:
    """Two history rows of deals deleted from deals.csv (of 29 rows up to as_of): the run
    warns with file, line and deal, keeps them in quarantine.stage_history and publishes
    the same marts as without them; above the share it is refused, serving untouched."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "export_small", export)
    env = {"SOURCES__FILES__PATH": str(export)}
    args = ("run", "--source", "files", "--as-of", "2026-07-15")
    clean = run_cli(*args, env=env)
    assert clean.returncode == 0, clean.stderr
    serving = tmp_path / "data" / "serving.duckdb"
    build = tmp_path / "data" / "build.duckdb"
    before = {name: query(serving, sql) for name, sql in MARTS.items()}
    assert all(before.values())
    published = digest(serving)

    with open(export / "stage_history.csv", "a") as f:
        f.write("99,Proposal,2026-04-11T09:00:00Z\nD-98,Qualification,2026-05-02T09:00:00Z\n")
    warning = "stage_history.csv, line 31, column 'deal_id': '99' is not a deal_id of deals.csv"

    # 2 of 2 + 27 rows up to as_of = 6.9 %, above the default 1 %
    refused = run_cli(*args, env=env)
    assert refused.returncode == 1
    assert "serving.duckdb was left as it was" in refused.stderr
    assert "rows quarantined are at most 1 % of stage_history" in refused.stderr
    assert "2 quarantined by this run, 27 kept in intermediate.int_stage_history" in refused.stderr
    assert "2 of 29 rows (6.9 %) fail" in refused.stderr
    assert '"opportunity_id": "files:99"' in refused.stderr
    assert digest(serving) == published

    allowed = run_cli(*args, env={**env, "CRM_KPI_MAX_QUARANTINE_SHARE": "0.1"})
    assert allowed.returncode == 0, allowed.stderr
    summary = allowed.stderr.split("warning(s):", 1)[1]
    assert f"  - {warning}; 2 history row(s) name deals deals.csv lacks" in summary
    assert query(
        build,
        "SELECT opportunity_id, source, stage, reason FROM quarantine.stage_history ORDER BY 1",
    ) == [
        ("files:99", "files", "Proposal", "no deal of this id among the source's deals"),
        ("files:D-98", "files", "Qualification", "no deal of this id among the source's deals"),
    ]
    assert query(build, "SELECT count(*) FROM raw_files.stage_history") == [(31,)]
    assert query(build, "SELECT count(*) FROM intermediate.int_stage_history") == [(27,)]
    assert {name: query(serving, sql) for name, sql in MARTS.items()} == before


def test_owner_emails_reach_the_marts_only_as_salted_hashes(tmp_path: Path) -> None:
    env = {
        "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
        "CRM_KPI_PII_SALT": "pepper",
    }
    result = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert result.returncode == 0, result.stderr
    serving = tmp_path / "data" / "serving.duckdb"
    expected = hashlib.sha256(b"pepperalice.martin@example.com").hexdigest()
    assert query(serving, "SELECT email_hash FROM marts.dim_owners WHERE owner_id = 'files:1'") == [
        (expected,)
    ]
    # no column of any marts table holds an address
    for (table,) in query(
        serving, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
    ):
        columns = [c for c, t, *_ in query(serving, f"DESCRIBE marts.{table}") if t == "VARCHAR"]
        for column in columns:
            pattern = "'@[a-z0-9.-]+[.][a-z]+'"
            hits = query(
                serving,
                f"SELECT count(*) FROM marts.{table} WHERE regexp_matches({column}, {pattern})",
            )[0][0]
            assert hits == 0, f"an e-mail address in marts.{table}.{column}"
    # the salt is in no log dbt wrote
    logs = " ".join(p.read_text(errors="ignore") for p in (tmp_path / "data").rglob("*.log"))
    assert "pepper" not in logs
