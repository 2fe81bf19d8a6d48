"""The `crm-kpi` command: run the demo or the pipeline, query the marts, open the UI.

The entry point (`crm-kpi = "crm_kpi.cli:main"`, and `python -m crm_kpi.cli`). The commands live
in `crm_kpi/commands/`; they are registered here, in one list, because Typer lists them in
`--help` in the order they were registered.
"""

from __future__ import annotations

import sys

from crm_kpi.app import app
from crm_kpi.commands import doctor, marts, objectives, refresh, ui
from crm_kpi.crash import report_crash

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


def main() -> None:
    """The command line, with no traceback for a user: see crm_kpi.crash."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the commands' own errors exit before this
        sys.exit(report_crash(exc))


__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
