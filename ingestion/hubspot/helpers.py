"""HTTP, paging and parsing for the HubSpot source.

- `HubSpotClient`: dlt's retrying `requests` client with the token in a header, 429/5xx and
  dropped connections retried with bounded backoff (Retry-After honoured), HubSpot's
  rate-limit headers respected, and HubSpot's error bodies turned into errors that say
  which setting to check. The token never reaches a log line or an exception.
- `ObjectReader`: list, search (restarted past HubSpot's 10,000-result cap), batch read
  and association reads of a CRM object type; pages are parsed straight into Arrow.
- `deal_rows`, `company_rows`, `goal_target_rows`, `stage_history_rows`, ...: raw tables
  built from whole batches with Arrow compute; per-value Python work happens only to
  report a value that does not parse, or for the few odd formats Arrow cannot cast.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests

from core.redaction import redact_url
from ingestion.common.arrow import TIMESTAMP, key_field, read_json_page
from ingestion.common.errors import SourceError
from ingestion.common.http import BearerAuth, RetryPolicy, retrying_client, wait_out_window
from ingestion.common.paging import follow
from ingestion.hubspot import settings as hs

logger = logging.getLogger(__name__)

# Raw amounts keep HubSpot's digits (it stores numbers with any number of decimals);
# staging rounds them to DECIMAL(18,2).
RAW_DECIMAL = pa.decimal128(38, 9)
RATE_DECIMAL = pa.decimal128(38, 12)
_DECIMAL_QUANTUM = Decimal("1e-9")
_DIGITS = re.compile(r"^-?\d+$")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


class HubSpotError(SourceError):
    """HubSpot answered something the source cannot use; the message says what to do.

    `transient` tells the orchestration whether loading again later may succeed (an
    outage, a rate limit, a truncated page) or a person must act first (a token, a setting).
    """


class HubSpotAuthError(HubSpotError):
    """HubSpot refused the token (401) or its scopes (403)."""


class HubSpotRateLimitError(HubSpotError):
    """HubSpot's rate limit was still hit after every retry, or the daily limit is used up."""


class HubSpotResponseError(HubSpotError):
    """A page that is not the JSON HubSpot documents (truncated, not an object, no results)."""

    transient = True


class HubSpotDataError(HubSpotError):
    """A record's property value that does not parse as its type."""


DEFAULT_RETRY = RetryPolicy(
    max_attempts=hs.DEFAULT_MAX_ATTEMPTS,
    backoff_factor=hs.DEFAULT_BACKOFF_FACTOR,
    max_retry_delay=hs.DEFAULT_MAX_RETRY_DELAY,
    request_timeout=hs.DEFAULT_REQUEST_TIMEOUT,
)


def check_retry(policy: RetryPolicy) -> RetryPolicy:
    """`policy` if its values can bound a request, else a HubSpotError naming the setting."""
    if policy.max_attempts < 1:
        raise HubSpotError(
            f"SOURCES__HUBSPOT__MAX_ATTEMPTS={policy.max_attempts} must be at least 1"
        )
    for name in ("backoff_factor", "max_retry_delay", "request_timeout"):
        if getattr(policy, name) < 0:
            raise HubSpotError(
                f"SOURCES__HUBSPOT__{name.upper()}={getattr(policy, name)} must not be negative"
            )
    return policy


def _is_daily_limit(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("policyName", "")).upper() == "DAILY"


def _retry_rate_limited(
    response: requests.Response | None, exception: BaseException | None
) -> bool:
    # 429 is retried except for the daily limit: waiting seconds cannot help that one.
    return response is not None and response.status_code == 429 and not _is_daily_limit(response)


