"""Field mapping: which Pipedrive field (custom or built in) each crm-kpi attribute is
read from, and turning a mapped field's raw values into labels, dates, money and deal
types.

Deals and organizations share it; their settings name the fields (docs/connectors/pipedrive.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import MONEY
from ingestion.pipedrive.errors import PipedriveConfigError
from ingestion.pipedrive.values import to_date, to_money

logger = logging.getLogger("ingestion.pipedrive")

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
    "channel": "label",
    "product_family": "label",
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


def custom_field_keys(mapped: Mapping[str, MappedField | None]) -> list[str]:
    """The `custom_fields` query value's keys: the mapped fields that are custom ones."""
    return sorted({m.code for m in mapped.values() if m is not None and m.is_custom})


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
