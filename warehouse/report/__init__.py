"""The scorecard report: one self-contained HTML file people look at (and print).

    build_report(serving_db, out, as_of=None, png_dir=None) -> out

reads the serving file read-only (`data`, into the records of `model`), draws the charts
with Altair (`charts`, one module per kind of chart, their shared look in `style`) and
writes one HTML file with the Vega JavaScript inlined (`html`); with `png_dir`, each chart
is also written as a PNG (vl-convert) for e-mail.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import vl_convert

from warehouse.report.charts import ChartSections, build_charts
from warehouse.report.data import load_report_data
from warehouse.report.html import render_html
from warehouse.report.model import ReportData, ReportError

__all__ = ["ReportError", "build_report", "write_pngs"]


def _write_atomically(path: Path, content: bytes) -> None:
    """Write beside the target then rename: a reader (a web server serving the nightly
    report) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_pngs(sections: ChartSections, png_dir: Path, scale: float = 2.0) -> list[Path]:
    """Each chart as `<png_dir>/<chart name>.png` (scale 2: sharp in an e-mail)."""
    written = []
    for chart in sections.all():
        target = png_dir / f"{chart.name}.png"
        _write_atomically(target, vl_convert.vegalite_to_png(chart.spec(), scale=scale))
        written.append(target)
    return written


def build_report(
    serving_db: Path, out: Path, as_of: date | None = None, png_dir: Path | None = None
) -> Path:
    """Write the scorecard of `serving_db` as of `as_of` (default: the last day the
    objectives were measured) to `out`, and each chart as PNG into `png_dir` if given.

    Raises ServingFileMissingError when there is no serving file, ReportError when the
    file cannot give that day's scorecard (the message says what to run).
    """
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ReportError(f"{out} is a folder: give the path of the HTML file to write.")
    data: ReportData = load_report_data(Path(serving_db), as_of)
    sections = build_charts(data)
    _write_atomically(out, render_html(data, sections).encode("utf-8"))
    if png_dir is not None:
        write_pngs(sections, Path(png_dir))
    return out
