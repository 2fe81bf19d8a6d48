"""The Pipedrive connector's speed goal: ingestion keeps at least half the rate of merely
fetching and parsing the pages it reads (issue 7, measured here rather than in the suite,
whose tests never assert timings).

`python -m bench.pipedrive_ingest [--deals N] [--runs R]` serves a seeded CRM from the
fake Pipedrive on 127.0.0.1 and, R times, times:

1. `fixed_s`: a full load of an empty company (imports are warm): dlt's and DuckDB's
   costs that do not grow with the data;
2. `ingest_s`: a full load of the CRM, minus `fixed_s`;
3. `fetch_parse_s`: GET + JSON parse of the very requests that load made, the changelogs
   with the connector's own concurrency. Both share the fake server, so its cost is in both.

It prints the medians and `ingest_vs_fetch_parse` = fetch_parse_s / ingest_s (the same rows,
so the ratio of rates) against the goal of 0.5.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.errors import BenchError
from ingestion.pipedrive import settings
from tests.fakes.pipedrive import DEFAULT_TOKEN, FakePipedrive, serve_crm
from tests.pipedrive.crm import load, make_crm, rows

GOAL = 0.5
PAGE_SIZE = 500


def _fetch_and_parse(server: FakePipedrive, made: list[Any]) -> float:
    local = threading.local()

    def fetch(request: Any) -> Any:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        answer = session.get(
            server.url + request.path,
            params={k: v[0] for k, v in request.query.items()},
            headers={"x-api-token": DEFAULT_TOKEN},
        )
        answer.raise_for_status()
        return json.loads(answer.content)

    started = time.perf_counter()
    for request in made:
        if not request.path.endswith("/changelog"):
            fetch(request)
    with ThreadPoolExecutor(settings.HISTORY_WORKERS) as pool:
        list(pool.map(fetch, [r for r in made if r.path.endswith("/changelog")]))
    return time.perf_counter() - started


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """dlt's progress lines (to stderr) held back, and shown only if the load fails."""
    held = io.StringIO()
    try:
        with contextlib.redirect_stderr(held):
            yield
    except BaseException:
        sys.stderr.write(held.getvalue()[-5000:])
        raise


def measure(deals: int, runs: int, workdir: Path) -> dict[str, float]:
    """Medians of `runs` measurements; raises BenchError when a load is incomplete."""
    crm = make_crm(deals=deals, seed=11)
    empty = {name: table.schema.empty_table() for name, table in crm.items()}
    fixed, ingest, baseline, requests_made = [], [], [], 0
    with serve_crm(empty) as server:
        with _quiet():
            load(server, workdir / "warm", page_size=PAGE_SIZE)  # imports, first-use costs
        for i in range(runs):
            started = time.perf_counter()
            with _quiet():
                load(server, workdir / f"empty{i}", page_size=PAGE_SIZE)
            fixed.append(time.perf_counter() - started)
    with serve_crm(crm) as server:
        for i in range(runs):
            before = len(server.requests)
            started = time.perf_counter()
            with _quiet():
                load(server, workdir / f"full{i}", page_size=PAGE_SIZE)
            ingest.append(time.perf_counter() - started)
            loaded = rows(workdir / f"full{i}", "SELECT count(*) FROM raw_pipedrive.deals")[0][0]
            if loaded != deals:
                raise BenchError(f"the Pipedrive load took {loaded} of {deals} deals")
            made = list(server.requests)[before:]
            requests_made = len(made)
            baseline.append(_fetch_and_parse(server, made))
            print(
                f"  run {i + 1}: load {ingest[-1]:.1f} s (empty company {fixed[i]:.2f} s), "
                f"fetch and parse {baseline[-1]:.1f} s, {len(made):,} requests",
                flush=True,
            )
    fixed_s = statistics.median(fixed)
    ingest_s = max(statistics.median(ingest) - fixed_s, 1e-9)
    fetch_parse_s = statistics.median(baseline)
    return {
        "deals": deals,
        "requests": requests_made,
        "fixed_s": round(fixed_s, 3),
        "ingest_s": round(ingest_s, 3),
        "fetch_parse_s": round(fetch_parse_s, 3),
        "ingest_vs_fetch_parse": round(fetch_parse_s / ingest_s, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=10_000, help="deals in the CRM (100-100000)")
    parser.add_argument("--runs", type=int, default=3, help="measurements to take the median of")
    args = parser.parse_args(argv)
    if not 100 <= args.deals <= 100_000:
        parser.error("--deals must be between 100 and 100000")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    print(f"Pipedrive connector from the fake API, {args.deals:,} deals, {args.runs} run(s)")
    with tempfile.TemporaryDirectory(prefix="crm-kpi-bench-pipedrive-") as work:
        try:
            figures = measure(args.deals, args.runs, Path(work))
        except BenchError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 1
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    met = "met" if figures["ingest_vs_fetch_parse"] >= GOAL else "NOT met"
    print(f"goal: ingest_vs_fetch_parse >= {GOAL}: {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
