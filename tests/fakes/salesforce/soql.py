"""The SOQL the fake understands, parsed into a `Soql`, and Salesforce's API error.

Separate from the org so that parsing (tests call `parse_soql`) stands apart from
running a query in DuckDB (`queries.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tests.fakes.server import Response


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
    labelled: set[str] = field(default_factory=set)  # fields in toLabel(), lower-case


_SOQL = re.compile(
    r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*",
    re.IGNORECASE | re.DOTALL,
)
_FIELD = re.compile(r"(?:(?P<label>toLabel)\(\s*(?P<inner>\w+(?:\.\w+)?)\s*\)|\w+(?:\.\w+)?)", re.I)
_CONDITION = re.compile(r"\s*([\w.]+)\s*(=|!=|<>|<=|>=|<|>)\s*(.+?)\s*", re.DOTALL)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def malformed(message: str) -> SalesforceApiError:
    return SalesforceApiError(400, "MALFORMED_QUERY", message)


def literal(text: str) -> tuple[Any, str]:
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
    raise malformed(f"unexpected token: '{text}'")


def parse_soql(text: str) -> Soql:
    match = _SOQL.fullmatch(text or "")
    if match is None:
        raise malformed(f"unexpected token: '{(text or '').strip()[:40]}'")
    fields, labelled = [], set()
    for text_field in (f.strip() for f in match["fields"].split(",")):
        found = _FIELD.fullmatch(text_field)
        if found is None:
            raise malformed(f"unexpected token in the field list: '{match['fields']}'")
        if found["label"]:
            fields.append(found["inner"])
            labelled.add(found["inner"].lower())
        else:
            fields.append(text_field)
    conditions = []
    if match["where"]:
        if re.search(r"\s(OR|NOT)\s", match["where"], re.IGNORECASE):
            raise malformed("this fake Salesforce understands only AND-ed comparisons")
        for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
            cond = _CONDITION.fullmatch(part)
            if cond is None:
                raise malformed(f"unexpected token: '{part.strip()}'")
            value, literal_type = literal(cond[3])
            conditions.append(Condition(cond[1], cond[2], value, literal_type))
    order_by = []
    if match["order"]:
        for part in match["order"].split(","):
            words = part.split()
            if not words or len(words) > 4:
                raise malformed(f"unexpected token: '{part.strip()}'")
            order_by.append((words[0], len(words) > 1 and words[1].upper() == "DESC"))
    limit = int(match["limit"]) if match["limit"] else None
    return Soql(fields, match["sobject"], conditions, order_by, limit, labelled)


def quote(name: str) -> str:
    return '"' + name + '"'
