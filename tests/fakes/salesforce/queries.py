"""Reading the org: describe, describeGlobal, and a SOQL query run in DuckDB with each
record serialised to Salesforce's JSON.

Separate from `org.py` (loading and changing records) and `soql.py` (parsing).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tests.fakes.salesforce.schema import KEY_PREFIXES, PICKLIST_TYPES, FieldDef
from tests.fakes.salesforce.soql import Condition, SalesforceApiError, Soql, malformed, quote


class OrgQueries:
    """Mixed into SalesforceOrg: reads `schema`, `fields`, `con`, `api_version` and
    `_object`."""

    def describe(self, sobject: str) -> dict[str, Any]:
        name = self._object(sobject)
        with self._lock:
            cursor = self.con.cursor()
        options: dict[str, list[dict[str, Any]]] = {}
        for field, value, label in cursor.execute(
            "SELECT field, value, max(label) FROM picklist_values WHERE sobject = ? "
            "GROUP BY field, value ORDER BY field, value",
            [name],
        ).fetchall():
            options.setdefault(field, []).append(
                {
                    "active": True,
                    "defaultValue": False,
                    "label": label,
                    "validFor": None,
                    "value": value,
                }
            )
        fields = []
        for f in self.schema[name]:
            described = f.describe()
            described["picklistValues"] = (
                options.get(f.name, []) if f.type in PICKLIST_TYPES else []
            )
            fields.append(described)
        return {
            "name": name,
            "label": name,
            "keyPrefix": KEY_PREFIXES.get(name),
            "queryable": True,
            "fields": fields,
        }

    def describe_global(self) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                {
                    "name": name,
                    "label": name,
                    "keyPrefix": KEY_PREFIXES.get(name),
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
        column = f"{alias}.{quote(f.name)}"
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
        labels: list[str] = []  # joins of the picklist options of toLabel() fields
        seen: set[str] = set()
        for path in soql.fields:
            head, _, tail = path.partition(".")
            key = path.lower()
            if key in seen:
                raise malformed(f"duplicate field selected: {path}")
            seen.add(key)
            if not tail:
                f = self._field(name, head)
                if key in soql.labelled:
                    pairs.append(f"'{f.name}', {self._label(name, f, labels)}")
                else:
                    pairs.append(f"'{f.name}', {self._json_value('t', f)}")
                continue
            if key in soql.labelled:
                raise malformed(f"this fake Salesforce has no toLabel() on related fields: {path}")
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
        join_sql = "".join(labels)
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
                f' LEFT JOIN {quote(target)} {alias} ON {alias}."Id" = t.{quote(reference.name)}'
            )
        where, params = [], []
        if self._has(name, "IsDeleted") and not include_deleted:
            where.append('NOT t."IsDeleted"')
        for cond in soql.conditions:
            f = self._field(name, cond.field)
            where.append(self._condition(name, f, cond, params))
        order = [
            f"t.{quote(self._field(name, o).name)} {'DESC' if desc else 'ASC'}"
            for o, desc in soql.order_by
        ]
        sql = f"SELECT CAST({record} AS VARCHAR) FROM {quote(name)} t{join_sql}"
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
    def _label(sobject: str, f: FieldDef, labels: list[str]) -> str:
        """toLabel(f): the option's label, the stored value when the option has none."""
        if f.type not in PICKLIST_TYPES:
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"toLabel() is not supported on {f.type} field {f.name}"
            )
        alias = f"pl{len(labels)}"
        labels.append(
            f" LEFT JOIN (SELECT value, max(label) AS label FROM picklist_values "
            f"WHERE sobject = '{sobject}' AND field = '{f.name}' GROUP BY value) {alias} "
            f"ON {alias}.value = t.{quote(f.name)}"
        )
        return f"coalesce({alias}.label, t.{quote(f.name)})"

    @staticmethod
    def _condition(sobject: str, f: FieldDef, cond: Condition, params: list[Any]) -> str:
        op = "<>" if cond.op == "!=" else cond.op
        column = f"t.{quote(f.name)}"
        if cond.literal_type == "null":
            if op not in ("=", "<>"):
                raise malformed(f"null can only be compared with = or != ({f.name})")
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
