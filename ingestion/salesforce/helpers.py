"""Talking to the Salesforce REST API: SOQL queries page by page, as Arrow tables.

HTTP goes through dlt's RESTClient on a session of dlt's retrying `requests` helper:
503 (Salesforce's overload answer), 429, other 5xx and dropped connections are retried
with bounded exponential backoff, honouring Retry-After. 401 and 403 fail at once with
a message naming what to check. The access token travels only in the Authorization
header; no message raised or logged here contains it.

A page is parsed straight into Arrow (pyarrow's JSON reader, with an explicit schema
built from the object's describe), so a 2,000-record page costs no per-record Python.
"""

from __future__ import annotations

import difflib
import io
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import requests
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from core.redaction import redact_url
from ingestion.salesforce.settings import (
    API_USAGE_WARNING_SHARE,
    DEAL_TYPES,
    DEFAULT_DEAL_TYPE_VALUES,
    DEFAULT_MAPPING,
    EPOCH,
    LOGIN_HOSTS,
    MAPPED_ON,
    Field,
)

logger = logging.getLogger("crm_kpi.salesforce")

TOKEN_SETTING = "SOURCES__SALESFORCE__ACCESS_TOKEN"
BASE_URL_SETTING = "SOURCES__SALESFORCE__BASE_URL"
API_VERSION_SETTING = "SOURCES__SALESFORCE__API_VERSION"

MONEY = pa.decimal128(18, 2)
TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_KIND = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "money": MONEY,
    "date": pa.date32(),
    "datetime": TIMESTAMP,
}
# How a JSON value of each Salesforce field type is read before it is converted.
_NUMBER_TYPES = {"double", "currency", "percent"}
_INT_TYPES = {"int", "long"}
# Which Salesforce field types can feed a mapped column of each kind.
_COMPATIBLE = {
    "date": {"date", "datetime"},
    "money": _NUMBER_TYPES | _INT_TYPES,
}


class SalesforceError(RuntimeError):
    """A Salesforce call failed; the message says what to do. It never holds the token.

    `transient` tells the orchestration whether the same load may succeed later (an
    outage that outlasted the HTTP retries) or will fail the same way (a refused token).
    """

    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class SalesforceAuthError(SalesforceError):
    """401: the access token was refused."""


class SalesforceAccessError(SalesforceError):
    """403: the token's user may not read what was asked."""


class SalesforceLimitError(SalesforceError):
    """403 REQUEST_LIMIT_EXCEEDED: the org's daily API requests are used up."""


class SalesforceRequestError(SalesforceError):
    """Any other refused or failed request (after the retries)."""


class MalformedPageError(SalesforceError):
    """A page was not the JSON Salesforce documents; the run stops, the cursor stays.

    Usually a body cut short on the way, so a later attempt may well succeed.
    """

    transient = True


class SalesforceConfigError(SalesforceError, ValueError):
    """A setting names something the org does not have."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_factor: float
    max_retry_delay: float
    request_timeout: float


@dataclass(frozen=True)
class SObjectField:
    name: str
    type: str
    relationship_name: str | None
    reference_to: tuple[str, ...]


@dataclass(frozen=True)
class Describe:
    sobject: str
    fields: dict[str, SObjectField]  # by lower-case name

    def get(self, name: str) -> SObjectField | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> SObjectField | None:
        lowered = name.lower()
        return next(
            (f for f in self.fields.values() if (f.relationship_name or "").lower() == lowered),
            None,
        )


@dataclass(frozen=True)
class ResolvedField:
    """A raw column bound to the org's real field: canonical path and Salesforce type."""

    column: str
    path: tuple[str, ...]  # ("UserRole", "Name") for a relationship path
    kind: str
    sf_type: str

    @property
    def soql(self) -> str:
        return ".".join(self.path)


