"""The Salesforce source's twelve dlt resources, one per object read, and their load hints.

Kept apart from `salesforce_source`, which checks the settings and binds these to one
org; every resource names its section (`salesforce`) because dlt would otherwise take
it from this module's name.
"""

# No `from __future__ import annotations` here: dlt finds a resource's cursor argument
# by its annotation (`dlt.sources.incremental[datetime]`), which must be a real object.
from collections.abc import Iterator
from datetime import datetime

import dlt
import pyarrow as pa

from ingestion.common.incremental import EPOCH, MERGE, delete_hints, lagged_cursor
from ingestion.salesforce.describe import raw_schema
from ingestion.salesforce.mapping import FieldSettings
from ingestion.salesforce.objects import SalesforceApi
from ingestion.salesforce.settings import (
    ACCOUNT_FIELDS,
    CURRENCY_TYPE_FIELDS,
    DATED_CONVERSION_RATE_FIELDS,
    DEFAULT_LOOKBACK_SECONDS,
    FORECASTING_QUOTA_FIELDS,
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_HISTORY_FIELDS,
    OPPORTUNITY_LINE_ITEM_FIELDS,
    OPPORTUNITY_STAGE_FIELDS,
    ORGANIZATION_FIELDS,
    PERIOD_FIELDS,
    PRODUCT_FIELDS,
    USER_FIELDS,
    Field,
)

# Incremental objects: merged on Id; the newest SystemModstamp wins within a load, and a
# record whose is_deleted is true is deleted from raw_salesforce instead of inserted.
# No column types declared: the first page, even empty, is typed Arrow.
SOFT_DELETES = delete_hints("is_deleted", "system_modstamp", typed=False)
# The hints every incremental object's resource declares, besides its cursor.
CHANGED_RECORDS = {"write_disposition": MERGE, "primary_key": "id", "columns": SOFT_DELETES}


def modified_since(
    lookback_seconds: float = DEFAULT_LOOKBACK_SECONDS,
) -> dlt.sources.incremental[datetime]:
    """The cursor of the incremental objects: SystemModstamp, re-read `lookback` back."""
    return lagged_cursor("system_modstamp", lookback_seconds, initial_value=EPOCH)


def _empty(fields: tuple[Field, ...]) -> pa.Table:
    return raw_schema({f.column: f.kind for f in fields}).empty_table()


@dlt.resource(
    name="opportunities", section="salesforce", incremental=modified_since(), **CHANGED_RECORDS
)
def opportunities(
    api: SalesforceApi,
    settings: FieldSettings,
    modified: dlt.sources.incremental[datetime] = None,
) -> Iterator[pa.Table]:
    spec = api.object_spec("Opportunity", OPPORTUNITY_FIELDS, settings.mapped("Opportunity"))
    for page in api.changes(spec, modified.start_value):
        yield settings.finish_opportunities(page)


@dlt.resource(
    name="opportunity_history",
    section="salesforce",
    incremental=modified_since(),
    **CHANGED_RECORDS,
)
def opportunity_history(
    api: SalesforceApi, modified: dlt.sources.incremental[datetime] = None
) -> Iterator[pa.Table]:
    spec = api.object_spec("OpportunityHistory", OPPORTUNITY_HISTORY_FIELDS)
    yield from api.changes(spec, modified.start_value)


@dlt.resource(
    name="accounts", section="salesforce", incremental=modified_since(), **CHANGED_RECORDS
)
def accounts(
    api: SalesforceApi,
    settings: FieldSettings,
    modified: dlt.sources.incremental[datetime] = None,
) -> Iterator[pa.Table]:
    spec = api.object_spec("Account", ACCOUNT_FIELDS, settings.mapped("Account"))
    yield from api.changes(spec, modified.start_value)


def _optional_changes(
    api: SalesforceApi,
    sobject: str,
    fields: tuple[Field, ...],
    settings: FieldSettings | None,
    since: datetime | None,
) -> Iterator[pa.Table]:
    """The changes of an object only orgs with Products have: an empty table otherwise."""
    mapped = settings.mapped(sobject) if settings is not None else []
    if api.has_object(sobject):
        yield from api.changes(api.object_spec(sobject, fields, mapped), since)
        return
    # Not before the pages: an empty table ahead of the first page makes dlt's lagged
    # cursor skip its lag (the first page then fails dlt's own start-value check).
    kinds = {f.column: f.kind for f in fields} | {m.column: m.kind for m in mapped}
    yield raw_schema(kinds).empty_table()


@dlt.resource(
    name="opportunity_line_items",
    section="salesforce",
    incremental=modified_since(),
    **CHANGED_RECORDS,
)
def opportunity_line_items(
    api: SalesforceApi,
    settings: FieldSettings,
    modified: dlt.sources.incremental[datetime] = None,
) -> Iterator[pa.Table]:
    # A line item deleted with its opportunity comes back from queryAll with IsDeleted
    # like one deleted on its own; staging also drops lines of opportunities not in raw.
    yield from _optional_changes(
        api, "OpportunityLineItem", OPPORTUNITY_LINE_ITEM_FIELDS, settings, modified.start_value
    )


@dlt.resource(
    name="products", section="salesforce", incremental=modified_since(), **CHANGED_RECORDS
)
def products(
    api: SalesforceApi, modified: dlt.sources.incremental[datetime] = None
) -> Iterator[pa.Table]:
    yield from _optional_changes(api, "Product2", PRODUCT_FIELDS, None, modified.start_value)


# The objects below are small (users, stages, quotas, periods, rates): each run reads
# them whole and replaces the table, so no cursor is kept and a deleted or renamed
# record (a renamed role changes no user's SystemModstamp) is right after one run.


@dlt.resource(name="users", section="salesforce", write_disposition="replace", primary_key="id")
def users(api: SalesforceApi, settings: FieldSettings) -> Iterator[pa.Table]:
    spec = api.object_spec("User", USER_FIELDS, settings.mapped("User"))
    yield from api.query(spec)


@dlt.resource(
    name="opportunity_stages", section="salesforce", write_disposition="replace", primary_key="id"
)
def opportunity_stages(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from api.query(api.object_spec("OpportunityStage", OPPORTUNITY_STAGE_FIELDS))


def _optional(api: SalesforceApi, sobject: str, fields: tuple[Field, ...]) -> Iterator[pa.Table]:
    """An object only some orgs have (forecasts, multiple currencies): empty when absent."""
    yield _empty(fields)
    if api.has_object(sobject):
        yield from api.query(api.object_spec(sobject, fields))


@dlt.resource(
    name="forecasting_quotas", section="salesforce", write_disposition="replace", primary_key="id"
)
def forecasting_quotas(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from _optional(api, "ForecastingQuota", FORECASTING_QUOTA_FIELDS)


@dlt.resource(name="periods", section="salesforce", write_disposition="replace", primary_key="id")
def periods(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from _optional(api, "Period", PERIOD_FIELDS)


@dlt.resource(
    name="currency_types", section="salesforce", write_disposition="replace", primary_key="id"
)
def currency_types(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from _optional(api, "CurrencyType", CURRENCY_TYPE_FIELDS)


@dlt.resource(
    name="dated_conversion_rates",
    section="salesforce",
    write_disposition="replace",
    primary_key="id",
)
def dated_conversion_rates(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from _optional(api, "DatedConversionRate", DATED_CONVERSION_RATE_FIELDS)


@dlt.resource(
    name="organization", section="salesforce", write_disposition="replace", primary_key="id"
)
def organization(api: SalesforceApi) -> Iterator[pa.Table]:
    yield from api.query(api.object_spec("Organization", ORGANIZATION_FIELDS))
