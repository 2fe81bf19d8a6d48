"""Fixtures of the Pipedrive connector tests: a seeded CRM and a fake Pipedrive serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from tests.fakes.pipedrive import FakePipedrive, serve_crm
from tests.pipedrive.crm import make_crm


@pytest.fixture(scope="module")
def crm() -> dict[str, pa.Table]:
    return make_crm()


@pytest.fixture()
def server(crm: dict[str, pa.Table]) -> Iterator[FakePipedrive]:
    with serve_crm(crm) as fake:
        yield fake
