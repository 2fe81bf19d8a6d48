"""HubSpot property values to typed Arrow columns: whole columns with Arrow compute, and
per-value Python only to report a value that does not parse or for the few odd formats
Arrow cannot cast; plus the scalar conversions of the small JSON endpoints.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import TIMESTAMP
from ingestion.hubspot import settings as hs
from ingestion.hubspot.errors import HubSpotDataError

logger = logging.getLogger("ingestion.hubspot")

# Raw amounts keep HubSpot's digits (it stores numbers with any number of decimals);
# staging rounds them to DECIMAL(18,2).
RAW_DECIMAL = pa.decimal128(38, 9)
RATE_DECIMAL = pa.decimal128(38, 12)
_DECIMAL_QUANTUM = Decimal("1e-9")
_DIGITS = re.compile(r"^-?\d+$")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def blank_to_null(values: pa.Array) -> pa.Array:
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


def parse_timestamp_value(value: str | None) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if _DIGITS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_timestamp(values: pa.Array, ids: pa.Array, object_type: str, prop: str) -> pa.Array:
    """ISO 8601 (HubSpot's form) or epoch-millisecond strings to UTC timestamps."""
    values = blank_to_null(values)
    try:
        return pc.cast(values, TIMESTAMP)
    except pa.ArrowInvalid:
        pass  # an unusual form (no zone, epoch ms, nanoseconds): parse value by value
    out: list[datetime | None] = []
    for index, value in enumerate(values.to_pylist()):
        try:
            out.append(parse_timestamp_value(value))
        except (ValueError, OverflowError):
            raise _bad_value(object_type, ids, prop, values, index, "a date-time") from None
    return pa.array(out, TIMESTAMP)


def to_date(values: pa.Array, ids: pa.Array, object_type: str, prop: str) -> pa.Array:
    """HubSpot date properties (`YYYY-MM-DD`, a date-time, or epoch ms) to dates."""
    values = blank_to_null(values)
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
                stamp = parse_timestamp_value(value)
                out.append(stamp.date() if stamp else None)
        except (ValueError, OverflowError):
            raise _bad_value(object_type, ids, prop, values, index, "a date") from None
    return pa.array(out, pa.date32())


def to_decimal(
    values: pa.Array, ids: pa.Array, object_type: str, prop: str, type_: pa.DataType = RAW_DECIMAL
) -> pa.Array:
    """Number strings to exact decimals (never through a float)."""
    values = blank_to_null(values)
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
    values = pc.utf8_lower(blank_to_null(values))
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), pc.equal(values, "true"))


def map_values(
    values: pa.Array, mapping: Mapping[str, str], object_type: str, prop: str, setting: str
) -> pa.Array:
    """Values through a case-insensitive mapping; unmapped values become null (and are logged)."""
    keys = [k.strip().lower() for k in mapping]
    targets = pa.array(list(mapping.values()), pa.string())
    cleaned = pc.utf8_lower(blank_to_null(values))
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


def prop(records: pa.Array, name: str) -> pa.Array:
    props = records.field("properties")
    return props.field(name) if name in props.type.names else pa.nulls(len(records), pa.string())


def concat(chunks: Sequence[pa.Array]) -> pa.Array:
    return pa.concat_arrays(list(chunks)) if len(chunks) != 1 else chunks[0]


def modified_at(records: pa.Array, ids: pa.Array, object_type: str) -> pa.Array:
    """The cursor: hs_lastmodifieddate, else the record's updatedAt, else its createdAt."""
    stamps = pc.coalesce(
        blank_to_null(prop(records, hs.MODIFIED_PROPERTY)),
        blank_to_null(records.field("updatedAt")),
        blank_to_null(records.field("createdAt")),
    )
    out = to_timestamp(stamps, ids, object_type, hs.MODIFIED_PROPERTY)
    if out.null_count:
        index = pc.index(pc.is_null(out), True).as_py()
        raise HubSpotDataError(
            f"HubSpot {object_type} {ids[index].as_py()} has no modification time; it cannot be "
            "loaded incrementally. Run again; if it persists, report it to HubSpot support."
        )
    return out


def upper(values: pa.Array) -> pa.Array:
    return pc.utf8_upper(blank_to_null(values))


def timestamp_value(value: Any, what: str) -> datetime | None:
    try:
        return parse_timestamp_value(value)
    except (ValueError, OverflowError):
        raise HubSpotDataError(f"{what}: {value!r} is not a date-time") from None


def decimal_value(value: Any, what: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise HubSpotDataError(f"{what}: {value!r} is not a number") from None
    return number.quantize(_DECIMAL_QUANTUM, rounding=ROUND_HALF_EVEN)


def flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"
