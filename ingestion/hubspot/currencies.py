"""The `exchange_rates` snapshot (multi-currency portals) and the rows it builds.

No `from __future__ import annotations`, as in every module that defines a resource.
"""

from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import dlt
import pyarrow as pa

from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.errors import HubSpotDataError
from ingestion.hubspot.incremental import SNAPSHOT_HINTS, snapshot
from ingestion.hubspot.pages import paged_results
from ingestion.hubspot.schemas import EXCHANGE_RATES_SCHEMA, empty
from ingestion.hubspot.values import flag, timestamp_value


def exchange_rate_rows(rates: Iterable[dict[str, Any]]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for rate in rates:
        what = f"HubSpot exchange rate {rate.get('id')}"
        value = rate.get("conversionRate")
        number = None
        if value is not None:
            try:
                number = Decimal(str(value)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)
            except InvalidOperation:
                raise HubSpotDataError(
                    f"{what}: conversionRate {value!r} is not a number"
                ) from None
            if number <= 0:
                raise HubSpotDataError(f"{what}: conversionRate {value!r} is not positive")
        rows.append(
            {
                "id": str(rate.get("id")),
                "from_currency_code": (rate.get("fromCurrencyCode") or "").upper() or None,
                "to_currency_code": (rate.get("toCurrencyCode") or "").upper() or None,
                "conversion_rate": number,
                "effective_at": timestamp_value(rate.get("effectiveAt"), what),
                "visible_in_ui": flag(rate.get("visibleInUI")),
                "created_at": timestamp_value(rate.get("createdAt"), what),
                "updated_at": timestamp_value(rate.get("updatedAt"), what),
            }
        )
    return pa.Table.from_pylist(rows, schema=EXCHANGE_RATES_SCHEMA)


# `enabled` has no default: dlt would otherwise read it from config as a resource setting
@dlt.resource(name="exchange_rates", section="hubspot", primary_key="id", **SNAPSHOT_HINTS)
def exchange_rates(api: HubSpotApi, enabled: bool) -> Iterator[pa.Table]:
    """The portal's exchange rates to its company currency (multi-currency portals)."""
    if not enabled:
        yield snapshot(empty(EXCHANGE_RATES_SCHEMA))
        return
    listing = {"limit": hs.LIST_PAGE_SIZE}
    rates = paged_results(api.client, hs.EXCHANGE_RATES_PATH, listing, "exchange rates")
    yield snapshot(exchange_rate_rows(rates))
