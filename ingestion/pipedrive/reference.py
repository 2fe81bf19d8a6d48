"""The small reference resources: `pipelines`, `stages`, `users` and `teams`.

They are read in full and replaced on every run, so a record removed in Pipedrive is
gone here too. They have no incremental cursor by design.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common.arrow import keyed
from ingestion.pipedrive import settings
from ingestion.pipedrive.client import PipedriveClient
from ingestion.pipedrive.errors import PipedriveResponseError
from ingestion.pipedrive.listing import Options, all_records
from ingestion.pipedrive.values import from_records, require, to_timestamp


def _timed(page: pa.Table, what: str) -> pa.Table:
    """The page with its add_time and update_time texts as UTC timestamps, where they were."""
    for name in ("add_time", "update_time"):
        index = page.schema.get_field_index(name)
        page = page.set_column(index, name, to_timestamp(page[name], what))
    return page


def pipelines_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("order_nr", pa.int64()),
            ("is_deleted", pa.bool_()),
            ("is_deal_probability_enabled", pa.bool_()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
        ]
    )
    page = from_records(records, schema, what)
    require(page, ("id", "name"), what)
    return keyed(_timed(page, what), "id")


def stages_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("pipeline_id", pa.int64()),
            ("order_nr", pa.int64()),
            ("deal_probability", pa.int64()),
            ("is_deleted", pa.bool_()),
            ("add_time", pa.string()),
            ("update_time", pa.string()),
        ]
    )
    page = from_records(records, schema, what)
    require(page, ("id", "name", "pipeline_id"), what)
    return keyed(_timed(page, what), "id")


def user_teams(teams: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """user id -> the name of the lowest-id active team holding the user."""
    result: dict[int, str] = {}
    active = [
        t
        for t in teams
        if t.get("active_flag", True) not in (False, 0) and not t.get("deleted_flag")
    ]
    for team in sorted(active, key=lambda t: int(t["id"])):
        for user_id in team.get("users") or []:
            result.setdefault(int(user_id), str(team.get("name") or ""))
    return result


def users_table(
    records: list[dict[str, Any]], team_field: str, teams_by_user: Mapping[int, str], what: str
) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("email", pa.string()),
            ("active_flag", pa.bool_()),
            ("is_admin", pa.int64()),
        ]
    )
    # v1 answers 1/0 or true/false for is_admin depending on the account: keep a bool
    normalised = [
        {
            **r,
            "is_admin": int(bool(r.get("is_admin"))),
            "active_flag": bool(r.get("active_flag", True)),
        }
        for r in records
    ]
    page = from_records(normalised, schema, what)
    require(page, ("id",), what)
    if team_field == settings.TEAM_FIELD:
        teams = [teams_by_user.get(uid) for uid in page["id"].to_pylist()]
    else:
        teams = [None if r.get(team_field) is None else str(r.get(team_field)) for r in records]
    return keyed(
        pa.table(
            {
                "id": page["id"],
                "name": page["name"],
                "email": page["email"],
                "active_flag": page["active_flag"],
                "is_admin": pc.cast(page["is_admin"], pa.bool_()),
                "kpi_team": pa.array(teams, pa.string()),
            }
        ),
        "id",
    )


def teams_table(records: list[dict[str, Any]], what: str) -> pa.Table:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("active_flag", pa.bool_())])
    rows = [{**r, "active_flag": bool(r.get("active_flag", True))} for r in records]
    page = from_records(rows, schema, what)
    require(page, ("id",), what)
    return keyed(page, "id")


@dlt.resource(name="pipelines", section="pipedrive", write_disposition="replace", primary_key="id")
def pipelines(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records = all_records(client, settings.PIPELINES, options.page_size)
    yield pipelines_table(records, f"GET {settings.PIPELINES}")


@dlt.resource(name="stages", section="pipedrive", write_disposition="replace", primary_key="id")
def stages(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records = all_records(client, settings.STAGES, options.page_size)
    yield stages_table(records, f"GET {settings.STAGES}")


def legacy_teams(client: PipedriveClient) -> list[dict[str, Any]]:
    body = client.get_json(settings.LEGACY_TEAMS)
    data = body.get("data") if isinstance(body, dict) else None
    if data is None:
        return []
    if not isinstance(data, list):
        raise PipedriveResponseError(f"GET {settings.LEGACY_TEAMS}: 'data' is not a list")
    return data


@dlt.resource(name="teams", section="pipedrive", write_disposition="replace", primary_key="id")
def teams(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    records = legacy_teams(client) if options.team_field == settings.TEAM_FIELD else []
    yield teams_table(records, f"GET {settings.LEGACY_TEAMS}")


@dlt.resource(name="users", section="pipedrive", write_disposition="replace", primary_key="id")
def users(client: PipedriveClient, options: Options) -> Iterator[pa.Table]:
    body = client.get_json(settings.USERS)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise PipedriveResponseError(f"GET {settings.USERS}: 'data' is not a list")
    by_user = user_teams(legacy_teams(client)) if options.team_field == settings.TEAM_FIELD else {}
    yield users_table(data, options.team_field, by_user, f"GET {settings.USERS}")
