"""The product catalog: the `products` and `product_prices` resources, both from one
read of GET /api/v2/products.

Pipedrive's v2 products list has no `updated_since`; a catalog is small, so it is read
in full and both tables are replaced on every run (a product removed in Pipedrive is
gone here too). A line item's family and cost come from its product (staging joins
them): Pipedrive keeps a cost per product and currency, not per line.
"""

import threading
from collections.abc import Iterator, Mapping
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import MONEY, keyed
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import PipedriveResponseError
from ingestion.pipedrive.fields import (
    MappedField,
    Notes,
    custom_field_keys,
    custom_fields_schema,
    label_values,
    resolve_fields,
)
from ingestion.pipedrive.listing import Options, all_records
from ingestion.pipedrive.values import from_records, require, to_money, to_timestamp

PRODUCT_BASE_SCHEMA = [
    ("id", pa.int64()),
    ("name", pa.string()),
    ("code", pa.string()),
    ("unit", pa.string()),
    ("is_deleted", pa.bool_()),
    ("add_time", pa.string()),
    ("update_time", pa.string()),
]
PRICE_SCHEMA = pa.schema(
    [
        pa.field("product_id", pa.int64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        ("price", MONEY),
        ("cost", MONEY),
        ("direct_cost", MONEY),
    ]
)


class ProductCatalog:
    """The company's products, read once per run for the two tables made from them."""

    def __init__(self, client: PipedriveClient, options: Options, notes: Notes) -> None:
        self.client = client
        self.options = options
        self.notes = notes
        self._lock = threading.Lock()
        self._read: tuple[list[dict[str, Any]], Mapping[str, MappedField | None]] | None = None

    def records(self) -> tuple[list[dict[str, Any]], Mapping[str, MappedField | None]]:
        with self._lock:
            if self._read is None:
                fields = resolve_fields(
                    all_records(self.client, settings.PRODUCT_FIELDS),
                    self.options.product_fields,
                    "product",
                )
                params: dict[str, Any] = {"limit": self.options.page_size, "sort_by": "id"}
                keys = custom_field_keys(fields)
                if keys:
                    params["custom_fields"] = ",".join(keys)
                records: list[dict[str, Any]] = []
                for page in self.client.paginate(settings.PRODUCTS, params):
                    records.extend(page)
                self._read = (records, fields)
            return self._read


def products_table(
    records: list[dict[str, Any]],
    fields: Mapping[str, MappedField | None],
    notes: Notes,
    what: str,
) -> pa.Table:
    family = fields.get("product_family")
    base = {name for name, _ in PRODUCT_BASE_SCHEMA}
    extra = [c for c in custom_fields_schema([family]) if c[0] not in base]
    page = from_records(records, pa.schema(PRODUCT_BASE_SCHEMA + extra), what)
    require(page, ("id",), what)
    return keyed(
        pa.table(
            {
                "id": page["id"],
                "name": page["name"],
                "code": page["code"],
                "unit": page["unit"],
                "is_deleted": pc.fill_null(page["is_deleted"].combine_chunks(), False),
                "add_time": to_timestamp(page["add_time"], f"{what}: add_time"),
                "update_time": to_timestamp(page["update_time"], f"{what}: update_time"),
                "kpi_family": label_values(page, family, "product", notes),
            }
        ),
        "id",
    )


def prices_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    """One row per product and currency: its price and unit costs in that currency."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, str]] = set()
    for record in records:
        prices = record.get("prices") or []
        if not isinstance(prices, list):
            raise PipedriveResponseError(
                f"{what}: product {record.get('id')}: 'prices' is not a list"
            )
        for price in prices:
            if not isinstance(price, Mapping) or not price.get("currency"):
                raise PipedriveResponseError(
                    f"{what}: product {record.get('id')}: a price without 'currency'"
                )
            key = (record.get("id"), str(price["currency"]).upper())
            if key not in seen:  # one price per product and currency, as Pipedrive allows
                seen.add(key)
                rows.append({**price, "product_id": record.get("id")})
    raw = pa.schema(
        [
            ("product_id", pa.int64()),
            ("currency", pa.string()),
            ("price", pa.float64()),
            ("cost", pa.float64()),
            ("direct_cost", pa.float64()),
        ]
    )
    page = from_records(rows, raw, what)
    require(page, ("product_id",), what)
    return pa.table(
        {
            "product_id": page["product_id"],
            "currency": pc.utf8_upper(page["currency"]),
            "price": to_money(page["price"]),
            "cost": to_money(page["cost"]),
            "direct_cost": to_money(page["direct_cost"]),
        }
    ).cast(PRICE_SCHEMA)


@dlt.resource(name="products", section="pipedrive", write_disposition="replace", primary_key="id")
def products(catalog: ProductCatalog) -> Iterator[pa.Table]:
    records, fields = catalog.records()
    yield products_table(records, fields, catalog.notes, f"GET {settings.PRODUCTS}")


@dlt.resource(
    name="product_prices",
    section="pipedrive",
    write_disposition="replace",
    primary_key=("product_id", "currency"),
)
def product_prices(catalog: ProductCatalog) -> Iterator[pa.Table]:
    records, _ = catalog.records()
    yield prices_table(records, f"GET {settings.PRODUCTS}")
