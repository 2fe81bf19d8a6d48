"""A vendor's rate-limit window, shared by the fakes that answer 429 past it.

Separate from `server.py` because only the fakes that model a request budget use it,
and each keeps its own headers and error body around the same counting.
"""

from __future__ import annotations

import math
import threading
import time


class RateWindow:
    """`maximum` requests per fixed window of `interval_s` seconds, thread-safe.

    `count_refused`: whether a refused request uses up the window too (Pipedrive's do;
    HubSpot's do not). `started` is when the first window opened (0: at the first request).
    """

    def __init__(
        self,
        maximum: int,
        interval_s: float,
        *,
        count_refused: bool,
        started: float = 0.0,
    ) -> None:
        self.maximum = maximum
        self.interval_s = interval_s
        self.count_refused = count_refused
        self.started = started
        self.used = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return max(0, self.maximum - self.used)

    def take(self) -> tuple[bool, int, int]:
        """One request: (allowed, requests left, whole seconds until the window resets)."""
        with self._lock:
            now = time.monotonic()
            if now - self.started >= self.interval_s:
                self.started, self.used = now, 0
            if self.count_refused:
                self.used += 1
                allowed = self.used <= self.maximum
            else:
                allowed = self.used < self.maximum
                if allowed:
                    self.used += 1
            reset = max(1, math.ceil(self.interval_s - (now - self.started)))
            return allowed, self.remaining, reset
