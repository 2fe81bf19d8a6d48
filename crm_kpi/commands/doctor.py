"""`crm-kpi doctor`: the command; the checks themselves are in `crm_kpi/doctor.py`."""

from __future__ import annotations

import typer

from crm_kpi.app import out


def doctor() -> None:
    """Which credentials are set and where (never their values); unsafe secrets files."""
    from crm_kpi.doctor import run_doctor

    raise typer.Exit(run_doctor(out))
