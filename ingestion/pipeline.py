"""The dlt pipeline of a source: one name from end to end.

The pipeline, its working folder and its dataset all carry the source's name: source
`files` loads with pipeline `files` into schema `raw_files` of `build.duckdb`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.extract.source import DltSource

# A pipeline of the company's CRM data phones home to no one: dlt's anonymous telemetry is
# off unless the operator turns it on explicitly.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def raw_dataset(source_name: str) -> str:
    return f"raw_{source_name}"


def make_pipeline(source_name: str, build_db: Path, pipelines_dir: Path) -> dlt.Pipeline:
    """A dlt pipeline writing `raw_<source_name>` into the DuckDB file `build_db`."""
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=dlt.destinations.duckdb(str(build_db)),
        dataset_name=raw_dataset(source_name),
        pipelines_dir=str(pipelines_dir),
        # Progress of long loads on stderr, where it does not mix with command output.
        progress=dlt.progress.log(log_period=10, logger=sys.stderr, dump_system_stats=False),
    )


def run_source(
    source: DltSource, source_name: str, build_db: Path, pipelines_dir: Path
) -> LoadInfo:
    """Extract, normalize and load `source` with the parquet loader.

    dlt's default DuckDB loader format (`insert_values`) is ~30x slower than parquet.
    """
    pipeline = make_pipeline(source_name, build_db, pipelines_dir)
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    return info
