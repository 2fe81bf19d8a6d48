"""HTTP, paging and page-to-Arrow conversion for the Pipedrive source.

Pages become one Arrow table each: JSON is parsed once (orjson, through dlt's json),
Arrow builds the columns, and custom fields, timestamps, money and option labels are
converted with Arrow compute, so there is no per-record Python work on the deal path.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import requests
from dlt.common import json
from dlt.sources.helpers.requests import Client

from core.redaction import redact_url
from ingestion.pipedrive import settings

logger = logging.getLogger("ingestion.pipedrive")

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
_ZONE_SUFFIX = r"(Z|z|[+-]\d\d:?\d\d)$"


class PipedriveError(RuntimeError):
    """Pipedrive could not be read; the message says what to check. Never holds the token."""


class PipedriveAuthError(PipedriveError):
    """Pipedrive refused the token (401) or its user's rights (403): not retried."""


class PipedriveResponseError(PipedriveError):
    """A page is not what the API documents (malformed JSON, missing fields)."""


class PipedriveConfigError(PipedriveError):
    """A setting of the source cannot be applied to this Pipedrive company."""


# -- HTTP ---------------------------------------------------------------------------


class PipedriveClient:
    """GET requests to one Pipedrive company through dlt's retrying `requests` client.

    The token travels only in the `x-api-token` header: it is not part of any URL, so
    it cannot reach a log line or an exception text through the URL.
    """

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        request_timeout: float = settings.REQUEST_TIMEOUT,
        max_attempts: int = settings.MAX_ATTEMPTS,
        backoff_factor: float = settings.BACKOFF_FACTOR,
        max_retry_delay: float = settings.MAX_RETRY_DELAY,
    ) -> None:
        if not isinstance(api_token, str) or not api_token.strip():
            raise PipedriveAuthError(
                f"the Pipedrive API token is empty: set {settings.TOKEN_SETTING} "
                "(Pipedrive: Personal preferences > API)"
            )
        if not re.match(r"^https?://[^/\s]+", base_url or ""):
            raise PipedriveConfigError(
                f"SOURCES__PIPEDRIVE__BASE_URL={redact_url(str(base_url))!r} is not an http(s) "
                "URL such as "
                f"{settings.DEFAULT_BASE_URL!r} or 'https://yourcompany.pipedrive.com'"
            )
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.max_retry_delay = max_retry_delay
        self._headers = {settings.TOKEN_HEADER: api_token.strip(), "Accept": "application/json"}
        self._http = Client(
            request_timeout=request_timeout,
            raise_for_status=False,
            request_max_attempts=max_attempts,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay,
            respect_retry_after_header=True,
            session_attrs={"hooks": {"response": [self._rate_limit_hook]}},
        )

    def _rate_limit_hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Apply Pipedrive's rate-limit headers before dlt's retry logic sees the answer.

        A 429 without Retry-After still says when the window resets (x-ratelimit-reset):
        it becomes the Retry-After that dlt's wait honours. A success that used the
        window's last request waits for the reset, so the next call is not a 429.
        """
        headers = response.headers
        reset = _seconds(headers.get("x-ratelimit-reset"))
        if response.status_code == 429:
            if "Retry-After" not in headers and reset is not None:
                headers["Retry-After"] = str(max(1, round(reset)))
        elif (
            response.status_code < 400
            and (headers.get("x-ratelimit-remaining") or "").strip() == "0"
        ) and reset:
            wait = min(reset, self.max_retry_delay)
            logger.info("pipedrive: rate-limit window used up, waiting %.1f s", wait)
            time.sleep(wait)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, what: str = "") -> Any:
        """One GET, retried per the client's policy, returning the parsed JSON body."""
        label = what or f"GET {path}"
        try:
            response = self._http.session.get(
                self.base_url + path, params=dict(params or {}), headers=self._headers
            )
        except requests.RequestException as exc:
            raise PipedriveError(
                f"{label}: no answer from {redact_url(self.base_url)} after "
                f"{self.max_attempts} attempts "
                f"({type(exc).__name__}); check SOURCES__PIPEDRIVE__BASE_URL and the network, "
                "then rerun: nothing from this run was loaded"
            ) from exc
        status = response.status_code
        if status in (401, 403):
            detail = _error_text(response)
            advice = (
                "the token is wrong, revoked or of a deactivated user"
                if status == 401
                else "the token's user lacks the permission (reading every deal, "
                "organization, user and goal needs a global admin or a permission set "
                "that sees all items)"
            )
            raise PipedriveAuthError(
                f"{label}: Pipedrive answered {status} ({detail}): {advice}. "
                f"Check {settings.TOKEN_SETTING}."
            )
        if status >= 400:
            retried = status == 429 or status >= 500
            raise PipedriveError(
                f"{label}: Pipedrive answered {status} ({_error_text(response)})"
                + (f" after {self.max_attempts} attempts" if retried else "")
                + "; nothing from this run was loaded, rerun later"
            )
        try:
            body = json.loadb(response.content)
        except ValueError as exc:
            raise PipedriveResponseError(
                f"{label}: the answer is not valid JSON ({len(response.content)} bytes: {exc}); "
                "nothing from this run was loaded and the incremental cursor did not move, "
                "so the next run reads the same records again"
            ) from None
        if isinstance(body, dict) and body.get("success") is False:
            raise PipedriveError(f"{label}: Pipedrive answered success=false ({_body_error(body)})")
        return body

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, what: str = ""
    ) -> Iterator[list[dict[str, Any]]]:
        """The `data` list of every page of a cursor-paged list (`additional_data.next_cursor`)."""
        query = dict(params or {})
        page = 1
        while True:
            label = f"{what or 'GET ' + path} (page {page})"
            body = self.get_json(path, query, what=label)
            if not isinstance(body, dict):
                raise PipedriveResponseError(f"{label}: the answer is not a JSON object")
            data = body.get("data")
            if data is None:
                data = []
            if not isinstance(data, list):
                raise PipedriveResponseError(f"{label}: 'data' is not a list")
            yield data
            next_cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not next_cursor:
                return
            query["cursor"] = next_cursor
            page += 1


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _body_error(body: Mapping[str, Any]) -> str:
    error = str(body.get("error") or "no error text")[:200]
    code = body.get("errorCode")
    return f"{error}, errorCode {code}" if code is not None else error


