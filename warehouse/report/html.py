"""One self-contained HTML file: the Vega, Vega-Lite and vega-embed JavaScript inlined
(from vl-convert's bundle), every chart's spec and data inlined, a print stylesheet.

Opening it needs no network: nothing is fetched, so it can be mailed, archived or opened
from a share that has no internet access.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import altair as alt
import jinja2
import vl_convert

from core.formatting import format_metric
from warehouse.report.charts import ChartSections
from warehouse.report.model import ReportData
from warehouse.report.style import STATUS_COLORS, STATUS_ORDER, ordered, period_text, status_label
from warehouse.report.template import PAGE_TEMPLATE

EMBED_OPTIONS = {"renderer": "svg", "actions": False, "mode": "vega-lite"}


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega-embed, Vega-Lite and Vega in one script, for the Vega-Lite version Altair writes."""
    version = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return vl_convert.javascript_bundle(vl_version=f"v{version}")


_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: <, > and & as \\u escapes (still valid JSON
    and JavaScript), so a title such as "</script>" in objectives.yml cannot end the
    script early or open an HTML comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


_TEMPLATE = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    PAGE_TEMPLATE
)


def _figure(chart: Any) -> str:
    if chart is None:
        return ""
    css = "wide" if chart.wide else ""
    return jinja2.Template(
        '<figure class="{{ css }}" aria-label="{{ title }}">'
        '<div class="chart" id="chart-{{ name }}" role="img" aria-label="{{ title }}"></div>'
        "</figure>",
        autoescape=True,
    ).render(css=css, title=chart.title, name=chart.name)


def render_html(data: ReportData, sections: ChartSections) -> str:
    """The report as one HTML document."""
    statuses = [line.overall_status for line in data.card.objectives]
    counts = [(s, statuses.count(s)) for s in STATUS_ORDER if s in statuses]
    specs = {f"chart-{chart.name}": chart.spec() for chart in sections.all()}

    def sub_title(line: Any, sub: Any) -> str:
        to_date = "" if sub.ended or sub.status == "not_started" else " (to date)"
        actual = format_metric(sub.actual, line.metric, data.currency, line.unit)
        target = format_metric(line.target, line.metric, data.currency, line.unit)
        return f"{sub.label}: {status_label(sub.status)}{to_date}, actual {actual} of {target}"

    return _TEMPLATE.render(
        data=data,
        sections=sections,
        objectives=ordered(data.card.objectives),
        counts=counts,
        colors=STATUS_COLORS,
        label=status_label,
        period=period_text,
        sub_title=sub_title,
        fmt=lambda value, metric, unit=None: format_metric(value, metric, data.currency, unit),
        ratio=lambda value: "-" if value is None else f"{value:.0%}",
        figure=lambda chart: jinja2.utils.markupsafe.Markup(_figure(chart)),
        bundle=vega_bundle(),
        embed_version=vl_convert.get_vega_embed_version(),
        vega_version=vl_convert.get_vega_version(),
        specs=script_json(specs),
        options=script_json(EMBED_OPTIONS),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
