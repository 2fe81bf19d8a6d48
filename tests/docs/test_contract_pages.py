"""docs/crm-model.md, docs/metrics.md and docs/objectives.md carry DESIGN.md's contract
in the repository: each holds its sections of DESIGN.md word for word (checked where
DESIGN.md is beside the checkout, as in the project's workspace), and README links them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = {
    "crm-model.md": [
        "Conventions that every layer keeps",
        "The one CRM model (intermediate layer contract)",
        "The files source (input contract)",
    ],
    "metrics.md": ["KPI definitions (marts contract)"],
    "objectives.md": ["Objectives (input and marts contract)"],
}


def _design() -> Path | None:
    for folder in ROOT.parents:
        candidate = folder / "shared" / "DESIGN.md"
        if candidate.is_file():
            return candidate
    return None


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {
        title.strip(): body.strip() for title, body in zip(parts[1::2], parts[2::2], strict=True)
    }


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_holds_its_design_sections_word_for_word(page: str) -> None:
    design = _design()
    if design is None:
        pytest.skip("DESIGN.md is not beside this checkout")
    wanted = _sections(design.read_text(encoding="utf-8"))
    found = _sections((ROOT / "docs" / page).read_text(encoding="utf-8"))
    for title in PAGES[page]:
        assert found.get(title) == wanted[title], f"{page}, '{title}' differs from DESIGN.md"


def test_readme_and_errors_point_into_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared/DESIGN.md" not in readme
    for page in PAGES:
        assert f"(docs/{page})" in readme
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert "DESIGN.md, is the reference" in " ".join(text.split())
    overview = (ROOT / "dbt_project/models/docs/overview.md").read_text(encoding="utf-8")
    assert "{% docs __overview__ %}" in overview
    assert "serving.duckdb" in overview and "marts.kpi_values" in overview
