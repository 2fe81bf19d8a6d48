"""`SalesforceOrg`: the org's records in an in-memory DuckDB, loaded from the files
contract, and the changes tests make in it as a user would.

Conversion (`convert.py`) and reading (`queries.py`) are mixins of its one state.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from ingestion.files.contract import ENTITIES
from tests.fakes.salesforce.convert import OrgConversion
from tests.fakes.salesforce.queries import OrgQueries
from tests.fakes.salesforce.schema import API_VERSION, KEY_PREFIXES, QUOTAS, org_schema
from tests.fakes.salesforce.soql import SalesforceApiError, quote


class SalesforceOrg(OrgConversion, OrgQueries):
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
            columns = ", ".join(f"{quote(f.name)} {f.sql_type}" for f in fields)
            self.con.execute(f"CREATE TABLE {quote(name)} ({columns})")
        # Picklist options: describe lists them, SOQL toLabel() turns values into labels.
        self.con.execute(
            "CREATE TABLE picklist_values (sobject VARCHAR, field VARCHAR, value VARCHAR, "
            "label VARCHAR)"
        )

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
            columns = ", ".join(quote(n) for n in present)
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM input_batch")
            self.con.unregister("input_batch")

    def _insert(self, sobject: str, select_sql: str, **exprs: str) -> None:
        """INSERT INTO sobject the columns of `exprs` that the object has."""
        have = {f.name for f in self.schema[sobject]}
        chosen = {k: v for k, v in exprs.items() if k in have}
        columns = ", ".join(quote(k) for k in chosen)
        values = ", ".join(f"{v} AS {quote(k)}" for k, v in chosen.items())
        self.con.execute(f"INSERT INTO {quote(sobject)} ({columns}) SELECT {values} {select_sql}")

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
            sets = ", ".join(f"{quote(k)} = ?" for k in values)
            changed = self.con.execute(
                f'UPDATE {quote(name)} SET {sets} WHERE "Id" = ? RETURNING "Id"',
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
        """Move a record to the recycle bin (IsDeleted); an opportunity takes its history
        and its line items along."""
        with self._lock:
            name = self._object(sobject)
            now = self.update(name, record_id, IsDeleted=True)
            if name == "Opportunity":
                for child in ("OpportunityHistory", "OpportunityLineItem"):
                    self.con.execute(
                        f'UPDATE "{child}" SET "IsDeleted" = true, "SystemModstamp" = ? '
                        'WHERE "OpportunityId" = ? AND NOT "IsDeleted"',
                        [now, record_id],
                    )
            return now

    def add_picklist_value(self, sobject: str, field: str, value: str, label: str) -> None:
        """An option of a picklist field: its API value and its label."""
        with self._lock:
            name = self._object(sobject)
            self.con.execute(
                "INSERT INTO picklist_values VALUES (?, ?, ?, ?)",
                [name, self._field(name, field).name, value, label],
            )

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
            columns = ", ".join(quote(k) for k in values)
            marks = ", ".join("?" for _ in values)
            self.con.execute(
                f"INSERT INTO {quote(name)} ({columns}) VALUES ({marks})", list(values.values())
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
            self.con.execute(f"ALTER TABLE {quote(name)} DROP COLUMN {quote(found.name)}")

    def new_id(self, sobject: str) -> str:
        return f"{KEY_PREFIXES.get(sobject, 'a00')}NEW{next(self._ids):012d}"

    def count(self, sobject: str, include_deleted: bool = False) -> int:
        name = self._object(sobject)
        where = (
            ""
            if include_deleted or not self._has(name, "IsDeleted")
            else (' WHERE NOT "IsDeleted"')
        )
        cursor = self.con.cursor()
        return cursor.execute(f"SELECT count(*) FROM {quote(name)}{where}").fetchone()[0]

    def _has(self, name: str, field_name: str) -> bool:
        return field_name.lower() in self.fields[name.lower()]
