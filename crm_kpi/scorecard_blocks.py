"""The scorecard as blocks of lines: one per objective and per OKR, for a console too
narrow for a table and for the plain text of a log. Rich wraps these lines at words, so
nothing is broken inside a word and there are no borders to break.
"""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from crm_kpi.scorecard_cells import (
    SEVERITY_STYLES,
    amount,
    expected,
    explained,
    indented,
    period,
    ratio,
    status_word,
    strip,
    target_notes,
    title,
)
from warehouse.scorecard_lines import ObjectiveLine, Scorecard


def _block(card: Scorecard, line: ObjectiveLine) -> list[RenderableType]:
    status = status_word(line.overall_status)
    missed = line.missed_text()
    if missed:
        status.append(f" · {missed}", style="dim")
    figures = (
        f"actual {amount(card, line, line.actual)} of target "
        f"{amount(card, line, line.target)} · expected {expected(card, line)} · "
        f"attainment {ratio(line.attainment)} · pace {ratio(line.pace)} · projected "
        f"{amount(card, line, line.projected)}"
    )
    rows: list[RenderableType] = [
        Text(title(line), style="bold"),
        indented(status),
        indented(figures),
        indented(Text(f"{line.scope} · {period(line)}", style="dim")),
        *(indented(Text(note, style="dim")) for note in target_notes(card, line)),
    ]
    if line.subperiods:
        rows.append(indented(Text.assemble(f"{line.objective_id} by {line.grain}: ", strip(line))))
    return rows


def objectives(card: Scorecard, lines: list[ObjectiveLine], console: Console) -> None:
    console.print(Text(f"Objectives as of {card.as_of}", style="italic"))
    reasons = {line.objective_id for line in explained(lines)}
    for line in lines:
        console.print()
        for row in _block(card, line):
            console.print(row)
        if line.objective_id in reasons:
            reason = Text(f"{line.objective_id}: {line.overall_reason()}", style="dim")
            console.print(indented(reason))


def okrs(card: Scorecard, console: Console) -> None:
    console.print()
    console.print(Text("OKRs", style="italic"))
    for okr in card.okrs:
        worst = okr.worst_overall or okr.worst_status or "-"
        console.print()
        console.print(Text(okr.title, style="bold"))
        console.print(
            indented(
                Text.assemble(
                    f"progress {ratio(okr.progress)} · score {okr.score_text()} · "
                    + (f"{okr.milestones_text()} · " if okr.milestones_total else "")
                    + "worst key result ",
                    status_word(worst),
                )
            )
        )
        results = ", ".join(okr.key_result_text(k) for k in okr.key_results)
        console.print(indented(Text(f"key results: {results or '-'}")))


def flags(card: Scorecard, console: Console) -> None:
    """The flags raised, worst first then by objective (the read's order); a message too
    long for the line wraps under itself, beside its severity."""
    console.print()
    if not card.flags:
        console.print("No flags.")
        return
    console.print(f"Flags ({len(card.flags)})", style="bold")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    for flag in card.flags:
        grid.add_row(
            "",
            Text(flag.severity, style=SEVERITY_STYLES.get(flag.severity, "")),
            Text(flag.message),  # data, not markup: a title may hold '[' and ']'
        )
    console.print(grid)
