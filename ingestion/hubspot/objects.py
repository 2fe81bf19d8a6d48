"""Reading one CRM object type (`deals`, `companies`, `goal_targets`): listing, search
restarted past HubSpot's 10,000-result cap, batch read, and the primary association.

`hs.SEARCH_RESULT_LIMIT` is read at call time (a test lowers it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.paging import follow
from ingestion.hubspot import settings as hs
from ingestion.hubspot.client import HubSpotClient
from ingestion.hubspot.errors import HubSpotResponseError
from ingestion.hubspot.pages import ASSOCIATION_RESULT_TYPE, object_result_type, parse_page
from ingestion.hubspot.values import parse_timestamp_value

# HubSpot's association type of a deal's primary company (HUBSPOT_DEFINED 5) and its
# label in the v3 list endpoint's `associations` block.
PRIMARY_DEAL_COMPANY_TYPE_ID = 5
PRIMARY_DEAL_COMPANY_LABEL = "deal_to_company"


@dataclass
class ObjectReader:
    """Reads one CRM object type (`deals`, `companies`, `goal_targets`)."""

    client: HubSpotClient
    object_type: str
    properties: tuple[str, ...]
    history: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()
    page_size: int = hs.LIST_PAGE_SIZE
    pages_read: int = field(default=0, init=False)

    def _read(
        self, method: str, path: str, what: str, result_type: pa.DataType, **request: Any
    ) -> tuple[pa.Array, str | None]:
        """One page requested and parsed: its records and the cursor of the next page."""
        content = self.client.request(method, path, what=what, **request)
        page = parse_page(content, result_type, what)
        self.pages_read += 1
        return page

    def batch_size(self, with_history: bool) -> int:
        """Records per list page or batch read: the setting, capped by HubSpot's limit."""
        cap = hs.HISTORY_PAGE_SIZE if with_history else hs.LIST_PAGE_SIZE
        return max(1, min(self.page_size, cap))

    def list_pages(
        self, *, archived: bool = False, properties: Sequence[str] | None = None
    ) -> Iterator[pa.Array]:
        """Every record (or every archived record), page by page in HubSpot's id order."""
        props = tuple(properties) if properties is not None else self.properties
        history = () if archived else self.history
        associations = () if archived else self.associations
        result_type = object_result_type(props, history, associations)
        params: dict[str, Any] = {
            "limit": self.batch_size(bool(history)),
            "properties": ",".join(props),
            "archived": "true" if archived else "false",
        }
        if history:
            params["propertiesWithHistory"] = ",".join(history)
        if associations:
            params["associations"] = ",".join(associations)
        path = hs.OBJECTS_PATH.format(object_type=self.object_type)

        def fetch(after: str | None, page: int) -> tuple[pa.Array, str | None]:
            if after is not None:
                params["after"] = after
            what = f"{'archived ' if archived else ''}{self.object_type} page {page}"
            return self._read("GET", path, what, result_type, params=params)

        yield from follow(fetch)

    def search_modified_since(
        self, since: datetime, properties: Sequence[str] = (hs.MODIFIED_PROPERTY,)
    ) -> Iterator[pa.Array]:
        """Records modified at or after `since` with `properties` (search returns no
        property history), page by page.

        A search query stops at 10,000 results, so the query is restarted from the last
        modification time it returned; records sharing that time are read twice (the merge
        keeps one). Should a whole query's results share one millisecond, that millisecond
        is paged by id before going on.
        """
        path = hs.SEARCH_PATH.format(object_type=self.object_type)
        properties = tuple(dict.fromkeys((*properties, hs.MODIFIED_PROPERTY)))
        result_type = object_result_type(properties)
        limit = max(1, min(self.page_size, hs.SEARCH_PAGE_SIZE))
        lower_ms, lower_op = int(since.timestamp() * 1000), "GTE"
        tie_ms: int | None = None  # while paging one millisecond by id
        tie_after_id = 0
        after: str | None = None
        page = 0
        while True:
            page += 1
            if tie_ms is None:
                filters = [_filter(hs.MODIFIED_PROPERTY, lower_op, lower_ms)]
                sort = hs.MODIFIED_PROPERTY
            else:
                filters = [
                    _filter(hs.MODIFIED_PROPERTY, "EQ", tie_ms),
                    _filter("hs_object_id", "GT", tie_after_id),
                ]
                sort = "hs_object_id"
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": list(properties),
                "limit": limit,
            }
            if after is not None:
                body["after"] = after
            what = f"{self.object_type} search page {page}"
            records, after = self._read("POST", path, what, result_type, body=body)
            if len(records):
                yield records
            if after is None:
                if tie_ms is None:
                    return
                # that millisecond is done: go on with what was modified after it
                lower_ms, lower_op, tie_ms = tie_ms, "GT", None
                continue
            if not after.isdigit():
                raise HubSpotResponseError(f"{what}: paging.next.after={after!r} is not an offset")
            if int(after) + limit <= hs.SEARCH_RESULT_LIMIT:
                continue
            # the next page would pass HubSpot's cap: restart the query past what was read
            after = None
            last_ms, last_id = _last_modified_and_id(records, what)
            if tie_ms is not None:
                if last_id is None or last_id <= tie_after_id:
                    raise HubSpotResponseError(f"{what}: ids do not grow while paging by id")
                tie_after_id = last_id
            elif last_ms > lower_ms or lower_op == "GT":
                lower_ms, lower_op = last_ms, "GTE"
            else:
                tie_ms, tie_after_id = lower_ms, 0

    def batch_read(self, ids: Sequence[str]) -> pa.Array:
        """The records `ids` with their properties (and property history)."""
        path = hs.BATCH_READ_PATH.format(object_type=self.object_type)
        result_type = object_result_type(self.properties, self.history)
        body: dict[str, Any] = {
            "properties": list(self.properties),
            "inputs": [{"id": i} for i in ids],
        }
        if self.history:
            body["propertiesWithHistory"] = list(self.history)
        what = f"{self.object_type} batch read ({len(ids)} records)"
        records, _ = self._read("POST", path, what, result_type, body=body)
        return records

    def primary_associations(self, ids: Sequence[str], to_type: str) -> tuple[pa.Array, pa.Array]:
        """(from id, primary associated id) pairs for the records `ids` that have one."""
        path = hs.ASSOCIATIONS_BATCH_READ_PATH.format(from_type=self.object_type, to_type=to_type)
        what = f"{self.object_type} to {to_type} associations ({len(ids)} records)"
        body = {"inputs": [{"id": i} for i in ids]}
        records, _ = self._read("POST", path, what, ASSOCIATION_RESULT_TYPE, body=body)
        from_ids = records.field("from").field("id")
        targets = records.field("to")
        flat = pc.list_flatten(targets)
        parents = pc.list_parent_indices(targets)
        types = flat.field("associationTypes")
        is_primary = np.zeros(len(flat), dtype=bool)
        type_ids = pc.list_flatten(types).field("typeId")
        hits = pc.equal(type_ids, PRIMARY_DEAL_COMPANY_TYPE_ID).to_numpy(zero_copy_only=False)
        if hits.any():
            is_primary[pc.list_parent_indices(types).to_numpy()[hits]] = True
        chosen = _first_per_parent(parents.to_numpy(), is_primary, len(records))
        target_ids = pc.cast(flat.field("toObjectId"), pa.string())
        return from_ids, _take_optional(target_ids, chosen)


