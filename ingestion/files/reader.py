"""Reading and checking a folder of CRM export files against the files contract.

Every file is read as text into a scratch DuckDB database (in memory, spilling to a
temporary folder), every value is checked with set-based SQL (one scan per file for all
its columns' checks, fast at millions of rows), and only when the whole folder is valid are
typed Arrow batches handed out. A breach names the file, the line and the column, and
nothing is loaded from that run.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
import shutil
import tempfile
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.files.contract import ENTITIES, Column, Entity

SUFFIXES = (".csv", ".csv.gz", ".parquet")
HEADER_BYTES = 1 << 20  # a header longer than this is not one of the contract's
DELIMITERS = (",", ";", "\t", "|")  # those CRM exports use; DuckDB's sniffer tries the same
MAX_REPORTED = 20  # problems listed in one error; the rest are counted
BATCH_ROWS = 250_000
# The scratch database lives in memory (writing a million rows of text to a file cost
# three times their reading); past this much it spills to the scratch folder instead.
SCRATCH_MEMORY = "1GB"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # CSV: line in the file (header = 1); Parquet: row number
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"{'row' if self.file.endswith('.parquet') else 'line'} {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class ContractError(ValueError):
    """The export breaks the files contract; nothing was loaded."""

    def __init__(self, folder: Path, problems: list[Problem], total: int) -> None:
        self.folder = folder
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0))
        self.total = total
        lines = [f"- {p}" for p in self.problems]
        if total > len(problems):
            lines.append(f"- ... and {total - len(problems)} more problems")
        super().__init__(
            f"The CRM export in {folder} breaks the files contract (docs/crm-model.md, "
            f"'The files source'); nothing was loaded from this run. "
            f"{total} problem(s):\n" + "\n".join(lines)
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def _cast_sql(column: Column, text: str) -> str:
    """SQL turning the trimmed text `text` into the column's contract type (NULL if empty)."""
    value = f"NULLIF(TRIM({text}), '')"
    t = column.type
    if column.allowed is not None:
        return f"LOWER({value})"
    if column.name == "currency":
        return f"UPPER({value})"
    if pa.types.is_string(t):
        return value
    if pa.types.is_timestamp(t):
        # Without an offset a timestamp is UTC: the session zone is UTC.
        return f"TRY_CAST({value} AS TIMESTAMPTZ)"
    if pa.types.is_date(t):
        return f"TRY_CAST({value} AS DATE)"
    if pa.types.is_decimal(t):
        return f"TRY_CAST({value} AS DECIMAL({t.precision},{t.scale}))"
    if pa.types.is_integer(t):
        return f"TRY_CAST({value} AS INTEGER)"
    raise TypeError(f"no cast for {t}")  # a contract column of a type this reader lacks


