"""A fake Salesforce org on 127.0.0.1 that answers like the REST API documents.

    server = serve_crm({"deals": ..., "stage_history": ..., "accounts": ..., "owners": ...})
    with server:
        ... server.url, server.token ...

What it speaks (REST API, `/services/data/vXX.X/...`):

- `query?q=<SOQL>` and `queryAll?q=<SOQL>`: `{"totalSize", "done", "nextRecordsUrl",
  "records": [{"attributes": {"type", "url"}, ...}]}`, pages of `Sforce-Query-Options:
  batchSize` records (200..2000, default 2000), `nextRecordsUrl` until `done`;
  `query` hides records in the recycle bin, `queryAll` shows them with `IsDeleted`.
  The SOQL it understands: a field list (with one-level relationship paths such as
  `UserRole.Name`), `FROM`, a `WHERE` of `AND`-ed comparisons of a field with a
  literal (dateTime, date, boolean, number, 'string', null), `ORDER BY`, `LIMIT`;
  wrong fields, objects or literal types get Salesforce's 400 errors.
- `sobjects/` (describeGlobal) and `sobjects/<Object>/describe`.
- `/services/oauth2/token` (client-credentials flow) and `/services/oauth2/userinfo`.
- Errors as `[{"message", "errorCode"}]`: 401 `INVALID_SESSION_ID` for a missing or
  wrong bearer token, 403 `REQUEST_LIMIT_EXCEEDED` past the daily API limit; every
  data response carries `Sforce-Limit-Info: api-usage=<used>/<limit>`.

The org's records are converted from tables of the files contract (DESIGN.md) inside
DuckDB, so a million deals load in seconds, and a query's records are serialised to
JSON by DuckDB once per query; a page is a slice of that column joined into a body.

Fault injection on top of `FakeServer.faults`: `page_fault(sobject, page, ...)` makes
page N of an object's query fail (a status with a Salesforce error body, a dropped
connection or a malformed body), and `hold(sobject, page)` keeps a page waiting until
released, for killing a client mid-run. `served` lists every page answered.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import duckdb
import pyarrow as pa

from ingestion.files.contract import ENTITIES
from tests.fakes.server import FakeServer, Fault, Request, Response

API_VERSION = "v61.0"
SUPPORTED_VERSIONS = tuple(f"v{n}.0" for n in range(31, 67))
DEFAULT_TOKEN = "00DFAKE000000001!AQ0AQFakeSalesforceAccessTokenDoNotLog.x9Zq"
DEFAULT_CLIENT_ID = "3MVG9FakeConsumerKey"
DEFAULT_CLIENT_SECRET = "FakeConsumerSecret0123456789"
MAX_BATCH_SIZE = 2000
KEPT_FINISHED_QUERIES = 4
ORG_ID = "00D000000000001AAA"
FAR_FUTURE = date(9999, 12, 31)
FAR_PAST = date(1, 1, 1)

# Deal types of the files contract as Opportunity.Type picklist values (the connector's
# default value mapping reads them back).
DEAL_TYPE_PICKLIST = {
    "new_business": "New Customer",
    "expansion": "Existing Customer - Upgrade",
    "renewal": "Existing Customer - Replacement",
}

QUOTAS = pa.schema(
    [
        ("quota_id", pa.string()),
        ("owner_id", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("amount", pa.decimal128(18, 2)),
        ("currency", pa.string()),
    ]
)

_SQL_TYPES = {
    "boolean": "BOOLEAN",
    "currency": "DOUBLE",
    "double": "DOUBLE",
    "percent": "DOUBLE",
    "int": "INTEGER",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
}
_KEY_PREFIXES = {
    "Organization": "00D",
    "UserRole": "00E",
    "User": "005",
    "Account": "001",
    "RecordType": "012",
    "OpportunityStage": "01J",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Period": "026",
    "ForecastingQuota": "0J9",
    "CurrencyType": "01L",
    "DatedConversionRate": "04w",
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    reference_to: str | None = None
    relationship_name: str | None = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES.get(self.type, "VARCHAR")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "custom": self.custom,
            "nillable": self.name != "Id",
            "filterable": True,
            "sortable": True,
            "relationshipName": self.relationship_name,
            "referenceTo": [self.reference_to] if self.reference_to else [],
        }


def _f(name: str, type_: str = "string", ref: str | None = None, rel: str | None = None):
    return FieldDef(name, type_, ref, rel)


def org_schema(multi_currency: bool = True) -> dict[str, tuple[FieldDef, ...]]:
    """The objects and fields of the fake org (a subset of the real ones)."""
    stamp = (_f("CreatedDate", "datetime"), _f("LastModifiedDate", "datetime"))
    modstamp = _f("SystemModstamp", "datetime")
    currency = (_f("CurrencyIsoCode", "picklist"),) if multi_currency else ()
    schema: dict[str, tuple[FieldDef, ...]] = {
        "Organization": (
            _f("Id", "id"),
            _f("Name"),
            _f("DefaultCurrencyIsoCode", "picklist"),
            modstamp,
        ),
        "UserRole": (_f("Id", "id"), _f("Name"), _f("DeveloperName"), modstamp),
        "User": (
            _f("Id", "id"),
            _f("Name"),
            _f("Email", "email"),
            _f("IsActive", "boolean"),
            _f("UserRoleId", "reference", "UserRole", "UserRole"),
            _f("Department"),
            _f("UserType", "picklist"),
            *stamp,
            modstamp,
        ),
        "Account": (
            _f("Id", "id"),
            _f("Name"),
            _f("Type", "picklist"),
            _f("Industry", "picklist"),
            _f("BillingCountry"),
            _f("Segment__c", "picklist"),
            _f("Region__c", "picklist"),
            _f("IsDeleted", "boolean"),
            *currency,
            *stamp,
            modstamp,
        ),
        "RecordType": (
            _f("Id", "id"),
            _f("Name"),
            _f("DeveloperName"),
            _f("SobjectType", "picklist"),
            _f("IsActive", "boolean"),
            modstamp,
        ),
        "OpportunityStage": (
            _f("Id", "id"),
            _f("MasterLabel"),
            _f("ApiName"),
            _f("SortOrder", "int"),
            _f("DefaultProbability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("IsActive", "boolean"),
            _f("IsClosed", "boolean"),
            _f("IsWon", "boolean"),
            *stamp,
            modstamp,
        ),
        "Opportunity": (
            _f("Id", "id"),
            _f("AccountId", "reference", "Account", "Account"),
            _f("OwnerId", "reference", "User", "Owner"),
            _f("RecordTypeId", "reference", "RecordType", "RecordType"),
            _f("Name"),
            _f("StageName", "picklist"),
            _f("Amount", "currency"),
            *currency,
            _f("CloseDate", "date"),
            _f("IsClosed", "boolean"),
            _f("IsWon", "boolean"),
            _f("IsDeleted", "boolean"),
            _f("Probability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("Type", "picklist"),
            _f("Contract_Start__c", "date"),
            _f("Contract_End__c", "date"),
            _f("MRR__c", "currency"),
            _f("Loss_Reason__c", "picklist"),
            *stamp,
            modstamp,
        ),
        "OpportunityHistory": (
            _f("Id", "id"),
            _f("OpportunityId", "reference", "Opportunity", "Opportunity"),
            _f("StageName", "picklist"),
            _f("Amount", "currency"),
            *currency,
            _f("CloseDate", "date"),
            _f("Probability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("IsDeleted", "boolean"),
            _f("CreatedDate", "datetime"),
            modstamp,
        ),
        "Period": (
            _f("Id", "id"),
            _f("Type", "picklist"),
            _f("StartDate", "date"),
            _f("EndDate", "date"),
            _f("Number", "int"),
            _f("FullyQualifiedLabel"),
            _f("IsForecastPeriod", "boolean"),
            modstamp,
        ),
        "ForecastingQuota": (
            _f("Id", "id"),
            _f("QuotaOwnerId", "reference", "User", "QuotaOwner"),
            _f("QuotaAmount", "currency"),
            _f("QuotaQuantity", "double"),
            _f("IsAmount", "boolean"),
            _f("IsQuantity", "boolean"),
            _f("StartDate", "date"),
            _f("PeriodId", "reference", "Period", "Period"),
            _f("ForecastingTypeId", "reference"),
            *currency,
            *stamp,
            modstamp,
        ),
    }
    if multi_currency:
        schema["CurrencyType"] = (
            _f("Id", "id"),
            _f("IsoCode", "picklist"),
            _f("ConversionRate", "double"),
            _f("DecimalPlaces", "int"),
            _f("IsActive", "boolean"),
            _f("IsCorporate", "boolean"),
            modstamp,
        )
        schema["DatedConversionRate"] = (
            _f("Id", "id"),
            _f("IsoCode", "picklist"),
            _f("ConversionRate", "double"),
            _f("StartDate", "date"),
            _f("NextStartDate", "date"),
            modstamp,
        )
    return schema


# -- SOQL ------------------------------------------------------------------------


class SalesforceApiError(Exception):
    """An error the fake answers as Salesforce does: a status and [{message, errorCode}]."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response(self.status, [{"message": self.message, "errorCode": self.code}])


