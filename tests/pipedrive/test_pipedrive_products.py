"""Line items (deal products), the product catalog and the deals' channel, loaded from
the fake Pipedrive (tests/fakes/pipedrive/) into DuckDB and staged by dbt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ingestion.pipedrive import settings
from tests.fakes.pipedrive import FakePipedrive, serve_crm
from tests.pipedrive.crm import PRODUCTS, load, make_crm, rows
from tests.pipedrive.test_pipedrive_source import _build_staging

LINES_SQL = """
    select d.title, p.code, l.name, p.kpi_family, l.quantity, l.item_price, l.sum, l.currency
    from raw_pipedrive.deal_products l
    join raw_pipedrive.deals d on d.id = l.deal_id
    join raw_pipedrive.products p on p.id = l.product_id
    order by d.title, p.code
"""


def _expected_lines(crm: dict[str, pa.Table], skip: set[tuple[str, str]] = frozenset()):
    return sorted(
        (
            line["deal_id"],
            line["product_id"],
            line["product_name"],
            line["product_family"],
            line["quantity"],
            line["unit_price"],
            line["amount"],
            line["currency"],
        )
        for line in crm["deal_products"].to_pylist()
        if (line["deal_id"], line["product_id"]) not in skip
    )


def _asked_deal_ids(server: FakePipedrive) -> list[list[int]]:
    return [
        [int(v) for v in r.query["deal_ids"]]
        for r in server.requests_to(r"^/api/v2/deals/products$")
        if not r.arg("cursor")  # a request's later pages repeat its deal_ids
    ]


def test_line_items_products_and_channels_load(server: FakePipedrive, crm, tmp_path) -> None:
    load(server, tmp_path)

    assert rows(tmp_path, LINES_SQL) == _expected_lines(crm)
    assert rows(tmp_path, "select count(*) from raw_pipedrive.deal_products") == [
        (crm["deal_products"].num_rows,)
    ]
    costs = {code: cost for code, _, _, cost in PRODUCTS}
    channels = {d["deal_id"]: d["channel"] for d in crm["deals"].to_pylist()}
    assert dict(rows(tmp_path, "select title, kpi_channel from raw_pipedrive.deals")) == channels
    assert rows(
        tmp_path, "select code, name, kpi_family from raw_pipedrive.products order by code"
    ) == sorted((code, name, family) for code, name, family, _ in PRODUCTS)
    assert rows(
        tmp_path,
        "select p.code, c.currency, c.cost from raw_pipedrive.product_prices c "
        "join raw_pipedrive.products p on p.id = c.product_id order by 1, 2",
    ) == sorted(
        {
            (ln["product_id"], ln["currency"], costs[ln["product_id"]] or Decimal("0.00"))
            for ln in crm["deal_products"].to_pylist()
        }
    )
    # only deals with products are asked for, each once, in pages of the deals' pages
    with_lines = {server.native_deal_id(d) for d in crm["deal_products"]["deal_id"].to_pylist()}
    asked = _asked_deal_ids(server)
    assert sorted(i for chunk in asked for i in chunk) == sorted(with_lines)
    assert all(len(chunk) <= 7 for chunk in asked)  # the test's page size
    assert all(r.arg("include_fields") == "products_count" for r in server.requests_to("/deals$"))


def test_line_items_are_asked_for_at_most_100_deals_a_request(tmp_path: Path) -> None:
    with serve_crm(make_crm(deals=240)) as server:
        load(server, tmp_path, page_size=500)
        asked = _asked_deal_ids(server)
    assert max(len(chunk) for chunk in asked) == settings.DEAL_IDS_PER_REQUEST
    assert len(asked) == 2  # 160 deals with products, in one page of deals


def _a_line(crm: dict[str, pa.Table], nth: int = 0) -> dict[str, Any]:
    """The first line of the nth deal that has two or more lines."""
    lines = crm["deal_products"].to_pylist()
    deals = sorted(
        {ln["deal_id"] for ln in lines if sum(x["deal_id"] == ln["deal_id"] for x in lines) > 1}
    )
    return next(ln for ln in lines if ln["deal_id"] == deals[nth])


def test_an_incremental_run_picks_up_a_changed_line_and_drops_a_removed_one(
    server: FakePipedrive, crm, tmp_path: Path
) -> None:
    load(server, tmp_path)
    [(cursor,)] = rows(tmp_path, "select max(update_time) from raw_pipedrive.deals")
    changed, removed = _a_line(crm, 0), _a_line(crm, 1)
    server.modify_deal_product(changed["deal_id"], changed["product_id"], quantity=9, amount=99.99)
    server.delete_deal_product(removed["deal_id"], removed["product_id"])
    server.requests.clear()

    load(server, tmp_path)

    got = {(r[0], r[1]): r for r in rows(tmp_path, LINES_SQL)}
    key = (changed["deal_id"], changed["product_id"])
    assert got[key][4:7] == (Decimal("9.0000"), changed["unit_price"], Decimal("99.99"))
    assert (removed["deal_id"], removed["product_id"]) not in got
    expected = {(r[0], r[1]) for r in _expected_lines(crm)} - {
        (removed["deal_id"], removed["product_id"])
    }
    assert set(got) == expected
    # only the changed deals (and those within the lookback of the cursor) were re-read
    asked = {i for chunk in _asked_deal_ids(server) for i in chunk}
    touched = {server.native_deal_id(changed["deal_id"]), server.native_deal_id(removed["deal_id"])}
    updated = {
        server.native_deal_id(d["deal_id"]): d["updated_at"] for d in crm["deals"].to_pylist()
    }
    window = {
        i
        for i, at in updated.items()
        if at >= cursor - timedelta(seconds=settings.LOOKBACK_SECONDS)
    }
    assert touched <= asked <= touched | window


def test_removing_every_line_of_a_deal_and_deleting_a_deal_empty_their_lines(
    server: FakePipedrive, crm, tmp_path: Path
) -> None:
    load(server, tmp_path)
    emptied = _a_line(crm, 2)["deal_id"]
    for line in [ln for ln in crm["deal_products"].to_pylist() if ln["deal_id"] == emptied]:
        server.delete_deal_product(emptied, line["product_id"])
    deleted = _a_line(crm, 3)["deal_id"]
    server.delete_deal(deleted)
    server.requests.clear()
    load(server, tmp_path)
    for deal_id in (emptied, deleted):
        native = server.native_deal_id(deal_id)
        assert rows(
            tmp_path, f"select count(*) from raw_pipedrive.deal_products where deal_id = {native}"
        ) == [(0,)]
    # neither is asked for: one has products_count 0, the other is deleted
    asked = {i for chunk in _asked_deal_ids(server) for i in chunk}
    assert not asked & {server.native_deal_id(emptied), server.native_deal_id(deleted)}


def test_a_full_refresh_replaces_every_line(server: FakePipedrive, crm, tmp_path: Path) -> None:
    load(server, tmp_path)
    # deleted 40 days ago: Pipedrive no longer lists it, only a full refresh sees it gone
    gone = _a_line(crm, 4)["deal_id"]
    server.delete_deal(gone, at=datetime.now(UTC) - timedelta(days=40))
    load(server, tmp_path, full_refresh=True)
    native = server.native_deal_id(gone)
    assert rows(
        tmp_path, f"select count(*) from raw_pipedrive.deal_products where deal_id = {native}"
    ) == [(0,)]
    assert rows(tmp_path, LINES_SQL) == [r for r in _expected_lines(crm) if r[0] != gone]


@pytest.mark.slow
def test_staged_lines_and_channels_follow_the_crm(crm, tmp_path: Path) -> None:
    removed = _a_line(crm, 1)
    with serve_crm(crm) as server:
        load(server, tmp_path)
        server.delete_deal_product(removed["deal_id"], removed["product_id"])
        deleted_deal = _a_line(crm, 3)["deal_id"]
        server.delete_deal(deleted_deal)
        load(server, tmp_path)
    result = _build_staging(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout

    staged = rows(
        tmp_path,
        "select r.title, p.code, s.source, s.product_name, s.product_family, s.quantity, "
        "s.unit_price, s.amount, s.currency, s.cost, s.line_id like 'pipedrive:%', "
        "s.product_id = 'pipedrive:' || p.id, s.updated_at is not null "
        "from main.stg_pipedrive__opportunity_products s "
        "join raw_pipedrive.deals r on s.opportunity_id = 'pipedrive:' || r.id "
        "join raw_pipedrive.products p on s.product_id = 'pipedrive:' || p.id "
        "order by r.title, p.code",
    )
    skip = {(removed["deal_id"], removed["product_id"])}
    expected = sorted(
        (
            ln["deal_id"],
            ln["product_id"],
            "pipedrive",
            ln["product_name"],
            ln["product_family"],
            ln["quantity"],
            ln["unit_price"],
            ln["amount"],
            ln["currency"],
            ln["cost"],
            True,
            True,
            True,
        )
        for ln in crm["deal_products"].to_pylist()
        if (ln["deal_id"], ln["product_id"]) not in skip and ln["deal_id"] != deleted_deal
    )
    assert staged == expected
    channels = {d["deal_id"]: d["channel"] for d in crm["deals"].to_pylist()}
    assert dict(
        rows(
            tmp_path,
            "select r.title, o.channel from main.stg_pipedrive__opportunities o "
            "join raw_pipedrive.deals r on o.opportunity_id = 'pipedrive:' || r.id",
        )
    ) == {d: c for d, c in channels.items() if d != deleted_deal}
    assert rows(
        tmp_path, "select count(*) from main.stg_pipedrive__opportunities where cost is not null"
    ) == [(0,)]
