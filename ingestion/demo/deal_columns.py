"""The columns of simulated deals, gathered step by step and joined once at the end.

Apart from the simulation because it is plain bookkeeping: every lifecycle step adds the
deals it made (those it keeps) as int64 numpy columns.
"""

from __future__ import annotations

import numpy as np


class DealColumns:
    """Columns of deals made by the lifecycle steps, concatenated once at the end."""

    FIELDS = (
        "account",  # local account index, -1 without account
        "owner",  # owner index (a few deals lose their owner when the tables are made)
        "kind",  # 0 new business, 1 renewal, 2 expansion
        "created",  # seconds
        "outcome",  # 0 lost, 1 won, 2 stale (stays open)
        "close",  # seconds of the (possibly future) close; for stale deals the last activity
        "amount",  # cents
        "mrr",  # cents; 0 for a one-off deal
        "contract_start",  # day numbers, meaningful for won recurring deals
        "contract_end",
        "reason",  # lost reason code, -1 for none
        "currency",
    )

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {f: [] for f in self.FIELDS}

    def add(self, keep: np.ndarray, **columns: np.ndarray | int) -> None:
        n = int(np.count_nonzero(keep))
        if n == 0:
            return
        for name in self.FIELDS:
            value = columns[name]
            if isinstance(value, np.ndarray):
                self._parts[name].append(value[keep].astype(np.int64))
            else:
                self._parts[name].append(np.full(n, value, dtype=np.int64))

    def columns(self) -> dict[str, np.ndarray]:
        return {
            name: np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
            for name, parts in self._parts.items()
        }
