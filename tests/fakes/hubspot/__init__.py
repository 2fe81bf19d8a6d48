"""A fake HubSpot portal on 127.0.0.1 that serves a CRM given as files-contract tables.

    server = serve_crm({"deals": ..., "stage_history": ..., "accounts": ..., "owners": ...,
                        "stages": ..., "fx_rates": ..., "goal_targets": ...})
    with server:                       # a real HTTP server on a free port
        source = hubspot_source(api_key=server.token, base_url=server.url)

It speaks the shapes of HubSpot's CRM v3 API (developers.hubspot.com, API reference):

- `GET /crm/v3/objects/{deals,companies,goal_targets}` with `limit` (at most 100, 50 with
  `propertiesWithHistory`), `after` (the next id), `properties`, `propertiesWithHistory`,
  `associations`, `archived` -> `{"results": [{"id", "properties", "propertiesWithHistory",
  "associations", "createdAt", "updatedAt", "archived", "archivedAt"}], "paging"}`.
- `POST .../search` with `filterGroups` (EQ, NEQ, GT, GTE, LT, LTE, BETWEEN, IN,
  HAS_PROPERTY, NOT_HAS_PROPERTY), `sorts`, `properties`, `limit` (<= 200), `after` (an
  offset; 400 past 10,000 results) -> `{"total", "results", "paging"}`; no property
  history, no associations, no archived records.
- `POST .../batch/read` (<= 100 inputs, 50 with history; 207 with `errors` for unknown ids),
  `POST /crm/v4/associations/deals/companies/batch/read` (primary = typeId 5).
- `line_items` and `products` as objects too (from the `deal_products` table; a line
  item lists its deal with `associations=deals`), `POST /crm/v4/associations/line_items/
  deals/batch/read` (typeId 20), and `GET /crm/v3/properties/{deals,products}/{name}`
  (the enumeration definitions of `hs_analytics_source`, the deals' `channel`, and
  `hs_product_type`, the products' family; 404 for another property).
- `GET /crm/v3/owners` (teams with `primary`), `GET /crm/v3/pipelines/deals` (stage
  `metadata.probability` and `metadata.isClosed` as strings), `GET /settings/v3/currencies/
  exchange-rates`, `GET /settings/v3/currencies/company-currency`.
- Bearer token in `Authorization` (401 INVALID_AUTHENTICATION otherwise), optional scopes
  (403 MISSING_SCOPES), `X-HubSpot-RateLimit-*` headers on every answer and, when
  `rate_limit=(max, interval_ms)` is given, a real window answering 429 RATE_LIMIT with
  `Retry-After`. Property values are strings, as HubSpot sends them.

Records are kept as Arrow columns and pages are built on demand from slices of them, so
`bench/` can serve a million deals. Tests change the CRM between runs with `modify`,
`modify_many`, `archive` and `purge`, and inject faults with `server.faults` (see
`rate_limit_fault`, `error_fault`, `fault`; each matches on path, method and query
parameters).

The package: `responses` (tokens, scopes, error bodies, faults), `records` (the Arrow
columns and their JSON texts), `crm`, `deals` and `products` (building the portal),
`reads`, `search` and `commerce` (the endpoints), `fake` (`FakeHubSpot` and `serve_crm`).
"""

from tests.fakes.hubspot.fake import FakeHubSpot, serve_crm
from tests.fakes.hubspot.responses import (
    ALL_SCOPES,
    DEFAULT_TOKEN,
    SCOPES,
    error_fault,
    fault,
    rate_limit_fault,
)

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_TOKEN",
    "SCOPES",
    "FakeHubSpot",
    "error_fault",
    "fault",
    "rate_limit_fault",
    "serve_crm",
]
