"""What is asked of the org: its objects, their fields, and every page of a SOQL query
(followed from nextRecordsUrl to nextRecordsUrl by `ingestion.common.paging.follow`).

A read is bound to the org's real fields first (describe), so a missing or mistyped
field stops the run with the setting that names it before any record is read. Kept
apart from the client, which only knows HTTP and Salesforce's refusals.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from ingestion.common.paging import follow
from ingestion.salesforce.client import API_VERSION_SETTING, SalesforceClient
from ingestion.salesforce.describe import (
    COMPATIBLE,
    PICKLIST_TYPES,
    Describe,
    ObjectSpec,
    ResolvedField,
    SObjectField,
)
from ingestion.salesforce.errors import SalesforceConfigError, SalesforceRequestError
from ingestion.salesforce.mapping import MappedField
from ingestion.salesforce.pages import Page, build_soql, parse_page
from ingestion.salesforce.settings import LABELLED, Field

logger = logging.getLogger("crm_kpi.salesforce")


class SalesforceApi(SalesforceClient):
    """The org's objects and queries, on top of its REST client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sobjects: dict[str, str] | None = None
        self._describes: dict[str, Describe] = {}

    def has_object(self, sobject: str) -> bool:
        if self._sobjects is None:
            listing = self.get_json(self.data_path("sobjects/"), "the list of objects")
            self._sobjects = {
                str(o["name"]).lower(): str(o["name"])
                for o in listing.get("sobjects", [])
                if o.get("queryable", True)
            }
        return sobject.lower() in self._sobjects

    def describe(self, sobject: str) -> Describe:
        key = sobject.lower()
        if key not in self._describes:
            body = self.get_json(
                self.data_path(f"sobjects/{sobject}/describe"), f"the describe of {sobject}"
            )
            fields = {
                str(f["name"]).lower(): SObjectField(
                    name=str(f["name"]),
                    type=str(f.get("type", "string")),
                    relationship_name=f.get("relationshipName"),
                    reference_to=tuple(f.get("referenceTo") or ()),
                )
                for f in body.get("fields", [])
            }
            self._describes[key] = Describe(str(body.get("name", sobject)), fields)
        return self._describes[key]

    def _resolve(self, sobject: str, path: str) -> tuple[tuple[str, ...], str] | None:
        """The canonical path and Salesforce type of `path` on `sobject`, if it exists."""
        describe = self.describe(sobject)
        head, _, tail = path.partition(".")
        if not tail:
            found = describe.get(head)
            return ((found.name,), found.type) if found else None
        relation = describe.relationship(head)
        if relation is None or not relation.reference_to:
            return None
        target = self.describe(relation.reference_to[0]).get(tail)
        if target is None:
            return None
        return (str(relation.relationship_name), target.name), target.type

    def object_spec(
        self, sobject: str, fields: Sequence[Field], mapped: Sequence[MappedField] = ()
    ) -> ObjectSpec:
        spec = ObjectSpec(sobject=sobject, fields=[])
        for f in fields:
            spec.kinds[f.column] = f.kind
            resolved = self._resolve(sobject, f.path)
            if resolved is None:
                if f.required:
                    raise SalesforceRequestError(
                        f"The Salesforce object {sobject} has no field {f.path}, which this "
                        f"connector reads; check {API_VERSION_SETTING} ({self.api_version})."
                    )
                spec.absent.append(f.column)
                continue
            labelled = f.labelled and resolved[1] in PICKLIST_TYPES
            spec.fields.append(ResolvedField(f.column, resolved[0], f.kind, resolved[1], labelled))
        for m in mapped:
            spec.kinds[m.column] = m.kind
            if not m.path:
                spec.absent.append(m.column)
                continue
            resolved = self._resolve(sobject, m.path)
            if resolved is None:
                if m.explicit:
                    raise SalesforceConfigError(
                        f"{m.setting}={m.path!r}: the Salesforce object {sobject} has no such "
                        f"field{self._suggest(sobject, m.path)}. Set it to the API name of the "
                        f"field that holds the {m.column.replace('_', ' ')} (a custom field "
                        "ends in __c; a related field is written Relationship.Field), or to "
                        "an empty string to leave it empty."
                    )
                logger.info(
                    "Salesforce %s has no field %s (the default of %s): %s stays empty",
                    sobject,
                    m.path,
                    m.setting,
                    m.column,
                )
                spec.absent.append(m.column)
                continue
            path, sf_type = resolved
            allowed = COMPATIBLE.get(m.kind)
            if allowed is not None and sf_type not in allowed:
                raise SalesforceConfigError(
                    f"{m.setting}={m.path!r}: {sobject}.{'.'.join(path)} is a {sf_type} field; "
                    f"the {m.column.replace('_', ' ')} needs a {' or '.join(sorted(allowed))} "
                    "field."
                )
            labelled = m.column in LABELLED and sf_type in PICKLIST_TYPES
            spec.fields.append(ResolvedField(m.column, path, m.kind, sf_type, labelled))
        return spec

    def _suggest(self, sobject: str, path: str) -> str:
        head = path.split(".")[0].lower()
        names = [f.name for f in self.describe(sobject).fields.values()]
        close = difflib.get_close_matches(head, [n.lower() for n in names], n=3, cutoff=0.6)
        if not close:
            return ""
        by_lower = {n.lower(): n for n in names}
        return " (did you mean " + " or ".join(by_lower[c] for c in close) + "?)"

    def changes(self, spec: ObjectSpec, since: datetime | None) -> Iterator[pa.Table]:
        """Records modified after `since`, deleted ones included, oldest change first."""
        return self.query(spec, since, include_deleted=True, order_by="SystemModstamp")

    def query(
        self,
        spec: ObjectSpec,
        since: datetime | None = None,
        include_deleted: bool = False,
        order_by: str | None = None,
    ) -> Iterator[pa.Table]:
        """Every page of the SOQL query, as Arrow tables of the raw columns.

        include_deleted uses queryAll, which also returns records in the recycle bin
        (IsDeleted = true): that is how deletes reach raw_salesforce.
        """
        soql = build_soql(spec, since, order_by)
        endpoint = "queryAll" if include_deleted else "query"

        def fetch(next_url: str | None, number: int) -> tuple[Page, str | None]:
            what = f"page {number} of the {spec.sobject} {endpoint}"
            if next_url is None:
                response = self._send(self.rest, self.data_path(endpoint), {"q": soql}, what)
            else:
                response = self._send(self.rest, next_url, None, what)
            page = parse_page(response.content, spec, what)
            # parse_page has made sure that a page which is not the last names the next
            return page, None if page.done else page.next_url

        pages = rows = 0
        for page in follow(fetch):
            pages, rows = pages + 1, rows + page.records.num_rows
            yield page.records
        logger.info(
            "Salesforce %s: %s records in %s page(s)%s",
            spec.sobject,
            rows,
            pages,
            f", API usage {self.api_usage[0]}/{self.api_usage[1]}" if self.api_usage else "",
        )
