"""The portal's products, line items and enumeration options, built from the files
contract's `deal_products` table and the deals' `channel`.

Separate from `deals.py`: line items are their own HubSpot object, each linked to one
deal (association type 20, line_item_to_deal) and, through `hs_product_id`, to a product.
A deal's channel is served as HubSpot's `hs_analytics_source` enumeration, whose options
(value, label) the properties endpoint answers; a product's family as `hs_product_type`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.arrow import column_or_nulls
from tests.fakes.hubspot.records import Objects, as_text

LINE_ITEM_ID_BASE = 20_000_000_000
PRODUCT_ID_BASE = 3_000_000_000
QUANTITY = pa.decimal128(18, 4)
MONEY = pa.decimal128(18, 2)

# HubSpot's own options of the two properties; a CRM's other values are added to them.
SOURCE_OPTIONS = {
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email Marketing",
    "SOCIAL_MEDIA": "Organic Social",
    "REFERRALS": "Referrals",
    "OTHER_CAMPAIGNS": "Other Campaigns",
    "DIRECT_TRAFFIC": "Direct Traffic",
    "OFFLINE": "Offline Sources",
    "PAID_SOCIAL": "Paid Social",
}
PRODUCT_TYPE_OPTIONS = {
    "inventory": "Inventory",
    "non_inventory": "Non-inventory",
    "service": "Service",
}


def option_values(labels: pa.Array, known: Mapping[str, str], upper: bool) -> pa.Array:
    """The internal value HubSpot stores for each label: a known option's value, else the
    label as an internal name (ORGANIC_SEARCH, non_inventory)."""
    by_label = {label: value for value, label in known.items()}
    slug = pc.replace_substring_regex(pc.utf8_trim_whitespace(labels), "[^A-Za-z0-9]+", "_")
    slug = pc.utf8_upper(slug) if upper else pc.utf8_lower(slug)
    positions = pc.index_in(labels, value_set=pa.array(list(by_label), pa.string()))
    mapped = pa.array(list(by_label.values()), pa.string()).take(positions)
    return pc.coalesce(mapped, slug)


def enumeration(
    name: str, label: str, values: pa.Array, labels: pa.Array, known: Mapping[str, str]
) -> dict[str, Any]:
    """A property definition as GET /crm/v3/properties/{objectType}/{name} answers it."""
    options = dict(known)
    distinct = pc.unique(values)  # a portal's options, not one per record
    texts = labels.take(pc.index_in(distinct, value_set=values))
    for value, text in zip(distinct.to_pylist(), texts.to_pylist(), strict=True):
        if value is not None:
            options.setdefault(value, text)
    return {
        "name": name,
        "label": label,
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "dealinformation" if name == "hs_analytics_source" else "productinformation",
        "hidden": False,
        "hubspotDefined": True,
        "options": [
            {"label": text, "value": value, "displayOrder": n, "hidden": False, "description": ""}
            for n, (value, text) in enumerate(options.items())
        ],
    }


class ProductData:
    """Builds `products`, `line_items` and `properties` (definitions by object type and
    name). Mixed into FakeHubSpot after DealData; reads `names` and `deals`."""

    def _build_products(self, deals: pa.Table, deal_products: pa.Table | None) -> None:
        channels = column_or_nulls(deals, "channel", pa.string())
        sources = option_values(channels, SOURCE_OPTIONS, upper=True)
        self.deals.props[self.names["channel"]] = sources
        self.properties: dict[tuple[str, str], dict[str, Any]] = {
            ("deals", self.names["channel"]): enumeration(
                self.names["channel"], "Original Source Type", sources, channels, SOURCE_OPTIONS
            )
        }
        if deal_products is None:
            deal_products = pa.table(
                {"deal_id": pa.array([], pa.string()), "product_id": pa.array([], pa.string())}
            )
        lines = deal_products
        n = lines.num_rows
        keys = lines.column("product_id").combine_chunks().cast(pa.string())
        catalog = pc.unique(keys)
        first = pc.index_in(catalog, value_set=keys)  # each product's first line
        families = column_or_nulls(lines, "product_family", pa.string()).take(first)
        family_values = option_values(families, PRODUCT_TYPE_OPTIONS, upper=False)
        quantity = column_or_nulls(lines, "quantity", QUANTITY)
        cost = column_or_nulls(lines, "cost", MONEY)
        zero = pc.equal(quantity, 0)
        unit_cost = pc.if_else(
            zero,
            pa.scalar(None, pa.decimal128(38, 9)),
            pc.cast(
                pc.divide(cost, pc.if_else(zero, pa.scalar(Decimal(1), QUANTITY), quantity)),
                pa.decimal128(38, 9),
                safe=False,
            ),
        )
        names = column_or_nulls(lines, "product_name", pa.string())
        price = as_text(column_or_nulls(lines, "unit_price", MONEY))
        product_ids = PRODUCT_ID_BASE + np.arange(len(catalog), dtype=np.int64)
        stamp = np.full(len(catalog), 1_577_836_800_000, dtype=np.int64)  # 2020-01-01
        self.products = Objects(
            "products",
            product_ids,
            {
                "name": names.take(first),
                "price": price.take(first),
                "hs_cost_of_goods_sold": as_text(unit_cost).take(first),
                self.names["product_family"]: family_values,
            },
            stamp,
            stamp.copy(),
            catalog.to_pylist(),
        )
        self.properties[("products", self.names["product_family"])] = enumeration(
            self.names["product_family"],
            "Product type",
            family_values,
            families,
            PRODUCT_TYPE_OPTIONS,
        )
        deal_rows = pc.index_in(
            lines.column("deal_id").combine_chunks().cast(pa.string()),
            value_set=pa.array(list(self.deals.index), pa.string()),
        )
        has_deal = pc.is_valid(deal_rows).to_numpy(zero_copy_only=False)
        row = pc.fill_null(deal_rows, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        # a line item is created and last modified with its deal
        created = self.deals.created_ms[row] if len(self.deals) else np.zeros(n, np.int64)
        modified = self.deals.modified_ms[row] if len(self.deals) else np.zeros(n, np.int64)
        product_row = pc.index_in(keys, value_set=catalog).to_numpy(zero_copy_only=False)
        self.line_items = Objects(
            "line_items",
            LINE_ITEM_ID_BASE + np.arange(n, dtype=np.int64),
            {
                "name": names,
                "hs_product_id": pa.array(product_ids[product_row]).cast(pa.string()),
                "quantity": as_text(quantity),
                "price": price,
                "amount": as_text(column_or_nulls(lines, "amount", MONEY)),
                "hs_cost_of_goods_sold": as_text(unit_cost),
                "hs_line_item_currency_code": column_or_nulls(lines, "currency", pa.string()),
            },
            np.where(has_deal, created, 1_577_836_800_000),
            np.where(has_deal, modified, 1_577_836_800_000),
            [
                f"{d}\x1f{p}"
                for d, p in zip(lines.column("deal_id").to_pylist(), keys.to_pylist(), strict=True)
            ],
        )
        self.line_items.parent_deal = np.where(
            has_deal, self.deals.ids[row] if len(self.deals) else -1, -1
        )

    def line_item_key(self, deal_id: str, product_id: str) -> str:
        """The key `modify`, `archive` and `hubspot_id` take for the line item of a deal and
        product (the files contract's primary key)."""
        return f"{deal_id}\x1f{product_id}"
