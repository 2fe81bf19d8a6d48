"""The fetch-and-parse limit of the HubSpot connector: the pages of a first full run,
requested and parsed into Arrow exactly as the connector does, and nothing else (no row
building, no dlt, no DuckDB).

Run as a separate process, as the connector itself runs (`crm-kpi run` is a process of
its own beside the fake portal): `python -m bench.fetch_parse URL TOKEN`. It prints one
JSON object: the seconds spent and the rows parsed (records, and `dealstage` history
versions, which become rows of `deal_stage_history`).
"""

from __future__ import annotations

import json
import sys
import time

import pyarrow.compute as pc

from ingestion.hubspot import settings as hs
from ingestion.hubspot.client import HubSpotClient
from ingestion.hubspot.mapping import FieldMapping
from ingestion.hubspot.objects import ObjectReader
from ingestion.hubspot.pages import paged_results


def fetch_and_parse(base_url: str, token: str) -> dict[str, float | int]:
    """Every page a first full HubSpot run reads, fetched and parsed; rows per table."""
    client = HubSpotClient(token, base_url)
    mapping = FieldMapping()
    rows: dict[str, int] = {}
    started = time.perf_counter()

    deals = ObjectReader(
        client,
        "deals",
        mapping.deal_properties,
        (hs.STAGE_HISTORY_PROPERTY,),
        ("companies",),
    )
    rows["deals"] = rows["deal_stage_history"] = 0
    for page in deals.list_pages():
        rows["deals"] += len(page)
        versions = page.field("propertiesWithHistory").field(hs.STAGE_HISTORY_PROPERTY)
        rows["deal_stage_history"] += pc.sum(pc.list_value_length(versions)).as_py() or 0
    for page in deals.list_pages(
        archived=True, properties=(hs.STAGE_HISTORY_PROPERTY, hs.MODIFIED_PROPERTY)
    ):
        rows["deals"] += len(page)
    for name, properties in (
        ("companies", mapping.company_properties),
        ("goal_targets", hs.GOAL_TARGET_PROPERTIES),
    ):
        reader = ObjectReader(client, name, tuple(properties))
        rows[name] = sum(len(page) for page in reader.list_pages())
        archived = reader.list_pages(archived=True, properties=(hs.MODIFIED_PROPERTY,))
        rows[name] += sum(len(page) for page in archived)
    listing = {"limit": hs.LIST_PAGE_SIZE}
    rows["owners"] = sum(
        1
        for archived in ("false", "true")
        for _ in paged_results(client, hs.OWNERS_PATH, {**listing, "archived": archived}, "owners")
    )
    pipelines = list(paged_results(client, hs.PIPELINES_PATH.format(object_type="deals"), {}, "p"))
    rows["deal_pipeline_stages"] = sum(len(p.get("stages") or []) for p in pipelines)
    rows["exchange_rates"] = sum(
        1 for _ in paged_results(client, hs.EXCHANGE_RATES_PATH, listing, "exchange rates")
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": sum(rows.values()), "requests": client.requests_made}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.fetch_parse BASE_URL TOKEN")
    print(json.dumps(fetch_and_parse(sys.argv[1], sys.argv[2])))
