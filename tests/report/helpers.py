"""Reading back what a report holds: the chart specs inlined in its page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_SPECS = re.compile(r"var specs = (\{.*?\});\n\s*var options", re.DOTALL)


def report_specs(page: Path) -> dict[str, dict[str, Any]]:
    """{element id: Vega-Lite spec} of every chart of a report file."""
    match = _SPECS.search(page.read_text(encoding="utf-8"))
    assert match, f"no chart specs found in {page}"
    return json.loads(match.group(1))


def spec_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline data row of a spec, whatever layer, concat or facet holds it."""
    rows: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                rows.extend(data["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return rows


def data_urls(spec: dict[str, Any]) -> list[str]:
    """Data a spec would fetch (there must be none: the report works offline)."""
    urls: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and "url" in data:
                urls.append(data["url"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return urls
