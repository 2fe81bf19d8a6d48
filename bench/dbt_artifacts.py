"""What a pipeline run's dbt left in its target folder: the models' graph and timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.errors import BenchError


def read_manifest(target: Path) -> dict[str, Any]:
    path = target / "manifest.json"
    if not path.is_file():
        raise BenchError(f"no manifest.json in {target}: run the pipeline first")
    return json.loads(path.read_text())


def model_parents(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Each model's unique id -> the models it is built from."""
    models = {k for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    return {
        key: [d for d in manifest["nodes"][key]["depends_on"]["nodes"] if d in models]
        for key in models
    }


def execution_seconds(target: Path) -> dict[str, float]:
    """Each node's execution time in the last dbt command (`run_results.json`), by unique id."""
    path = target / "run_results.json"
    if not path.is_file():
        raise BenchError(f"no run_results.json in {target}: dbt did not finish a build there")
    return {r["unique_id"]: r["execution_time"] for r in json.loads(path.read_text())["results"]}


def prepare_dbt(data_dir: Path, sources: tuple[str, ...]) -> Path:
    """dbt's parse of the project for a data dir, as its first nightly run does and later
    runs reuse: done before a measured run, untimed. Returns the dbt target folder."""
    from core.dbt import prepare_manifest
    from core.settings import Settings

    return prepare_manifest(Settings(data_dir=data_dir), sources).parent
