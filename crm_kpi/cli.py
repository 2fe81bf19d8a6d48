"""The `crm-kpi` command: run the demo or the pipeline, query the marts, open the UI.

The entry point (`crm-kpi = "crm_kpi.cli:app"`, and `python -m crm_kpi.cli`). The commands live
in `crm_kpi/commands/`; they are registered here, in one list, because Typer lists them in
`--help` in the order they were registered.
"""

from __future__ import annotations

from crm_kpi.app import app
from crm_kpi.commands import doctor, marts, objectives, refresh, ui

for command in (
    refresh.demo,
    refresh.run,
    objectives.status,
    doctor.doctor,
    objectives.objectives,
    objectives.backfill,
    marts.query,
    marts.export,
    marts.report,
    marts.docs,
    ui.ui,
):
    app.command()(command)

__all__ = ["app"]

if __name__ == "__main__":
    app()
