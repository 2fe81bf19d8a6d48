"""The `deal_products` transformer: the line items of each deal changed since the cursor,
read from GET /api/v2/deals/products (100 deals a request), a deal's lines replaced as a
whole.

Pipedrive has no list of line items changed or removed since a time; a deal's products
are part of the deal (its `products_count`, and its value when computed from them), so
a change to them updates the deal. Each deal the deals resource reads therefore has its
whole set of lines re-read and swapped in (merge key `deal_id`): a line removed in
Pipedrive is absent from the new set and is deleted with the deal's old ones. A deal
with no lines left, or deleted, yields one tombstone row (id 0, is_deleted) that removes
them. A deal whose `products_count` is 0 is not asked for.
"""

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import MONEY, TIMESTAMP
from ingestion.common.incremental import MERGE, delete_hints
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import PipedriveResponseError
from ingestion.pipedrive.listing import Options
from ingestion.pipedrive.values import from_records, to_money, to_timestamp

QUANTITY = pa.decimal128(18, 4)
LINE_SCHEMA = pa.schema(
    [
        pa.field("deal_id", pa.int64(), nullable=False),
        pa.field("id", pa.int64(), nullable=False),
        ("product_id", pa.int64()),
        ("product_variation_id", pa.int64()),
        ("name", pa.string()),
        ("quantity", QUANTITY),
        ("item_price", MONEY),
        ("discount", pa.float64()),
        ("discount_type", pa.string()),
        ("tax", pa.float64()),
        ("tax_method", pa.string()),
        ("sum", MONEY),
        ("currency", pa.string()),
        ("is_enabled", pa.bool_()),
        ("add_time", TIMESTAMP),
        ("update_time", TIMESTAMP),
        ("deal_update_time", TIMESTAMP),
        ("is_deleted", pa.bool_()),
    ]
)
_RAW = pa.schema(
    [
        ("id", pa.int64()),
        ("deal_id", pa.int64()),
        ("product_id", pa.int64()),
        ("product_variation_id", pa.int64()),
        ("name", pa.string()),
        ("quantity", pa.float64()),
        ("item_price", pa.float64()),
        ("discount", pa.float64()),
        ("discount_type", pa.string()),
        ("tax", pa.float64()),
        ("tax_method", pa.string()),
        ("sum", pa.float64()),
        ("currency", pa.string()),
        ("is_enabled", pa.bool_()),
        ("add_time", pa.string()),
        ("update_time", pa.string()),
    ]
)


def lines_table(records: list[dict[str, Any]], deals: pa.Table, what: str) -> pa.Table:
    """Line items of one page of deals, plus a tombstone for each deal left without any."""
    page = from_records(records, _RAW, what)
    for name in ("id", "deal_id"):
        if page[name].null_count:
            raise PipedriveResponseError(
                f"{what}: {page[name].null_count} line(s) without '{name}'"
            )
    index = pc.index_in(page["deal_id"], value_set=deals["id"].combine_chunks())
    if page.num_rows and index.null_count:
        stray = pc.filter(page["deal_id"], pc.is_null(index))[0].as_py()
        raise PipedriveResponseError(f"{what}: a line of deal {stray}, which was not asked for")
    deal_updates = pc.take(deals["update_time"], index)
    lines = pa.table(
        {
            "deal_id": page["deal_id"],
            "id": page["id"],
            "product_id": page["product_id"],
            "product_variation_id": page["product_variation_id"],
            "name": page["name"],
            "quantity": pc.cast(pc.round(page["quantity"], 4), QUANTITY),
            "item_price": to_money(page["item_price"]),
            "discount": page["discount"],
            "discount_type": page["discount_type"],
            "tax": page["tax"],
            "tax_method": page["tax_method"],
            "sum": to_money(page["sum"]),
            "currency": pc.utf8_upper(page["currency"]),
            # a line without the flag counts in the deal, as Pipedrive's default says
            "is_enabled": pc.fill_null(page["is_enabled"].combine_chunks(), True),
            "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
            "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
            "deal_update_time": deal_updates,
            "is_deleted": pa.array([False] * page.num_rows, pa.bool_()),
        },
        schema=LINE_SCHEMA,
    )
    empty = pc.invert(pc.is_in(deals["id"], value_set=page["deal_id"].combine_chunks()))
    gone = deals.filter(empty)
    tombstones = pa.table(
        {
            "deal_id": gone["id"],
            "id": pa.array([0] * gone.num_rows, pa.int64()),
            **{
                f.name: pa.nulls(gone.num_rows, f.type)
                for f in LINE_SCHEMA
                if f.name not in ("deal_id", "id", "deal_update_time", "is_deleted")
            },
            "deal_update_time": gone["update_time"],
            "is_deleted": pa.array([True] * gone.num_rows, pa.bool_()),
        }
    ).select(LINE_SCHEMA.names)
    return pa.concat_tables([lines, tombstones.cast(LINE_SCHEMA)])


def read_lines(
    client: PipedriveClient, options: Options, deals_page: pa.Table
) -> list[dict[str, Any]]:
    """The line items of the page's live deals that have products, 100 deals a request."""
    live = pc.invert(pc.fill_null(deals_page["is_deleted"].combine_chunks(), False))
    count = deals_page["products_count"].combine_chunks()
    # products_count is absent when the API leaves it out: then the deal is asked for too
    wanted = pc.and_(live, pc.fill_null(pc.greater(count, 0), True))
    ids = pc.filter(deals_page["id"], wanted).to_pylist()
    records: list[dict[str, Any]] = []
    for start in range(0, len(ids), settings.DEAL_IDS_PER_REQUEST):
        chunk = ids[start : start + settings.DEAL_IDS_PER_REQUEST]
        params = {"deal_ids": chunk, "limit": options.page_size, "sort_by": "id"}
        what = f"GET {settings.DEAL_PRODUCTS} (deals {chunk[0]}..{chunk[-1]})"
        for page in client.paginate(settings.DEAL_PRODUCTS, params, what=what):
            records.extend(page)
    return records


# The parent (deals) is bound in pipedrive_source with `|`. No cursor of its own: it
# reads the lines of whatever deals the deals resource's cursor lets through.
@dlt.transformer(
    name="deal_products",
    section="pipedrive",
    write_disposition=MERGE,
    primary_key=("deal_id", "id"),
    merge_key="deal_id",
    columns=delete_hints("is_deleted", "deal_update_time"),
)
def deal_products(
    deals_page: pa.Table, client: PipedriveClient, options: Options
) -> Iterator[pa.Table]:
    """The line items of each deal of the page, replacing the deal's previous ones."""
    records = read_lines(client, options, deals_page)
    yield lines_table(records, deals_page, f"GET {settings.DEAL_PRODUCTS}")
