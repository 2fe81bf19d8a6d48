"""Query results served page by page: query locators, `nextRecordsUrl`, the served
log, and faults and holds on one page of one object's query.

Separate from `fake.py` (auth, limits, describe) because paging is where connectors
are tested for resuming, retries and kills.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import pyarrow as pa

from tests.fakes.salesforce.schema import KEPT_FINISHED_QUERIES, MAX_BATCH_SIZE
from tests.fakes.salesforce.soql import SalesforceApiError, malformed, parse_soql
from tests.fakes.server import Fault, Request, Response


@dataclass
class ServedPage:
    sobject: str
    endpoint: str  # query or queryAll
    soql: str
    page: int
    records: int
    total_size: int


@dataclass
class Locator:
    sobject: str
    endpoint: str
    soql: str
    records: pa.ChunkedArray
    batch_size: int


@dataclass
class Hold:
    """A page that waits until `release` is set; `arrived` is set when it is asked for."""

    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class PageFault(Fault):
    """A fault on page `page` of the query of `sobject` (page 1 is the /query call)."""

    sobject: str = ""
    page: int = 1
    server: QueryPages | None = field(default=None, repr=False)

    def matches(self, request: Request) -> bool:
        assert self.server is not None
        if self._fired >= self.times or self.server.page_of(request) != (
            self.sobject.lower(),
            self.page,
        ):
            return False
        self._fired += 1
        return True


DATA = r"/services/data/(?P<version>v\d+\.\d)"
MORE = re.compile(DATA + r"/(?:query|queryAll)/(?P<locator>01g\w+)-(?P<offset>\d+)/?")
QUERY = re.compile(DATA + r"/(?P<endpoint>query|queryAll)/?")
FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


class QueryPages:
    """Mixed into FakeSalesforce: `query`/`queryAll` and their next pages, reading `org`,
    `min_batch_size`, `holds`, `faults`, and keeping `served`, `_locators`, `_finished`
    under `_state`."""

    def page_fault(
        self,
        sobject: str,
        page: int,
        kind: str = "status",
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "Server temporarily unavailable, please try again later.",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> PageFault:
        """Make page `page` of the next queries of `sobject` fail `times` times."""
        response = None
        if kind == "status":
            response = Response(
                status, [{"message": message, "errorCode": error_code}], dict(headers or {})
            )
        fault = PageFault(
            path_pattern="",
            kind=kind,
            response=response,
            times=times,
            sobject=sobject,
            page=page,
            server=self,
        )
        self.faults.append(fault)
        return fault

    def hold(self, sobject: str, page: int) -> Hold:
        hold = Hold()
        self.holds[(sobject.lower(), page)] = hold
        return hold

    def page_of(self, request: Request) -> tuple[str, int] | None:
        """(object, page number) of a query request, None for other requests."""
        more = MORE.fullmatch(request.path)
        if more:
            locator = self._locators.get(more["locator"])
            if locator is None:
                return None
            return locator.sobject.lower(), int(more["offset"]) // locator.batch_size + 1
        if QUERY.fullmatch(request.path):
            found = FROM.search(request.arg("q") or "")
            return (found[1].lower(), 1) if found else None
        return None

    def served_for(self, sobject: str) -> list[ServedPage]:
        return [p for p in self.served if p.sobject.lower() == sobject.lower()]

    def queries_of(self, sobject: str) -> list[str]:
        """The SOQL of every query (first page) asked about `sobject`."""
        return [p.soql for p in self.served_for(sobject) if p.page == 1]

    def _batch_size(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        found = re.search(r"batchSize=(\d+)", options)
        if not found:
            return MAX_BATCH_SIZE
        return max(self.min_batch_size, min(MAX_BATCH_SIZE, int(found[1])))

    def _query(self, request: Request) -> Response:
        match = QUERY.fullmatch(request.path)
        assert match is not None
        text = request.arg("q")
        if not text:
            raise malformed("A query string has to be specified")
        soql = parse_soql(text)
        sobject, records = self.org.run_query(soql, match["endpoint"] == "queryAll")
        with self._state:
            locator = f"01g{next(self._locator_ids):015d}"
            self._locators[locator] = Locator(
                sobject, match["endpoint"], text, records, self._batch_size(request)
            )
        return self._page(request, locator, 0)

    def _more(self, request: Request) -> Response:
        match = MORE.fullmatch(request.path)
        assert match is not None
        if match["locator"] not in self._locators:
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, match["locator"], int(match["offset"]))

    def _page(self, request: Request, locator_id: str, offset: int) -> Response:
        locator = self._locators[locator_id]
        page = offset // locator.batch_size + 1
        hold = self.holds.get((locator.sobject.lower(), page))
        if hold is not None:
            hold.arrived.set()
            hold.release.wait(timeout=120)
        total = len(locator.records)
        chunk = locator.records.slice(offset, locator.batch_size)
        end = offset + len(chunk)
        done = end >= total
        head = f'{{"totalSize":{total},"done":{"true" if done else "false"},'
        if not done:
            url = f"/services/data/{self.org.api_version}/query/{locator_id}-{end}"
            head += f'"nextRecordsUrl":"{url}",'
        body = head + '"records":[' + ",".join(chunk.to_pylist()) + "]}"
        with self._state:
            self.served.append(
                ServedPage(locator.sobject, locator.endpoint, locator.soql, page, len(chunk), total)
            )
            if done:
                # A read-out result is kept a little (its last page may be asked again),
                # then dropped: a million-record query holds about a gigabyte of JSON.
                self._finished[locator_id] = None
                while len(self._finished) > KEPT_FINISHED_QUERIES:
                    self._locators.pop(self._finished.popitem(last=False)[0], None)
        return Response(200, body.encode())
