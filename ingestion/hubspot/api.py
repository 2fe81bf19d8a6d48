"""The portal's API, field mapping and currency, built on first use by the resources,
and the stage history held between the deals resource and its transformer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.http import RetryPolicy
from ingestion.hubspot import settings as hs
from ingestion.hubspot.client import HubSpotClient, check_retry
from ingestion.hubspot.errors import HubSpotError, HubSpotResponseError
from ingestion.hubspot.mapping import FieldMapping
from ingestion.hubspot.objects import ObjectReader
from ingestion.hubspot.pages import json_body, paged_results
from ingestion.hubspot.schemas import STAGE_HISTORY_SCHEMA, empty


class HubSpotApi:
    """The portal's API and mapping, built on first use: a bad setting then fails the
    HubSpot run with its own message instead of failing the listing of sources."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        retry: dict[str, Any],
        mapping: dict[str, Any],
        default_currency: str,
        page_size: int,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._retry = retry
        self._mapping = mapping
        self._default_currency = default_currency
        self.page_size = page_size
        self._company_currency: str | None = None
        self._owners: list[dict[str, Any]] | None = None
        # stage history read with each batch of deals, until the deal_stage_history
        # transformer takes the rows of the deals that passed the incremental filter
        self._pending_history: list[pa.Table] = []

    @cached_property
    def client(self) -> HubSpotClient:
        retry = check_retry(RetryPolicy(**self._retry))
        return HubSpotClient(self._api_key, self._base_url, retry)

    @cached_property
    def mapping(self) -> FieldMapping:
        try:
            return FieldMapping(**{k: v for k, v in self._mapping.items() if v is not None})
        except ValueError as exc:
            raise HubSpotError(str(exc)) from None

    def reader(
        self,
        object_type: str,
        properties: Sequence[str],
        history: Sequence[str] = (),
        associations: Sequence[str] = (),
    ) -> ObjectReader:
        return ObjectReader(
            self.client,
            object_type,
            tuple(properties),
            tuple(history),
            tuple(associations),
            page_size=self.page_size,
        )

    def currency(self) -> str:
        """The currency of deals that name none: the setting, else the portal's own."""
        if self._company_currency is None:
            code = (self._default_currency or "").strip().upper()
            if code and (len(code) != 3 or not code.isalpha()):
                raise HubSpotError(
                    f"SOURCES__HUBSPOT__DEFAULT_CURRENCY={self._default_currency!r} is not a "
                    "3-letter ISO 4217 code such as EUR"
                )
            self._company_currency = code or company_currency(self.client)
        return self._company_currency

    def owners(self) -> list[dict[str, Any]]:
        """Active, then deactivated owners (read once for `owners` and `owner_teams`)."""
        if self._owners is None:
            listing = {"limit": hs.LIST_PAGE_SIZE}
            self._owners = [
                *paged_results(
                    self.client, hs.OWNERS_PATH, {**listing, "archived": "false"}, "owners"
                ),
                *paged_results(
                    self.client, hs.OWNERS_PATH, {**listing, "archived": "true"}, "archived owners"
                ),
            ]
        return self._owners

    def hold_history(self, rows: pa.Table) -> None:
        self._pending_history.append(rows)

    def take_history(self, deal_ids: pa.Array) -> pa.Table:
        """The held history rows of `deal_ids`; the others stay held."""
        if not self._pending_history:
            return empty(STAGE_HISTORY_SCHEMA)
        held = pa.concat_tables(self._pending_history, promote_options="default")
        mine = pc.is_in(held.column("deal_id"), value_set=deal_ids)
        self._pending_history = [held.filter(pc.invert(mine))]
        return held.filter(mine)


def company_currency(client: HubSpotClient) -> str:
    """The portal's company currency: the currency of a deal that names none."""
    what = "company currency"
    body = json_body(client.request("GET", hs.COMPANY_CURRENCY_PATH, what=what), what)
    code = body.get("currencyCode") if isinstance(body, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{3}", code.strip()):
        raise HubSpotResponseError(f"{what}: HubSpot answered no currencyCode ({str(body)[:100]})")
    return code.strip().upper()
