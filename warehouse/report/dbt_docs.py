"""`crm-kpi docs`: dbt's documentation site as one static HTML file.

`dbt docs generate --static` renders every model, column, test, exposure and the
semantic layer's metrics, with the lineage graph, into `static_index.html`: one file
that opens without a server. It is generated for the sources the build file was last
built with (their staging models are enabled only then) and reads the catalog (column
types, row counts) from that build file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.dbt import dbt_command, dbt_env, target_dir
from core.settings import Settings
from warehouse.report.model import ReportError
from warehouse.run_context import warehouse_state

STATIC_PAGE = "static_index.html"


def generate_docs(settings: Settings, out_dir: Path, timeout_s: float = 600) -> Path:
    """Write `<out_dir>/static_index.html` for the last built warehouse; return its path."""
    state = warehouse_state(settings)
    if state is None:
        raise ReportError(
            f"No marts in {settings.data_dir} yet: run `crm-kpi run` (or `crm-kpi demo`) "
            "first, so the documentation describes the tables you have."
        )
    _, sources = state
    with tempfile.TemporaryDirectory(prefix="crm-kpi-docs-") as scratch:
        target = Path(scratch) / "target"
        target.mkdir()
        # The pipeline's own target folder stays untouched (a nightly run may be using
        # it); its partial-parse state only makes this parse faster.
        parsed = target_dir(settings, sources) / "partial_parse.msgpack"
        if parsed.exists():
            shutil.copy2(parsed, target / parsed.name)
        command = dbt_command(
            ["docs", "generate", "--static"], sources, target, Path(scratch) / "logs"
        )
        try:
            result = subprocess.run(
                command,
                env={**os.environ, **dbt_env(settings)},
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReportError(
                f"dbt docs generate did not finish within {timeout_s:.0f} s; is another "
                f"process holding {settings.build_db} (a pipeline run)? Try again after it."
            ) from None
        page = target / STATIC_PAGE
        if result.returncode != 0 or not page.exists():
            output = (result.stdout + result.stderr).strip()
            hint = ""
            if "lock" in output.lower():
                hint = f" {settings.build_db} is in use (a pipeline run?): try again after it."
            raise ReportError(
                f"dbt docs generate failed for sources {', '.join(sources)}.{hint}\n"
                f"{output[-4000:]}"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        destination = out_dir / STATIC_PAGE
        shutil.copyfile(page, destination)
    return destination
