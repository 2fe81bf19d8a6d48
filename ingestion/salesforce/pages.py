"""One SOQL query's text and one page of its answer, parsed straight into Arrow.

pyarrow's JSON reader (`ingestion.common.arrow.read_json_page`) reads a page with the
explicit schema built from the object's describe, so a 2,000-record page costs no
per-record Python. Kept apart from the client: parsing needs no HTTP, and the client
needs no Arrow conversions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import TIMESTAMP, read_json_page
from ingestion.common.incremental import EPOCH, utc_seconds_text
from ingestion.salesforce.describe import ARROW_KIND, ObjectSpec, ResolvedField
from ingestion.salesforce.errors import MalformedPageError, malformed


@dataclass
class Page:
    records: pa.Table
    done: bool
    next_url: str | None
    total_size: int


def parse_page(body: bytes, spec: ObjectSpec, what: str) -> Page:
    """One query response as an Arrow table of raw columns, without per-record Python."""
    try:
        parsed = read_json_page(body, spec.page_schema())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise MalformedPageError(malformed(what, body, str(exc))) from None
    if parsed.num_rows != 1:
        raise MalformedPageError(malformed(what, body, "not one JSON object"))
    done = parsed.column("done")[0].as_py()
    records = parsed.column("records")
    if done is None or records.null_count:
        raise MalformedPageError(
            malformed(what, body, "no 'done' flag or 'records' list: not a query result")
        )
    next_url = parsed.column("nextRecordsUrl")[0].as_py()
    if not done and not next_url:
        raise MalformedPageError(malformed(what, body, "'done' is false but no nextRecordsUrl"))
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


def build_soql(spec: ObjectSpec, since: datetime | None = None, order_by: str | None = None) -> str:
    # A SOQL dateTime literal is UTC whole seconds (rounded down), never quoted.
    soql = f"SELECT {', '.join(spec.soql_fields)} FROM {spec.sobject}"
    if since is not None and since > EPOCH:
        soql += f" WHERE SystemModstamp > {utc_seconds_text(since)}"
    if order_by:
        soql += f" ORDER BY {order_by}"
    return soql
