"""One org's REST API over HTTP: retries, the API usage ceiling, and what a refusal means.

HTTP goes through dlt's RESTClient on a session of dlt's retrying `requests` helper
(`ingestion.common.http.retrying_session`):
503 (Salesforce's overload answer), 429, other 5xx and dropped connections are retried
with bounded exponential backoff, honouring Retry-After. 401 and 403 fail at once with
a message naming what to check. The access token travels only in the Authorization
header; no message raised or logged here contains it. What is asked of the org (its
objects, their fields, the queries) is `ingestion.salesforce.objects`.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from dlt.sources.helpers.rest_client import RESTClient

from core.redaction import redact_url
from ingestion.common.http import BearerAuth, RetryPolicy, retrying_session
from ingestion.salesforce.auth import ClientCredentialsAuth
from ingestion.salesforce.errors import (
    MalformedPageError,
    SalesforceAccessError,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceError,
    SalesforceLimitError,
    SalesforceRequestError,
    error_of,
    malformed,
)
from ingestion.salesforce.settings import API_USAGE_WARNING_SHARE, LOGIN_HOSTS

logger = logging.getLogger("crm_kpi.salesforce")

TOKEN_SETTING = "SOURCES__SALESFORCE__ACCESS_TOKEN"
BASE_URL_SETTING = "SOURCES__SALESFORCE__BASE_URL"
API_VERSION_SETTING = "SOURCES__SALESFORCE__API_VERSION"

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceClient:
    """One org's REST API; nothing is requested until a resource reads."""

    def __init__(
        self,
        access_token: str | None,
        base_url: str,
        api_version: str,
        batch_size: int,
        retry: RetryPolicy,
        api_usage_ceiling: float = 1.0,
        auth: requests.auth.AuthBase | None = None,
    ) -> None:
        self._auth = auth or BearerAuth(access_token)
        self.api_usage_ceiling = api_usage_ceiling
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.batch_size = batch_size
        self.retry = retry
        self._rest: RESTClient | None = None
        self.api_usage: tuple[int, int] | None = None
        self._warned_usage = False

    def __repr__(self) -> str:  # the token stays out of any repr a log might print
        return (
            f"{type(self).__name__}(base_url={redact_url(self.base_url)!r}, "
            f"api_version={self.api_version!r})"
        )

    def _session(self) -> requests.Session:
        return retrying_session(self.retry)

    @property
    def rest(self) -> RESTClient:
        if self._rest is None:
            self._rest = RESTClient(
                base_url=self.instance_url(),
                headers={
                    "Accept": "application/json",
                    "Sforce-Query-Options": f"batchSize={self.batch_size}",
                },
                auth=self._auth,
                session=self._session(),
            )
        return self._rest

    def instance_url(self) -> str:
        """The org's API host: base_url, or, for a login host, the one userinfo names."""
        if urlsplit(self.base_url).hostname not in LOGIN_HOSTS:
            return self.base_url
        login = RESTClient(base_url=self.base_url, auth=self._auth, session=self._session())
        what = "the userinfo request that finds the org's instance URL"
        response = self._send(login, "/services/oauth2/userinfo", None, what)
        try:
            rest_url = orjson.loads(response.content)["urls"]["rest"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise SalesforceConfigError(
                f"{redact_url(self.base_url)} did not name the org's instance URL ({what}); set "
                f"{BASE_URL_SETTING} to your My Domain URL, such as "
                "https://yourcompany.my.salesforce.com"
            ) from None
        instance = str(rest_url).split("/services/", 1)[0]
        logger.info("Salesforce instance URL: %s", instance)
        self.base_url = instance
        return instance

    def _send(
        self,
        client: RESTClient,
        path: str,
        params: dict[str, str] | None,
        what: str,
    ) -> requests.Response:
        self._check_ceiling(what)
        try:
            response = client.get(path, params=params)
        except requests.RequestException as exc:
            # host and port only: never a user:password@ the URL may carry
            parts = urlsplit(client.base_url)
            host = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
            raise SalesforceRequestError(
                f"Could not reach Salesforce at {host} for {what} after "
                f"{self.retry.max_attempts} attempts ({type(exc).__name__}). Check "
                f"{BASE_URL_SETTING} and the network; the run loaded nothing.",
                transient=True,
            ) from None
        self._note_usage(response)
        if response.status_code >= 400:
            raise self._error(response, what)
        return response

    def _check_ceiling(self, what: str) -> None:
        if self.api_usage is None:
            return
        used, limit = self.api_usage
        if limit and used >= self.api_usage_ceiling * limit:
            raise SalesforceLimitError(
                f"Stopped before {what}: the Salesforce org has used {used} of its {limit} "
                f"daily API requests, the ceiling of {self.api_usage_ceiling:.0%} this "
                "connector keeps to leave the rest to the org's other integrations "
                "(SOURCES__SALESFORCE__API_USAGE_CEILING). Run again when the org's rolling "
                "24-hour allowance has freed requests; nothing was loaded from this run."
            )

    def _note_usage(self, response: requests.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if not match:
            return
        used, limit = int(match.group(1)), int(match.group(2))
        self.api_usage = (used, limit)
        if limit and used >= API_USAGE_WARNING_SHARE * limit and not self._warned_usage:
            self._warned_usage = True
            logger.warning(
                "The Salesforce org has used %s of its %s daily API requests", used, limit
            )

    def _error(self, response: requests.Response, what: str) -> SalesforceError:
        status = response.status_code
        code, message = error_of(response)
        said = f"{code}: {message}" if code else (message or response.reason or "")
        if status == 401 and isinstance(self._auth, ClientCredentialsAuth):
            return SalesforceAuthError(
                f"Salesforce refused the access token the client-credentials flow issued "
                f"({status} {said}) on {what}. Check that the External Client App "
                "(SOURCES__SALESFORCE__CLIENT_ID) is still enabled for the client-credentials "
                "flow, that its 'Run As' user is active, and that no admin revoked its tokens."
            )
        if status == 401:
            return SalesforceAuthError(
                f"Salesforce refused the access token ({status} {said}) on {what}. Check "
                f"{TOKEN_SETTING} (or access_token under [sources.salesforce] in "
                ".dlt/secrets.toml): tokens expire after the org's session timeout and can "
                "be revoked; get a new one with the client-credentials flow described in "
                "docs/connectors/salesforce.md."
            )
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            usage = f" ({self.api_usage[0]}/{self.api_usage[1]} requests)" if self.api_usage else ""
            return SalesforceLimitError(
                f"The Salesforce org's API request limit is used up{usage}: Salesforce "
                f"answered {status} {said} on {what}. The credential is fine: wait until the "
                "org's rolling 24-hour API allowance frees requests, or ask a Salesforce "
                "admin to raise the org's API request limit. Nothing was loaded from this run."
            )
        if status == 403:
            return SalesforceAccessError(
                f"Salesforce refused {what} ({status} {said}). The user behind "
                f"{TOKEN_SETTING} needs the 'API Enabled' permission and read access to the "
                "objects listed in docs/connectors/salesforce.md (read-only permission set)."
            )
        if status == 404:
            return SalesforceRequestError(
                f"Salesforce found nothing at {urlsplit(response.url).path} ({what}, {said}). "
                f"Check {BASE_URL_SETTING} (the org's My Domain URL) and "
                f"{API_VERSION_SETTING} (now {self.api_version})."
            )
        if status == 429 or status >= 500:
            return SalesforceRequestError(
                f"Salesforce kept answering {status} {said} to {what} after "
                f"{self.retry.max_attempts} attempts. Try again later; the retry budget is "
                "SOURCES__SALESFORCE__MAX_ATTEMPTS. Nothing was loaded from this run.",
                transient=True,
            )
        return SalesforceRequestError(f"Salesforce refused {what}: {status} {said}")

    def get_json(self, path: str, what: str) -> Any:
        response = self._send(self.rest, path, None, what)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise MalformedPageError(malformed(what, response.content, "not JSON")) from None

    def data_path(self, rest: str) -> str:
        return f"/services/data/{self.api_version}/{rest}"
