"""This run's settings, written into the build file as data before dbt runs.

Models read `raw_run.run_context` instead of dbt vars: a value never becomes SQL text,
and changing as_of does not make dbt re-parse the project.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from core.db import connect
from core.settings import Settings
from ingestion.files.contract import ENTITIES
from ingestion.files.reader import read_fx_rates_file

RUN_CONTEXT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("as_of", pa.date32()),
        ("reporting_currency", pa.string()),
        ("timezone", pa.string()),
        ("fiscal_year_start", pa.int32()),
        ("gross_margin", pa.decimal128(6, 4)),
        ("weak_signal_k", pa.float64()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("sources", pa.string()),  # comma-separated: the sources the marts were built from
    ]
)


def run_context_table(
    settings: Settings, as_of: date, run_id: str, sources: tuple[str, ...] = ()
) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "as_of": as_of,
                "reporting_currency": settings.reporting_currency,
                "timezone": settings.timezone,
                "fiscal_year_start": settings.fiscal_year_start,
                "gross_margin": settings.gross_margin,
                "weak_signal_k": settings.weak_signal_k,
                "started_at": datetime.now(tz=UTC),
                "sources": ",".join(sources),
            }
        ],
        schema=RUN_CONTEXT_SCHEMA,
    )


def pii_salt(settings: Settings) -> str:
    """The salt of the e-mail hashes: CRM_KPI_PII_SALT, else one generated for this data dir
    and kept beside the warehouse (readable by its owner only), so hashes stay stable."""
    if settings.pii_salt:
        return settings.pii_salt
    path = settings.data_dir / ".pii_salt"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def write_run_context(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    run_id: str,
    sources: tuple[str, ...] = (),
    reset_quality_baseline: bool = False,
) -> bool:
    """Replace `raw_run.run_context` and `raw_run.fx_rates` in one transaction.

    The fx_rates file (CRM_KPI_FX_RATES) is read and checked first, so a bad file
    changes nothing. The row counts that the quality checks compare against
    (quality.row_counts) are forgotten when the sources change (the demo after a CRM,
    say: fewer rows is no collapse then) or when asked (a full refresh, a demo of another
    size). Returns whether they were.
    """
    context = run_context_table(settings, as_of, run_id, sources)
    fx_rates = (
        read_fx_rates_file(settings.fx_rates_path)
        if settings.fx_rates_path
        else ENTITIES["fx_rates"].schema.empty_table()
    )
    salt = pa.table({"pii_salt": [pii_salt(settings)]})
    con.register("run_context_rows", context)
    con.register("pii_rows", salt)
    con.register("fx_rates_rows", fx_rates)
    try:
        con.execute("BEGIN TRANSACTION")
        previous = _previous_sources(con)
        reset = reset_quality_baseline or (previous is not None and previous != ",".join(sources))
        if reset:
            con.execute("DROP TABLE IF EXISTS quality.row_counts")
        con.execute("CREATE SCHEMA IF NOT EXISTS raw_run")
        con.execute("CREATE OR REPLACE TABLE raw_run.run_context AS SELECT * FROM run_context_rows")
        con.execute("CREATE OR REPLACE TABLE raw_run.fx_rates AS SELECT * FROM fx_rates_rows")
        # Read by dbt from the table: the salt never appears in SQL text or dbt's logs.
        con.execute("CREATE OR REPLACE TABLE raw_run.pii AS SELECT * FROM pii_rows")
        con.execute("COMMIT")
        return reset
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("run_context_rows")
        con.unregister("fx_rates_rows")
        con.unregister("pii_rows")


def _previous_sources(con: duckdb.DuckDBPyConnection) -> str | None:
    found = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'raw_run' "
        "AND table_name = 'run_context' AND column_name = 'sources'"
    ).fetchone()[0]
    if not found:
        return None
    row = con.execute("SELECT sources FROM raw_run.run_context").fetchone()
    return row[0] if row else None


def warehouse_state(settings: Settings) -> tuple[date, tuple[str, ...]] | None:
    """The as_of and the sources the build file's marts were last built for, if any."""
    if not settings.build_db.exists():
        return None
    con = connect(settings.build_db, read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'raw_run' AND table_name = 'run_context'"
        ).fetchone()[0]
        if not found:
            return None
        row = con.execute("SELECT as_of, sources FROM raw_run.run_context").fetchone()
    finally:
        con.close()
    if row is None or not row[1]:
        return None
    return row[0], tuple(row[1].split(","))
