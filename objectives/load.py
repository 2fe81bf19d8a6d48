"""Reading the objectives file named by the settings, and loading it into the build file
as data before dbt runs."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pyarrow as pa

from core.db import connect
from core.settings import Settings
from objectives.file import load_objectives_file
from objectives.manual_values import load_manual_values
from objectives.model import ObjectivesFile
from objectives.tables import write_objectives


def read_objectives(settings: Settings) -> ObjectivesFile:
    """The validated objectives file; no objectives when the default file is absent.

    Raises ObjectivesFileError (file, line, objective, field) for a bad file, and for a
    missing file that CRM_KPI_OBJECTIVES names; its manual metrics' values with it.
    """
    path, _required = settings.objectives_file()
    if path is None:
        loaded = ObjectivesFile(Path("objectives.yml"))
    else:
        loaded = load_objectives_file(path, fiscal_year_start=settings.fiscal_year_start)
    return read_manual_values(settings, loaded)


def read_manual_values(settings: Settings, loaded: ObjectivesFile) -> ObjectivesFile:
    """`loaded` with the values of its manual metrics (CRM_KPI_MANUAL_METRICS, else
    manual_metrics.csv beside the objectives file when there is one).

    Raises ManualMetricsFileError (file, line, field) for a bad file, and for a missing
    file that CRM_KPI_MANUAL_METRICS names."""
    path, _required = settings.manual_metrics_file()
    if path is None:
        return loaded
    values = load_manual_values(path, loaded.manual_metrics)
    return dataclasses.replace(loaded, manual_values=values, values_path=path)


def load_objectives(settings: Settings, progress_dates: list[date]) -> ObjectivesFile:
    """Validate the file, then replace `raw_objectives` in one transaction; and the days
    progress is measured as of (`raw_objectives.progress_dates`)."""
    objectives = read_objectives(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    dates = pa.table({"as_of": pa.array(sorted(set(progress_dates)), pa.date32())})
    con = connect(settings.build_db)
    try:
        write_objectives(con, objectives)
        con.register("progress_date_rows", dates)
        con.execute(
            "CREATE OR REPLACE TABLE raw_objectives.progress_dates AS "
            "SELECT * FROM progress_date_rows"
        )
        con.unregister("progress_date_rows")
    finally:
        con.close()
    return objectives
