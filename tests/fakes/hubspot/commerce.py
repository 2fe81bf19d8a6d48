"""HubSpot's endpoints around line items: the v4 association batch read of line items to
their deal, and the property definitions (with their options) of the CRM's objects.

Separate from `reads.py`, whose association endpoint is the deals' companies.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.hubspot.responses import error_response
from tests.fakes.server import Request, Response

# HubSpot's association type of a line item to its deal (HUBSPOT_DEFINED 20)
LINE_ITEM_TO_DEAL_TYPE = 20


class CommerceEndpoints:
    """Mixed into FakeHubSpot: answers from `line_items` and `properties` (ProductData)."""

    def _line_item_deals(self, request: Request) -> Response:
        query = request.json() or {}
        inputs = [str(i.get("id")) for i in query.get("inputs") or []]
        if len(inputs) > 1000:
            return error_response(400, "VALIDATION_ERROR", "at most 1000 inputs")
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        gone = self.line_items.archived | self.line_items.purged
        for line, row in zip(inputs, self.line_items.rows_of(inputs), strict=True):
            deal = int(self.line_items.parent_deal[row]) if row >= 0 and not gone[row] else -1
            if deal < 0:
                missing.append(line)
                continue
            results.append(
                {
                    "from": {"id": line},
                    "to": [
                        {
                            "toObjectId": deal,
                            "associationTypes": [
                                {
                                    "category": "HUBSPOT_DEFINED",
                                    "typeId": LINE_ITEM_TO_DEAL_TYPE,
                                    "label": None,
                                }
                            ],
                        }
                    ],
                }
            )
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if not missing:
            return Response(200, body)
        body["numErrors"] = len(missing)
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No deal is associated with line item {line}.",
                "context": {"fromObjectId": [line]},
            }
            for line in missing
        ]
        return Response(207, body)

    def _property(self, request: Request) -> Response:
        _, _, _, _, object_type, name = request.path.split("/")
        definition = self.properties.get((object_type, name))
        if definition is None:
            return error_response(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find property {name} for object type {object_type}",
            )
        return Response(200, definition)
