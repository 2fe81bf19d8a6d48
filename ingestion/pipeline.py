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


def make_pipeline(
    source_name: str, build_db: Path, pipelines_dir: Path, progress: bool = True
) -> dlt.Pipeline:
    """A dlt pipeline writing `raw_<source_name>` into the DuckDB file `build_db`; with
    `progress`, dlt's progress blocks on stderr."""
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    # Progress of long loads on stderr, where it does not mix with command output.
    shown = (
        {"progress": dlt.progress.log(log_period=10, logger=sys.stderr, dump_system_stats=False)}
        if progress
        else {}
    )
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=dlt.destinations.duckdb(str(build_db)),
        dataset_name=raw_dataset(source_name),
        pipelines_dir=str(pipelines_dir),
        **shown,
    )


def finish_interrupted_load(pipeline: dlt.Pipeline) -> list[str]:
    """Load what a killed run left pending; the load ids finished (none: nothing was).

    Given pending packages, dlt's `run` only loads them and returns without extracting:
    the run after a crash would publish the crashed run's data, with the rows of a job
    that was written but not marked done written twice. Finishing them first lets the
    run extract afresh, and its own load replaces or merges over those rows.
    """
    if not pipeline.has_pending_data:
        return []
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    pending = list(pipeline.list_normalized_load_packages())
    if pending:
        pipeline.load().raise_on_failed_jobs()
    return pending


def run_source(
    source: DltSource, source_name: str, build_db: Path, pipelines_dir: Path
) -> LoadInfo:
    """Extract, normalize and load `source` with the parquet loader.

    dlt's default DuckDB loader format (`insert_values`) is ~30x slower than parquet.
    """
    pipeline = make_pipeline(source_name, build_db, pipelines_dir)
    finish_interrupted_load(pipeline)
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    return info
