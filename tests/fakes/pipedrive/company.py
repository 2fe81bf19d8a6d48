"""The company built from files-contract tables: users and teams, pipelines and stages,
organizations; `_build` reads the tables and calls each part.

Separate from the endpoints: this is where the files contract maps onto Pipedrive's
objects. The deals' columns are built by `deal_columns.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.files.contract import ENTITIES
from tests.fakes.arrow import as_table, column_or_nulls, epoch
from tests.fakes.pipedrive.columns import NULL, TIMESTAMP_TYPE, native_ids, positions_in
from tests.fakes.pipedrive.deal_columns import DealColumns
from tests.fakes.pipedrive.products import ProductColumns
from tests.fakes.pipedrive.responses import ACCOUNT_OWNER_USER, field_key

_CREATED = "2025-01-01T08:00:00Z"


class CompanyData(DealColumns, ProductColumns):
    """Builds the company's state. Mixed into FakePipedrive; sets `users`, `user_ids`,
    `teams`, `pipelines`, `pipeline_ids`, `stages`, `stage_ids`, `org_options` and the
    organizations' columns `_o_*` (the deals' through DealColumns, the products' and
    line items' through ProductColumns)."""

    def _build(self, tables: Mapping[str, Any]) -> None:
        unknown = set(tables) - set(ENTITIES)
        if unknown:
            raise ValueError(
                f"serve_crm: unknown entities {sorted(unknown)}; "
                f"the files contract has {sorted(ENTITIES)}"
            )
        deals = as_table(tables.get("deals"), ENTITIES["deals"].schema)
        if deals is None:
            raise ValueError("serve_crm needs at least a 'deals' table")
        history, accounts, owners = (
            as_table(tables.get(name), ENTITIES[name].schema) or ENTITIES[name].schema.empty_table()
            for name in ("stage_history", "accounts", "owners")
        )
        stages = as_table(tables.get("stages"), ENTITIES["stages"].schema)
        self._build_people(owners)
        hist_index = positions_in(
            history["deal_id"],
            deals["deal_id"].combine_chunks(),
            "stage_history",
            "deal_id",
            "deals",
        )
        hist_pipeline = pc.take(deals["pipeline"], hist_index)
        self._build_pipelines(stages, deals, hist_pipeline, history["stage"])
        self._build_organizations(accounts)
        self._build_deals(deals, owners)
        self._build_history(deals, history, hist_index, hist_pipeline)
        lines = as_table(tables.get("deal_products"), ENTITIES["deal_products"].schema)
        self._build_products(deals, lines or ENTITIES["deal_products"].schema.empty_table())
        self._index_deals()

    def _build_people(self, owners: pa.Table) -> None:
        """Users and their (legacy) teams."""
        self.user_ids: dict[str, int] = {}
        self.users: list[dict[str, Any]] = []
        team_members: dict[str, list[int]] = {}
        for i, (oid, name, email, team) in enumerate(
            zip(
                owners["owner_id"].to_pylist(),
                column_or_nulls(owners, "name", pa.string()).to_pylist(),
                column_or_nulls(owners, "email", pa.string()).to_pylist(),
                column_or_nulls(owners, "team", pa.string()).to_pylist(),
                strict=True,
            ),
            start=1,
        ):
            self.user_ids[oid] = i
            self.users.append(
                {
                    "id": i,
                    "name": name,
                    "default_currency": "EUR",
                    "locale": "en_US",
                    "lang": 1,
                    "email": email,
                    "phone": None,
                    "activated": True,
                    "last_login": "2026-01-01 08:00:00",
                    "created": "2025-01-01 08:00:00",
                    "modified": "2025-01-01 08:00:00",
                    "has_created_company": i == ACCOUNT_OWNER_USER,
                    "access": [
                        {"app": "sales", "admin": i == ACCOUNT_OWNER_USER, "permission_set_id": "x"}
                    ],
                    "active_flag": True,
                    "timezone_name": "Europe/Paris",
                    "timezone_offset": "+01:00",
                    "role_id": 1,
                    "icon_url": None,
                    "is_you": i == ACCOUNT_OWNER_USER,
                    "is_deleted": False,
                    # v1 answers 1/0 here on older accounts
                    "is_admin": 1 if i == ACCOUNT_OWNER_USER else 0,
                }
            )
            if team:
                team_members.setdefault(team, []).append(i)
        self.teams = [
            {
                "id": tid,
                "name": name,
                "description": f"{name} team",
                "owner_id": ACCOUNT_OWNER_USER,
                "manager_id": members[0],
                "users": members,
                "active_flag": True,
                "deleted_flag": False,
                "add_time": "2025-01-01 08:00:00",
                "created_by_user_id": ACCOUNT_OWNER_USER,
            }
            for tid, (name, members) in enumerate(sorted(team_members.items()), start=1)
        ]

    def _build_pipelines(
        self, stages: pa.Table | None, deals: pa.Table, hist_pipeline: Any, hist_stage: Any
    ) -> None:
        """Pipelines and stages: the stages file first, then any pair only deals or the
        stage history name."""
        self.pipeline_ids: dict[str, int] = {}
        self.stage_ids: dict[tuple[str, str], int] = {}
        self.stages: list[dict[str, Any]] = []

        if stages is not None:
            for pipeline, stage, probability, order in zip(
                stages["pipeline"].to_pylist(),
                stages["stage"].to_pylist(),
                stages["probability"].to_pylist(),
                stages["display_order"].to_pylist(),
                strict=True,
            ):
                self._add_stage(pipeline, stage, probability, order)
        # every (pipeline, stage) pair, by a vectorised key; then ids by the same key
        for table_pipeline, table_stage in (
            (deals["pipeline"], deals["stage"]),
            (hist_pipeline, hist_stage),
        ):
            pairs = pa.table({"p": table_pipeline, "s": table_stage}).group_by(["p", "s"])
            for pair in pairs.aggregate([]).to_pylist():
                self._add_stage(pair["p"], pair["s"], None, None)
        self.pipelines = [
            {
                "id": pid,
                "name": name,
                "order_nr": pid,
                "is_deleted": False,
                "is_deal_probability_enabled": True,
                "add_time": _CREATED,
                "update_time": _CREATED,
            }
            for name, pid in self.pipeline_ids.items()
        ]

    def _add_stage(self, pipeline: str, stage: str, probability: Any, order: int | None) -> None:
        if pipeline not in self.pipeline_ids:
            self.pipeline_ids[pipeline] = len(self.pipeline_ids) + 1
        if (pipeline, stage) in self.stage_ids:
            return
        if probability is None:
            percent = 100  # Pipedrive's default for a new stage
        else:
            scaled = Decimal(str(probability)) * 100
            if scaled != scaled.to_integral_value():
                raise ValueError(
                    f"stage {pipeline!r}/{stage!r}: probability {probability} is not a whole "
                    "percent, and Pipedrive keeps deal_probability as an integer"
                )
            percent = int(scaled)
        sid = len(self.stages) + 1
        self.stage_ids[(pipeline, stage)] = sid
        same = [s for s in self.stages if s["pipeline_id"] == self.pipeline_ids[pipeline]]
        self.stages.append(
            {
                "id": sid,
                "order_nr": order if order is not None else len(same) + 1,
                "name": stage,
                "is_deleted": False,
                "deal_probability": percent,
                "pipeline_id": self.pipeline_ids[pipeline],
                "is_deal_rot_enabled": False,
                "days_to_rotten": None,
                "add_time": _CREATED,
                "update_time": _CREATED,
            }
        )

    def _stage_of(self, pipeline: Any, stage: Any) -> np.ndarray:
        """The stage ids of (pipeline, stage) columns, by a vectorised key."""
        stage_keys = pa.array([f"{p}\x1f{s}" for p, s in self.stage_ids], pa.string())
        stage_values = np.array(list(self.stage_ids.values()), dtype=np.int64)
        keys = pc.binary_join_element_wise(pipeline, stage, "\x1f")
        return stage_values[pc.index_in(keys, value_set=stage_keys).to_numpy()]

    def _build_organizations(self, accounts: pa.Table) -> None:
        """Organizations, columnar; segment / region / industry as single-option fields."""
        m = accounts.num_rows
        self._account_keys = accounts["account_id"].combine_chunks()
        self.org_options: dict[str, dict[str, int]] = {}
        self._o_custom: dict[str, np.ndarray] = {}
        for label, column in (
            ("Segment", "segment"),
            ("Region", "region"),
            ("Industry", "industry"),
        ):
            values = (
                accounts[column].combine_chunks()
                if column in accounts.column_names
                else pa.nulls(m, pa.string())
            )
            encoded = pc.dictionary_encode(values)
            self.org_options[label] = {
                v: i + 1 for i, v in enumerate(encoded.dictionary.to_pylist())
            }
            self._o_custom[field_key(f"org:{label}")] = native_ids(encoded.indices, m)
        self._o_name = column_or_nulls(accounts, "name", pa.string()).to_pylist()
        self._o_add = epoch(
            accounts["created_at"]
            if "created_at" in accounts.column_names
            else pa.nulls(m, TIMESTAMP_TYPE),
            "us",
            NULL,
        )
        self._o_update = np.where(self._o_add == NULL, 0, self._o_add)
        self._o_deleted = np.zeros(m, dtype=bool)
        self._o_order: np.ndarray | None = None