def _type_words(column: Column) -> str:
    t = column.type
    if pa.types.is_timestamp(t):
        return "an ISO 8601 timestamp such as 2026-03-01T14:30:00Z (UTC when no offset)"
    if pa.types.is_date(t):
        return "a date such as 2026-03-01"
    if pa.types.is_decimal(t):
        return "a number with a dot as decimal separator, such as 1250.50"
    if pa.types.is_integer(t):
        return "a whole number"
    return "text"


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
        if self._total == 0:
            self._check_references()
        if self._total:
            self.close()
            raise ContractError(self.folder, self._problems, self._total)
        self._check_stage_names()
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
            f"read_csv({_literal(path)}, all_varchar = true, header = true, skip = 0, "
            f"quote = '\"', escape = '\"')"
            if is_csv
            else f"read_parquet({_literal(path)})"
        )
        try:
            described = self._con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            if not (is_csv and self._report_malformed_lines(path)):
                self._report(_unreadable(path, exc))
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
            f"CAST({_quote(src)} AS VARCHAR) AS {_quote(name)}" for name, src in mapping.items()
        )
        try:
            self._con.execute(
                f"CREATE OR REPLACE TABLE text_{entity.name} AS SELECT {select} FROM {reader}"
            )
        except duckdb.OutOfMemoryException:
            raise  # this machine's limit, not the file's fault: no ContractError blames it
        except duckdb.Error as exc:
            if not (is_csv and self._report_malformed_lines(path)):
                self._report(_unreadable(path, exc))
            return None
        return mapping

    def _report_malformed_lines(self, path: Path) -> bool:
        """Report the lines whose values do not match the header; False if none are found.

        DuckDB's own error names one line, with fixes phrased as its reader options; this
        names every such line (up to three, the rest counted) and what to change in it.
        """
        try:
            header = _header_line(path)
            delimiter = max(DELIMITERS, key=header.count)
            width = len(next(csv.reader([header], delimiter=delimiter)))
        except (OSError, EOFError, zlib.error, csv.Error, StopIteration):
            return False  # not gzip, truncated, unreadable: DuckDB's own error says which
        if delimiter not in header:
            return False
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        quoted_delimiter = delimiter.replace("'", "''")
        self._con.execute("DROP TABLE IF EXISTS malformed_lines")
        self._con.execute("DROP TABLE IF EXISTS malformed_scans")
        try:
            # fetchall: DuckDB writes the rejects table only once the scan has finished
            self._con.execute(
                f"SELECT count(*) FROM read_csv({_literal(path)}, header = true, "
                "auto_detect = false, "
                f"delim = '{quoted_delimiter}', quote = '\"', escape = '\"', "
                f"columns = {columns}, store_rejects = true, "
                f"rejects_table = 'malformed_lines', rejects_scan = 'malformed_scans')"
            ).fetchall()
            (count,) = self._con.execute(
                "SELECT count(DISTINCT line) FROM malformed_lines"
            ).fetchone()
            rows = self._con.execute(
                "SELECT line, any_value(error_type), any_value(error_message) "
                "FROM malformed_lines GROUP BY line ORDER BY line LIMIT 3"
            ).fetchall()
        except duckdb.OutOfMemoryException:
            raise
        except duckdb.Error:
            return False  # not a matter of rows and columns: the caller reports DuckDB's words
        for line, kind, message in rows:
            self._report(
                Problem(path.name, line, None, _malformed_words(kind, message, width, delimiter))
            )
        if count > len(rows):
            self._total += count - len(rows)
        return bool(rows)

    def _conditions(self, entity: Entity, mapping: dict[str, str]) -> list[tuple[Column, str, str]]:
        """(column, SQL condition true on a bad row, what is wrong) of every check."""
        conditions: list[tuple[Column, str, str]] = []
        for column in entity.columns:
            if column.name not in mapping:
                continue
            raw = _quote(column.name)
            typed = _cast_sql(column, raw)
            empty = f"NULLIF(TRIM({raw}), '') IS NULL"
            if not column.nullable:
                conditions.append((column, empty, "is empty; a value is required"))
            if column.allowed is not None:
                conditions.append(
                    (
                        column,
                        f"NOT {empty} AND {typed} NOT IN "
                        f"({', '.join(repr(a) for a in column.allowed)})",
                        f"is not one of {', '.join(column.allowed)}",
                    )
                )
            elif column.name == "currency":
                conditions.append(
                    (
                        column,
                        f"NOT {empty} AND NOT regexp_full_match({typed}, '[A-Z]{{3}}')",
                        "is not a 3-letter ISO 4217 currency code such as EUR",
                    )
                )
            elif not pa.types.is_string(column.type):
                conditions.append(
                    (column, f"NOT {empty} AND {typed} IS NULL", f"is not {_type_words(column)}")
                )
                if column.minimum is not None:
                    op = "<=" if column.exclusive_minimum else "<"
                    words = "greater than" if column.exclusive_minimum else "at least"
                    conditions.append(
                        (
                            column,
                            f"{typed} {op} {column.minimum}",
                            f"must be {words} {column.minimum}",
                        )
                    )
                if column.maximum is not None:
                    conditions.append(
                        (column, f"{typed} > {column.maximum}", f"must be at most {column.maximum}")
                    )
        return conditions

    def _check_entity(self, entity: Entity, path: Path) -> None:
        before = self._total
        mapping = self._read_text(entity, path)
        if mapping is None:
            return
        table = f"text_{entity.name}"
        # rowid follows file order (insertion order is preserved): line = rowid + 2.
        offset = 1 if path.name.endswith(".parquet") else 2
        conditions = self._conditions(entity, mapping)
        # One scan counts the rows and the breaches of every check: at millions of rows a
        # scan per check costs more than reading the file.
        counts = self._con.execute(
            "SELECT count(*)"
            + "".join(f", count_if({condition})" for _, condition, _ in conditions)
            + f" FROM {table}"
        ).fetchone()
        self.row_counts[entity.name] = counts[0]
        for (column, condition, words), count in zip(conditions, counts[1:], strict=True):
            if not count:
                continue
            raw = _quote(column.name)
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
        self._check_primary_key(entity, path, offset)

    def _check_primary_key(self, entity: Entity, path: Path, offset: int) -> None:
        typed_keys = ", ".join(_cast_sql(entity.column(k), _quote(k)) for k in entity.primary_key)
        # Grouping on a 64-bit hash of the typed key needs a fraction of the memory of
        # grouping on the key itself; a collision only sends us to the exact search below.
        duplicated = self._con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM text_{entity.name} "
            f"GROUP BY hash({typed_keys}) HAVING count(*) > 1)"
        ).fetchone()[0]
        if not duplicated:
            return
        dupes = self._con.execute(
            f"""
            SELECT k, list(rowid ORDER BY rowid) FROM (
                SELECT ({typed_keys})::VARCHAR AS k, rowid FROM text_{entity.name}
            ) GROUP BY k HAVING count(*) > 1 ORDER BY min(rowid) LIMIT 3
            """
        ).fetchall()
        for key, rowids in dupes:
            lines = ", ".join(str(r + offset) for r in rowids[:5])
            self._report(
                Problem(
                    path.name,
                    rowids[1] + offset,
                    ", ".join(entity.primary_key),
                    f"duplicate key {key} (lines {lines}); each "
                    f"{' + '.join(entity.primary_key)} must appear once",
                )
            )
        if dupes:  # the other duplicated keys, counted by the hash pass ("... and N more")
            self._total += max(duplicated - len(dupes), 0)

    def _check_references(self) -> None:
        """Stage history must belong to deals of the export: a typo there loses history."""
        if "stage_history" not in self.files:
            return
        count, first = self._con.execute(
            """
            SELECT count(*), min(h.rowid) FROM text_stage_history h
            ANTI JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id)
            """
        ).fetchone()
        if count:
            deal = self._con.execute(
                f"SELECT deal_id FROM text_stage_history WHERE rowid = {first}"
            ).fetchone()[0]
            name = self.files["stage_history"].name
            self._report(
                Problem(
                    name,
                    first + (1 if name.endswith(".parquet") else 2),
                    "deal_id",
                    f"{deal!r} is not a deal_id of {self.files['deals'].name} "
                    f"({count} history row(s) name unknown deals)",
                ),
            )

    def _check_stage_names(self) -> None:
        """Stage history naming a stage that the stages file lacks for the deal's pipeline
        is loaded (it is the deal's real history), but that stage has no probability for
        the weighted pipeline and no place in the funnel: a warning with file and line."""
        if "stages" not in self.files or "stage_history" not in self.files:
            return
        unknown = """
            FROM text_stage_history h JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id)
            WHERE NOT EXISTS (
                SELECT 1 FROM text_stages s
                WHERE TRIM(s.pipeline) = TRIM(d.pipeline) AND TRIM(s.stage) = TRIM(h.stage)
            )
        """
        count, first = self._con.execute(f"SELECT count(*), min(h.rowid) {unknown}").fetchone()
        if not count:
            return
        deal, stage, pipeline = self._con.execute(
            "SELECT TRIM(h.deal_id), TRIM(h.stage), TRIM(d.pipeline) FROM text_stage_history h "
            "JOIN text_deals d ON TRIM(d.deal_id) = TRIM(h.deal_id) WHERE h.rowid = ?",
            [first],
        ).fetchone()
        names = [
            r[0]
            for r in self._con.execute(
                f"SELECT DISTINCT TRIM(h.stage) AS stage {unknown} ORDER BY stage LIMIT 6"
            ).fetchall()
        ]
        history, stages = self.files["stage_history"].name, self.files["stages"].name
        offset = 1 if history.endswith(".parquet") else 2
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        self.warnings.append(
            f"{history}, {'row' if offset == 1 else 'line'} {first + offset}: stage {stage!r} "
            f"of deal {deal!r} is not a stage of pipeline {pipeline!r} in {stages}; "
            f"{count} history row(s) name a stage {stages} lacks ({shown}). They are loaded, "
            "but such a stage has no probability (weighted pipeline) and no place in the "
            f"funnel: add it to {stages}, or correct the history."
        )

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
                f"{_cast_sql(c, _quote(c.name))} AS {_quote(c.name)}"
                if c.name in present
                else f"NULL AS {_quote(c.name)}"
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


