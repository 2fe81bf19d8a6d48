"""Pipedrive's deal endpoints: `/api/v2/deals`, `/api/v2/deals/archived` (keyset and
offset cursors) and the v1 changelog.

Separate from `endpoints.py` because deal paging and serialising carry the bench's
million deals.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np

from tests.fakes.arrow import epoch_of
from tests.fakes.pipedrive.columns import (
    NULL,
    STATUS_CODES,
    STATUS_NAMES,
    nullable_ids,
    rfc3339_many,
)
from tests.fakes.pipedrive.responses import (
    ACCOUNT_OWNER_USER,
    DELETED_LISTED_DAYS,
    INCLUDE_FIELDS,
    BadRequest,
    decode_cursor,
    encode_cursor,
    field_key,
    limit_of,
    offset_page,
    ok,
    parse_rfc3339,
    pipedrive_error,
    v1_time,
)
from tests.fakes.server import Request, Response


class DealEndpoints:
    """Mixed into FakePipedrive: answers from the `_d_*`, `_h_*` and sort-order columns
    (CompanyData), under `_data_lock`, using `now()`."""

    def _deals(self, request: Request) -> Response:
        return self._deal_list(request, archived=False)

    def _archived_deals(self, request: Request) -> Response:
        return self._deal_list(request, archived=True)

    def _deal_list(self, request: Request, archived: bool) -> Response:
        limit = limit_of(request)
        status_text = request.arg("status") or "open,won,lost"
        wanted = {s.strip() for s in status_text.split(",") if s.strip()}
        if not wanted <= set(STATUS_CODES):
            raise BadRequest(f"Invalid status: {status_text}")
        try:
            since = (
                parse_rfc3339(request.arg("updated_since"))
                if request.arg("updated_since")
                else None
            )
            until = (
                parse_rfc3339(request.arg("updated_until"))
                if request.arg("updated_until")
                else None
            )
        except ValueError:
            raise BadRequest(
                "updated_since and updated_until must be RFC 3339 date-times"
            ) from None
        sort_by = request.arg("sort_by", "id")
        direction = request.arg("sort_direction", "asc")
        if sort_by not in ("id", "update_time", "add_time") or direction not in ("asc", "desc"):
            raise BadRequest(
                "sort_by must be id, update_time or add_time; sort_direction asc or desc"
            )
        keys = request.arg("custom_fields")
        only_keys = None if keys is None else {k for k in keys.split(",") if k}
        if only_keys is not None and len(only_keys) > 15:
            raise BadRequest("A maximum of 15 custom field keys is allowed")
        extra = {f for f in (request.arg("include_fields") or "").split(",") if f}
        if not extra <= INCLUDE_FIELDS:
            raise BadRequest(f"Invalid include_fields: {', '.join(sorted(extra - INCLUDE_FIELDS))}")
        cursor = request.arg("cursor")
        codes = np.array([STATUS_CODES[s] for s in wanted], dtype=np.int8)
        forgotten = epoch_of(self.now() - timedelta(days=DELETED_LISTED_DAYS), "us")

        def visible(rows: np.ndarray) -> np.ndarray:
            ok = np.isin(self._d_status[rows], codes) & (self._d_archived[rows] == archived)
            ok &= ~(self._d_deleted[rows] & (self._d_update[rows] < forgotten))
            if since is not None:
                ok &= self._d_update[rows] >= since
            if until is not None:
                ok &= self._d_update[rows] < until
            return ok

        with self._data_lock:
            if sort_by == "update_time" and direction == "asc":
                # keyset paging on (update_time, id): robust to changes between pages
                start = 0
                if since is not None:
                    start = int(np.searchsorted(self._ut_sorted, since, "left"))
                if cursor:
                    try:
                        cut, cid = (int(x) for x in decode_cursor(cursor))
                    except (ValueError, TypeError):
                        raise BadRequest("Invalid cursor") from None
                    lo = int(np.searchsorted(self._ut_sorted, cut, "left"))
                    hi = int(np.searchsorted(self._ut_sorted, cut, "right"))
                    start = max(
                        start, lo + int(np.searchsorted(self._id_sorted[lo:hi], cid, "left"))
                    )
                picked: list[np.ndarray] = []
                found = 0
                position = start
                size = len(self._order)
                while position < size and found <= limit:
                    chunk = self._order[position : position + max(4 * limit, 1024)]
                    keep = chunk[visible(chunk)]
                    picked.append(keep)
                    found += len(keep)
                    position += len(chunk)
                chosen = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
                page, rest = chosen[:limit], chosen[limit : limit + 1]
                next_cursor = (
                    encode_cursor(int(self._d_update[rest[0]]), int(rest[0]) + 1)
                    if len(rest)
                    else None
                )
            else:
                # the other orders, offset-cursored (the connector does not use them)
                everyone = np.arange(len(self._d_update))
                chosen = everyone[visible(everyone)]
                column = {"id": self._id, "update_time": self._d_update, "add_time": self._d_add}[
                    sort_by
                ]
                order = chosen[np.lexsort((self._id[chosen], column[chosen]))]
                if direction == "desc":
                    order = order[::-1]
                try:
                    offset = int(decode_cursor(cursor)[0]) if cursor else 0
                except (ValueError, IndexError, TypeError):
                    raise BadRequest("Invalid cursor") from None
                page = order[offset : offset + limit]
                next_cursor = encode_cursor(offset + limit) if offset + limit < len(order) else None
            records = self._deal_records(page, only_keys)
            if "products_count" in extra:  # an optional field, sent only when asked for
                for record, count in zip(records, self._d_products[page].tolist(), strict=True):
                    record["products_count"] = count
        return ok(records, next_cursor)

    def _deal_records(self, rows: np.ndarray, only_keys: set[str] | None) -> list[dict[str, Any]]:
        """The v2 deal objects of these rows, their columns formatted at once."""
        status = self._d_status[rows]
        close = self._d_close[rows]
        won = np.where(status == STATUS_CODES["won"], close, NULL)
        lost = np.where(status == STATUS_CODES["lost"], close, NULL)
        ids = (rows + 1).tolist()
        owner = nullable_ids(self._d_owner[rows])
        org = nullable_ids(self._d_org[rows])
        pipeline = self._d_pipeline[rows].tolist()
        stage = self._d_stage[rows].tolist()
        value = self._d_value[rows].tolist()
        add = rfc3339_many(self._d_add[rows])
        update = rfc3339_many(self._d_update[rows])
        stage_change = rfc3339_many(self._d_stage_change[rows])
        close_text = rfc3339_many(close)
        won_text = rfc3339_many(won)
        lost_text = rfc3339_many(lost)
        deleted = self._d_deleted[rows].tolist()
        archived = self._d_archived[rows].tolist()
        deal_type = nullable_ids(self._d_deal_type[rows])
        mrr = self._d_mrr[rows].tolist()
        channel = nullable_ids(self._d_channel[rows])
        keys = {
            name: field_key(f"deal:{name}")
            for name in ("Deal type", "Contract start", "Contract end", "MRR", "Next step")
        }
        wanted = {name: key for name, key in keys.items() if only_keys is None or key in only_keys}
        records = []
        for n, i in enumerate(rows.tolist()):
            currency = self._d_currency[i]
            custom = {
                "Deal type": deal_type[n],
                "Contract start": self._d_contract_start[i],
                "Contract end": self._d_contract_end[i],
                "MRR": None if mrr[n] != mrr[n] else {"value": mrr[n], "currency": currency},
                "Next step": None,  # a custom field no setting maps
            }
            records.append(
                {
                    "id": ids[n],
                    "title": self._d_title[i],
                    "creator_user_id": ACCOUNT_OWNER_USER,
                    "owner_id": owner[n],
                    "person_id": None,
                    "org_id": org[n],
                    "pipeline_id": pipeline[n],
                    "stage_id": stage[n],
                    "value": value[n],
                    "currency": currency,
                    "add_time": add[n],
                    "update_time": update[n],
                    "stage_change_time": stage_change[n],
                    "is_deleted": deleted[n],
                    "is_archived": archived[n],
                    "status": STATUS_NAMES[status[n]],
                    "probability": None,
                    "lost_reason": self._d_lost_reason[i],
                    "visible_to": 3,
                    "close_time": close_text[n],
                    "won_time": won_text[n],
                    "lost_time": lost_text[n],
                    "expected_close_date": None,
                    "label_ids": [],
                    "origin": "ManuallyCreated",
                    "origin_id": None,
                    "channel": channel[n],
                    "channel_id": None,
                    "acv": None,
                    "arr": None,
                    "mrr": None,
                    "custom_fields": {key: custom[name] for name, key in wanted.items()},
                }
            )
        return records

    def _changelog(self, request: Request) -> Response:
        native = int(re.search(r"/deals/([0-9]+)/changelog", request.path).group(1))
        with self._data_lock:
            if not 1 <= native <= len(self._d_update) or self._d_deleted[native - 1]:
                return pipedrive_error(404, "Deal not found")
            i = native - 1
            lo, hi = self._h_offsets[i], self._h_offsets[i + 1]
            moves = list(
                zip(self._h_at[lo:hi].tolist(), self._h_stage[lo:hi].tolist(), strict=True)
            )
            moves += self._h_extra.get(i, [])
            owner = nullable_ids(self._d_owner[i : i + 1])[0]
            entries: list[dict[str, Any]] = []
            for (_, before), (at, after) in zip(moves, moves[1:], strict=False):
                entries.append(self._change(owner, "stage_id", before, after, at))
            close = int(self._d_close[i])
            status = STATUS_NAMES[self._d_status[i]]
            if close != NULL and status in ("won", "lost"):
                entries.append(self._change(owner, "status", "open", status, close))
            if self._d_value[i]:
                # a change no stage history is made of, as real changelogs hold many
                entries.append(
                    self._change(owner, "value", None, self._d_value[i], int(self._d_add[i]))
                )
        entries.sort(key=lambda e: e["_at"], reverse=True)  # newest first
        for e in entries:
            del e["_at"]
        return offset_page(entries, request)

    @staticmethod
    def _change(owner: Any, key: str, old: Any, new: Any, at: int) -> dict[str, Any]:
        return {
            "field_key": key,
            "old_value": None if old is None else str(old),
            "new_value": None if new is None else str(new),
            "actor_user_id": owner,
            "time": v1_time(at),
            "change_source": "app",
            "change_source_user_agent": None,
            "is_bulk_update_flag": False,
            "_at": at,
        }
