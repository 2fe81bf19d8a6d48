"""Telling a person which lines of a CSV file do not parse, and what to change in them.

Apart from the reader because DuckDB's own errors name one line with fixes phrased as its
reader options; this re-reads a failing file and words every bad line for the person who
exported it (wrong encoding, a delimiter inside an unquoted value, a stray quote).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from pathlib import Path

import duckdb

from ingestion.files.problems import Problem
from ingestion.files.sql import literal

HEADER_BYTES = 1 << 20  # a header longer than this is not one of the contract's
DELIMITERS = (",", ";", "\t", "|")  # those CRM exports use; DuckDB's sniffer tries the same


def malformed_lines(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[Problem], int] | None:
    """The lines whose values do not match the header, worded (up to three), and how many
    more there are; None if none are found, and the caller reports DuckDB's own error."""
    try:
        header = header_line(path)
        delimiter = max(DELIMITERS, key=header.count)
        width = len(next(csv.reader([header], delimiter=delimiter)))
    except (OSError, EOFError, zlib.error, csv.Error, StopIteration):
        return None  # not gzip, truncated, unreadable: DuckDB's own error says which
    if delimiter not in header:
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    quoted_delimiter = delimiter.replace("'", "''")
    con.execute("DROP TABLE IF EXISTS malformed_lines")
    con.execute("DROP TABLE IF EXISTS malformed_scans")
    try:
        # fetchall: DuckDB writes the rejects table only once the scan has finished
        con.execute(
            f"SELECT count(*) FROM read_csv({literal(path)}, header = true, "
            "auto_detect = false, "
            f"delim = '{quoted_delimiter}', quote = '\"', escape = '\"', "
            f"columns = {columns}, store_rejects = true, "
            f"rejects_table = 'malformed_lines', rejects_scan = 'malformed_scans')"
        ).fetchall()
        (count,) = con.execute("SELECT count(DISTINCT line) FROM malformed_lines").fetchone()
        rows = con.execute(
            "SELECT line, any_value(error_type), any_value(error_message) "
            "FROM malformed_lines GROUP BY line ORDER BY line LIMIT 3"
        ).fetchall()
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error:
        return None  # not a matter of rows and columns: the caller reports DuckDB's words
    if not rows:
        return None
    problems = [
        Problem(path.name, line, None, malformed_words(kind, message, width, delimiter))
        for line, kind, message in rows
    ]
    return problems, max(count - len(rows), 0)


def header_line(path: Path) -> str:
    """The first line, whatever its line ending (old Excel for Mac writes CR alone)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as file:
        head = file.read(HEADER_BYTES).decode("utf-8", errors="replace")
    return re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]


def unreadable(path: Path, error: duckdb.Error) -> Problem:
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


def malformed_words(kind: str, message: str, width: int, delimiter: str) -> str:
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
