"""The secret search finds a marker in every form a file can hide it in.

The end-to-end tests (test_*_secrets.py) pass when the search finds nothing; these show
that it would have found a leak, wherever the writer put it.
"""

from __future__ import annotations

import base64
import gzip
import pickle
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.secrets.sandbox import marker
from tests.secrets.scan import leaks, needles

SECRET = marker("SOURCES__HUBSPOT__API_KEY")
MARKERS = {"SOURCES__HUBSPOT__API_KEY": SECRET}


def _write(path: Path, how: str) -> None:
    rows = [{"id": i, "note": f"row {i}"} for i in range(2000)]
    rows[1234]["note"] = f"Authorization: Bearer {SECRET}"
    if how == "pickle":
        path.write_bytes(pickle.dumps({"resolved": [{"key": "api_key", "value": SECRET}]}))
    elif how == "gzip":
        path.write_bytes(gzip.compress("\n".join(map(str, rows)).encode()))
    elif how in ("parquet-zstd", "parquet-snappy"):
        pq.write_table(pa.Table.from_pylist(rows), path, compression=how.split("-")[1])
    elif how == "duckdb":
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE t AS SELECT * FROM range(100000) r(i)")
        con.execute("ALTER TABLE t ADD COLUMN note VARCHAR")
        con.execute("UPDATE t SET note = 'x' || (i % 7)")
        con.execute("UPDATE t SET note = ? WHERE i = 54321", [f"token={SECRET}"])
        con.execute("CHECKPOINT")
        con.close()
    elif how == "duckdb-view":
        con = duckdb.connect(str(path))
        con.execute(f"CREATE VIEW v AS SELECT '{SECRET}' AS token")
        con.close()
    elif how.startswith("base64"):
        prefix = "x" * int(how[-1])
        encoded = base64.b64encode(f"{prefix}client:{SECRET}".encode()).decode()
        path.write_text(f"Authorization: Basic {encoded}\n")
    elif how == "url-encoded":
        path.write_text(f"GET /v1/deals?api_token={quote(SECRET, safe='')}\n")
    elif how == "utf-16":
        path.write_bytes(f"token {SECRET}".encode("utf-16-le"))


@pytest.mark.parametrize(
    "how",
    [
        "pickle",
        "gzip",
        "parquet-zstd",
        "parquet-snappy",
        "duckdb",
        "duckdb-view",
        "base64-0",
        "base64-1",
        "base64-2",
        "url-encoded",
        "utf-16",
    ],
)
def test_a_planted_secret_is_found(tmp_path: Path, how: str) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    _write(tmp_path / "deep" / "er" / f"file.{how}", how)
    (tmp_path / "clean.txt").write_text("nothing here\n")
    found, files = leaks([tmp_path], MARKERS)
    assert files == 2
    assert found, f"the {how} file was not caught"
    assert all("file." in hit and "SOURCES__HUBSPOT__API_KEY" in hit for hit in found)


def test_clean_files_and_skipped_files_give_nothing(tmp_path: Path) -> None:
    (tmp_path / "secrets.toml").write_text(f'api_key = "{SECRET}"\n')
    (tmp_path / "other.txt").write_text(f"{SECRET[:-3]} is only a part of it\n")
    found, files = leaks([tmp_path], MARKERS, skip=[tmp_path / "secrets.toml"])
    assert (found, files) == ([], 1)


def test_needles_are_distinct_and_cover_each_base64_alignment() -> None:
    forms = needles(SECRET)
    assert forms["as is"] == SECRET.encode()
    assert forms["URL-encoded"] != forms["as is"]  # the marker's "!" is encoded
    for offset in range(3):
        text = base64.b64encode(b"y" * offset + SECRET.encode() + b"tail")
        assert forms[f"base64 (offset {offset})"] in text
    assert len(set(forms.values())) == len(forms)
