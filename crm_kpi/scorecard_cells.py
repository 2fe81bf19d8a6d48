"""The scorecard's cells as a person reads them, shared by every terminal layout (the
tables of `crm_kpi.scorecard` and the blocks of `crm_kpi.scorecard_blocks`), so a status,
an amount or a period reads the same at any width.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from core.formatting import format_metric
from warehouse.scorecard_lines import ObjectiveLine, Scorecard, as_tree

STATUS_STYLES = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "bold red",
    "missed": "red",
    "no_data": "dim",
    "not_started": "dim",
}
SEVERITY_STYLES = {"critical": "bold red", "warning": "yellow", "info": "dim"}
# The objectives a manager must look at first: those slipping, then those settled.
READING_ORDER = ("off_track", "at_risk", "missed", "no_data", "on_track", "achieved", "not_started")
NO_OBJECTIVES = (
    "No objectives yet: write them in objectives.yml (see the example shipped with "
    "crm-kpi) or set CRM_KPI_OBJECTIVES, then run `crm-kpi objectives`."
)


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def period(line: ObjectiveLine) -> str:
    if line.grain:
        return f"{line.grain} of {line.period_start}"
    return f"{line.period_start} to {line.period_end}"


def title(line: ObjectiveLine) -> str:
    return line.tree_title if line.source == "file" else f"{line.title} ({line.source})"


def status_word(status: str) -> Text:
    """'on track', coloured in a terminal (a console without colour prints it plain)."""
    return Text(status.replace("_", " "), style=STATUS_STYLES.get(status, ""))


def amount(card: Scorecard, line: ObjectiveLine, value: float | None) -> str:
    return format_metric(value, line.metric, card.currency, line.unit)


def expected(card: Scorecard, line: ObjectiveLine) -> str:
    # Nothing is expected of a period not started yet: '-' rather than a misleading 0.
    return amount(card, line, line.expected if line.status != "not_started" else None)


_REFERENCES = {
    "given": "the given baseline",
    "prior_period": "the period before",
    "same_last_year": "the same period last year",
}


def target_notes(card: Scorecard, line: ObjectiveLine) -> list[str]:
    """How the target was set, when it is not simply as written: a relative rule and
    what it applies to, a revision and why."""
    notes = []
    if line.target_rule and line.target_reference is not None:
        reference = _REFERENCES.get(line.baseline_source or "", "the baseline")
        notes.append(
            f"target {line.target_rule} on {amount(card, line, line.target_reference)} "
            f"({reference})"
        )
    if line.revised_from is not None:
        note = (
            f"target revised on {line.revised_from} from {amount(card, line, line.original_target)}"
        )
        notes.append(note + (f": {line.revision_reason}" if line.revision_reason else ""))
    return notes


def ordered(card: Scorecard) -> list[ObjectiveLine]:
    """By status (the worst to read first), each cascade's parts under their parent."""
    return as_tree(
        sorted(
            card.objectives, key=lambda o: (READING_ORDER.index(o.overall_status), o.objective_id)
        )
    )


def strip(line: ObjectiveLine) -> Text:
    """Every sub-period's status in order: 'Sep missed · Oct achieved · Dec on track'."""
    text = Text()
    for index, sub in enumerate(line.subperiods):
        if index:
            text.append(" · ", style="dim")
        text.append(sub.label + " ")
        status = sub.status.replace("_", " ")
        text.append(
            status + ("" if sub.ended or sub.status == "not_started" else " (to date)"),
            style=STATUS_STYLES.get(sub.status, ""),
        )
    return text


def indented(text: Text | str) -> Padding:
    # Padding, not leading spaces: a line wrapped by Rich keeps its indent.
    return Padding(text, (0, 0, 0, 2))


def explained(lines: list[ObjectiveLine]) -> list[ObjectiveLine]:
    """The objectives whose status needs its reason shown beside it."""
    return [
        line
        for line in lines
        if line.overall_status in ("no_data", "at_risk", "off_track")
        or (line.subperiods and line.overall_status == "missed")
    ]


def _widths(cell: object) -> tuple[int, int]:
    """(longest line, longest word) of a cell, in terminal cells."""
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    lines = plain.splitlines() or [""]
    words = plain.split() or [""]
    return max(cell_len(x) for x in lines), max(cell_len(x) for x in words)


def fits(console: Console, table: Table, flexible: dict[int, int]) -> bool:
    """Whether `table` fits the console's width with each flexible column (index: fewest
    cells it may shrink to) wrapped no narrower than its longest word, every other
    column on its natural width: Rich would otherwise break words and squeeze borders."""
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    spare = 0
    for index, least in flexible.items():
        column = table.columns[index]
        sizes = [_widths(c) for c in [column.header, *column.cells]]
        longest = max(size[0] for size in sizes)
        floor = max([least] + [size[1] for size in sizes])
        spare += max(0, longest - floor)
    return natural - spare <= console.width
