"""The SQL pre-screen (expectations/sql_checks.py) gives the verdicts Great Expectations
gives: the same success, element_count and unexpected_count for every expectation, with
and without violations, and failing expectations still carry GX's sample rows. A table
whose expectations all pass in SQL is never read into pandas, and whatever SQL cannot
decide safely is left to GX."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import expectations.runner as runner
import expectations.suites as suites_module
from expectations import gx_engine, sql_checks, sql_kinds, sql_planner, table_run
from expectations.batches import describe
from expectations.context import RunContext, resolve
from expectations.runner import QualitySettings, SuiteResult, run_suites
from tests.expectations.builders import RUN_ID, make_build, open_build

ROWS = 3000
SETTINGS = QualitySettings(max_source_age_hours=1e9)

# Every table of schema t gets every expectation: t.clean passes them all, t.dirty
# (t.clean and a few bad rows) fails most, t.empty has no row.
TABLES = f"""
SET TimeZone = 'UTC';
CREATE SCHEMA raw_run;
CREATE TABLE raw_run.run_context AS SELECT 'run-2' AS run_id, 'EUR' AS reporting_currency;
CREATE SCHEMA ref;
CREATE TABLE ref.owners AS
SELECT 'o' || i AS owner_id FROM range(10) AS r(i) UNION ALL SELECT NULL;
CREATE TABLE ref.banned AS SELECT 'bad' AS owner_id;
CREATE SCHEMA t;
CREATE TABLE t.clean AS
SELECT
    'id' || i AS id,
    i::BIGINT AS seq,
    ['a', 'b', 'c'][1 + i % 3] AS code,
    CASE WHEN i % 7 = 0 THEN NULL ELSE i % 100 END::BIGINT AS n,
    (i % 50)::DECIMAL(18, 2) AS amount,
    (i % 10) / 10 AS x,
    ['open', 'won', 'lost'][1 + i % 3] AS status,
    CASE WHEN i % 3 = 0 THEN NULL
         ELSE TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_hours(i) END AS closed,
    CASE WHEN i % 17 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
    CASE WHEN i % 19 = 0 THEN NULL ELSE 'o' || (i % 10) END AS owner,
    CASE WHEN i % 11 = 0 THEN NULL ELSE 'k' || i END AS k1,
    CASE WHEN i % 13 = 0 THEN NULL ELSE i END::INTEGER AS k2,
    DATE '2026-01-01' + (i % 100)::INTEGER AS day,
    TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_minutes(i) AS ts,
    ['count', 'EUR'][1 + i % 2] AS unit,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'call o' || (i % 10) || ' re deal ' || i END AS note,
    -- An '@' and a '.', but no e-mail address: SQL cannot rule it out, GX passes it.
    CASE WHEN i % 23 = 0 THEN NULL ELSE 'ext @ ' || i || '.5' END AS contact
FROM range({ROWS}) AS r(i);
CREATE TABLE t.dirty AS SELECT * FROM t.clean;
INSERT INTO t.dirty
SELECT * REPLACE (
    -- i = 5 again: its id, (day, ts) and seq; every value of it outside its contract.
    'zz' AS code, 500 AS n, -1 AS amount, 'nan'::DOUBLE AS x, 'won' AS status,
    NULL AS closed, 'unknown' AS owner, NULL AS k1, 22 AS k2, 'USD' AS unit,
    'mail jane.doe@example.com' AS note)
FROM t.clean WHERE seq = 5;
INSERT INTO t.dirty
SELECT * REPLACE (
    -- seq 0 is open in t.clean: a won copy is a duplicate among all rows, not among
    -- the won ones; seq 1 is won: a lost copy is a duplicate among won and lost.
    NULL AS id, 'won' AS status, NULL AS x, 'bad' AS owner, 5 AS n, NULL AS amount)