@dataclass
class Condition:
    field: str
    op: str
    value: Any
    literal_type: str  # datetime, date, boolean, number, string, null


@dataclass
class Soql:
    fields: list[str]
    sobject: str
    conditions: list[Condition]
    order_by: list[tuple[str, bool]]  # (field, descending)
    limit: int | None


_SOQL = re.compile(
    r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"\s*([\w.]+)\s*(=|!=|<>|<=|>=|<|>)\s*(.+?)\s*", re.DOTALL)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _malformed(message: str) -> SalesforceApiError:
    return SalesforceApiError(400, "MALFORMED_QUERY", message)


def _literal(text: str) -> tuple[Any, str]:
    if _DATETIME.fullmatch(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00")), "datetime"
    if _DATE.fullmatch(text):
        return date.fromisoformat(text), "date"
    if text.lower() in ("true", "false"):
        return text.lower() == "true", "boolean"
    if text.lower() == "null":
        return None, "null"
    if _NUMBER.fullmatch(text):
        return float(text), "number"
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("\\'", "'").replace("\\\\", "\\"), "string"
    raise _malformed(f"unexpected token: '{text}'")


def parse_soql(text: str) -> Soql:
    match = _SOQL.fullmatch(text or "")
    if match is None:
        raise _malformed(f"unexpected token: '{(text or '').strip()[:40]}'")
    fields = [f.strip() for f in match["fields"].split(",")]
    if any(not re.fullmatch(r"[\w]+(\.[\w]+)?", f) for f in fields):
        raise _malformed(f"unexpected token in the field list: '{match['fields']}'")
    conditions = []
    if match["where"]:
        if re.search(r"\s(OR|NOT)\s", match["where"], re.IGNORECASE):
            raise _malformed("this fake Salesforce understands only AND-ed comparisons")
        for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
            cond = _CONDITION.fullmatch(part)
            if cond is None:
                raise _malformed(f"unexpected token: '{part.strip()}'")
            value, literal_type = _literal(cond[3])
            conditions.append(Condition(cond[1], cond[2], value, literal_type))
    order_by = []
    if match["order"]:
        for part in match["order"].split(","):
            words = part.split()
            if not words or len(words) > 4:
                raise _malformed(f"unexpected token: '{part.strip()}'")
            order_by.append((words[0], len(words) > 1 and words[1].upper() == "DESC"))
    limit = int(match["limit"]) if match["limit"] else None
    return Soql(fields, match["sobject"], conditions, order_by, limit)


def _quote(name: str) -> str:
    return '"' + name + '"'


# -- the org ---------------------------------------------------------------------


class SalesforceOrg:
    """The org's records in an in-memory DuckDB database, one table per object."""

    def __init__(
        self,
        *,
        corporate_currency: str = "EUR",
        multi_currency: bool = True,
        api_version: str = API_VERSION,
    ) -> None:
        self.corporate_currency = corporate_currency
        self.multi_currency = multi_currency
        self.api_version = api_version
        self.schema = org_schema(multi_currency)
        self.fields = {
            name.lower(): {f.name.lower(): f for f in fields}
            for name, fields in self.schema.items()
        }
        self.names = {name.lower(): name for name in self.schema}
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.clock = datetime(2020, 1, 1, tzinfo=UTC)
        for name, fields in self.schema.items():
            columns = ", ".join(f"{_quote(f.name)} {f.sql_type}" for f in fields)
            self.con.execute(f"CREATE TABLE {_quote(name)} ({columns})")

    # -- loading ------------------------------------------------------------------

    @classmethod
    def from_crm(
        cls,
        tables: Mapping[str, pa.Table | pa.RecordBatch | Iterable[pa.Table | pa.RecordBatch]],
        *,
        quotas: pa.Table | None = None,
        corporate_currency: str = "EUR",
        multi_currency: bool = True,
        api_version: str = API_VERSION,
    ) -> SalesforceOrg:
        """An org holding the CRM given as files-contract tables (`deals`, `accounts`...).

        `fx_rates` become dated conversion rates against `corporate_currency` (the
        reporting currency); `quotas` (schema QUOTAS) become ForecastingQuota records.
        """
        org = cls(
            corporate_currency=corporate_currency,
            multi_currency=multi_currency,
            api_version=api_version,
        )
        unknown = set(tables) - set(ENTITIES)
        if unknown:
            raise ValueError(f"not entities of the files contract: {sorted(unknown)}")
        for name, entity in ENTITIES.items():
            org._ingest(f"src_{name}", entity.schema, tables.get(name, ()))
        org._ingest("src_quotas", QUOTAS, quotas if quotas is not None else ())
        with org._lock:
            org._convert()
        return org

    def _ingest(self, table: str, schema: pa.Schema, value: Any) -> None:
        self.con.register("empty_input", schema.empty_table())
        self.con.execute(f"CREATE TABLE {table} AS SELECT * FROM empty_input")
        self.con.unregister("empty_input")
        batches = [value] if isinstance(value, pa.Table | pa.RecordBatch) else value
        for batch in batches:
            present = [n for n in batch.schema.names if n in schema.names]
            self.con.register("input_batch", batch)
            columns = ", ".join(_quote(n) for n in present)
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM input_batch")
            self.con.unregister("input_batch")

    def _insert(self, sobject: str, select_sql: str, **exprs: str) -> None:
        """INSERT INTO sobject the columns of `exprs` that the object has."""
        have = {f.name for f in self.schema[sobject]}
        chosen = {k: v for k, v in exprs.items() if k in have}
        columns = ", ".join(_quote(k) for k in chosen)
        values = ", ".join(f"{v} AS {_quote(k)}" for k, v in chosen.items())
        self.con.execute(f"INSERT INTO {_quote(sobject)} ({columns}) SELECT {values} {select_sql}")

    def _convert(self) -> None:
        con = self.con
        first = con.execute(
            """
            SELECT least(
                (SELECT min(created_at) FROM src_deals),
                (SELECT min(created_at) FROM src_accounts),
                (SELECT min(entered_at) FROM src_stage_history))
            """
        ).fetchone()[0]
        founded = (first or datetime(2020, 1, 1, tzinfo=UTC)).astimezone(UTC)
        founded = datetime(founded.year, founded.month, founded.day, tzinfo=UTC) - timedelta(
            days=30
        )
        con.execute("CREATE TEMP TABLE org_clock AS SELECT ?::TIMESTAMPTZ AS founded", [founded])
        founded_sql = "(SELECT founded FROM org_clock)"
        corporate = f"'{self.corporate_currency}'"

        def ids(sobject: str, order: str) -> str:
            return (
                f"'{_KEY_PREFIXES[sobject]}' || lpad(CAST(row_number() OVER (ORDER BY {order}) "
                "AS VARCHAR), 15, '0')"
            )

        self._insert(
            "Organization",
            "",
            Id=f"'{ORG_ID}'",
            Name="'Fake Org'",
            DefaultCurrencyIsoCode=corporate,
            SystemModstamp=founded_sql,
        )
        self._insert(
            "UserRole",
            "FROM (SELECT DISTINCT team FROM src_owners WHERE team IS NOT NULL)",
            Id=ids("UserRole", "team"),
            Name="team",
            DeveloperName="regexp_replace(team, '\\W+', '_', 'g')",
            SystemModstamp=founded_sql,
        )
        self._insert(
            "User",
            'FROM src_owners o LEFT JOIN "UserRole" r ON r."Name" = o.team',
            Id="o.owner_id",
            Name="o.name",
            Email="o.email",
            IsActive="true",
            UserRoleId='r."Id"',
            Department="o.team",
            UserType="'Standard'",
            CreatedDate=founded_sql,
            LastModifiedDate=founded_sql,
            SystemModstamp=founded_sql,
        )
        self._insert(
            "Account",
            "FROM src_accounts",
            Id="account_id",
            Name="name",
            Type="'Customer'",
            Industry="industry",
            Segment__c="segment",
            Region__c="region",
            IsDeleted="false",
            CurrencyIsoCode=corporate,
            CreatedDate=f"coalesce(created_at, {founded_sql})",
            LastModifiedDate=f"coalesce(created_at, {founded_sql})",
            SystemModstamp=f"coalesce(created_at, {founded_sql})",
        )
        self._insert(
            "RecordType",
            "FROM (SELECT DISTINCT pipeline FROM src_deals)",
            Id=ids("RecordType", "pipeline"),
            Name="pipeline",
            DeveloperName="regexp_replace(pipeline, '\\W+', '_', 'g')",
            SobjectType="'Opportunity'",
            IsActive="true",
            SystemModstamp=founded_sql,
        )
        # Salesforce stages are one list for all record types: a stage keeps the
        # probability and order of its first pipeline.
        con.execute(
            """
            CREATE TEMP TABLE stage_list AS
            WITH given AS (
                SELECT stage, arg_min(probability, pipeline) AS probability,
                       min(display_order) AS display_order
                FROM src_stages GROUP BY stage
            ),
            used AS (
                SELECT stage, bool_or(status = 'won') AS won, bool_or(status <> 'open') AS closed,
                       bool_and(status = 'won') AS all_won, bool_and(status = 'lost') AS all_lost,
                       min(created_at) AS first_seen
                FROM src_deals GROUP BY stage
            )
            SELECT coalesce(g.stage, u.stage) AS stage,
                   coalesce(CAST(g.probability AS DOUBLE) * 100,
                            CASE WHEN u.all_won THEN 100 WHEN u.all_lost THEN 0 ELSE 50 END)
                       AS probability,
                   coalesce(g.display_order,
                            1000 + row_number() OVER (ORDER BY u.first_seen, u.stage))
                       AS display_order,
                   coalesce(u.won, false) AS won, coalesce(u.closed, false) AS closed
            FROM given g FULL OUTER JOIN used u ON u.stage = g.stage
            """
        )
        self._insert(
            "OpportunityStage",
            "FROM stage_list",
            Id=ids("OpportunityStage", "display_order, stage"),
            MasterLabel="stage",
            ApiName="stage",
            SortOrder="display_order",
            DefaultProbability="probability",
            ForecastCategory=(
                "CASE WHEN won THEN 'Closed' WHEN closed THEN 'Omitted' ELSE 'Pipeline' END"
            ),
            IsActive="true",
            IsClosed="closed",
            IsWon="won",
            CreatedDate=founded_sql,
            LastModifiedDate=founded_sql,
            SystemModstamp=founded_sql,
        )
        deal_type = "CASE d.deal_type " + " ".join(
            f"WHEN '{k}' THEN '{v}'" for k, v in DEAL_TYPE_PICKLIST.items()
        )
        modified = "coalesce(d.updated_at, d.closed_at, d.created_at)"
        self._insert(
            "Opportunity",
            'FROM src_deals d LEFT JOIN "RecordType" rt ON rt."Name" = d.pipeline '
            "LEFT JOIN stage_list s ON s.stage = d.stage",
            Id="d.deal_id",
            AccountId="d.account_id",
            OwnerId="d.owner_id",
            RecordTypeId='rt."Id"',
            Name="'Opportunity ' || d.deal_id",
            StageName="d.stage",
            Amount="CAST(d.amount AS DOUBLE)",
            CurrencyIsoCode="d.currency",
            # Salesforce keeps a close date, not a time; an open deal's is expected.
            CloseDate="coalesce(CAST(d.closed_at AS DATE), CAST(d.created_at AS DATE) + 90)",
            IsClosed="d.status <> 'open'",
            IsWon="d.status = 'won'",
            IsDeleted="false",
            Probability=(
                "CASE d.status WHEN 'won' THEN 100 WHEN 'lost' THEN 0 "
                "ELSE coalesce(s.probability, 50) END"
            ),
            ForecastCategory=(
                "CASE d.status WHEN 'won' THEN 'Closed' WHEN 'lost' THEN 'Omitted' "
                "ELSE 'Pipeline' END"
            ),
            Type=f"{deal_type} END",
            Contract_Start__c="d.contract_start",
            Contract_End__c="d.contract_end",
            MRR__c="CAST(d.mrr AS DOUBLE)",
            Loss_Reason__c="d.lost_reason",
            CreatedDate="d.created_at",
            LastModifiedDate=modified,
            SystemModstamp=modified,
        )
        # Every stage change is a history row; every fourth deal also has an amount
        # change inside its first stage (same StageName), as real orgs do.
        con.execute(
            """
            CREATE TEMP TABLE history_rows AS
            WITH h AS (
                SELECT sh.deal_id, sh.stage, sh.entered_at,
                       lead(sh.entered_at) OVER (PARTITION BY sh.deal_id
                                                 ORDER BY sh.entered_at, sh.stage) AS next_at,
                       row_number() OVER (PARTITION BY sh.deal_id
                                          ORDER BY sh.entered_at, sh.stage) AS n,
                       dense_rank() OVER (ORDER BY sh.deal_id) AS deal_n
                FROM src_stage_history sh
            )
            SELECT deal_id, stage, entered_at AS at, 0 AS kind FROM h
            UNION ALL
            SELECT deal_id, stage,
                   date_trunc('millisecond',
                              to_timestamp((epoch(entered_at) + epoch(next_at)) / 2)),
                   1
            FROM h
            WHERE n = 1 AND deal_n % 4 = 0 AND next_at - entered_at > INTERVAL 2 SECOND
            """
        )
        self._insert(
            "OpportunityHistory",
            'FROM history_rows h JOIN "Opportunity" o ON o."Id" = h.deal_id '
            "LEFT JOIN stage_list s ON s.stage = h.stage",
            Id=ids("OpportunityHistory", "h.deal_id, h.at, h.kind, h.stage"),
            OpportunityId="h.deal_id",
            StageName="h.stage",
            Amount='o."Amount"',
            CurrencyIsoCode='o."CurrencyIsoCode"',
            CloseDate='o."CloseDate"',
            Probability="coalesce(s.probability, 50)",
            ForecastCategory='o."ForecastCategory"',
            IsDeleted="false",
            CreatedDate="h.at",
            SystemModstamp="h.at",
        )
        self._insert(
            "Period",
            "FROM (SELECT DISTINCT period_start, period_end FROM src_quotas)",
            Id=ids("Period", "period_start, period_end"),
            Type=(
                "CASE date_diff('month', period_start, period_end + 1) WHEN 1 THEN 'Month' "
                "WHEN 3 THEN 'Quarter' WHEN 12 THEN 'Year' ELSE 'Month' END"
            ),
            StartDate="period_start",
            EndDate="period_end",
            Number="month(period_start)",
            FullyQualifiedLabel="strftime(period_start, '%B FY%Y')",
            IsForecastPeriod="true",
            SystemModstamp=founded_sql,
        )
        self._insert(
            "ForecastingQuota",
            'FROM src_quotas q JOIN "Period" p ON p."StartDate" = q.period_start '
            'AND p."EndDate" = q.period_end',
            Id=f"coalesce(q.quota_id, {ids('ForecastingQuota', 'q.owner_id, q.period_start')})",
            QuotaOwnerId="q.owner_id",
            QuotaAmount="CAST(q.amount AS DOUBLE)",
            IsAmount="true",
            IsQuantity="false",
            StartDate="q.period_start",
            PeriodId='p."Id"',
            ForecastingTypeId="'0Db000000000001AAA'",
            CurrencyIsoCode=f"coalesce(q.currency, {corporate})",
            CreatedDate=founded_sql,
            LastModifiedDate=founded_sql,
            SystemModstamp=founded_sql,
        )
        if self.multi_currency:
            self._convert_rates(founded_sql, corporate, ids)
        last = con.execute(
            'SELECT max(m) FROM (SELECT max("SystemModstamp") AS m FROM "Opportunity" '
            'UNION ALL SELECT max("SystemModstamp") FROM "OpportunityHistory" '
            'UNION ALL SELECT max("SystemModstamp") FROM "Account")'
        ).fetchone()[0]
        self.clock = (last or founded).astimezone(UTC) + timedelta(hours=1)

    def _convert_rates(self, founded_sql: str, corporate: str, ids: Any) -> None:
        # ConversionRate is units of the currency per unit of the corporate currency: the
        # inverse of the files contract's rate. The first dated rate of a currency holds
        # from 0001-01-01, as in an org where advanced currency management was enabled.
        self.con.execute(
            f"""
            CREATE TEMP TABLE rate_rows AS
            SELECT currency AS iso, 1.0 / CAST(rate AS DOUBLE) AS conversion_rate,
                   CASE WHEN row_number() OVER (PARTITION BY currency ORDER BY date) = 1
                        THEN DATE '0001-01-01' ELSE date END AS start_date,
                   coalesce(lead(date) OVER (PARTITION BY currency ORDER BY date),
                            DATE '9999-12-31') AS next_start_date
            FROM src_fx_rates WHERE currency <> {corporate}
            UNION ALL
            SELECT {corporate}, 1.0, DATE '0001-01-01', DATE '9999-12-31'
            """
        )
        self._insert(
            "DatedConversionRate",
            "FROM rate_rows",
            Id=ids("DatedConversionRate", "iso, start_date"),
            IsoCode="iso",
            ConversionRate="conversion_rate",
            StartDate="start_date",
            NextStartDate="next_start_date",
            SystemModstamp=founded_sql,
        )
        self._insert(
            "CurrencyType",
            "FROM (SELECT iso, arg_max(conversion_rate, start_date) AS rate FROM rate_rows "
            "GROUP BY iso UNION SELECT DISTINCT currency, NULL FROM src_deals "
            "WHERE currency NOT IN (SELECT iso FROM rate_rows))",
            Id=ids("CurrencyType", "iso"),
            IsoCode="iso",
            ConversionRate="coalesce(rate, 1.0)",
            DecimalPlaces="2",
            IsActive="true",
            IsCorporate=f"iso = {corporate}",
            SystemModstamp=founded_sql,
        )

    # -- changes (as a user would make them) ----------------------------------------

    def tick(self) -> datetime:
        """The time of the next change: every change happens a second after the last."""
        with self._lock:
            self.clock += timedelta(seconds=1)
            return self.clock

    def _object(self, sobject: str) -> str:
        name = self.names.get(sobject.lower())
        if name is None:
            raise SalesforceApiError(
                400,
                "INVALID_TYPE",
                f"sObject type '{sobject}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name.",
            )
        return name

    def update(self, sobject: str, record_id: str, **values: Any) -> datetime:
        """Change fields of a record; SystemModstamp moves, and a stage, amount or close
        date change of an opportunity writes an OpportunityHistory row."""
        with self._lock:
            name = self._object(sobject)
            now = self.tick()
            values = dict(values)
            if any(f.name == "LastModifiedDate" for f in self.schema[name]):
                values.setdefault("LastModifiedDate", now)
            values["SystemModstamp"] = now
            sets = ", ".join(f"{_quote(k)} = ?" for k in values)
            changed = self.con.execute(
                f'UPDATE {_quote(name)} SET {sets} WHERE "Id" = ? RETURNING "Id"',
                [*values.values(), record_id],
            ).fetchall()
            if not changed:
                raise KeyError(f"no {name} {record_id}")
            if name == "Opportunity" and {"StageName", "Amount", "CloseDate"} & set(values):
                self._history_row(record_id, now)
            return now

    def _history_row(self, opportunity_id: str, now: datetime) -> None:
        currency = ', "CurrencyIsoCode"' if self.multi_currency else ""
        self.con.execute(
            f"""
            INSERT INTO "OpportunityHistory" ("Id", "OpportunityId", "StageName", "Amount",
                "CloseDate", "Probability", "ForecastCategory", "IsDeleted", "CreatedDate",
                "SystemModstamp"{currency})
            SELECT ?, "Id", "StageName", "Amount", "CloseDate", "Probability",
                   "ForecastCategory", false, ?, ?{currency}
            FROM "Opportunity" WHERE "Id" = ?
            """,
            [self.new_id("OpportunityHistory"), now, now, opportunity_id],
        )

    def delete(self, sobject: str, record_id: str) -> datetime:
        """Move a record to the recycle bin (IsDeleted); an opportunity takes its history."""
        with self._lock:
            name = self._object(sobject)
            now = self.update(name, record_id, IsDeleted=True)
            if name == "Opportunity":
                self.con.execute(
                    'UPDATE "OpportunityHistory" SET "IsDeleted" = true, "SystemModstamp" = ? '
                    'WHERE "OpportunityId" = ?',
                    [now, record_id],
                )
            return now

    def insert(self, sobject: str, **values: Any) -> str:
        """Create a record (Id, CreatedDate and SystemModstamp are set for you)."""
        with self._lock:
            name = self._object(sobject)
            now = self.tick()
            have = {f.name for f in self.schema[name]}
            values = {"Id": self.new_id(name), **values}
            for stamp in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                if stamp in have:
                    values.setdefault(stamp, now)
            if "IsDeleted" in have:
                values.setdefault("IsDeleted", False)
            columns = ", ".join(_quote(k) for k in values)
            marks = ", ".join("?" for _ in values)
            self.con.execute(
                f"INSERT INTO {_quote(name)} ({columns}) VALUES ({marks})", list(values.values())
            )
            if name == "Opportunity":
                self._history_row(values["Id"], now)
            return str(values["Id"])

    def remove_field(self, sobject: str, field_name: str) -> None:
        """Take a field out of the org, as in an org that never created it."""
        with self._lock:
            name = self._object(sobject)
            found = self._field(name, field_name)
            self.schema[name] = tuple(f for f in self.schema[name] if f is not found)
            del self.fields[name.lower()][found.name.lower()]
            self.con.execute(f"ALTER TABLE {_quote(name)} DROP COLUMN {_quote(found.name)}")

    def new_id(self, sobject: str) -> str:
        return f"{_KEY_PREFIXES.get(sobject, 'a00')}NEW{next(self._ids):012d}"

    def count(self, sobject: str, include_deleted: bool = False) -> int:
        name = self._object(sobject)
        where = (
            ""
            if include_deleted or not self._has(name, "IsDeleted")
            else (' WHERE NOT "IsDeleted"')
        )
        cursor = self.con.cursor()
        return cursor.execute(f"SELECT count(*) FROM {_quote(name)}{where}").fetchone()[0]

    def _has(self, name: str, field_name: str) -> bool:
        return field_name.lower() in self.fields[name.lower()]

    # -- reading ----------------------------------------------------------------------

    def describe(self, sobject: str) -> dict[str, Any]:
        name = self._object(sobject)
        return {
            "name": name,
            "label": name,
            "keyPrefix": _KEY_PREFIXES.get(name),
            "queryable": True,
            "fields": [f.describe() for f in self.schema[name]],
        }

    def describe_global(self) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                {
                    "name": name,
                    "label": name,
                    "keyPrefix": _KEY_PREFIXES.get(name),
                    "queryable": True,
                    "custom": False,
                    "urls": {
                        "sobject": f"/services/data/{self.api_version}/sobjects/{name}",
                        "describe": f"/services/data/{self.api_version}/sobjects/{name}/describe",
                    },
                }
                for name in self.schema
            ],
        }

    def _field(self, sobject: str, name: str) -> FieldDef:
        found = self.fields[sobject.lower()].get(name.lower())
        if found is None:
            raise SalesforceApiError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{sobject}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field "
                "name. Please reference your WSDL or the describe call for the appropriate "
                "names.",
            )
        return found

    def _relationship(self, sobject: str, name: str) -> FieldDef:
        for f in self.schema[sobject]:
            if f.relationship_name and f.relationship_name.lower() == name.lower():
                return f
        raise SalesforceApiError(
            400,
            "INVALID_FIELD",
            f"Didn't understand relationship '{name}' in field path. If you are attempting "
            "to use a custom relationship, be sure to append the '__r' after the custom "
            "relationship name.",
        )

    def _json_value(self, alias: str, f: FieldDef) -> str:
        column = f"{alias}.{_quote(f.name)}"
        if f.type == "datetime":
            return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%g+0000')"
        return column

    def run_query(self, soql: Soql, include_deleted: bool) -> tuple[str, pa.ChunkedArray]:
        """The matching records of a query as a column of JSON texts, in result order."""
        name = self._object(soql.sobject)
        version = self.api_version
        url = f"'/services/data/{version}/sobjects/{name}/' || t.\"Id\""
        pairs = [f"'attributes', json_object('type', '{name}', 'url', {url})"]
        joins: dict[str, tuple[str, FieldDef, str, list[str]]] = {}
        seen: set[str] = set()
        for path in soql.fields:
            head, _, tail = path.partition(".")
            key = path.lower()
            if key in seen:
                raise _malformed(f"duplicate field selected: {path}")
            seen.add(key)
            if not tail:
                f = self._field(name, head)
                pairs.append(f"'{f.name}', {self._json_value('t', f)}")
                continue
            reference = self._relationship(name, head)
            target = str(reference.reference_to)
            relation = str(reference.relationship_name)
            if relation not in joins:
                alias = f"r{len(joins)}"
                joins[relation] = (alias, reference, target, [])
                pairs.append(f"'{relation}', {{{relation}}}")
            alias = joins[relation][0]
            sub = self._field(target, tail)
            joins[relation][3].append(f"'{sub.name}', {self._json_value(alias, sub)}")
        record = "json_object(" + ", ".join(pairs) + ")"
        join_sql = ""
        for relation, (alias, reference, target, subpairs) in joins.items():
            target_url = f"'/services/data/{version}/sobjects/{target}/' || {alias}.\"Id\""
            nested = (
                f"CASE WHEN {alias}.\"Id\" IS NULL THEN NULL ELSE json_object('attributes', "
                f"json_object('type', '{target}', 'url', {target_url}), "
                + ", ".join(subpairs)
                + ") END"
            )
            record = record.replace(f"{{{relation}}}", nested)
            join_sql += (
                f' LEFT JOIN {_quote(target)} {alias} ON {alias}."Id" = t.{_quote(reference.name)}'
            )
        where, params = [], []
        if self._has(name, "IsDeleted") and not include_deleted:
            where.append('NOT t."IsDeleted"')
        for cond in soql.conditions:
            f = self._field(name, cond.field)
            where.append(self._condition(name, f, cond, params))
        order = [
            f"t.{_quote(self._field(name, o).name)} {'DESC' if desc else 'ASC'}"
            for o, desc in soql.order_by
        ]
        sql = f"SELECT CAST({record} AS VARCHAR) FROM {_quote(name)} t{join_sql}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join([*order, 't."Id"'])
        if soql.limit is not None:
            sql += f" LIMIT {soql.limit}"
        with self._lock:
            cursor = self.con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return name, cursor.sql(sql, params=params).to_arrow_table().column(0)

    @staticmethod
    def _condition(sobject: str, f: FieldDef, cond: Condition, params: list[Any]) -> str:
        op = "<>" if cond.op == "!=" else cond.op
        column = f"t.{_quote(f.name)}"
        if cond.literal_type == "null":
            if op not in ("=", "<>"):
                raise _malformed(f"null can only be compared with = or != ({f.name})")
            return f"{column} IS {'NOT ' if op == '<>' else ''}NULL"
        expected = {
            "datetime": "datetime",
            "date": "date",
            "boolean": "boolean",
            "int": "number",
            "double": "number",
            "currency": "number",
            "percent": "number",
        }.get(f.type, "string")
        if cond.literal_type != expected:
            words = {"datetime": "dateTime", "number": "number"}.get(expected, expected)
            raise SalesforceApiError(
                400,
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type {words}"
                + (" and should not be enclosed in quotes" if expected != "string" else ""),
            )
        params.append(cond.value)
        return f"{column} {op} ?"


