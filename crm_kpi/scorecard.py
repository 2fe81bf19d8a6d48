"""The objective scorecard in the terminal: objectives, OKRs and open flags."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.formatting import format_metric
from warehouse.scorecard_lines import ObjectiveLine, Scorecard

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


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _period(line: ObjectiveLine) -> str:
    if line.grain:
        return f"{line.grain} of {line.period_start}"
    return f"{line.period_start} to {line.period_end}"


def _status_cell(line: ObjectiveLine) -> Text:
    overall = line.overall_status
    cell = Text(overall.replace("_", " "), style=STATUS_STYLES.get(overall, ""))
    missed = line.missed_text()
    if missed:
        cell.append(f"\n{missed}", style="dim")
    return cell


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


def render(card: Scorecard, console: Console) -> None:
    if card.as_of is None or not card.objectives:
        console.print(
            "No objectives yet: write them in objectives.yml (see the example shipped with "
            "crm-kpi) or set CRM_KPI_OBJECTIVES, then run `crm-kpi objectives`."
        )
        return
    table = Table(title=f"Objectives as of {card.as_of}", title_justify="left", expand=False)
    for column, justify in (
        ("objective", "left"),
        ("scope", "left"),
        ("period", "left"),
        ("target", "right"),
        ("actual", "right"),
        ("expected", "right"),
        ("attain.", "right"),
        ("pace", "right"),
        ("projected", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    order = ["off_track", "at_risk", "missed", "no_data", "on_track", "achieved", "not_started"]
    lines = sorted(card.objectives, key=lambda o: (order.index(o.overall_status), o.objective_id))
    for line in lines:
        started = line.status != "not_started"
        title = line.title if line.source == "file" else f"{line.title} ({line.source})"
        table.add_row(
            title,
            line.scope,
            _period(line),
            format_metric(line.target, line.metric, card.currency),
            format_metric(line.actual, line.metric, card.currency),
            format_metric(line.expected if started else None, line.metric, card.currency),
            _ratio(line.attainment),
            _ratio(line.pace),
            format_metric(line.projected, line.metric, card.currency),
            _status_cell(line),
        )
    console.print(table)
    for line in lines:
        if line.subperiods:
            console.print(Text.assemble(f"  {line.objective_id} by {line.grain}: ", strip(line)))
    reasons = [
        line
        for line in lines
        if line.overall_status in ("no_data", "at_risk", "off_track")
        or (line.subperiods and line.overall_status == "missed")
    ]
    for line in reasons:
        console.print(f"  {line.objective_id}: {line.overall_reason()}", style="dim")

    if card.okrs:
        okrs = Table(title="OKRs", title_justify="left")
        okrs.add_column("OKR")
        okrs.add_column("progress", justify="right")
        okrs.add_column("worst key result")
        okrs.add_column("key results")
        for okr in card.okrs:
            worst = okr.worst_overall or okr.worst_status or "-"
            okrs.add_row(
                okr.title,
                _ratio(okr.progress),
                Text(worst.replace("_", " "), style=STATUS_STYLES.get(worst, "")),
                ", ".join(okr.key_results),
            )
        console.print(okrs)

    if card.flags:
        console.print(f"Flags ({len(card.flags)})", style="bold")
        for flag in card.flags:
            console.print(
                Text.assemble(
                    (f"  {flag.severity:<8}", SEVERITY_STYLES.get(flag.severity, "")),
                    f" {flag.message}",
                )
            )
    else:
        console.print("No flags.")