FROM t.clean WHERE seq = 0;
INSERT INTO t.dirty
SELECT * REPLACE ('lost' AS status, 'id-extra' AS id, 1.0 AS x) FROM t.clean WHERE seq = 1;
CREATE TABLE t.empty AS SELECT * FROM t.clean LIMIT 0;
"""

SUITE = """
layer: crm
suites:
  - name: pushdown
    every_table_in_schema: t
    expectations:
      - {expect: expect_column_values_to_not_be_null, column: id, description: id}
      - {expect: expect_column_values_to_not_be_null, column: x, description: x (NaN)}
      - {expect: expect_column_values_to_not_be_null, column: amount, description: amount}
      - expect: expect_column_values_to_not_be_null
        column: closed
        where: {status: [won, lost]}
        description: closed when won or lost
      - expect: expect_column_values_to_not_be_null
        column: x
        where: {n: 5}
        description: x where n is 5 (integer where)
      - expect: expect_column_values_to_not_be_null
        column: id
        where: {flag: true}
        description: id where flag (boolean where)
      - expect: expect_column_values_to_not_be_null
        column: owner
        where: {status: nothing}
        description: owner where no row
      - expect: expect_column_values_to_be_in_set
        column: code
        value_set: [a, b, c]
        description: code in set
      - expect: expect_column_values_to_not_be_in_set
        column: code
        value_set: [zz]
        description: code not zz
      - expect: expect_column_values_to_be_in_set
        column: n
        value_set: [5, 10]
        where: {seq: [5, 10]}
        description: n in an integer set
      - expect: expect_column_values_to_be_in_set
        column: flag
        value_set: [true, false]
        description: flag boolean
      - expect: expect_column_values_to_be_in_set
        column: unit
        value_set: [count, {run_context: reporting_currency}]
        description: unit with run_context
      - expect: expect_column_values_to_be_in_set
        column: owner
        value_set: {query: "select owner_id from ref.owners"}
        description: owner known (the query has a null)
      - expect: expect_column_values_to_not_be_in_set
        column: owner
        value_set: {query: "select owner_id from ref.banned"}
        description: owner not banned
      - expect: expect_column_values_to_be_between
        column: n
        min_value: 0
        max_value: 100
        description: n between 0 and 100
      - expect: expect_column_values_to_be_between
        column: n
        max_value: 100
        strict_max: true
        where: {status: [open, won]}
        description: n below 100 when open or won
      - expect: expect_column_values_to_be_between
        column: seq
        min_value: 0.5
        description: seq from 0.5 (float bound, integer column)
      - expect: expect_column_values_to_be_between
        column: amount
        min_value: 0
        description: amount not negative (decimal)
      - expect: expect_column_values_to_be_between
        column: x
        min_value: 0
        max_value: 1
        description: x between 0 and 1 (NaN is missing to GX)
      - expect: expect_column_values_to_be_between
        column: x
        min_value: -0.1
        strict_min: true
        max_value: 1
        strict_max: true
        description: x strictly between -0.1 and 1
      - {expect: expect_column_values_to_be_unique, column: id, description: id unique}
      - {expect: expect_column_values_to_be_unique, column: n, description: n unique}
      - expect: expect_column_values_to_be_unique
        column: seq
        where: {status: won}
        description: seq unique among won
      - expect: expect_column_values_to_be_unique
        column: seq
        where: {status: [won, lost]}
        description: seq unique among won and lost
      - expect: expect_compound_columns_to_be_unique
        column_list: [k1, k2]
        description: (k1, k2) unique
      - expect: expect_compound_columns_to_be_unique
        column_list: [k1, k2]
        ignore_row_if: any_value_is_missing
        description: (k1, k2) unique, rows with a null skipped
      - expect: expect_compound_columns_to_be_unique
        column_list: [k1, k2]
        ignore_row_if: never
        description: (k1, k2) unique, null keys included
      - expect: expect_compound_columns_to_be_unique
        column_list: [day, ts]
        description: (day, ts) unique
      - expect: expect_compound_columns_to_be_unique
        column_list: [day, ts]
        where: {status: open}
        description: (day, ts) unique among open
      - expect: expect_column_values_to_not_match_regex
        column: note
        regex: 'EMAIL'
        description: no e-mail in note
      - expect: expect_column_values_to_not_match_regex
        column: contact
        regex: 'EMAIL'
        description: no e-mail in contact (an @ and a dot, left to GX)
      - expect: expect_column_values_to_not_match_regex
        column: note
        regex: 'EMAIL'
        where: {status: lost}
        description: no e-mail in note when lost
      - expect: expect_column_values_to_not_match_regex
        column: owner
        regex: "nan"
        description: no nan in owner (a null is no text to GX)
      # Left to GX: a regex, mostly, a query of another type, a broken query.
      - expect: expect_column_values_to_not_match_regex
        column: note
        regex: (?i)MAIL
        description: no mail in note, any case
      - expect: expect_column_values_to_not_match_regex
        column: n
        regex: "@"
        description: no @ in n (not text)
      - expect: expect_column_values_to_match_regex
        column: code
        regex: "^[a-c]$"
        description: code regex
      - expect: expect_column_values_to_not_be_null
        column: owner
        mostly: 0.9
        description: owner mostly
      - expect: expect_column_values_to_be_in_set
        column: code
        value_set: {query: "select 1"}
        description: code in an integer query
      - expect: expect_column_values_to_be_in_set
        column: code
        value_set: {query: "select code from ref.nowhere"}
        description: code in a broken query
