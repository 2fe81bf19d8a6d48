"""The files source: a folder of CRM export files (CSV or Parquet), one per entity.

Resources (one table each in `raw_files`, replaced on every run because an export is a
full snapshot: a deal missing from the next export is deleted):

- `deals`, `stage_history`, `accounts`, `owners` (required files)
- `stages`, `fx_rates`, `deal_products` (optional files; empty tables when absent)

The columns are the input contract of docs/crm-model.md (`ingestion/files/contract.py`). The whole
folder is checked before anything is handed to dlt, so a file that breaks the contract
stops the run with the file, line and column, and nothing is loaded.

Settings: `SOURCES__FILES__PATH` (or `path` under `[sources.files]` in
`.dlt/config.toml`), the folder holding the files.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.extract.source import DltResource

from core.errors import SourceNotConfiguredError
from ingestion.files.contract import ENTITIES
from ingestion.files.problems import ContractError
from ingestion.files.reader import ValidatedExport

__all__ = ["ContractError", "files_source"]


class _Export:
    """Checks the whole folder on the first read of any resource, before any data flows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._validated: ValidatedExport | None = None
        self._unread = set(ENTITIES)

    def batches(self, entity: str) -> Iterator[pa.Table]:
        if self._validated is None:
            self._validated = ValidatedExport(self.folder).check()
        yield from self._validated.batches(entity)
        self._unread.discard(entity)
        if not self._unread:
            self._validated.close()


@dlt.source(name="files")
def files_source(path: str = dlt.config.value) -> tuple[DltResource, ...]:
    # dlt looks `path` up as sources.files.path, then sources.path, then plain `path`,
    # which is the shell's PATH: without SOURCES__FILES__PATH every shell "configured" the
    # files source with a list of program folders.
    if path == os.environ.get("PATH") and os.pathsep in path:
        raise SourceNotConfiguredError(
            "source 'files' is not configured: set SOURCES__FILES__PATH to the folder of the "
            "CRM export (or `path` under [sources.files] in .dlt/config.toml)"
        )
    export = _Export(Path(path).expanduser().resolve())

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["deals"].primary_key)
    def deals() -> Iterator[pa.Table]:
        yield from export.batches("deals")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["stage_history"].primary_key)
    def stage_history() -> Iterator[pa.Table]:
        yield from export.batches("stage_history")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["accounts"].primary_key)
    def accounts() -> Iterator[pa.Table]:
        yield from export.batches("accounts")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["owners"].primary_key)
    def owners() -> Iterator[pa.Table]:
        yield from export.batches("owners")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["stages"].primary_key)
    def stages() -> Iterator[pa.Table]:
        yield from export.batches("stages")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["fx_rates"].primary_key)
    def fx_rates() -> Iterator[pa.Table]:
        yield from export.batches("fx_rates")

    @dlt.resource(write_disposition="replace", primary_key=ENTITIES["deal_products"].primary_key)
    def deal_products() -> Iterator[pa.Table]:
        yield from export.batches("deal_products")

    return deals, stage_history, accounts, owners, stages, fx_rates, deal_products