class HubSpotClient:
    """One HubSpot portal's API at `base_url`, with the private app token `api_key`."""

    def __init__(self, api_key: str, base_url: str, retry: RetryPolicy | None = None) -> None:
        token = (api_key or "").strip()
        if not token:
            raise HubSpotAuthError(
                f"the HubSpot token is empty: set {hs.API_KEY_SETTING} to a private app "
                "access token (see docs/connectors/hubspot.md)"
            )
        if not re.match(r"^https?://", base_url or ""):
            raise HubSpotError(
                f"SOURCES__HUBSPOT__BASE_URL={redact_url(str(base_url))!r} is not an http(s) URL; "
                f"the default is {hs.DEFAULT_BASE_URL}"
            )
        self._token = token
        self._auth = BearerAuth(token)
        self.base_url = base_url.rstrip("/")
        self.retry = retry or DEFAULT_RETRY
        self.requests_made = 0
        self._client = retrying_client(
            self.retry,
            status_codes=range(500, 600),
            retry_condition=_retry_rate_limited,
            on_response=self._respect_rate_limit_headers,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<redacted>")

    def _respect_rate_limit_headers(
        self, response: requests.Response, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Waits out a used-up window before the next call, so HubSpot need not answer 429."""
        if response.status_code == 429:
            return response  # the retry waits what Retry-After says
        headers = response.headers
        wait = 0.0
        if headers.get("X-HubSpot-RateLimit-Remaining", "").strip() == "0":
            interval_ms = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
            wait = float(interval_ms) / 1000 if interval_ms.strip().isdigit() else 10.0
        elif headers.get("X-HubSpot-RateLimit-Secondly-Remaining", "").strip() == "0":
            wait = 1.0
        wait_out_window(
            wait,
            self.retry.max_retry_delay,
            logger,
            "HubSpot rate-limit window used up: waiting %.2f s",
        )
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> bytes:
        """The body of a 2xx answer; any other outcome raises a HubSpotError saying why."""
        url = f"{self.base_url}{path}"
        self.requests_made += 1
        try:
            response = self._client.session.request(
                method,
                url,
                params=params,
                json=body,
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise HubSpotError(
                f"{what}: no answer from {redact_url(self.base_url)} after "
                f"{self.retry.max_attempts} attempts ({type(exc).__name__}). Check "
                "SOURCES__HUBSPOT__BASE_URL and the network, then run again: nothing from "
                "this run was loaded and the cursor did not move.",
                transient=True,
            ) from None
        if 200 <= response.status_code < 300:
            return response.content
        raise self._error(response, what)

    def _error(self, response: requests.Response, what: str) -> HubSpotError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        category = body.get("category") or body.get("errorType") or ""
        message = self._redact(str(body.get("message") or response.reason or ""))[:300]
        detail = f"{status} {category}".strip()
        if status == 401:
            return HubSpotAuthError(
                f"HubSpot refused the token ({detail}) on {what}: check {hs.API_KEY_SETTING} "
                "(a private app access token of this portal; it may have been rotated or "
                "revoked)."
            )
        if status == 403:
            scopes = sorted(
                {
                    scope
                    for error in body.get("errors") or []
                    if isinstance(error, dict)
                    for scope in (error.get("context") or {}).get("requiredGranularScopes") or []
                }
            )
            need = f" the scope(s) {', '.join(scopes)}" if scopes else " the read scopes listed"
            return HubSpotAuthError(
                f"HubSpot refused access ({detail}) on {what}: give the private app behind "
                f"{hs.API_KEY_SETTING}{need} (docs/connectors/hubspot.md), or turn the "
                "resource off in the source's settings."
            )
        if status == 429:
            policy = body.get("policyName") or "unknown"
            if str(policy).upper() == "DAILY":
                return HubSpotRateLimitError(
                    f"HubSpot's daily API limit of this portal is used up ({what}); run again "
                    "after midnight in the portal's timezone: the cursor did not move."
                )
            return HubSpotRateLimitError(
                f"HubSpot kept answering 429 ({policy} limit) on {what} after "
                f"{self.retry.max_attempts} attempts; run again later: the cursor did not move.",
                transient=True,
            )
        if status >= 500:
            return HubSpotError(
                f"HubSpot answered {detail} on {what} after {self.retry.max_attempts} attempts "
                f"({message}); run again later: nothing from this run was loaded and the "
                "cursor did not move.",
                transient=True,
            )
        return HubSpotError(f"HubSpot answered {detail} on {what}: {message}")


# --- Arrow parsing of pages ----------------------------------------------------------


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
            content = self.client.request("GET", path, what=what, params=params)
            records, next_after = parse_page(content, result_type, what)
            self.pages_read += 1
            return records, next_after

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
            content = self.client.request("POST", path, what=what, body=body)
            records, after = parse_page(content, result_type, what)
            self.pages_read += 1
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
        content = self.client.request("POST", path, what=what, body=body)
        records, _ = parse_page(content, result_type, what)
        self.pages_read += 1
        return records

    def primary_associations(self, ids: Sequence[str], to_type: str) -> tuple[pa.Array, pa.Array]:
        """(from id, primary associated id) pairs for the records `ids` that have one."""
        path = hs.ASSOCIATIONS_BATCH_READ_PATH.format(from_type=self.object_type, to_type=to_type)
        what = f"{self.object_type} to {to_type} associations ({len(ids)} records)"
        content = self.client.request(
            "POST", path, what=what, body={"inputs": [{"id": i} for i in ids]}
        )
        records, _ = parse_page(content, ASSOCIATION_RESULT_TYPE, what)
        self.pages_read += 1
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
        stamp = _parse_timestamp_value(modified)
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


# --- Property values to typed columns -------------------------------------------------


def _blank_to_null(values: pa.Array) -> pa.Array:
    blank = pc.equal(pc.utf8_trim_whitespace(values), "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), values)


def _bad_value(
    object_type: str, ids: pa.Array, prop: str, values: pa.Array, index: int, kind: str
) -> HubSpotDataError:
    return HubSpotDataError(
        f"HubSpot {object_type} {ids[index].as_py()}: property {prop!r} = "
        f"{values[index].as_py()!r} is not {kind}. Fix the record in HubSpot, or point the "
        "setting that maps this field at another property (docs/connectors/hubspot.md)."
    )


def _parse_timestamp_value(value: str | None) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if _DIGITS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_timestamp(values: pa.Array, ids: pa.Array, object_type: str, prop: str) -> pa.Array:
    """ISO 8601 (HubSpot's form) or epoch-millisecond strings to UTC timestamps."""
    values = _blank_to_null(values)
    try:
        return pc.cast(values, TIMESTAMP)
    except pa.ArrowInvalid:
        pass  # an unusual form (no zone, epoch ms, nanoseconds): parse value by value
    out: list[datetime | None] = []
    for index, value in enumerate(values.to_pylist()):
        try:
            out.append(_parse_timestamp_value(value))
        except (ValueError, OverflowError):
            raise _bad_value(object_type, ids, prop, values, index, "a date-time") from None
    return pa.array(out, TIMESTAMP)


def to_date(values: pa.Array, ids: pa.Array, object_type: str, prop: str) -> pa.Array:
    """HubSpot date properties (`YYYY-MM-DD`, a date-time, or epoch ms) to dates."""
    values = _blank_to_null(values)
    if pc.all(pc.fill_null(pc.match_substring_regex(values, _ISO_DATE), True)).as_py():
        try:
            return pc.cast(values, pa.date32())
        except pa.ArrowInvalid:
            pass  # e.g. 2024-02-30: report it below
    out: list[date | None] = []
    for index, value in enumerate(values.to_pylist()):
        try:
            if value is None:
                out.append(None)
            elif re.match(_ISO_DATE, value):
                out.append(date.fromisoformat(value))
            else:
                stamp = _parse_timestamp_value(value)
                out.append(stamp.date() if stamp else None)
        except (ValueError, OverflowError):
            raise _bad_value(object_type, ids, prop, values, index, "a date") from None
    return pa.array(out, pa.date32())


def to_decimal(
    values: pa.Array, ids: pa.Array, object_type: str, prop: str, type_: pa.DataType = RAW_DECIMAL
) -> pa.Array:
    """Number strings to exact decimals (never through a float)."""
    values = _blank_to_null(values)
    try:
        return pc.cast(values, type_)
    except pa.ArrowInvalid:
        pass  # more decimals than the column keeps, or an exponent: round value by value
    quantum = Decimal(1).scaleb(-type_.scale)
    out: list[Decimal | None] = []
    for index, value in enumerate(values.to_pylist()):
        if value is None:
            out.append(None)
            continue
        try:
            number = Decimal(value.replace(",", ""))
            if not number.is_finite():
                raise InvalidOperation
            out.append(number.quantize(quantum, rounding=ROUND_HALF_EVEN))
        except InvalidOperation:
            raise _bad_value(object_type, ids, prop, values, index, "a number") from None
    return pa.array(out, type_)


def to_bool(values: pa.Array) -> pa.Array:
    """HubSpot's "true"/"false" strings to booleans (null when empty)."""
    values = pc.utf8_lower(_blank_to_null(values))
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), pc.equal(values, "true"))


def map_values(
    values: pa.Array, mapping: Mapping[str, str], object_type: str, prop: str, setting: str
) -> pa.Array:
    """Values through a case-insensitive mapping; unmapped values become null (and are logged)."""
    keys = [k.strip().lower() for k in mapping]
    targets = pa.array(list(mapping.values()), pa.string())
    cleaned = pc.utf8_lower(_blank_to_null(values))
    positions = pc.index_in(cleaned, value_set=pa.array(keys, pa.string()))
    mapped = targets.take(positions) if len(keys) else pa.nulls(len(values), pa.string())
    unmapped = pc.and_(pc.is_valid(cleaned), pc.is_null(positions))
    if pc.any(unmapped).as_py():
        names = sorted(set(pc.filter(values, unmapped).to_pylist()))[:10]
        logger.warning(
            "HubSpot %s: %s values %s are not in %s; they load as null",
            object_type,
            prop,
            names,
            setting,
        )
    return mapped


def _properties(records: pa.Array) -> pa.StructArray:
    return records.field("properties")


def _prop(records: pa.Array, name: str) -> pa.Array:
    props = _properties(records)
    return props.field(name) if name in props.type.names else pa.nulls(len(records), pa.string())


def _concat(chunks: Sequence[pa.Array]) -> pa.Array:
    return pa.concat_arrays(list(chunks)) if len(chunks) != 1 else chunks[0]


def _updated_at(records: pa.Array, ids: pa.Array, object_type: str) -> pa.Array:
    """The cursor: hs_lastmodifieddate, else the record's updatedAt, else its createdAt."""
    stamps = pc.coalesce(
        _blank_to_null(_prop(records, hs.MODIFIED_PROPERTY)),
        _blank_to_null(records.field("updatedAt")),
        _blank_to_null(records.field("createdAt")),
    )
    out = to_timestamp(stamps, ids, object_type, hs.MODIFIED_PROPERTY)
    if out.null_count:
        index = pc.index(pc.is_null(out), True).as_py()
        raise HubSpotDataError(
            f"HubSpot {object_type} {ids[index].as_py()} has no modification time; it cannot be "
            "loaded incrementally. Run again; if it persists, report it to HubSpot support."
        )
    return out


@dataclass(frozen=True)
class FieldMapping:
    """Which HubSpot property holds each field of the one CRM model (the settings)."""

    segment: str = hs.DEFAULT_SEGMENT_PROPERTY
    region: str = hs.DEFAULT_REGION_PROPERTY
    industry: str = hs.DEFAULT_INDUSTRY_PROPERTY
    deal_type: str = hs.DEFAULT_DEAL_TYPE_PROPERTY
    contract_start: str = hs.DEFAULT_CONTRACT_START_PROPERTY
    contract_end: str = hs.DEFAULT_CONTRACT_END_PROPERTY
    mrr: str = hs.DEFAULT_MRR_PROPERTY
    lost_reason: str = hs.DEFAULT_LOST_REASON_PROPERTY
    deal_type_values: Mapping[str, str] = field(
        default_factory=lambda: dict(hs.DEFAULT_DEAL_TYPE_VALUES)
    )
    goal_metrics: Mapping[str, str] = field(default_factory=lambda: dict(hs.DEFAULT_GOAL_METRICS))

    def __post_init__(self) -> None:
        for name in (
            "segment",
            "region",
            "industry",
            "deal_type",
            "contract_start",
            "contract_end",
            "mrr",
            "lost_reason",
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_]+", value):
                raise ValueError(
                    f"SOURCES__HUBSPOT__{name.upper()}_PROPERTY={value!r} is not a HubSpot "
                    "property's internal name (letters, digits and underscores, as shown in "
                    "HubSpot under Settings > Properties > the property > Internal name)"
                )
        for value, deal_type in self.deal_type_values.items():
            if deal_type not in hs.DEAL_TYPES:
                raise ValueError(
                    f"SOURCES__HUBSPOT__DEAL_TYPE_VALUES maps {value!r} to {deal_type!r}; "
                    f"the deal types are {', '.join(hs.DEAL_TYPES)}"
                )

    @property
    def deal_properties(self) -> tuple[str, ...]:
        extra = (self.deal_type, self.contract_start, self.contract_end, self.mrr, self.lost_reason)
        return tuple(dict.fromkeys(hs.DEAL_PROPERTIES + extra))

    @property
    def company_properties(self) -> tuple[str, ...]:
        extra = (self.segment, self.region, self.industry)
        return tuple(dict.fromkeys(hs.COMPANY_PROPERTIES + extra))


# --- Raw tables -------------------------------------------------------------------------


DEALS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("deal_name", pa.string()),
        ("amount", RAW_DECIMAL),
        ("currency", pa.string()),
        ("pipeline_id", pa.string()),
        ("stage_id", pa.string()),
        ("owner_id", pa.string()),
        ("company_id", pa.string()),
        ("created_at", TIMESTAMP),
        ("close_date", TIMESTAMP),
        ("is_closed", pa.bool_()),
        ("is_closed_won", pa.bool_()),
        ("deal_type_value", pa.string()),
        ("deal_type", pa.string()),
        ("contract_start", pa.date32()),
        ("contract_end", pa.date32()),
        ("mrr", RAW_DECIMAL),
        ("lost_reason", pa.string()),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
STAGE_HISTORY_SCHEMA = pa.schema(
    [
        key_field("deal_id"),
        key_field("stage_id"),
        key_field("entered_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
COMPANIES_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("name", pa.string()),
        ("segment", pa.string()),
        ("region", pa.string()),
        ("industry", pa.string()),
        ("created_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
GOAL_TARGETS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("goal_name", pa.string()),
        ("metric", pa.string()),
        ("target_amount", RAW_DECIMAL),
        ("start_at", TIMESTAMP),
        ("end_at", TIMESTAMP),
        ("owner_id", pa.string()),
        ("assignee_user_id", pa.string()),
        ("assignee_team_id", pa.string()),
        key_field("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
TOMBSTONE_SCHEMA = pa.schema(
    [
        key_field("id"),
        key_field("updated_at", TIMESTAMP),
        ("archived_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
HISTORY_TOMBSTONE_SCHEMA = pa.schema(
    [
        key_field("deal_id"),
        key_field("stage_id"),
        key_field("entered_at", TIMESTAMP),
        key_field("updated_at", TIMESTAMP),
        ("archived_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
OWNERS_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("email", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("user_id", pa.string()),
        ("owner_type", pa.string()),
        ("team_id", pa.string()),
        ("team_name", pa.string()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("archived", pa.bool_()),
    ]
)
OWNER_TEAMS_SCHEMA = pa.schema(
    [
        key_field("owner_id"),
        key_field("team_id"),
        ("team_name", pa.string()),
        ("is_primary", pa.bool_()),
    ]
)
PIPELINE_STAGES_SCHEMA = pa.schema(
    [
        key_field("pipeline_id"),
        ("pipeline_label", pa.string()),
        ("pipeline_display_order", pa.int32()),
        ("pipeline_archived", pa.bool_()),
        key_field("stage_id"),
        ("stage_label", pa.string()),
        ("display_order", pa.int32()),
        ("probability", RAW_DECIMAL),
        ("is_closed", pa.bool_()),
        ("stage_archived", pa.bool_()),
    ]
)
EXCHANGE_RATES_SCHEMA = pa.schema(
    [
        key_field("id"),
        ("from_currency_code", pa.string()),
        ("to_currency_code", pa.string()),
        ("conversion_rate", RATE_DECIMAL),
        ("effective_at", TIMESTAMP),
        ("visible_in_ui", pa.bool_()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
    ]
)


def empty(schema: pa.Schema) -> pa.Table:
    """Zero typed rows: the raw table exists (and staging can read it) even with no data."""
    return schema.empty_table()


def _upper(values: pa.Array) -> pa.Array:
    return pc.utf8_upper(_blank_to_null(values))


def deal_rows(
    chunks: Sequence[pa.Array],
    company_ids: Sequence[pa.Array],
    mapping: FieldMapping,
    default_currency: Any,
) -> pa.Table:
    """Raw `deals` rows of a batch of records; `default_currency()` is asked only if needed."""
    records = _concat(chunks)
    ids = records.field("id")
    kind = "deal"
    currency = _upper(_prop(records, "deal_currency_code"))
    if currency.null_count:
        currency = pc.fill_null(currency, default_currency())
    deal_type_value = _blank_to_null(_prop(records, mapping.deal_type))
    columns = {
        "id": ids,
        "deal_name": _blank_to_null(_prop(records, "dealname")),
        "amount": to_decimal(_prop(records, "amount"), ids, kind, "amount"),
        "currency": currency,
        "pipeline_id": _blank_to_null(_prop(records, "pipeline")),
        "stage_id": _blank_to_null(_prop(records, "dealstage")),
        "owner_id": _blank_to_null(_prop(records, "hubspot_owner_id")),
        "company_id": _concat(company_ids),
        "created_at": to_timestamp(_prop(records, "createdate"), ids, kind, "createdate"),
        "close_date": to_timestamp(_prop(records, "closedate"), ids, kind, "closedate"),
        "is_closed": to_bool(_prop(records, "hs_is_closed")),
        "is_closed_won": to_bool(_prop(records, "hs_is_closed_won")),
        "deal_type_value": deal_type_value,
        "deal_type": map_values(
            deal_type_value,
            mapping.deal_type_values,
            kind,
            mapping.deal_type,
            "SOURCES__HUBSPOT__DEAL_TYPE_VALUES",
        ),
        "contract_start": to_date(
            _prop(records, mapping.contract_start), ids, kind, mapping.contract_start
        ),
        "contract_end": to_date(
            _prop(records, mapping.contract_end), ids, kind, mapping.contract_end
        ),
        "mrr": to_decimal(_prop(records, mapping.mrr), ids, kind, mapping.mrr),
        "lost_reason": _blank_to_null(_prop(records, mapping.lost_reason)),
        "updated_at": _updated_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=DEALS_SCHEMA)


def stage_history_rows(chunks: Sequence[pa.Array], deals: pa.Table) -> pa.Table:
    """Raw `deal_stage_history` rows: one per value the deal's stage took, with its time."""
    records = _concat(chunks)
    versions = records.field("propertiesWithHistory").field(hs.STAGE_HISTORY_PROPERTY)
    flat = pc.list_flatten(versions)
    parents = pc.list_parent_indices(versions)
    deal_ids = records.field("id").take(parents)
    stage_ids = _blank_to_null(flat.field("value"))
    entered_at = to_timestamp(flat.field("timestamp"), deal_ids, "deal", "dealstage history")
    keep = pc.and_(pc.is_valid(stage_ids), pc.is_valid(entered_at))
    table = pa.table(
        {
            "deal_id": deal_ids,
            "stage_id": stage_ids,
            "entered_at": entered_at,
            "updated_at": deals.column("updated_at").combine_chunks().take(parents),
            "archived": pa.array(np.zeros(len(flat), dtype=bool)),
        }
    ).filter(keep)
    return table.cast(STAGE_HISTORY_SCHEMA)


def company_rows(chunks: Sequence[pa.Array], mapping: FieldMapping) -> pa.Table:
    records = _concat(chunks)
    ids = records.field("id")
    columns = {
        "id": ids,
        "name": _blank_to_null(_prop(records, "name")),
        "segment": _blank_to_null(_prop(records, mapping.segment)),
        "region": _blank_to_null(_prop(records, mapping.region)),
        "industry": _blank_to_null(_prop(records, mapping.industry)),
        "created_at": to_timestamp(_prop(records, "createdate"), ids, "company", "createdate"),
        "updated_at": _updated_at(records, ids, "company"),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=COMPANIES_SCHEMA)


def goal_target_rows(chunks: Sequence[pa.Array], mapping: FieldMapping) -> pa.Table:
    records = _concat(chunks)
    ids = records.field("id")
    kind = "goal target"
    names = _blank_to_null(_prop(records, "hs_goal_name"))
    columns = {
        "id": ids,
        "goal_name": names,
        "metric": map_values(
            pc.utf8_trim_whitespace(names),
            mapping.goal_metrics,
            kind,
            "hs_goal_name",
            "SOURCES__HUBSPOT__GOAL_METRICS",
        ),
        "target_amount": to_decimal(
            _prop(records, "hs_target_amount"), ids, kind, "hs_target_amount"
        ),
        "start_at": to_timestamp(
            _prop(records, "hs_start_datetime"), ids, kind, "hs_start_datetime"
        ),
        "end_at": to_timestamp(_prop(records, "hs_end_datetime"), ids, kind, "hs_end_datetime"),
        "owner_id": _blank_to_null(_prop(records, "hubspot_owner_id")),
        "assignee_user_id": _blank_to_null(_prop(records, "hs_assignee_user_id")),
        "assignee_team_id": _blank_to_null(_prop(records, "hs_assignee_team_id")),
        "updated_at": _updated_at(records, ids, kind),
        "archived": pa.array(np.zeros(len(records), dtype=bool)),
    }
    return pa.Table.from_pydict(columns, schema=GOAL_TARGETS_SCHEMA)


def tombstone_rows(chunks: Sequence[pa.Array], object_type: str) -> pa.Table:
    """Archived records as deletes: `archived` is dlt's hard-delete column."""
    records = _concat(chunks)
    ids = records.field("id")
    archived_at = to_timestamp(
        pc.coalesce(
            _blank_to_null(records.field("archivedAt")), _blank_to_null(records.field("updatedAt"))
        ),
        ids,
        object_type,
        "archivedAt",
    )
    updated = _updated_at(records, ids, object_type)
    if archived_at.null_count:
        archived_at = pc.coalesce(archived_at, updated)
    # the delete must win the merge's dedup against a live copy read in the same run
    latest = pc.if_else(pc.greater(archived_at, updated), archived_at, updated)
    return pa.Table.from_pydict(
        {
            "id": ids,
            "updated_at": latest,
            "archived_at": archived_at,
            "archived": pa.array(np.ones(len(records), dtype=bool)),
        },
        schema=TOMBSTONE_SCHEMA,
    )


def history_tombstone_rows(chunks: Sequence[pa.Array], tombstones: pa.Table) -> pa.Table:
    """One delete per archived deal: the merge key (deal_id) removes all its history rows."""
    records = _concat(chunks)
    stage = pc.fill_null(_blank_to_null(_prop(records, "dealstage")), "")
    return pa.Table.from_pydict(
        {
            "deal_id": tombstones.column("id"),
            "stage_id": stage,
            "entered_at": tombstones.column("archived_at"),
            "updated_at": tombstones.column("updated_at"),
            "archived_at": tombstones.column("archived_at"),
            "archived": tombstones.column("archived"),
        },
        schema=HISTORY_TOMBSTONE_SCHEMA,
    )


# --- Small endpoints (a few dozen records): plain JSON ------------------------------


def _json(content: bytes, what: str) -> Any:
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError as exc:
        raise HubSpotResponseError(
            f"{what}: the page is not valid JSON ({str(exc)[:120]}). Nothing from this run was "
            "loaded and the cursor did not move: run again."
        ) from None


def _results(body: Any, what: str) -> list[dict[str, Any]]:
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
        body = _json(client.request("GET", path, what=label, params=query), label)
        results = _results(body, label)
        return results, ((body.get("paging") or {}).get("next") or {}).get("after") or None

    for results in follow(fetch):
        yield from results


def _ts(value: Any, what: str) -> datetime | None:
    try:
        return _parse_timestamp_value(value)
    except (ValueError, OverflowError):
        raise HubSpotDataError(f"{what}: {value!r} is not a date-time") from None


def owner_rows(owners: Iterable[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """Raw `owners` (with the primary team, else the first) and `owner_teams` rows."""
    rows: list[dict[str, Any]] = []
    teams: list[dict[str, Any]] = []
    for owner in owners:
        owner_id = str(owner.get("id") or "")
        if not owner_id:
            raise HubSpotResponseError("owners: a record has no `id`; run again.")
        owner_teams = [t for t in owner.get("teams") or [] if isinstance(t, dict) and t.get("id")]
        primary = next(
            (t for t in owner_teams if t.get("primary")), owner_teams[0] if owner_teams else None
        )
        what = f"HubSpot owner {owner_id}"
        rows.append(
            {
                "id": owner_id,
                "email": owner.get("email") or None,
                "first_name": owner.get("firstName") or None,
                "last_name": owner.get("lastName") or None,
                "user_id": str(owner["userId"]) if owner.get("userId") is not None else None,
                "owner_type": owner.get("type"),
                "team_id": str(primary["id"]) if primary else None,
                "team_name": primary.get("name") if primary else None,
                "created_at": _ts(owner.get("createdAt"), what),
                "updated_at": _ts(owner.get("updatedAt"), what),
                "archived": bool(owner.get("archived")),
            }
        )
        teams.extend(
            {
                "owner_id": owner_id,
                "team_id": str(team["id"]),
                "team_name": team.get("name"),
                "is_primary": bool(team.get("primary")),
            }
            for team in owner_teams
        )
    return (
        pa.Table.from_pylist(rows, schema=OWNERS_SCHEMA),
        pa.Table.from_pylist(teams, schema=OWNER_TEAMS_SCHEMA),
    )


def _decimal(value: Any, what: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise HubSpotDataError(f"{what}: {value!r} is not a number") from None
    return number.quantize(_DECIMAL_QUANTUM, rounding=ROUND_HALF_EVEN)


def _flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def pipeline_stage_rows(pipelines: Iterable[dict[str, Any]]) -> pa.Table:
    """Raw `deal_pipeline_stages`: one row per stage with its pipeline, probability, closed flag."""
    rows: list[dict[str, Any]] = []
    for pipeline in pipelines:
        for stage in pipeline.get("stages") or []:
            metadata = stage.get("metadata") or {}
            what = f"HubSpot pipeline {pipeline.get('id')} stage {stage.get('id')}"
            probability = _decimal(metadata.get("probability"), f"{what} probability")
            if probability is not None and not Decimal(0) <= probability <= Decimal(1):
                raise HubSpotDataError(f"{what}: probability {probability} is not between 0 and 1")
            rows.append(
                {
                    "pipeline_id": str(pipeline.get("id")),
                    "pipeline_label": pipeline.get("label"),
                    "pipeline_display_order": pipeline.get("displayOrder"),
                    "pipeline_archived": bool(pipeline.get("archived")),
                    "stage_id": str(stage.get("id")),
                    "stage_label": stage.get("label"),
                    "display_order": stage.get("displayOrder"),
                    "probability": probability,
                    "is_closed": _flag(metadata.get("isClosed")),
                    "stage_archived": bool(stage.get("archived")),
                }
            )
    return pa.Table.from_pylist(rows, schema=PIPELINE_STAGES_SCHEMA)


def exchange_rate_rows(rates: Iterable[dict[str, Any]]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    for rate in rates:
        what = f"HubSpot exchange rate {rate.get('id')}"
        value = rate.get("conversionRate")
        number = None
        if value is not None:
            try:
                number = Decimal(str(value)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)
            except InvalidOperation:
                raise HubSpotDataError(
                    f"{what}: conversionRate {value!r} is not a number"
                ) from None
            if number <= 0:
                raise HubSpotDataError(f"{what}: conversionRate {value!r} is not positive")
        rows.append(
            {
                "id": str(rate.get("id")),
                "from_currency_code": (rate.get("fromCurrencyCode") or "").upper() or None,
                "to_currency_code": (rate.get("toCurrencyCode") or "").upper() or None,
                "conversion_rate": number,
                "effective_at": _ts(rate.get("effectiveAt"), what),
                "visible_in_ui": _flag(rate.get("visibleInUI")),
                "created_at": _ts(rate.get("createdAt"), what),
                "updated_at": _ts(rate.get("updatedAt"), what),
            }
        )
    return pa.Table.from_pylist(rows, schema=EXCHANGE_RATES_SCHEMA)


def company_currency(client: HubSpotClient) -> str:
    """The portal's company currency: the currency of a deal that names none."""
    what = "company currency"
    body = _json(client.request("GET", hs.COMPANY_CURRENCY_PATH, what=what), what)
    code = body.get("currencyCode") if isinstance(body, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{3}", code.strip()):
        raise HubSpotResponseError(f"{what}: HubSpot answered no currencyCode ({str(body)[:100]})")
    return code.strip().upper()
