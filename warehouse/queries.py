"""Read helpers on the serving file, for the command line and analysts' scripts: opening
it, running ad-hoc SQL, the company-wide KPI summary (the objective scorecard is read in
`warehouse.scorecard`).

Every read opens `serving.duckdb` read-only with file and network access disabled, so a
query cannot change the warehouse or reach outside it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from core.db import connect_sandboxed


class ServingFileMissingError(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} does not exist yet: run the pipeline first (`crm-kpi demo` or "
            "`crm-kpi run`), or set CRM_KPI_DATA_DIR to the folder holding serving.duckdb."
        )


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    statements: int = 1  # statements run; only the last one's result is returned


def open_serving(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise ServingFileMissingError(path)
    return connect_sandboxed(path)


def run_query(
    path: Path,
    sql: str,
    parameters: list[Any] | None = None,
    timeout_s: float | None = None,
) -> QueryResult:
    """Run `sql` read-only on the serving file; the last statement's result. A query
    still running after `timeout_s` seconds is interrupted (QueryError)."""
    con = open_serving(path)
    timer = None
    try:
        count = len(con.extract_statements(sql))
        if not count:
            raise QueryError(
                "nothing to run: the SQL is empty (give a query such as "
                '"SELECT * FROM marts.kpi_values LIMIT 10")'
            )
        if timeout_s:
            timer = threading.Timer(timeout_s, con.interrupt)
            timer.daemon = True
            timer.start()
        cursor = con.execute(sql, parameters or [])
        description = cursor.description if cursor is not None else None
        columns = [d[0] for d in description] if description else []
        return QueryResult(columns, cursor.fetchall() if columns else [], count)
    except duckdb.InterruptException:
        raise QueryError(
            f"the query was stopped after {timeout_s:g} s (--timeout): narrow it (a WHERE "
            "on metric, grain and scope), or give it longer with --timeout"
        ) from None
    except duckdb.PermissionException as exc:
        raise QueryError(
            f"refused: queries run read-only without access to files or the network ({exc})"
        ) from None
    except duckdb.Error as exc:
        message = str(exc)
        if "read-only" in message or "attached in read-only mode" in message:
            message = f"refused: the serving file is read-only ({message})"
        raise QueryError(message) from None
    finally:
        if timer is not None:
            timer.cancel()
        con.close()


@dataclass(frozen=True)
class KpiSummary:
    as_of: date
    months: list[date]
    complete: list[bool]
    rows: list[tuple[str, str, list[float | None]]]  # metric, unit, values per month


SUMMARY_METRICS = (
    "deals_created",
    "won_deals",
    "lost_deals",
    "win_rate",
    "won_revenue",
    "avg_deal_size",
    "sales_cycle_days",
    "pipeline_value",
    "weighted_pipeline_value",
    "new_customers",
    "churn_rate",
    "arpa",
    "ltv",
    "gross_margin",
    "margin_rate",
    "repeat_purchase_rate",
    "active_customers",
    "retention_rate",
    "customer_tenure_days",
)


def kpi_summary(path: Path, months: int = 3) -> KpiSummary:
    """Company-wide monthly KPIs: the last `months` complete months and the current one."""
    con = open_serving(path)
    try:
        as_of = con.execute("SELECT max(as_of) FROM marts.kpi_values").fetchone()[0]
        periods = con.execute(
            """
            SELECT DISTINCT period_start, is_complete FROM marts.kpi_values
            WHERE grain = 'month' ORDER BY period_start DESC LIMIT ?
            """,
            [months + 1],
        ).fetchall()[::-1]
        starts = [p[0] for p in periods]
        values = con.execute(
            """
            SELECT metric, any_value(unit), list(value ORDER BY period_start)
            FROM marts.kpi_values
            WHERE grain = 'month' AND scope_type = 'company'
              AND period_start IN (SELECT unnest(?::DATE[]))
            GROUP BY metric
            """,
            [starts],
        ).fetchall()
    finally:
        con.close()
    by_metric = {m: (u, v) for m, u, v in values}
    rows = [(m, *by_metric[m]) for m in SUMMARY_METRICS if m in by_metric]
    return KpiSummary(as_of, starts, [p[1] for p in periods], rows)
