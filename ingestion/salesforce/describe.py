"""What an org's objects look like and what is read from them, as Arrow schemas.

The describe of an object (its fields and their Salesforce types), a raw column bound to
the org's real field, and the spec of one read (SOQL field list, page schema, raw
schema). Kept apart from the client so the page parser and the resources share these
types without importing any HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from ingestion.common.arrow import MONEY, TIMESTAMP, key_field

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
# The field types SOQL's toLabel() translates (those with picklist values in describe).
PICKLIST_TYPES = {"picklist", "multipicklist"}
# Which Salesforce field types can feed a mapped column of each kind.
COMPATIBLE = {
    "date": {"date", "datetime"},
    "money": _NUMBER_TYPES | _INT_TYPES,
}


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
    labelled: bool = False  # read with toLabel(): the option's label, not its API value

    @property
    def soql(self) -> str:
        path = ".".join(self.path)
        # The record keeps the field's own name as key: the page schema is unchanged.
        return f"toLabel({path})" if self.labelled else path


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
            key_field(column, ARROW_KIND[kind])
            if column == "id"
            else pa.field(column, ARROW_KIND[kind])
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
