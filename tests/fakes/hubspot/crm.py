"""The portal built from files-contract tables: owners, pipelines, companies, goals, rates.

Separate from `deals.py` (the deals and their stage history, the bulk of the build).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tests.fakes.arrow import as_table, column_or_nulls, iso_texts
from tests.fakes.hubspot.records import (
    COMPANY_ID_BASE,
    GOAL_ID_BASE,
    OWNER_ID_BASE,
    PIPELINE_ID_BASE,
    STAGE_ID_BASE,
    TEAM_ID_BASE,
    USER_ID_BASE,
    Objects,
    as_text,
    stamp_ms,
)


class PortalData:
    """Builds the portal's state. Mixed into FakeHubSpot, whose `names` (property names)
    and `company_currency` it reads; it sets `owners`, `owner_ids`, `owner_user_ids`,
    `team_ids`, `pipelines`, `pipeline_ids`, `stage_ids`, `companies`, `goals`, `rates`
    and `now_ms` (and `deals` through DealData, `line_items`, `products` and
    `properties` through ProductData)."""

    def _build(self, tables: Mapping[str, pa.Table | Iterable[pa.Table] | None]) -> None:
        deals = as_table(tables.get("deals"))
        if deals is None:
            raise ValueError("serve_crm needs at least a `deals` table (files contract)")
        history = as_table(tables.get("stage_history"))
        accounts = as_table(tables.get("accounts"))
        owners = as_table(tables.get("owners"))
        stages = as_table(tables.get("stages"))
        fx = as_table(tables.get("fx_rates"))
        goals = as_table(tables.get("goal_targets"))
        deal_products = as_table(tables.get("deal_products"))

        self._build_owners(owners)
        self._build_pipelines(stages, deals)
        self._build_companies(accounts)
        self._build_deals(deals, history)
        self._build_products(deals, deal_products)
        self._build_goals(goals)
        self._build_rates(fx)
        stamps = [
            self.deals.modified_ms,
            self.companies.modified_ms,
            self.goals.modified_ms,
            self.line_items.modified_ms,
            self.products.modified_ms,
        ]
        latest = max((int(s.max()) for s in stamps if len(s)), default=0)
        self.now_ms = max(latest, 0) + 60_000

    def _build_owners(self, owners: pa.Table | None) -> None:
        rows = owners.to_pylist() if owners is not None else []
        team_names = sorted({r.get("team") for r in rows if r.get("team")})
        self.team_ids = {name: str(TEAM_ID_BASE + i) for i, name in enumerate(team_names)}
        self.owner_ids: dict[str, str] = {}
        self.owner_user_ids: dict[str, int] = {}
        self.owners: list[dict[str, Any]] = []
        created = "2020-01-06T09:00:00.000Z"
        for i, row in enumerate(rows):
            native = str(OWNER_ID_BASE + i)
            self.owner_ids[str(row["owner_id"])] = native
            self.owner_user_ids[str(row["owner_id"])] = USER_ID_BASE + i
            name = (row.get("name") or "").strip()
            first, _, last = name.partition(" ")
            team = row.get("team")
            self.owners.append(
                {
                    "id": native,
                    "email": row.get("email"),
                    "type": "PERSON",
                    "firstName": first,
                    "lastName": last,
                    "userId": USER_ID_BASE + i,
                    "userIdIncludingInactive": USER_ID_BASE + i,
                    "createdAt": created,
                    "updatedAt": created,
                    "archived": False,
                    "teams": (
                        [{"id": self.team_ids[team], "name": team, "primary": True}] if team else []
                    ),
                }
            )

    def _build_pipelines(self, stages: pa.Table | None, deals: pa.Table) -> None:
        pairs: list[tuple[str, str, Decimal | None, int | None]] = []
        if stages is not None:
            for row in stages.sort_by(
                [("pipeline", "ascending"), ("display_order", "ascending")]
            ).to_pylist():
                pairs.append(
                    (row["pipeline"], row["stage"], row["probability"], row["display_order"])
                )
        known = {(p, s) for p, s, _, _ in pairs}
        deal_pairs = pa.table({"p": deals.column("pipeline"), "s": deals.column("stage")})
        for row in deal_pairs.group_by(["p", "s"]).aggregate([]).to_pylist():
            if (row["p"], row["s"]) not in known:
                pairs.append((row["p"], row["s"], None, None))
                known.add((row["p"], row["s"]))
        # a stage is closed when the deals in it are all closed: HubSpot's won/lost stages
        status = pa.table(
            {
                "p": deals.column("pipeline"),
                "s": deals.column("stage"),
                "open": pc.equal(deals.column("status"), "open"),
            }
        )
        open_counts = {
            (r["p"], r["s"]): r["open_sum"]
            for r in status.group_by(["p", "s"]).aggregate([("open", "sum")]).to_pylist()
        }
        self.pipeline_ids: dict[str, str] = {}
        self.stage_ids: dict[tuple[str, str], str] = {}
        self.pipelines: list[dict[str, Any]] = []
        created = "2020-01-06T09:00:00.000Z"
        for label in dict.fromkeys(p for p, _, _, _ in pairs):
            pid = "default" if not self.pipelines else str(PIPELINE_ID_BASE + len(self.pipelines))
            self.pipeline_ids[label] = pid
            stage_list = []
            for n, (p, s, probability, order) in enumerate(x for x in pairs if x[0] == label):
                sid = str(STAGE_ID_BASE + len(self.stage_ids))
                self.stage_ids[(p, s)] = sid
                closed = (p, s) in open_counts and open_counts[(p, s)] == 0
                stage_list.append(
                    {
                        "id": sid,
                        "label": s,
                        "displayOrder": order if order is not None else n,
                        "metadata": {
                            "isClosed": "true" if closed else "false",
                            "probability": str(probability) if probability is not None else "0.0",
                        },
                        "createdAt": created,
                        "updatedAt": created,
                        "archived": False,
                        "writePermissions": "CRUD_ALL",
                    }
                )
            self.pipelines.append(
                {
                    "id": pid,
                    "label": label,
                    "displayOrder": len(self.pipelines),
                    "createdAt": created,
                    "updatedAt": created,
                    "archived": False,
                    "stages": stage_list,
                }
            )

    def _build_companies(self, accounts: pa.Table | None) -> None:
        if accounts is None:
            accounts = pa.table({"account_id": pa.array([], pa.string())})
        n = accounts.num_rows
        ids = COMPANY_ID_BASE + np.arange(n, dtype=np.int64)
        created = stamp_ms(accounts, "created_at")
        created = np.where(created < 0, 1_577_836_800_000, created)  # 2020-01-01 when unknown
        props = {
            "name": column_or_nulls(accounts, "name", pa.string()),
            self.names["segment"]: column_or_nulls(accounts, "segment", pa.string()),
            self.names["region"]: column_or_nulls(accounts, "region", pa.string()),
            self.names["industry"]: column_or_nulls(accounts, "industry", pa.string()),
        }
        keys = [str(k) for k in accounts.column("account_id").to_pylist()]
        self.companies = Objects("companies", ids, props, created, created.copy(), keys)

    def _build_goals(self, goals: pa.Table | None) -> None:
        if goals is None:
            goals = pa.table({"goal_id": pa.array([], pa.string())})
        n = goals.num_rows
        ids = GOAL_ID_BASE + np.arange(n, dtype=np.int64)
        owners = column_or_nulls(goals, "owner_id", pa.string()).to_pylist()
        teams = column_or_nulls(goals, "team", pa.string()).to_pylist()
        stamp = np.full(n, 1_704_067_200_000, dtype=np.int64)  # 2024-01-01
        props = {
            "hs_goal_name": column_or_nulls(goals, "name", pa.string()),
            "hs_target_amount": as_text(column_or_nulls(goals, "target", pa.decimal128(18, 2))),
            "hs_start_datetime": pa.array(iso_texts(stamp_ms(goals, "start"), "ms"), pa.string()),
            "hs_end_datetime": pa.array(iso_texts(stamp_ms(goals, "end"), "ms"), pa.string()),
            "hubspot_owner_id": pa.array(
                [self.owner_ids.get(str(o)) if o else None for o in owners], pa.string()
            ),
            "hs_assignee_user_id": pa.array(
                [
                    str(self.owner_user_ids[str(o)]) if o in self.owner_user_ids else None
                    for o in owners
                ],
                pa.string(),
            ),
            "hs_assignee_team_id": pa.array(
                [self.team_ids.get(t) if t else None for t in teams], pa.string()
            ),
        }
        keys = [str(k) for k in goals.column("goal_id").to_pylist()]
        self.goals = Objects("goal_targets", ids, props, stamp, stamp.copy(), keys)

    def _build_rates(self, fx: pa.Table | None) -> None:
        self.rates: list[dict[str, Any]] = []
        if fx is None:
            return
        for i, row in enumerate(
            fx.sort_by([("date", "ascending"), ("currency", "ascending")]).to_pylist()
        ):
            day: date = row["date"]
            stamp = f"{day.isoformat()}T00:00:00Z"
            self.rates.append(
                {
                    "id": str(i + 1),
                    "fromCurrencyCode": row["currency"],
                    "toCurrencyCode": self.company_currency,
                    "conversionRate": Decimal(row["rate"]),
                    "effectiveAt": stamp,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "visibleInUI": True,
                }
            )
