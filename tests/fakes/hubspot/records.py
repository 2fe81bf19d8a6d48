"""A portal's records as Arrow columns, and the column-wise texts HubSpot sends of them.

Separate from the endpoints so that a page of a million-deal portal is a slice of
these columns joined into JSON, never a Python loop over records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.arrow import column_or_nulls, epoch, iso_texts, parse_iso

# The model's deal types as HubSpot's `dealtype` options (the source's default mapping).
DEAL_TYPE_OPTIONS = {
    "new_business": "newbusiness",
    "expansion": "existingbusiness",
    "renewal": "renewal",
}


DEAL_ID_BASE = 9_000_000_000
COMPANY_ID_BASE = 5_000_000_000
OWNER_ID_BASE = 100_000
USER_ID_BASE = 900_000
TEAM_ID_BASE = 700
GOAL_ID_BASE = 40_000_000_000
STAGE_ID_BASE = 1_000_000
PIPELINE_ID_BASE = 10_000


def stamp_ms(table: pa.Table, name: str) -> np.ndarray:
    """A timestamp column (nulls where the table has none) as epoch ms, -1 where null."""
    return epoch(column_or_nulls(table, name, pa.timestamp("us", tz="UTC")), "ms", -1)


def as_text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def date_text(values: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(values, pa.timestamp("s")), format="%Y-%m-%d")


def value_ms(value: Any) -> int:
    """A search filter value (epoch ms or ISO 8601) as epoch milliseconds."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return parse_iso(text, "ms")


def json_strings(values: pa.Array) -> pa.Array:
    """Strings as JSON text: quoted and escaped, `null` for nulls (vectorised)."""
    text = pc.replace_substring(values, "\\", "\\\\")
    for raw, escaped in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = pc.replace_substring(text, raw, escaped)
    if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
        # other control characters: rare enough to escape value by value
        text = pa.array(
            [json.dumps(v)[1:-1] if v is not None else None for v in values.to_pylist()]
        )
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(quoted, "null")


def history_entries(stage_ids: pa.Array, entered_ms: np.ndarray) -> pa.Array:
    """`dealstage` versions as HubSpot's propertiesWithHistory entries (JSON text)."""
    return pc.binary_join_element_wise(
        '{"value":"',
        stage_ids,
        '","timestamp":"',
        pa.array(iso_texts(entered_ms, "ms"), pa.string()),
        '","sourceType":"CRM_UI","sourceId":"userId:1"}',
        "",
    )


def company_links(primary: np.ndarray, other: np.ndarray) -> pa.Array:
    """The `associations` member of deal records: the primary company (with both of
    HubSpot's labels), after another unlabeled company where a deal has one; empty text
    for a deal without company."""
    primary_id = pa.array(primary).cast(pa.string())
    other_id = pa.array(other).cast(pa.string())
    first = pc.if_else(
        pa.array(other >= 0),
        pc.binary_join_element_wise(
            '{"id":"', other_id, '","type":"deal_to_company_unlabeled"},', ""
        ),
        "",
    )
    links = pc.binary_join_element_wise(
        ',"associations":{"companies":{"results":[',
        first,
        '{"id":"',
        primary_id,
        '","type":"deal_to_company"},{"id":"',
        primary_id,
        '","type":"deal_to_company_unlabeled"}]}}',
        "",
    )
    return pc.if_else(pa.array(primary >= 0), links, "")


def deal_links(deals: np.ndarray) -> pa.Array:
    """The `associations` member of line item records: their one deal (none: empty text)."""
    links = pc.binary_join_element_wise(
        ',"associations":{"deals":{"results":[{"id":"',
        pa.array(deals).cast(pa.string()),
        '","type":"line_item_to_deal"}]}}',
        "",
    )
    return pc.if_else(pa.array(deals >= 0), links, "")


