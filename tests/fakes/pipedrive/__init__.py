"""A fake Pipedrive company on 127.0.0.1, serving CRM data given as files-contract tables.

It speaks the shapes of Pipedrive's API as documented (developers.pipedrive.com and the
official clients' API docs), for the endpoints the connector reads:

- API v2, cursor paging (`limit` <= 500, `cursor`, `additional_data.next_cursor`):
  GET /api/v2/deals and /api/v2/deals/archived (`updated_since` / `updated_until` in
  RFC 3339, `status` as a comma list, deleted deals listed for 30 days, `sort_by`
  id / update_time / add_time, `sort_direction`, `custom_fields`), /api/v2/dealFields,
  /api/v2/organizations, /api/v2/organizationFields, /api/v2/pipelines, /api/v2/stages.
  Custom fields sit in `custom_fields` keyed by 40-character hashes; a single-option
  value is the option id, a monetary value is {"value", "currency"}.
- API v1: GET /api/v1/users, /api/v1/legacyTeams, /api/v1/goals/find (everyone's goals
  only when `type.name` is given), /api/v1/currencies, /api/v1/deals/{id}/changelog
  (cursor paged, times as 'YYYY-MM-DD HH:MM:SS' UTC).
- The token only in the `x-api-token` header: anything else is a 401
  {"success": false, "error": ..., "errorCode": 401}. Every answer carries
  x-ratelimit-limit / -remaining / -reset; past the limit of the window, a 429 with
  Retry-After. Errors are {"success": false, "error", "errorCode"}.

The files contract maps onto it like this: owners -> users (team -> a legacy team),
accounts -> organizations (segment / region / industry as single-option custom fields),
(pipeline, stage) -> pipelines and stages (probability as a whole percent), deals ->
deals (deal type, contract start / end and MRR as custom fields; won / lost deals stay
in their stage, as in Pipedrive), stage history -> the deal's first stage at add_time and
one `stage_id` change per later entry in the changelog. `fx_rates` has no place:
Pipedrive keeps no exchange rates.

Pages are built on demand from columnar arrays (a binary search to the page, then at
most `limit` records serialised), so the same fake serves `bench/` at a million deals.

The package: `responses` (envelopes, errors, cursors), `columns` (the columnar
encoding), `company` and `deal_columns` (building the company), `deals` and
`endpoints` (answering), `fake` (`FakePipedrive` and `serve_crm`).
"""

from tests.fakes.pipedrive.endpoints import goal
from tests.fakes.pipedrive.fake import FakePipedrive, serve_crm
from tests.fakes.pipedrive.responses import DEFAULT_TOKEN, field_key, pipedrive_error, rate_limited

__all__ = [
    "DEFAULT_TOKEN",
    "FakePipedrive",
    "field_key",
    "goal",
    "pipedrive_error",
    "rate_limited",
    "serve_crm",
]
