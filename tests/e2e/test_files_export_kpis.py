"""A 15-deal CRM export built by hand, run end to end through the CLI, against KPI
values worked out by hand (see the comments: none is computed by the code under test).

The export (tests/fixtures/export_small), as of 2026-07-15, reporting currency EUR:
 deal  account owner(team)   status  amount      created     closed (UTC)
 1     10     1 (Enterprise) won     10000 EUR   01-10       03-31 23:59:59
 2     11     2 (SMB)        won      5000 USD   02-01       04-01 00:00:00  rate 0.80 -> 4000.00
 3     12     2 (SMB)        lost     3000 EUR   02-15       04-20
 4     10     1 (Enterprise) open    20000 EUR   03-05
 5     13     3 ((none))     won      7500 EUR   03-10       05-15
 6     -      3 ((none))     lost     1200 EUR   04-02       05-02
 7     11     2 (SMB)        open     2000 USD   04-10       -               rate 0.80 -> 1600.00
 8     12     1 (Enterprise) won      6000 EUR   05-01       06-30 22:30-02:00 = 07-01 00:30 UTC
 9     13     3 ((none))     open  9999.99 EUR   06-01
 10    10     1 (Enterprise) won     12000 EUR   06-05       07-16 (after as_of: still open)
 11    11     2 (SMB)        lost      800 USD   06-10       06-20           rate 0.85 -> 680.00
 12    12     2 (SMB)        open     5000 EUR   07-20 (created after as_of: ignored)
 13    13     1 (Enterprise) lost     4000 EUR   01-20       01-31 23:00
 14    10     2 (SMB)        won   2500.50 EUR   01-25       02-14
 15    11     3 ((none))     open     1500 EUR   05-20
Accounts: 10 Enterprise/EMEA, 11 SMB/North America, 12 SMB/EMEA, 13 Mid-Market/(none).
"""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from tests.utils import kpi, query, run_cli

EXPORT = FIXTURES / "export_small"
MONTHS = [
    "2026-01-01",
    "2026-02-01",
    "2026-03-01",
    "2026-04-01",
    "2026-05-01",
    "2026-06-01",
    "2026-07-01",
]