def _error_text(response: requests.Response) -> str:
    try:
        body = json.loadb(response.content)
    except ValueError:
        return response.reason or "no error body"
    return _body_error(body) if isinstance(body, dict) else (response.reason or "")


# -- Arrow conversions ----------------------------------------------------------------


def to_timestamp(values: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    """RFC 3339 (API v2) or 'YYYY-MM-DD HH:MM:SS' in UTC (API v1) strings -> timestamp UTC."""
    values = pc.cast(values, pa.string())
    zoned = pc.if_else(
        pc.match_substring_regex(values, _ZONE_SUFFIX),
        values,
        pc.binary_join_element_wise(values, pa.scalar("Z"), ""),
    )
    try:
        # via nanoseconds: a fraction finer than a microsecond is cut, not an error
        return pc.cast(pc.cast(zoned, pa.timestamp("ns", tz="UTC")), TIMESTAMP, safe=False)
    except pa.ArrowInvalid as exc:
        raise PipedriveResponseError(f"{what}: not an RFC 3339 timestamp ({exc})") from None


def to_date(values: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    values = pc.cast(values, pa.string())
    try:
        return pc.cast(pc.utf8_slice_codeunits(values, 0, 10), pa.date32())
    except pa.ArrowInvalid as exc:
        raise PipedriveResponseError(f"{what}: not a YYYY-MM-DD date ({exc})") from None


def to_money(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """API numbers are doubles: round to the cent, then make them exact decimals."""
    return pc.cast(pc.round(pc.cast(values, pa.float64()), 2), MONEY)


def _from_records(records: list[dict[str, Any]], schema: pa.Schema, what: str) -> pa.Table:
    try:
        return pa.Table.from_pylist(records, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise PipedriveResponseError(
            f"{what}: a record does not have the documented shape ({exc})"
        ) from None


def keyed(table: pa.Table, *keys: str) -> pa.Table:
    """Mark the primary-key columns not null, as dlt declares them (their nulls are checked)."""
    fields = [f.with_nullable(False) if f.name in keys else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _require(table: pa.Table, columns: Sequence[str], what: str) -> None:
    for name in columns:
        nulls = table[name].null_count
        if nulls:
            raise PipedriveResponseError(f"{what}: {nulls} record(s) without '{name}'")


# -- custom fields ----------------------------------------------------------------------

TEXT_TYPES = ("varchar", "text", "varchar_auto", "varchar_options", "phone")
NUMBER_TYPES = ("double", "int", "monetary")
ROLE_KINDS = {
    "segment": "label",
    "region": "label",
    "industry": "label",
    "deal_type": "label",
    "contract_start": "date",
    "contract_end": "date",
    "mrr": "number",
}
KIND_TYPES = {
    "label": ("enum", "set", *TEXT_TYPES),
    "date": ("date", "varchar", "text"),
    "number": NUMBER_TYPES,
}


@dataclass(frozen=True)
class MappedField:
    """A Pipedrive field (custom or built in) that a crm-kpi attribute is read from."""

    role: str
    setting: str
    code: str
    name: str
    field_type: str
    is_custom: bool
    options: Mapping[int, str] = field(default_factory=dict)

    @property
    def arrow_type(self) -> pa.DataType:
        if self.field_type == "enum":
            return pa.int64()
        if self.field_type == "set":
            return pa.list_(pa.int64())
        if self.field_type == "monetary":
            return pa.struct([("value", pa.float64()), ("currency", pa.string())])
        if self.field_type in ("double", "int"):
            return pa.float64()
        return pa.string()


def resolve_fields(
    fields: Iterable[Mapping[str, Any]], wanted: Mapping[str, tuple[str, str]], entity: str
) -> dict[str, MappedField | None]:
    """Match each role's configured field (API key, else name) in the entity's fields.

    wanted: role -> (setting name, configured value). An empty value turns a role off; a
    name that matches no field leaves the role empty with a warning (the company may not
    track it); an ambiguous name or a field of an unusable type is an error.
    """
    fields = list(fields)
    resolved: dict[str, MappedField | None] = {}
    for role, (setting, configured) in wanted.items():
        configured = (configured or "").strip()
        if not configured:
            resolved[role] = None
            continue
        matches = [f for f in fields if f.get("field_code") == configured]
        if not matches:
            matches = [
                f
                for f in fields
                if str(f.get("field_name") or "").strip().lower() == configured.lower()
            ]
        env = f"SOURCES__PIPEDRIVE__{setting.upper()}"
        if not matches:
            logger.warning(
                "pipedrive: no %s field is named or keyed %r, so %s stays empty; set %s to "
                "the field's name or API key (Pipedrive: Company settings > Data fields), "
                "or to '' to silence this",
                entity,
                configured,
                role,
                env,
            )
            resolved[role] = None
            continue
        if len(matches) > 1:
            codes = ", ".join(str(f.get("field_code")) for f in matches)
            raise PipedriveConfigError(
                f"{len(matches)} {entity} fields are named {configured!r} ({codes}): set {env} "
                "to the API key of the one to use"
            )
        found = matches[0]
        field_type = str(found.get("field_type") or "")
        kind = ROLE_KINDS[role]
        if field_type not in KIND_TYPES[kind]:
            raise PipedriveConfigError(
                f"the {entity} field {found.get('field_name')!r} ({found.get('field_code')}) "
                f"is of type {field_type!r}, which cannot hold {role} (use a field of type "
                f"{', '.join(KIND_TYPES[kind])}); fix {env}"
            )
        options = {
            int(o["id"]): str(o.get("label") or "")
            for o in (found.get("options") or [])
            if isinstance(o, Mapping) and o.get("id") is not None
        }
        resolved[role] = MappedField(
            role=role,
            setting=setting,
            code=str(found.get("field_code")),
            name=str(found.get("field_name") or ""),
            field_type=field_type,
            is_custom=bool(found.get("is_custom_field", True)),
            options=options,
        )
    return resolved


def custom_fields_schema(mapped: Iterable[MappedField | None]) -> list[tuple[str, pa.DataType]]:
    """Top-level columns to read for built-in mapped fields, plus the custom_fields struct."""
    columns: list[tuple[str, pa.DataType]] = []
    struct_fields: list[tuple[str, pa.DataType]] = []
    seen: set[str] = set()
    for m in mapped:
        if m is None or m.code in seen:
            continue
        seen.add(m.code)
        (struct_fields if m.is_custom else columns).append((m.code, m.arrow_type))
    if struct_fields:
        columns.append(("custom_fields", pa.struct(struct_fields)))
    return columns


class Notes:
    """Warnings said once per run, not once per page."""

    def __init__(self) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def warn(self, key: str, message: str, *args: Any) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        logger.warning(message, *args)


def mapped_values(table: pa.Table, mapped: MappedField) -> pa.Array:
    """The raw values of a mapped field: from the custom_fields struct, or a top-level column."""
    if mapped.is_custom:
        return pc.struct_field(table["custom_fields"].combine_chunks(), mapped.code)
    return table[mapped.code].combine_chunks()


def label_values(
    table: pa.Table, mapped: MappedField | None, entity: str, notes: Notes
) -> pa.Array:
    """Text of a label field: option labels for enum/set (first option of a set), else the text."""
    if mapped is None:
        return pa.nulls(table.num_rows, pa.string())
    raw = mapped_values(table, mapped)
    if mapped.field_type == "set":
        raw = pc.list_element(pc.if_else(pc.greater(pc.list_value_length(raw), 0), raw, None), 0)
    if mapped.field_type in ("enum", "set"):
        keys = pa.array(list(mapped.options), pa.int64())
        labels = pa.array(list(mapped.options.values()), pa.string())
        index = pc.index_in(raw, value_set=keys)
        unknown = pc.sum(pc.and_(pc.is_valid(raw), pc.is_null(index))).as_py() or 0
        if unknown:
            notes.warn(
                f"unknown-option:{mapped.code}",
                "pipedrive: %s %s(s) hold an option of field %r that the field no longer lists "
                "(a deleted option?): their %s is left empty",
                unknown,
                entity,
                mapped.name,
                mapped.role,
            )
        return pc.take(labels, index)
    return pc.cast(raw, pa.string())


def date_values(table: pa.Table, mapped: MappedField | None, entity: str) -> pa.Array:
    if mapped is None:
        return pa.nulls(table.num_rows, pa.date32())
    return to_date(mapped_values(table, mapped), f"{entity} field {mapped.name!r}")


def money_values(
    table: pa.Table, mapped: MappedField | None, entity: str
) -> tuple[pa.Array, pa.Array]:
    """(amount as decimal(18,2), currency) of a monetary or number field."""
    if mapped is None:
        return pa.nulls(table.num_rows, MONEY), pa.nulls(table.num_rows, pa.string())
    raw = mapped_values(table, mapped)
    if mapped.field_type == "monetary":
        return to_money(pc.struct_field(raw, "value")), pc.utf8_upper(
            pc.struct_field(raw, "currency")
        )
    return to_money(raw), pa.nulls(table.num_rows, pa.string())


def normalise_labels(labels: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(
        pc.utf8_lower(pc.utf8_trim_whitespace(labels)), r"[\s\-]+", "_"
    )


def deal_types(labels: pa.Array, mapping: Mapping[str, str], notes: Notes) -> pa.Array:
    """Deal-type labels -> new_business / renewal / expansion (null when unmapped)."""
    normalised = normalise_labels(labels)
    keys = pa.array(list(mapping), pa.string())
    values = pa.array(list(mapping.values()), pa.string())
    mapped = pc.take(values, pc.index_in(normalised, value_set=keys))
    missing = pc.filter(labels, pc.and_(pc.is_valid(labels), pc.is_null(mapped)))
    for label in pc.unique(missing).to_pylist():
        notes.warn(
            f"deal-type:{label}",
            "pipedrive: the deal type %r maps to no crm-kpi deal type, so those deals count "
            "as new business; add it to SOURCES__PIPEDRIVE__DEAL_TYPE_LABELS "
            '(e.g. {"%s": "expansion"})',
            label,
            label,
        )
    return mapped


# -- deals --------------------------------------------------------------------------

DEAL_BASE_SCHEMA = [
    ("id", pa.int64()),
    ("title", pa.string()),
    ("owner_id", pa.int64()),
    ("person_id", pa.int64()),
    ("org_id", pa.int64()),
    ("pipeline_id", pa.int64()),
    ("stage_id", pa.int64()),
    ("value", pa.float64()),
    ("currency", pa.string()),
    ("status", pa.string()),
    ("add_time", pa.string()),
    ("update_time", pa.string()),
    ("stage_change_time", pa.string()),
    ("close_time", pa.string()),
    ("won_time", pa.string()),
    ("lost_time", pa.string()),
    ("expected_close_date", pa.string()),
    ("probability", pa.float64()),
    ("lost_reason", pa.string()),
    ("is_deleted", pa.bool_()),
    ("is_archived", pa.bool_()),
]
DEAL_ROLES = ("deal_type", "contract_start", "contract_end", "mrr")


@dataclass
class DealMapping:
    fields: Mapping[str, MappedField | None]
    deal_type_labels: Mapping[str, str]
    notes: Notes

    @property
    def schema(self) -> pa.Schema:
        mapped = [self.fields.get(r) for r in DEAL_ROLES]
        return pa.schema(DEAL_BASE_SCHEMA + custom_fields_schema(mapped))

    @property
    def custom_field_keys(self) -> list[str]:
        return sorted({m.code for m in self.fields.values() if m is not None and m.is_custom})


def deals_table(records: list[dict[str, Any]], mapping: DealMapping, what: str) -> pa.Table:
    """A page of v2 deals as the raw `deals` table (see the staging yml for columns)."""
    page = _from_records(records, mapping.schema, what)
    _require(page, ("id", "update_time"), what)
    status = page["status"].combine_chunks()
    is_deleted = pc.fill_null(
        pc.or_kleene(page["is_deleted"].combine_chunks(), pc.equal(status, "deleted")), False
    )
    fields = mapping.fields
    type_labels = label_values(page, fields.get("deal_type"), "deal", mapping.notes)
    mrr, mrr_currency = money_values(page, fields.get("mrr"), "deal")
    columns = {
        "id": page["id"],
        "title": page["title"],
        "owner_id": page["owner_id"],
        "person_id": page["person_id"],
        "org_id": page["org_id"],
        "pipeline_id": page["pipeline_id"],
        "stage_id": page["stage_id"],
        "value": to_money(page["value"]),
        "currency": pc.utf8_upper(page["currency"]),
        "status": status,
        "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
        "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
        "stage_change_time": to_timestamp(page["stage_change_time"], f"{what}: stage_change_time"),
        "close_time": to_timestamp(page["close_time"], f"{what}: close_time"),
        "won_time": to_timestamp(page["won_time"], f"{what}: won_time"),
        "lost_time": to_timestamp(page["lost_time"], f"{what}: lost_time"),
        "expected_close_date": to_date(page["expected_close_date"], f"{what}: expected_close_date"),
        "probability": page["probability"],
        "lost_reason": page["lost_reason"],
        "is_deleted": is_deleted,
        "is_archived": pc.fill_null(page["is_archived"].combine_chunks(), False),
        "kpi_deal_type": deal_types(type_labels, mapping.deal_type_labels, mapping.notes),
        "kpi_deal_type_label": type_labels,
        "kpi_contract_start": date_values(page, fields.get("contract_start"), "deal"),
        "kpi_contract_end": date_values(page, fields.get("contract_end"), "deal"),
        "kpi_mrr": mrr,
        "kpi_mrr_currency": mrr_currency,
    }
    live = pc.invert(is_deleted)
    missing_add = pc.sum(pc.and_(live, pc.is_null(columns["add_time"]))).as_py() or 0
    if missing_add:
        raise PipedriveResponseError(f"{what}: {missing_add} deal(s) without add_time")
    return keyed(pa.table(columns), "id")


# -- organizations, users, teams, pipelines, stages -----------------------------------

ORG_ROLES = ("segment", "region", "industry")


def organizations_table(
    records: list[dict[str, Any]], fields: Mapping[str, MappedField | None], notes: Notes, what: str
) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("owner_id", pa.int64()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
            ("is_deleted", pa.bool_()),
        ]
        + custom_fields_schema(fields.get(r) for r in ORG_ROLES)
    )
    page = _from_records(records, schema, what)
    _require(page, ("id", "update_time"), what)
    return keyed(
        pa.table(
            {
                "id": page["id"],
                "name": page["name"],
                "owner_id": page["owner_id"],
                "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
                "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
                "is_deleted": pc.fill_null(page["is_deleted"].combine_chunks(), False),
                "kpi_segment": label_values(page, fields.get("segment"), "organization", notes),
                "kpi_region": label_values(page, fields.get("region"), "organization", notes),
                "kpi_industry": label_values(page, fields.get("industry"), "organization", notes),
            }
        ),
        "id",
    )


def pipelines_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("order_nr", pa.int64()),
            ("is_deleted", pa.bool_()),
            ("is_deal_probability_enabled", pa.bool_()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
        ]
    )
    page = _from_records(records, schema, what)
    _require(page, ("id", "name"), what)
    timed = page.set_column(5, "add_time", to_timestamp(page["add_time"], what))
    return keyed(timed.set_column(6, "update_time", to_timestamp(page["update_time"], what)), "id")


def stages_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("pipeline_id", pa.int64()),
            ("order_nr", pa.int64()),
            ("deal_probability", pa.int64()),
            ("is_deleted", pa.bool_()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
        ]
    )
    page = _from_records(records, schema, what)
    _require(page, ("id", "name", "pipeline_id"), what)
    timed = page.set_column(6, "add_time", to_timestamp(page["add_time"], what))
    return keyed(timed.set_column(7, "update_time", to_timestamp(page["update_time"], what)), "id")


def user_teams(teams: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """user id -> the name of the lowest-id active team holding the user."""
    result: dict[int, str] = {}
    active = [
        t
        for t in teams
        if t.get("active_flag", True) not in (False, 0) and not t.get("deleted_flag")
    ]
    for team in sorted(active, key=lambda t: int(t["id"])):
        for user_id in team.get("users") or []:
            result.setdefault(int(user_id), str(team.get("name") or ""))
    return result


def users_table(
    records: list[dict[str, Any]], team_field: str, teams_by_user: Mapping[int, str], what: str
) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("email", pa.string()),
            ("active_flag", pa.bool_()),
            ("is_admin", pa.int64()),
        ]
    )
    # v1 answers 1/0 or true/false for is_admin depending on the account: keep a bool
    normalised = [
        {
            **r,
            "is_admin": int(bool(r.get("is_admin"))),
            "active_flag": bool(r.get("active_flag", True)),
        }
        for r in records
    ]
    page = _from_records(normalised, schema, what)
    _require(page, ("id",), what)
    if team_field == settings.TEAM_FIELD:
        teams = [teams_by_user.get(uid) for uid in page["id"].to_pylist()]
    else:
        teams = [None if r.get(team_field) is None else str(r.get(team_field)) for r in records]
    return keyed(
        pa.table(
            {
                "id": page["id"],
                "name": page["name"],
                "email": page["email"],
                "active_flag": page["active_flag"],
                "is_admin": pc.cast(page["is_admin"], pa.bool_()),
                "kpi_team": pa.array(teams, pa.string()),
            }
        ),
        "id",
    )


def teams_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("active_flag", pa.bool_())])
    rows = [{**r, "active_flag": bool(r.get("active_flag", True))} for r in records]
    page = _from_records(rows, schema, what)
    _require(page, ("id",), what)
    return keyed(page, "id")


