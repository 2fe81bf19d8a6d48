"""The alerts step: after publishing, the new variance flags go to the webhook and log."""

import dagster as dg
from dagster import AssetExecutionContext

from core.db import connect
from core.settings import Settings
from orchestration.automation.alerts import send_flag_alerts
from orchestration.lib.run_lock import RunLockResource
from orchestration.serving.assets import SERVING_KEY

ALERTS_KEY = dg.AssetKey(["alerts"])


def _measured_day(settings: Settings):
    """The day this run measured objectives as of, when it is the marts' own as_of (a
    backfill of past days alerts nothing: those days are gone)."""
    con = connect(settings.build_db, read_only=True)
    try:
        measured = con.execute("SELECT max(as_of) FROM raw_objectives.progress_dates").fetchone()[0]
        built = con.execute("SELECT as_of FROM raw_run.run_context").fetchone()[0]
    finally:
        con.close()
    return measured if measured == built else None


def alerts_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=ALERTS_KEY,
        deps=[SERVING_KEY],
        group_name="serving",
        description="Sends the new variance flags (objectives at risk, off track or worse, "
        "weak signals) once to CRM_KPI_ALERT_WEBHOOK, and to this log.",
        pool="build_duckdb",
    )
    def _alerts(context: AssetExecutionContext, run_lock: RunLockResource) -> dg.MaterializeResult:
        day = _measured_day(settings)
        if day is None:
            context.log.info("a backfill of past days: no alerts")
            return dg.MaterializeResult(metadata={"alerts": 0})
        alerts, delivery = send_flag_alerts(
            settings.build_db,
            day,
            webhook=settings.alert_webhook,
            scorecard_url=settings.scorecard_url,
            grace_share=settings.alert_grace_share,
            logger=context.log,
        )
        if not settings.alert_webhook and alerts:
            context.log.info("no webhook configured (CRM_KPI_ALERT_WEBHOOK): alerts logged only")
        return dg.MaterializeResult(
            metadata={
                "as_of": day.isoformat(),
                "alerts": len(alerts),
                "delivered": delivery.sent,
                # Why new alerts did not reach the webhook (empty: they did, or none).
                "not_delivered": (
                    delivery.error or ""
                    if alerts and settings.alert_webhook and not delivery.sent
                    else ""
                ),
                "webhook": bool(settings.alert_webhook),
                "alert_messages": dg.MetadataValue.json([a.message for a in alerts]),
                "messages": dg.MetadataValue.md(
                    "\n".join(f"- **{a.severity}** {a.message}" for a in alerts) or "none"
                ),
            }
        )

    return _alerts
