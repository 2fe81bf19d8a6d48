"""Which HubSpot property holds each field of the one CRM model: the settings, checked.

Separate so the bench and the source build it without the readers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ingestion.hubspot import settings as hs


@dataclass(frozen=True)
class FieldMapping:
    """Which HubSpot property holds each field of the one CRM model (the settings)."""

    segment: str = hs.DEFAULT_SEGMENT_PROPERTY
    region: str = hs.DEFAULT_REGION_PROPERTY
    industry: str = hs.DEFAULT_INDUSTRY_PROPERTY
    deal_type: str = hs.DEFAULT_DEAL_TYPE_PROPERTY
    contract_start: str = hs.DEFAULT_CONTRACT_START_PROPERTY
    contract_end: str = hs.DEFAULT_CONTRACT_END_PROPERTY
    mrr: str = hs.DEFAULT_MRR_PROPERTY
    lost_reason: str = hs.DEFAULT_LOST_REASON_PROPERTY
    channel: str = hs.DEFAULT_CHANNEL_PROPERTY
    product_family: str = hs.DEFAULT_PRODUCT_FAMILY_PROPERTY
    deal_type_values: Mapping[str, str] = field(
        default_factory=lambda: dict(hs.DEFAULT_DEAL_TYPE_VALUES)
    )
    goal_metrics: Mapping[str, str] = field(default_factory=lambda: dict(hs.DEFAULT_GOAL_METRICS))

    def __post_init__(self) -> None:
        for name in (
            "segment",
            "region",
            "industry",
            "deal_type",
            "contract_start",
            "contract_end",
            "mrr",
            "lost_reason",
            "channel",
            "product_family",
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_]+", value):
                raise ValueError(
                    f"SOURCES__HUBSPOT__{name.upper()}_PROPERTY={value!r} is not a HubSpot "
                    "property's internal name (letters, digits and underscores, as shown in "
                    "HubSpot under Settings > Properties > the property > Internal name)"
                )
        for value, deal_type in self.deal_type_values.items():
            if deal_type not in hs.DEAL_TYPES:
                raise ValueError(
                    f"SOURCES__HUBSPOT__DEAL_TYPE_VALUES maps {value!r} to {deal_type!r}; "
                    f"the deal types are {', '.join(hs.DEAL_TYPES)}"
                )

    @property
    def deal_properties(self) -> tuple[str, ...]:
        extra = (
            self.deal_type,
            self.contract_start,
            self.contract_end,
            self.mrr,
            self.lost_reason,
            self.channel,
        )
        return tuple(dict.fromkeys(hs.DEAL_PROPERTIES + extra))

    @property
    def company_properties(self) -> tuple[str, ...]:
        extra = (self.segment, self.region, self.industry)
        return tuple(dict.fromkeys(hs.COMPANY_PROPERTIES + extra))

    @property
    def product_properties(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*hs.PRODUCT_PROPERTIES, self.product_family)))
