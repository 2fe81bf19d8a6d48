"""The files source: the input contract of DESIGN.md, checked before anything loads."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ingestion.files import files_source
from ingestion.files.contract import ENTITIES
from ingestion.files.problems import ContractError
from ingestion.files.reader import ValidatedExport
from ingestion.pipeline import run_source
from tests.conftest import FIXTURES
from tests.utils import run_cli

GOOD = FIXTURES / "export_small"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(GOOD, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def problems(folder: Path) -> list[str]:
    with pytest.raises(ContractError) as caught:
        ValidatedExport(folder).check()
    return [str(p) for p in caught.value.problems]


def test_a_valid_export_loads_every_table_typed(tmp_path: Path) -> None:
    info = run_source(files_source(path=str(GOOD)), "files", tmp_path / "b.duckdb", tmp_path / "d")
    assert not info.has_failed_jobs
    con = duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True)
    counts = {t: con.execute(f"SELECT count(*) FROM raw_files.{t}").fetchone()[0] for t in ENTITIES}
    types = dict(con.execute("DESCRIBE raw_files.deals").fetchall()[i][:2] for i in range(16))
    con.close()
    assert counts == {
        "deals": 15,
        "stage_history": 29,
        "accounts": 4,
        "owners": 3,
        "stages": 5,
        "fx_rates": 3,
        "deal_products": 0,  # an optional file the export lacks: an empty table
    }
    assert types["amount"] == "DECIMAL(18,2)"
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["contract_start"] == "DATE"  # optional columns exist even when absent


def test_missing_column(export: Path) -> None:
    edit(
        export / "deals.csv",
        "deal_id,account_id,owner_id,pipeline,stage,status,amount,",
        "deal_id,account_id,owner_id,pipeline,stage,state,amount,",
    )
    [message] = problems(export)
    assert message.startswith("deals.csv, line 1: missing column(s) status;")


def test_unparseable_date(export: Path) -> None:
    edit(export / "deals.csv", "2026-05-20T09:00:00Z", "20/05/2026")
    [message] = problems(export)
    assert message.startswith("deals.csv, line 16, column 'created_at': '20/05/2026' is not an ISO")


def test_negative_amount(export: Path) -> None:
    edit(export / "deals.csv", ",lost,3000,EUR,", ",lost,-3000,EUR,")
    assert problems(export) == ["deals.csv, line 4, column 'amount': '-3000' must be at least 0"]


def test_unknown_status(export: Path) -> None:
    edit(export / "deals.csv", ",Closed Won,won,7500,", ",Closed Won,signed,7500,")
    assert problems(export) == [
        "deals.csv, line 6, column 'status': 'signed' is not one of open, won, lost"
    ]


def test_every_problem_of_every_file_is_listed(export: Path) -> None:
    edit(export / "deals.csv", ",lost,3000,EUR,", ",lost,-3000,EUR,")
    edit(export / "owners.csv", "2,Bob Chen", ",Bob Chen")
    edit(export / "stage_history.csv", "2026-03-20T10:00:00Z", "yesterday")
    found = problems(export)
    assert found == [
        "deals.csv, line 4, column 'amount': '-3000' must be at least 0",
        "owners.csv, line 3, column 'owner_id': (empty) is empty; a value is required",
        "stage_history.csv, line 11, column 'entered_at': 'yesterday' is not an ISO 8601 "
        "timestamp such as 2026-03-01T14:30:00Z (UTC when no offset)",
    ]


def test_every_duplicated_key_is_counted_when_a_few_are_listed(export: Path) -> None:
    """Three duplicated keys are shown; the other two are counted, not lost."""
    with open(export / "deals.csv", "a") as f:
        for deal_id in range(1, 6):
            f.write(f"{deal_id},11,2,New Business,Proposal,open,10,EUR,2026-04-11T09:00:00Z,,,\n")
    with pytest.raises(ContractError) as caught:
        ValidatedExport(export).check()
    assert [p.message.split(" (")[0] for p in caught.value.problems] == [
        "duplicate key 1",
        "duplicate key 2",
        "duplicate key 3",
    ]
    assert caught.value.total == 5
    assert "- ... and 2 more problems" in str(caught.value)


def test_missing_file_and_duplicate_key(export: Path) -> None:
    (export / "owners.csv").unlink()
    assert problems(export)[0].startswith("owners.csv: missing: the export needs owners.csv")
    shutil.copy(GOOD / "owners.csv", export / "owners.csv")
    with open(export / "deals.csv", "a") as f:
        f.write("7,11,2,New Business,Proposal,open,10,EUR,2026-04-11T09:00:00Z,,,\n")
    [message] = problems(export)
    assert message.startswith("deals.csv, line 17, column 'deal_id': duplicate key 7 (lines 8, 17)")


def test_history_of_unknown_deals_is_loaded_with_a_warning(
    export: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deal deleted while its history was kept stops nothing: the rows are loaded (dbt
    quarantines them) and the warning names the count, the file, the first line, the
    field and what to do."""
    with open(export / "stage_history.csv", "a") as f:
        f.write("99,Proposal,2026-04-11T09:00:00Z\n D-7 ,Qualification,2026-04-12T09:00:00Z\n")
    with caplog.at_level("WARNING", logger="ingestion.files.reader"):
        validated = ValidatedExport(export).check()
    loaded = pa.concat_tables(list(validated.batches("stage_history")))
    validated.close()
    assert loaded.num_rows == 31
    assert loaded.column("deal_id").to_pylist()[-2:] == ["99", "D-7"]
    [warning] = validated.warnings
    assert warning.startswith(
        "stage_history.csv, line 31, column 'deal_id': '99' is not a deal_id of deals.csv; "
        "2 history row(s) name deals deals.csv lacks. They are kept in quarantine.stage_history"
    )
    assert "CRM_KPI_MAX_QUARANTINE_SHARE" in warning
    assert warning.endswith("or remove the rows of deleted deals.")
    assert [r.getMessage() for r in caplog.records] == [warning]


