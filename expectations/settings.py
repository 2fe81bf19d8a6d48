"""The quality gates' own settings: thresholds of the checks and the batch size.

Like every crm-kpi setting, each comes from the environment (`CRM_KPI_<NAME>`), else
from the `[crm_kpi]` section of `.dlt/config.toml`, else its default.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import number_setting, setting, switch_setting
from core.errors import SettingsError


@dataclass(frozen=True)
class QualitySettings:
    # A table whose row count falls by more than this share since the last successful
    # run blocks the publish (0.5: losing half the deals overnight is a broken load).
    max_shrink: float = 0.5
    # Rows staging sent to quarantine may be at most this share of their entity.
    max_quarantine_share: float = 0.01
    # A source whose newest change is older than this is reported (a warning).
    max_source_age_hours: float = 36.0
    # Rows per pandas batch handed to Great Expectations: bounds memory on big tables.
    chunk_rows: int = 200_000
    # Decide the common expectations in DuckDB first (expectations/sql_checks.py) and run
    # Great Expectations only on those that fail there or that SQL cannot decide.
    # CRM_KPI_QUALITY_SQL_PUSHDOWN=0 runs every expectation through GX, as a cross-check.
    sql_pushdown: bool = True

    @classmethod
    def from_env(cls) -> QualitySettings:
        defaults = cls()
        chunk_text = setting("quality_chunk_rows")
        if chunk_text is not None and not (chunk_text.isdigit() and int(chunk_text) >= 1000):
            raise SettingsError(
                f"CRM_KPI_QUALITY_CHUNK_ROWS={chunk_text!r} must be a whole number of rows, "
                "at least 1000 (default 200000)."
            )
        return cls(
            max_shrink=number_setting(
                "max_shrink",
                defaults.max_shrink,
                low=0.0,
                high=1.0,
                rule="a share between 0 and 1, for example 0.5 to fail a run when a table "
                "loses more than half its rows",
            ),
            max_quarantine_share=number_setting(
                "max_quarantine_share",
                defaults.max_quarantine_share,
                low=0.0,
                high=1.0,
                rule="a share between 0 and 1, for example 0.01 to fail a run when more "
                "than 1 % of an entity's rows (deals, stage history) are quarantined",
            ),
            max_source_age_hours=number_setting(
                "max_source_age_hours",
                defaults.max_source_age_hours,
                low=0.0,
                high=None,
                rule="a positive number of hours, for example 36",
                strict=True,
            ),
            chunk_rows=int(chunk_text) if chunk_text is not None else defaults.chunk_rows,
            sql_pushdown=switch_setting("quality_sql_pushdown", defaults.sql_pushdown),
        )
