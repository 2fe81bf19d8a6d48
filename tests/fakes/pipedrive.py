"""A fake Pipedrive company on 127.0.0.1, serving CRM data given as files-contract tables.

It speaks the shapes of Pipedrive's API as documented (developers.pipedrive.com and the
official clients' API docs), for the endpoints the connector reads:

- API v2, cursor paging (`limit` <= 500, `cursor`, `additional_data.next_cursor`):
  GET /api/v2/deals and /api/v2/deals/archived (`updated_since` / `updated_until` in
  RFC 3339, `status` as a comma list, deleted deals listed for 30 days, `sort_by`
  id / update_time / add_time, `sort_direction`, `custom_fields`), /api/v2/dealFields,
  /api/v2/organizations, /api/v2/organizationFields, /api/v2/pipelines, /api/v2/stages.
  Custom fields sit in `custom_fields` keyed by 40-character hashes; a single-option
  value is the option id, a monetary value is {"value", "currency"}.
- API v1: GET /api/v1/users, /api/v1/legacyTeams, /api/v1/goals/find (everyone's goals
  only when `type.name` is given), /api/v1/currencies, /api/v1/deals/{id}/changelog
  (cursor paged, times as 'YYYY-MM-DD HH:MM:SS' UTC).
- The token only in the `x-api-token` header: anything else is a 401
  {"success": false, "error": ..., "errorCode": 401}. Every answer carries
  x-ratelimit-limit / -remaining / -reset; past the limit of the window, a 429 with
  Retry-After. Errors are {"success": false, "error", "errorCode"}.

The files contract maps onto it like this: owners -> users (team -> a legacy team),
accounts -> organizations (segment / region / industry as single-option custom fields),
(pipeline, stage) -> pipelines and stages (probability as a whole percent), deals ->
deals (deal type, contract start / end and MRR as custom fields; won / lost deals stay
in their stage, as in Pipedrive), stage history -> the deal's first stage at add_time and
one `stage_id` change per later entry in the changelog. `fx_rates` has no place:
Pipedrive keeps no exchange rates.

Pages are built on demand from columnar arrays (a binary search to the page, then at
most `limit` records serialised), so the same fake serves `bench/` at a million deals.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.files.contract import ENTITIES
from tests.fakes.arrow import as_table, column_or_nulls, epoch, epoch_of, parse_iso
from tests.fakes.ratelimit import RateWindow
from tests.fakes.server import FakeServer, Request, Response

DEFAULT_TOKEN = "pd-fake-0123456789abcdef0123456789abcdef"
MAX_LIMIT = 500
DELETED_LISTED_DAYS = 30
ACCOUNT_OWNER_USER = 1  # the token's own user: goals/find without type.name returns theirs

DEAL_TYPE_LABELS = {"new_business": "New business", "renewal": "Renewal", "expansion": "Expansion"}
CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD", "JPY")


def field_key(name: str) -> str:
    """A stable 40-character hash key, the shape Pipedrive gives custom fields."""
    return hashlib.sha1(f"pipedrive-fake:{name}".encode()).hexdigest()


def pipedrive_error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"success": False, "error": message, "errorCode": status}
    if status in (401, 403):
        body["error_info"] = "Please check developers.pipedrive.com for more information."
    return Response(status, orjson.dumps(body), dict(headers or {}))


def rate_limited(retry_after: int = 1) -> Response:
    """A 429 as Pipedrive sends it, for fault injection."""
    return pipedrive_error(
        429,
        "Request over limit",
        {
            "Retry-After": str(retry_after),
            "x-ratelimit-limit": "80",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(retry_after),
        },
    )


def _v1_time(us: int | None) -> str | None:
    """v1 times: 'YYYY-MM-DD HH:MM:SS' in UTC (a fraction only when the data has one)."""
    if us is None:
        return None
    moment = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    if us % 1_000_000:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _parse_rfc3339(text: str) -> int:
    return parse_iso(text.replace("z", "Z"), "us", assume_utc=False)


def _encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode()


def _decode_cursor(text: str) -> list[Any]:
    parts = orjson.loads(base64.urlsafe_b64decode(text.encode()))
    if not isinstance(parts, list):
        raise ValueError("bad cursor")
    return parts


NULL = np.iinfo(np.int64).min  # an empty timestamp or id in the columnar arrays
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
STATUS_CODES = {"open": 0, "won": 1, "lost": 2, "deleted": 3}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


def _ids(indices: pa.Array | pa.ChunkedArray, size: int) -> np.ndarray:
    """0-based positions (null where none) -> 1-based Pipedrive ids, NULL where none."""
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    shifted = pc.add(pc.cast(indices, pa.int64()), 1)
    return pc.fill_null(shifted, NULL).to_numpy(zero_copy_only=False).copy()


def _nullable_ids(values: np.ndarray) -> list[int | None]:
    return [None if v == NULL else v for v in values.tolist()]


def _index_in(
    values: pa.Array | pa.ChunkedArray, keys: pa.Array, entity: str, column: str, target: str
) -> pa.Array:
    """Positions of `values` in `keys`; a value missing from `keys` is an error."""
    index = pc.index_in(values, value_set=keys)
    missing = pc.and_(pc.is_valid(values), pc.is_null(index))
    if pc.any(missing).as_py():
        example = pc.filter(values, missing)[0].as_py()
        raise ValueError(f"{entity}.{column} {example!r} is not in {target}")
    return index.combine_chunks() if isinstance(index, pa.ChunkedArray) else index


def _dates(table: pa.Table, column: str, size: int) -> list[str | None]:
    if column not in table.column_names:
        return [None] * size
    return pc.strftime(table[column], format="%Y-%m-%d").to_pylist()


def _rfc3339_many(values: np.ndarray) -> list[str | None]:
    """RFC 3339 texts of microsecond timestamps (NULL -> None), formatted at once."""
    empty = values == NULL
    moments = np.where(empty, 0, values).astype("datetime64[us]")
    unit = "us" if np.any(values[~empty] % 1_000_000) else "s"
    texts = np.datetime_as_string(moments, unit=unit, timezone="UTC").tolist()
    return [None if e else t for t, e in zip(texts, empty.tolist(), strict=True)]


class FakePipedrive(FakeServer):
    """A fake Pipedrive company; start it with `with FakePipedrive(tables) as server:`.

    `requests`, `arrivals`, `faults`, `requests_to()`, `record_requests` and `latency`
    come from FakeServer. `ratelimit` is the number of requests allowed per
    `ratelimit_window` seconds (Pipedrive: 20 to 120 per 2 s); `latency` delays answers.
    """

    def __init__(
        self,
        tables: Mapping[str, Any],
        *,
        token: str = DEFAULT_TOKEN,
        goals: Sequence[Mapping[str, Any]] = (),
        record_requests: bool = True,
        ratelimit: int = 1_000_000,
        ratelimit_window: float = 2.0,
        latency: float = 0.0,
        now: datetime | None = None,
    ) -> None:
        super().__init__(record_requests=record_requests, latency=latency)
        self.token = token
        self._window = RateWindow(
            ratelimit, ratelimit_window, count_refused=True, started=time.monotonic()
        )
        self._data_lock = threading.RLock()
        self._now = now
        self.goals: list[dict[str, Any]] = [dict(g) for g in goals]
        self._build(tables)
        for method, path, handler in (
            ("GET", r"/api/v2/deals", self._deals),
            ("GET", r"/api/v2/deals/archived", self._archived_deals),
            ("GET", r"/api/v2/dealFields", self._deal_fields),
            ("GET", r"/api/v2/organizations", self._organizations),
            ("GET", r"/api/v2/organizationFields", self._organization_fields),
            ("GET", r"/api/v2/pipelines", self._pipelines),
            ("GET", r"/api/v2/stages", self._stages),
            ("GET", r"/api/v1/users", self._users),
            ("GET", r"/api/v1/legacyTeams", self._teams),
            ("GET", r"/api/v1/goals/find", self._goals),
            ("GET", r"/api/v1/currencies", self._currencies),
            ("GET", r"/api/v1/deals/(?P<id>[0-9]+)/changelog", self._changelog),
        ):
            self.route(method, path, self._guarded(handler))

    # -- building the company ----------------------------------------------------------

    def _build(self, tables: Mapping[str, Any]) -> None:
        unknown = set(tables) - set(ENTITIES)
        if unknown:
            raise ValueError(
                f"serve_crm: unknown entities {sorted(unknown)}; "
                f"the files contract has {sorted(ENTITIES)}"
            )
        deals = as_table(tables.get("deals"), ENTITIES["deals"].schema)
        if deals is None:
            raise ValueError("serve_crm needs at least a 'deals' table")
        history, accounts, owners = (
            as_table(tables.get(name), ENTITIES[name].schema) or ENTITIES[name].schema.empty_table()
            for name in ("stage_history", "accounts", "owners")
        )
        stages = as_table(tables.get("stages"), ENTITIES["stages"].schema)

        # users and their teams
        self.user_ids: dict[str, int] = {}
        self.users: list[dict[str, Any]] = []
        team_members: dict[str, list[int]] = {}
        for i, (oid, name, email, team) in enumerate(
            zip(
                owners["owner_id"].to_pylist(),
                column_or_nulls(owners, "name", pa.string()).to_pylist(),
                column_or_nulls(owners, "email", pa.string()).to_pylist(),
                column_or_nulls(owners, "team", pa.string()).to_pylist(),
                strict=True,
            ),
            start=1,
        ):
            self.user_ids[oid] = i
            self.users.append(
                {
                    "id": i,
                    "name": name,
                    "default_currency": "EUR",
                    "locale": "en_US",
                    "lang": 1,
                    "email": email,
                    "phone": None,
                    "activated": True,
                    "last_login": "2026-01-01 08:00:00",
                    "created": "2025-01-01 08:00:00",
                    "modified": "2025-01-01 08:00:00",
                    "has_created_company": i == ACCOUNT_OWNER_USER,
                    "access": [
                        {"app": "sales", "admin": i == ACCOUNT_OWNER_USER, "permission_set_id": "x"}
                    ],
                    "active_flag": True,
                    "timezone_name": "Europe/Paris",
                    "timezone_offset": "+01:00",
                    "role_id": 1,
                    "icon_url": None,
                    "is_you": i == ACCOUNT_OWNER_USER,
                    "is_deleted": False,
                    # v1 answers 1/0 here on older accounts
                    "is_admin": 1 if i == ACCOUNT_OWNER_USER else 0,
                }
            )
            if team:
                team_members.setdefault(team, []).append(i)
        self.teams = [
            {
                "id": tid,
                "name": name,
                "description": f"{name} team",
                "owner_id": ACCOUNT_OWNER_USER,
                "manager_id": members[0],
                "users": members,
                "active_flag": True,
                "deleted_flag": False,
                "add_time": "2025-01-01 08:00:00",
                "created_by_user_id": ACCOUNT_OWNER_USER,
            }
            for tid, (name, members) in enumerate(sorted(team_members.items()), start=1)
        ]

        # pipelines and stages: the stages file first, then any pair only deals name
        self.pipeline_ids: dict[str, int] = {}
        self.stage_ids: dict[tuple[str, str], int] = {}
        self.stages: list[dict[str, Any]] = []
        created = "2025-01-01T08:00:00Z"

        def add_stage(pipeline: str, stage: str, probability: Any, order: int | None) -> None:
            if pipeline not in self.pipeline_ids:
                self.pipeline_ids[pipeline] = len(self.pipeline_ids) + 1
            if (pipeline, stage) in self.stage_ids:
                return
            if probability is None:
                percent = 100  # Pipedrive's default for a new stage
            else:
                scaled = Decimal(str(probability)) * 100
                if scaled != scaled.to_integral_value():
                    raise ValueError(
                        f"stage {pipeline!r}/{stage!r}: probability {probability} is not a whole "
                        "percent, and Pipedrive keeps deal_probability as an integer"
                    )
                percent = int(scaled)
            sid = len(self.stages) + 1
            self.stage_ids[(pipeline, stage)] = sid
            same = [s for s in self.stages if s["pipeline_id"] == self.pipeline_ids[pipeline]]
            self.stages.append(
                {
                    "id": sid,
                    "order_nr": order if order is not None else len(same) + 1,
                    "name": stage,
                    "is_deleted": False,
                    "deal_probability": percent,
                    "pipeline_id": self.pipeline_ids[pipeline],
                    "is_deal_rot_enabled": False,
                    "days_to_rotten": None,
                    "add_time": created,
                    "update_time": created,
                }
            )

        if stages is not None:
            for pipeline, stage, probability, order in zip(
                stages["pipeline"].to_pylist(),
                stages["stage"].to_pylist(),
                stages["probability"].to_pylist(),
                stages["display_order"].to_pylist(),
                strict=True,
            ):
                add_stage(pipeline, stage, probability, order)
        n = deals.num_rows
        deal_keys = deals["deal_id"].combine_chunks()
        hist_index = _index_in(history["deal_id"], deal_keys, "stage_history", "deal_id", "deals")
        hist_pipeline = pc.take(deals["pipeline"], hist_index)
        # every (pipeline, stage) pair, by a vectorised key; then ids by the same key
        for table_pipeline, table_stage in (
            (deals["pipeline"], deals["stage"]),
            (hist_pipeline, history["stage"]),
        ):
            pairs = pa.table({"p": table_pipeline, "s": table_stage}).group_by(["p", "s"])
            for pair in pairs.aggregate([]).to_pylist():
                add_stage(pair["p"], pair["s"], None, None)
        stage_keys = pa.array([f"{p}\x1f{s}" for p, s in self.stage_ids], pa.string())
        stage_values = np.array(list(self.stage_ids.values()), dtype=np.int64)

        def stage_of(pipeline: Any, stage: Any) -> np.ndarray:
            keys = pc.binary_join_element_wise(pipeline, stage, "\x1f")
            return stage_values[pc.index_in(keys, value_set=stage_keys).to_numpy()]

        self.pipelines = [
            {
                "id": pid,
                "name": name,
                "order_nr": pid,
                "is_deleted": False,
                "is_deal_probability_enabled": True,
                "add_time": created,
                "update_time": created,
            }
            for name, pid in self.pipeline_ids.items()
        ]
        pipeline_keys = pa.array(list(self.pipeline_ids), pa.string())
        pipeline_values = np.array(list(self.pipeline_ids.values()), dtype=np.int64)

        # organizations, columnar; segment / region / industry as single-option fields
        m = accounts.num_rows
        self._account_keys = accounts["account_id"].combine_chunks()
        self.org_options: dict[str, dict[str, int]] = {}
        self._o_custom: dict[str, np.ndarray] = {}
        for label, column in (
            ("Segment", "segment"),
            ("Region", "region"),
            ("Industry", "industry"),
        ):
            values = (
                accounts[column].combine_chunks()
                if column in accounts.column_names
                else pa.nulls(m, pa.string())
            )
            encoded = pc.dictionary_encode(values)
            self.org_options[label] = {
                v: i + 1 for i, v in enumerate(encoded.dictionary.to_pylist())
            }
            self._o_custom[field_key(f"org:{label}")] = _ids(encoded.indices, m)
        self._o_name = column_or_nulls(accounts, "name", pa.string()).to_pylist()
        self._o_add = epoch(
            accounts["created_at"]
            if "created_at" in accounts.column_names
            else pa.nulls(m, TIMESTAMP_TYPE),
            "us",
            NULL,
        )
        self._o_update = np.where(self._o_add == NULL, 0, self._o_add)
        self._o_deleted = np.zeros(m, dtype=bool)
        self._o_order: np.ndarray | None = None

        # deals, columnar (index i is the deal with native id i + 1)
        status = deals["status"].combine_chunks()
        self._d_title = deal_keys.to_pylist()
        self._d_owner = _ids(
            _index_in(
                deals["owner_id"],
                owners["owner_id"].combine_chunks(),
                "deals",
                "owner_id",
                "owners",
            ),
            n,
        )
        self._d_org = _ids(
            _index_in(deals["account_id"], self._account_keys, "deals", "account_id", "accounts"), n
        )
        self._d_pipeline = pipeline_values[
            pc.index_in(deals["pipeline"], value_set=pipeline_keys).to_numpy()
        ]
        self._d_stage = stage_of(deals["pipeline"], deals["stage"])
        amounts = pc.cast(deals["amount"], pa.float64()).to_numpy(zero_copy_only=False)
        self._d_value = np.nan_to_num(amounts, nan=0.0)  # Pipedrive's value is never empty
        self._d_currency = deals["currency"].to_pylist()
        self._d_status = np.array([STATUS_CODES[s] for s in status.to_pylist()], dtype=np.int8)
        self._d_add = epoch(deals["created_at"], "us", NULL)
        self._d_close = epoch(deals["closed_at"], "us", NULL)
        self._d_lost_reason = column_or_nulls(deals, "lost_reason", pa.string()).to_pylist()
        self._d_deleted = np.zeros(n, dtype=bool)
        self._d_archived = np.zeros(n, dtype=bool)
        self.deal_type_options = {v: i for i, v in enumerate(DEAL_TYPE_LABELS, start=1)}
        if "deal_type" in deals.column_names:
            type_keys = pa.array(list(self.deal_type_options), pa.string())
            self._d_deal_type = _ids(pc.index_in(deals["deal_type"], value_set=type_keys), n)
        else:
            self._d_deal_type = np.zeros(n, dtype=np.int64)
        self._d_contract_start = _dates(deals, "contract_start", n)
        self._d_contract_end = _dates(deals, "contract_end", n)
        mrr = deals["mrr"] if "mrr" in deals.column_names else pa.nulls(n, pa.float64())
        self._d_mrr = pc.cast(mrr, pa.float64()).to_numpy(zero_copy_only=False)

        # stage history: the first entry is the stage at creation, the rest are moves;
        # sorted by (deal, time) with per-deal offsets, plus moves made later in tests
        at = epoch(history["entered_at"], "us", NULL)
        order = np.lexsort((at, hist_index.to_numpy(zero_copy_only=False)))
        self._h_deal = hist_index.to_numpy(zero_copy_only=False)[order]
        self._h_at = at[order]
        self._h_stage = stage_of(hist_pipeline, history["stage"])[order]
        self._h_offsets = np.searchsorted(self._h_deal, np.arange(n + 1), "left")
        self._h_extra: dict[int, list[tuple[int, int]]] = {}
        counts = np.diff(self._h_offsets)
        last = self._h_offsets[1:] - 1
        has_move = counts > 1
        if len(self._h_at):
            moved_at = self._h_at[np.where(has_move, last, 0)]
            self._d_stage_change = np.where(has_move, moved_at, NULL)
        else:
            self._d_stage_change = np.full(n, NULL, dtype=np.int64)
        if "updated_at" in deals.column_names:
            updated = epoch(deals["updated_at"], "us", NULL)
        else:
            updated = np.full(n, NULL, dtype=np.int64)
        latest = np.maximum(np.maximum(self._d_add, self._d_close), self._d_stage_change)
        self._d_update = np.where(updated == NULL, latest, updated)
        self._deal_ids: dict[str, int] | None = None
        self._index_deals()

    def _index_deals(self) -> None:
        """Sort order (update_time, id) for keyset paging."""
        self._id = np.arange(1, len(self._d_update) + 1, dtype=np.int64)
        self._order = np.lexsort((self._id, self._d_update))
        self._ut_sorted = self._d_update[self._order]
        self._id_sorted = self._id[self._order]

    # -- the company's clock and changes made in it (tests) ---------------------------------

    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    def native_deal_id(self, deal_id: str) -> int:
        """The id Pipedrive gives the deal `deal_id` of the files contract (its title)."""
        if self._deal_ids is None:
            self._deal_ids = {d: i + 1 for i, d in enumerate(self._d_title)}
        return self._deal_ids[deal_id]

    def _deal_index(self, deal_id: str | int) -> int:
        native = deal_id if isinstance(deal_id, int) else self.native_deal_id(deal_id)
        return native - 1

    def _touch(self, i: int, at: datetime | None) -> int:
        moment = epoch_of(at or self.now(), "us")
        if moment <= self._d_update[i]:
            moment = int(self._d_update[i]) + 1_000_000
        self._d_update[i] = moment
        return moment

    def modify_deal(self, deal_id: str | int, at: datetime | None = None, **changes: Any) -> None:
        """Change a deal as a user would: `amount`, `stage` (a move, logged), `status`."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            moment = self._touch(i, at)
            for name, value in changes.items():
                if name == "amount":
                    self._d_value[i] = 0.0 if value is None else float(value)
                elif name == "stage":
                    pipeline = next(
                        p for p, pid in self.pipeline_ids.items() if pid == self._d_pipeline[i]
                    )
                    sid = self.stage_ids[(pipeline, value)]
                    self._d_stage[i] = sid
                    self._d_stage_change[i] = moment
                    self._h_extra.setdefault(i, []).append((moment, sid))
                elif name == "status":
                    self._d_status[i] = STATUS_CODES[value]
                    self._d_close[i] = moment if value in ("won", "lost") else NULL
                else:
                    raise ValueError(f"modify_deal: cannot change {name!r} (amount, stage, status)")
            self._index_deals()

    def delete_deal(self, deal_id: str | int, at: datetime | None = None) -> None:
        """Delete a deal: listed with status=deleted for 30 days, then not at all."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            self._touch(i, at)
            self._d_status[i] = STATUS_CODES["deleted"]
            self._d_deleted[i] = True
            self._index_deals()

    def archive_deal(self, deal_id: str | int, at: datetime | None = None) -> None:
        """Archive a deal: it moves from /deals to /deals/archived, otherwise unchanged."""
        with self._data_lock:
            i = self._deal_index(deal_id)
            self._touch(i, at)
            self._d_archived[i] = True
            self._index_deals()

    def delete_organization(self, account_id: str) -> None:
        """Pipedrive's v2 lists no deleted organization: it simply disappears."""
        with self._data_lock:
            index = self._account_keys.to_pylist().index(account_id)
            self._o_deleted[index] = True

    # -- HTTP plumbing --------------------------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return pipedrive_error(404, f"Unknown method {request.method} {request.path}")

    def fault_response(self) -> Response:
        return pipedrive_error(500, "Internal server error")

    def _rate_headers(self) -> tuple[dict[str, str], bool]:
        allowed, remaining, reset = self._window.take()
        return (
            {
                "x-ratelimit-limit": str(self._window.maximum),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-reset": str(reset),
            },
            not allowed,
        )

    def _guarded(self, handler: Any) -> Any:
        def guarded(request: Request) -> Response:
            headers, over = self._rate_headers()
            if over:
                return pipedrive_error(
                    429,
                    "Request over limit",
                    {**headers, "Retry-After": headers["x-ratelimit-reset"]},
                )
            if "api_token" in request.query or request.headers.get("x-api-token") != self.token:
                # the v2 API takes the token in the x-api-token header only
                return pipedrive_error(401, "unauthorized access", headers)
            try:
                response = handler(request)
            except _BadRequest as exc:
                return pipedrive_error(400, str(exc), headers)
            response.headers.update(headers)
            return response

        return guarded

    @staticmethod
    def _limit(request: Request) -> int:
        text = request.arg("limit", "100") or "100"
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise _BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}")
        return int(text)

    @staticmethod
    def _ok(
        data: Any, next_cursor: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> Response:
        body: dict[str, Any] = {"success": True, "data": data}
        if next_cursor is not None or extra is not None:
            body["additional_data"] = {**(extra or {}), "next_cursor": next_cursor}
        return Response(200, orjson.dumps(body))

    def _offset_page(self, items: list[Any], request: Request) -> Response:
        limit = self._limit(request)
        cursor = request.arg("cursor")
        try:
            start = int(_decode_cursor(cursor)[0]) if cursor else 0
        except (ValueError, IndexError, TypeError):
            raise _BadRequest("Invalid cursor") from None
        page = items[start : start + limit]
        more = start + limit < len(items)
        return self._ok(page, _encode_cursor(start + limit) if more else None)

    # -- deals ----------------------------------------------------------------------------

    def _deals(self, request: Request) -> Response:
        return self._deal_list(request, archived=False)

    def _archived_deals(self, request: Request) -> Response:
        return self._deal_list(request, archived=True)

    def _deal_list(self, request: Request, archived: bool) -> Response:
        limit = self._limit(request)
        status_text = request.arg("status") or "open,won,lost"
        wanted = {s.strip() for s in status_text.split(",") if s.strip()}
        if not wanted <= set(STATUS_CODES):
            raise _BadRequest(f"Invalid status: {status_text}")
        try:
            since = (
                _parse_rfc3339(request.arg("updated_since"))
                if request.arg("updated_since")
                else None
            )
            until = (
                _parse_rfc3339(request.arg("updated_until"))
                if request.arg("updated_until")
                else None
            )
        except ValueError:
            raise _BadRequest(
                "updated_since and updated_until must be RFC 3339 date-times"
            ) from None
        sort_by = request.arg("sort_by", "id")
        direction = request.arg("sort_direction", "asc")
        if sort_by not in ("id", "update_time", "add_time") or direction not in ("asc", "desc"):
            raise _BadRequest(
                "sort_by must be id, update_time or add_time; sort_direction asc or desc"
            )
        keys = request.arg("custom_fields")
        only_keys = None if keys is None else {k for k in keys.split(",") if k}
        if only_keys is not None and len(only_keys) > 15:
            raise _BadRequest("A maximum of 15 custom field keys is allowed")
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
                        cut, cid = (int(x) for x in _decode_cursor(cursor))
                    except (ValueError, TypeError):
                        raise _BadRequest("Invalid cursor") from None
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
                    _encode_cursor(int(self._d_update[rest[0]]), int(rest[0]) + 1)
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
                    offset = int(_decode_cursor(cursor)[0]) if cursor else 0
                except (ValueError, IndexError, TypeError):
                    raise _BadRequest("Invalid cursor") from None
                page = order[offset : offset + limit]
                next_cursor = (
                    _encode_cursor(offset + limit) if offset + limit < len(order) else None
                )
            records = self._deal_records(page, only_keys)
        return self._ok(records, next_cursor)

    def _deal_records(self, rows: np.ndarray, only_keys: set[str] | None) -> list[dict[str, Any]]:
        """The v2 deal objects of these rows, their columns formatted at once."""
        status = self._d_status[rows]
        close = self._d_close[rows]
        won = np.where(status == STATUS_CODES["won"], close, NULL)
        lost = np.where(status == STATUS_CODES["lost"], close, NULL)
        ids = (rows + 1).tolist()
        owner = _nullable_ids(self._d_owner[rows])
        org = _nullable_ids(self._d_org[rows])
        pipeline = self._d_pipeline[rows].tolist()
        stage = self._d_stage[rows].tolist()
        value = self._d_value[rows].tolist()
        add = _rfc3339_many(self._d_add[rows])
        update = _rfc3339_many(self._d_update[rows])
        stage_change = _rfc3339_many(self._d_stage_change[rows])
        close_text = _rfc3339_many(close)
        won_text = _rfc3339_many(won)
        lost_text = _rfc3339_many(lost)
        deleted = self._d_deleted[rows].tolist()
        archived = self._d_archived[rows].tolist()
        deal_type = _nullable_ids(self._d_deal_type[rows])
        mrr = self._d_mrr[rows].tolist()
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
                    "channel": None,
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
            owner = _nullable_ids(self._d_owner[i : i + 1])[0]
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
        return self._offset_page(entries, request)

    @staticmethod
    def _change(owner: Any, key: str, old: Any, new: Any, at: int) -> dict[str, Any]:
        return {
            "field_key": key,
            "old_value": None if old is None else str(old),
            "new_value": None if new is None else str(new),
            "actor_user_id": owner,
            "time": _v1_time(at),
            "change_source": "app",
            "change_source_user_agent": None,
            "is_bulk_update_flag": False,
            "_at": at,
        }

    # -- fields -------------------------------------------------------------------------

    @staticmethod
    def _builtin(code: str, name: str, field_type: str) -> dict[str, Any]:
        return {
            "field_name": name,
            "field_code": code,
            "description": None,
            "field_type": field_type,
            "options": None,
            "subfields": None,
            "is_custom_field": False,
            "is_optional_response_field": False,
        }

    @staticmethod
    def _custom(
        entity: str, name: str, field_type: str, options: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        return {
            "field_name": name,
            "field_code": field_key(f"{entity}:{name}"),
            "description": None,
            "field_type": field_type,
            "options": None
            if options is None
            else [{"id": i, "label": label} for label, i in options.items()],
            "subfields": [
                {"field_code": "currency", "field_name": "Currency", "field_type": "varchar"}
            ]
            if field_type == "monetary"
            else None,
            "is_custom_field": True,
            "is_optional_response_field": False,
        }

    def _deal_fields(self, request: Request) -> Response:
        fields = [
            self._builtin("title", "Title", "varchar"),
            self._builtin("value", "Value", "monetary"),
            self._builtin("stage_id", "Stage", "stage"),
            self._builtin("status", "Status", "status"),
            self._builtin("mrr", "MRR (products)", "double"),
            self._custom(
                "deal",
                "Deal type",
                "enum",
                {DEAL_TYPE_LABELS[v]: i for v, i in self.deal_type_options.items()},
            ),
            self._custom("deal", "Contract start", "date"),
            self._custom("deal", "Contract end", "date"),
            self._custom("deal", "MRR", "monetary"),
            self._custom("deal", "Next step", "varchar"),
        ]
        return self._offset_page(fields, request)

    def _organization_fields(self, request: Request) -> Response:
        fields = [
            self._builtin("name", "Name", "varchar"),
            self._builtin("owner_id", "Owner", "user"),
            self._builtin("address", "Address", "address"),
        ] + [
            self._custom("org", label, "enum", self.org_options[label])
            for label in ("Segment", "Region", "Industry")
        ]
        return self._offset_page(fields, request)

    # -- organizations, pipelines, stages, users, teams, goals, currencies ----------------

    def _organizations(self, request: Request) -> Response:
        limit = self._limit(request)
        try:
            since = (
                _parse_rfc3339(request.arg("updated_since"))
                if request.arg("updated_since")
                else None
            )
        except ValueError:
            raise _BadRequest("updated_since must be an RFC 3339 date-time") from None
        keys = request.arg("custom_fields")
        only_keys = None if keys is None else {k for k in keys.split(",") if k}
        cursor = request.arg("cursor")
        with self._data_lock:
            if self._o_order is None:
                ids = np.arange(1, len(self._o_update) + 1, dtype=np.int64)
                self._o_order = np.lexsort((ids, self._o_update))
            order = self._o_order
            updates = self._o_update[order]
            start = 0 if since is None else int(np.searchsorted(updates, since, "left"))
            if cursor:
                try:
                    cut, cid = (int(x) for x in _decode_cursor(cursor))
                except (ValueError, TypeError):
                    raise _BadRequest("Invalid cursor") from None
                lo = int(np.searchsorted(updates, cut, "left"))
                hi = int(np.searchsorted(updates, cut, "right"))
                start = max(start, lo + int(np.searchsorted(order[lo:hi] + 1, cid, "left")))
            candidates = order[start:]
            alive = candidates[~self._o_deleted[candidates]]
            page, rest = alive[:limit], alive[limit : limit + 1]
            add = _rfc3339_many(self._o_add[page])
            update = _rfc3339_many(self._o_update[page])
            custom_ids = {
                key: _nullable_ids(values[page])
                for key, values in self._o_custom.items()
                if only_keys is None or key in only_keys
            }
            records = [
                {
                    "id": i + 1,
                    "name": self._o_name[i],
                    "owner_id": ACCOUNT_OWNER_USER,
                    "add_time": add[n],
                    "update_time": update[n],
                    "is_deleted": False,
                    "visible_to": 3,
                    "label_ids": [],
                    "address": None,
                    "custom_fields": {key: values[n] for key, values in custom_ids.items()},
                }
                for n, i in enumerate(page.tolist())
            ]
            next_cursor = (
                _encode_cursor(int(self._o_update[rest[0]]), int(rest[0]) + 1)
                if len(rest)
                else None
            )
        return self._ok(records, next_cursor)

    def _pipelines(self, request: Request) -> Response:
        return self._offset_page(self.pipelines, request)

    def _stages(self, request: Request) -> Response:
        stages = self.stages
        pipeline = request.arg("pipeline_id")
        if pipeline:
            stages = [s for s in stages if str(s["pipeline_id"]) == pipeline]
        return self._offset_page(stages, request)

    def _users(self, request: Request) -> Response:
        return self._ok(self.users)

    def _teams(self, request: Request) -> Response:
        return self._ok(self.teams)

    def _currencies(self, request: Request) -> Response:
        codes = list(CURRENCY_CODES) + sorted(
            {c for c in self._d_currency if c and c not in CURRENCY_CODES}
        )
        return self._ok(
            [
                {
                    "id": i,
                    "code": code,
                    "name": code,
                    "decimal_points": 2,
                    "symbol": code,
                    "active_flag": True,
                    "is_custom_flag": False,
                }
                for i, code in enumerate(codes, start=1)
            ]
        )

    def currency_id(self, code: str) -> int:
        codes = list(CURRENCY_CODES) + sorted(
            {c for c in self._d_currency if c and c not in CURRENCY_CODES}
        )
        return codes.index(code) + 1

    def _goals(self, request: Request) -> Response:
        type_name = request.arg("type.name")
        active = request.arg("is_active", "true")
        goals = [g for g in self.goals if str(bool(g.get("is_active", True))).lower() == active]
        if type_name:
            goals = [g for g in goals if (g.get("type") or {}).get("name") == type_name]
        else:
            goals = [g for g in goals if g.get("owner_id") == ACCOUNT_OWNER_USER]
        return self._ok(
            {"goals": goals},
            extra={
                "pagination": {"start": 0, "limit": len(goals), "more_items_in_collection": False}
            },
        )


class _BadRequest(ValueError):
    pass


def goal(
    goal_id: str,
    title: str,
    type_name: str,
    tracking_metric: str,
    target: float,
    start: date,
    end: date | None,
    *,
    interval: str = "monthly",
    assignee_type: str = "company",
    assignee_id: int = ACCOUNT_OWNER_USER,
    pipeline_ids: Sequence[int] | None = None,
    currency_id: int | None = None,
    is_active: bool = True,
) -> dict[str, Any]:
    """A goal in the shape GET /v1/goals/find returns."""
    return {
        "id": goal_id,
        "owner_id": ACCOUNT_OWNER_USER,
        "title": title,
        "type": {
            "name": type_name,
            "params": {"pipeline_id": None if pipeline_ids is None else list(pipeline_ids)},
        },
        "assignee": {"id": assignee_id, "type": assignee_type},
        "interval": interval,
        "duration": {"start": start.isoformat(), "end": None if end is None else end.isoformat()},
        "expected_outcome": {
            "target": target,
            "tracking_metric": tracking_metric,
            **({"currency_id": currency_id} if currency_id is not None else {}),
        },
        "is_active": is_active,
        "report_ids": [],
    }


def serve_crm(tables: Mapping[str, Any], **options: Any) -> FakePipedrive:
    """A fake Pipedrive serving these files-contract tables (use it as a context manager)."""
    return FakePipedrive(tables, **options)
