"""The scorecard report step: after publishing, `<data dir>/scorecard.html` is rewritten
from the new serving file, so the HTML beside it always shows what was published."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from core.settings import Settings
from orchestration.lib.run_lock import RunLockResource
from orchestration.serving.assets import SERVING_KEY
from warehouse.report import build_report

REPORT_KEY = dg.AssetKey(["scorecard_report"])
REPORT_FILE = "scorecard.html"


def report_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=REPORT_KEY,
        deps=[SERVING_KEY],
        group_name="serving",
        description="scorecard.html beside serving.duckdb: the objectives, OKRs, KPI trends, "
        "funnel and open flags as one self-contained HTML file (`crm-kpi report`). A "
        "report that cannot be written is logged and leaves the run green: the marts are "
        "published by then.",
        # Not materialized when the report fails, so the asset's last materialization
        # always points at a report that was written.
        output_required=False,
    )
    def _scorecard_report(
        context: AssetExecutionContext, run_lock: RunLockResource
    ) -> Iterator[dg.MaterializeResult]:
        out = settings.data_dir / REPORT_FILE
        try:
            path = build_report(settings.serving_db, out)
        except Exception as exc:  # noqa: BLE001 - a report failure must not fail the run
            reason = str(exc).rstrip(".")
            context.log.error(
                f"The scorecard report could not be written to {out}: {type(exc).__name__}: "
                f"{reason}. The marts are published; run `crm-kpi report` to retry."
            )
            return
        context.log.info(f"scorecard report written to {path}")
        yield dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "size_bytes": path.stat().st_size,
            }
        )

    return _scorecard_report
