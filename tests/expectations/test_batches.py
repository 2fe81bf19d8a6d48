"""Tables validated in batches give the same verdicts and counts as in one batch, with
batches no bigger than asked: duplicates far apart in the table are still found."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from expectations import gx_engine
from expectations.runner import QualitySettings, run_suites
from tests.expectations.builders import RUN_ID, make_build, open_build

ROWS = 10_000
CHUNK = 2048

# 10,000 deals with defects spread over the whole table. Duplicated ids sit at both
# ends (rows 0 and 9999) and in the middle, so no single stream batch holds both copies.
DEALS = f"""
DELETE FROM intermediate.int_opportunities;
INSERT INTO intermediate.int_opportunities
SELECT
    CASE WHEN i = {ROWS - 1} THEN 'files:0' WHEN i = 5001 THEN 'files:5000'
         WHEN i IN (100, 4000, 8000) THEN NULL ELSE 'files:' || i END,
    'files',
    CASE WHEN i % 997 = 1 THEN 'files:unknown' || i WHEN i % 751 = 2 THEN NULL
         ELSE 'files:' || (10 + i % 3) END,
    'files:' || (1 + i % 2),
    'New Business',
    'Closed Won',
    CASE WHEN i % 1999 = 3 THEN 'pending' ELSE 'won' END,
    CASE WHEN i % 2503 = 4 THEN -1 ELSE 100 + i END,
    'EUR',
    CASE WHEN i % 3001 = 7 THEN NULL ELSE 100 + i END,
    TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(i),
    CASE WHEN i % 1409 = 5 THEN NULL ELSE TIMESTAMPTZ '2026-03-01 00:00:00+00' END,
    'new_business', NULL, NULL, NULL, NULL, NULL,
    TIMESTAMPTZ '2026-03-01 00:00:00+00',
    DATE '2026-01-01',
    CASE WHEN i % 1663 = 6 THEN DATE '2025-12-01' ELSE DATE '2026-03-01' END,
    1,
    DATE '2026-03-01'
FROM range({ROWS}) AS t(i);
"""
# Three stage changes per deal; the first and the last row are the same change.
HISTORY = f"""
DELETE FROM intermediate.int_stage_history;
INSERT INTO intermediate.int_stage_history
SELECT 'files:' || (i // 3), 'Stage ' || (i % 3),
       TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(i), NULL, DATE '2026-01-01', i % 3
FROM range({3 * ROWS}) AS t(i);
INSERT INTO intermediate.int_stage_history
SELECT * FROM intermediate.int_stage_history
WHERE opportunity_id = 'files:0' AND stage = 'Stage 0';
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("batches") / "build.duckdb", DEALS, HISTORY)


def run_recording_batches(build: Path, chunk_rows: int) -> tuple[list, list[int]]:
    """The crm suites' results in comparable form, and the size of every batch validated."""
    sizes: list[int] = []
    original = gx_engine.BatchValidator.validate

    def recording(self, frame: pd.DataFrame, expectations):  # noqa: ANN001
        sizes.append(len(frame))
        return original(self, frame, expectations)

    con = open_build(build)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(gx_engine.BatchValidator, "validate", recording)
            results = run_suites(
                con,
                "crm",
                run_id=RUN_ID,
                settings=QualitySettings(chunk_rows=chunk_rows, max_source_age_hours=1e9),
            )
    finally:
        con.close()
    flat = [
        (r.suite, r.table, r.expectation, r.column, r.description)
        + (r.element_count, r.unexpected_count, r.success)
        for s in results
        for r in s.results
    ]
    return flat, sizes


def oracle(build: Path, sql: str) -> int:
    con = open_build(build)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_batches_add_up_to_the_verdicts_of_one_batch(build: Path) -> None:
    whole, whole_sizes = run_recording_batches(build, 10**9)
    chunked, chunked_sizes = run_recording_batches(build, CHUNK)

    assert chunked == whole
    # One batch per table before; the big tables in many bounded batches now (hash
    # partitions are not exactly even, hence the margin).
    assert max(whole_sizes) == 3 * ROWS + 1
    assert len(chunked_sizes) > len(whole_sizes) + 10
    assert max(chunked_sizes) <= 1.5 * CHUNK

    found = {(r[3], r[2]): r[6] for r in chunked if r[1] == "intermediate.int_opportunities"}
    deals = "intermediate.int_opportunities"
    # Counts worked out by SQL, independently of the runner.
    assert found[("opportunity_id", "expect_column_values_to_be_unique")] == oracle(
        build,
        f"SELECT count(*) FROM {deals} WHERE opportunity_id IN "
        f"(SELECT opportunity_id FROM {deals} GROUP BY ALL HAVING count(*) > 1)",
    )
    assert found[("opportunity_id", "expect_column_values_to_be_unique")] == 4
    assert found[("opportunity_id", "expect_column_values_to_not_be_null")] == 3
    assert found[("status", "expect_column_values_to_be_in_set")] == oracle(
        build, f"SELECT count(*) FROM {deals} WHERE status = 'pending'"
    )
    assert found[("amount", "expect_column_values_to_be_between")] == oracle(
        build, f"SELECT count(*) FROM {deals} WHERE amount < 0"
    )
    assert found[("closed_at", "expect_column_values_to_not_be_null")] == oracle(
        build, f"SELECT count(*) FROM {deals} WHERE closed_at IS NULL"
    )
    assert found[
        ("closed_date, created_date", "expect_column_pair_values_a_to_be_greater_than_b")
    ] == (oracle(build, f"SELECT count(*) FROM {deals} WHERE closed_date < created_date"))
    assert found[("amount_reporting", "expect_column_values_to_not_be_null")] == oracle(
        build, f"SELECT count(*) FROM {deals} WHERE amount_reporting IS NULL"
    )
    assert found[("account_id", "expect_column_values_to_be_in_set")] == oracle(
        build, f"SELECT count(*) FROM {deals} WHERE account_id LIKE 'files:unknown%'"
    )
    history = {r[2]: r[6] for r in chunked if r[1] == "intermediate.int_stage_history"}
    assert history["expect_compound_columns_to_be_unique"] == 2


def test_samples_come_from_the_first_failing_batches(build: Path) -> None:
    con = open_build(build)
    try:
        results = run_suites(con, "crm", run_id=RUN_ID, settings=QualitySettings(chunk_rows=CHUNK))
    finally:
        con.close()
    pending = next(r for s in results for r in s.results if r.column == "status" and not r.success)
    assert pending.unexpected_count == 6
    # 6 bad rows in 5 stream batches: the first five, in table order.
    assert [s["status"] for s in pending.samples] == ["pending"] * 5
    assert [s["opportunity_id"] for s in pending.samples] == [
        f"files:{i}" for i in range(ROWS) if i % 1999 == 3
    ][:5]
