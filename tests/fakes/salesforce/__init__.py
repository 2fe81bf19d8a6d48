"""A fake Salesforce org on 127.0.0.1 that answers like the REST API documents.

    server = serve_crm({"deals": ..., "stage_history": ..., "accounts": ..., "owners": ...})
    with server:
        ... server.url, server.token ...

What it speaks (REST API, `/services/data/vXX.X/...`):

- `query?q=<SOQL>` and `queryAll?q=<SOQL>`: `{"totalSize", "done", "nextRecordsUrl",
  "records": [{"attributes": {"type", "url"}, ...}]}`, pages of `Sforce-Query-Options:
  batchSize` records (200..2000, default 2000), `nextRecordsUrl` until `done`;
  `query` hides records in the recycle bin, `queryAll` shows them with `IsDeleted`.
  The SOQL it understands: a field list (with one-level relationship paths such as
  `UserRole.Name`), `FROM`, a `WHERE` of `AND`-ed comparisons of a field with a
  literal (dateTime, date, boolean, number, 'string', null), `ORDER BY`, `LIMIT`;
  wrong fields, objects or literal types get Salesforce's 400 errors.
- `sobjects/` (describeGlobal) and `sobjects/<Object>/describe`.
- `/services/oauth2/token` (client-credentials flow) and `/services/oauth2/userinfo`.
- Errors as `[{"message", "errorCode"}]`: 401 `INVALID_SESSION_ID` for a missing or
  wrong bearer token, 403 `REQUEST_LIMIT_EXCEEDED` past the daily API limit; every
  data response carries `Sforce-Limit-Info: api-usage=<used>/<limit>`.

The org's records are converted from tables of the files contract (DESIGN.md) inside
DuckDB, so a million deals load in seconds, and a query's records are serialised to
JSON by DuckDB once per query; a page is a slice of that column joined into a body.

Fault injection on top of `FakeServer.faults`: `page_fault(sobject, page, ...)` makes
page N of an object's query fail (a status with a Salesforce error body, a dropped
connection or a malformed body), and `hold(sobject, page)` keeps a page waiting until
released, for killing a client mid-run. `served` lists every page answered.

The package: `schema` (objects, fields, versions, credentials), `soql` (parsing and the
API error), `org`, `convert`, `convert_money` and `queries` (the org in DuckDB),
`oauth`, `pages` and `fake` (the REST API on a port, and `serve_crm`).
"""

from tests.fakes.salesforce.fake import FakeSalesforce, serve_crm
from tests.fakes.salesforce.org import SalesforceOrg
from tests.fakes.salesforce.schema import (
    API_VERSION,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    QUOTAS,
)
from tests.fakes.salesforce.soql import SalesforceApiError, parse_soql

__all__ = [
    "API_VERSION",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TOKEN",
    "QUOTAS",
    "FakeSalesforce",
    "SalesforceApiError",
    "SalesforceOrg",
    "parse_soql",
    "serve_crm",
]
