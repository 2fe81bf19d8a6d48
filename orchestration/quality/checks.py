"""The Great Expectations suites (expectations/suites/*.yml) as Dagster asset checks.

Raw suites check each source's tables right after its load, before dbt reads them; the
"crm" (intermediate one-CRM model, quarantine) and "marts" suites check the built
tables before they are published. The checks are blocking: a failed blocking
expectation fails the step with the suite, the expectation, the count and sample rows,
and nothing downstream (dbt, or the publish) runs, so serving.duckdb stays as it was.
"""

from collections.abc import Iterable

import dagster as dg
from dagster import AssetCheckExecutionContext

from core.db import connect
from core.settings import Settings
from expectations.results import QualityGateError, SuiteResult
from expectations.runner import report, run_suites
from expectations.settings import QualitySettings
from expectations.suites import load_layer
from orchestration.lib.run_lock import RunLockResource

CHECK_NAME = "great_expectations"


def layer_tables(layer: str) -> list[str]:
    """The `schema.table`s the suites of a layer name explicitly."""
    return sorted({s.table for s in load_layer(layer).suites if s.table})


def row_counted_tables(layers: Iterable[str]) -> list[str]:
    """The tables whose row counts the next run compares against (suites with row_count)."""
    return sorted(
        {s.table for layer in layers for s in load_layer(layer).suites if s.table and s.row_count}
    )


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split(".", 1))


def _check_results(
    results: list[SuiteResult], keys: list[dg.AssetKey], table_of_result
) -> list[dg.AssetCheckResult]:
    """One check result per asset: failed (ERROR) on a failed blocking expectation, failed
    (WARN) on a failed warning, passed otherwise; the readable report as metadata."""
    by_key: dict[dg.AssetKey, list[SuiteResult]] = {key: [] for key in keys}
    for suite in results:
        key = table_of_result(suite.table)
        if key in by_key:
            by_key[key].append(suite)
    checks = []
    for key, suites in by_key.items():
        blocking = [r for s in suites for r in s.failed_blocking]
        warnings = [r for s in suites for r in s.failed_warnings]
        checks.append(
            dg.AssetCheckResult(
                asset_key=key,
                check_name=CHECK_NAME,
                passed=not blocking and not warnings,
                severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
                metadata={
                    "expectations": sum(len(s.results) for s in suites),
                    "failed_blocking": len(blocking),
                    "failed_warnings": len(warnings),
                    "report": dg.MetadataValue.md(f"```\n{report(suites)}\n```")
                    if suites
                    else "no suite",
                },
            )
        )
    return checks


def _validate(
    context: AssetCheckExecutionContext,
    settings: Settings,
    layers: list[str],
    keys: list[dg.AssetKey],
    table_of_result,
):
    quality = QualitySettings.from_env()
    con = connect(settings.build_db, read_only=True)
    try:
        results = [
            suite
            for layer in layers
            for suite in run_suites(con, layer, run_id=context.run.run_id, settings=quality)
        ]
    finally:
        con.close()
    # A job may select some of the checks only (measuring objectives checks the
    # objectives' marts): report and gate on those.
    selected = {key.asset_key for key in context.selected_asset_check_keys}
    keys = [key for key in keys if key in selected]
    results = [suite for suite in results if table_of_result(suite.table) in selected]
    text = report(results)
    for line in text.splitlines():
        if line.strip().startswith(("FAIL", "WARN")):
            context.log.warning(line.strip())
    yield from _check_results(results, keys, table_of_result)
    failures = [r for s in results for r in s.failed_blocking]
    if failures:
        # Fail the step: nothing downstream runs and the run says why.
        raise QualityGateError(failures)


def raw_checks(
    settings: Settings, source: str, raw_keys: list[dg.AssetKey]
) -> dg.AssetChecksDefinition:
    """The source's raw suites on its raw tables, after its load and before dbt."""
    layer = f"raw:{source}"
    named = {_key(t) for t in layer_tables(layer)}
    keys = [k for k in raw_keys if k in named] or raw_keys[:1]

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=key,
                blocking=True,
                description=f"Great Expectations suite of {layer} (expectations/suites)",
            )
            for key in keys
        ],
        name=f"check_raw_{source}",
        can_subset=True,
    )
    def _raw(context: AssetCheckExecutionContext, run_lock: RunLockResource):
        # Freshness has no table of its own: it reports on the source's first table.
        yield from _validate(
            context, settings, [layer], keys, lambda table: _key(table) if "." in table else keys[0]
        )

    return _raw


def warehouse_checks(settings: Settings, built: set[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """The one-CRM-model and marts suites, after dbt and before the publish."""
    quarantine = load_layer("crm").quarantine
    kept_table = dict(quarantine.entities) if quarantine else {}
    schema = quarantine.schema if quarantine else "quarantine"
    named = [_key(t) for t in layer_tables("crm") + layer_tables("marts")]
    marts = sorted((k for k in built if k.path[0] == "marts"), key=lambda k: k.to_user_string())
    keys = [k for k in dict.fromkeys([*named, *marts]) if k in built]

    def table_of_result(table: str) -> dg.AssetKey:
        quarantined, _, entity = table.partition(".")
        if quarantined == schema and entity in kept_table:
            return _key(kept_table[entity])  # quarantined rows report on the kept table
        return _key(table)

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=key,
                blocking=True,
                description="Great Expectations suites of the one CRM model and the marts "
                "(expectations/suites), with the quarantine of rejected rows",
            )
            for key in keys
        ],
        name="check_warehouse",
        can_subset=True,
    )
    def _warehouse(context: AssetCheckExecutionContext, run_lock: RunLockResource):
        yield from _validate(context, settings, ["crm", "marts"], keys, table_of_result)

    return _warehouse


def checked_keys(checks: dg.AssetChecksDefinition) -> list[dg.AssetKey]:
    return sorted({spec.asset_key for spec in checks.check_specs}, key=lambda k: k.to_user_string())
