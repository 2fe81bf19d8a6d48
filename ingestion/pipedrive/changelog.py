"""A deal's stage path from its changelog, and the on-disk cache of paths already read.

The changelog is the costly part of a load (one request per deal); the logic that reads
it and the cache that lets a killed run resume are kept apart from the resource.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlt.common import json

from ingestion.pipedrive.errors import PipedriveResponseError


def stage_path(
    changes: list[Mapping[str, Any]], current_stage: int | None, what: str
) -> list[tuple[int | None, str | None]]:
    """A deal's stages from its changelog: [(stage id, entered time or None for add_time)].

    The deal entered its first stage when it was created; that stage is the old value of
    its first stage change, or its current stage when it never changed stage. Changes
    are put in time order whatever order the API lists them in; changes within the same
    second are chained (each starts in the stage the previous one ended in).
    """
    moves: list[tuple[str, int | None, int | None]] = []
    for change in changes:
        if not isinstance(change, Mapping) or change.get("field_key") != "stage_id":
            continue
        when = change.get("time")
        if not when:
            raise PipedriveResponseError(f"{what}: a stage change without 'time'")
        old = _int_or_none(change.get("old_value"), what)
        moves.append((str(when), old, _int_or_none(change.get("new_value"), what)))
    moves.sort(key=lambda m: m[0])
    ordered: list[tuple[str, int | None, int | None]] = []
    start = 0
    while start < len(moves):
        end = start
        while end < len(moves) and moves[end][0] == moves[start][0]:
            end += 1
        tied = moves[start:end]
        if len(tied) > 1:
            if ordered:
                here = ordered[-1][2]
            else:  # the chain's head: the move whose start no other tied move ends in
                ends = {m[2] for m in tied}
                here = next((m[1] for m in tied if m[1] not in ends), tied[0][1])
            while tied:
                step = next((m for m in tied if m[1] == here), tied[0])
                tied.remove(step)
                ordered.append(step)
                here = step[2]
        else:
            ordered.extend(tied)
        start = end
    initial = ordered[0][1] if ordered else current_stage
    if initial is None:
        initial = current_stage
    path: list[tuple[int | None, str | None]] = [(initial, None)]
    path.extend((new, when) for when, _, new in ordered)
    return path


def _int_or_none(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PipedriveResponseError(f"{what}: stage id {value!r} is not a number") from None


class ChangelogCache:
    """Stage paths already fetched, keyed by (deal id, deal update_time), on disk.

    The changelog costs one request per deal; a run that is killed half-way through a
    large first load keeps what it fetched, so the rerun resumes where it stopped
    instead of asking Pipedrive again. A deal's path at a given update_time never
    changes (a stage change moves update_time), so a hit is always current.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS stage_paths ("
            " deal_id INTEGER NOT NULL, update_time TEXT NOT NULL, path TEXT NOT NULL,"
            " PRIMARY KEY (deal_id, update_time))"
        )
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], list[Any]]:
        found: dict[tuple[int, str], list[Any]] = {}
        with self._lock:
            for start in range(0, len(keys), 400):
                chunk = keys[start : start + 400]
                where = " OR ".join("(deal_id = ? AND update_time = ?)" for _ in chunk)
                args = [v for key in chunk for v in key]
                for deal_id, update_time, text in self._con.execute(
                    f"SELECT deal_id, update_time, path FROM stage_paths WHERE {where}", args
                ):
                    found[(deal_id, update_time)] = json.loads(text)
        return found

    def put_many(self, items: Mapping[tuple[int, str], list[Any]]) -> None:
        with self._lock:
            self._con.execute("BEGIN")
            self._con.executemany(
                "INSERT OR REPLACE INTO stage_paths VALUES (?, ?, ?)",
                [(k[0], k[1], json.dumps(v)) for k, v in items.items()],
            )
            self._con.execute("COMMIT")

    def prune(self, loaded_before: str) -> None:
        """Forget paths of deal versions older than the committed cursor: never asked again."""
        with self._lock:
            self._con.execute("DELETE FROM stage_paths WHERE update_time < ?", (loaded_before,))

    def close(self) -> None:
        with self._lock:
            self._con.close()


def cursor_key(value: datetime) -> str:
    """One sortable text form of a UTC timestamp, for cache keys and comparisons."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
