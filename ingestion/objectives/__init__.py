"""The user's objectives file (`objectives.yml`): validation, and its load as data.

`load_objectives_file` parses and checks the file, raising `ObjectivesFileError` with
every problem (file, line, objective, field, what is allowed); `write_objectives`
replaces schema `raw_objectives` of the build database with the validated objectives in
one transaction.
"""

from ingestion.objectives.load import TABLE_SCHEMAS, objectives_tables, write_objectives
from ingestion.objectives.schema import (
    OKR,
    Milestone,
    Objective,
    ObjectivesFile,
    ObjectivesFileError,
    ObjectivesFileMissingError,
    Problem,
    load_objectives_file,
)

__all__ = [
    "OKR",
    "TABLE_SCHEMAS",
    "Milestone",
    "Objective",
    "ObjectivesFile",
    "ObjectivesFileError",
    "ObjectivesFileMissingError",
    "Problem",
    "load_objectives_file",
    "objectives_tables",
    "write_objectives",
]
