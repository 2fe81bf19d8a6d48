"""Reading and checking a folder of CRM export files against the files contract.

Every file is read as text into a scratch DuckDB database (in memory, spilling to a
temporary folder), every value is checked with set-based SQL (one scan per file for all
its columns' checks, fast at millions of rows), and only when the whole folder is valid are
typed Arrow batches handed out. A breach names the file, the line and the column, and
nothing is loaded from that run.

This module holds the run of the checks and the hand-out of batches; the SQL text
(`sql`), the wording of unreadable CSV lines (`csv_lines`) and the key and reference
checks (`key_checks`) sit beside it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.files.contract import ENTITIES, Entity
from ingestion.files.csv_lines import DELIMITERS, malformed_lines, unreadable
from ingestion.files.key_checks import duplicate_keys, unknown_deals, unknown_stages
from ingestion.files.problems import ContractError, Problem
from ingestion.files.sql import cast_sql, conditions, literal, quote

SUFFIXES = (".csv", ".csv.gz", ".parquet")
MAX_REPORTED = 20  # problems listed in one error; the rest are counted
BATCH_ROWS = 250_000
# The scratch database lives in memory (writing a million rows of text to a file cost
# three times their reading); past this much it spills to the scratch folder instead.
SCRATCH_MEMORY = "1GB"

log = logging.getLogger(__name__)


def find_file(folder: Path, entity: str) -> Path | None:
    """The file of `entity` in `folder` (deals.csv, deals.csv.gz or deals.parquet)."""
    found = [folder / f"{entity}{s}" for s in SUFFIXES if (folder / f"{entity}{s}").is_file()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise ContractError(
            folder,
            [Problem(found[0].name, None, None, f"both {names} exist: keep one")],
            1,
        )
    return found[0] if found else None


class ValidatedExport:
    """A folder of export files, checked in full; typed batches per entity on demand."""

    def __init__(self, folder: Path, workdir: Path | None = None) -> None:
        self.folder = Path(folder)
        self._tmp = Path(tempfile.mkdtemp(prefix="crm-kpi-files-", dir=workdir))
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET memory_limit = '{SCRATCH_MEMORY}'")
        self._con.execute(f"SET temp_directory = '{self._tmp / 'spill'}'")
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute("SET preserve_insertion_order = true")
        # the bar would go to stdout, where `crm-kpi` prints its tables
        self._con.execute("SET enable_progress_bar = false")
        # A run that fails half-way still removes the scratch database.
        self._cleanup = weakref.finalize(self, _remove, self._con, self._tmp)
        self.files: dict[str, Path] = {}
        self.row_counts: dict[str, int] = {}
        self._problems: list[Problem] = []
        self._total = 0
        # What is loaded but worth a person's look (logged once the folder is valid).
        self.warnings: list[str] = []

    # -- checking ---------------------------------------------------------------

    def _report(self, problem: Problem, count: int = 1) -> None:
        self._total += count
        if len(self._problems) < MAX_REPORTED:
            self._problems.append(problem)

    def _record(self, problems: list[Problem], more: int) -> None:
        """Report `problems` and count `more` of their kind that are not listed."""
        for problem in problems:
            self._report(problem)
        self._total += more

    def check(self) -> ValidatedExport:
        if not self.folder.is_dir():
            raise ContractError(
                self.folder,
                [
                    Problem(
                        str(self.folder),
                        None,
                        None,
                        "is not a folder: set SOURCES__FILES__PATH to the folder holding "
                        "deals.csv, stage_history.csv, accounts.csv and owners.csv",
                    )
                ],
                1,
            )
        for entity in ENTITIES.values():
            path = find_file(self.folder, entity.name)
            if path is None:
                if entity.required:
                    self._report(
                        Problem(
                            f"{entity.name}.csv",
                            None,
                            None,
                            f"missing: the export needs {entity.name}.csv (or .parquet) with "
                            f"columns {', '.join(c.name for c in entity.columns if c.required)}",
                        )
                    )
                continue
            self.files[entity.name] = path
            self._check_entity(entity, path)
        if self._total:
            self.close()
            raise ContractError(self.folder, self._problems, self._total)
        # Only a folder whose files are each valid can be checked across files.
        for warning in (
            unknown_deals(self._con, self.files),
            unknown_deals(self._con, self.files, "deal_products"),
            unknown_stages(self._con, self.files),
        ):
            if warning is not None:
                self.warnings.append(warning)
        for warning in self.warnings:
            log.warning(warning)
        return self

    def _read_text(self, entity: Entity, path: Path) -> dict[str, str] | None:
        """Load the file as text into table `text_<entity>`; map contract column -> file column."""
        is_csv = not path.name.endswith(".parquet")
        # The quote is fixed to RFC 4180's: sniffed from the first lines only, it came out
        # as "none" when those held no quoted value, and a later "Smith, John" broke the file.
        # skip = 0: the header is the first line; the sniffer skipped lines to make a bad
        # last line the header, and the user was told their header was wrong.
        reader = (
            f"read_csv({literal(path)}, all_varchar = true, header = true, skip = 0, "
            f"quote = '\"', escape = '\"')"
            if is_csv
            else f"read_parquet({literal(path)})"
        )
        try:
            described = self._con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            if not (is_csv and self._report_malformed_lines(path)):
                self._report(unreadable(path, exc))
            return None
        # One column named like a whole header line: the sniffer gave up on the delimiter,
        # which a row with more or fewer values than the header does.
        if (
            is_csv
            and len(described) == 1
            and any(d in str(described[0][0]) for d in DELIMITERS)
            and self._report_malformed_lines(path)
        ):
            return None
        by_lower = {str(row[0]).strip().lower(): str(row[0]) for row in described}
        missing = [c.name for c in entity.columns if c.required and c.name not in by_lower]
        if missing:
            self._report(
                Problem(
                    path.name,
                    1,
                    None,
                    f"missing column(s) {', '.join(missing)}; the header has "
                    f"{', '.join(by_lower.values()) or 'no columns'}",
                )
            )
            return None
        mapping = {c.name: by_lower[c.name] for c in entity.columns if c.name in by_lower}
        select = ", ".join(
            f"CAST({quote(src)} AS VARCHAR) AS {quote(name)}" for name, src in mapping.items()
        )
        try:
            self._con.execute(
                f"CREATE OR REPLACE TABLE text_{entity.name} AS SELECT {select} FROM {reader}"
            )
        except duckdb.OutOfMemoryException:
            raise  # this machine's limit, not the file's fault: no ContractError blames it
        except duckdb.Error as exc:
            if not (is_csv and self._report_malformed_lines(path)):
                self._report(unreadable(path, exc))
            return None
        return mapping

    def _report_malformed_lines(self, path: Path) -> bool:
        """Report the lines whose values do not match the header; False if none are found."""
        found = malformed_lines(self._con, path)
        if found is None:
            return False
        self._record(*found)
        return True

    def _check_entity(self, entity: Entity, path: Path) -> None:
        before = self._total
        mapping = self._read_text(entity, path)
        if mapping is None:
            return
        table = f"text_{entity.name}"
        # rowid follows file order (insertion order is preserved): line = rowid + 2.
        offset = 1 if path.name.endswith(".parquet") else 2
        checks = conditions(entity, mapping)
        # One scan counts the rows and the breaches of every check: at millions of rows a
        # scan per check costs more than reading the file.
        counts = self._con.execute(
            "SELECT count(*)"
            + "".join(f", count_if({condition})" for _, condition, _ in checks)
            + f" FROM {table}"
        ).fetchone()
        self.row_counts[entity.name] = counts[0]
        for (column, condition, words), count in zip(checks, counts[1:], strict=True):
            if not count:
                continue
            raw = quote(column.name)
            rows = self._con.execute(
                f"SELECT rowid, {raw} FROM {table} WHERE {condition} ORDER BY rowid LIMIT 3"
            ).fetchall()
            for rowid, value in rows:
                shown = "(empty)" if value is None or str(value).strip() == "" else repr(value)
                self._report(Problem(path.name, rowid + offset, column.name, f"{shown} {words}"))
            if count > len(rows):
                self._total += count - len(rows)
        if self._total > before:
            return
        self._record(*duplicate_keys(self._con, entity, path, offset))

    # -- reading ----------------------------------------------------------------

    def batches(self, entity_name: str) -> Iterator[pa.RecordBatch | pa.Table]:
        """Typed batches of the entity (one empty table when the optional file is absent)."""
        entity = ENTITIES[entity_name]
        schema = entity.schema
        if entity_name not in self.files:
            yield schema.empty_table()
            return
        present = {r[0] for r in self._con.execute(f"DESCRIBE text_{entity_name}").fetchall()}
        select = ", ".join(
            (
                f"{cast_sql(c, quote(c.name))} AS {quote(c.name)}"
                if c.name in present
                else f"NULL AS {quote(c.name)}"
            )
            for c in entity.columns
        )
        # dlt reads resources in turns: each needs its own cursor on the scratch database.
        cursor = self._con.cursor()
        reader = cursor.sql(
            f"SELECT {select} FROM text_{entity_name} ORDER BY rowid"
        ).to_arrow_reader(BATCH_ROWS)
        empty = True
        for batch in reader:
            empty = False
            yield pa.Table.from_batches([batch]).cast(schema)
        cursor.close()
        if empty:
            yield schema.empty_table()

    def close(self) -> None:
        self._cleanup()


def _remove(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_fx_rates_file(path: Path) -> pa.Table:
    """The `fx_rates` file named by CRM_KPI_FX_RATES, checked like an export's."""
    path = Path(path)
    export = ValidatedExport(path.parent)
    try:
        if not path.is_file():
            raise ContractError(
                path,
                [Problem(str(path), None, None, "does not exist (CRM_KPI_FX_RATES)")],
                1,
            )
        export._check_entity(ENTITIES["fx_rates"], path)
        if export._total:
            raise ContractError(path, export._problems, export._total)
        export.files["fx_rates"] = path
        return pa.concat_tables(list(export.batches("fx_rates")))
    finally:
        export.close()
