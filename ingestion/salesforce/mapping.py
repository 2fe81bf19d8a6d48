"""The run's field mapping and deal-type value mapping, applied to what was read.

Which org field feeds each value of the one CRM model (segment, team, MRR, ...) and how
Opportunity.Type's values become its deal types. Kept apart from the object reader:
these are the user's settings, checked and applied, not API calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.salesforce.errors import SalesforceConfigError
from ingestion.salesforce.settings import (
    DEAL_TYPES,
    DEFAULT_DEAL_TYPE_VALUES,
    DEFAULT_MAPPING,
    MAPPED_ON,
)

logger = logging.getLogger("crm_kpi.salesforce")


@dataclass(frozen=True)
class MappedField:
    """A value of the one CRM model read from a field the settings name."""

    column: str  # raw column: segment, team, mrr, ...
    setting: str  # SOURCES__SALESFORCE__<SETTING>
    path: str  # "" leaves the column empty
    kind: str
    explicit: bool  # set by the user (a missing field is an error) or the default


MAPPED_KINDS = {
    "contract_start": "date",
    "contract_end": "date",
    "mrr": "money",
    "cost": "money",
    "line_cost": "money",
}


@dataclass(frozen=True)
class FieldSettings:
    """The field mapping and value mapping a run uses (see settings.FieldMapping)."""

    paths: Mapping[str, str]
    deal_type_values: Mapping[str, str]
    default_pipeline: str

    def mapped(self, sobject: str) -> list[MappedField]:
        return [
            MappedField(
                column=name,
                setting=f"SOURCES__SALESFORCE__{name.upper()}_FIELD",
                path=(self.paths[name] or "").strip(),
                kind=MAPPED_KINDS.get(name, "string"),
                explicit=self.paths[name] != getattr(DEFAULT_MAPPING, name),
            )
            for name, on in MAPPED_ON.items()
            if on == sobject
        ]

    def finish_opportunities(self, table: pa.Table) -> pa.Table:
        """Map deal types through deal_type_values; label deals without a pipeline."""
        raw = table.column("deal_type")
        keys = list(self.deal_type_values)
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(raw))
        index = pc.index_in(lowered, value_set=pa.array(keys, pa.string()))
        mapped = pc.take(pa.array(list(self.deal_type_values.values()), pa.string()), index)
        unmapped = pc.unique(pc.filter(raw, pc.and_(pc.is_valid(raw), pc.is_null(index))))
        if len(unmapped):
            logger.warning(
                "Salesforce deal type values not in SOURCES__SALESFORCE__DEAL_TYPE_VALUES "
                "are counted as new_business: %s",
                ", ".join(sorted(str(v) for v in unmapped.to_pylist())),
            )
        table = table.set_column(table.schema.get_field_index("deal_type"), "deal_type", mapped)
        pipeline = pc.fill_null(table.column("pipeline"), self.default_pipeline)
        return table.set_column(table.schema.get_field_index("pipeline"), "pipeline", pipeline)


def normalise_deal_type_values(values: Mapping[str, str] | None) -> dict[str, str]:
    """The defaults extended by `values` (keys compared lower-cased).

    Every target must be one of the one CRM model's deal types.
    """
    result = dict(DEFAULT_DEAL_TYPE_VALUES)
    for key, target in (values or {}).items():
        if target not in DEAL_TYPES:
            raise SalesforceConfigError(
                f"SOURCES__SALESFORCE__DEAL_TYPE_VALUES maps {key!r} to {target!r}; "
                f"each value must be one of {', '.join(DEAL_TYPES)}"
            )
        result[str(key).strip().lower()] = target
    return result
