"""Salesforce's OAuth endpoints: the client-credentials token, userinfo, and the list
of API versions.

Separate from the data API, which `fake.py` guards with the tokens issued here.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from tests.fakes.salesforce.schema import ORG_ID, SUPPORTED_VERSIONS
from tests.fakes.server import Request, Response


class OAuthEndpoints:
    """Mixed into FakeSalesforce: reads `client_id`, `client_secret`,
    `issued_token_prefix`, `org` and `url`; adds to `tokens`."""

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Response(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        issued = f"{self.issued_token_prefix}{len(self.tokens):04d}Token"
        self.tokens.add(issued)
        return Response(
            200,
            {
                "access_token": issued,
                "signature": "ZmFrZS1zaWduYXR1cmU=",
                "scope": "api",
                "instance_url": self.url,
                "id": f"{self.url}/id/{ORG_ID}/005000000000001AAA",
                "token_type": "Bearer",
                "issued_at": str(int(self.org.clock.timestamp() * 1000)),
            },
        )

    def _userinfo(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(
                401, {"error": "invalid_token", "error_description": "access token is invalid"}
            )
        base = f"{self.url}/services/data/v{{version}}"
        return Response(
            200,
            {
                "sub": f"{self.url}/id/{ORG_ID}/005000000000001AAA",
                "user_id": "005000000000001AAA",
                "organization_id": ORG_ID,
                "preferred_username": "integration@example.com",
                "urls": {
                    "rest": f"{base}/",
                    "sobjects": f"{base}/sobjects/",
                    "query": f"{base}/query/",
                    "profile": f"{self.url}/005000000000001AAA",
                },
            },
        )

    def _versions(self, request: Request) -> Response:
        return Response(
            200,
            [
                {"label": v, "url": f"/services/data/{v}", "version": v[1:]}
                for v in SUPPORTED_VERSIONS
            ],
        )
