"""The demo CRM as a folder of export files, in the files source's input contract.

One file per entity (`deals.csv`, `stage_history.csv`, `accounts.csv`, `owners.csv`,
`stages.csv`, `fx_rates.csv`, `deal_products.csv`, or the same names in `.parquet`),
written block by block so a million deals never sit in memory. CSV follows DESIGN.md: a
header row, ISO 8601 timestamps in UTC with a `Z` at whole seconds, dates as
YYYY-MM-DD, an empty field for a missing value. Used for the files source's tests and
benchmarks, and to hand the demo to a tool that reads CSV.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingestion.demo.generator import DemoConfig, DemoCRM
from ingestion.files.contract import ENTITIES

FORMATS = ("csv", "parquet")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Only account names hold commas; elsewhere values go unquoted, and Arrow refuses (never
# garbles) a value that would then need quotes.
QUOTED = {"accounts"}


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            pa.field(f.name, pa.string(), f.nullable) if pa.types.is_timestamp(f.type) else f
            for f in schema
        ]
    )


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text: Arrow's own CSV rendering has a space and microseconds."""
    columns = []
    for f, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(f.type):
            seconds = column.cast(pa.timestamp("s", tz="UTC"))  # the demo has whole seconds
            column = pc.strftime(seconds, format=TIMESTAMP_FORMAT)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=_csv_schema(table.schema))


class _Writer:
    def __init__(self, path: Path, fmt: str, schema: pa.Schema, quoted: bool) -> None:
        self.path = path
        self.fmt = fmt
        if fmt == "csv":
            options = pacsv.WriteOptions(
                include_header=True, quoting_style="needed" if quoted else "none"
            )
            self._writer = pacsv.CSVWriter(str(path), _csv_schema(schema), write_options=options)
        else:
            self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(_for_csv(table) if self.fmt == "csv" else table)

    def close(self) -> None:
        self._writer.close()


def write_files(config: DemoConfig, out_dir: Path, fmt: str = "csv") -> dict[str, Path]:
    """Write the demo CRM of `config` into `out_dir`, one file per entity; their paths.

    Each file is written under a temporary name and renamed when all are complete, so
    a failed export never leaves a folder that looks whole.
    """
    if fmt not in FORMATS:
        raise ValueError(f"write_files: fmt={fmt!r} is not one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crm = DemoCRM(config)
    paths = {name: out_dir / f"{name}.{fmt}" for name in ENTITIES}
    writers: dict[str, _Writer] = {}
    try:
        for name, entity in ENTITIES.items():
            partial = paths[name].with_name(paths[name].name + ".partial")
            writers[name] = _Writer(partial, fmt, entity.schema, name in QUOTED)
        writers["owners"].write(crm.owners())
        writers["stages"].write(crm.stages())
        writers["fx_rates"].write(crm.fx_rates())
        for block in crm.blocks():
            writers["accounts"].write(block.accounts)
            writers["deals"].write(block.deals)
            writers["stage_history"].write(block.stage_history)
            writers["deal_products"].write(block.deal_products)
        for writer in writers.values():
            writer.close()
    except BaseException:
        for writer in writers.values():
            with contextlib.suppress(Exception):
                writer.close()
            writer.path.unlink(missing_ok=True)
        raise
    for name, writer in writers.items():
        os.replace(writer.path, paths[name])
    return paths
