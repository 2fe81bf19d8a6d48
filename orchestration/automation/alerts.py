"""Alerts: new variance flags and failed runs, to a Slack-compatible webhook and the log.

A flag is alerted once per change: when it appears, not again on the following days it
persists (it is "carried"), and again only after it went away and came back. An at-risk
flag in the first share of its period (CRM_KPI_ALERT_GRACE_SHARE, default 10 %) waits:
early in a period a pace is noise. A webhook that is down never fails a run: the
failure is logged, retried once, and the flag stays pending for the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import requests

from core.db import connect
from core.redaction import hide_in_logs

log = logging.getLogger(__name__)

STATE_SCHEMA = "alerting"
RETRY_DELAY_S = 2.0


@dataclass(frozen=True)
class Alert:
    flag_key: str
    flag_type: str
    severity: str
    message: str
    objective_id: str | None
    status: str | None


@dataclass(frozen=True)
class Delivery:
    sent: bool
    error: str | None = None


def _ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    con.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.flag_outcomes (
            flag_key VARCHAR NOT NULL,
            as_of DATE NOT NULL,
            outcome VARCHAR NOT NULL,  -- sent, carried, suppressed, failed, logged
            recorded_at TIMESTAMPTZ NOT NULL
        )
        """
    )


def pending_alerts(
    con: duckdb.DuckDBPyConnection, as_of: date, grace_share: float
) -> tuple[list[Alert], list[str], list[str]]:
    """The flags of `as_of` to alert, those carried from the previous day, and those
    held back by the grace share. Reads marts.variance_flags and the alert state."""
    _ensure_state(con)
    rows = con.execute(
        f"""
        WITH previous_day AS (
            SELECT max(as_of) AS as_of FROM marts.variance_flags WHERE as_of < ?
        ),
        acknowledged AS (
            -- flags alerted (or carried) at the previous day measured
            SELECT o.flag_key FROM {STATE_SCHEMA}.flag_outcomes o, previous_day p
            WHERE o.as_of = p.as_of AND o.outcome IN ('sent', 'carried', 'logged')
        ),
        done_today AS (
            SELECT flag_key FROM {STATE_SCHEMA}.flag_outcomes
            WHERE as_of = ? AND outcome IN ('sent', 'carried', 'logged')
        )
        SELECT f.flag_key, f.flag_type, f.severity, f.message, f.objective_id, f.status,
               f.flag_key IN (SELECT flag_key FROM acknowledged) AS carried,
               CASE WHEN f.status = 'at_risk' THEN
                   (date_diff('day', p.period_start, f.as_of) + 1)::DOUBLE
                   / (date_diff('day', p.period_start, p.period_end) + 1)
               END AS elapsed_share
        FROM marts.variance_flags f
        LEFT JOIN marts.objective_progress p
            ON p.objective_id = f.objective_id AND p.period_start = f.period_start
            AND p.as_of = f.as_of
        WHERE f.as_of = ? AND f.flag_key NOT IN (SELECT flag_key FROM done_today)
        ORDER BY CASE f.severity WHEN 'critical' THEN 0 ELSE 1 END, f.flag_key
        """,
        [as_of, as_of, as_of],
    ).fetchall()
    pending, carried, held = [], [], []
    for key, kind, severity, message, objective_id, status, was_acked, share in rows:
        if was_acked:
            carried.append(key)
        elif share is not None and share < grace_share:
            held.append(key)
        else:
            pending.append(Alert(key, kind, severity, message, objective_id, status))
    return pending, carried, held


def record(con: duckdb.DuckDBPyConnection, keys: list[str], as_of: date, outcome: str) -> None:
    if not keys:
        return
    _ensure_state(con)
    now = datetime.now(tz=UTC)
    con.executemany(
        f"INSERT INTO {STATE_SCHEMA}.flag_outcomes VALUES (?, ?, ?, ?)",
        [(key, as_of, outcome, now) for key in keys],
    )


def flags_payload(alerts: list[Alert], as_of: date, scorecard_url: str | None) -> dict:
    """A Slack-compatible message (text for notifications, blocks for the channel)."""
    critical = sum(a.severity == "critical" for a in alerts)
    summary = f"crm-kpi: {len(alerts)} new alert(s) as of {as_of}" + (
        f", {critical} critical" if critical else ""
    )
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": summary}}]
    for alert in alerts:
        icon = ":red_circle:" if alert.severity == "critical" else ":large_orange_circle:"
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {alert.message}"}}
        )
    if scorecard_url:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{scorecard_url}|Open the scorecard>"}],
            }
        )
    lines = [summary, *(f"- {a.message}" for a in alerts)]
    if scorecard_url:
        lines.append(f"Scorecard: {scorecard_url}")
    return {"text": "\n".join(lines), "blocks": blocks}


def failure_payload(job: str, run_id: str, error: str, ui_url: str | None) -> dict:
    text = f"crm-kpi: the {job} run {run_id[:8]} failed: {error}"
    if ui_url:
        text += f"\nDagster: {ui_url.rstrip('/')}/runs/{run_id}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def post(
    webhook: str | None,
    payload: dict,
    *,
    sleep: Callable[[float], None] = time.sleep,
    logger: logging.Logger | None = None,
) -> Delivery:
    """POST the payload; on failure log it and try once more. Never raises."""
    logger = logger or log
    if not webhook:
        return Delivery(sent=False, error="no webhook configured (CRM_KPI_ALERT_WEBHOOK)")
    # The URL is a secret (its path): urllib3 logs request lines at DEBUG.
    hide_in_logs([webhook])
    error = None
    for attempt in (1, 2):
        try:
            response = requests.post(webhook, json=payload, timeout=10)
            if response.status_code < 400:
                return Delivery(sent=True)
            error = f"the webhook answered HTTP {response.status_code}"
        except requests.RequestException as exc:
            # The webhook URL is a secret: name the failure, never the address.
            error = f"the webhook could not be reached ({type(exc).__name__})"
        logger.warning(f"alert not delivered (attempt {attempt} of 2): {error}")
        if attempt == 1:
            sleep(RETRY_DELAY_S)
    return Delivery(sent=False, error=error)


def send_flag_alerts(
    build_db: Path,
    as_of: date,
    *,
    webhook: str | None,
    scorecard_url: str | None,
    grace_share: float,
    logger: logging.Logger | None = None,
) -> tuple[list[Alert], Delivery]:
    """Alert the new flags of `as_of` once, and record what was done with each."""
    logger = logger or log
    con = connect(build_db)
    try:
        alerts, carried, held = pending_alerts(con, as_of, grace_share)
        for alert in alerts:
            logger.warning(f"[{alert.severity}] {alert.message}")
        delivery = Delivery(sent=False)
        if alerts:
            delivery = post(webhook, flags_payload(alerts, as_of, scorecard_url), logger=logger)
        keys = [a.flag_key for a in alerts]
        if webhook is None:
            record(con, keys, as_of, "logged")
        else:
            record(con, keys, as_of, "sent" if delivery.sent else "failed")
        record(con, carried, as_of, "carried")
        record(con, held, as_of, "suppressed")
    finally:
        con.close()
    return alerts, delivery
