"""The company's deals as columns: one array per field, and the stage history as moves
with per-deal offsets.

Separate from `company.py` because these arrays are what the bench's million deals are
paged from (`deals.py`), and `_index_deals` re-sorts them after every change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.arrow import column_or_nulls, epoch
from tests.fakes.pipedrive.columns import NULL, STATUS_CODES, date_texts, native_ids, positions_in
from tests.fakes.pipedrive.responses import DEAL_TYPE_LABELS


class DealColumns:
    """Builds `deal_type_options`, the deals' columns `_d_*`, the history's `_h_*` and the
    keyset order (`_order`, `_ut_sorted`, `_id_sorted`). Reads `pipeline_ids`,
    `stage_ids` and `_account_keys` and calls `_stage_of` (CompanyData)."""

    def _build_deals(self, deals: pa.Table, owners: pa.Table) -> None:
        """Deals, columnar (index i is the deal with native id i + 1)."""
        n = deals.num_rows
        deal_keys = deals["deal_id"].combine_chunks()
        pipeline_keys = pa.array(list(self.pipeline_ids), pa.string())
        pipeline_values = np.array(list(self.pipeline_ids.values()), dtype=np.int64)
        status = deals["status"].combine_chunks()
        self._d_title = deal_keys.to_pylist()
        self._d_owner = native_ids(
            positions_in(
                deals["owner_id"],
                owners["owner_id"].combine_chunks(),
                "deals",
                "owner_id",
                "owners",
            ),
            n,
        )
        self._d_org = native_ids(
            positions_in(
                deals["account_id"], self._account_keys, "deals", "account_id", "accounts"
            ),
            n,
        )
        self._d_pipeline = pipeline_values[
            pc.index_in(deals["pipeline"], value_set=pipeline_keys).to_numpy()
        ]
        self._d_stage = self._stage_of(deals["pipeline"], deals["stage"])
        amounts = pc.cast(deals["amount"], pa.float64()).to_numpy(zero_copy_only=False)
        self._d_value = np.nan_to_num(amounts, nan=0.0)  # Pipedrive's value is never empty
        self._d_currency = deals["currency"].to_pylist()
        self._d_status = np.array([STATUS_CODES[s] for s in status.to_pylist()], dtype=np.int8)
        self._d_add = epoch(deals["created_at"], "us", NULL)
        self._d_close = epoch(deals["closed_at"], "us", NULL)
        self._d_lost_reason = column_or_nulls(deals, "lost_reason", pa.string()).to_pylist()
        self._d_deleted = np.zeros(n, dtype=bool)
        self._d_archived = np.zeros(n, dtype=bool)
        self.deal_type_options = {v: i for i, v in enumerate(DEAL_TYPE_LABELS, start=1)}
        if "deal_type" in deals.column_names:
            type_keys = pa.array(list(self.deal_type_options), pa.string())
            self._d_deal_type = native_ids(pc.index_in(deals["deal_type"], value_set=type_keys), n)
        else:
            self._d_deal_type = np.zeros(n, dtype=np.int64)
        # the deal's marketing channel: an option of the built-in `channel` field
        channel = pc.dictionary_encode(column_or_nulls(deals, "channel", pa.string()))
        self.channel_options = {v: i for i, v in enumerate(channel.dictionary.to_pylist(), 1)}
        self._d_channel = native_ids(channel.indices, n)
        self._d_contract_start = date_texts(deals, "contract_start", n)
        self._d_contract_end = date_texts(deals, "contract_end", n)
        mrr = deals["mrr"] if "mrr" in deals.column_names else pa.nulls(n, pa.float64())
        self._d_mrr = pc.cast(mrr, pa.float64()).to_numpy(zero_copy_only=False)

    def _build_history(
        self, deals: pa.Table, history: pa.Table, hist_index: pa.Array, hist_pipeline: Any
    ) -> None:
        """The stage history: the first entry is the stage at creation, the rest are moves;
        sorted by (deal, time) with per-deal offsets, plus moves made later in tests. It
        dates each deal's last stage change and, where the data has none, its update."""
        n = deals.num_rows
        at = epoch(history["entered_at"], "us", NULL)
        order = np.lexsort((at, hist_index.to_numpy(zero_copy_only=False)))
        self._h_deal = hist_index.to_numpy(zero_copy_only=False)[order]
        self._h_at = at[order]
        self._h_stage = self._stage_of(hist_pipeline, history["stage"])[order]
        self._h_offsets = np.searchsorted(self._h_deal, np.arange(n + 1), "left")
        self._h_extra: dict[int, list[tuple[int, int]]] = {}
        counts = np.diff(self._h_offsets)
        last = self._h_offsets[1:] - 1
        has_move = counts > 1
        if len(self._h_at):
            moved_at = self._h_at[np.where(has_move, last, 0)]
            self._d_stage_change = np.where(has_move, moved_at, NULL)
        else:
            self._d_stage_change = np.full(n, NULL, dtype=np.int64)
        if "updated_at" in deals.column_names:
            updated = epoch(deals["updated_at"], "us", NULL)
        else:
            updated = np.full(n, NULL, dtype=np.int64)
        latest = np.maximum(np.maximum(self._d_add, self._d_close), self._d_stage_change)
        self._d_update = np.where(updated == NULL, latest, updated)
        self._deal_ids: dict[str, int] | None = None

    def _index_deals(self) -> None:
        """Sort order (update_time, id) for keyset paging."""
        self._id = np.arange(1, len(self._d_update) + 1, dtype=np.int64)
        self._order = np.lexsort((self._id, self._d_update))
        self._ut_sorted = self._d_update[self._order]
        self._id_sorted = self._id[self._order]