def test_products_of_unknown_deals_are_loaded_with_a_warning(
    export: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """deal_products.csv naming a deal deals.csv lacks stops nothing either: the lines
    load (dbt keeps them in quarantine.opportunity_products) with a warning naming the
    file, the line, the field and what to do."""
    (export / "deal_products.csv").write_text(
        "deal_id,product_id,product_name,product_family,quantity,unit_price,amount,currency\n"
        "1,P-1,Platform,Software,2,50.00,100.00,EUR\n"
        "D-404,P-1,Platform,Software,1,50.00,50.00,EUR\n"
    )
    with caplog.at_level("WARNING", logger="ingestion.files.reader"):
        validated = ValidatedExport(export).check()
    loaded = pa.concat_tables(list(validated.batches("deal_products")))
    validated.close()
    assert loaded.column("deal_id").to_pylist() == ["1", "D-404"]
    assert loaded.column("cost").null_count == 2  # the optional column is absent
    [warning] = validated.warnings
    assert warning.startswith(
        "deal_products.csv, line 3, column 'deal_id': 'D-404' is not a deal_id of deals.csv; "
        "1 product row(s) name deals deals.csv lacks. They are kept in "
        "quarantine.opportunity_products"
    )


def test_an_unquoted_comma_names_the_line_and_what_to_quote(export: Path) -> None:
    edit(export / "owners.csv", "2,Bob Chen,", "2,Chen, Bob,")
    assert problems(export) == [
        "owners.csv, line 3: has 5 values where the header has 4 columns: a value holding "
        'a comma must be in double quotes, such as "Smith, John"'
    ]


def test_a_bad_last_line_is_named_not_taken_for_the_header(tmp_path: Path) -> None:
    # DuckDB's sniffer would skip the good lines and read the bad last one as the header
    folder = tmp_path / "O'Brien's export"  # a quote in the path is no SQL problem either
    shutil.copytree(GOOD, folder)
    with open(folder / "owners.csv", "a") as f:
        f.write("4,Chen, Bob,bob.chen@example.com,SMB\n")
    assert problems(folder) == [
        "owners.csv, line 5: has 5 values where the header has 4 columns: a value holding "
        'a comma must be in double quotes, such as "Smith, John"'
    ]


def test_a_file_that_is_not_what_its_name_says_is_reported_not_crashed_on(
    export: Path,
) -> None:
    (export / "owners.csv").unlink()
    (export / "owners.csv.gz").write_text("owner_id,name,email,team\n1,Ann,a@b.c,SMB\n")
    [message] = problems(export)
    assert message.startswith("owners.csv.gz: cannot be read:")


def test_a_file_not_in_utf8_names_the_line_and_the_encoding_to_use(export: Path) -> None:
    text = (export / "owners.csv").read_text().replace("Carla Diaz", "Carla Díaz")
    (export / "owners.csv").write_bytes(text.encode("cp1252"))
    assert problems(export) == [
        "owners.csv, line 4: is not UTF-8 text (Excel's 'CSV' is Windows-1252): export or "
        "save the file as 'CSV UTF-8'"
    ]


def owners_with_many_lines(export: Path, lines: dict[int, str]) -> None:
    """owners.csv past DuckDB's 20,480-line sniffing sample, `lines` put at their line numbers."""
    rows = ["owner_id,name,email,team"]
    rows += [f"{i},Owner {i},owner{i}@example.com,SMB" for i in range(1, 30_001)]
    for number, text in lines.items():
        rows[number - 1] = text
    with gzip.open(export / "owners.csv.gz", "wt") as f:
        f.write("\n".join(rows) + "\n")
    (export / "owners.csv").unlink()


def test_bad_lines_past_the_sniffed_sample_are_all_named(export: Path) -> None:
    owners_with_many_lines(
        export, {25_000: "24999,Chen, Bob,bob@example.com,SMB", 26_000: "25999,Ann,SMB"}
    )
    with pytest.raises(ContractError) as caught:
        ValidatedExport(export).check()
    assert [(p.file, p.line, p.message.split(":")[0]) for p in caught.value.problems] == [
        ("owners.csv.gz", 25_000, "has 5 values where the header has 4 columns"),
        ("owners.csv.gz", 26_000, "has 3 values where the header has 4 columns"),
    ]


def test_a_quoted_comma_past_the_sniffed_sample_is_read(export: Path) -> None:
    owners_with_many_lines(
        export,
        {25_000: '24999,"Chen, Bob",bob@example.com,SMB', 25_001: '25000,"Al ""Big"" Li",a@b.c,'},
    )
    checked = ValidatedExport(export).check()
    try:
        owners = pa.concat_tables(checked.batches("owners")).to_pylist()
    finally:
        checked.close()
    assert len(owners) == 30_000
    assert owners[24_998]["name"] == "Chen, Bob"
    assert owners[24_999]["name"] == 'Al "Big" Li'


def test_optional_files_absent_and_parquet_and_header_case(export: Path, tmp_path: Path) -> None:
    (export / "stages.csv").unlink()
    (export / "fx_rates.csv").unlink()
    # Parquet works like CSV; header names are matched whatever their case
    table = pacsv.read_csv(export / "accounts.csv")
    table = table.rename_columns([c.upper() for c in table.column_names])
    pq.write_table(table, export / "accounts.parquet")
    (export / "accounts.csv").unlink()
    checked = ValidatedExport(export).check()
    try:
        assert checked.row_counts["accounts"] == 4
        stages = list(checked.batches("stages"))
        assert sum(b.num_rows for b in stages) == 0
        assert stages[0].schema.equals(ENTITIES["stages"].schema)
    finally:
        checked.close()


def test_a_bad_export_stops_the_run_and_keeps_the_published_marts(export: Path) -> None:
    env = {"SOURCES__FILES__PATH": str(export)}
    good = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert good.returncode == 0, good.stderr
    serving = export.parent / "data" / "serving.duckdb"
    before = hashlib.sha256(serving.read_bytes()).hexdigest()
    edit(export / "deals.csv", ",lost,3000,EUR,", ",lost,-3000,EUR,")
    bad = run_cli("run", "--source", "files", "--as-of", "2026-07-15", env=env)
    assert bad.returncode == 1
    assert "deals.csv, line 4, column 'amount': '-3000' must be at least 0" in bad.stderr
    assert "nothing was loaded" in bad.stderr
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before


def test_history_in_a_stage_the_stages_file_lacks_is_loaded_with_a_warning(
    export: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edit(
        export / "stage_history.csv",
        "3,Proposal,2026-03-15T10:00:00Z",
        "3,Demo,2026-03-15T10:00:00Z",
    )
    # Known elsewhere, not in this deal's pipeline: unknown to the weighted pipeline too.
    edit(
        export / "stages.csv",
        "New Business,Closed Lost,0,5",
        "New Business,Closed Lost,0,5\nRenewals,Pilot,0.5,1",
    )
    history = (export / "stage_history.csv").read_text().splitlines()
    history.append(f"{history[1].split(',')[0]},Pilot,2026-01-11T10:00:00Z")
    (export / "stage_history.csv").write_text("\n".join(history) + "\n")
    line = next(i for i, row in enumerate(history, start=1) if ",Demo," in row)

    with caplog.at_level("WARNING", logger="ingestion.files.reader"):
        validated = ValidatedExport(export).check()
    validated.close()
    [warning] = validated.warnings
    assert warning.startswith(f"stage_history.csv, line {line}: stage 'Demo' of deal '3'")
    assert "2 history row(s) name a stage stages.csv lacks ('Demo', 'Pilot')" in warning
    assert [r.getMessage() for r in caplog.records] == [warning]


def test_no_stage_warning_without_a_stages_file(export: Path) -> None:
    (export / "stages.csv").unlink()
    validated = ValidatedExport(export).check()
    validated.close()
    assert validated.warnings == []
