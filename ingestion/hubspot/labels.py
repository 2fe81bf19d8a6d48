"""The `property_options` snapshot: the labels of the enumeration properties that fill
the deal's channel and the product's family, so staging shows "Organic Search" where
HubSpot stores ORGANIC_SEARCH.

No `from __future__ import annotations`, as in every module that defines a resource.
"""

import logging
from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa

from ingestion.hubspot import settings as hs
from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.errors import HubSpotResponseError
from ingestion.hubspot.incremental import SNAPSHOT_HINTS, snapshot
from ingestion.hubspot.pages import json_body
from ingestion.hubspot.schemas import PROPERTY_OPTIONS_SCHEMA

logger = logging.getLogger("ingestion.hubspot")


def option_rows(field: str, object_type: str, definition: Any) -> list[dict[str, Any]]:
    """One row per option of a property definition (GET /crm/v3/properties/...)."""
    what = f"HubSpot {object_type} property {field}"
    if not isinstance(definition, dict):
        raise HubSpotResponseError(f"{what}: the answer is not a property definition")
    options = definition.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise HubSpotResponseError(f"{what}: `options` is not a list of options")
    return [
        {
            "field": field,
            "object_type": object_type,
            "property": str(definition.get("name") or ""),
            "value": str(option["value"]),
            "label": (str(option.get("label")).strip() or None)
            if option.get("label") is not None
            else None,
            "display_order": option.get("displayOrder"),
            "hidden": bool(option.get("hidden")),
        }
        for option in options
        if option.get("value") not in (None, "")
    ]


def _options(api: HubSpotApi, field: str, object_type: str, name: str) -> list[dict[str, Any]]:
    path = hs.PROPERTY_PATH.format(object_type=object_type, property=name)
    what = f"{object_type} property {name}"
    content = api.client.get_if_exists(path, what=what)
    if content is None:
        # a custom property the portal does not have: its values load unlabelled (null)
        logger.warning(
            "HubSpot %s: the portal has no property %r; %s loads without labels",
            object_type,
            name,
            field,
        )
        return []
    return option_rows(field, object_type, json_body(content, what))


# `enabled` and `products` have no default: dlt would otherwise read them from config
@dlt.resource(
    name="property_options",
    section="hubspot",
    primary_key=("field", "value"),
    **SNAPSHOT_HINTS,
)
def property_options(api: HubSpotApi, enabled: bool, products: bool) -> Iterator[pa.Table]:
    """The options (value, label) of the channel property of deals and, with the line
    items read, of the product family property of products."""
    rows: list[dict[str, Any]] = []
    if enabled:
        rows += _options(api, "channel", "deals", api.mapping.channel)
        if products:
            rows += _options(api, "product_family", "products", api.mapping.product_family)
    yield snapshot(pa.Table.from_pylist(rows, schema=PROPERTY_OPTIONS_SCHEMA))
