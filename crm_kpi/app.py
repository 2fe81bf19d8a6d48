"""The Typer app every command registers on, its consoles, exit codes and shared options.

Separate from `cli.py` because `python -m crm_kpi.cli` runs that module as `__main__`: were the
app defined there, the command modules would register on a second copy of it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

# Exit codes (README, "Exit codes").
EXIT_FAILED = 1  # the run failed; serving.duckdb was left as it was
EXIT_USAGE = 2  # a bad setting, option or input file: nothing ran
EXIT_BUSY = 3  # another run holds the data directory
EXIT_ALERTS = 4  # published, but new alerts were not delivered (--strict-alerts)
EXIT_INTERRUPTED = 130

app = typer.Typer(
    help="CRM opportunities to sales KPIs and objectives, in DuckDB marts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Last complete day of data, YYYY-MM-DD (default: yesterday in the reporting "
        "timezone). Pins a run so it is reproducible.",
    ),
]


Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also show the tools' own output: dlt's progress blocks, dagster-dbt's "
        "notices and the dbt command it runs.",
    ),
]
StrictAlerts = Annotated[
    bool,
    typer.Option(
        "--strict-alerts",
        help=f"Exit with code {EXIT_ALERTS} when new alerts could not be delivered to the "
        "webhook (the marts are published all the same).",
    ),
]


def fail(message: str, code: int, prefix: str = "") -> typer.Exit:
    """Print `message` (plain text: no markup is read in it) and the exit to raise."""
    text = Text(prefix, style="red") + Text(message, style="" if prefix else "red")
    err.print(text, highlight=False, soft_wrap=True)
    return typer.Exit(code)
