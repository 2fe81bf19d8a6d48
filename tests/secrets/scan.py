"""Searching everything a run wrote for planted secrets.

A marker is a unique string planted as a credential. `needles` gives the forms it can
take in a file: as is, URL- and form-encoded, UTF-16, hex, and base64 (standard and
URL-safe) at each of the three alignments a substring of an encoded text can have.
`leaks` reads every byte of every file under the given folders, and also the content of
the files that would hide a marker from a byte search: gzip members (dlt's job files),
Parquet values (dlt's load packages, which may be compressed), DuckDB tables and view
definitions (whose strings DuckDB compresses) and zip members.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pyarrow.parquet as pq


def needles(value: str) -> dict[str, bytes]:
    """The byte strings that betray `value`, by the name of their encoding."""
    raw = value.encode()
    forms = {
        "as is": raw,
        "URL-encoded": quote(value, safe="").encode(),
        "form-encoded": quote_plus(value).encode(),
        "UTF-16": value.encode("utf-16-le"),
        "hex": raw.hex().encode(),
    }
    for offset in range(3):
        for name, encode in (
            ("base64", base64.b64encode),
            ("URL-safe base64", base64.urlsafe_b64encode),
        ):
            encoded = encode(b"\0" * offset + raw)
            # only the characters made of the value's bits alone
            start = -(-offset * 8 // 6)
            end = (offset + len(raw)) * 8 // 6
            forms[f"{name} (offset {offset})"] = encoded[start:end]
    unique: dict[str, bytes] = {}
    for name, needle in forms.items():
        if needle not in unique.values():
            unique[name] = needle
    return unique


def found_in(blob: bytes, markers: Mapping[str, str]) -> list[str]:
    """'<marker name> (<form>)' for each marker form in `blob`."""
    return [
        f"{name} ({form})"
        for name, value in markers.items()
        for form, needle in needles(value).items()
        if needle in blob
    ]


def _duckdb_content(path: Path) -> bytes:
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = [
            str(row).encode()
            for row in con.execute(
                "SELECT sql, comment FROM duckdb_views() UNION ALL "
                "SELECT sql, comment FROM duckdb_tables() UNION ALL "
                "SELECT macro_definition, comment FROM duckdb_functions() "
                "WHERE NOT internal"
            ).fetchall()
        ]
        tables = con.execute(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables()"
        ).fetchall()
        for database, schema, table in tables:
            text = con.execute(
                f'SELECT string_agg(CAST(t AS VARCHAR), chr(10)) FROM "{database}"."{schema}".'
                f'"{table}" AS t'
            ).fetchone()[0]
            parts.append((text or "").encode())
        return b"\n".join(parts)
    finally:
        con.close()


def _layers(path: Path, data: bytes) -> Iterator[tuple[str, bytes]]:
    """The file's bytes, then what a byte search would not see."""
    yield "", data
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):  # not gzip after all
            yield "gunzipped", gzip.decompress(data)
    if data[:4] == b"PAR1":
        yield "Parquet values", str(pq.read_table(path).to_pylist()).encode()
    if data[8:12] == b"DUCK":
        yield "DuckDB rows", _duckdb_content(path)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield f"zip member {member}", archive.read(member)


def files_under(roots: Iterable[Path], skip: Iterable[Path] = ()) -> list[Path]:
    skipped = {p.resolve() for p in skip}
    found = []
    for root in roots:
        if root.is_dir():
            found.extend(
                p for p in sorted(root.rglob("*")) if p.is_file() and p.resolve() not in skipped
            )
    return found


def leaks(
    roots: Iterable[Path], markers: Mapping[str, str], skip: Iterable[Path] = ()
) -> tuple[list[str], int]:
    """Every place a marker appears under `roots` (but in `skip`), and the number of files
    read."""
    found = []
    files = files_under(roots, skip)
    for path in files:
        data = path.read_bytes()
        for layer, blob in _layers(path, data):
            for hit in found_in(blob, markers):
                found.append(f"{path}{f' ({layer})' if layer else ''}: {hit}")
    return found, len(files)
