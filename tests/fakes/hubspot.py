"""A fake HubSpot portal on 127.0.0.1 that serves a CRM given as files-contract tables.

    server = serve_crm({"deals": ..., "stage_history": ..., "accounts": ..., "owners": ...,
                        "stages": ..., "fx_rates": ..., "goal_targets": ...})
    with server:                       # a real HTTP server on a free port
        source = hubspot_source(api_key=server.token, base_url=server.url)

It speaks the shapes of HubSpot's CRM v3 API (developers.hubspot.com, API reference):

- `GET /crm/v3/objects/{deals,companies,goal_targets}` with `limit` (at most 100, 50 with
  `propertiesWithHistory`), `after` (the next id), `properties`, `propertiesWithHistory`,
  `associations`, `archived` -> `{"results": [{"id", "properties", "propertiesWithHistory",
  "associations", "createdAt", "updatedAt", "archived", "archivedAt"}], "paging"}`.
- `POST .../search` with `filterGroups` (EQ, NEQ, GT, GTE, LT, LTE, BETWEEN, IN,
  HAS_PROPERTY, NOT_HAS_PROPERTY), `sorts`, `properties`, `limit` (<= 200), `after` (an
  offset; 400 past 10,000 results) -> `{"total", "results", "paging"}`; no property
  history, no associations, no archived records.
- `POST .../batch/read` (<= 100 inputs, 50 with history; 207 with `errors` for unknown ids),
  `POST /crm/v4/associations/deals/companies/batch/read` (primary = typeId 5).
- `GET /crm/v3/owners` (teams with `primary`), `GET /crm/v3/pipelines/deals` (stage
  `metadata.probability` and `metadata.isClosed` as strings), `GET /settings/v3/currencies/
  exchange-rates`, `GET /settings/v3/currencies/company-currency`.
- Bearer token in `Authorization` (401 INVALID_AUTHENTICATION otherwise), optional scopes
  (403 MISSING_SCOPES), `X-HubSpot-RateLimit-*` headers on every answer and, when
  `rate_limit=(max, interval_ms)` is given, a real window answering 429 RATE_LIMIT with
  `Retry-After`. Property values are strings, as HubSpot sends them.

Records are kept as Arrow columns and pages are built on demand from slices of them, so
`bench/` can serve a million deals. Tests change the CRM between runs with `modify`,
`archive` and `add_deal`, and inject faults with `server.faults` (see `rate_limit_fault`,
`error_fault`, `fault`; each matches on path, method and query parameters).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.hubspot import settings as hs
from tests.fakes.arrow import as_table, column_or_nulls, epoch, iso_texts, parse_iso
from tests.fakes.ratelimit import RateWindow
from tests.fakes.server import FakeServer, Fault, Request, Response

DEFAULT_TOKEN = "pat-eu1-fake-0000-token-for-tests"

# The scopes each endpoint needs, as HubSpot names them.
SCOPES = {
    "deals": "crm.objects.deals.read",
    "companies": "crm.objects.companies.read",
    "goal_targets": "crm.objects.goals.read",
    "owners": "crm.objects.owners.read",
    "pipelines": "crm.objects.deals.read",
    "currencies": "settings.currencies.read",
}
ALL_SCOPES = frozenset(SCOPES.values())

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


def _stamp_ms(table: pa.Table, name: str) -> np.ndarray:
    """A timestamp column (nulls where the table has none) as epoch ms, -1 where null."""
    return epoch(column_or_nulls(table, name, pa.timestamp("us", tz="UTC")), "ms", -1)


def _text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _date_text(values: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(values, pa.timestamp("s")), format="%Y-%m-%d")


def _value_ms(value: Any) -> int:
    """A search filter value (epoch ms or ISO 8601) as epoch milliseconds."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return parse_iso(text, "ms")


def _error(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response(status, body)


def rate_limit_body(policy: str = "SECONDLY") -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": "publicapi:private-app:fake",
    }


def _json_strings(values: pa.Array) -> pa.Array:
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


def _history_entries(stage_ids: pa.Array, entered_ms: np.ndarray) -> pa.Array:
    """`dealstage` versions as HubSpot's propertiesWithHistory entries (JSON text)."""
    return pc.binary_join_element_wise(
        '{"value":"',
        stage_ids,
        '","timestamp":"',
        pa.array(iso_texts(entered_ms, "ms"), pa.string()),
        '","sourceType":"CRM_UI","sourceId":"userId:1"}',
        "",
    )