"""
LEFT_TO_GX = {
    "code regex",
    "no mail in note, any case",
    "no @ in n (not text)",
    "owner mostly",
    "code in an integer query",
    "code in a broken query",
}
# The pattern of marts.yml's no_email_addresses suite.
EMAIL = next(
    t.arguments["regex"]
    for s in suites_module.load_layer("marts").suites
    for t in s.for_each_text_column
    if t.expect == "expect_column_values_to_not_match_regex"
)
SUITE = SUITE.replace("EMAIL", EMAIL)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pushdown") / "build.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute(TABLES)
    finally:
        con.close()
    return path


@pytest.fixture
def suite_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "suites"
    directory.mkdir()
    (directory / "pushdown.yml").write_text(SUITE)
    monkeypatch.setattr(
        runner, "load_layer", lambda layer: suites_module.load_layer(layer, directory)
    )
    return directory


def run(path: Path, layer: str, settings: QualitySettings) -> list[SuiteResult]:
    con = open_build(path)
    try:
        return run_suites(con, layer, run_id=RUN_ID, settings=settings)
    finally:
        con.close()


def flat(results: list[SuiteResult]) -> list[tuple[Any, ...]]:
    return [
        (r.suite, r.table, r.expectation, r.column, r.description, r.blocking)
        + (r.success, r.element_count, r.unexpected_count, r.samples)
        for s in results
        for r in s.results
    ]


def _name(description: str) -> str:
    return description.partition(": could not be evaluated")[0]


def _refuse_pandas_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, reading a table into pandas fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a table was read into pandas")

    monkeypatch.setattr(table_run, "stream", refuse)
    monkeypatch.setattr(table_run, "partitions", refuse)


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """(rows of the batch, expectations) of every batch GX validates."""
    calls: list[tuple[int, int]] = []
    original = gx_engine.BatchValidator.validate

    def recording(self, frame, expectations):  # noqa: ANN001
        calls.append((len(frame), len(expectations)))
        return original(self, frame, expectations)

    monkeypatch.setattr(gx_engine.BatchValidator, "validate", recording)
    yield calls


@pytest.mark.parametrize("chunk_rows", [10**6, 1000], ids=["one batch", "batches"])
def test_the_pre_screen_gives_the_verdicts_of_gx(
    build: Path, suite_dir: Path, chunk_rows: int
) -> None:
    gx_only = run(build, "crm", QualitySettings(chunk_rows=chunk_rows, sql_pushdown=False))
    pushed = run(build, "crm", QualitySettings(chunk_rows=chunk_rows, sql_pushdown=True))

    assert flat(pushed) == flat(gx_only)
    by_table = {s.table: {_name(r.description): r for r in s.results} for s in pushed}
    assert set(by_table) == {"t.clean", "t.dirty", "t.empty"}
    # The data covers both verdicts: the clean table passes, the dirty one fails all but
    # the where-filtered uniqueness that its extra rows do not break, and the between
    # that only NaN (missing to GX) breaks.
    clean, dirty = by_table["t.clean"], by_table["t.dirty"]
    fails_when_clean = {
        "n unique",
        "seq from 0.5 (float bound, integer column)",
        "(k1, k2) unique, null keys included",
        "code in an integer query",
        "code in a broken query",
    }
    assert {d for d, r in clean.items() if not r.success} == fails_when_clean
    still_passing = {
        "no e-mail in contact (an @ and a dot, left to GX)",
        "no e-mail in note when lost",
        "no nan in owner (a null is no text to GX)",
        "no @ in n (not text)",
        "seq unique among won",
        "x between 0 and 1 (NaN is missing to GX)",
        "id where flag (boolean where)",
        "owner where no row",
        "flag boolean",
        "owner mostly",
        "(day, ts) unique among open",
    }
    assert {d for d, r in dirty.items() if r.success} == still_passing
    # Failing expectations carry GX's sample rows.
    assert all(r.samples for d, r in dirty.items() if not r.success and d not in LEFT_TO_GX)
    assert dirty["code in set"].samples == [{"code": "zz"}]
    assert dirty["no e-mail in note"].samples == [{"note": "mail j***@example.com"}]  # masked
    assert dirty["no mail in note, any case"].unexpected_count == 1
    assert dirty["(k1, k2) unique"].unexpected_count == 4
    assert all(
        r.element_count == 0 and r.success
        for r in by_table["t.empty"].values()
        if r.description != "code in a broken query"
    )


def test_what_passes_in_sql_is_decided_there_and_the_rest_left_to_gx(
    build: Path, suite_dir: Path
) -> None:
    [suite] = suites_module.load_layer("crm", suite_dir).suites
    specs = list(enumerate(suite.expectations))
    con = open_build(build)
    try:
        context = RunContext(con)

        def decided(table: str) -> set[str]:
            info = describe(con, table)
            passed = sql_checks.prescreen(con, info, specs, lambda value: resolve(value, context))
            return {suite.expectations[i].description for i in passed}

        clean, dirty = decided("t.clean"), decided("t.dirty")
    finally:
        con.close()
    descriptions = {s.description for s in suite.expectations}
    # In SQL: every pushed-down expectation that passes, and nothing that fails.
    assert clean == descriptions - LEFT_TO_GX - {
        "no e-mail in contact (an @ and a dot, left to GX)",
        "n unique",
        "seq from 0.5 (float bound, integer column)",
        "(k1, k2) unique, null keys included",
    }
    assert dirty == {
        "no e-mail in note when lost",
        "no nan in owner (a null is no text to GX)",
        "seq unique among won",
        "id where flag (boolean where)",
        "owner where no row",
        "flag boolean",
        "(day, ts) unique among open",
    }  # not "x between 0 and 1": NaN fails in SQL, so GX decides (and passes) it


def test_a_table_that_passes_in_sql_is_never_read_into_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: list[tuple[int, int]]
) -> None:
    path = make_build(tmp_path / "build.duckdb")
    gx_only = run(path, "raw:files", QualitySettings(max_source_age_hours=1e9, sql_pushdown=False))
    _refuse_pandas_reads(monkeypatch)
    validated.clear()
    for chunk_rows in (10**6, 1000):
        pushed = run(
            path, "raw:files", QualitySettings(max_source_age_hours=1e9, chunk_rows=chunk_rows)
        )
        assert flat(pushed) == flat(gx_only)
    assert all(r.success for s in pushed for r in s.results)
    assert validated == []


def test_only_what_fails_in_sql_goes_to_gx(
    tmp_path: Path, validated: list[tuple[int, int]]
) -> None:
    path = make_build(
        tmp_path / "build.duckdb",
        "INSERT INTO raw_files.stage_history VALUES ('4', 'Proposal', '2026-04-01 08:00:00+00')",
    )
    results = run(path, "raw:files", SETTINGS)
    failed = [(r.table, r.expectation) for s in results for r in s.results if not r.success]
    assert failed == [("raw_files.stage_history", "expect_compound_columns_to_be_unique")]
    # One batch, the stage history's, with its one failing expectation only.
    assert validated == [(5, 1)]


def test_integers_that_doubles_cannot_tell_apart_are_left_to_gx(tmp_path: Path) -> None:
    """2**53 and 2**53 + 1 differ in DuckDB, but a batch with a null holds them as one
    double: GX sees a duplicate, so SQL must not pass the expectation."""
    path = tmp_path / "big.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE SCHEMA t; CREATE TABLE t.big AS SELECT * FROM (VALUES "
        f"({2**53}::BIGINT, 'a'), ({2**53 + 1}::BIGINT, 'b'), (NULL, 'c')) AS v(n, k)"
    )
    con.close()
    suite = """
