"""What a person reads when a run fails: one line that says what happened and where to
look, not a library's exception with its colour codes."""

from __future__ import annotations

from pathlib import Path

from orchestration.lib.dbt_output import dbt_failure
from orchestration.runs import explain

RED, RESET = "\x1b[31m", "\x1b[0m"

# dagster-dbt's DagsterDbtCliRuntimeError, as it words it (dbt's own lines, coloured).
DBT_ERROR = f"""The dbt CLI process with command

`/venv/bin/crm-kpi-dbt build --vars {{"crm_sources": ["files"]}} --select fqn:*`

failed with exit code `1`. Check the stdout in the Dagster compute logs for the full \
information about the error, or view the dbt debug log: /data/dbt_target/files/dbt.log.

Errors parsed from dbt logs:

17 of 218 ERROR unique_stg_files__accounts_account_id ...... [{RED}ERROR{RESET} in 0.05s]

23 of 218 ERROR creating sql table model intermediate.int_stages ..... [{RED}ERROR{RESET} in 0.1s]

{RED}Failure in test unique_stg_files__accounts_account_id (models/staging/files/x.yml){RESET}

  Runtime Error in test unique_stg_files__accounts_account_id (models/staging/files/x.yml)
  Out of Memory Error: failed to allocate data of size 2.0 MiB (342.0 KiB/1.9 MiB used)

  Possible solutions:
  * Increasing the memory limit (SET memory_limit='...GB')
"""


def test_a_dbt_failure_is_one_line_with_the_first_reason_and_the_log() -> None:
    message = str(dbt_failure(DBT_ERROR))
    assert message == (
        "dbt build failed (2 model(s) or test(s) in error): test "
        "unique_stg_files__accounts_account_id: Out of Memory Error: failed to allocate data "
        "of size 2.0 MiB (342.0 KiB/1.9 MiB used). dbt's full log: "
        "/data/dbt_target/files/dbt.log"
    )


def test_a_dbt_crash_without_parsed_errors_still_names_its_exit_code_and_log() -> None:
    message = str(dbt_failure("The dbt CLI process failed with exit code `2`.", None))
    assert message == "dbt build failed (exit code 2)"
    assert str(dbt_failure("failed with exit code `2`.", Path("/d/dbt.log"))).endswith(
        "dbt's full log: /d/dbt.log"
    )


def test_a_duckdb_lock_conflict_is_said_as_what_it_is() -> None:
    dlt_words = (
        "DestinationConnectionError: Connection with `client_type=DuckDbSqlClient` to "
        "`dataset_name=raw_files` failed. [...] your internet connection may be down. The "
        'actual reason given is: IO Error: Could not set lock on file "/data/build.duckdb": '
        "Conflicting lock is held in /usr/bin/python3.11 (PID 4756). See also https://duckdb.org"
    )
    message = explain(dlt_words)
    assert message.startswith(
        "/data/build.duckdb is open in another process (PID 4756, python3.11), which blocks "
        "this run"
    )
    assert "internet" not in message
    assert explain("something else") == "something else"