def _literal(path: Path) -> str:
    """`path` as an SQL string literal (a folder may be named O'Brien)."""
    return "'" + str(path).replace("'", "''") + "'"


def _header_line(path: Path) -> str:
    """The first line, whatever its line ending (old Excel for Mac writes CR alone)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as file:
        head = file.read(HEADER_BYTES).decode("utf-8", errors="replace")
    return re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]


def _unreadable(path: Path, error: duckdb.Error) -> Problem:
    text = str(error)
    if "not utf-8 encoded" in text.lower():
        line = re.search(r"CSV Error on Line: (\d+)", text)
        return Problem(
            path.name,
            int(line.group(1)) if line else None,
            None,
            "is not UTF-8 text (Excel's 'CSV' is Windows-1252): export or save the file as "
            "'CSV UTF-8'",
        )
    return Problem(path.name, None, None, f"cannot be read: {text}")


def _malformed_words(kind: str, message: str, width: int, delimiter: str) -> str:
    found = re.search(r"Found: (\d+)", message or "")
    values = f"{found.group(1)} values" if found else "a different number of values"
    shown = {"\t": "a tab", ",": "a comma", ";": "a semicolon", "|": "a bar"}[delimiter]
    if kind == "TOO MANY COLUMNS":
        example = "" if delimiter == "\t" else f', such as "Smith{delimiter} John"'
        return (
            f"has {values} where the header has {width} columns: a value holding "
            f"{shown} must be in double quotes{example}"
        )
    if kind == "MISSING COLUMNS":
        return f"has {values} where the header has {width} columns: a value is missing"
    if kind == "UNQUOTED VALUE":
        return 'has a quote inside a value: write it twice ("") and quote the whole value'
    return f"cannot be read: {message}"


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
