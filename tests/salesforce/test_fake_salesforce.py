"""The fake Salesforce speaks the REST API's documented shapes (checked with plain HTTP).

Query and QueryAll with paging by nextRecordsUrl, the Query Options and Limit Info
headers, SOQL filters, Salesforce's error bodies and status codes, describe, and the
client-credentials token endpoint: what the connector's tests rely on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa
import pytest
import requests

from tests.fakes.salesforce import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeSalesforce,
    SalesforceApiError,
    parse_soql,
    serve_crm,
)

V = "/services/data/v61.0"


@pytest.fixture
def fake(crm: dict[str, pa.Table]) -> Iterator[FakeSalesforce]:
    with serve_crm(crm) as server:  # Salesforce's own minimum page size: 200
        yield server


def get(server: FakeSalesforce, path: str, token: str | None = None, **headers: str):
    auth = {"Authorization": f"Bearer {token or server.token}"}
    return requests.get(server.url + path, headers={**auth, **headers}, timeout=30)


def soql(server: FakeSalesforce, q: str, endpoint: str = "query", **headers: str):
    return requests.get(
        f"{server.url}{V}/{endpoint}",
        params={"q": q},
        headers={"Authorization": f"Bearer {server.token}", **headers},
        timeout=30,
    )


def test_a_query_pages_with_next_records_url_until_done(fake: FakeSalesforce) -> None:
    first = soql(
        fake, "SELECT Id, Name FROM Opportunity", **{"Sforce-Query-Options": "batchSize=10"}
    )
    assert first.status_code == 200
    body = first.json()
    # batchSize below Salesforce's minimum of 200 gets 200.
    assert body["totalSize"] == 300 and body["done"] is False and len(body["records"]) == 200
    assert re.fullmatch(rf"{V}/query/01g\w+-200", body["nextRecordsUrl"])
    record = body["records"][0]
    assert list(record) == ["attributes", "Id", "Name"]
    assert record["attributes"] == {
        "type": "Opportunity",
        "url": f"{V}/sobjects/Opportunity/{record['Id']}",
    }
    rest = get(fake, body["nextRecordsUrl"]).json()
    assert rest["done"] is True and "nextRecordsUrl" not in rest and len(rest["records"]) == 100
    ids = [r["Id"] for r in body["records"] + rest["records"]]
    assert len(set(ids)) == 300
    assert first.headers["Sforce-Limit-Info"] == f"api-usage=1/{fake.api_limit}"


def test_query_hides_the_recycle_bin_and_query_all_shows_it(fake: FakeSalesforce) -> None:
    deal = fake.org.con.execute('SELECT min("Id") FROM "Opportunity"').fetchone()[0]
    fake.org.delete("Opportunity", deal)
    where = f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{deal}'"
    assert soql(fake, where).json()["totalSize"] == 0
    shown = soql(fake, where, "queryAll").json()["records"]
    assert shown == [
        {
            "attributes": {"type": "Opportunity", "url": f"{V}/sobjects/Opportunity/{deal}"},
            "Id": deal,
            "IsDeleted": True,
        }
    ]
    deleted = soql(fake, "SELECT Id FROM Opportunity WHERE IsDeleted = true", "queryAll").json()
    assert deleted["totalSize"] == 1
    history = soql(
        fake,
        f"SELECT Id FROM OpportunityHistory WHERE OpportunityId = '{deal}' AND IsDeleted = true",
        "queryAll",
    ).json()
    assert history["totalSize"] > 0  # the history went to the recycle bin with its deal


def test_where_on_a_datetime_and_order_by(fake: FakeSalesforce) -> None:
    body = soql(
        fake,
        "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp > 2026-01-01T00:00:00Z "
        "ORDER BY SystemModstamp",
    ).json()
    stamps = [r["SystemModstamp"] for r in body["records"]]
    assert stamps == sorted(stamps) and stamps
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", s) for s in stamps)
    assert all(s > "2026-01-01T00:00:00.000+0000" for s in stamps)
    expected = fake.org.con.execute(
        'SELECT count(*) FROM "Opportunity" WHERE "SystemModstamp" > \'2026-01-01T00:00:00Z\''
    ).fetchone()[0]
    assert body["totalSize"] == expected < 300


def test_relationship_fields_come_as_nested_records(fake: FakeSalesforce) -> None:
    records = soql(fake, "SELECT Id, UserRole.Name FROM User").json()["records"]
    with_role = [r for r in records if r["UserRole"] is not None]
    without = [r for r in records if r["UserRole"] is None]
    assert with_role and without  # the demo has owners without a team
    assert with_role[0]["UserRole"]["attributes"]["type"] == "UserRole"
    assert isinstance(with_role[0]["UserRole"]["Name"], str)


@pytest.mark.parametrize(
    ("q", "code", "words"),
    [
        ("SELECT Id, Foo__c FROM Account", "INVALID_FIELD", "No such column 'Foo__c'"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE", "sObject type 'Widget__c' is not supported"),
        (
            "SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01T00:00:00Z'",
            "INVALID_FIELD",
            "should not be enclosed in quotes",
        ),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELEKT Id FROM Account", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id, Nope.Name FROM Account", "INVALID_FIELD", "relationship 'Nope'"),
    ],
)
def test_bad_soql_gets_salesforce_errors(
    fake: FakeSalesforce, q: str, code: str, words: str
) -> None:
    response = soql(fake, q)
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code
    assert words in body[0]["message"]


def test_auth_version_and_limit_errors(crm: dict[str, pa.Table]) -> None:
    with serve_crm(crm, api_limit=2) as fake:
        unauthorised = get(fake, f"{V}/sobjects/", token="not-a-token")
        assert unauthorised.status_code == 401
        assert unauthorised.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        assert get(fake, "/services/data/v12.0/sobjects/").status_code == 404
        assert get(fake, f"{V}/sobjects/").status_code == 200
        assert get(fake, f"{V}/sobjects/Account/describe").status_code == 200
        over = get(fake, f"{V}/sobjects/")
        assert over.status_code == 403
        assert over.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        assert over.headers["Sforce-Limit-Info"] == "api-usage=2/2"


def test_describe_names_fields_types_and_relationships(fake: FakeSalesforce) -> None:
    listing = get(fake, f"{V}/sobjects/").json()
    assert {"Opportunity", "OpportunityHistory", "ForecastingQuota", "DatedConversionRate"} <= {
        o["name"] for o in listing["sobjects"]
    }
    fields = {
        f["name"]: f for f in get(fake, f"{V}/sobjects/Opportunity/describe").json()["fields"]
    }
    assert fields["Amount"]["type"] == "currency"
    assert fields["MRR__c"]["custom"] is True
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    missing = get(fake, f"{V}/sobjects/Widget__c/describe")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"


def test_picklists_have_values_and_labels_and_to_label_reads_the_labels(
    fake: FakeSalesforce,
) -> None:
    fields = {
        f["name"]: f for f in get(fake, f"{V}/sobjects/Opportunity/describe").json()["fields"]
    }
    options = {o["value"]: o["label"] for o in fields["LeadSource"]["picklistValues"]}
    assert options["Trade_show"] == "Trade show"  # a stored API value is not its label
    assert fields["Amount"]["picklistValues"] == []
    q = "SELECT Id, LeadSource, toLabel(LeadSource) FROM Opportunity"
    assert soql(fake, q).json()[0]["message"] == "duplicate field selected: LeadSource"
    plain = soql(fake, "SELECT Id, LeadSource FROM Opportunity ORDER BY Id").json()["records"]
    labelled = soql(fake, "SELECT Id, toLabel(LeadSource) FROM Opportunity ORDER BY Id").json()
    assert [r["LeadSource"] for r in labelled["records"]] == [
        options.get(r["LeadSource"], r["LeadSource"]) for r in plain
    ]
    assert "Trade show" in {r["LeadSource"] for r in labelled["records"]}
    refused = soql(fake, "SELECT toLabel(Name) FROM Opportunity")
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"
    assert parse_soql("SELECT Id, toLabel(Family) FROM Product2").labelled == {"family"}


def test_line_items_are_products_of_opportunities(fake: FakeSalesforce, crm: dict) -> None:
    body = soql(
        fake,
        "SELECT Id, OpportunityId, Product2.Name, Quantity, UnitPrice, TotalPrice "
        "FROM OpportunityLineItem",
    ).json()
    assert body["totalSize"] == crm["deal_products"].num_rows
    record = body["records"][0]
    assert record["attributes"]["type"] == "OpportunityLineItem"
    assert record["Product2"]["attributes"]["type"] == "Product2"
    assert set(record) == {
        "attributes", "Id", "OpportunityId", "Product2", "Quantity", "UnitPrice", "TotalPrice"
    }  # fmt: skip


def test_the_client_credentials_flow_issues_a_usable_token(fake: FakeSalesforce) -> None:
    token_url = f"{fake.url}/services/oauth2/token"
    refused = requests.post(token_url, data={"grant_type": "password"}, timeout=30)
    assert refused.status_code == 400 and refused.json()["error"] == "unsupported_grant_type"
    wrong = requests.post(
        token_url,
        data={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
              "client_secret": "nope"},
        timeout=30,
    )  # fmt: skip
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    issued = requests.post(
        token_url,
        data={"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
              "client_secret": DEFAULT_CLIENT_SECRET},
        timeout=30,
    ).json()  # fmt: skip
    assert issued["token_type"] == "Bearer" and issued["instance_url"] == fake.url
    assert get(fake, f"{V}/sobjects/", token=issued["access_token"]).status_code == 200


def test_the_soql_parser_reads_what_the_connector_writes() -> None:
    parsed = parse_soql(
        "SELECT Id, UserRole.Name FROM User WHERE SystemModstamp > 2026-03-01T10:00:00Z "
        "AND IsDeleted = false ORDER BY SystemModstamp DESC LIMIT 5"
    )
    assert parsed.fields == ["Id", "UserRole.Name"] and parsed.sobject == "User"
    assert [(c.field, c.op, c.literal_type) for c in parsed.conditions] == [
        ("SystemModstamp", ">", "datetime"),
        ("IsDeleted", "=", "boolean"),
    ]
    assert parsed.order_by == [("SystemModstamp", True)] and parsed.limit == 5
    with pytest.raises(SalesforceApiError, match="only AND"):
        parse_soql("SELECT Id FROM User WHERE Name = 'a' OR Name = 'b'")
