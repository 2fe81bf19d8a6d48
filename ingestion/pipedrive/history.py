"""The `stage_history` resource: every stage each changed deal went through, read from
the deals' changelogs concurrently, with progress logged and a killed run resumed.
"""

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import TIMESTAMP
from ingestion.common.incremental import EPOCH, MERGE, delete_hints, lagged_cursor
from ingestion.pipedrive import settings
from ingestion.pipedrive.changelog import ChangelogCache, cursor_key, stage_path
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.listing import all_records
from ingestion.pipedrive.values import to_timestamp

logger = logging.getLogger("ingestion.pipedrive")

CACHE_FILE = "pipedrive_stage_paths.sqlite"

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("deal_id", pa.int64(), nullable=False),
        pa.field("seq", pa.int32(), nullable=False),
        ("stage_id", pa.int64()),
        ("entered_at", TIMESTAMP),
        ("update_time", TIMESTAMP),
        ("is_deleted", pa.bool_()),
    ]
)


class HistoryFetcher:
    """Stage history of pages of deals: one changelog request per live deal, concurrent."""

    def __init__(
        self,
        client: PipedriveClient,
        workers: int,
        cache: ChangelogCache | None,
        page_size: int = settings.CHANGELOG_PAGE_SIZE,
    ) -> None:
        self.client = client
        self.workers = max(1, workers)
        self.cache = cache
        self.page_size = page_size
        self.deals_done = 0
        self.requested = 0
        self.from_cache = 0
        self._started = time.monotonic()
        self._last_log = self._started
        self._pool: ThreadPoolExecutor | None = None

    def _fetch(
        self, deal_id: int, current_stage: int | None
    ) -> list[tuple[int | None, str | None]]:
        path = settings.DEAL_CHANGELOG.format(id=deal_id)
        what = f"GET {path}"
        changes = all_records(self.client, path, self.page_size, what=what)
        return stage_path(changes, current_stage, what)

    def rows(self, deals: pa.Table) -> pa.Table:
        """History rows of one page of deals (a tombstone row for each deleted deal)."""
        ids = deals["id"].to_pylist()
        updates = deals["update_time"].to_pylist()
        stages = deals["stage_id"].to_pylist()
        deleted = deals["is_deleted"].to_pylist()
        keys = [(ids[i], cursor_key(updates[i])) for i in range(len(ids))]
        live = [i for i in range(len(ids)) if not deleted[i]]
        paths: dict[tuple[int, str], list[Any]] = {}
        if self.cache is not None and live:
            paths = self.cache.get_many([keys[i] for i in live])
            self.from_cache += len(paths)
        todo = [i for i in live if keys[i] not in paths]
        if todo:
            if self._pool is None:
                # one pool for the run: its threads keep their HTTP connections alive
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pipedrive")
            fetched = list(self._pool.map(lambda i: self._fetch(ids[i], stages[i]), todo))
            new = {keys[i]: path for i, path in zip(todo, fetched, strict=True)}
            self.requested += len(todo)
            if self.cache is not None:
                self.cache.put_many(new)
            paths.update(new)
        self.deals_done += len(ids)
        self._log_progress()

        deal_idx: list[int] = []
        seqs: list[int] = []
        stage_ids: list[int | None] = []
        times: list[str | None] = []
        initial: list[bool] = []
        for i in range(len(ids)):
            if deleted[i]:
                deal_idx.append(i)
                seqs.append(0)
                stage_ids.append(None)
                times.append(None)
                initial.append(False)
                continue
            for seq, (stage_id, when) in enumerate(paths[keys[i]]):
                deal_idx.append(i)
                seqs.append(seq)
                stage_ids.append(stage_id)
                times.append(when)
                initial.append(when is None)
        index = pa.array(deal_idx, pa.int64())
        changed_at = to_timestamp(pa.array(times, pa.string()), "deal changelog: time")
        entered_at = pc.if_else(
            pa.array(initial, pa.bool_()), pc.take(deals["add_time"], index), changed_at
        )
        return pa.table(
            {
                "deal_id": pc.take(deals["id"], index),
                "seq": pa.array(seqs, pa.int32()),
                "stage_id": pa.array(stage_ids, pa.int64()),
                "entered_at": entered_at,
                "update_time": pc.take(deals["update_time"], index),
                "is_deleted": pc.take(deals["is_deleted"], index),
            },
            schema=HISTORY_SCHEMA,
        )

    def _log_progress(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_log < settings.PROGRESS_LOG_SECONDS:
            return
        self._last_log = now
        elapsed = max(now - self._started, 1e-9)
        logger.info(
            "pipedrive: stage history of %d deals so far (%d changelog requests, %.1f/s; "
            "%d resumed from an interrupted run)",
            self.deals_done,
            self.requested,
            self.requested / elapsed,
            self.from_cache,
        )


def _pipeline_working_dir() -> Path | None:
    try:
        return Path(dlt.current.pipeline().working_dir)
    except Exception:  # noqa: BLE001 - run outside a pipeline (a test calling the resource): no cache
        return None


class HistoryRun(HistoryFetcher):
    """The fetcher of one run: opens the resume cache and prunes it once, at the first page."""

    def __init__(self, client: PipedriveClient, workers: int, full_refresh: bool) -> None:
        super().__init__(client, workers, cache=None)
        self.full_refresh = full_refresh
        self._started_run = False

    def start(self, start_value: datetime | None) -> None:
        if self._started_run:
            return
        self._started_run = True
        logger.info(
            "pipedrive: reading the stage history of every deal changed since the cursor "
            "(one changelog request per deal; progress every %.0f s)",
            settings.PROGRESS_LOG_SECONDS,
        )
        working_dir = _pipeline_working_dir()
        if working_dir is not None:
            self.cache = ChangelogCache(working_dir / CACHE_FILE)
            if not self.full_refresh and start_value is not None and start_value > EPOCH:
                self.cache.prune(cursor_key(start_value))


# The transformer and its stand-in (no_stage_history) load the same table: one
# declaration keeps their keys equal.
_HISTORY_TABLE: dict[str, Any] = {
    "name": "stage_history",
    "section": "pipedrive",
    "write_disposition": MERGE,
    "primary_key": ("deal_id", "seq"),
    "merge_key": "deal_id",
}


# The parent (deals) is bound in pipedrive_source with `|`. A transformer takes no
# `incremental=` in its decorator: its cursor is declared by the argument default below.
@dlt.transformer(**_HISTORY_TABLE, columns=delete_hints("is_deleted", "update_time"))
def stage_history(
    deals_page: pa.Table,
    fetcher: HistoryRun,
    updated_since: dlt.sources.incremental[datetime] = lagged_cursor(  # noqa: B008
        "update_time", settings.LOOKBACK_SECONDS, initial_value=EPOCH
    ),
) -> Iterator[pa.Table]:
    """Every stage each deal of the page went through; its cursor is the deal's update_time.

    A deal's rows are replaced as a whole (merge key deal_id): its changelog is read in
    full each time the deal changes. A deleted deal yields one tombstone row that removes
    its history.
    """
    fetcher.start(updated_since.start_value)
    yield fetcher.rows(deals_page)


@dlt.resource(
    **_HISTORY_TABLE,
    columns=delete_hints("is_deleted"),
    incremental=lagged_cursor("update_time", None, initial_value=EPOCH),
)
def no_stage_history(
    updated_since: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008 - dlt binds the cursor from this default
        "update_time"
    ),
) -> Iterator[pa.Table]:
    """With load_stage_history off, an empty typed table keeps staging's view valid."""
    yield HISTORY_SCHEMA.empty_table()