# -- stage history ----------------------------------------------------------------------

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("deal_id", pa.int64(), nullable=False),
        pa.field("seq", pa.int32(), nullable=False),
        ("stage_id", pa.int64()),
        ("entered_at", TIMESTAMP),
        ("update_time", TIMESTAMP),
        ("is_deleted", pa.bool_()),
    ]
)


def stage_path(
    changes: list[Mapping[str, Any]], current_stage: int | None, what: str
) -> list[tuple[int | None, str | None]]:
    """A deal's stages from its changelog: [(stage id, entered time or None for add_time)].

    The deal entered its first stage when it was created; that stage is the old value of
    its first stage change, or its current stage when it never changed stage. Changes
    are put in time order whatever order the API lists them in; changes within the same
    second are chained (each starts in the stage the previous one ended in).
    """
    moves: list[tuple[str, int | None, int | None]] = []
    for change in changes:
        if not isinstance(change, Mapping) or change.get("field_key") != "stage_id":
            continue
        when = change.get("time")
        if not when:
            raise PipedriveResponseError(f"{what}: a stage change without 'time'")
        old = _int_or_none(change.get("old_value"), what)
        moves.append((str(when), old, _int_or_none(change.get("new_value"), what)))
    moves.sort(key=lambda m: m[0])
    ordered: list[tuple[str, int | None, int | None]] = []
    start = 0
    while start < len(moves):
        end = start
        while end < len(moves) and moves[end][0] == moves[start][0]:
            end += 1
        tied = moves[start:end]
        if len(tied) > 1:
            if ordered:
                here = ordered[-1][2]
            else:  # the chain's head: the move whose start no other tied move ends in
                ends = {m[2] for m in tied}
                here = next((m[1] for m in tied if m[1] not in ends), tied[0][1])
            while tied:
                step = next((m for m in tied if m[1] == here), tied[0])
                tied.remove(step)
                ordered.append(step)
                here = step[2]
        else:
            ordered.extend(tied)
        start = end
    initial = ordered[0][1] if ordered else current_stage
    if initial is None:
        initial = current_stage
    path: list[tuple[int | None, str | None]] = [(initial, None)]
    path.extend((new, when) for when, _, new in ordered)
    return path


