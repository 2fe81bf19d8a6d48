"""The HubSpot connector end to end, from the fake HubSpot API on 127.0.0.1.

The demo CRM is served by `tests.fakes.hubspot` (HubSpot's CRM v3 shapes, pages built
on demand from Arrow columns) in this process; `crm-kpi run --source hubspot` runs in
its own process against it, as it would against api.hubapi.com:

1. `fetch_parse_s`: every page of a first full run fetched and parsed, nothing else
   (`bench/fetch_parse.py`, in its own process too);
2. `connector_full_s`: the first full run into an empty data dir;
3. `incremental_1pct_s`: 1 % of the deals change in the portal (an open deal moves to
   its pipeline's next stage, which adds a `dealstage` history version, and its amount
   changes), stamped on the next day; the next run, as of that day, reads only them.
   Each repetition changes another 1 % on the following day.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.cli_run import ROOT, CliRun, clean_env, run_cli
from bench.dbt_artifacts import execution_seconds, prepare_dbt
from bench.errors import BenchError
from core.db import connect
from expectations.batches import tables_in_schema
from ingestion.demo.generator import DemoConfig, DemoCRM
from tests.fakes.hubspot import FakeHubSpot, serve_crm

CHANGED_SHARE = 0.01


@dataclass
class ConnectorResult:
    portal_build_s: float
    fetch_parse_s: float
    fetch_parse_rows: int
    fetch_requests: int
    full: CliRun
    rows_loaded: int
    incremental: list[CliRun] = field(default_factory=list)
    changed_deals: int = 0
    # dbt's per-model seconds in the last incremental run: the fixed cost, model by model
    incremental_model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def load_s(self) -> float:
        seconds = self.full.step("load hubspot")
        if seconds is None:
            raise BenchError("the HubSpot run printed no `load hubspot` step time")
        return seconds


def _open_stage_moves(portal: FakeHubSpot) -> dict[str, str]:
    """Stage id -> the stage id a deal in it moves to: the next open stage of its pipeline
    (the last open stage moves back one, as deals slip back)."""
    moves: dict[str, str] = {}
    for pipeline in portal.pipelines:
        stages = sorted(
            (
                s
                for s in pipeline["stages"]
                if s["metadata"]["isClosed"] == "false" and not s.get("archived")
            ),
            key=lambda s: s["displayOrder"],
        )
        ids = [s["id"] for s in stages]
        for i, sid in enumerate(ids):
            if len(ids) > 1:
                moves[sid] = ids[i + 1] if i + 1 < len(ids) else ids[i - 1]
    return moves


def change_deals(portal: FakeHubSpot, share: float, day: date, seed: int) -> int:
    """Change `share` of the deals, drawn from the open ones, on `day` (UTC noon onwards):
    each moves to its pipeline's next stage (a new history version) and its amount rises
    5 % (a deal without amount keeps none)."""
    deals = portal.deals
    moves = _open_stage_moves(portal)
    stages = deals.props["dealstage"]
    movable = pc.is_in(stages, value_set=pa.array(list(moves), pa.string()))
    live = np.zeros(len(deals), dtype=bool)
    live[deals.live()] = True
    candidates = np.flatnonzero(movable.to_numpy(zero_copy_only=False) & live)
    wanted = max(1, round(len(deals) * share))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(candidates, size=min(wanted, len(candidates)), replace=False))
    if not len(rows):
        raise BenchError("the fake portal has no open deal to change")
    rows_array = pa.array(rows)
    move_to = pa.array([moves[s] for s in stages.take(rows_array).to_pylist()], pa.string())
    amounts = pc.cast(deals.props["amount"].take(rows_array), pa.float64())
    raised = pc.cast(pc.round(pc.multiply(amounts, 1.05), 2), pa.decimal128(18, 2))
    noon = datetime.combine(day, dtime(12), tzinfo=UTC)
    portal.modify_many(
        "deals",
        rows,
        {"dealstage": move_to, "amount": pc.cast(raised, pa.string())},
        not_before_ms=int(noon.timestamp() * 1000),
    )
    return len(rows)


@contextmanager
def portal_of(deals: int, seed: int, as_of: date) -> Iterator[tuple[FakeHubSpot, float]]:
    started = time.perf_counter()
    portal = serve_crm(DemoCRM(DemoConfig(deals=deals, seed=seed, as_of=as_of)).tables())
    built = time.perf_counter() - started
    with portal:
        yield portal, built


def fetch_and_parse(portal: FakeHubSpot, env: dict[str, str]) -> dict[str, float]:
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bench.fetch_parse", portal.url, portal.token],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError("bench.fetch_parse took more than an hour") from exc
    if result.returncode != 0:
        raise BenchError(f"bench.fetch_parse failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def raw_rows(build_db: Path) -> int:
    """Rows of the raw_hubspot tables (dlt's own tables left out)."""
    con = connect(build_db, read_only=True)
    try:
        tables = tables_in_schema(con, "raw_hubspot")
        return sum(
            con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in tables
            if not t.startswith("raw_hubspot._dlt")
        )
    finally:
        con.close()


def run_connector(
    deals: int,
    seed: int,
    as_of: date,
    workdir: Path,
    objectives: Path,
    runs: int,
    log: Callable[[str], None] = print,
    long_run_s: float = float("inf"),
) -> ConnectorResult:
    """Fetch-and-parse, a first full run, then `runs` incremental runs (only one when the
    first takes more than `long_run_s`)."""
    data_dir = workdir / "hubspot" / "data"
    with portal_of(deals, seed, as_of) as (portal, built):
        log(f"  fake HubSpot portal with {deals:,} deals built in {built:.1f} s")
        portal.quote_all()  # the fake's own set-up, before anything is timed
        env = clean_env(
            {
                "CRM_KPI_DATA_DIR": str(data_dir),
                "CRM_KPI_OBJECTIVES": str(objectives),
                "SOURCES__HUBSPOT__API_KEY": portal.token,
                "SOURCES__HUBSPOT__BASE_URL": portal.url,
            }
        )
        fetched = fetch_and_parse(portal, env)
        log(
            f"  fetch and parse: {fetched['rows']:,} rows in {fetched['seconds']:.1f} s "
            f"({fetched['requests']:,} requests)"
        )
        logs = workdir / "hubspot" / "logs"
        target = prepare_dbt(data_dir, ("hubspot",))
        full = run_cli(
            ["run", "--source", "hubspot", "--as-of", as_of.isoformat()],
            env,
            workdir,
            logs / "full.log",
        )
        loaded = raw_rows(data_dir / "build.duckdb")
        log(f"  connector full run: {full.seconds:.1f} s, {loaded:,} raw rows")
        result = ConnectorResult(
            portal_build_s=built,
            fetch_parse_s=fetched["seconds"],
            fetch_parse_rows=int(fetched["rows"]),
            fetch_requests=int(fetched["requests"]),
            full=full,
            rows_loaded=loaded,
        )
        for i in range(1, runs + 1):
            day = as_of + timedelta(days=i)
            result.changed_deals = change_deals(portal, CHANGED_SHARE, day, seed + i)
            run = run_cli(
                ["run", "--source", "hubspot", "--as-of", day.isoformat()],
                env,
                workdir,
                logs / f"incremental-{i}.log",
            )
            result.incremental.append(run)
            log(
                f"  incremental run {i} ({result.changed_deals:,} deals changed): "
                f"{run.seconds:.1f} s"
            )
            if run.seconds > long_run_s:
                break
        result.incremental_model_seconds = {
            key.split(".")[-1]: seconds
            for key, seconds in execution_seconds(target).items()
            if key.startswith("model.")
        }
    return result
