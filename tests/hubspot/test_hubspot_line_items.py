"""HubSpot line items, products and deal channels, from the fake HubSpot serving the demo
CRM to the staged tables: one first run, then a line item is changed, another deleted
and a deal deleted, and a second run; the HubSpot staging models are built with dbt on
the result (only they, so the rest of the project plays no part).
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from core.dbt import dbt_command, dbt_env
from core.paths import DBT_PROJECT_DIR
from core.settings import Settings
from ingestion.hubspot import HubSpotAuthError
from ingestion.hubspot import settings as hs
from tests.fakes.hubspot import ALL_SCOPES, FakeHubSpot, serve_crm
from tests.hubspot.conftest import cursor, load, raw_count, sql
from tests.hubspot.test_hubspot_source import hubspot_error

pytestmark = pytest.mark.slow  # one dbt build

MODELS = ("stg_hubspot__opportunities", "stg_hubspot__opportunity_products")
CHANGED_QUANTITY = Decimal("7")


@dataclass
class Runs:
    portal: FakeHubSpot
    crm: dict[str, pa.Table]
    data_dir: Path
    first: dict[str, int]  # raw row counts after the first run
    changed: str  # the line item changed between the runs (its HubSpot id)
    deleted: str  # the line item deleted between the runs
    deleted_deal: str  # the deal deleted between the runs
    second_requests: list  # what the second run asked HubSpot


def _line(crm: dict[str, pa.Table], n: int) -> dict:
    return crm["deal_products"].slice(n, 1).to_pylist()[0]


def _dbt_build(data_dir: Path) -> None:
    target = data_dir / "dbt"
    select = [*MODELS, "stg_hubspot__stage_history"]  # its test refers to the deals
    result = subprocess.run(
        dbt_command(["build", "--select", *select], ("hubspot",), target, target / "logs"),
        env={**os.environ, **dbt_env(Settings(data_dir=data_dir))},
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def runs(crm: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    assert crm["deal_products"].num_rows > 100  # the demo CRM sells products
    data_dir = tmp_path_factory.mktemp("line-items")
    with pytest.MonkeyPatch.context() as env, serve_crm(crm) as portal:
        env.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        load(portal, data_dir)
        first = {t: raw_count(data_dir, t) for t in ("line_items", "products", "deals")}
        changed, deleted = _line(crm, 3), _line(crm, 0)
        assert changed["deal_id"] != deleted["deal_id"]
        changed_key = portal.line_item_key(changed["deal_id"], changed["product_id"])
        deleted_key = portal.line_item_key(deleted["deal_id"], deleted["product_id"])
        portal.modify(
            "line_items",
            changed_key,
            quantity=str(CHANGED_QUANTITY),
            amount="999.50",
            hs_cost_of_goods_sold="10.5",
        )
        portal.archive("line_items", deleted_key)
        lines = crm["deal_products"].to_pylist()
        gone_deal = next(
            r["deal_id"]
            for r in lines
            if r["deal_id"] not in (changed["deal_id"], deleted["deal_id"])
        )
        portal.archive("deals", gone_deal)
        seen = len(portal.requests)
        load(portal, data_dir)
        _dbt_build(data_dir)
        yield Runs(
            portal,
            crm,
            data_dir,
            first,
            portal.hubspot_id("line_items", changed_key),
            portal.hubspot_id("line_items", deleted_key),
            portal.hubspot_id("deals", gone_deal),
            portal.requests[seen:],
        )


def test_first_run_reads_every_line_item_with_its_deal(runs: Runs) -> None:
    assert runs.first["line_items"] == runs.crm["deal_products"].num_rows
    products = runs.crm["deal_products"].column("product_id").unique()
    assert runs.first["products"] == len(products)
    lists = [
        r
        for r in runs.portal.requests_to(r"^/crm/v3/objects/line_items$", "GET")
        if r.arg("archived") == "false"
    ]
    assert lists and all(r.arg("associations") == "deals" for r in lists)
    assert {r.arg("limit") for r in lists} == {str(hs.LIST_PAGE_SIZE)}
    assert len(lists) == -(-runs.first["line_items"] // hs.LIST_PAGE_SIZE)


def test_staged_line_items_are_the_crm_products_of_live_deals(runs: Runs) -> None:
    portal = runs.portal
    expected = []
    for row in runs.crm["deal_products"].to_pylist():
        line_id = portal.hubspot_id(
            "line_items", portal.line_item_key(row["deal_id"], row["product_id"])
        )
        deal_id = portal.hubspot_id("deals", row["deal_id"])
        if line_id in (runs.changed, runs.deleted) or deal_id == runs.deleted_deal:
            continue
        expected.append(
            (
                f"hubspot:{line_id}",
                f"hubspot:{deal_id}",
                "hubspot",
                f"hubspot:{portal.hubspot_id('products', row['product_id'])}",
                row["product_name"],
                row["product_family"],
                row["quantity"],
                row["unit_price"],
                row["amount"],
                row["currency"],
                row["cost"],
            )
        )
    staged = sql(
        runs.data_dir,
        "SELECT * EXCLUDE (updated_at) FROM staging.stg_hubspot__opportunity_products "
        "WHERE line_id <> ?",
        [f"hubspot:{runs.changed}"],
    )
    assert sorted(staged) == sorted(expected)
    assert any(row[-1] is None for row in expected)  # lines without a known cost too
    assert len({row[5] for row in expected}) > 1  # several families, shown by their labels


def test_a_changed_line_item_is_read_by_search_and_staged_anew(runs: Runs) -> None:
    searches = [r.json() for r in runs.second_requests if r.path.endswith("line_items/search")]
    (search,) = searches
    (flt,) = search["filterGroups"][0]["filters"]
    assert flt["propertyName"] == "hs_lastmodifieddate" and flt["operator"] == "GTE"
    assert set(search["properties"]) >= {"amount", "quantity", "hs_cost_of_goods_sold"}
    # no full listing of live line items, and associations read for the changed one only
    assert not [
        r
        for r in runs.second_requests
        if r.path == "/crm/v3/objects/line_items" and r.arg("archived") == "false"
    ]
    (links,) = [r.json() for r in runs.second_requests if "/associations/line_items/" in r.path]
    # exactly the line items modified since the cursor minus the lookback
    items = runs.portal.line_items
    since = (items.modified_ms >= int(flt["value"])) & ~items.archived
    assert {i["id"] for i in links["inputs"]} == {str(i) for i in items.ids[since]}
    assert runs.changed in {i["id"] for i in links["inputs"]}
    assert len(links["inputs"]) < len(items) / 10
    (row,) = sql(
        runs.data_dir,
        "SELECT opportunity_id, quantity, amount, cost "
        "FROM staging.stg_hubspot__opportunity_products WHERE line_id = ?",
        [f"hubspot:{runs.changed}"],
    )
    deal = runs.portal.hubspot_id("deals", _line(runs.crm, 3)["deal_id"])
    assert row == (f"hubspot:{deal}", CHANGED_QUANTITY, Decimal("999.50"), Decimal("73.50"))
    assert cursor(runs.data_dir, "line_items") is not None


def test_a_deleted_line_item_and_the_lines_of_a_deleted_deal_vanish(runs: Runs) -> None:
    assert raw_count(runs.data_dir, "line_items", "id = ?", [runs.deleted]) == 0
    assert raw_count(runs.data_dir, "line_items") == runs.first["line_items"] - 1
    staged = {
        r[0]: r[1]
        for r in sql(
            runs.data_dir,
            "SELECT line_id, opportunity_id FROM staging.stg_hubspot__opportunity_products",
        )
    }
    assert f"hubspot:{runs.deleted}" not in staged
    assert f"hubspot:{runs.deleted_deal}" not in staged.values()
    lines_of_deal = raw_count(runs.data_dir, "line_items", "deal_id = ?", [runs.deleted_deal])
    assert lines_of_deal > 0  # still in raw: HubSpot did not delete them, staging drops them
    assert len(staged) == runs.first["line_items"] - 1 - lines_of_deal


def test_the_deal_channel_is_staged_with_its_label(runs: Runs) -> None:
    portal = runs.portal
    deals = runs.crm["deals"]
    expected = {
        f"hubspot:{portal.hubspot_id('deals', d)}": c
        for d, c in zip(
            deals.column("deal_id").to_pylist(), deals.column("channel").to_pylist(), strict=True
        )
        if portal.hubspot_id("deals", d) != runs.deleted_deal
    }
    staged = dict(
        sql(runs.data_dir, "SELECT opportunity_id, channel FROM staging.stg_hubspot__opportunities")
    )
    assert staged == expected
    assert None in staged.values() and len(set(staged.values())) > 3
    # HubSpot stores the option's internal value, the label comes from the property
    values = {v for (v,) in sql(runs.data_dir, "SELECT channel_value FROM raw_hubspot.deals")}
    assert values.isdisjoint(set(expected.values()) - {None})


def test_line_items_off_reads_none_and_a_missing_scope_is_named(
    crm: dict[str, pa.Table], data_dir: Path
) -> None:
    only = ("line_items", "products", "property_options")
    with serve_crm(crm, scopes=ALL_SCOPES - {"crm.objects.line_items.read"}) as server:
        with pytest.raises(PipelineStepFailed) as failed:
            load(server, data_dir, only=only)
        error = hubspot_error(failed.value)
        assert isinstance(error, HubSpotAuthError)
        assert "403" in str(error) and "crm.objects.line_items.read" in str(error)
        seen = len(server.requests)
        load(server, data_dir, only=only, line_items=False)
        assert not [r for r in server.requests[seen:] if "line_items" in r.path]
        assert not [r for r in server.requests[seen:] if "products" in r.path]
    assert raw_count(data_dir, "line_items") == 0
    assert raw_count(data_dir, "products") == 0
    assert {f for (f,) in sql(data_dir, "SELECT field FROM raw_hubspot.property_options")} == {
        "channel"
    }


def test_a_channel_property_the_portal_lacks_loads_without_labels(
    portal: FakeHubSpot, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ingestion.hubspot")
    load(portal, data_dir, only=("property_options",), channel_property="lead_channel")
    assert "lead_channel" in caplog.text
    fields = sql(data_dir, "SELECT DISTINCT field FROM raw_hubspot.property_options")
    assert fields == [("product_family",)]