def _int_or_none(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PipedriveResponseError(f"{what}: stage id {value!r} is not a number") from None


class ChangelogCache:
    """Stage paths already fetched, keyed by (deal id, deal update_time), on disk.

    The changelog costs one request per deal; a run that is killed half-way through a
    large first load keeps what it fetched, so the rerun resumes where it stopped
    instead of asking Pipedrive again. A deal's path at a given update_time never
    changes (a stage change moves update_time), so a hit is always current.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS stage_paths ("
            " deal_id INTEGER NOT NULL, update_time TEXT NOT NULL, path TEXT NOT NULL,"
            " PRIMARY KEY (deal_id, update_time))"
        )
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], list[Any]]:
        found: dict[tuple[int, str], list[Any]] = {}
        with self._lock:
            for start in range(0, len(keys), 400):
                chunk = keys[start : start + 400]
                where = " OR ".join("(deal_id = ? AND update_time = ?)" for _ in chunk)
                args = [v for key in chunk for v in key]
                for deal_id, update_time, text in self._con.execute(
                    f"SELECT deal_id, update_time, path FROM stage_paths WHERE {where}", args
                ):
                    found[(deal_id, update_time)] = json.loads(text)
        return found

    def put_many(self, items: Mapping[tuple[int, str], list[Any]]) -> None:
        with self._lock:
            self._con.execute("BEGIN")
            self._con.executemany(
                "INSERT OR REPLACE INTO stage_paths VALUES (?, ?, ?)",
                [(k[0], k[1], json.dumps(v)) for k, v in items.items()],
            )
            self._con.execute("COMMIT")

    def prune(self, loaded_before: str) -> None:
        """Forget paths of deal versions older than the committed cursor: never asked again."""
        with self._lock:
            self._con.execute("DELETE FROM stage_paths WHERE update_time < ?", (loaded_before,))

    def close(self) -> None:
        with self._lock:
            self._con.close()


def cursor_key(value: datetime) -> str:
    """One sortable text form of a UTC timestamp, for cache keys and comparisons."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HistoryFetcher:
    """Stage history of pages of deals: one changelog request per live deal, concurrent."""

    def __init__(
        self,
        client: PipedriveClient,
        workers: int,
        cache: ChangelogCache | None,
        page_size: int = settings.CHANGELOG_PAGE_SIZE,
    ) -> None:
        self.client = client
        self.workers = max(1, workers)
        self.cache = cache
        self.page_size = page_size
        self.deals_done = 0
        self.requested = 0
        self.from_cache = 0
        self._started = time.monotonic()
        self._last_log = self._started
        self._pool: ThreadPoolExecutor | None = None

    def _fetch(
        self, deal_id: int, current_stage: int | None
    ) -> list[tuple[int | None, str | None]]:
        path = settings.DEAL_CHANGELOG.format(id=deal_id)
        what = f"GET {path}"
        changes: list[Mapping[str, Any]] = []
        for data in self.client.paginate(path, {"limit": self.page_size}, what=what):
            changes.extend(data)
        return stage_path(changes, current_stage, what)

    def rows(self, deals: pa.Table) -> pa.Table:
        """History rows of one page of deals (a tombstone row for each deleted deal)."""
        ids = deals["id"].to_pylist()
        updates = deals["update_time"].to_pylist()
        stages = deals["stage_id"].to_pylist()
        deleted = deals["is_deleted"].to_pylist()
        keys = [(ids[i], cursor_key(updates[i])) for i in range(len(ids))]
        live = [i for i in range(len(ids)) if not deleted[i]]
        paths: dict[tuple[int, str], list[Any]] = {}
        if self.cache is not None and live:
            paths = self.cache.get_many([keys[i] for i in live])
            self.from_cache += len(paths)
        todo = [i for i in live if keys[i] not in paths]
        if todo:
            if self._pool is None:
                # one pool for the run: its threads keep their HTTP connections alive
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pipedrive")
            fetched = list(self._pool.map(lambda i: self._fetch(ids[i], stages[i]), todo))
            new = {keys[i]: path for i, path in zip(todo, fetched, strict=True)}
            self.requested += len(todo)
            if self.cache is not None:
                self.cache.put_many(new)
            paths.update(new)
        self.deals_done += len(ids)
        self._log_progress()

        deal_idx: list[int] = []
        seqs: list[int] = []
        stage_ids: list[int | None] = []
        times: list[str | None] = []
        initial: list[bool] = []
        for i in range(len(ids)):
            if deleted[i]:
                deal_idx.append(i)
                seqs.append(0)
                stage_ids.append(None)
                times.append(None)
                initial.append(False)
                continue
            for seq, (stage_id, when) in enumerate(paths[keys[i]]):
                deal_idx.append(i)
                seqs.append(seq)
                stage_ids.append(stage_id)
                times.append(when)
                initial.append(when is None)
        index = pa.array(deal_idx, pa.int64())
        changed_at = to_timestamp(pa.array(times, pa.string()), "deal changelog: time")
        entered_at = pc.if_else(
            pa.array(initial, pa.bool_()), pc.take(deals["add_time"], index), changed_at
        )
        return pa.table(
            {
                "deal_id": pc.take(deals["id"], index),
                "seq": pa.array(seqs, pa.int32()),
                "stage_id": pa.array(stage_ids, pa.int64()),
                "entered_at": entered_at,
                "update_time": pc.take(deals["update_time"], index),
                "is_deleted": pc.take(deals["is_deleted"], index),
            },
            schema=HISTORY_SCHEMA,
        )

    def _log_progress(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_log < settings.PROGRESS_LOG_SECONDS:
            return
        self._last_log = now
        elapsed = max(now - self._started, 1e-9)
        logger.info(
            "pipedrive: stage history of %d deals so far (%d changelog requests, %.1f/s; "
            "%d resumed from an interrupted run)",
            self.deals_done,
            self.requested,
            self.requested / elapsed,
            self.from_cache,
        )


# -- goals ------------------------------------------------------------------------------

GOALS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        ("title", pa.string()),
        ("owner_id", pa.int64()),
        ("type_name", pa.string()),
        ("tracking_metric", pa.string()),
        ("target", pa.float64()),
        ("currency", pa.string()),
        ("interval", pa.string()),
        ("duration_start", pa.date32()),
        ("duration_end", pa.date32()),
        ("assignee_type", pa.string()),
        ("assignee_id", pa.int64()),
        ("pipeline_id", pa.int64()),
        ("is_active", pa.bool_()),
        ("kpi_metric", pa.string()),
        ("kpi_scope_type", pa.string()),
        ("kpi_scope_value", pa.string()),
        ("kpi_grain", pa.string()),
        ("unmapped_reason", pa.string()),
    ]
)


