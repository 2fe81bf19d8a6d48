"""`crm-kpi status` reads well at any width and in a log (issue 23).

One demo warehouse (400 deals, as of 2026-12-06: objectives off track, missed months and
weeks, OKRs and flags) is rendered at 60, 80, 120 and 200 columns and as the plain text of
a log: no line is wider than the console and no word is broken across lines or cells.
`--format json|csv` carry marts.objective_progress for that day, cell by cell.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from core.formatting import format_metric
from core.settings import Settings
from crm_kpi import output
from crm_kpi.scorecard import TEXT_WIDTH, render, render_text
from crm_kpi.scorecard_cells import target_notes
from tests.conftest import ROOT
from tests.utils import CLI, ISOLATED_PREFIXES, query
from warehouse.queries import SUMMARY_METRICS
from warehouse.scorecard import scorecard
from warehouse.scorecard_lines import Scorecard

pytestmark = pytest.mark.slow  # runs the pipeline once

AS_OF = date(2026, 12, 6)
BOX = "│┃┏┓┗┛┡┩└┘┳┻╇━─┴┬├┤┼"
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def _env(data_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    return {
        **base,
        "CRM_KPI_DATA_DIR": str(data_dir),
        "CRM_KPI_OBJECTIVES": str(ROOT / "objectives.yml"),
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("status-layouts")
    result = subprocess.run(
        [*CLI, "demo", "--deals", "400", "--as-of", AS_OF.isoformat()],
        env=_env(root / "data"),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return root / "data"


@pytest.fixture(scope="module")
def card(data_dir: Path) -> Scorecard:
    found = scorecard(data_dir / "serving.duckdb")
    assert found.as_of == AS_OF and found.objectives and found.okrs and found.flags
    return found


def status(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "status", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# The words the layouts themselves print (headers, labels), beside the scorecard's texts.
LABELS = (
    "Objectives as of objective scope period target actual expected attain. pace projected "
    "status OKRs OKR progress worst key result results by week month quarter of to "
    "attainment Flags No flags d"
)
PUNCTUATION = "()[],;:·."


def _word(token: str) -> str:
    return token.strip(PUNCTUATION)


def _words(card: Scorecard) -> set[str]:
    """Every word the scorecard's texts hold: a token of the output that is only a piece
    of one of them is a word broken in two."""
    texts = [LABELS, card.currency] + [o.title for o in card.objectives]
    texts += [k.title for k in card.okrs]
    texts += [f.message for f in card.flags] + [f.severity for f in card.flags]
    for line in card.objectives:
        texts += [line.overall_status.replace("_", " "), line.status.replace("_", " ")]
        texts += [line.missed_text(), line.overall_reason(), line.scope, line.objective_id]
        texts += [s.label for s in line.subperiods]
        texts += [s.status.replace("_", " ") for s in line.subperiods]
        texts += target_notes(card, line)
    return {_word(word) for text in texts for word in text.split()}


def _tokens(output: str) -> list[str]:
    for char in BOX:
        output = output.replace(char, " ")
    return output.split()


def _assert_readable(output: str, width: int, card: Scorecard) -> None:
    lines = output.splitlines()
    assert lines, "nothing printed"
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, too_wide
    words = _words(card)
    for token in _tokens(output):
        if token.endswith("…"):
            continue  # cut on purpose with an ellipsis
        token = _word(token)
        if token in words or not token.isalpha():
            continue  # whole (figures and dates are left to the width check)
        pieces = [
            w for w in words if len(w) > len(token) and (w.startswith(token) or w.endswith(token))
        ]
        assert not pieces, f"{token!r} is a piece of {pieces[:3]} in:\n{output}"
    # Every objective is named and its status shown.
    flat = " ".join(_tokens(output))
    for line in card.objectives:
        assert line.title[:18] in flat, line.title
        assert line.overall_status.replace("_", " ") in flat


def _render(card: Scorecard, width: int) -> str:
    buffer = io.StringIO()
    render(card, Console(width=width, file=buffer, force_terminal=False))
    return buffer.getvalue()


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_every_width_fits_with_no_word_broken(card: Scorecard, width: int) -> None:
    _assert_readable(_render(card, width), width, card)


def test_the_layout_follows_the_width(card: Scorecard) -> None:
    wide, medium, narrow = _render(card, 200), _render(card, 80), _render(card, 60)
    assert "attain." in wide and "projected" in wide  # the full table
    assert "actual / target" in medium and "attain." not in medium  # the compact one
    assert "┃" not in narrow  # one block per objective, the OKRs as blocks too
    tokens = set(_tokens(wide))
    for line in card.objectives:
        # The full table keeps every word of the title (wrapped at words in its cell),
        # the blocks the whole title, in order.
        assert set(line.title.split()) <= tokens, line.title
        assert " ".join(line.title.split()) in " ".join(_tokens(narrow))


def test_plain_text_for_a_log(card: Scorecard, data_dir: Path) -> None:
    buffer = io.StringIO()
    render_text(card, buffer)
    output = buffer.getvalue()
    _assert_readable(output, TEXT_WIDTH, card)
    assert "\x1b" not in output and not set(BOX) & set(output)
    assert all(line == line.rstrip() for line in output.splitlines())
    flat = " ".join(output.split())
    for line in card.objectives:  # amounts with their unit
        assert format_metric(line.target, line.metric, card.currency) in flat
    # The flags worst first, then by objective (a KPI's signal after the objectives').
    flags = query(
        data_dir / "serving.duckdb",
        "SELECT severity, objective_id, message FROM marts.variance_flags WHERE as_of = ?",
        [AS_OF],
    )
    flags.sort(key=lambda f: (SEVERITY_RANK[f[0]], f[1] is None, f[1] or "", f[2]))
    positions = [flat.index(" ".join(message.split())) for _, _, message in flags]
    assert positions == sorted(positions)
    assert len(flags) > 1 and len({f[0] for f in flags}) > 1


def _kpis(data_dir: Path, width: int | None, monkeypatch: pytest.MonkeyPatch) -> str:
    """What `demo` and `run` print as the monthly KPIs, at `width` or (None) in a log."""
    buffer = io.StringIO()
    console = Console(
        width=width or 80, file=buffer, force_terminal=width is not None, color_system=None
    )
    monkeypatch.setattr(output, "out", console)
    output.print_kpis(Settings(data_dir=data_dir))
    return buffer.getvalue()


def _months_shown(printed: str) -> int:
    return len(set(re.findall(r"\b20\d\d-\d\d\*?", printed)))


@pytest.mark.parametrize("width", [60, 80, 200, None])
def test_the_kpi_table_fits_the_width_or_a_log(
    data_dir: Path, width: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = _kpis(data_dir, width, monkeypatch)
    lines = printed.splitlines()
    assert max(cell_len(line) for line in lines) <= (width or TEXT_WIDTH), printed
    metrics = {
        r[0]
        for r in query(
            data_dir / "serving.duckdb",
            "SELECT DISTINCT metric FROM marts.kpi_values "
            "WHERE scope_type = 'company' AND source = 'crm'",
        )
    }
    # every metric of the summary whole at the start of its row (not wrapped, not cut);
    # the shares, 1 for the company, are left to the marts
    assert set(SUMMARY_METRICS) <= metrics
    starts = {_tokens(line)[0] for line in lines if _tokens(line)}
    assert set(SUMMARY_METRICS) <= starts, printed
    assert "2026-12*" in printed and "* to date" in printed
    assert (width is not None) == bool(set(BOX) & set(printed))  # plain in a log


def test_the_kpi_table_keeps_the_latest_months_that_fit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrow, wide = _kpis(data_dir, 60, monkeypatch), _kpis(data_dir, 200, monkeypatch)
    assert 1 <= _months_shown(narrow) < _months_shown(wide)
    assert "2026-12*" in narrow  # the month to date is always among them


def test_status_words_coloured_in_a_terminal_only(card: Scorecard) -> None:
    buffer = io.StringIO()
    render(card, Console(width=200, file=buffer, force_terminal=True, color_system="standard"))
    coloured = buffer.getvalue()
    assert "\x1b[" in coloured and "\x1b" not in _render(card, 200)
    assert "\x1b" not in status_text_of(card)


def status_text_of(card: Scorecard) -> str:
    buffer = io.StringIO()
    render_text(card, buffer)
    return buffer.getvalue()


def _expected_rows(data_dir: Path) -> tuple[list[str], list[tuple]]:
    rows = query(
        data_dir / "serving.duckdb",
        "SELECT * FROM marts.objective_progress WHERE as_of = ? "
        "ORDER BY objective_id, period_start",
        [AS_OF],
    )
    columns = [
        r[0] for r in query(data_dir / "serving.duckdb", "DESCRIBE marts.objective_progress")
    ]
    assert rows
    return columns, rows


def _as_text(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def test_status_json_is_objective_progress_of_that_day(data_dir: Path) -> None:
    result = status(data_dir, "--format", "json", "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    columns, rows = _expected_rows(data_dir)
    assert [list(record) for record in found] == [columns] * len(rows)
    assert [list(record.values()) for record in found] == [
        [_as_text(value) for value in row] for row in rows
    ]


def test_status_csv_likewise(data_dir: Path) -> None:
    result = status(data_dir, "--format", "csv")  # the latest day measured: AS_OF
    assert result.returncode == 0, result.stderr
    header, *lines = list(csv.reader(io.StringIO(result.stdout)))
    columns, rows = _expected_rows(data_dir)
    assert header == columns and len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        for cell, value in zip(line, row, strict=True):
            if value is None:
                assert cell == ""
            elif isinstance(value, float):
                assert float(cell) == value
            else:
                assert cell == str(_as_text(value))


def test_status_in_a_pipe_is_plain_text(data_dir: Path) -> None:
    result = status(data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Objectives as of {AS_OF}")
    assert not set(BOX) & set(result.stdout) and "\x1b" not in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= TEXT_WIDTH
    table = status(data_dir, "--format", "table")
    assert "┃" in table.stdout


def test_a_bad_format_is_refused(data_dir: Path) -> None:
    result = status(data_dir, "--format", "xml")
    assert result.returncode == 2
    assert "--format" in result.stderr and "'json'" in result.stderr and "xml" in result.stderr


def test_a_decimal_column_exports_as_a_number() -> None:
    """Money kept DECIMAL in a mart is a number in JSON and its exact text in CSV."""
    import io
    from decimal import Decimal

    from crm_kpi.progress_export import write_csv, write_json
    from warehouse.progress_rows import ProgressRows

    found = ProgressRows(
        date(2026, 12, 6), ["objective_id", "actual"], [("revenue", Decimal("1234.50"))]
    )
    out = io.StringIO()
    write_json(found, out)
    assert json.loads(out.getvalue()) == [{"objective_id": "revenue", "actual": 1234.5}]
    out = io.StringIO()
    write_csv(found, out)
    assert out.getvalue() == "objective_id,actual\nrevenue,1234.50\n"
