"""The `owners` and `owner_teams` snapshots and the rows they build.

No `from __future__ import annotations`, as in every module that defines a resource.
"""

from collections.abc import Iterable, Iterator
from typing import Any

import dlt
import pyarrow as pa

from ingestion.hubspot.api import HubSpotApi
from ingestion.hubspot.errors import HubSpotResponseError
from ingestion.hubspot.incremental import SNAPSHOT_HINTS, snapshot
from ingestion.hubspot.schemas import OWNER_TEAMS_SCHEMA, OWNERS_SCHEMA
from ingestion.hubspot.values import timestamp_value


def owner_rows(owners: Iterable[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """Raw `owners` (with the primary team, else the first) and `owner_teams` rows."""
    rows: list[dict[str, Any]] = []
    teams: list[dict[str, Any]] = []
    for owner in owners:
        owner_id = str(owner.get("id") or "")
        if not owner_id:
            raise HubSpotResponseError("owners: a record has no `id`; run again.")
        owner_teams = [t for t in owner.get("teams") or [] if isinstance(t, dict) and t.get("id")]
        primary = next(
            (t for t in owner_teams if t.get("primary")), owner_teams[0] if owner_teams else None
        )
        what = f"HubSpot owner {owner_id}"
        rows.append(
            {
                "id": owner_id,
                "email": owner.get("email") or None,
                "first_name": owner.get("firstName") or None,
                "last_name": owner.get("lastName") or None,
                "user_id": str(owner["userId"]) if owner.get("userId") is not None else None,
                "owner_type": owner.get("type"),
                "team_id": str(primary["id"]) if primary else None,
                "team_name": primary.get("name") if primary else None,
                "created_at": timestamp_value(owner.get("createdAt"), what),
                "updated_at": timestamp_value(owner.get("updatedAt"), what),
                "archived": bool(owner.get("archived")),
            }
        )
        teams.extend(
            {
                "owner_id": owner_id,
                "team_id": str(team["id"]),
                "team_name": team.get("name"),
                "is_primary": bool(team.get("primary")),
            }
            for team in owner_teams
        )
    return (
        pa.Table.from_pylist(rows, schema=OWNERS_SCHEMA),
        pa.Table.from_pylist(teams, schema=OWNER_TEAMS_SCHEMA),
    )


@dlt.resource(name="owners", section="hubspot", primary_key="id", **SNAPSHOT_HINTS)
def owners(api: HubSpotApi) -> Iterator[pa.Table]:
    """Owners, active and deactivated (their deals keep them), with their primary team."""
    yield snapshot(owner_rows(api.owners())[0])


@dlt.resource(
    name="owner_teams", section="hubspot", primary_key=("owner_id", "team_id"), **SNAPSHOT_HINTS
)
def owner_teams(api: HubSpotApi) -> Iterator[pa.Table]:
    """Every team of every owner, with the primary flag (goal targets name team ids)."""
    yield snapshot(owner_rows(api.owners())[1])
