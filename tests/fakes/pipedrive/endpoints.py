"""Pipedrive's other endpoints: fields, organizations, pipelines, stages, users, teams,
currencies and goals; `goal()` builds a goal for tests.

Separate from `deals.py`: these answer small lists, most with offset cursors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from tests.fakes.pipedrive.columns import nullable_ids, rfc3339_many
from tests.fakes.pipedrive.responses import (
    ACCOUNT_OWNER_USER,
    CURRENCY_CODES,
    DEAL_TYPE_LABELS,
    BadRequest,
    decode_cursor,
    encode_cursor,
    field_key,
    limit_of,
    offset_page,
    ok,
    parse_rfc3339,
)
from tests.fakes.server import Request, Response


class CompanyEndpoints:
    """Mixed into FakePipedrive: answers from `users`, `teams`, `pipelines`, `stages`,
    `goals`, `org_options`, `deal_type_options` and the `_o_*` columns (CompanyData)."""

    @staticmethod
    def _builtin(code: str, name: str, field_type: str) -> dict[str, Any]:
        return {
            "field_name": name,
            "field_code": code,
            "description": None,
            "field_type": field_type,
            "options": None,
            "subfields": None,
            "is_custom_field": False,
            "is_optional_response_field": False,
        }

    @staticmethod
    def _custom(
        entity: str, name: str, field_type: str, options: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        return {
            "field_name": name,
            "field_code": field_key(f"{entity}:{name}"),
            "description": None,
            "field_type": field_type,
            "options": None
            if options is None
            else [{"id": i, "label": label} for label, i in options.items()],
            "subfields": [
                {"field_code": "currency", "field_name": "Currency", "field_type": "varchar"}
            ]
            if field_type == "monetary"
            else None,
            "is_custom_field": True,
            "is_optional_response_field": False,
        }

    def _deal_fields(self, request: Request) -> Response:
        fields = [
            self._builtin("title", "Title", "varchar"),
            self._builtin("value", "Value", "monetary"),
            self._builtin("stage_id", "Stage", "stage"),
            self._builtin("status", "Status", "status"),
            self._builtin("mrr", "MRR (products)", "double"),
            self._builtin("origin", "Source origin", "varchar"),
            {
                **self._builtin("channel", "Source channel", "enum"),
                "options": [{"id": i, "label": label} for label, i in self.channel_options.items()],
            },
            self._builtin("channel_id", "Source channel ID", "varchar"),
            self._custom(
                "deal",
                "Deal type",
                "enum",
                {DEAL_TYPE_LABELS[v]: i for v, i in self.deal_type_options.items()},
            ),
            self._custom("deal", "Contract start", "date"),
            self._custom("deal", "Contract end", "date"),
            self._custom("deal", "MRR", "monetary"),
            self._custom("deal", "Next step", "varchar"),
        ]
        return offset_page(fields, request)

    def _organization_fields(self, request: Request) -> Response:
        fields = [
            self._builtin("name", "Name", "varchar"),
            self._builtin("owner_id", "Owner", "user"),
            self._builtin("address", "Address", "address"),
        ] + [
            self._custom("org", label, "enum", self.org_options[label])
            for label in ("Segment", "Region", "Industry")
        ]
        return offset_page(fields, request)

    def _organizations(self, request: Request) -> Response:
        limit = limit_of(request)
        try:
            since = (
                parse_rfc3339(request.arg("updated_since"))
                if request.arg("updated_since")
                else None
            )
        except ValueError:
            raise BadRequest("updated_since must be an RFC 3339 date-time") from None
        keys = request.arg("custom_fields")
        only_keys = None if keys is None else {k for k in keys.split(",") if k}
        cursor = request.arg("cursor")
        with self._data_lock:
            if self._o_order is None:
                ids = np.arange(1, len(self._o_update) + 1, dtype=np.int64)
                self._o_order = np.lexsort((ids, self._o_update))
            order = self._o_order
            updates = self._o_update[order]
            start = 0 if since is None else int(np.searchsorted(updates, since, "left"))
            if cursor:
                try:
                    cut, cid = (int(x) for x in decode_cursor(cursor))
                except (ValueError, TypeError):
                    raise BadRequest("Invalid cursor") from None
                lo = int(np.searchsorted(updates, cut, "left"))
                hi = int(np.searchsorted(updates, cut, "right"))
                start = max(start, lo + int(np.searchsorted(order[lo:hi] + 1, cid, "left")))
            candidates = order[start:]
            alive = candidates[~self._o_deleted[candidates]]
            page, rest = alive[:limit], alive[limit : limit + 1]
            add = rfc3339_many(self._o_add[page])
            update = rfc3339_many(self._o_update[page])
            custom_ids = {
                key: nullable_ids(values[page])
                for key, values in self._o_custom.items()
                if only_keys is None or key in only_keys
            }
            records = [
                {
                    "id": i + 1,
                    "name": self._o_name[i],
                    "owner_id": ACCOUNT_OWNER_USER,
                    "add_time": add[n],
                    "update_time": update[n],
                    "is_deleted": False,
                    "visible_to": 3,
                    "label_ids": [],
                    "address": None,
                    "custom_fields": {key: values[n] for key, values in custom_ids.items()},
                }
                for n, i in enumerate(page.tolist())
            ]
            next_cursor = (
                encode_cursor(int(self._o_update[rest[0]]), int(rest[0]) + 1) if len(rest) else None
            )
        return ok(records, next_cursor)

    def _pipelines(self, request: Request) -> Response:
        return offset_page(self.pipelines, request)

    def _stages(self, request: Request) -> Response:
        stages = self.stages
        pipeline = request.arg("pipeline_id")
        if pipeline:
            stages = [s for s in stages if str(s["pipeline_id"]) == pipeline]
        return offset_page(stages, request)

    def _users(self, request: Request) -> Response:
        return ok(self.users)

    def _teams(self, request: Request) -> Response:
        return ok(self.teams)

    def _currencies(self, request: Request) -> Response:
        codes = list(CURRENCY_CODES) + sorted(
            {c for c in self._d_currency if c and c not in CURRENCY_CODES}
        )
        return ok(
            [
                {
                    "id": i,
                    "code": code,
                    "name": code,
                    "decimal_points": 2,
                    "symbol": code,
                    "active_flag": True,
                    "is_custom_flag": False,
                }
                for i, code in enumerate(codes, start=1)
            ]
        )

    def currency_id(self, code: str) -> int:
        codes = list(CURRENCY_CODES) + sorted(
            {c for c in self._d_currency if c and c not in CURRENCY_CODES}
        )
        return codes.index(code) + 1

    def _goals(self, request: Request) -> Response:
        type_name = request.arg("type.name")
        active = request.arg("is_active", "true")
        goals = [g for g in self.goals if str(bool(g.get("is_active", True))).lower() == active]
        if type_name:
            goals = [g for g in goals if (g.get("type") or {}).get("name") == type_name]
        else:
            goals = [g for g in goals if g.get("owner_id") == ACCOUNT_OWNER_USER]
        return ok(
            {"goals": goals},
            extra={
                "pagination": {"start": 0, "limit": len(goals), "more_items_in_collection": False}
            },
        )


def goal(
    goal_id: str,
    title: str,
    type_name: str,
    tracking_metric: str,
    target: float,
    start: date,
    end: date | None,
    *,
    interval: str = "monthly",
    assignee_type: str = "company",
    assignee_id: int = ACCOUNT_OWNER_USER,
    pipeline_ids: Sequence[int] | None = None,
    currency_id: int | None = None,
    is_active: bool = True,
) -> dict[str, Any]:
    """A goal in the shape GET /v1/goals/find returns."""
    return {
        "id": goal_id,
        "owner_id": ACCOUNT_OWNER_USER,
        "title": title,
        "type": {
            "name": type_name,
            "params": {"pipeline_id": None if pipeline_ids is None else list(pipeline_ids)},
        },
        "assignee": {"id": assignee_id, "type": assignee_type},
        "interval": interval,
        "duration": {"start": start.isoformat(), "end": None if end is None else end.isoformat()},
        "expected_outcome": {
            "target": target,
            "tracking_metric": tracking_metric,
            **({"currency_id": currency_id} if currency_id is not None else {}),
        },
        "is_active": is_active,
        "report_ids": [],
    }