layer: marts
suites:
  - name: big
    table: t.big
    row_count: false
    expectations:
      - {expect: expect_column_values_to_be_unique, column: n}
      - {expect: expect_compound_columns_to_be_unique, column_list: [n, k]}
"""
    (tmp_path / "big.yml").write_text(suite)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "load_layer", lambda layer: suites_module.load_layer(layer, tmp_path))
        pushed = run(path, "marts", QualitySettings())
        gx_only = run(path, "marts", QualitySettings(sql_pushdown=False))
    assert flat(pushed) == flat(gx_only)
    [unique, compound] = pushed[0].results
    assert (unique.success, unique.unexpected_count) == (False, 2)
    assert compound.success  # (n, k) differs by k: unique in both views


def test_a_query_sql_rejects_falls_back_to_gx(
    build: Path, suite_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check DuckDB cannot run is left to GX alone; the others are still decided."""
    gx_only = run(build, "crm", QualitySettings(sql_pushdown=False))
    monkeypatch.setattr(
        sql_planner.Planner, "unique", lambda self, check, expect, arguments: "no_such_fn(1)"
    )
    seen: list[int] = []
    original = sql_checks._evaluate

    def counting(cursor, info, checks):  # noqa: ANN001
        seen.append(len(checks))
        return original(cursor, info, checks)

    monkeypatch.setattr(sql_checks, "_evaluate", counting)
    pushed = run(build, "crm", QualitySettings(sql_pushdown=True))
    assert flat(pushed) == flat(gx_only)
    # Per table: the query of all checks fails, then each check alone.
    assert seen[0] > 1 and seen[1 : seen[0] + 1] == [1] * seen[0]