def _parse_day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10])


def _quarter_start(month: int, fiscal_year_start: int) -> bool:
    return (month - fiscal_year_start) % 3 == 0


def _aligned(grain: str | None, start: date, end: date, fiscal_year_start: int) -> str | None:
    """Why (start, end) cannot be cut into whole `grain` periods, or None when it can."""
    after = end + timedelta(days=1)
    if grain == "week":
        if start.weekday() != 0 or after.weekday() != 0:
            return "a weekly goal must run from a Monday to a Sunday"
    elif grain == "month":
        if start.day != 1 or after.day != 1:
            return "a monthly goal must run over whole calendar months"
    elif grain == "quarter" and not (
        start.day == 1
        and after.day == 1
        and _quarter_start(start.month, fiscal_year_start)
        and _quarter_start(after.month, fiscal_year_start)
    ):
        return "a quarterly goal must run over whole fiscal quarters"
    return None


def goal_row(
    goal: Mapping[str, Any],
    currencies: Mapping[int, str],
    reporting_currency: str,
    fiscal_year_start: int,
    team_names: Mapping[int, str],
    pipeline_names: Mapping[int, str],
) -> dict[str, Any]:
    """A Pipedrive goal as a raw `goals` row with its crm-kpi mapping or why it has none."""
    goal_type = goal.get("type") or {}
    params = goal_type.get("params") or {}
    outcome = goal.get("expected_outcome") or {}
    assignee = goal.get("assignee") or {}
    duration = goal.get("duration") or {}
    pipelines = params.get("pipeline_id")
    if isinstance(pipelines, (int, str)):
        pipelines = [pipelines]
    pipelines = [int(p) for p in (pipelines or [])]
    type_name = str(goal_type.get("name") or "")
    metric_kind = str(outcome.get("tracking_metric") or "")
    currency_id = outcome.get("currency_id")
    currency = currencies.get(int(currency_id)) if currency_id not in (None, "") else None
    interval = str(goal.get("interval") or "")
    start = _parse_day(duration.get("start"))
    end = _parse_day(duration.get("end"))
    assignee_type = str(assignee.get("type") or "")

    reasons: list[str] = []
    metric = settings.GOAL_METRICS.get((type_name, metric_kind))
    if metric is None:
        reasons.append(f"no crm-kpi metric measures a {type_name} goal tracked by {metric_kind}")
    if metric == "won_revenue" and (currency or "").upper() != reporting_currency.upper():
        reasons.append(
            f"its target is in {currency or 'an unknown currency'}, the reporting currency "
            f"is {reporting_currency}"
        )
    grain = settings.GOAL_INTERVAL_GRAINS.get(interval, "?")
    if grain == "?":
        reasons.append(f"unknown interval {interval!r}")
        grain = None
    if start is None or end is None:
        reasons.append("it has no end date")
    elif end < start:
        reasons.append("it ends before it starts")
    elif interval == "yearly":
        if end != date(start.year + 1, start.month, 1) - timedelta(days=1) or start.day != 1:
            reasons.append("a yearly goal must last exactly one year")
    elif why := _aligned(grain, start, end, fiscal_year_start):
        reasons.append(why)
    scope_type = {"person": "owner", "team": "team", "company": "company"}.get(assignee_type)
    if scope_type is None:
        reasons.append(f"unknown assignee type {assignee_type!r}")
    if len(pipelines) > 1:
        reasons.append("it covers several pipelines, an objective has one scope")
    elif pipelines:
        if scope_type == "company":
            scope_type = "pipeline"
        elif scope_type is not None:
            reasons.append(
                f"it is both for a {assignee_type} and a pipeline, an objective has one scope"
            )
    # the scope value as the marts know it (owner ids are namespaced in staging)
    assignee_id = assignee.get("id")
    scope_value: str | None = None
    if scope_type == "company":
        scope_value = "all"
    elif scope_type == "owner" and assignee_id is not None:
        scope_value = str(assignee_id)
    elif scope_type == "team":
        scope_value = team_names.get(int(assignee_id)) if assignee_id is not None else None
        if scope_value is None:
            reasons.append(f"team {assignee_id} is not among Pipedrive's active teams")
    elif scope_type == "pipeline":
        scope_value = pipeline_names.get(pipelines[0])
        if scope_value is None:
            reasons.append(f"pipeline {pipelines[0]} does not exist (any more)")
    mapped = not reasons
    target = outcome.get("target")
    return {
        "id": str(goal.get("id")),
        "title": goal.get("title"),
        "owner_id": goal.get("owner_id"),
        "type_name": type_name,
        "tracking_metric": metric_kind,
        "target": None if target is None else float(target),
        "currency": currency,
        "interval": interval,
        "duration_start": start,
        "duration_end": end,
        "assignee_type": assignee_type,
        "assignee_id": assignee.get("id"),
        "pipeline_id": pipelines[0] if len(pipelines) == 1 else None,
        "is_active": bool(goal.get("is_active", True)),
        "kpi_metric": metric if mapped else None,
        "kpi_scope_type": scope_type if mapped else None,
        "kpi_scope_value": scope_value if mapped else None,
        "kpi_grain": grain if mapped else None,
        "unmapped_reason": None if mapped else "; ".join(reasons),
    }


def goals_table(rows: list[dict[str, Any]]) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=GOALS_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise PipedriveResponseError(
            f"GET {settings.GOALS}: a goal does not have the documented shape ({exc})"
        ) from None
