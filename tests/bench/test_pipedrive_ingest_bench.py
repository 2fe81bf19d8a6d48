"""`bench/pipedrive_ingest.py` on a small CRM: it loads every deal and reports every figure.
Timings are never asserted (see test_bench_smoke.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.pipedrive_ingest import main, measure


def test_the_pipedrive_ingest_bench_measures_every_figure(tmp_path: Path) -> None:
    figures = measure(deals=150, runs=1, workdir=tmp_path)
    assert set(figures) == {
        "deals",
        "requests",
        "fixed_s",
        "ingest_s",
        "fetch_parse_s",
        "ingest_vs_fetch_parse",
    }
    assert figures["deals"] == 150
    # every deal's changelog is fetched, besides the listings
    assert figures["requests"] > 150
    # ingest_s is a difference of two timings: only its being measured is checked
    assert figures["fixed_s"] > 0 and figures["fetch_parse_s"] > 0 and figures["ingest_s"] >= 0


def test_the_pipedrive_ingest_bench_refuses_a_size_out_of_range(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--deals", "10"])
    assert stopped.value.code == 2
    assert "--deals must be between 100 and 100000" in capsys.readouterr().err