def test_a_collation_turns_the_pre_screen_off(build: Path, suite_dir: Path) -> None:
    [suite] = suites_module.load_layer("crm", suite_dir).suites
    con = open_build(build)
    try:
        con.execute("SET default_collation = 'nocase'")
        info = describe(con, "t.clean")
        specs = list(enumerate(suite.expectations))
        assert sql_checks.prescreen(con, info, specs, lambda value: value) == {}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("column_type", "entry"),
    [
        # Types whose pandas values are not obviously the SQL ones.
        ("FLOAT", {"expect": "expect_column_values_to_be_between", "min_value": 0}),
        ("DOUBLE", {"expect": "expect_column_values_to_be_unique"}),
        ("HUGEINT", {"expect": "expect_column_values_to_be_in_set", "value_set": [1]}),
        ("UBIGINT", {"expect": "expect_column_values_to_be_between", "max_value": 9}),
        ("DATE", {"expect": "expect_column_values_to_be_between", "min_value": "2026-01-01"}),
        ("VARCHAR", {"expect": "expect_column_values_to_be_between", "min_value": 0}),
        # Values of another type than the column, or of mixed types.
        ("VARCHAR", {"expect": "expect_column_values_to_be_in_set", "value_set": [1, 2]}),
        ("BIGINT", {"expect": "expect_column_values_to_be_in_set", "value_set": ["1"]}),
        ("BIGINT", {"expect": "expect_column_values_to_be_in_set", "value_set": [1, "a"]}),
        ("BIGINT", {"expect": "expect_column_values_to_be_in_set", "value_set": [2**53]}),
        ("BIGINT", {"expect": "expect_column_values_to_be_in_set", "value_set": [True]}),
        ("VARCHAR", {"expect": "expect_column_values_to_be_in_set", "value_set": ["a", None]}),
        ("BOOLEAN", {"expect": "expect_column_values_to_be_in_set", "value_set": [1]}),
        # Arguments GX treats in ways SQL does not mirror here.
        (
            "BIGINT",
            {"expect": "expect_column_values_to_be_between", "min_value": 5, "max_value": 1},
        ),
        ("VARCHAR", {"expect": "expect_column_values_to_not_be_null", "mostly": 0.99}),
        ("VARCHAR", {"expect": "expect_column_values_to_be_in_set", "value_set": []}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_be_null", "where": {"w": []}}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_be_null", "where": {"w": 1}}),
        ("VARCHAR", {"expect": "expect_column_values_to_match_regex", "regex": "^a$"}),
        # not_match_regex: no character every match must hold, another type than text,
        # or a pattern pandas' RE2 rejects (GX fails it, whatever the values).
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "a|@"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "(?i)@"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "@+"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "a++@"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "(?>a)@"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": "(@"}),
        ("VARCHAR", {"expect": "expect_column_values_to_not_match_regex", "regex": 1}),
        ("BIGINT", {"expect": "expect_column_values_to_not_match_regex", "regex": "1"}),
        ("DATE", {"expect": "expect_column_values_to_not_match_regex", "regex": "-"}),
        # A list is fetched as is: pandas' str() of an array, and `contains` on a list
        # looks for an element.
        ("VARCHAR[]", {"expect": "expect_column_values_to_not_match_regex", "regex": "@"}),
        ("VARCHAR[2]", {"expect": "expect_column_values_to_not_match_regex", "regex": "@"}),
        (
            "VARCHAR",
            {"expect": "expect_column_values_to_not_match_regex", "regex": "@", "mostly": 0.5},
        ),
        ("VARCHAR", {"expect": "expect_column_value_lengths_to_equal", "value": 1}),
    ],
)
def test_what_sql_cannot_decide_safely_is_left_to_gx(
    tmp_path: Path, column_type: str, entry: dict[str, Any]
) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"CREATE SCHEMA t; CREATE TABLE t.v (c {column_type}, w VARCHAR)")
        con.execute("INSERT INTO t.v VALUES (NULL, 'x')")
        info = describe(con, "t.v")
        spec = suites_module._expectation({**entry, "column": "c"}, "test", None)
        assert sql_checks.prescreen(con, info, [(0, spec)], lambda value: value) == {}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("columns", "rows", "entry"),
    [
        # A column's own collation (information_schema does not show it): GX compares
        # bytes, 'ABC' is not 'abc'.
        (
            "c VARCHAR COLLATE NOCASE",
            "('ABC')",
            {"expect": "expect_column_values_to_be_in_set", "column": "c", "value_set": ["abc"]},
        ),
        # A VARCHAR list is a list in the batches: GX cannot hash it, and a text value
        # that DuckDB would cast to a list is no member of it.
        (
            "c VARCHAR[], d INTEGER",
            "(['a'], 1), (['b'], 2)",
            {"expect": "expect_compound_columns_to_be_unique", "column_list": ["c", "d"]},
        ),
        (
            "c VARCHAR[]",
            "(['a', 'b'])",
            {"expect": "expect_column_values_to_be_in_set", "column": "c", "value_set": ["[a, b]"]},
        ),
        # POSIX classes: a set of letters to pandas' RE2, a set and a `]` to Python's re.
        (
            "c VARCHAR",
            "('abc')",
            {
                "expect": "expect_column_values_to_not_match_regex",
                "column": "c",
                "regex": "[[:alpha:]]",
            },
        ),
    ],
    ids=["collated in set", "list key", "list in set", "posix class"],
)
def test_sql_never_passes_what_gx_fails(columns: str, rows: str, entry: dict[str, Any]) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"CREATE SCHEMA t; CREATE TABLE t.v ({columns}); INSERT INTO t.v VALUES {rows}")
        info = describe(con, "t.v")
        spec = suites_module._expectation(entry, "test", None)
        assert sql_checks.prescreen(con, info, [(0, spec)], lambda value: value) == {}
    finally:
        con.close()


