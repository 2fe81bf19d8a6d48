"""The Salesforce source: opportunities with their full stage history and line items,
products, accounts, users, stages, forecasting quotas and dated exchange rates, from the
REST API.

Resources (tables of `raw_salesforce`):

- `opportunities` (Opportunity), `opportunity_history` (OpportunityHistory: every stage,
  amount and close-date change, so the pipeline can be rebuilt for any past day),
  `opportunity_line_items` (OpportunityLineItem: the deals' products with quantity,
  sales price and total), `products` (Product2, for the family) and `accounts`
  (Account): incremental on `SystemModstamp` through `queryAll`, merged on `Id`;
  records deleted in Salesforce (`IsDeleted = true` in the recycle bin) are deleted
  here (dlt `hard_delete` on `is_deleted`).
- `users` (User, with the team field), `opportunity_stages` (OpportunityStage: order,
  default probability, won/closed), `forecasting_quotas` (ForecastingQuota, the quotas
  that become objectives), `periods` (Period, the quotas' periods), `currency_types`
  (CurrencyType) and `dated_conversion_rates` (DatedConversionRate) where the org has
  multiple currencies, and `organization` (its default currency): small, replaced
  whole on every run, which also drops what was deleted.

Fields that companies keep in custom fields (segment, region, industry, team, pipeline,
deal type, contract start and end, MRR, lost reason, channel, deal and line cost) are
read from the fields the settings name (`SOURCES__SALESFORCE__<NAME>_FIELD`); the
defaults are in `settings.py` and docs/connectors/salesforce.md.

The modules, one job each: `settings` (defaults, fields read per object), `errors`,
`auth` (the client-credentials flow), `client` (HTTP, retries, API usage), `objects`
(describe, field binding, SOQL paging), `describe` and `pages` (schemas, SOQL text,
pages into Arrow), `mapping` (the field and deal-type mapping), `resources` (the dlt
resources).

API reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
(Query and QueryAll resources, Status Codes and Error Responses, Limit Info header).

Credentials (secrets: the environment or `.dlt/secrets.toml`, never `config.toml`; dlt
keeps their values out of its traces): either an External Client App's
`SOURCES__SALESFORCE__CLIENT_ID` and `SOURCES__SALESFORCE__CLIENT_SECRET` with
`SOURCES__SALESFORCE__BASE_URL` the org's My Domain URL (the connector asks for a fresh
token on every run, kept in memory only), or an OAuth 2.0 access token in
`SOURCES__SALESFORCE__ACCESS_TOKEN`, sent as a bearer header only. The app's "Run As"
user is an integration user with a read-only permission set (API Enabled, Read and View
All on Opportunity (its line items follow it), Product2, Account, User, ForecastingQuota,
Period, CurrencyType, DatedConversionRate) and OAuth scope `api` only. A token by hand:
`curl -X POST https://<domain>.my.salesforce.com/services/oauth2/token
-d grant_type=client_credentials -d client_id=<key> -d client_secret=<secret>`,
or `ingestion.salesforce.auth.request_access_token`; then set
`SOURCES__SALESFORCE__BASE_URL` to the `instance_url` it returns (by default the
connector asks login.salesforce.com for it).
"""

# No `from __future__ import annotations` in a module that defines dlt sources or
# resources: dlt reads their annotations, which must be real objects.
import re
from urllib.parse import urlsplit

import dlt
from dlt.extract.source import DltResource

from core.errors import SourceNotConfiguredError
from core.redaction import redact_urls
from ingestion.common.http import RetryPolicy
from ingestion.salesforce.auth import ClientCredentialsAuth
from ingestion.salesforce.errors import SalesforceConfigError, SalesforceError
from ingestion.salesforce.mapping import FieldSettings, normalise_deal_type_values
from ingestion.salesforce.objects import SalesforceApi
from ingestion.salesforce.resources import (
    accounts,
    currency_types,
    dated_conversion_rates,
    forecasting_quotas,
    modified_since,
    opportunities,
    opportunity_history,
    opportunity_line_items,
    opportunity_stages,
    organization,
    periods,
    products,
    users,
)
from ingestion.salesforce.settings import (
    DEFAULT_API_USAGE_CEILING,
    DEFAULT_API_VERSION,
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_BASE_URL,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LOOKBACK_SECONDS,
    DEFAULT_MAPPING,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_PIPELINE,
    DEFAULT_REQUEST_TIMEOUT,
)

__all__ = ["SalesforceError", "salesforce_source"]


_API_VERSION = re.compile(r"v\d{2,3}\.0")


def _check(condition: bool, setting: str, value: object, expected: str) -> None:
    if not condition:
        raise SalesforceConfigError(
            f"SOURCES__SALESFORCE__{setting.upper()}={redact_urls(repr(value))} is not valid: "
            f"{expected}"
        )


