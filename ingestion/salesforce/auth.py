"""The OAuth 2.0 client-credentials flow of an External Client App: a token on demand.

Separate from the client because it is also a tool on its own (a token by hand, see
docs/connectors/salesforce.md) and needs none of the client's retries or paging.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import requests

from core.redaction import redact_url
from ingestion.common.http import BearerAuth
from ingestion.salesforce.errors import SalesforceAuthError, error_of


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    instance_url: str

    def __repr__(self) -> str:
        return f"TokenResponse(instance_url={self.instance_url!r}, access_token=***)"


def request_access_token(
    login_url: str, client_id: str, client_secret: str, timeout: float = 60.0
) -> TokenResponse:
    """An access token by the OAuth 2.0 client-credentials flow of an External Client App.

    login_url is the org's My Domain URL (client credentials are not accepted on
    login.salesforce.com). Put the returned token in SOURCES__SALESFORCE__ACCESS_TOKEN
    and its instance_url in SOURCES__SALESFORCE__BASE_URL.
    """
    response = requests.post(
        f"{login_url.rstrip('/')}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=timeout,
    )
    if response.status_code != 200:
        code, message = error_of(response)
        raise SalesforceAuthError(
            f"{redact_url(login_url)} refused the client-credentials request "
            f"({response.status_code} {code}: {message}). Check the External Client App's "
            "consumer key and secret, that the client-credentials flow is enabled with a "
            "'Run As' user, and that login_url is your My Domain URL."
        )
    body = orjson.loads(response.content)
    return TokenResponse(access_token=body["access_token"], instance_url=body["instance_url"])


class ClientCredentialsAuth(BearerAuth):
    """A bearer token fetched by the client-credentials flow when first needed, so a
    nightly run never uses an expired token and nothing is requested before a read."""

    def __init__(self, login_url: str, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.login_url = login_url
        self._client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:  # the secret stays out of any repr a log might print
        return f"ClientCredentialsAuth(login_url={redact_url(self.login_url)!r})"

    def bearer_token(self) -> str:
        if self._token is None:
            self._token = request_access_token(
                self.login_url, self._client_id, self._client_secret
            ).access_token
        return self._token
