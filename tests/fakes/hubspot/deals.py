"""The portal's deals built from files-contract tables, with their `dealstage` history.

Separate from `crm.py` because deals carry most of the build: properties, company
links and the history HubSpot serves as `propertiesWithHistory`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.arrow import column_or_nulls, epoch, iso_texts
from tests.fakes.hubspot.records import (
    DEAL_ID_BASE,
    DEAL_TYPE_OPTIONS,
    STAGE_ID_BASE,
    Objects,
    as_text,
    date_text,
    history_entries,
    stamp_ms,
)


class DealData:
    """Builds `deals` (an `Objects`). Mixed into FakeHubSpot; reads `names`,
    `pipeline_ids`, `stage_ids`, `owner_ids`, `companies` and `pipelines` (PortalData)."""

    def _build_deals(self, deals: pa.Table, history: pa.Table | None) -> None:
        n = deals.num_rows
        ids = DEAL_ID_BASE + np.arange(n, dtype=np.int64)
        keys = [str(k) for k in deals.column("deal_id").to_pylist()]
        created = epoch(deals.column("created_at"), "ms", -1)
        closed = stamp_ms(deals, "closed_at")
        updated = stamp_ms(deals, "updated_at")
        modified = np.where(updated >= 0, updated, np.maximum(created, closed))
        status = deals.column("status").combine_chunks()
        pipelines = deals.column("pipeline").to_pylist()
        stage_labels = deals.column("stage").to_pylist()
        deal_type = column_or_nulls(deals, "deal_type", pa.string())
        options = pa.array(list(DEAL_TYPE_OPTIONS.values()), pa.string())
        deal_type_option = options.take(
            pc.index_in(deal_type, value_set=pa.array(list(DEAL_TYPE_OPTIONS), pa.string()))
        )
        closed_iso = pa.array(iso_texts(closed, "ms"), pa.string())
        deal_ids = deals.column("deal_id").combine_chunks().cast(pa.string())
        pipeline_labels = deals.column("pipeline").combine_chunks()
        stage_keys = pc.binary_join_element_wise(
            pipeline_labels, deals.column("stage").combine_chunks(), "\x1f"
        )
        known_stages = pa.array([f"{p}\x1f{s}" for p, s in self.stage_ids], pa.string())
        owners = column_or_nulls(deals, "owner_id", pa.string())
        props = {
            "dealname": pc.binary_join_element_wise("Deal ", deal_ids, ""),
            "amount": as_text(column_or_nulls(deals, "amount", pa.decimal128(18, 2))),
            "deal_currency_code": as_text(deals.column("currency").combine_chunks()),
            "pipeline": pa.array(list(self.pipeline_ids.values()), pa.string()).take(
                pc.index_in(pipeline_labels, value_set=pa.array(list(self.pipeline_ids)))
            ),
            "dealstage": pa.array(list(self.stage_ids.values()), pa.string()).take(
                pc.index_in(stage_keys, value_set=known_stages)
            ),
            "closedate": closed_iso,
            "hubspot_owner_id": pa.array(list(self.owner_ids.values()), pa.string()).take(
                pc.index_in(owners, value_set=pa.array(list(self.owner_ids), pa.string()))
            ),
            "hs_is_closed": pc.if_else(pc.equal(status, "open"), "false", "true"),
            "hs_is_closed_won": pc.if_else(pc.equal(status, "won"), "true", "false"),
            self.names["deal_type"]: deal_type_option,
            self.names["contract_start"]: date_text(
                column_or_nulls(deals, "contract_start", pa.date32())
            ),
            self.names["contract_end"]: date_text(
                column_or_nulls(deals, "contract_end", pa.date32())
            ),
            self.names["mrr"]: as_text(column_or_nulls(deals, "mrr", pa.decimal128(18, 2))),
            self.names["lost_reason"]: column_or_nulls(deals, "lost_reason", pa.string()),
        }
        self.deals = Objects("deals", ids, props, created, modified, keys)
        # companies: the primary one and, for every 7th deal, another (unlabeled) one listed
        # before it, as HubSpot portals have deals linked to several companies
        company_rows = pc.index_in(
            column_or_nulls(deals, "account_id", pa.string()),
            value_set=pa.array(list(self.companies.index), pa.string()),
        )
        has_company = pc.is_valid(company_rows).to_numpy(zero_copy_only=False)
        company_row = pc.fill_null(company_rows, 0).to_numpy(zero_copy_only=False)
        company_ids = self.companies.ids
        if len(company_ids):
            self.deals.primary_company = np.where(has_company, company_ids[company_row], -1)
            second = has_company & (np.arange(n) % 7 == 0) & (len(company_ids) > 1)
            other = company_ids[(company_row + 1) % len(company_ids)]
            self.deals.other_company = np.where(second, other, -1)
        self.deals.history_json = self._history(deals, history, pipelines, stage_labels, created)

    def _history(
        self,
        deals: pa.Table,
        history: pa.Table | None,
        pipelines: list[str],
        stage_labels: list[str],
        created: np.ndarray,
    ) -> pa.Array:
        """Each deal's `propertiesWithHistory.dealstage` as JSON text, built with Arrow."""
        n = deals.num_rows
        rows = np.zeros(0, dtype=np.int64)
        entries = pa.array([], pa.string())
        if history is not None and history.num_rows:
            index = pc.index_in(
                history.column("deal_id"), value_set=deals.column("deal_id").combine_chunks()
            )
            known = pc.is_valid(index)
            row = pc.filter(index, known)
            table = pa.table(
                {
                    "row": row,
                    "pipeline": pa.array(pipelines, pa.string()).take(row),
                    "stage": pc.filter(history.column("stage"), known),
                    "entered_ms": pa.array(
                        epoch(pc.filter(history.column("entered_at"), known), "ms", -1)
                    ),
                }
            )
            for pipeline, stage in set(
                zip(
                    table.column("pipeline").to_pylist(),
                    table.column("stage").to_pylist(),
                    strict=True,
                )
            ):
                if (pipeline, stage) not in self.stage_ids:  # HubSpot keeps a removed stage's id
                    self._extra_stage(pipeline, stage)
            ids = pa.table(
                {
                    "pipeline": [p for p, _ in self.stage_ids],
                    "stage": [s for _, s in self.stage_ids],
                    "sid": list(self.stage_ids.values()),
                }
            )
            table = table.join(ids, ["pipeline", "stage"]).sort_by(
                [("row", "ascending"), ("entered_ms", "descending")]
            )
            rows = table.column("row").to_numpy().astype(np.int64)
            entries = history_entries(
                table.column("sid").combine_chunks(),
                table.column("entered_ms").to_numpy().astype(np.int64),
            )
        # HubSpot always has the value a deal was created with
        missing = np.setdiff1d(np.arange(n), rows)
        if len(missing):
            sids = pa.array(
                [self.stage_ids[(pipelines[r], stage_labels[r])] for r in missing.tolist()],
                pa.string(),
            )
            rows = np.concatenate([rows, missing])
            entries = pa.concat_arrays([entries, history_entries(sids, created[missing])])
            order = np.argsort(rows, kind="stable")
            rows, entries = rows[order], entries.take(pa.array(order))
        offsets = np.searchsorted(rows, np.arange(n + 1)).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), entries)
        return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")

    def _extra_stage(self, pipeline: str, stage: str) -> str:
        sid = str(STAGE_ID_BASE + len(self.stage_ids))
        self.stage_ids[(pipeline, stage)] = sid
        for p in self.pipelines:
            if p["label"] == pipeline:
                p["stages"].append(
                    {
                        "id": sid,
                        "label": stage,
                        "displayOrder": len(p["stages"]),
                        "metadata": {"isClosed": "false", "probability": "0.0"},
                        "archived": True,
                    }
                )
        return sid
