"""The objective scorecard in the terminal: objectives, OKRs and open flags, laid out for
the console's width.

Rich squeezes a table too wide for the console by breaking words inside its cells
("reven / ue") and, past that, its borders. So each table is built first and printed only
when it fits with no word broken (`fits`): the full objectives table, else a compact one
(objective, status, actual vs target, pace), else one block per objective; the OKRs
likewise as a table or as blocks. `render_text` is the plain layout for a log or a pipe.
"""

from __future__ import annotations

import io
from typing import TextIO

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from crm_kpi import scorecard_blocks as blocks
from crm_kpi.scorecard_cells import (
    NO_OBJECTIVES,
    amount,
    expected,
    explained,
    fits,
    indented,
    ordered,
    period,
    ratio,
    status_word,
    strip,
    target_notes,
    title,
)
from warehouse.scorecard_lines import ObjectiveLine, Scorecard

# A title wraps over two or three lines at most in the full table; the compact table cuts
# it on one line, which must still say which objective it is.
FULL_TITLE_MIN = 28
COMPACT_TITLE_MIN = 20
OKR_TITLE_MIN = 20
# A log or a pipe has no width to follow: this one reads well in a pager and in CI logs.
TEXT_WIDTH = 100


def _status_cell(line: ObjectiveLine) -> Text:
    cell = status_word(line.overall_status)
    missed = line.missed_text()
    if missed:
        cell.append(f"\n{missed}", style="dim")
    return cell


def _table(title_text: str) -> Table:
    return Table(title=title_text, title_justify="left", expand=False)


def full_table(card: Scorecard, lines: list[ObjectiveLine]) -> Table:
    """Every column; the title the only one that wraps (at words)."""
    table = _table(f"Objectives as of {card.as_of}")
    table.add_column("objective", overflow="ellipsis")
    for column in ("scope", "period"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for column in ("target", "actual", "expected", "attain.", "pace", "projected"):
        table.add_column(column, justify="right", no_wrap=True, overflow="ellipsis")
    table.add_column("status", no_wrap=True, overflow="ellipsis")
    for line in lines:
        # User and CRM texts (titles, team names) go in as Text: '[' is not markup there.
        table.add_row(
            Text(title(line)),
            Text(line.scope),
            period(line),
            amount(card, line, line.target),
            amount(card, line, line.actual),
            expected(card, line),
            ratio(line.attainment),
            ratio(line.pace),
            amount(card, line, line.projected),
            _status_cell(line),
        )
    return table


def compact_table(card: Scorecard, lines: list[ObjectiveLine]) -> Table:
    """Objective, status, actual vs target, pace: the title cut with an ellipsis on its
    first line, its scope and period on the second."""
    table = _table(f"Objectives as of {card.as_of}")
    table.add_column("objective")
    table.add_column("status", no_wrap=True, overflow="ellipsis")
    table.add_column("actual / target", justify="right", no_wrap=True, overflow="ellipsis")
    table.add_column("pace", justify="right", no_wrap=True, overflow="ellipsis")
    for line in lines:
        cell = Group(
            Text(title(line), no_wrap=True, overflow="ellipsis"),
            Text(f"{line.scope} · {period(line)}", style="dim", no_wrap=True, overflow="ellipsis"),
        )
        # The count missed stays out of this cell (it is on the lines under the table):
        # the status column then fits 80 columns beside the figures.
        table.add_row(
            cell,
            status_word(line.overall_status),
            f"{amount(card, line, line.actual)} / {amount(card, line, line.target)}",
            ratio(line.pace),
        )
    return table


def _compact_fits(console: Console, table: Table, lines: list[ObjectiveLine]) -> bool:
    # The title cell is a Group (no plain text to measure): its floor is counted here.
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    longest = max(len(title(x)) for x in lines) if lines else 0
    return natural - max(0, longest - COMPACT_TITLE_MIN) <= console.width


def okr_table(card: Scorecard) -> Table:
    table = _table("OKRs")
    table.add_column("OKR", overflow="ellipsis")
    table.add_column("progress", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("milestones", justify="right", no_wrap=True)
    table.add_column("worst key result", no_wrap=True)
    table.add_column("key results", overflow="ellipsis")
    for okr in card.okrs:
        worst = okr.worst_overall or okr.worst_status or "-"
        table.add_row(
            Text(okr.title),
            ratio(okr.progress),
            okr.score_text(),
            f"{okr.milestones_reached} of {okr.milestones_total}" if okr.milestones_total else "-",
            status_word(worst),
            Text(", ".join(okr.key_result_text(k) for k in okr.key_results)),
        )
    return table


def _subperiod_lines(card: Scorecard, lines: list[ObjectiveLine], console: Console) -> None:
    for line in lines:
        if line.subperiods:
            console.print(
                indented(Text.assemble(f"{line.objective_id} by {line.grain}: ", strip(line)))
            )
    for line in explained(lines):
        console.print(indented(Text(f"{line.objective_id}: {line.overall_reason()}", style="dim")))
    for line in lines:
        for note in target_notes(card, line):
            console.print(indented(Text(f"{line.objective_id}: {note}", style="dim")))


def render(card: Scorecard, console: Console) -> None:
    """The scorecard in the widest layout that fits `console` with no word broken."""
    if card.as_of is None or not card.objectives:
        console.print(NO_OBJECTIVES)
        return
    lines = ordered(card)
    table = full_table(card, lines)
    if fits(console, table, {0: FULL_TITLE_MIN}):
        console.print(table)
        _subperiod_lines(card, lines, console)
    else:
        table = compact_table(card, lines)
        if _compact_fits(console, table, lines):
            console.print(table)
            _subperiod_lines(card, lines, console)
        else:
            blocks.objectives(card, lines, console)
    if card.okrs:
        table = okr_table(card)
        if fits(console, table, {0: OKR_TITLE_MIN, 5: 1}):
            console.print(table)
        else:
            blocks.okrs(card, console)
    blocks.flags(card, console)


def render_text(card: Scorecard, file: TextIO) -> None:
    """The scorecard as plain text of a fixed width, one block per objective: no colour,
    no borders, for a log, a pipe or cron's mail."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=TEXT_WIDTH,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
    )
    if card.as_of is None or not card.objectives:
        console.print(NO_OBJECTIVES)
    else:
        blocks.objectives(card, ordered(card), console)
        if card.okrs:
            blocks.okrs(card, console)
        blocks.flags(card, console)
    # Rich pads every line to the width; a log keeps no trailing blanks.
    file.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