def by_month(values: list) -> dict:
    return dict(zip(MONTHS, values, strict=True))


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run in UTC and one in Europe/Paris, shared by the tests of this module."""
    runs = {}
    for zone in ("UTC", "Europe/Paris"):
        data_dir = tmp_path_factory.mktemp(f"data-{zone.replace('/', '-')}")
        result = run_cli(
            "run",
            "--source",
            "files",
            "--as-of",
            "2026-07-15",
            env={
                "SOURCES__FILES__PATH": str(EXPORT),
                "CRM_KPI_DATA_DIR": str(data_dir),
                "CRM_KPI_TIMEZONE": zone,
            },
        )
        assert result.returncode == 0, result.stderr
        runs[zone] = data_dir / "serving.duckdb"
    return runs


def test_won_and_lost_deals_by_month(serving: dict) -> None:
    path = serving["UTC"]
    # won: 14 in Feb, 1 at 03-31 23:59:59 in Mar, 2 at 04-01 00:00:00 in Apr, 5 in May,
    # 8 at 07-01 00:30 UTC in Jul (06-30 in its own -02:00 offset); 10 closed after as_of.
    assert kpi(path, "won_deals", "month") == by_month([0, 1, 1, 1, 1, 0, 1])
    # lost: 13 (01-31 23:00) Jan, 3 Apr, 6 May, 11 Jun
    assert kpi(path, "lost_deals", "month") == by_month([1, 0, 0, 1, 1, 1, 0])
    assert kpi(path, "win_rate", "month") == by_month([0.0, 1.0, 1.0, 0.5, 0.5, 0.0, 1.0])


def test_won_revenue_converts_at_the_close_date_rate(serving: dict) -> None:
    path = serving["UTC"]
    # deal 2: 5000 USD at the 2026-04-01 rate 0.80 = 4000.00 EUR
    assert kpi(path, "won_revenue", "month") == by_month(
        [0.0, 2500.50, 10000.0, 4000.0, 7500.0, 0.0, 6000.0]
    )
    # quarters: Q1 = 2500.50 + 10000; Q2 = 4000 + 7500; Q3 (to date) = 6000
    assert kpi(path, "won_revenue", "quarter") == {
        "2026-01-01": 12500.50,
        "2026-04-01": 11500.0,
        "2026-07-01": 6000.0,
    }
    # Q1 won 2 lost 1; Q2 won 2 lost 3 (3, 6, 11); Q3 won 1
    assert kpi(path, "win_rate", "quarter") == pytest.approx(
        {"2026-01-01": 2 / 3, "2026-04-01": 0.4, "2026-07-01": 1.0}
    )
    assert kpi(path, "won_revenue", "year") == {"2026-01-01": 30000.50}


def test_pipeline_value_at_each_month_end(serving: dict) -> None:
    path = serving["UTC"]
    assert kpi(path, "pipeline_value", "month") == by_month(
        [
            12500.50,  # end Jan: 1 (10000) + 14 (2500.50); 13 closed on 01-31
            17000.00,  # end Feb: 1 + 2 (4000.00) + 3 (3000)
            34500.00,  # end Mar: 2 + 3 + 4 (20000) + 5 (7500); 1 closed on 03-31
            30300.00,  # end Apr: 4 + 5 + 6 (1200) + 7 (1600.00)
            29100.00,  # end May: 4 + 7 + 8 (6000) + 15 (1500)
            51099.99,  # end Jun: 4 + 7 + 8 + 9 (9999.99) + 10 (12000) + 15
            45099.99,  # as_of 07-15: 4 + 7 + 9 + 10 + 15; 12 not yet created
        ]
    )


def test_scopes_team_segment_region_owner(serving: dict) -> None:
    path = serving["UTC"]
    assert kpi(path, "won_deals", "month", "team", "Enterprise") == by_month([0, 0, 1, 0, 0, 0, 1])
    assert kpi(path, "won_deals", "month", "team", "SMB") == by_month([0, 1, 0, 1, 0, 0, 0])
    # Carla has no team: her deals count under (none)
    assert kpi(path, "won_deals", "month", "team", "(none)") == by_month([0, 0, 0, 0, 1, 0, 0])
    assert kpi(path, "won_revenue", "month", "segment", "Enterprise") == by_month(
        [0.0, 2500.50, 10000.0, 0.0, 0.0, 0.0, 0.0]
    )
    # deal 6 has no account, account 13 no region: both lost under region (none)
    assert kpi(path, "lost_deals", "month", "region", "(none)") == by_month([1, 0, 0, 0, 1, 0, 0])
    assert kpi(path, "lost_deals", "month", "owner", "files:2") == by_month([0, 0, 0, 1, 0, 1, 0])


def test_rows_cover_every_period_and_scope(serving: dict) -> None:
    path = serving["UTC"]
    # days from the first creation (01-10) to as_of (07-15): 22 + 28 + 31 + 30 + 31 + 30 + 15
    days = query(
        path,
        "SELECT count(*) FROM marts.kpi_values WHERE metric = 'won_deals' AND grain = 'day' "
        "AND scope_type = 'company'",
    )[0][0]
    assert days == 187
    scopes = dict(
        query(
            path,
            "SELECT scope_type, list(DISTINCT scope_value ORDER BY scope_value) "
            "FROM marts.kpi_values WHERE metric = 'won_deals' GROUP BY 1",
        )
    )
    assert scopes == {
        "company": ["all"],
        "owner": ["files:1", "files:2", "files:3"],
        "team": ["(none)", "Enterprise", "SMB"],
        "segment": ["(none)", "Enterprise", "Mid-Market", "SMB"],
        "region": ["(none)", "EMEA", "North America"],
        "pipeline": ["New Business"],
        "channel": ["(none)"],  # the export has no deals.channel
    }
    complete = dict(
        query(
            path,
            "SELECT period_start::VARCHAR, is_complete FROM marts.kpi_values "
            "WHERE metric = 'won_deals' AND grain = 'month' AND scope_type = 'company'",
        )
    )
    assert complete["2026-06-01"] is True and complete["2026-07-01"] is False
    units = dict(
        query(
            path,
            "SELECT DISTINCT metric, unit FROM marts.kpi_values WHERE metric IN "
            "('won_deals', 'win_rate', 'won_revenue', 'pipeline_value')",
        )
    )
    assert units == {
        "won_deals": "count",
        "win_rate": "ratio",
        "won_revenue": "EUR",
        "pipeline_value": "EUR",
    }


def test_reporting_timezone_moves_deals_between_months(serving: dict) -> None:
    path = serving["Europe/Paris"]
    # In Paris (UTC+2 in summer, +1 in winter): deal 1 closes 04-01 01:59:59 and deal 13
    # 02-01 00:00:00; deal 8 closes 07-01 02:30, still July.
    assert kpi(path, "won_deals", "month") == by_month([0, 1, 0, 2, 1, 0, 1])
    assert kpi(path, "lost_deals", "month") == by_month([0, 1, 0, 1, 1, 1, 0])
