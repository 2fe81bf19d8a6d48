"""`FakeSalesforce`, the org's REST API on a port: routes, the bearer token, API
versions, the daily limit and `Sforce-Limit-Info`; `serve_crm`.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from tests.fakes.salesforce.oauth import OAuthEndpoints
from tests.fakes.salesforce.org import SalesforceOrg
from tests.fakes.salesforce.pages import DATA, MORE, QUERY, Hold, Locator, QueryPages, ServedPage
from tests.fakes.salesforce.schema import (
    API_VERSION,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    SUPPORTED_VERSIONS,
)
from tests.fakes.salesforce.soql import SalesforceApiError
from tests.fakes.server import FakeServer, Request, Response


class FakeSalesforce(OAuthEndpoints, QueryPages, FakeServer):
    """The REST API of a `SalesforceOrg` on a free port of 127.0.0.1."""

    def __init__(
        self,
        org: SalesforceOrg,
        *,
        token: str = DEFAULT_TOKEN,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        issued_token_prefix: str = "00DFAKE000000001!AQ0AQIssued",
        api_limit: int = 1_000_000,
        min_batch_size: int = 200,
    ) -> None:
        super().__init__()
        self.org = org
        self.token = token
        self.tokens = {token}
        self.client_id = client_id
        self.client_secret = client_secret
        self.issued_token_prefix = issued_token_prefix
        self.api_limit = api_limit
        self.api_usage = 0
        self.min_batch_size = min_batch_size
        self.served: list[ServedPage] = []
        self.holds: dict[tuple[str, int], Hold] = {}
        self._locators: dict[str, Locator] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._locator_ids = itertools.count(1)
        self._state = threading.Lock()
        self.route("POST", r"/services/oauth2/token", self._token)
        self.route("GET", r"/services/oauth2/userinfo", self._userinfo)
        self.route("GET", r"/services/data/?", self._versions)
        self.route("GET", DATA + r"/sobjects/?", self._data(self._describe_global))
        self.route("GET", DATA + r"/sobjects/(\w+)/describe/?", self._data(self._describe))
        self.route("GET", MORE.pattern, self._data(self._more))
        self.route("GET", QUERY.pattern, self._data(self._query))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer ") :] in self.tokens

    def _data(self, handler: Any) -> Any:
        """Wrap a data handler: auth, API version, daily limit, Sforce-Limit-Info."""

        def wrapped(request: Request) -> Response:
            version = re.match(DATA, request.path)
            if not self._authorised(request):
                response = Response(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                    {"WWW-Authenticate": 'Token realm="Salesforce"'},
                )
            elif version is None or version["version"] not in SUPPORTED_VERSIONS:
                response = Response(
                    404,
                    [
                        {
                            "errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist",
                        }
                    ],
                )
            else:
                with self._state:
                    self.api_usage += 1
                    over = self.api_usage > self.api_limit
                if over:
                    response = Response(
                        403,
                        [
                            {
                                "message": "TotalRequests Limit exceeded.",
                                "errorCode": "REQUEST_LIMIT_EXCEEDED",
                            }
                        ],
                    )
                else:
                    try:
                        response = handler(request)
                    except SalesforceApiError as exc:
                        response = exc.response()
            response.headers.setdefault(
                "Sforce-Limit-Info",
                f"api-usage={min(self.api_usage, self.api_limit)}/{self.api_limit}",
            )
            return response

        return wrapped

    def _describe_global(self, request: Request) -> Response:
        return Response(200, self.org.describe_global())

    def _describe(self, request: Request) -> Response:
        sobject = request.path.rstrip("/").split("/")[-2]
        try:
            return Response(200, self.org.describe(sobject))
        except SalesforceApiError:
            return Response(
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )


def serve_crm(
    tables: Mapping[str, pa.Table | pa.RecordBatch | Iterable[pa.Table | pa.RecordBatch]],
    *,
    quotas: pa.Table | None = None,
    corporate_currency: str = "EUR",
    multi_currency: bool = True,
    api_version: str = API_VERSION,
    **server_options: Any,
) -> FakeSalesforce:
    """A fake Salesforce serving the CRM given as files-contract tables (not started).

    server_options go to FakeSalesforce: token, client_id, client_secret,
    issued_token_prefix (of the tokens the client-credentials flow issues), api_limit,
    min_batch_size (Salesforce's is 200; tests lower it to page small data).
    """
    org = SalesforceOrg.from_crm(
        tables,
        quotas=quotas,
        corporate_currency=corporate_currency,
        multi_currency=multi_currency,
        api_version=api_version,
    )
    return FakeSalesforce(org, **server_options)
