"""The report as a person sees it: opened from disk in headless Chromium, offline.

Debian's chromium is installed by scripts/install_chromium.sh when missing; the test is
skipped (with the installer's reason) only where it cannot be installed.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.report.cdp import ChromiumUnavailable, chromium_page, find_chromium
from tests.report.conftest import DemoWarehouse
from tests.report.helpers import report_specs
from tests.report.png import luminance_stats, read_png
from warehouse.report import build_report

LAPTOP = (1366, 768)
# A4 portrait less 12 mm margins, in CSS pixels (96 per inch): what a printed page holds.
A4_PRINT_WIDTH = round((210 - 24) / 25.4 * 96)

# For each chart: whether it drew, and how many data marks (not axes, legends or titles)
# its SVG holds: Vega gives data marks the class role-mark.
CHART_STATE = """
Array.from(document.querySelectorAll('.chart')).map(function (el) {
  var svg = el.querySelector('svg');
  var marks = svg ? Array.from(svg.querySelectorAll('g.role-mark')) : [];
  var drawn = marks.reduce(function (n, g) {
    return n + g.querySelectorAll(':scope > path, :scope > line, :scope > text').length;
  }, 0);
  var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: el.id, rendered: el.getAttribute('data-rendered'), svg: !!svg, drawn: drawn,
          width: box.width, height: box.height};
})
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except ChromiumUnavailable as exc:
        pytest.skip(f"headless Chromium cannot be installed here: {exc}")


@pytest.fixture(scope="module")
def report(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(
        demo_warehouse.serving, tmp_path_factory.mktemp("browser") / "scorecard.html"
    )


def test_report_draws_every_chart_offline(chromium: str, report: Path, tmp_path: Path) -> None:
    with chromium_page(chromium, tmp_path / "profile", *LAPTOP) as page:
        for domain in ("Network", "Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=LAPTOP[0],
            height=LAPTOP[1],
            deviceScaleFactor=1,
            mobile=False,
        )
        started = time.monotonic()
        page.send("Page.navigate", url=report.as_uri())
        page.wait_for("Page.loadEventFired", timeout=60)
        page.wait_until("document.body.getAttribute('data-charts') === 'done'", timeout=60)
        render_s = time.monotonic() - started
        charts = page.evaluate(CHART_STATE)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shot = page.screenshot()
        (tmp_path / "laptop.png").write_bytes(shot)

        # Only the file itself was loaded, and nothing failed.
        requests = page.events_named("Network.requestWillBeSent")
        urls = [e["params"]["request"]["url"] for e in requests]
        assert urls and all(u.startswith(("file:", "data:", "about:")) for u in urls), urls
        assert page.events_named("Network.loadingFailed") == []
        assert page.events_named("Runtime.exceptionThrown") == []
        console = page.events_named("Runtime.consoleAPICalled")
        logged = page.events_named("Log.entryAdded")
        errors = [e for e in console if e["params"]["type"] == "error"]
        errors += [e for e in logged if e["params"]["entry"]["level"] == "error"]
        assert errors == []

        # Every chart of the page drew an SVG with data marks in it.
        assert {c["id"] for c in charts} == set(report_specs(report))
        for chart in charts:
            assert chart["rendered"] == "true" and chart["svg"], chart
            assert chart["drawn"] > 0 and chart["width"] > 100 and chart["height"] > 80, chart
        # Readable on a laptop: nothing wider than the screen.
        assert overflow <= 0
        # Not a blank screenshot: text, bars and colours on white.
        image = read_png(shot)
        assert (image.width, image.height) == LAPTOP
        spread, inked = luminance_stats(image)
        assert spread > 20 and inked > 0.03, (spread, inked)
        print(f"rendered in {render_s:.1f} s")  # shown with -s; the suite asserts no timings


def test_report_prints_on_a4(chromium: str, report: Path, tmp_path: Path) -> None:
    with chromium_page(chromium, tmp_path / "profile", A4_PRINT_WIDTH, 1000) as page:
        page.send("Page.enable")
        page.send("Emulation.setEmulatedMedia", media="print")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=A4_PRINT_WIDTH,
            height=1000,
            deviceScaleFactor=1,
            mobile=False,
        )
        page.send("Page.navigate", url=report.as_uri())
        page.wait_for("Page.loadEventFired", timeout=60)
        page.wait_until("document.body.getAttribute('data-charts') === 'done'", timeout=60)
        charts = page.evaluate(CHART_STATE)
        # The print stylesheet fits every chart within the printable width of the page.
        assert max(c["width"] for c in charts) <= A4_PRINT_WIDTH
        assert page.evaluate("document.documentElement.scrollWidth") <= A4_PRINT_WIDTH
        pdf = page.send(
            "Page.printToPDF",
            timeout=60,
            paperWidth=210 / 25.4,
            paperHeight=297 / 25.4,
            preferCSSPageSize=True,
            printBackground=True,
        )["data"]
    document = base64.b64decode(pdf)
    assert document.startswith(b"%PDF")
    pages = document.count(b"/Type /Page") - document.count(b"/Type /Pages")
    assert 2 <= pages <= 30, pages
