"""HubSpot's CRM search: `filterGroups`, `sorts` and offset paging capped at 10,000.

Separate because the filter operators and the sort rules are the fake's one query
language; records are built by ReadEndpoints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingestion.hubspot import settings as hs
from tests.fakes.hubspot.records import Objects, value_ms
from tests.fakes.hubspot.responses import error_response
from tests.fakes.server import Request, Response


class SearchEndpoint:
    """Mixed into FakeHubSpot: `POST .../search`, using `_objects`, `_records` (ReadEndpoints)
    and `search_result_limit`."""

    def _search(self, request: Request) -> Response:
        objects = self._objects(request.path.split("/")[4])
        try:
            query = request.json()
        except ValueError:
            return error_response(400, "VALIDATION_ERROR", "Invalid input JSON")
        limit = int(query.get("limit") or 10)
        if not 0 < limit <= hs.SEARCH_PAGE_SIZE:
            return error_response(
                400, "VALIDATION_ERROR", f"limit must be between 1 and {hs.SEARCH_PAGE_SIZE}"
            )
        after = int(query.get("after") or 0)
        if after >= self.search_result_limit:
            return error_response(
                400,
                "VALIDATION_ERROR",
                f"There was a problem with the request. Paging beyond {self.search_result_limit} "
                "results is not supported.",
            )
        rows = objects.live()
        groups = query.get("filterGroups") or []
        if groups:
            keep = np.zeros(len(rows), dtype=bool)
            for group in groups:
                mask = np.ones(len(rows), dtype=bool)
                for spec in group.get("filters") or []:
                    result = self._filter(objects, rows, spec)
                    if isinstance(result, Response):
                        return result
                    mask &= result
                keep |= mask
            rows = rows[keep]
        rows = self._sort(objects, rows, query.get("sorts") or [])
        page = rows[after : after + limit]
        properties = list(
            query.get("properties") or ["createdate", "hs_lastmodifieddate", "hs_object_id"]
        )
        paging = ""
        if after + limit < len(rows):
            paging = f',"paging":{{"next":{{"after":"{after + limit}","link":null}}}}'
        records = self._records(objects, page, properties, [], [])
        return Response(200, f'{{"total":{len(rows)},"results":{records}{paging}}}'.encode())

    def _filter(
        self, objects: Objects, rows: np.ndarray, spec: dict[str, Any]
    ) -> np.ndarray | Response:
        prop = spec.get("propertyName")
        op = str(spec.get("operator", "EQ")).upper()
        numeric = objects.numeric(prop)
        if numeric is not None:
            values = numeric[rows]
            try:
                if op in ("IN", "NOT_IN"):
                    wanted = np.array(
                        [value_ms(v) for v in spec.get("values") or []], dtype=np.int64
                    )
                    hit = np.isin(values, wanted)
                    return hit if op == "IN" else ~hit
                if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
                    has = values >= 0
                    return has if op == "HAS_PROPERTY" else ~has
                value = value_ms(spec.get("value"))
                if op == "BETWEEN":
                    return (values >= value) & (values <= value_ms(spec.get("highValue")))
            except (TypeError, ValueError):
                return error_response(400, "VALIDATION_ERROR", f"bad filter value for {prop}")
            ops = {
                "EQ": values == value,
                "NEQ": values != value,
                "GT": values > value,
                "GTE": values >= value,
                "LT": values < value,
                "LTE": values <= value,
            }
            if op not in ops:
                return error_response(400, "VALIDATION_ERROR", f"operator {op} is not supported")
            return ops[op]
        texts = objects.values(prop, rows) or [None] * len(rows)
        if op == "EQ":
            return np.array([t == spec.get("value") for t in texts], dtype=bool)
        if op == "NEQ":
            return np.array([t != spec.get("value") for t in texts], dtype=bool)
        if op == "IN":
            wanted_texts = set(spec.get("values") or [])
            return np.array([t in wanted_texts for t in texts], dtype=bool)
        if op == "HAS_PROPERTY":
            return np.array([t not in (None, "") for t in texts], dtype=bool)
        if op == "NOT_HAS_PROPERTY":
            return np.array([t in (None, "") for t in texts], dtype=bool)
        return error_response(400, "VALIDATION_ERROR", f"operator {op} is not supported on {prop}")

    def _sort(self, objects: Objects, rows: np.ndarray, sorts: list[Any]) -> np.ndarray:
        if not sorts:
            return rows[np.argsort(objects.ids[rows], kind="stable")]
        spec = sorts[0]
        if isinstance(spec, str):
            prop, descending = spec.lstrip("-"), spec.startswith("-")
        else:
            prop = spec.get("propertyName")
            descending = str(spec.get("direction", "ASCENDING")).upper() == "DESCENDING"
        keys = objects.numeric(prop)
        if keys is None:
            keys = np.array(objects.values(prop, rows) or [""] * len(rows), dtype=object)
            order = np.argsort(keys, kind="stable")
        else:
            # ties keep id order, as HubSpot's do
            order = np.lexsort((objects.ids[rows], keys[rows]))
        if descending:
            order = order[::-1]
        return rows[order]