@dlt.source(name="salesforce", max_table_nesting=0)
def salesforce_source(
    access_token: str | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    client_id: str | None = dlt.secrets.value,
    client_secret: str | None = dlt.secrets.value,
    api_version: str = DEFAULT_API_VERSION,
    segment_field: str = DEFAULT_MAPPING.segment,
    region_field: str = DEFAULT_MAPPING.region,
    industry_field: str = DEFAULT_MAPPING.industry,
    team_field: str = DEFAULT_MAPPING.team,
    pipeline_field: str = DEFAULT_MAPPING.pipeline,
    deal_type_field: str = DEFAULT_MAPPING.deal_type,
    contract_start_field: str = DEFAULT_MAPPING.contract_start,
    contract_end_field: str = DEFAULT_MAPPING.contract_end,
    mrr_field: str = DEFAULT_MAPPING.mrr,
    lost_reason_field: str = DEFAULT_MAPPING.lost_reason,
    channel_field: str = DEFAULT_MAPPING.channel,
    cost_field: str = DEFAULT_MAPPING.cost,
    line_cost_field: str = DEFAULT_MAPPING.line_cost,
    deal_type_values: dict[str, str] | None = None,
    default_pipeline: str = DEFAULT_PIPELINE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lookback_seconds: float = DEFAULT_LOOKBACK_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
    max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    api_usage_ceiling: float = DEFAULT_API_USAGE_CEILING,
) -> list[DltResource]:
    """The Salesforce org behind `access_token`, or behind an External Client App's
    `client_id` and `client_secret` (client-credentials flow: a fresh token on every run,
    which a nightly refresh needs since tokens expire with the org's session); every
    other setting has a default.

    Building the source makes no request: the org is first called when a resource is
    read (so checking whether the source is configured costs no API call).
    """
    auth = None
    if client_id and client_secret:
        # base_url is then the org's My Domain URL: it issues the token and serves the API.
        auth = ClientCredentialsAuth(str(base_url), str(client_id), str(client_secret))
    elif not str(access_token or "").strip():
        raise SourceNotConfiguredError(
            "source 'salesforce' is not configured: set SOURCES__SALESFORCE__ACCESS_TOKEN, "
            "or SOURCES__SALESFORCE__CLIENT_ID and SOURCES__SALESFORCE__CLIENT_SECRET with "
            "SOURCES__SALESFORCE__BASE_URL your My Domain URL (see "
            "docs/connectors/salesforce.md)"
        )
    parts = urlsplit(str(base_url))
    _check(
        parts.scheme in ("http", "https") and bool(parts.netloc),
        "base_url",
        base_url,
        "an http(s) URL such as https://yourcompany.my.salesforce.com",
    )
    _check(bool(_API_VERSION.fullmatch(api_version)), "api_version", api_version, "such as v61.0")
    _check(
        1 <= batch_size <= 2000,
        "batch_size",
        batch_size,
        "records per page, at most 2000 (Salesforce sends at least 200)",
    )
    _check(
        0 < api_usage_ceiling <= 1,
        "api_usage_ceiling",
        api_usage_ceiling,
        "a share of the org's daily API requests, more than 0 and at most 1",
    )
    _check(lookback_seconds >= 0, "lookback_seconds", lookback_seconds, "seconds, 0 or more")
    _check(max_attempts >= 1, "max_attempts", max_attempts, "1 or more")
    _check(backoff_factor >= 0, "backoff_factor", backoff_factor, "seconds, 0 or more")
    _check(max_retry_delay >= 0, "max_retry_delay", max_retry_delay, "seconds, 0 or more")
    _check(request_timeout > 0, "request_timeout", request_timeout, "seconds, more than 0")
    _check(bool(default_pipeline.strip()), "default_pipeline", default_pipeline, "a label")

    api = SalesforceApi(
        access_token=access_token,
        auth=auth,
        base_url=base_url,
        api_version=api_version,
        batch_size=batch_size,
        retry=RetryPolicy(max_attempts, backoff_factor, max_retry_delay, request_timeout),
        api_usage_ceiling=api_usage_ceiling,
    )
    settings = FieldSettings(
        paths={
            "segment": segment_field,
            "region": region_field,
            "industry": industry_field,
            "team": team_field,
            "pipeline": pipeline_field,
            "deal_type": deal_type_field,
            "contract_start": contract_start_field,
            "contract_end": contract_end_field,
            "mrr": mrr_field,
            "lost_reason": lost_reason_field,
            "channel": channel_field,
            "cost": cost_field,
            "line_cost": line_cost_field,
        },
        deal_type_values=normalise_deal_type_values(deal_type_values),
        default_pipeline=default_pipeline.strip(),
    )
    # Each query yields at least one (maybe empty) typed page, so every table exists
    # with its columns even in an org without such records. The incremental objects get
    # their cursor again with this run's lookback (the decorator's has the default).
    return [
        opportunities(api, settings).apply_hints(incremental=modified_since(lookback_seconds)),
        opportunity_history(api).apply_hints(incremental=modified_since(lookback_seconds)),
        accounts(api, settings).apply_hints(incremental=modified_since(lookback_seconds)),
        opportunity_line_items(api, settings).apply_hints(
            incremental=modified_since(lookback_seconds)
        ),
        products(api).apply_hints(incremental=modified_since(lookback_seconds)),
        users(api, settings),
        opportunity_stages(api),
        forecasting_quotas(api),
        periods(api),
        currency_types(api),
        dated_conversion_rates(api),
        organization(api),
    ]