@dataclass
class ObjectSpec:
    """What is read from one object: SOQL field list, page schema, raw Arrow schema."""

    sobject: str
    fields: list[ResolvedField]
    absent: list[str] = field(default_factory=list)  # raw columns left empty (null)
    kinds: dict[str, str] = field(default_factory=dict)  # every raw column's kind

    @property
    def soql_fields(self) -> list[str]:
        return list(dict.fromkeys(f.soql for f in self.fields))

    @property
    def schema(self) -> pa.Schema:
        return raw_schema(self.kinds)

    def page_schema(self) -> pa.Schema:
        """The Arrow schema a query page is read with (records as a list of structs)."""
        top: dict[str, pa.DataType | dict[str, pa.DataType]] = {}
        for f in self.fields:
            json_type = _json_type(f.sf_type)
            if len(f.path) == 1:
                top[f.path[0]] = json_type
            else:
                nested = top.setdefault(f.path[0], {})
                assert isinstance(nested, dict)
                nested[f.path[1]] = json_type
        record = pa.struct(
            [
                (name, pa.struct(list(t.items())) if isinstance(t, dict) else t)
                for name, t in top.items()
            ]
        )
        return pa.schema(
            [
                ("totalSize", pa.int64()),
                ("done", pa.bool_()),
                ("nextRecordsUrl", pa.string()),
                ("records", pa.list_(record)),
            ]
        )


def raw_schema(kinds: Mapping[str, str]) -> pa.Schema:
    """The Arrow schema of a raw table; `id`, the primary key, is never null."""
    return pa.schema(
        [
            pa.field(column, ARROW_KIND[kind], nullable=column != "id")
            for column, kind in kinds.items()
        ]
    )


def _json_type(sf_type: str) -> pa.DataType:
    if sf_type == "boolean":
        return pa.bool_()
    if sf_type in _INT_TYPES:
        return pa.int64()
    if sf_type in _NUMBER_TYPES:
        return pa.float64()
    return pa.string()


@dataclass(frozen=True)
class MappedField:
    """A value of the one CRM model read from a field the settings name."""

    column: str  # raw column: segment, team, mrr, ...
    setting: str  # SOURCES__SALESFORCE__<SETTING>
    path: str  # "" leaves the column empty
    kind: str
    explicit: bool  # set by the user (a missing field is an error) or the default


MAPPED_KINDS = {"contract_start": "date", "contract_end": "date", "mrr": "money"}


@dataclass(frozen=True)
class FieldSettings:
    """The field mapping and value mapping a run uses (see settings.FieldMapping)."""

    paths: Mapping[str, str]
    deal_type_values: Mapping[str, str]
    default_pipeline: str

    def mapped(self, sobject: str) -> list[MappedField]:
        return [
            MappedField(
                column=name,
                setting=f"SOURCES__SALESFORCE__{name.upper()}_FIELD",
                path=(self.paths[name] or "").strip(),
                kind=MAPPED_KINDS.get(name, "string"),
                explicit=self.paths[name] != getattr(DEFAULT_MAPPING, name),
            )
            for name, on in MAPPED_ON.items()
            if on == sobject
        ]

    def finish_opportunities(self, table: pa.Table) -> pa.Table:
        """Map deal types through deal_type_values; label deals without a pipeline."""
        raw = table.column("deal_type")
        keys = list(self.deal_type_values)
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
        index = pc.index_in(lowered, value_set=pa.array(keys, pa.string()))
        mapped = pc.take(pa.array(list(self.deal_type_values.values()), pa.string()), index)
        unmapped = pc.unique(pc.filter(raw, pc.and_(pc.is_valid(raw), pc.is_null(index))))
        if len(unmapped):
            logger.warning(
                "Salesforce deal type values not in SOURCES__SALESFORCE__DEAL_TYPE_VALUES "
                "are counted as new_business: %s",
                ", ".join(sorted(str(v) for v in unmapped.to_pylist())),
            )
        table = table.set_column(table.schema.get_field_index("deal_type"), "deal_type", mapped)
        pipeline = pc.fill_null(table.column("pipeline"), self.default_pipeline)
        return table.set_column(table.schema.get_field_index("pipeline"), "pipeline", pipeline)


def normalise_deal_type_values(values: Mapping[str, str] | None) -> dict[str, str]:
    """The defaults extended by `values` (keys compared lower-cased).

    Every target must be one of the one CRM model's deal types.
    """
    result = dict(DEFAULT_DEAL_TYPE_VALUES)
    for key, target in (values or {}).items():
        if target not in DEAL_TYPES:
            raise SalesforceConfigError(
                f"SOURCES__SALESFORCE__DEAL_TYPE_VALUES maps {key!r} to {target!r}; "
                f"each value must be one of {', '.join(DEAL_TYPES)}"
            )
        result[str(key).strip().lower()] = target
    return result


@dataclass
class Page:
    records: pa.Table
    done: bool
    next_url: str | None
    total_size: int


