"""Every command fed the bad inputs its help and README document: a clear message, an exit
code that is not 0, and never a Python traceback. Settings are all checked before a run
starts (exit code 2, nothing run)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.utils import run_cli

pytestmark = pytest.mark.slow  # reads a warehouse built by a real run

EXPORT = str(FIXTURES / "export_small")
FILES = {"SOURCES__FILES__PATH": EXPORT}
RUN = ("run", "--source", "files", "--as-of", "2026-07-15")

# (command line, settings, exit code, words of the message). Commands run on a data dir
# with marts built, except run, demo and ui, which get one of their own each (a run that
# starts takes the data dir's lock); {empty}: a data dir without marts, {tmp}: a scratch
# folder.
CASES = [
    # Settings, every one read by some step later: refused before anything runs.
    (RUN, {**FILES, "CRM_KPI_MAX_SHRINK": "2"}, 2, "CRM_KPI_MAX_SHRINK='2' must be a share"),
    (RUN, {**FILES, "CRM_KPI_MAX_QUARANTINE_SHARE": "1%"}, 2, "CRM_KPI_MAX_QUARANTINE_SHARE"),
    (RUN, {**FILES, "CRM_KPI_SCHEDULE_CRON": "every night"}, 2, "is not a cron schedule"),
    (RUN, {**FILES, "CRM_KPI_SCHEDULE_TIMEZONE": "Mars/Olympus"}, 2, "not an IANA timezone"),
    (RUN, {**FILES, "CRM_KPI_TIMEZONE": "Nowhere"}, 2, "CRM_KPI_TIMEZONE='Nowhere'"),
    (RUN, {**FILES, "CRM_KPI_QUALITY_CHUNK_ROWS": "10"}, 2, "at least 1000"),
    (RUN, {**FILES, "CRM_KPI_DUCKDB_MEMORY_LIMIT": "lots"}, 2, "CRM_KPI_DUCKDB_MEMORY_LIMIT"),
    (RUN, {**FILES, "CRM_KPI_INGESTION_RETRY_DELAY_S": "soon"}, 2, "RETRY_DELAY_S"),
    (("demo",), {"CRM_KPI_REPORTING_CURRENCY": "euro"}, 2, "3-letter ISO 4217"),
    (("ui",), {**FILES, "CRM_KPI_SCHEDULE_CRON": "bad cron"}, 2, "is not a cron schedule"),
    (("objectives",), {"CRM_KPI_MAX_SOURCE_AGE_HOURS": "-1"}, 2, "a positive number of hours"),
    # Options and arguments.
    (("run", "--source", "nope"), {}, 2, "unknown source 'nope'"),
    (("run",), {}, 2, "No source is configured"),  # the shell's PATH is not an export
    (("run", "--source", "files"), {}, 2, "set SOURCES__FILES__PATH"),
    (("run", "--source", "files", "--as-of", "2026-02-30"), FILES, 2, "is not a date"),
    (("demo", "--deals", "10"), {}, 2, "--deals"),
    (("status", "--as-of", "yesterday"), {}, 2, "is not a date"),
    (("backfill", "--from", "2026-07-10", "--to", "2026-07-01"), {}, 2, "is after --to"),
    (("backfill", "--from", "2026-07-10"), {}, 2, "--to"),
    (("objectives", "--as-of", "2030-01-01"), {}, 2, "hold data up to 2026-07-15"),
    (("query", ""), {}, 1, "nothing to run"),
    (("query", "   ;  "), {}, 1, "nothing to run"),
    (("query", "selec 1"), {}, 1, "syntax error"),
    (("query", "SELECT 1", "--format", "xml"), {}, 2, "use table, csv or json"),
    (("query", "SELECT 1", "--timeout", "-1"), {}, 2, "--timeout"),
    (("report", "--as-of", "2027-01-01", "--out", "{tmp}/r.html"), {}, 1, "hold data up to"),
    (("report", "--out", "{tmp}"), {}, 2, "Invalid value for '--out'"),
    (("report", "--as-of", "someday"), {}, 2, "is not a date"),
    (("export", "--parquet", "{tmp}/a-file"), {}, 2, "--parquet"),
    (("ui", "--port", "web"), {}, 2, "--port"),
    # No warehouse yet.
    (("status",), {"CRM_KPI_DATA_DIR": "{empty}"}, 1, "does not exist yet"),
    (("query", "SELECT 1"), {"CRM_KPI_DATA_DIR": "{empty}"}, 1, "does not exist yet"),
    (("objectives",), {"CRM_KPI_DATA_DIR": "{empty}"}, 2, "No marts in"),
    (
        ("backfill", "--from", "2026-07-01", "--to", "2026-07-02"),
        {"CRM_KPI_DATA_DIR": "{empty}"},
        2,
        "No marts in",
    ),
    (("docs",), {"CRM_KPI_DATA_DIR": "{empty}"}, 1, "No marts in"),
    (
        ("export", "--parquet", "{tmp}/out"),
        {"CRM_KPI_DATA_DIR": "{empty}"},
        1,
        "does not exist yet",
    ),
    # Input files.
    (RUN, {"SOURCES__FILES__PATH": "{tmp}/no-such-export"}, 1, "is not a folder"),
    (RUN, {**FILES, "CRM_KPI_OBJECTIVES": "{tmp}/missing.yml"}, 2, "does not exist"),
    (RUN, {**FILES, "CRM_KPI_OBJECTIVES": "{tmp}/bad.yml"}, 2, "YAML syntax error"),
]


def _ids() -> list[str]:
    return [f"{i:02d}-{' '.join(args)[:40]}" for i, (args, *_rest) in enumerate(CASES)]


@pytest.fixture(scope="module")
def outcomes(small_serving: Path, tmp_path_factory: pytest.TempPathFactory):
    """Every case, run four at a time: each is a short-lived `crm-kpi` process."""
    tmp = tmp_path_factory.mktemp("misuse")
    (tmp / "a-file").write_text("not a folder\n")
    (tmp / "bad.yml").write_text("objectives:\n  - id: x\n\tmetric: won_deals\n")
    places = {
        "warehouse": str(small_serving.parent),
        "empty": str(tmp / "empty-data"),
        "tmp": str(tmp),
    }

    def one(numbered) -> subprocess.CompletedProcess:
        index, (args, env, _, _) = numbered
        writer = args[0] in ("run", "demo", "ui")
        data_dir = str(tmp / f"data-{index}") if writer else places["warehouse"]
        env = {"CRM_KPI_DATA_DIR": data_dir, **env}
        return run_cli(
            *(a.format(**places) for a in args),
            env={k: v.format(**places) for k, v in env.items()},
            timeout=300,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, enumerate(CASES)))


@pytest.mark.parametrize("index", range(len(CASES)), ids=_ids())
def test_bad_input_is_refused_without_a_traceback(outcomes, index: int) -> None:
    args, env, code, words = CASES[index]
    result = outcomes[index]
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code, output
    assert words in " ".join(output.split()), output
    if code == 2:
        # Refused before anything ran: no step, nothing loaded or built.
        assert "Running the pipeline" not in output
