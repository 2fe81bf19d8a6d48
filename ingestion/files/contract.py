"""The input contract of the files source (docs/crm-model.md, "The files source").

One entry per entity file; each column says its type once loaded, whether the file must
have the column, whether a value may be empty, and the allowed values or range. The
demo CRM produces tables of exactly these Arrow types, so both load alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MONEY = pa.decimal128(18, 2)
PROBABILITY = pa.decimal128(5, 4)
RATE = pa.decimal128(18, 8)
QUANTITY = pa.decimal128(18, 4)
TIMESTAMP = pa.timestamp("us", tz="UTC")

STATUSES = ("open", "won", "lost")
DEAL_TYPES = ("new_business", "renewal", "expansion")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool = True  # the file must have this column
    nullable: bool = True  # a row may leave it empty
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    required: bool = True  # the folder must hold this file

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "deals",
            (
                Column("deal_id", pa.string(), nullable=False),
                Column("account_id", pa.string()),
                Column("owner_id", pa.string()),
                Column("pipeline", pa.string(), nullable=False),
                Column("stage", pa.string(), nullable=False),
                Column("status", pa.string(), nullable=False, allowed=STATUSES),
                Column("amount", MONEY, minimum=0),
                Column("currency", pa.string(), nullable=False),
                Column("created_at", TIMESTAMP, nullable=False),
                Column("closed_at", TIMESTAMP),
                Column("updated_at", TIMESTAMP),
                Column("deal_type", pa.string(), required=False, allowed=DEAL_TYPES),
                Column("contract_start", pa.date32(), required=False),
                Column("contract_end", pa.date32(), required=False),
                Column("mrr", MONEY, required=False, minimum=0),
                Column("lost_reason", pa.string(), required=False),
                Column("channel", pa.string(), required=False),
                Column("cost", MONEY, required=False, minimum=0),
            ),
            primary_key=("deal_id",),
        ),
        Entity(
            "stage_history",
            (
                Column("deal_id", pa.string(), nullable=False),
                Column("stage", pa.string(), nullable=False),
                Column("entered_at", TIMESTAMP, nullable=False),
            ),
            primary_key=("deal_id", "entered_at", "stage"),
        ),
        Entity(
            "deal_products",
            (
                Column("deal_id", pa.string(), nullable=False),
                Column("product_id", pa.string(), nullable=False),
                Column("product_name", pa.string()),
                Column("product_family", pa.string()),
                Column("quantity", QUANTITY, nullable=False, minimum=0),
                Column("unit_price", MONEY, minimum=0),
                Column("amount", MONEY, nullable=False, minimum=0),
                Column("currency", pa.string(), nullable=False),
                Column("cost", MONEY, required=False, minimum=0),
            ),
            primary_key=("deal_id", "product_id"),
            required=False,
        ),
        Entity(
            "accounts",
            (
                Column("account_id", pa.string(), nullable=False),
                Column("name", pa.string()),
                Column("segment", pa.string()),
                Column("region", pa.string()),
                Column("industry", pa.string()),
                Column("created_at", TIMESTAMP),
            ),
            primary_key=("account_id",),
        ),
        Entity(
            "owners",
            (
                Column("owner_id", pa.string(), nullable=False),
                Column("name", pa.string()),
                Column("email", pa.string()),
                Column("team", pa.string()),
            ),
            primary_key=("owner_id",),
        ),
        Entity(
            "stages",
            (
                Column("pipeline", pa.string(), nullable=False),
                Column("stage", pa.string(), nullable=False),
                Column("probability", PROBABILITY, nullable=False, minimum=0, maximum=1),
                Column("display_order", pa.int32(), nullable=False),
            ),
            primary_key=("pipeline", "stage"),
            required=False,
        ),
        Entity(
            "fx_rates",
            (
                Column("date", pa.date32(), nullable=False),
                Column("currency", pa.string(), nullable=False),
                Column("rate", RATE, nullable=False, minimum=0, exclusive_minimum=True),
            ),
            primary_key=("date", "currency"),
            required=False,
        ),
    )
}