class Objects:
    """One object type's records as columns (sorted by their numeric HubSpot id)."""

    def __init__(
        self,
        name: str,
        ids: np.ndarray,
        props: dict[str, pa.Array],
        created_ms: np.ndarray,
        modified_ms: np.ndarray,
        keys: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.ids = ids.astype(np.int64)
        self.props = props
        self.created_ms = created_ms.astype(np.int64)
        self.modified_ms = modified_ms.astype(np.int64)
        self.archived = np.zeros(len(ids), dtype=bool)
        self.purged = np.zeros(len(ids), dtype=bool)  # deleted for good (GDPR, recycle bin)
        self.archived_ms = np.full(len(ids), -1, dtype=np.int64)
        self.index = {key: i for i, key in enumerate(keys)}  # files id -> row
        # deals only: each deal's `dealstage` history as JSON text (newest first), its
        # primary company and, for some, a second company listed before it (-1: none)
        self.history_json: pa.Array | None = None
        self.primary_company = np.full(len(ids), -1, dtype=np.int64)
        self.other_company = np.full(len(ids), -1, dtype=np.int64)
        self.parent_deal = np.full(len(ids), -1, dtype=np.int64)  # line items only
        self._quoted: dict[str, pa.Array] = {}
        self._live: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, ids: list[str]) -> np.ndarray:
        """The rows of HubSpot ids (-1 for an id that does not exist): ids are sorted."""
        wanted = np.array([int(i) if str(i).isdigit() else -1 for i in ids], dtype=np.int64)
        rows = np.searchsorted(self.ids, wanted)
        found = (rows < len(self.ids)) & (self.ids[np.minimum(rows, len(self.ids) - 1)] == wanted)
        return np.where(found, rows, -1) if len(self.ids) else np.full(len(ids), -1)

    def live(self) -> np.ndarray:
        if self._live is None:
            self._live = np.flatnonzero(~self.archived & ~self.purged)
        return self._live

    def changed(self) -> None:
        self._live = None

    def set_prop(self, row: int, prop: str, value: str | None) -> None:
        self.set_props(np.array([row]), prop, pa.array([value], pa.string()))

    def set_props(self, rows: np.ndarray, prop: str, values: pa.Array) -> None:
        """The property's values at `rows` (ascending, one value each) replaced."""
        mask = np.zeros(len(self), dtype=bool)
        mask[rows] = True
        current = self.props.get(prop)
        if current is None:
            current = pa.nulls(len(self), pa.string())
        self.props[prop] = pc.replace_with_mask(current, pa.array(mask), values)
        self._quoted.pop(prop, None)

    def quoted(self, prop: str, rows: np.ndarray) -> pa.Array | None:
        """The property's values at `rows` as JSON text ("..." or null); None if unknown."""
        if prop == "hs_object_id":
            return json_strings(pa.array(self.ids[rows]).cast(pa.string()))
        if prop in ("hs_lastmodifieddate", "createdate"):
            return json_strings(pa.array(self.values(prop, rows), pa.string()))
        if prop not in self.props:
            return None  # HubSpot leaves out properties the portal does not have
        if prop not in self._quoted:
            self._quoted[prop] = json_strings(self.props[prop])
        return self._quoted[prop].take(pa.array(rows, pa.int64()))

    def prepend_histories(self, rows: np.ndarray, entries: pa.Array) -> None:
        """A new newest version (JSON text) for each deal at `rows` (ascending)."""
        assert self.history_json is not None
        old = self.history_json.take(pa.array(rows))
        grown = pc.if_else(
            pc.equal(old, "[]"),
            pc.binary_join_element_wise("[", entries, "]", ""),
            pc.binary_join_element_wise("[", entries, ",", pc.utf8_slice_codeunits(old, 1), ""),
        )
        mask = np.zeros(len(self), dtype=bool)
        mask[rows] = True
        self.history_json = pc.replace_with_mask(self.history_json, pa.array(mask), grown)

    def quote_all(self) -> None:
        """Every property column quoted for JSON now rather than on its first page."""
        for prop in self.props:
            self.quoted(prop, np.arange(min(1, len(self))))

    def values(self, prop: str, rows: np.ndarray) -> list[Any] | None:
        if prop == "hs_object_id":
            return [str(i) for i in self.ids[rows]]
        if prop == "hs_lastmodifieddate":
            return iso_texts(self.modified_ms[rows], "ms")
        if prop == "createdate":
            return iso_texts(self.created_ms[rows], "ms")
        values = self.props.get(prop)
        if values is None:
            return None  # HubSpot leaves out properties the portal does not have
        return values.take(pa.array(rows, pa.int64())).to_pylist()

    def numeric(self, prop: str) -> np.ndarray | None:
        if prop == "hs_object_id":
            return self.ids
        if prop == "hs_lastmodifieddate":
            return self.modified_ms
        if prop == "createdate":
            return self.created_ms
        return None