def _company_links(primary: np.ndarray, other: np.ndarray) -> pa.Array:
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


_RATE_LIMIT_HEADERS = {
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Max": "190",
    "X-HubSpot-RateLimit-Remaining": "0",
}


def _fault(
    path_pattern: str,
    kind: str,
    response: Response | None,
    *,
    nth: int,
    times: int,
    query: Mapping[str, str] | None,
    method: str | None,
) -> Fault:
    return Fault(
        path_pattern,
        kind=kind,
        response=response,
        nth=nth,
        times=times,
        method=method or None,
        query=dict(query) if query else None,
    )


def rate_limit_fault(
    path_pattern: str,
    *,
    nth: int = 1,
    times: int = 1,
    retry_after: int = 1,
    policy: str = "SECONDLY",
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """HubSpot's 429: a RATE_LIMIT body, `Retry-After` and rate-limit headers."""
    headers = {"Retry-After": str(retry_after), **_RATE_LIMIT_HEADERS}
    response = Response(429, rate_limit_body(policy), headers)
    return _fault(
        path_pattern, "status", response, nth=nth, times=times, query=query, method=method
    )


def error_fault(
    path_pattern: str,
    status: int = 500,
    *,
    nth: int = 1,
    times: int = 1,
    retry_after: int | None = None,
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """A HubSpot error answer (500 INTERNAL_ERROR, 503 with optional Retry-After, ...)."""
    response = _error(status, "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR", "fault")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return _fault(
        path_pattern, "status", response, nth=nth, times=times, query=query, method=method
    )


def fault(
    path_pattern: str,
    kind: str,
    *,
    nth: int = 1,
    times: int = 1,
    query: Mapping[str, str] | None = None,
    method: str | None = None,
) -> Fault:
    """A dropped connection ("drop") or a truncated JSON page ("malformed")."""
    return _fault(path_pattern, kind, None, nth=nth, times=times, query=query, method=method)


class _Objects:
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
            return _json_strings(pa.array(self.ids[rows]).cast(pa.string()))
        if prop in ("hs_lastmodifieddate", "createdate"):
            return _json_strings(pa.array(self.values(prop, rows), pa.string()))
        if prop not in self.props:
            return None  # HubSpot leaves out properties the portal does not have
        if prop not in self._quoted:
            self._quoted[prop] = _json_strings(self.props[prop])
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


class FakeHubSpot(FakeServer):
    """A HubSpot portal serving `tables` (files contract); see the module docstring."""

    def __init__(
        self,
        tables: Mapping[str, pa.Table | Iterable[pa.Table] | None],
        *,
        token: str = DEFAULT_TOKEN,
        company_currency: str = "EUR",
        scopes: Iterable[str] | None = None,
        rate_limit: tuple[int, int] | None = None,
        search_result_limit: int = hs.SEARCH_RESULT_LIMIT,
        property_names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.company_currency = company_currency
        self.scopes = frozenset(scopes) if scopes is not None else ALL_SCOPES
        self.search_result_limit = search_result_limit
        self.names = {
            "segment": hs.DEFAULT_SEGMENT_PROPERTY,
            "region": hs.DEFAULT_REGION_PROPERTY,
            "industry": hs.DEFAULT_INDUSTRY_PROPERTY,
            "deal_type": hs.DEFAULT_DEAL_TYPE_PROPERTY,
            "contract_start": hs.DEFAULT_CONTRACT_START_PROPERTY,
            "contract_end": hs.DEFAULT_CONTRACT_END_PROPERTY,
            "mrr": hs.DEFAULT_MRR_PROPERTY,
            "lost_reason": hs.DEFAULT_LOST_REASON_PROPERTY,
            **(property_names or {}),
        }
        self._window = (
            RateWindow(rate_limit[0], rate_limit[1] / 1000, count_refused=False)
            if rate_limit
            else None
        )
        self._window_ms = rate_limit[1] if rate_limit else 0
        self._state = threading.RLock()
        self.rate_limited = 0  # 429s the window answered
        self._build(tables)
        self._routes()

    # --- building the portal from the files contract -------------------------------

    def _build(self, tables: Mapping[str, pa.Table | Iterable[pa.Table] | None]) -> None:
        deals = as_table(tables.get("deals"))
        if deals is None:
            raise ValueError("serve_crm needs at least a `deals` table (files contract)")
        history = as_table(tables.get("stage_history"))
        accounts = as_table(tables.get("accounts"))
        owners = as_table(tables.get("owners"))
        stages = as_table(tables.get("stages"))
        fx = as_table(tables.get("fx_rates"))
        goals = as_table(tables.get("goal_targets"))

        self._build_owners(owners)
        self._build_pipelines(stages, deals)
        self._build_companies(accounts)
        self._build_deals(deals, history)
        self._build_goals(goals)
        self._build_rates(fx)
        stamps = [self.deals.modified_ms, self.companies.modified_ms, self.goals.modified_ms]
        latest = max((int(s.max()) for s in stamps if len(s)), default=0)
        self.now_ms = max(latest, 0) + 60_000

    def _build_owners(self, owners: pa.Table | None) -> None:
        rows = owners.to_pylist() if owners is not None else []
        team_names = sorted({r.get("team") for r in rows if r.get("team")})
        self.team_ids = {name: str(TEAM_ID_BASE + i) for i, name in enumerate(team_names)}
        self.owner_ids: dict[str, str] = {}
        self.owner_user_ids: dict[str, int] = {}
        self.owners: list[dict[str, Any]] = []
        created = "2020-01-06T09:00:00.000Z"
        for i, row in enumerate(rows):
            native = str(OWNER_ID_BASE + i)
            self.owner_ids[str(row["owner_id"])] = native
            self.owner_user_ids[str(row["owner_id"])] = USER_ID_BASE + i
            name = (row.get("name") or "").strip()
            first, _, last = name.partition(" ")
            team = row.get("team")
            self.owners.append(
                {
                    "id": native,
                    "email": row.get("email"),
                    "type": "PERSON",
                    "firstName": first,
                    "lastName": last,
                    "userId": USER_ID_BASE + i,
                    "userIdIncludingInactive": USER_ID_BASE + i,
                    "createdAt": created,
                    "updatedAt": created,
                    "archived": False,
                    "teams": (
                        [{"id": self.team_ids[team], "name": team, "primary": True}] if team else []
                    ),
                }
            )

    def _build_pipelines(self, stages: pa.Table | None, deals: pa.Table) -> None:
        pairs: list[tuple[str, str, Decimal | None, int | None]] = []
        if stages is not None:
            for row in stages.sort_by(
                [("pipeline", "ascending"), ("display_order", "ascending")]
            ).to_pylist():
                pairs.append(
                    (row["pipeline"], row["stage"], row["probability"], row["display_order"])
                )
        known = {(p, s) for p, s, _, _ in pairs}
        deal_pairs = pa.table({"p": deals.column("pipeline"), "s": deals.column("stage")})
        for row in deal_pairs.group_by(["p", "s"]).aggregate([]).to_pylist():
            if (row["p"], row["s"]) not in known:
                pairs.append((row["p"], row["s"], None, None))
                known.add((row["p"], row["s"]))
        # a stage is closed when the deals in it are all closed: HubSpot's won/lost stages
        status = pa.table(
            {
                "p": deals.column("pipeline"),
                "s": deals.column("stage"),
                "open": pc.equal(deals.column("status"), "open"),
            }
        )
        open_counts = {
            (r["p"], r["s"]): r["open_sum"]
            for r in status.group_by(["p", "s"]).aggregate([("open", "sum")]).to_pylist()
        }
        self.pipeline_ids: dict[str, str] = {}
        self.stage_ids: dict[tuple[str, str], str] = {}
        self.pipelines: list[dict[str, Any]] = []
        created = "2020-01-06T09:00:00.000Z"
        for label in dict.fromkeys(p for p, _, _, _ in pairs):
            pid = "default" if not self.pipelines else str(PIPELINE_ID_BASE + len(self.pipelines))
            self.pipeline_ids[label] = pid
            stage_list = []
            for n, (p, s, probability, order) in enumerate(x for x in pairs if x[0] == label):
                sid = str(STAGE_ID_BASE + len(self.stage_ids))
                self.stage_ids[(p, s)] = sid
                closed = (p, s) in open_counts and open_counts[(p, s)] == 0
                stage_list.append(
                    {
                        "id": sid,
                        "label": s,
                        "displayOrder": order if order is not None else n,
                        "metadata": {
                            "isClosed": "true" if closed else "false",
                            "probability": str(probability) if probability is not None else "0.0",
                        },
                        "createdAt": created,
                        "updatedAt": created,
                        "archived": False,
                        "writePermissions": "CRUD_ALL",
                    }
                )
            self.pipelines.append(
                {
                    "id": pid,
                    "label": label,
                    "displayOrder": len(self.pipelines),
                    "createdAt": created,
                    "updatedAt": created,
                    "archived": False,
                    "stages": stage_list,
                }
            )

    def _build_companies(self, accounts: pa.Table | None) -> None:
        if accounts is None:
            accounts = pa.table({"account_id": pa.array([], pa.string())})
        n = accounts.num_rows
        ids = COMPANY_ID_BASE + np.arange(n, dtype=np.int64)
        created = _stamp_ms(accounts, "created_at")
        created = np.where(created < 0, 1_577_836_800_000, created)  # 2020-01-01 when unknown
        props = {
            "name": column_or_nulls(accounts, "name", pa.string()),
            self.names["segment"]: column_or_nulls(accounts, "segment", pa.string()),
            self.names["region"]: column_or_nulls(accounts, "region", pa.string()),
            self.names["industry"]: column_or_nulls(accounts, "industry", pa.string()),
        }
        keys = [str(k) for k in accounts.column("account_id").to_pylist()]
        self.companies = _Objects("companies", ids, props, created, created.copy(), keys)

    def _build_deals(self, deals: pa.Table, history: pa.Table | None) -> None:
        n = deals.num_rows
        ids = DEAL_ID_BASE + np.arange(n, dtype=np.int64)
        keys = [str(k) for k in deals.column("deal_id").to_pylist()]
        created = epoch(deals.column("created_at"), "ms", -1)
        closed = _stamp_ms(deals, "closed_at")
        updated = _stamp_ms(deals, "updated_at")
        modified = np.where(updated >= 0, updated, np.maximum(created, closed))
        status = deals.column("status").combine_chunks()
        pipelines = deals.column("pipeline").to_pylist()
        stage_labels = deals.column("stage").to_pylist()
        deal_type = column_or_nulls(deals, "deal_type", pa.string())
        options = pa.array(list(DEAL_TYPE_OPTIONS.values()), pa.string())
        deal_type_option = options.take(
            pc.index_in(deal_type, value_set=pa.array(list(DEAL_TYPE_OPTIONS), pa.string()))
        )
        closed_iso = pa.array(iso_texts(closed, "ms"), pa.string())
        deal_ids = deals.column("deal_id").combine_chunks().cast(pa.string())
        pipeline_labels = deals.column("pipeline").combine_chunks()
        stage_keys = pc.binary_join_element_wise(
            pipeline_labels, deals.column("stage").combine_chunks(), "\x1f"
        )
        known_stages = pa.array([f"{p}\x1f{s}" for p, s in self.stage_ids], pa.string())
        owners = column_or_nulls(deals, "owner_id", pa.string())
        props = {
            "dealname": pc.binary_join_element_wise("Deal ", deal_ids, ""),
            "amount": _text(column_or_nulls(deals, "amount", pa.decimal128(18, 2))),
            "deal_currency_code": _text(deals.column("currency").combine_chunks()),
            "pipeline": pa.array(list(self.pipeline_ids.values()), pa.string()).take(
                pc.index_in(pipeline_labels, value_set=pa.array(list(self.pipeline_ids)))
            ),
            "dealstage": pa.array(list(self.stage_ids.values()), pa.string()).take(
                pc.index_in(stage_keys, value_set=known_stages)
            ),
            "closedate": closed_iso,
            "hubspot_owner_id": pa.array(list(self.owner_ids.values()), pa.string()).take(
                pc.index_in(owners, value_set=pa.array(list(self.owner_ids), pa.string()))
            ),
            "hs_is_closed": pc.if_else(pc.equal(status, "open"), "false", "true"),
            "hs_is_closed_won": pc.if_else(pc.equal(status, "won"), "true", "false"),
            self.names["deal_type"]: deal_type_option,
            self.names["contract_start"]: _date_text(
                column_or_nulls(deals, "contract_start", pa.date32())
            ),
            self.names["contract_end"]: _date_text(
                column_or_nulls(deals, "contract_end", pa.date32())
            ),
            self.names["mrr"]: _text(column_or_nulls(deals, "mrr", pa.decimal128(18, 2))),
            self.names["lost_reason"]: column_or_nulls(deals, "lost_reason", pa.string()),
        }
        self.deals = _Objects("deals", ids, props, created, modified, keys)
        # companies: the primary one and, for every 7th deal, another (unlabeled) one listed
        # before it, as HubSpot portals have deals linked to several companies
        company_rows = pc.index_in(
            column_or_nulls(deals, "account_id", pa.string()),
            value_set=pa.array(list(self.companies.index), pa.string()),
        )
        has_company = pc.is_valid(company_rows).to_numpy(zero_copy_only=False)
        company_row = pc.fill_null(company_rows, 0).to_numpy(zero_copy_only=False)
        company_ids = self.companies.ids
        if len(company_ids):
            self.deals.primary_company = np.where(has_company, company_ids[company_row], -1)
            second = has_company & (np.arange(n) % 7 == 0) & (len(company_ids) > 1)
            other = company_ids[(company_row + 1) % len(company_ids)]
            self.deals.other_company = np.where(second, other, -1)
        self.deals.history_json = self._history(deals, history, pipelines, stage_labels, created)

    def _history(
        self,
        deals: pa.Table,
        history: pa.Table | None,
        pipelines: list[str],
        stage_labels: list[str],
        created: np.ndarray,
    ) -> pa.Array:
        """Each deal's `propertiesWithHistory.dealstage` as JSON text, built with Arrow."""
        n = deals.num_rows
        rows = np.zeros(0, dtype=np.int64)
        entries = pa.array([], pa.string())
        if history is not None and history.num_rows:
            index = pc.index_in(
                history.column("deal_id"), value_set=deals.column("deal_id").combine_chunks()
            )
            known = pc.is_valid(index)
            row = pc.filter(index, known)
            table = pa.table(
                {
                    "row": row,
                    "pipeline": pa.array(pipelines, pa.string()).take(row),
                    "stage": pc.filter(history.column("stage"), known),
                    "entered_ms": pa.array(
                        epoch(pc.filter(history.column("entered_at"), known), "ms", -1)
                    ),
                }
            )
            for pipeline, stage in set(
                zip(
                    table.column("pipeline").to_pylist(),
                    table.column("stage").to_pylist(),
                    strict=True,
                )
            ):
                if (pipeline, stage) not in self.stage_ids:  # HubSpot keeps a removed stage's id
                    self._extra_stage(pipeline, stage)
            ids = pa.table(
                {
                    "pipeline": [p for p, _ in self.stage_ids],
                    "stage": [s for _, s in self.stage_ids],
                    "sid": list(self.stage_ids.values()),
                }
            )
            table = table.join(ids, ["pipeline", "stage"]).sort_by(
                [("row", "ascending"), ("entered_ms", "descending")]
            )
            rows = table.column("row").to_numpy().astype(np.int64)
            entries = _history_entries(
                table.column("sid").combine_chunks(),
                table.column("entered_ms").to_numpy().astype(np.int64),
            )
        # HubSpot always has the value a deal was created with
        missing = np.setdiff1d(np.arange(n), rows)
        if len(missing):
            sids = pa.array(
                [self.stage_ids[(pipelines[r], stage_labels[r])] for r in missing.tolist()],
                pa.string(),
            )
            rows = np.concatenate([rows, missing])
            entries = pa.concat_arrays([entries, _history_entries(sids, created[missing])])
            order = np.argsort(rows, kind="stable")
            rows, entries = rows[order], entries.take(pa.array(order))
        offsets = np.searchsorted(rows, np.arange(n + 1)).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), entries)
        return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")

    def _extra_stage(self, pipeline: str, stage: str) -> str:
        sid = str(STAGE_ID_BASE + len(self.stage_ids))
        self.stage_ids[(pipeline, stage)] = sid
        for p in self.pipelines:
            if p["label"] == pipeline:
                p["stages"].append(
                    {
                        "id": sid,
                        "label": stage,
                        "displayOrder": len(p["stages"]),
                        "metadata": {"isClosed": "false", "probability": "0.0"},
                        "archived": True,
                    }
                )
        return sid

    def _build_goals(self, goals: pa.Table | None) -> None:
        if goals is None:
            goals = pa.table({"goal_id": pa.array([], pa.string())})
        n = goals.num_rows
        ids = GOAL_ID_BASE + np.arange(n, dtype=np.int64)
        owners = column_or_nulls(goals, "owner_id", pa.string()).to_pylist()
        teams = column_or_nulls(goals, "team", pa.string()).to_pylist()
        stamp = np.full(n, 1_704_067_200_000, dtype=np.int64)  # 2024-01-01
        props = {
            "hs_goal_name": column_or_nulls(goals, "name", pa.string()),
            "hs_target_amount": _text(column_or_nulls(goals, "target", pa.decimal128(18, 2))),
            "hs_start_datetime": pa.array(iso_texts(_stamp_ms(goals, "start"), "ms"), pa.string()),
            "hs_end_datetime": pa.array(iso_texts(_stamp_ms(goals, "end"), "ms"), pa.string()),
            "hubspot_owner_id": pa.array(
                [self.owner_ids.get(str(o)) if o else None for o in owners], pa.string()
            ),
            "hs_assignee_user_id": pa.array(
                [
                    str(self.owner_user_ids[str(o)]) if o in self.owner_user_ids else None
                    for o in owners
                ],
                pa.string(),
            ),
            "hs_assignee_team_id": pa.array(
                [self.team_ids.get(t) if t else None for t in teams], pa.string()
            ),
        }
        keys = [str(k) for k in goals.column("goal_id").to_pylist()]
        self.goals = _Objects("goal_targets", ids, props, stamp, stamp.copy(), keys)

    def _build_rates(self, fx: pa.Table | None) -> None:
        self.rates: list[dict[str, Any]] = []
        if fx is None:
            return
        for i, row in enumerate(
            fx.sort_by([("date", "ascending"), ("currency", "ascending")]).to_pylist()
        ):
            day: date = row["date"]
            stamp = f"{day.isoformat()}T00:00:00Z"
            self.rates.append(
                {
                    "id": str(i + 1),
                    "fromCurrencyCode": row["currency"],
                    "toCurrencyCode": self.company_currency,
                    "conversionRate": Decimal(row["rate"]),
                    "effectiveAt": stamp,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "visibleInUI": True,
                }
            )

    # --- changing the CRM between runs ----------------------------------------------

    def _objects(self, object_type: str) -> _Objects:
        return {"deals": self.deals, "companies": self.companies, "goal_targets": self.goals}[
            object_type
        ]

    def tick(self) -> int:
        with self._state:
            self.now_ms += 1000
            return self.now_ms

    def hubspot_id(self, object_type: str, key: str) -> str:
        """The HubSpot id the record `key` (its files-contract id) is served under."""
        objects = self._objects(object_type)
        return str(objects.ids[objects.index[str(key)]])

    def modify(self, object_type: str, key: str, **changes: Any) -> int:
        """Changes a record's properties (HubSpot property names, string values) and stamps
        its modification time; for a deal, `dealstage` also adds a stage-history version.
        Returns the new modification time (epoch ms)."""
        row = self._objects(object_type).index[str(key)]
        values = {
            prop: pa.array([None if value is None else str(value)], pa.string())
            for prop, value in changes.items()
        }
        return int(self.modify_many(object_type, np.array([row]), values)[0])

    def modify_many(
        self,
        object_type: str,
        rows: np.ndarray,
        changes: Mapping[str, pa.Array],
        not_before_ms: int = 0,
    ) -> np.ndarray:
        """`modify` for many records at once: `rows` (ascending) and, per property, one
        string value each. They are stamped a second apart, from `not_before_ms` at the
        earliest; returns the stamps (epoch ms)."""
        with self._state:
            objects = self._objects(object_type)
            self.now_ms = max(self.now_ms, not_before_ms)
            stamps = self.now_ms + 1000 * np.arange(1, len(rows) + 1, dtype=np.int64)
            self.now_ms = int(stamps[-1])
            for prop, values in changes.items():
                objects.set_props(rows, prop, values)
                if prop == "dealstage" and objects.history_json is not None:
                    objects.prepend_histories(rows, _history_entries(values, stamps))
            objects.modified_ms[rows] = stamps
            objects.changed()
            return stamps

    def quote_all(self) -> None:
        """Every property quoted for JSON now: what the first pages would do otherwise, so
        that a timed reader does not pay for the fake's own set-up."""
        with self._state:
            for name in ("deals", "companies", "goal_targets"):
                self._objects(name).quote_all()

    def purge(self, object_type: str, key: str) -> None:
        """Deletes a record for good (a GDPR delete, or 90 days in the recycle bin): it is
        then neither listed nor listed as archived."""
        with self._state:
            objects = self._objects(object_type)
            objects.purged[objects.index[str(key)]] = True
            objects.changed()

    def archive(self, object_type: str, key: str) -> None:
        """Deletes (archives) a record, as HubSpot's delete does."""
        with self._state:
            objects = self._objects(object_type)
            row = objects.index[str(key)]
            objects.archived[row] = True
            objects.archived_ms[row] = self.tick()
            objects.changed()

    def stage_id(self, pipeline: str, stage: str) -> str:
        return self.stage_ids[(pipeline, stage)]

    # --- serving -----------------------------------------------------------------------

    def _routes(self) -> None:
        objects = "(deals|companies|goal_targets)"
        self.route("GET", f"/crm/v3/objects/{objects}", self._guard(self._list))
        self.route("POST", f"/crm/v3/objects/{objects}/search", self._guard(self._search))
        self.route("POST", f"/crm/v3/objects/{objects}/batch/read", self._guard(self._batch_read))
        self.route(
            "POST",
            "/crm/v4/associations/deals/companies/batch/read",
            self._guard(self._associations, scope=SCOPES["deals"]),
        )
        self.route("GET", "/crm/v3/owners/?", self._guard(self._owners, scope=SCOPES["owners"]))
        self.route(
            "GET",
            "/crm/v3/pipelines/deals",
            self._guard(self._pipelines, scope=SCOPES["pipelines"]),
        )
        self.route(
            "GET",
            "/settings/v3/currencies/exchange-rates",
            self._guard(self._exchange_rates, scope=SCOPES["currencies"]),
        )
        self.route(
            "GET",
            "/settings/v3/currencies/company-currency",
            self._guard(self._company_currency, scope=SCOPES["currencies"]),
        )

    def _rate_headers(self) -> dict[str, str]:
        if self._window is None:
            return {
                "X-HubSpot-RateLimit-Daily": "500000",
                "X-HubSpot-RateLimit-Daily-Remaining": "499000",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": "190",
                "X-HubSpot-RateLimit-Remaining": "189",
            }
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self._window_ms),
            "X-HubSpot-RateLimit-Max": str(self._window.maximum),
            "X-HubSpot-RateLimit-Remaining": str(self._window.remaining),
        }

    def _take_window(self) -> Response | None:
        if self._window is None:
            return None
        allowed, _, reset = self._window.take()
        if allowed:
            return None
        with self._state:
            self.rate_limited += 1
        return Response(
            429,
            rate_limit_body("TEN_SECONDLY_ROLLING"),
            {"Retry-After": str(reset), **self._rate_headers()},
        )

    def _guard(self, handler: Any, scope: str | None = None) -> Any:
        def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(
                    401,
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                )
            limited = self._take_window()
            if limited is not None:
                return limited
            needed = scope or SCOPES[request.path.split("/")[4]]
            if needed not in self.scopes:
                return _error(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [needed]},
                        }
                    ],
                )
            with self._state:
                response = handler(request)
            response.headers = {**self._rate_headers(), **response.headers}
            if not isinstance(response.body, bytes):
                response.body = json.dumps(response.body, default=_json_default).encode()
            return response

        return guarded

    def _records(
        self,
        objects: _Objects,
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
                _company_links(objects.primary_company[rows], objects.other_company[rows])
            )
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

    def _search(self, request: Request) -> Response:
        objects = self._objects(request.path.split("/")[4])
        try:
            query = request.json()
        except ValueError:
            return _error(400, "VALIDATION_ERROR", "Invalid input JSON")
        limit = int(query.get("limit") or 10)
        if not 0 < limit <= hs.SEARCH_PAGE_SIZE:
            return _error(
                400, "VALIDATION_ERROR", f"limit must be between 1 and {hs.SEARCH_PAGE_SIZE}"
            )
        after = int(query.get("after") or 0)
        if after >= self.search_result_limit:
            return _error(
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
        self, objects: _Objects, rows: np.ndarray, spec: dict[str, Any]
    ) -> np.ndarray | Response:
        prop = spec.get("propertyName")
        op = str(spec.get("operator", "EQ")).upper()
        numeric = objects.numeric(prop)
        if numeric is not None:
            values = numeric[rows]
            try:
                if op in ("IN", "NOT_IN"):
                    wanted = np.array(
                        [_value_ms(v) for v in spec.get("values") or []], dtype=np.int64
                    )
                    hit = np.isin(values, wanted)
                    return hit if op == "IN" else ~hit
                if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
                    has = values >= 0
                    return has if op == "HAS_PROPERTY" else ~has
                value = _value_ms(spec.get("value"))
                if op == "BETWEEN":
                    return (values >= value) & (values <= _value_ms(spec.get("highValue")))
            except (TypeError, ValueError):
                return _error(400, "VALIDATION_ERROR", f"bad filter value for {prop}")
            ops = {
                "EQ": values == value,
                "NEQ": values != value,
                "GT": values > value,
                "GTE": values >= value,
                "LT": values < value,
                "LTE": values <= value,
            }
            if op not in ops:
                return _error(400, "VALIDATION_ERROR", f"operator {op} is not supported")
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
        return _error(400, "VALIDATION_ERROR", f"operator {op} is not supported on {prop}")

    def _sort(self, objects: _Objects, rows: np.ndarray, sorts: list[Any]) -> np.ndarray:
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

    def _batch_read(self, request: Request) -> Response:
        objects = self._objects(request.path.split("/")[4])
        query = request.json() or {}
        inputs = [str(i.get("id")) for i in query.get("inputs") or []]
        history = list(query.get("propertiesWithHistory") or [])
        cap = hs.HISTORY_PAGE_SIZE if history else hs.BATCH_READ_SIZE
        if len(inputs) > cap:
            return _error(400, "VALIDATION_ERROR", f"at most {cap} inputs per batch read")
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
            return _error(400, "VALIDATION_ERROR", "at most 1000 inputs")
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

    def archive_owner(self, key: str) -> None:
        with self._state:
            native = self.owner_ids[str(key)]
            for owner in self.owners:
                if owner["id"] == native:
                    owner["archived"] = True

    def _pipelines(self, request: Request) -> Response:
        return Response(200, {"results": self.pipelines})

    def _exchange_rates(self, request: Request) -> Response:
        return self._offset_page(request, self.rates, 100)

    def _company_currency(self, request: Request) -> Response:
        return Response(
            200, {"currencyCode": self.company_currency, "currencyName": "Company currency"}
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # a float prints back the same digits up to 15 significant ones: an exact JSON number
        return float(value) if len(value.as_tuple().digits) <= 15 else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def serve_crm(
    tables: Mapping[str, pa.Table | Iterable[pa.Table] | None], **options: Any
) -> FakeHubSpot:
    """A fake HubSpot portal serving `tables` (not started: use it as a context manager).

    `tables` holds files-contract tables (or iterables of them): `deals` (required),
    `stage_history`, `accounts`, `owners`, `stages`, `fx_rates`, and optionally
    `goal_targets` (`goal_id`, `name`, `target`, `start`, `end`, `owner_id`, `team`).
    `options` go to FakeHubSpot (token, company_currency, scopes, rate_limit, ...).
    """
    return FakeHubSpot(tables, **options)


__all__ = [
    "ALL_SCOPES",
    "DEFAULT_TOKEN",
    "FakeHubSpot",
    "error_fault",
    "fault",
    "rate_limit_fault",
    "serve_crm",
]