def test_a_where_on_a_collated_column_counts_the_rows_gx_counts() -> None:
    """GX's `where` compares bytes: 'ABC' is not 'abc', so it looks at one row, not two."""
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE SCHEMA t; CREATE TABLE t.v (c VARCHAR, w VARCHAR COLLATE NOCASE);"
            "INSERT INTO t.v VALUES ('x', 'ABC'), ('y', 'abc')"
        )
        entry = {"expect": "expect_column_values_to_not_be_null", "column": "c"}
        spec = suites_module._expectation({**entry, "where": {"w": "abc"}}, "test", None)
        assert sql_checks.prescreen(con, describe(con, "t.v"), [(0, spec)], lambda v: v) == {0: 1}
    finally:
        con.close()


@pytest.mark.parametrize("pushdown", [False, True], ids=["gx only", "pre-screen"])
def test_expectations_alike_each_get_their_verdict(
    build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pushdown: bool
) -> None:
    """GX keeps one of expectations equal but for their meta: the other must not pass
    unseen (it did, with no row counted, before gx_engine handed the verdict to both)."""
    (tmp_path / "alike.yml").write_text(
        """
layer: marts
suites:
  - name: alike
    table: t.dirty
    row_count: false
    expectations:
      - {expect: expect_column_values_to_not_be_null, column: owner, description: blocking}
      - expect: expect_column_values_to_not_be_null
        column: owner
        blocking: false
        description: warning
      - {expect: expect_column_values_to_be_in_set, column: code, value_set: [a, b, c]}
      - {expect: expect_column_values_to_be_in_set, column: code, value_set: [a, b, c]}
"""
    )
    monkeypatch.setattr(
        runner, "load_layer", lambda layer: suites_module.load_layer(layer, tmp_path)
    )
    [suite] = run(build, "marts", QualitySettings(sql_pushdown=pushdown))
    owner_nulls = len(range(0, ROWS, 19))  # i % 19 = 0; the 3 dirty rows have an owner
    counts = [(r.success, r.element_count, r.unexpected_count) for r in suite.results]
    assert counts[0] == counts[1] == (False, ROWS + 3, owner_nulls)
    assert counts[2] == counts[3] == (False, ROWS + 3, 1)
    assert suite.results[1].samples == suite.results[0].samples != []


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        # marts.yml's e-mail pattern: the '@' and the last '.' (the other dots are in a
        # class or a repeated group).
        (EMAIL, {"@", "."}),
        ("nan", {"n", "a"}),
        (r"a\.b@", {"a", ".", "b", "@"}),
        (r"\x40[@]", {"@"}),  # an escape and a one-character class are that character
        ("x+@", {"@"}),  # a quantified literal is a repeat
        ("x{2}y*z?@", {"@"}),
        ("a*?", set()),
        ("(@)x", {"x"}),  # a group contributes nothing
        ("(?i:a)b", {"b"}),  # scoped flags stay in their group
        ("(?=@)x", {"x"}),  # nor does a lookaround
        ("ab|ac", {"a"}),  # the prefix both branches share
        ("a@|b@", set()),  # an alternation contributes nothing
        ("@|x", set()),
        ("[@.]", set()),
        ("^$", set()),
        ("", set()),
        ("(?i)@", set()),  # flags beyond the defaults
        ("(?a)@", set()),
        ("(?s)@.", set()),
        ("(?x) @", set()),
        ("(@", set()),  # does not compile
        (None, set()),
        (b"@", set()),
    ],
)
def test_required_literals(pattern: Any, literals: set[str]) -> None:
    assert sql_kinds.required_literals(pattern) == literals


