"""What the resources share: the source's options, the `updated_since` cursor value and
the listing of changed records that deals and organizations both page through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa

from ingestion.common.incremental import EPOCH, utc_seconds_text
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient


@dataclass(frozen=True)
class Options:
    """The source's settings the resources read, fixed for one run."""

    page_size: int
    full_refresh: bool
    include_archived: bool
    history_workers: int
    deal_fields: Mapping[str, tuple[str, str]]
    organization_fields: Mapping[str, tuple[str, str]]
    product_fields: Mapping[str, tuple[str, str]]
    team_field: str
    deal_type_labels: Mapping[str, str]


def updated_since_value(updated_since: dlt.sources.incremental[datetime]) -> str | None:
    """The `updated_since` query value: the lag-adjusted cursor, none on a first load."""
    start = updated_since.start_value
    if start is None or start <= EPOCH:
        return None
    # whole seconds, rounded down: updated_since is compared with >=, so no record is lost
    return utc_seconds_text(start.replace(microsecond=0))


def all_records(
    client: PipedriveClient, path: str, page_size: int = settings.PAGE_SIZE, what: str = ""
) -> list[dict[str, Any]]:
    """Every record of a cursor-paged list, all pages read (fields, pipelines, a changelog)."""
    records: list[dict[str, Any]] = []
    for page in client.paginate(path, {"limit": page_size}, what=what):
        records.extend(page)
    return records


def changed_pages(
    client: PipedriveClient,
    paths: Sequence[str],
    options: Options,
    updated_since: dlt.sources.incremental[datetime],
    custom_keys: Sequence[str],
    to_table: Callable[[list[dict[str, Any]], str], pa.Table],
    filters: Mapping[str, Any] | None = None,
) -> Iterator[pa.Table]:
    """Records changed since the cursor (all on a full refresh), oldest change first, one
    Arrow table per non-empty page of each path in turn."""
    since = None if options.full_refresh else updated_since_value(updated_since)
    params: dict[str, Any] = {
        "limit": options.page_size,
        "sort_by": "update_time",
        "sort_direction": "asc",
        **(filters or {}),
    }
    if since:
        params["updated_since"] = since
    if custom_keys:
        params["custom_fields"] = ",".join(custom_keys)
    produced = False
    for path in paths:
        for page_number, records in enumerate(client.paginate(path, params), start=1):
            if records:
                produced = True
                yield to_table(records, f"GET {path} (page {page_number})")
    if not produced and since is None:
        # a company without records still gets typed (empty) tables for staging
        yield to_table([], f"GET {paths[0]}")
