"""The runs the objective tests measure: the 15-deal export (tests/fixtures/export_small)
with an objectives file, as of 2026-07-15, and one objective's row of that day."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FIXTURES
from tests.utils import query, run_cli

AS_OF = "2026-07-15"


def run_export(data_dir: Path, objectives: Path) -> Path:
    """`crm-kpi run` of the export into `data_dir`; the serving file it published."""
    result = run_cli(
        "run",
        "--source",
        "files",
        "--as-of",
        AS_OF,
        env={
            "SOURCES__FILES__PATH": str(FIXTURES / "export_small"),
            "CRM_KPI_DATA_DIR": str(data_dir),
            "CRM_KPI_OBJECTIVES": str(objectives),
        },
    )
    assert result.returncode == 0, result.stderr
    return data_dir / "serving.duckdb"


def progress(serving: Path, objective_id: str, period_start: str | None = None) -> dict:
    """The objective's objective_progress row as of AS_OF (of the sub-period starting on
    `period_start`, for one with a grain), by column name."""
    rows = query(
        serving,
        """
        SELECT * FROM marts.objective_progress
        WHERE objective_id = ? AND as_of = ? AND (? IS NULL OR period_start = ?::DATE)
        """,
        [objective_id, AS_OF, period_start, period_start],
    )
    assert len(rows) == 1, rows
    columns = [r[0] for r in query(serving, "DESCRIBE marts.objective_progress")]
    return dict(zip(columns, rows[0], strict=True))
