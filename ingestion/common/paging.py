"""Following a cursor from page to page, the loop every listing of every connector runs.

What a page and a cursor are, and how a vendor's search restarts past its result cap,
stay with each source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

Page = TypeVar("Page")
Cursor = TypeVar("Cursor")


def follow(fetch: Callable[[Cursor | None, int], tuple[Page, Cursor | None]]) -> Iterator[Page]:
    """Pages of `fetch(cursor, page_number)`, which returns a page and the next cursor
    (None on the last page). The first call gets cursor None and page number 1; nothing
    is fetched before the first page is asked for."""
    cursor: Cursor | None = None
    number = 0
    while True:
        number += 1
        page, cursor = fetch(cursor, number)
        yield page
        if cursor is None:
            return
