"""HubSpot pages read: the paged object endpoints parsed straight into Arrow, and the small
plain-JSON listings (owners, pipelines, rates) followed page by page.

Separate from `objects.py` so the small endpoints need no object reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import read_json_page
from ingestion.common.paging import follow
from ingestion.hubspot.client import HubSpotClient
from ingestion.hubspot.errors import HubSpotResponseError


def _next_after_type() -> pa.DataType:
    return pa.struct([("next", pa.struct([("after", pa.string())]))])


def parse_page(content: bytes, result_type: pa.DataType, what: str) -> tuple[pa.Array, str | None]:
    """The `results` of one page as an Arrow struct array, and the cursor of the next page."""
    schema = pa.schema([("results", pa.list_(result_type)), ("paging", _next_after_type())])
    try:
        table = read_json_page(content, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise HubSpotResponseError(
            f"{what}: the page is not the JSON HubSpot documents ({str(exc)[:200]}). Nothing "
            "from this run was loaded and the cursor did not move: run again, and if it "
            "persists check SOURCES__HUBSPOT__BASE_URL (a proxy answering instead of HubSpot?)."
        ) from None
    if table.num_rows != 1 or table.column("results").null_count:
        raise HubSpotResponseError(
            f"{what}: the page holds no `results` list. Nothing from this run was loaded and "
            "the cursor did not move: run again."
        )
    results = table.column("results").combine_chunks()
    records = results.flatten() if isinstance(results, pa.ListArray) else pc.list_flatten(results)
    if "id" in result_type.names and records.field("id").null_count:
        raise HubSpotResponseError(f"{what}: a record of the page has no `id`; run again.")
    after = table.column("paging")[0].as_py()
    next_after = ((after or {}).get("next") or {}).get("after")
    return records, (str(next_after) if next_after not in (None, "") else None)


def object_result_type(
    properties: Sequence[str],
    history: Sequence[str] = (),
    associations: Sequence[str] = (),
) -> pa.DataType:
    """The Arrow type of one record of `/crm/v3/objects/...` (property values are strings)."""
    fields: list[tuple[str, pa.DataType]] = [
        ("id", pa.string()),
        ("properties", pa.struct([(p, pa.string()) for p in properties])),
        ("createdAt", pa.string()),
        ("updatedAt", pa.string()),
        ("archived", pa.bool_()),
        ("archivedAt", pa.string()),
    ]
    if history:
        version = pa.struct([("value", pa.string()), ("timestamp", pa.string())])
        fields.append(
            ("propertiesWithHistory", pa.struct([(p, pa.list_(version)) for p in history]))
        )
    if associations:
        link = pa.struct([("id", pa.string()), ("type", pa.string())])
        fields.append(
            (
                "associations",
                pa.struct([(a, pa.struct([("results", pa.list_(link))])) for a in associations]),
            )
        )
    return pa.struct(fields)


ASSOCIATION_RESULT_TYPE = pa.struct(
    [
        ("from", pa.struct([("id", pa.string())])),
        (
            "to",
            pa.list_(
                pa.struct(
                    [
                        ("toObjectId", pa.int64()),
                        (
                            "associationTypes",
                            pa.list_(
                                pa.struct([("category", pa.string()), ("typeId", pa.int64())])
                            ),
                        ),
                    ]
                )
            ),
        ),
    ]
)


def json_body(content: bytes, what: str) -> Any:
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError as exc:
        raise HubSpotResponseError(
            f"{what}: the page is not valid JSON ({str(exc)[:120]}). Nothing from this run was "
            "loaded and the cursor did not move: run again."
        ) from None


def results_of(body: Any, what: str) -> list[dict[str, Any]]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise HubSpotResponseError(
            f"{what}: the page holds no `results` list of records. Nothing from this run was "
            "loaded: run again."
        )
    return results


def paged_results(
    client: HubSpotClient, path: str, params: Mapping[str, Any], what: str
) -> Iterator[dict[str, Any]]:
    """Every record of a small GET listing that pages with `paging.next.after`."""
    query = dict(params)

    def fetch(after: str | None, page: int) -> tuple[list[dict[str, Any]], str | None]:
        if after is not None:
            query["after"] = after
        label = f"{what} page {page}"
        body = json_body(client.request("GET", path, what=label, params=query), label)
        results = results_of(body, label)
        return results, ((body.get("paging") or {}).get("next") or {}).get("after") or None

    for results in follow(fetch):
        yield from results