# -- the server ------------------------------------------------------------------------


@dataclass
class ServedPage:
    sobject: str
    endpoint: str  # query or queryAll
    soql: str
    page: int
    records: int
    total_size: int


@dataclass
class _Locator:
    sobject: str
    endpoint: str
    soql: str
    records: pa.ChunkedArray
    batch_size: int


@dataclass
class Hold:
    """A page that waits until `release` is set; `arrived` is set when it is asked for."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class PageFault(Fault):
    """A fault on page `page` of the query of `sobject` (page 1 is the /query call)."""

    sobject: str = ""
    page: int = 1
    server: FakeSalesforce | None = field(default=None, repr=False)

    def matches(self, request: Request) -> bool:
        assert self.server is not None
        if self._fired >= self.times or self.server.page_of(request) != (
            self.sobject.lower(),
            self.page,
        ):
            return False
        self._fired += 1
        return True


_DATA = r"/services/data/(?P<version>v\d+\.\d)"
_MORE = re.compile(_DATA + r"/(?:query|queryAll)/(?P<locator>01g\w+)-(?P<offset>\d+)/?")
_QUERY = re.compile(_DATA + r"/(?P<endpoint>query|queryAll)/?")
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


class FakeSalesforce(FakeServer):
    """The REST API of a `SalesforceOrg` on a free port of 127.0.0.1."""

    def __init__(
        self,
        org: SalesforceOrg,
        *,
        token: str = DEFAULT_TOKEN,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        issued_token_prefix: str = "00DFAKE000000001!AQ0AQIssued",
        api_limit: int = 1_000_000,
        min_batch_size: int = 200,
    ) -> None:
        super().__init__()
        self.org = org
        self.token = token
        self.tokens = {token}
        self.client_id = client_id
        self.client_secret = client_secret
        self.issued_token_prefix = issued_token_prefix
        self.api_limit = api_limit
        self.api_usage = 0
        self.min_batch_size = min_batch_size
        self.served: list[ServedPage] = []
        self.holds: dict[tuple[str, int], Hold] = {}
        self._locators: dict[str, _Locator] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._locator_ids = itertools.count(1)
        self._state = threading.Lock()
        self.route("POST", r"/services/oauth2/token", self._token)
        self.route("GET", r"/services/oauth2/userinfo", self._userinfo)
        self.route("GET", r"/services/data/?", self._versions)
        self.route("GET", _DATA + r"/sobjects/?", self._data(self._describe_global))
        self.route("GET", _DATA + r"/sobjects/(\w+)/describe/?", self._data(self._describe))
        self.route("GET", _MORE.pattern, self._data(self._more))
        self.route("GET", _QUERY.pattern, self._data(self._query))

    # -- test helpers -------------------------------------------------------------------

    def page_fault(
        self,
        sobject: str,
        page: int,
        kind: str = "status",
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "Server temporarily unavailable, please try again later.",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> PageFault:
        """Make page `page` of the next queries of `sobject` fail `times` times."""
        response = None
        if kind == "status":
            response = Response(
                status, [{"message": message, "errorCode": error_code}], dict(headers or {})
            )
        fault = PageFault(
            path_pattern="",
            kind=kind,
            response=response,
            times=times,
            sobject=sobject,
            page=page,
            server=self,
        )
        self.faults.append(fault)
        return fault

    def hold(self, sobject: str, page: int) -> Hold:
        hold = Hold()
        self.holds[(sobject.lower(), page)] = hold
        return hold

    def page_of(self, request: Request) -> tuple[str, int] | None:
        """(object, page number) of a query request, None for other requests."""
        more = _MORE.fullmatch(request.path)
        if more:
            locator = self._locators.get(more["locator"])
            if locator is None:
                return None
            return locator.sobject.lower(), int(more["offset"]) // locator.batch_size + 1
        if _QUERY.fullmatch(request.path):
            found = _FROM.search(request.arg("q") or "")
            return (found[1].lower(), 1) if found else None
        return None

    def served_for(self, sobject: str) -> list[ServedPage]:
        return [p for p in self.served if p.sobject.lower() == sobject.lower()]

    def queries_of(self, sobject: str) -> list[str]:
        """The SOQL of every query (first page) asked about `sobject`."""
        return [p.soql for p in self.served_for(sobject) if p.page == 1]

    # -- handlers -------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer ") :] in self.tokens

    def _data(self, handler: Any) -> Any:
        """Wrap a data handler: auth, API version, daily limit, Sforce-Limit-Info."""

        def wrapped(request: Request) -> Response:
            version = re.match(_DATA, request.path)
            if not self._authorised(request):
                response = Response(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                    {"WWW-Authenticate": 'Token realm="Salesforce"'},
                )
            elif version is None or version["version"] not in SUPPORTED_VERSIONS:
                response = Response(
                    404,
                    [
                        {
                            "errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist",
                        }
                    ],
                )
            else:
                with self._state:
                    self.api_usage += 1
                    over = self.api_usage > self.api_limit
                if over:
                    response = Response(
                        403,
                        [
                            {
                                "message": "TotalRequests Limit exceeded.",
                                "errorCode": "REQUEST_LIMIT_EXCEEDED",
                            }
                        ],
                    )
                else:
                    try:
                        response = handler(request)
                    except SalesforceApiError as exc:
                        response = exc.response()
            response.headers.setdefault(
                "Sforce-Limit-Info",
                f"api-usage={min(self.api_usage, self.api_limit)}/{self.api_limit}",
            )
            return response

        return wrapped

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Response(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        issued = f"{self.issued_token_prefix}{len(self.tokens):04d}Token"
        self.tokens.add(issued)
        return Response(
            200,
            {
                "access_token": issued,
                "signature": "ZmFrZS1zaWduYXR1cmU=",
                "scope": "api",
                "instance_url": self.url,
                "id": f"{self.url}/id/{ORG_ID}/005000000000001AAA",
                "token_type": "Bearer",
                "issued_at": str(int(self.org.clock.timestamp() * 1000)),
            },
        )

    def _userinfo(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(
                401, {"error": "invalid_token", "error_description": "access token is invalid"}
            )
        base = f"{self.url}/services/data/v{{version}}"
        return Response(
            200,
            {
                "sub": f"{self.url}/id/{ORG_ID}/005000000000001AAA",
                "user_id": "005000000000001AAA",
                "organization_id": ORG_ID,
                "preferred_username": "integration@example.com",
                "urls": {
                    "rest": f"{base}/",
                    "sobjects": f"{base}/sobjects/",
                    "query": f"{base}/query/",
                    "profile": f"{self.url}/005000000000001AAA",
                },
            },
        )

    def _versions(self, request: Request) -> Response:
        return Response(
            200,
            [
                {"label": v, "url": f"/services/data/{v}", "version": v[1:]}
                for v in SUPPORTED_VERSIONS
            ],
        )

    def _describe_global(self, request: Request) -> Response:
        return Response(200, self.org.describe_global())

    def _describe(self, request: Request) -> Response:
        sobject = request.path.rstrip("/").split("/")[-2]
        try:
            return Response(200, self.org.describe(sobject))
        except SalesforceApiError:
            return Response(
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )

    def _batch_size(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        found = re.search(r"batchSize=(\d+)", options)
        if not found:
            return MAX_BATCH_SIZE
        return max(self.min_batch_size, min(MAX_BATCH_SIZE, int(found[1])))

    def _query(self, request: Request) -> Response:
        match = _QUERY.fullmatch(request.path)
        assert match is not None
        text = request.arg("q")
        if not text:
            raise _malformed("A query string has to be specified")
        soql = parse_soql(text)
        sobject, records = self.org.run_query(soql, match["endpoint"] == "queryAll")
        with self._state:
            locator = f"01g{next(self._locator_ids):015d}"
            self._locators[locator] = _Locator(
                sobject, match["endpoint"], text, records, self._batch_size(request)
            )
        return self._page(request, locator, 0)

    def _more(self, request: Request) -> Response:
        match = _MORE.fullmatch(request.path)
        assert match is not None
        if match["locator"] not in self._locators:
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, match["locator"], int(match["offset"]))

    def _page(self, request: Request, locator_id: str, offset: int) -> Response:
        locator = self._locators[locator_id]
        page = offset // locator.batch_size + 1
        hold = self.holds.get((locator.sobject.lower(), page))
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(timeout=120)
        total = len(locator.records)
        chunk = locator.records.slice(offset, locator.batch_size)
        end = offset + len(chunk)
        done = end >= total
        head = f'{{"totalSize":{total},"done":{"true" if done else "false"},'
        if not done:
            url = f"/services/data/{self.org.api_version}/query/{locator_id}-{end}"
            head += f'"nextRecordsUrl":"{url}",'
        body = head + '"records":[' + ",".join(chunk.to_pylist()) + "]}"
        with self._state:
            self.served.append(
                ServedPage(locator.sobject, locator.endpoint, locator.soql, page, len(chunk), total)
            )
            if done:
                # A read-out result is kept a little (its last page may be asked again),
                # then dropped: a million-record query holds about a gigabyte of JSON.
                self._finished[locator_id] = None
                while len(self._finished) > KEPT_FINISHED_QUERIES:
                    self._locators.pop(self._finished.popitem(last=False)[0], None)
        return Response(200, body.encode())


def serve_crm(
    tables: Mapping[str, pa.Table | pa.RecordBatch | Iterable[pa.Table | pa.RecordBatch]],
    *,
    quotas: pa.Table | None = None,
    corporate_currency: str = "EUR",
    multi_currency: bool = True,
    api_version: str = API_VERSION,
    **server_options: Any,
) -> FakeSalesforce:
    """A fake Salesforce serving the CRM given as files-contract tables (not started).

    server_options go to FakeSalesforce: token, client_id, client_secret,
    issued_token_prefix (of the tokens the client-credentials flow issues), api_limit,
    min_batch_size (Salesforce's is 200; tests lower it to page small data).
    """
    org = SalesforceOrg.from_crm(
        tables,
        quotas=quotas,
        corporate_currency=corporate_currency,
        multi_currency=multi_currency,
        api_version=api_version,
    )
    return FakeSalesforce(org, **server_options)
