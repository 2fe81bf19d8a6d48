"""HubSpot's read endpoints: object lists, batch reads, associations, owners, pipelines,
exchange rates and the company currency.

Separate from `search.py`, whose filters and sorts are their own small language.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.hubspot import settings as hs
from tests.fakes.arrow import iso_texts
from tests.fakes.hubspot.records import Objects, company_links, deal_links
from tests.fakes.hubspot.responses import error_response
from tests.fakes.server import Request, Response


class ReadEndpoints:
    """Mixed into FakeHubSpot: answers from `deals`, `companies`, `goals`, `owners`,
    `pipelines`, `rates` and `company_currency`, through `_objects` and `url`."""

    def _records(
        self,
        objects: Objects,
        rows: np.ndarray,
        properties: list[str],
        history: list[str],
        associations: list[str],
    ) -> str:
        """The records at `rows` as a JSON array, built column-wise with Arrow."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return "[]"
        parts = []
        for prop in dict.fromkeys(properties):
            quoted = objects.quoted(prop, rows)
            if quoted is not None:
                parts.append(pc.binary_join_element_wise(json.dumps(prop) + ":", quoted, ""))
        props = pc.binary_join_element_wise(*parts, ",") if parts else ""
        archived = bool(objects.archived[rows[0]])  # a page is all live or all archived
        columns: list[Any] = [
            '{"id":"',
            pa.array(objects.ids[rows]).cast(pa.string()),
            '","properties":{',
            props,
            '},"createdAt":"',
            pa.array(iso_texts(objects.created_ms[rows], "ms"), pa.string()),
            '","updatedAt":"',
            pa.array(iso_texts(objects.modified_ms[rows], "ms"), pa.string()),
            f'","archived":{"true" if archived else "false"}',
        ]
        if archived:
            columns += [
                ',"archivedAt":"',
                pa.array(iso_texts(objects.archived_ms[rows], "ms")),
                '"',
            ]
        if "dealstage" in history and objects.history_json is not None:
            history_json = objects.history_json.take(pa.array(rows))
            columns += [',"propertiesWithHistory":{"dealstage":', history_json, "}"]
        if "companies" in associations and objects.name == "deals":
            columns.append(
                company_links(objects.primary_company[rows], objects.other_company[rows])
            )
        if "deals" in associations and objects.name == "line_items":
            columns.append(deal_links(objects.parent_deal[rows]))
        columns.append("}")
        records = pc.binary_join_element_wise(*columns, "")
        return "[" + ",".join(records.to_pylist()) + "]"

    def _list(self, request: Request) -> Response:
        objects = self._objects(request.path.split("/")[4])
        history = [p for p in (request.arg("propertiesWithHistory") or "").split(",") if p]
        cap = hs.HISTORY_PAGE_SIZE if history else hs.LIST_PAGE_SIZE
        limit = min(int(request.arg("limit") or 10), cap)
        archived = (request.arg("archived") or "false").lower() == "true"
        rows = np.flatnonzero(objects.archived & ~objects.purged) if archived else objects.live()
        after = request.arg("after")
        start = int(np.searchsorted(objects.ids[rows], int(after))) if after else 0
        page = rows[start : start + limit]
        properties = [p for p in (request.arg("properties") or "").split(",") if p]
        associations = [a for a in (request.arg("associations") or "").split(",") if a]
        paging = ""
        if start + limit < len(rows):
            nxt = str(objects.ids[rows[start + limit]])
            link = f"{self.url}{request.path}?after={nxt}"
            paging = f',"paging":{{"next":{{"after":"{nxt}","link":"{link}"}}}}'
        records = self._records(objects, page, properties, history, associations)
        return Response(200, f'{{"results":{records}{paging}}}'.encode())

    def _batch_read(self, request: Request) -> Response:
        objects = self._objects(request.path.split("/")[4])
        query = request.json() or {}
        inputs = [str(i.get("id")) for i in query.get("inputs") or []]
        history = list(query.get("propertiesWithHistory") or [])
        cap = hs.HISTORY_PAGE_SIZE if history else hs.BATCH_READ_SIZE
        if len(inputs) > cap:
            return error_response(400, "VALIDATION_ERROR", f"at most {cap} inputs per batch read")
        position = objects.rows_of(inputs)
        gone = objects.archived | objects.purged
        found = [int(r) for r in position if r >= 0 and not gone[r]]
        missing = [i for i, r in zip(inputs, position, strict=True) if r < 0 or gone[r]]
        # HubSpot does not promise the input order: serve the reverse to keep clients honest
        rows = np.array(found[::-1], dtype=np.int64)
        now = datetime.now(tz=UTC).isoformat()
        records = self._records(objects, rows, list(query.get("properties") or []), history, [])
        head = f'{{"status":"COMPLETE","startedAt":"{now}","completedAt":"{now}"'
        if missing:
            errors = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some records.",
                    "context": {"ids": missing},
                }
            ]
            body = f'{head},"results":{records},"numErrors":1,"errors":{json.dumps(errors)}}}'
            return Response(207, body.encode())
        return Response(200, f'{head},"results":{records}}}'.encode())

    def _associations(self, request: Request) -> Response:
        query = request.json() or {}
        inputs = [str(i.get("id")) for i in query.get("inputs") or []]
        if len(inputs) > 1000:
            return error_response(400, "VALIDATION_ERROR", "at most 1000 inputs")
        results, missing = [], []
        for deal, row in zip(inputs, self.deals.rows_of(inputs), strict=True):
            links = []
            if row >= 0:
                other, primary = self.deals.other_company[row], self.deals.primary_company[row]
                links = [(int(c), c == primary) for c in (other, primary) if c >= 0]
            if not links:
                missing.append(deal)
                continue
            results.append(
                {
                    "from": {"id": deal},
                    "to": [
                        {
                            "toObjectId": company,
                            "associationTypes": (
                                [
                                    {
                                        "category": "HUBSPOT_DEFINED",
                                        "typeId": 5,
                                        "label": "Primary",
                                    },
                                    {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None},
                                ]
                                if primary
                                else [{"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]
                            ),
                        }
                        for company, primary in links
                    ],
                }
            )
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            body["numErrors"] = len(missing)
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No company is associated with deal {deal}.",
                    "context": {"fromObjectId": [deal]},
                }
                for deal in missing
            ]
            return Response(207, body)
        return Response(200, body)

    def _offset_page(self, request: Request, items: list[dict[str, Any]], cap: int) -> Response:
        limit = min(int(request.arg("limit") or 100), cap)
        start = int(request.arg("after") or 0)
        body: dict[str, Any] = {"results": items[start : start + limit]}
        if start + limit < len(items):
            body["paging"] = {"next": {"after": str(start + limit), "link": None}}
        return Response(200, body)

    def _owners(self, request: Request) -> Response:
        archived = (request.arg("archived") or "false").lower() == "true"
        items = [o for o in self.owners if o["archived"] == archived]
        return self._offset_page(request, items, 500)

    def _pipelines(self, request: Request) -> Response:
        return Response(200, {"results": self.pipelines})

    def _exchange_rates(self, request: Request) -> Response:
        return self._offset_page(request, self.rates, 100)

    def _company_currency(self, request: Request) -> Response:
        return Response(
            200, {"currencyCode": self.company_currency, "currencyName": "Company currency"}
        )
