"""Pipedrive's products and deal products (line items), built from the files contract's
`deal_products` and served as API v2 does: GET /api/v2/products, /api/v2/productFields,
/api/v2/deals/products?deal_ids=... (at most 100 deals) and /api/v2/deals/{id}/products.

The files contract's `product_id` becomes a product (its `code`), `product_family` the
option of the built-in `category` field, and each line a deal product whose `sum` is the
line's amount (the gap to quantity x item_price is an amount discount, as Pipedrive
computes `sum`). Pipedrive keeps a cost per product and currency, not per line: the
catalog's cost is the lines' total cost over their total quantity, and 0 (Pipedrive's
default) where the export knows no cost. Lines are columns sorted by deal, with offsets,
so a page of a million-deal company is a slice, as in `deal_columns.py`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.pipedrive.columns import NULL, STATUS_CODES, positions_in, rfc3339_many
from tests.fakes.pipedrive.responses import (
    ACCOUNT_OWNER_USER,
    BadRequest,
    decode_cursor,
    encode_cursor,
    limit_of,
    offset_page,
    ok,
    pipedrive_error,
)
from tests.fakes.server import Request, Response

MAX_DEAL_IDS = 100  # GET /api/v2/deals/products takes at most 100 deal ids
LINE_SORTS = ("id", "deal_id", "add_time", "update_time", "order_nr")


class ProductColumns:
    """Mixed into FakePipedrive: builds `products`, `category_options` and the lines'
    columns `_l_*` (after the deals: it reads `_d_add`, `_d_status`), and answers the
    product endpoints under `_data_lock`. `_d_products` is each deal's live line count."""

    def _build_products(self, deals: pa.Table, lines: pa.Table) -> None:
        n = deals.num_rows
        deal_index = positions_in(
            lines["deal_id"], deals["deal_id"].combine_chunks(), "deal_products", "deal_id", "deals"
        ).to_numpy(zero_copy_only=False)
        order = np.argsort(deal_index, kind="stable")
        take = pa.array(order)
        lines = lines.take(take)
        self._l_deal = deal_index[order].astype(np.int64)
        self._l_offsets = np.searchsorted(self._l_deal, np.arange(n + 1), "left")
        codes = pc.dictionary_encode(lines["product_id"].combine_chunks())
        self._l_product = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64) + 1
        self._l_name = lines["product_name"].combine_chunks()
        self._l_currency = lines["currency"].combine_chunks()
        self._l_quantity = _floats(lines["quantity"])
        self._l_price = _floats(lines["unit_price"])
        self._l_sum = _floats(lines["amount"])
        self._l_add = self._d_add[self._l_deal].copy()
        self._l_update = self._l_add.copy()
        self._l_deleted = np.zeros(len(self._l_deal), dtype=bool)
        self._d_products = np.diff(self._l_offsets).astype(np.int64)
        self._build_catalog(lines, codes.dictionary.to_pylist())

    def _build_catalog(self, lines: pa.Table, product_codes: list[str]) -> None:
        """One product per distinct product_id, with a price per currency its lines use."""
        families = lines["product_family"].combine_chunks()
        self.category_options = {
            label: i for i, label in enumerate(pc.unique(families.drop_null()).to_pylist(), 1)
        }
        cost = (
            _floats(lines["cost"])
            if "cost" in lines.column_names
            else np.full(lines.num_rows, np.nan)
        )
        has_cost = ~np.isnan(cost)
        table = pa.table(
            {
                "product": self._l_product,
                "currency": self._l_currency,
                "name": self._l_name,
                "family": families,
                "price": self._l_price,
                "cost": np.where(has_cost, cost, 0.0),
                "costed": np.where(has_cost, self._l_quantity, 0.0),
            }
        )
        firsts = {
            r["product"]: (r["name_first"], r["family_first"])
            for r in table.group_by("product", use_threads=False)
            .aggregate([("name", "first"), ("family", "first")])
            .to_pylist()
        }
        prices: dict[int, list[dict[str, Any]]] = {}
        for r in (
            table.group_by(["product", "currency"], use_threads=False)
            .aggregate([("price", "first"), ("cost", "sum"), ("costed", "sum")])
            .to_pylist()
        ):
            prices.setdefault(r["product"], []).append(
                {
                    "product_id": r["product"],
                    "price": r["price_first"],
                    "currency": r["currency"],
                    "cost": round(r["cost_sum"] / r["costed_sum"], 4) if r["costed_sum"] else 0,
                    "direct_cost": None,
                    "notes": "",
                }
            )
        self.products: list[dict[str, Any]] = []
        for product, code in enumerate(product_codes, start=1):
            name, family = firsts.get(product, (code, None))
            self.products.append(
                {
                    "id": product,
                    "name": name or code,
                    "code": code,
                    "description": None,
                    "unit": None,
                    "tax": 0,
                    "category": self.category_options.get(family),
                    "is_linkable": True,
                    "is_deleted": False,
                    "visible_to": 3,
                    "owner_id": ACCOUNT_OWNER_USER,
                    "add_time": "2025-01-01T08:00:00Z",
                    "update_time": "2025-01-01T08:00:00Z",
                    "billing_frequency": "one-time",
                    "billing_frequency_cycles": None,
                    "prices": prices.get(product, []),
                    "custom_fields": {},
                }
            )

    def product_line(self, deal_id: str | int, product_code: str) -> int:
        """The position of the live line of `product_code` (files product_id) on a deal."""
        i = self._deal_index(deal_id)
        product = next(p["id"] for p in self.products if p["code"] == product_code)
        lo, hi = self._l_offsets[i], self._l_offsets[i + 1]
        hits = [
            j for j in range(lo, hi) if self._l_product[j] == product and not self._l_deleted[j]
        ]
        if not hits:
            raise KeyError(f"deal {deal_id!r} has no line of product {product_code!r}")
        return hits[0]

    def modify_deal_product(
        self,
        deal_id: str | int,
        product_code: str,
        at: datetime | None = None,
        *,
        quantity: float | None = None,
        amount: float | None = None,
    ) -> None:
        """Change a line as a user would; the deal's update_time moves too."""
        with self._data_lock:
            j = self.product_line(deal_id, product_code)
            moment = self._touch(self._deal_index(deal_id), at)
            if quantity is not None:
                self._l_quantity[j] = float(quantity)
            if amount is not None:
                self._l_sum[j] = float(amount)
            self._l_update[j] = moment
            self._index_deals()

    def delete_deal_product(
        self, deal_id: str | int, product_code: str, at: datetime | None = None
    ) -> None:
        """Remove a line from its deal: gone from the lists; the deal is updated."""
        with self._data_lock:
            j = self.product_line(deal_id, product_code)
            i = self._deal_index(deal_id)
            self._touch(i, at)
            self._l_deleted[j] = True
            self._d_products[i] -= 1
            self._index_deals()

    # -- answering --------------------------------------------------------------------

    def _products(self, request: Request) -> Response:
        return offset_page(self.products, request)

    def _product_fields(self, request: Request) -> Response:
        fields = [
            self._builtin("name", "Name", "varchar"),
            self._builtin("code", "Product code", "varchar"),
            self._builtin("unit", "Unit", "varchar"),
            {
                **self._builtin("category", "Category", "enum"),
                "options": [
                    {"id": i, "label": label} for label, i in self.category_options.items()
                ],
            },
            self._builtin("prices", "Prices", "price"),
        ]
        return offset_page(fields, request)

    def _many_deals_products(self, request: Request) -> Response:
        ids: list[str] = []
        for value in request.query.get("deal_ids", []):
            ids.extend(v for v in value.split(",") if v.strip())
        if not ids:
            raise BadRequest("deal_ids is required")
        if len(ids) > MAX_DEAL_IDS:
            raise BadRequest(f"A maximum of {MAX_DEAL_IDS} deal IDs can be provided")
        try:
            natives = [int(v) for v in ids]
        except ValueError:
            raise BadRequest("deal_ids must be integers") from None
        return self._line_page(natives, request)

    def _deal_products(self, request: Request) -> Response:
        native = int(re.search(r"/deals/([0-9]+)/products", request.path).group(1))
        if not 1 <= native <= len(self._d_update) or self._d_deleted[native - 1]:
            return pipedrive_error(404, "Deal not found")
        return self._line_page([native], request)

    def _line_page(self, natives: list[int], request: Request) -> Response:
        limit = limit_of(request)
        sort_by = request.arg("sort_by", "id")
        direction = request.arg("sort_direction", "asc")
        if sort_by not in LINE_SORTS or direction not in ("asc", "desc"):
            raise BadRequest(f"sort_by must be one of {', '.join(LINE_SORTS)}")
        try:
            offset = int(decode_cursor(request.arg("cursor"))[0]) if request.arg("cursor") else 0
        except (ValueError, IndexError, TypeError):
            raise BadRequest("Invalid cursor") from None
        with self._data_lock:
            deleted = STATUS_CODES["deleted"]
            rows = [
                np.arange(self._l_offsets[n - 1], self._l_offsets[n])
                for n in sorted(set(natives))
                if 1 <= n <= len(self._d_update) and self._d_status[n - 1] != deleted
            ]
            chosen = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
            chosen = chosen[~self._l_deleted[chosen]]
            key = {
                "id": chosen,
                "deal_id": self._l_deal[chosen],
                "add_time": self._l_add[chosen],
                "update_time": self._l_update[chosen],
                "order_nr": chosen - self._l_offsets[self._l_deal[chosen]],
            }[sort_by]
            ordered = chosen[np.lexsort((chosen, key))]
            if direction == "desc":
                ordered = ordered[::-1]
            page = ordered[offset : offset + limit]
            more = offset + limit < len(ordered)
            records = self._line_records(page)
        return ok(records, encode_cursor(offset + limit) if more else None)

    def _line_records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        take = pa.array(rows, pa.int64())
        names = self._l_name.take(take).to_pylist()
        currencies = self._l_currency.take(take).to_pylist()
        add = rfc3339_many(self._l_add[rows])
        update = rfc3339_many(np.where(self._l_update[rows] == NULL, 0, self._l_update[rows]))
        records = []
        for n, j in enumerate(rows.tolist()):
            quantity, price, total = (
                float(self._l_quantity[j]),
                float(self._l_price[j]),
                float(self._l_sum[j]),
            )
            records.append(
                {
                    "id": j + 1,
                    "deal_id": int(self._l_deal[j]) + 1,
                    "product_id": int(self._l_product[j]),
                    "product_variation_id": None,
                    "name": names[n],
                    "order_nr": int(j - self._l_offsets[self._l_deal[j]]) + 1,
                    "add_time": add[n],
                    "update_time": update[n],
                    "comments": None,
                    "currency": currencies[n],
                    "quantity": quantity,
                    "item_price": price,
                    "discount": round(quantity * price - total, 2),
                    "discount_type": "amount",
                    "sum": total,
                    "tax": 0,
                    "tax_method": "none",
                    "is_enabled": True,
                    "billing_frequency": "one-time",
                    "billing_frequency_cycles": None,
                    "billing_start_date": None,
                }
            )
        return records


def _floats(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).copy()
