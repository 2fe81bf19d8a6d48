"""The user's objectives file (`objectives.yml`): validation, and its load as data.

The objectives are the user's input, not a CRM: this package stands beside `ingestion/`.
`load_objectives_file` parses and checks the file, raising `ObjectivesFileError` with
every problem (file, line, objective, field, what is allowed); `write_objectives`
replaces schema `raw_objectives` of the build database with the validated objectives in
one transaction; `read_objectives` and `load_objectives` do both for the file the
settings name. Manual metrics (`manual_metrics:`) are declared in the file and their
values read from CRM_KPI_MANUAL_METRICS (`load_manual_values`, ManualMetricsFileError).
"""

from objectives.file import load_objectives_file
from objectives.load import load_objectives, read_objectives
from objectives.manual_values import ManualMetricsFileError, load_manual_values
from objectives.model import OKR, ManualMetric, ManualValue, Milestone, Objective, ObjectivesFile
from objectives.problems import ObjectivesFileError, ObjectivesFileMissingError, Problem
from objectives.tables import TABLE_SCHEMAS, objectives_tables, write_objectives

__all__ = [
    "OKR",
    "TABLE_SCHEMAS",
    "ManualMetric",
    "ManualMetricsFileError",
    "ManualValue",
    "Milestone",
    "Objective",
    "ObjectivesFile",
    "ObjectivesFileError",
    "ObjectivesFileMissingError",
    "Problem",
    "load_manual_values",
    "load_objectives",
    "load_objectives_file",
    "objectives_tables",
    "read_objectives",
    "write_objectives",
]