def test_clean_text_columns_are_scanned_for_e_mails_in_sql_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: list[tuple[int, int]]
) -> None:
    """The marts suites on clean marts, text columns of every kind SQL decides among
    them: nothing is read into pandas, the e-mail scan of every text column included."""
    path = make_build(
        tmp_path / "build.duckdb",
        """
        CREATE TYPE mood AS ENUM ('calm', 'busy');
        CREATE TABLE marts.notes AS
        SELECT 'n' || i AS note_id,
               CASE WHEN i % 4 = 0 THEN NULL ELSE 'met at conf. ' || i END AS body,
               'calm'::mood AS mood,
               {'who': 'o' || i, 'where': 'hq.', 'tags': ['a.b', 'c']} AS meta,
               MAP {'k.' || i: 'v'} AS extra,
               i AS n
        FROM range(5000) AS r(i)
        """,
    )
    gx_only = run(path, "marts", QualitySettings(sql_pushdown=False))
    _refuse_pandas_reads(monkeypatch)
    validated.clear()
    for chunk_rows in (10**6, 1000):
        pushed = run(path, "marts", QualitySettings(chunk_rows=chunk_rows))
        assert flat(pushed) == flat(gx_only)
    assert validated == []
    scans = {
        (r.table, r.column): r
        for s in pushed
        for r in s.results
        if r.expectation == "expect_column_values_to_not_match_regex"
    }
    notes = {c for t, c in scans if t == "marts.notes"}
    assert notes == {"note_id", "body", "mood", "meta", "extra"}
    assert all(r.success for r in scans.values())
    assert scans["marts.notes", "body"].element_count == 5000
