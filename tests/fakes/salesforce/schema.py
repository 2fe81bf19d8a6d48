"""The fake org's objects and fields (a subset of Salesforce's), its API versions,
default credentials and limits.

Separate because it is data: the org, describe and SOQL all read it, and tests take
the credentials and `QUOTAS` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

API_VERSION = "v61.0"
SUPPORTED_VERSIONS = tuple(f"v{n}.0" for n in range(31, 67))
DEFAULT_TOKEN = "00DFAKE000000001!AQ0AQFakeSalesforceAccessTokenDoNotLog.x9Zq"
DEFAULT_CLIENT_ID = "3MVG9FakeConsumerKey"
DEFAULT_CLIENT_SECRET = "FakeConsumerSecret0123456789"
MAX_BATCH_SIZE = 2000
KEPT_FINISHED_QUERIES = 4
ORG_ID = "00D000000000001AAA"
FAR_FUTURE = date(9999, 12, 31)
FAR_PAST = date(1, 1, 1)


# Deal types of the files contract as Opportunity.Type picklist values (the connector's
# default value mapping reads them back).
DEAL_TYPE_PICKLIST = {
    "new_business": "New Customer",
    "expansion": "Existing Customer - Upgrade",
    "renewal": "Existing Customer - Replacement",
}


QUOTAS = pa.schema(
    [
        ("quota_id", pa.string()),
        ("owner_id", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("amount", pa.decimal128(18, 2)),
        ("currency", pa.string()),
    ]
)
SQL_TYPES = {
    "boolean": "BOOLEAN",
    "currency": "DOUBLE",
    "double": "DOUBLE",
    "percent": "DOUBLE",
    "int": "INTEGER",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
}
KEY_PREFIXES = {
    "Organization": "00D",
    "UserRole": "00E",
    "User": "005",
    "Account": "001",
    "RecordType": "012",
    "OpportunityStage": "01J",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Period": "026",
    "ForecastingQuota": "0J9",
    "CurrencyType": "01L",
    "DatedConversionRate": "04w",
    "Product2": "01t",
    "PricebookEntry": "01u",
    "OpportunityLineItem": "00k",
}
# The field types that have picklist values in describe (and that toLabel translates).
PICKLIST_TYPES = ("picklist", "multipicklist")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    reference_to: str | None = None
    relationship_name: str | None = None

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def sql_type(self) -> str:
        return SQL_TYPES.get(self.type, "VARCHAR")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "custom": self.custom,
            "nillable": self.name != "Id",
            "filterable": True,
            "sortable": True,
            "relationshipName": self.relationship_name,
            "referenceTo": [self.reference_to] if self.reference_to else [],
        }


def _f(name: str, type_: str = "string", ref: str | None = None, rel: str | None = None):
    return FieldDef(name, type_, ref, rel)


def org_schema(multi_currency: bool = True) -> dict[str, tuple[FieldDef, ...]]:
    """The objects and fields of the fake org (a subset of the real ones)."""
    stamp = (_f("CreatedDate", "datetime"), _f("LastModifiedDate", "datetime"))
    modstamp = _f("SystemModstamp", "datetime")
    currency = (_f("CurrencyIsoCode", "picklist"),) if multi_currency else ()
    schema: dict[str, tuple[FieldDef, ...]] = {
        "Organization": (
            _f("Id", "id"),
            _f("Name"),
            _f("DefaultCurrencyIsoCode", "picklist"),
            modstamp,
        ),
        "UserRole": (_f("Id", "id"), _f("Name"), _f("DeveloperName"), modstamp),
        "User": (
            _f("Id", "id"),
            _f("Name"),
            _f("Email", "email"),
            _f("IsActive", "boolean"),
            _f("UserRoleId", "reference", "UserRole", "UserRole"),
            _f("Department"),
            _f("UserType", "picklist"),
            *stamp,
            modstamp,
        ),
        "Account": (
            _f("Id", "id"),
            _f("Name"),
            _f("Type", "picklist"),
            _f("Industry", "picklist"),
            _f("BillingCountry"),
            _f("Segment__c", "picklist"),
            _f("Region__c", "picklist"),
            _f("IsDeleted", "boolean"),
            *currency,
            *stamp,
            modstamp,
        ),
        "RecordType": (
            _f("Id", "id"),
            _f("Name"),
            _f("DeveloperName"),
            _f("SobjectType", "picklist"),
            _f("IsActive", "boolean"),
            modstamp,
        ),
        "OpportunityStage": (
            _f("Id", "id"),
            _f("MasterLabel"),
            _f("ApiName"),
            _f("SortOrder", "int"),
            _f("DefaultProbability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("IsActive", "boolean"),
            _f("IsClosed", "boolean"),
            _f("IsWon", "boolean"),
            *stamp,
            modstamp,
        ),
        "Opportunity": (
            _f("Id", "id"),
            _f("AccountId", "reference", "Account", "Account"),
            _f("OwnerId", "reference", "User", "Owner"),
            _f("RecordTypeId", "reference", "RecordType", "RecordType"),
            _f("Name"),
            _f("StageName", "picklist"),
            _f("Amount", "currency"),
            *currency,
            _f("CloseDate", "date"),
            _f("IsClosed", "boolean"),
            _f("IsWon", "boolean"),
            _f("IsDeleted", "boolean"),
            _f("Probability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("Type", "picklist"),
            _f("Contract_Start__c", "date"),
            _f("Contract_End__c", "date"),
            _f("MRR__c", "currency"),
            _f("Loss_Reason__c", "picklist"),
            _f("LeadSource", "picklist"),
            _f("Cost__c", "currency"),  # a custom field: Salesforce has no standard cost
            *stamp,
            modstamp,
        ),
        "Product2": (
            _f("Id", "id"),
            _f("Name"),
            _f("ProductCode"),
            _f("Family", "picklist"),
            _f("Description", "textarea"),
            _f("IsActive", "boolean"),
            _f("IsDeleted", "boolean"),
            *stamp,
            modstamp,
        ),
        "OpportunityLineItem": (
            _f("Id", "id"),
            _f("OpportunityId", "reference", "Opportunity", "Opportunity"),
            _f("Product2Id", "reference", "Product2", "Product2"),
            _f("PricebookEntryId", "reference"),
            _f("Name"),
            _f("ProductCode"),
            _f("Quantity", "double"),
            _f("UnitPrice", "currency"),
            _f("ListPrice", "currency"),
            _f("Discount", "percent"),
            _f("Subtotal", "currency"),
            _f("TotalPrice", "currency"),
            _f("Cost__c", "currency"),  # a custom field: Salesforce has no standard cost
            *currency,
            _f("IsDeleted", "boolean"),
            *stamp,
            modstamp,
        ),
        "OpportunityHistory": (
            _f("Id", "id"),
            _f("OpportunityId", "reference", "Opportunity", "Opportunity"),
            _f("StageName", "picklist"),
            _f("Amount", "currency"),
            *currency,
            _f("CloseDate", "date"),
            _f("Probability", "percent"),
            _f("ForecastCategory", "picklist"),
            _f("IsDeleted", "boolean"),
            _f("CreatedDate", "datetime"),
            modstamp,
        ),
        "Period": (
            _f("Id", "id"),
            _f("Type", "picklist"),
            _f("StartDate", "date"),
            _f("EndDate", "date"),
            _f("Number", "int"),
            _f("FullyQualifiedLabel"),
            _f("IsForecastPeriod", "boolean"),
            modstamp,
        ),
        "ForecastingQuota": (
            _f("Id", "id"),
            _f("QuotaOwnerId", "reference", "User", "QuotaOwner"),
            _f("QuotaAmount", "currency"),
            _f("QuotaQuantity", "double"),
            _f("IsAmount", "boolean"),
            _f("IsQuantity", "boolean"),
            _f("StartDate", "date"),
            _f("PeriodId", "reference", "Period", "Period"),
            _f("ForecastingTypeId", "reference"),
            *currency,
            *stamp,
            modstamp,
        ),
    }
    if multi_currency:
        schema["CurrencyType"] = (
            _f("Id", "id"),
            _f("IsoCode", "picklist"),
            _f("ConversionRate", "double"),
            _f("DecimalPlaces", "int"),
            _f("IsActive", "boolean"),
            _f("IsCorporate", "boolean"),
            modstamp,
        )
        schema["DatedConversionRate"] = (
            _f("Id", "id"),
            _f("IsoCode", "picklist"),
            _f("ConversionRate", "double"),
            _f("StartDate", "date"),
            _f("NextStartDate", "date"),
            modstamp,
        )
    return schema
