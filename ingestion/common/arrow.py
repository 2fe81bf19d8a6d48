"""Arrow the connectors share: the raw tables' timestamp and money types, key columns, and
reading one JSON page straight into Arrow with an explicit schema.

Each source keeps its own page layout and the error text for a page that does not parse.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.json as pa_json

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)


def key_field(name: str, type_: pa.DataType | None = None) -> pa.Field:
    """A primary-key column (a string unless `type_` says otherwise): never null."""
    return pa.field(name, type_ or pa.string(), nullable=False)


def keyed(table: pa.Table, *keys: str) -> pa.Table:
    """Mark the primary-key columns not null, as dlt declares them (their nulls are checked)."""
    fields = [f.with_nullable(False) if f.name in keys else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def read_json_page(content: bytes, schema: pa.Schema) -> pa.Table:
    """One JSON page as a table of `schema` (fields it does not name are ignored).

    One block, one thread: a page is parsed whole, and values may hold newlines. Raises
    `pa.ArrowInvalid` or `pa.ArrowTypeError` when the page does not fit `schema`.
    """
    return pa_json.read_json(
        io.BytesIO(content),
        read_options=pa_json.ReadOptions(
            use_threads=False, block_size=max(len(content) + 1, 1 << 20)
        ),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema,
            unexpected_field_behavior="ignore",
            newlines_in_values=True,
        ),
    )