def parse_page(body: bytes, spec: ObjectSpec, what: str) -> Page:
    """One query response as an Arrow table of raw columns, without per-record Python."""
    try:
        parsed = pj.read_json(
            io.BytesIO(body),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(len(body), 1) + 1),
            parse_options=pj.ParseOptions(
                explicit_schema=spec.page_schema(),
                unexpected_field_behavior="ignore",
                newlines_in_values=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise MalformedPageError(_malformed(what, body, str(exc))) from None
    if parsed.num_rows != 1:
        raise MalformedPageError(_malformed(what, body, "not one JSON object"))
    done = parsed.column("done")[0].as_py()
    records = parsed.column("records")
    if done is None or records.null_count:
        raise MalformedPageError(
            _malformed(what, body, "no 'done' flag or 'records' list: not a query result")
        )
    next_url = parsed.column("nextRecordsUrl")[0].as_py()
    if not done and not next_url:
        raise MalformedPageError(_malformed(what, body, "'done' is false but no nextRecordsUrl"))
    items = records.combine_chunks().flatten()
    columns = []
    for column, kind in spec.kinds.items():
        resolved = next((f for f in spec.fields if f.column == column), None)
        if resolved is None:
            columns.append(pa.nulls(len(items), ARROW_KIND[kind]))
            continue
        values = pc.struct_field(items, list(resolved.path)) if len(items) else None
        columns.append(_convert(values, resolved, len(items), what))
    return Page(
        records=pa.Table.from_arrays(columns, schema=spec.schema),
        done=bool(done),
        next_url=next_url,
        total_size=int(parsed.column("totalSize")[0].as_py() or 0),
    )


def _convert(values: pa.Array | None, f: ResolvedField, length: int, what: str) -> pa.Array:
    target = ARROW_KIND[f.kind]
    if values is None:
        return pa.array([], target)
    try:
        if f.kind == "datetime" or (f.kind == "date" and f.sf_type == "datetime"):
            stamps = pc.cast(values, TIMESTAMP)
            return stamps if f.kind == "datetime" else pc.cast(stamps, pa.date32())
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MalformedPageError(
            f"Salesforce sent a value of {f.soql} that is not a {f.kind} ({what}): {exc}. "
            "The run stopped before loading anything and the cursor did not move."
        ) from None


def _malformed(what: str, body: bytes, reason: str) -> str:
    return (
        f"Salesforce sent a malformed page ({what}, {len(body)} bytes: {reason}). "
        "The run stopped before loading anything and the cursor did not move, so the "
        "next run reads these records again."
    )


def soql_datetime(value: datetime) -> str:
    """A SOQL dateTime literal (UTC, whole seconds, rounded down, never quoted)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_soql(spec: ObjectSpec, since: datetime | None = None, order_by: str | None = None) -> str:
    soql = f"SELECT {', '.join(spec.soql_fields)} FROM {spec.sobject}"
    if since is not None and since > EPOCH:
        soql += f" WHERE SystemModstamp > {soql_datetime(since)}"
    if order_by:
        soql += f" ORDER BY {order_by}"
    return soql


def _error_of(response: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body: [{"message", "errorCode"}]."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "", response.reason or ""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code = first.get("errorCode") or first.get("error") or ""
        message = first.get("message") or first.get("error_description") or ""
        return str(code), str(message)
    return "", response.reason or ""


_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class ClientCredentialsAuth(requests.auth.AuthBase):
    """A bearer token fetched by the client-credentials flow when first needed, so a
    nightly run never uses an expired token and nothing is requested before a read."""

    def __init__(self, login_url: str, client_id: str, client_secret: str) -> None:
        self.login_url = login_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None

    def __repr__(self) -> str:  # the secret stays out of any repr a log might print
        return f"ClientCredentialsAuth(login_url={redact_url(self.login_url)!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is None:
            self._token = request_access_token(
                self.login_url, self._client_id, self._client_secret
            ).access_token
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class SalesforceApi:
    """One org's REST API; nothing is requested until a resource reads."""

    def __init__(
        self,
        access_token: str | None,
        base_url: str,
        api_version: str,
        batch_size: int,
        retry: RetryPolicy,
        api_usage_ceiling: float = 1.0,
        auth: requests.auth.AuthBase | None = None,
    ) -> None:
        self._auth = auth or BearerTokenAuth(token=access_token)
        self.api_usage_ceiling = api_usage_ceiling
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.batch_size = batch_size
        self.retry = retry
        self._rest: RESTClient | None = None
        self._sobjects: dict[str, str] | None = None
        self._describes: dict[str, Describe] = {}
        self.api_usage: tuple[int, int] | None = None
        self._warned_usage = False

    def __repr__(self) -> str:  # the token stays out of any repr a log might print
        return (
            f"SalesforceApi(base_url={redact_url(self.base_url)!r}, "
            f"api_version={self.api_version!r})"
        )

    # -- HTTP -------------------------------------------------------------------

    def _session(self) -> requests.Session:
        return Client(
            request_timeout=self.retry.request_timeout,
            raise_for_status=False,
            request_max_attempts=self.retry.max_attempts,
            request_backoff_factor=self.retry.backoff_factor,
            request_max_retry_delay=self.retry.max_retry_delay,
            respect_retry_after_header=True,
        ).session

    @property
    def rest(self) -> RESTClient:
        if self._rest is None:
            self._rest = RESTClient(
                base_url=self.instance_url(),
                headers={
                    "Accept": "application/json",
                    "Sforce-Query-Options": f"batchSize={self.batch_size}",
                },
                auth=self._auth,
                session=self._session(),
            )
        return self._rest

    def instance_url(self) -> str:
        """The org's API host: base_url, or, for a login host, the one userinfo names."""
        if urlsplit(self.base_url).hostname not in LOGIN_HOSTS:
            return self.base_url
        login = RESTClient(base_url=self.base_url, auth=self._auth, session=self._session())
        what = "the userinfo request that finds the org's instance URL"
        response = self._send(login, "/services/oauth2/userinfo", None, what)
        try:
            rest_url = orjson.loads(response.content)["urls"]["rest"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise SalesforceConfigError(
                f"{redact_url(self.base_url)} did not name the org's instance URL ({what}); set "
                f"{BASE_URL_SETTING} to your My Domain URL, such as "
                "https://yourcompany.my.salesforce.com"
            ) from None
        instance = str(rest_url).split("/services/", 1)[0]
        logger.info("Salesforce instance URL: %s", instance)
        self.base_url = instance
        return instance

    def _send(
        self,
        client: RESTClient,
        path: str,
        params: dict[str, str] | None,
        what: str,
    ) -> requests.Response:
        self._check_ceiling(what)
        try:
            response = client.get(path, params=params)
        except requests.RequestException as exc:
            # host and port only: never a user:password@ the URL may carry
            parts = urlsplit(client.base_url)
            host = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
            raise SalesforceRequestError(
                f"Could not reach Salesforce at {host} for {what} after "
                f"{self.retry.max_attempts} attempts ({type(exc).__name__}). Check "
                f"{BASE_URL_SETTING} and the network; the run loaded nothing.",
                transient=True,
            ) from None
        self._note_usage(response)
        if response.status_code >= 400:
            raise self._error(response, what)
        return response

    def _check_ceiling(self, what: str) -> None:
        if self.api_usage is None:
            return
        used, limit = self.api_usage
        if limit and used >= self.api_usage_ceiling * limit:
            raise SalesforceLimitError(
                f"Stopped before {what}: the Salesforce org has used {used} of its {limit} "
                f"daily API requests, the ceiling of {self.api_usage_ceiling:.0%} this "
                "connector keeps to leave the rest to the org's other integrations "
                "(SOURCES__SALESFORCE__API_USAGE_CEILING). Run again when the org's rolling "
                "24-hour allowance has freed requests; nothing was loaded from this run."
            )

    def _note_usage(self, response: requests.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if not match:
            return
        used, limit = int(match.group(1)), int(match.group(2))
        self.api_usage = (used, limit)
        if limit and used >= API_USAGE_WARNING_SHARE * limit and not self._warned_usage:
            self._warned_usage = True
            logger.warning(
                "The Salesforce org has used %s of its %s daily API requests", used, limit
            )

    def _error(self, response: requests.Response, what: str) -> SalesforceError:
        status = response.status_code
        code, message = _error_of(response)
        said = f"{code}: {message}" if code else (message or response.reason or "")
        if status == 401 and isinstance(self._auth, ClientCredentialsAuth):
            return SalesforceAuthError(
                f"Salesforce refused the access token the client-credentials flow issued "
                f"({status} {said}) on {what}. Check that the External Client App "
                "(SOURCES__SALESFORCE__CLIENT_ID) is still enabled for the client-credentials "
                "flow, that its 'Run As' user is active, and that no admin revoked its tokens."
            )
        if status == 401:
            return SalesforceAuthError(
                f"Salesforce refused the access token ({status} {said}) on {what}. Check "
                f"{TOKEN_SETTING} (or access_token under [sources.salesforce] in "
                ".dlt/secrets.toml): tokens expire after the org's session timeout and can "
                "be revoked; get a new one with the client-credentials flow described in "
                "docs/connectors/salesforce.md."
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            usage = f" ({self.api_usage[0]}/{self.api_usage[1]} requests)" if self.api_usage else ""
            return SalesforceLimitError(
                f"The Salesforce org's API request limit is used up{usage}: Salesforce "
                f"answered {status} {said} on {what}. The credential is fine: wait until the "
                "org's rolling 24-hour API allowance frees requests, or ask a Salesforce "
                "admin to raise the org's API request limit. Nothing was loaded from this run."
            )
        if status == 403:
            return SalesforceAccessError(
                f"Salesforce refused {what} ({status} {said}). The user behind "
                f"{TOKEN_SETTING} needs the 'API Enabled' permission and read access to the "
                "objects listed in docs/connectors/salesforce.md (read-only permission set)."
            )
        if status == 404:
            return SalesforceRequestError(
                f"Salesforce found nothing at {urlsplit(response.url).path} ({what}, {said}). "
                f"Check {BASE_URL_SETTING} (the org's My Domain URL) and "
                f"{API_VERSION_SETTING} (now {self.api_version})."
            )
        if status == 429 or status >= 500:
            return SalesforceRequestError(
                f"Salesforce kept answering {status} {said} to {what} after "
                f"{self.retry.max_attempts} attempts. Try again later; the retry budget is "
                "SOURCES__SALESFORCE__MAX_ATTEMPTS. Nothing was loaded from this run.",
                transient=True,
            )
        return SalesforceRequestError(f"Salesforce refused {what}: {status} {said}")

    def get_json(self, path: str, what: str) -> Any:
        response = self._send(self.rest, path, None, what)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise MalformedPageError(_malformed(what, response.content, "not JSON")) from None

    # -- metadata ---------------------------------------------------------------

    def data_path(self, rest: str) -> str:
        return f"/services/data/{self.api_version}/{rest}"

    def has_object(self, sobject: str) -> bool:
        if self._sobjects is None:
            listing = self.get_json(self.data_path("sobjects/"), "the list of objects")
            self._sobjects = {
                str(o["name"]).lower(): str(o["name"])
                for o in listing.get("sobjects", [])
                if o.get("queryable", True)
            }
        return sobject.lower() in self._sobjects

    def describe(self, sobject: str) -> Describe:
        key = sobject.lower()
        if key not in self._describes:
            body = self.get_json(
                self.data_path(f"sobjects/{sobject}/describe"), f"the describe of {sobject}"
            )
            fields = {
                str(f["name"]).lower(): SObjectField(
                    name=str(f["name"]),
                    type=str(f.get("type", "string")),
                    relationship_name=f.get("relationshipName"),
                    reference_to=tuple(f.get("referenceTo") or ()),
                )
                for f in body.get("fields", [])
            }
            self._describes[key] = Describe(str(body.get("name", sobject)), fields)
        return self._describes[key]

    def _resolve(self, sobject: str, path: str) -> tuple[tuple[str, ...], str] | None:
        """The canonical path and Salesforce type of `path` on `sobject`, if it exists."""
        describe = self.describe(sobject)
        head, _, tail = path.partition(".")
        if not tail:
            found = describe.get(head)
            return ((found.name,), found.type) if found else None
        relation = describe.relationship(head)
        if relation is None or not relation.reference_to:
            return None
        target = self.describe(relation.reference_to[0]).get(tail)
        if target is None:
            return None
        return (str(relation.relationship_name), target.name), target.type

    def object_spec(
        self, sobject: str, fields: Sequence[Field], mapped: Sequence[MappedField] = ()
    ) -> ObjectSpec:
        spec = ObjectSpec(sobject=sobject, fields=[])
        for f in fields:
            spec.kinds[f.column] = f.kind
            resolved = self._resolve(sobject, f.path)
            if resolved is None:
                if f.required:
                    raise SalesforceRequestError(
                        f"The Salesforce object {sobject} has no field {f.path}, which this "
                        f"connector reads; check {API_VERSION_SETTING} ({self.api_version})."
                    )
                spec.absent.append(f.column)
                continue
            spec.fields.append(ResolvedField(f.column, resolved[0], f.kind, resolved[1]))
        for m in mapped:
            spec.kinds[m.column] = m.kind
            if not m.path:
                spec.absent.append(m.column)
                continue
            resolved = self._resolve(sobject, m.path)
            if resolved is None:
                if m.explicit:
                    raise SalesforceConfigError(
                        f"{m.setting}={m.path!r}: the Salesforce object {sobject} has no such "
                        f"field{self._suggest(sobject, m.path)}. Set it to the API name of the "
                        f"field that holds the {m.column.replace('_', ' ')} (a custom field "
                        "ends in __c; a related field is written Relationship.Field), or to "
                        "an empty string to leave it empty."
                    )
                logger.info(
                    "Salesforce %s has no field %s (the default of %s): %s stays empty",
                    sobject,
                    m.path,
                    m.setting,
                    m.column,
                )
                spec.absent.append(m.column)
                continue
            path, sf_type = resolved
            allowed = _COMPATIBLE.get(m.kind)
            if allowed is not None and sf_type not in allowed:
                raise SalesforceConfigError(
                    f"{m.setting}={m.path!r}: {sobject}.{'.'.join(path)} is a {sf_type} field; "
                    f"the {m.column.replace('_', ' ')} needs a {' or '.join(sorted(allowed))} "
                    "field."
                )
            spec.fields.append(ResolvedField(m.column, path, m.kind, sf_type))
        return spec

    def _suggest(self, sobject: str, path: str) -> str:
        head = path.split(".")[0].lower()
        names = [f.name for f in self.describe(sobject).fields.values()]
        close = difflib.get_close_matches(head, [n.lower() for n in names], n=3, cutoff=0.6)
        if not close:
            return ""
        by_lower = {n.lower(): n for n in names}
        return " (did you mean " + " or ".join(by_lower[c] for c in close) + "?)"

    # -- queries ----------------------------------------------------------------

    def changes(self, spec: ObjectSpec, since: datetime | None) -> Iterator[pa.Table]:
        """Records modified after `since`, deleted ones included, oldest change first."""
        return self.query(spec, since, include_deleted=True, order_by="SystemModstamp")

    def query(
        self,
        spec: ObjectSpec,
        since: datetime | None = None,
        include_deleted: bool = False,
        order_by: str | None = None,
    ) -> Iterator[pa.Table]:
        """Every page of the SOQL query, as Arrow tables of the raw columns.

        include_deleted uses queryAll, which also returns records in the recycle bin
        (IsDeleted = true): that is how deletes reach raw_salesforce.
        """
        soql = build_soql(spec, since, order_by)
        endpoint = "queryAll" if include_deleted else "query"
        path: str = self.data_path(endpoint)
        params: dict[str, str] | None = {"q": soql}
        number, rows = 1, 0
        while True:
            what = f"page {number} of the {spec.sobject} {endpoint}"
            response = self._send(self.rest, path, params, what)
            page = parse_page(response.content, spec, what)
            rows += page.records.num_rows
            yield page.records
            if page.done:
                break
            path, params, number = page.next_url or "", None, number + 1
        logger.info(
            "Salesforce %s: %s records in %s page(s)%s",
            spec.sobject,
            rows,
            number,
            f", API usage {self.api_usage[0]}/{self.api_usage[1]}" if self.api_usage else "",
        )


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    instance_url: str

    def __repr__(self) -> str:
        return f"TokenResponse(instance_url={self.instance_url!r}, access_token=***)"


def request_access_token(
    login_url: str, client_id: str, client_secret: str, timeout: float = 60.0
) -> TokenResponse:
    """An access token by the OAuth 2.0 client-credentials flow of an External Client App.

    login_url is the org's My Domain URL (client credentials are not accepted on
    login.salesforce.com). Put the returned token in SOURCES__SALESFORCE__ACCESS_TOKEN
    and its instance_url in SOURCES__SALESFORCE__BASE_URL.
    """
    response = requests.post(
        f"{login_url.rstrip('/')}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=timeout,
    )
    if response.status_code != 200:
        code, message = _error_of(response)
        raise SalesforceAuthError(
            f"{redact_url(login_url)} refused the client-credentials request "
            f"({response.status_code} {code}: {message}). Check the External Client App's "
            "consumer key and secret, that the client-credentials flow is enabled with a "
            "'Run As' user, and that login_url is your My Domain URL."
        )
    body = orjson.loads(response.content)
    return TokenResponse(access_token=body["access_token"], instance_url=body["instance_url"])