def _filter(prop: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": prop, "operator": operator, "value": str(value)}


def _last_modified_and_id(records: pa.Array, what: str) -> tuple[int, int | None]:
    """The modification time (epoch ms) and numeric id of a search page's last record."""
    if not len(records):
        raise HubSpotResponseError(f"{what}: an empty page announces a next page; run again.")
    last = records[len(records) - 1].as_py()
    modified = (last.get("properties") or {}).get(hs.MODIFIED_PROPERTY) or last.get("updatedAt")
    try:
        stamp = parse_timestamp_value(modified)
    except (ValueError, OverflowError):
        stamp = None
    if stamp is None:
        raise HubSpotResponseError(
            f"{what}: record {last.get('id')} has no {hs.MODIFIED_PROPERTY}; run again."
        )
    record_id = str(last.get("id"))
    return int(stamp.timestamp() * 1000), int(record_id) if record_id.isdigit() else None


def _first_per_parent(parents: np.ndarray, preferred: np.ndarray, n_parents: int) -> np.ndarray:
    """Per parent, the index of its first preferred child, else its first child, else -1."""
    chosen = np.full(n_parents, -1, dtype=np.int64)
    if len(parents) == 0:
        return chosen
    # stable sort by (parent, not preferred): the first row of each parent is its choice
    order = np.lexsort((~preferred, parents))
    sorted_parents = parents[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_parents[1:] != sorted_parents[:-1]
    chosen[sorted_parents[first]] = order[first]
    return chosen


def _take_optional(values: pa.Array, indices: np.ndarray) -> pa.Array:
    """values[indices], null where the index is -1."""
    if len(values) == 0:
        return pa.nulls(len(indices), values.type)
    mask = indices < 0
    return values.take(pa.array(np.where(mask, 0, indices), mask=mask))


def primary_from_list_associations(records: pa.Array, association: str) -> pa.Array:
    """Per record of a list page, the id of its primary association (null when none)."""
    links = records.field("associations").field(association).field("results")
    flat = pc.list_flatten(links)
    parents = pc.list_parent_indices(links).to_numpy()
    preferred = pc.fill_null(
        pc.equal(flat.field("type"), PRIMARY_DEAL_COMPANY_LABEL), False
    ).to_numpy(zero_copy_only=False)
    return _take_optional(flat.field("id"), _first_per_parent(parents, preferred, len(records)))
