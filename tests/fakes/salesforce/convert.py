"""The files contract converted into the org's objects, in DuckDB SQL, object by object.

Separate from `org.py`: this runs once, when the org is built, and is the one place the
files contract maps onto Salesforce's objects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fakes.salesforce.convert_money import FOUNDED_SQL, MoneyConversion, record_ids
from tests.fakes.salesforce.convert_products import ProductConversion
from tests.fakes.salesforce.schema import DEAL_TYPE_PICKLIST, ORG_ID


class OrgConversion(MoneyConversion, ProductConversion):
    """Mixed into SalesforceOrg: fills its tables from the `src_*` tables with `_insert`,
    reading `con`, `corporate_currency` and `multi_currency`; sets `clock`. Quotas and
    rates come from MoneyConversion, channels and products from ProductConversion."""

    def _convert(self) -> None:
        first = self.con.execute(
            """
            SELECT least(
                (SELECT min(created_at) FROM src_deals),
                (SELECT min(created_at) FROM src_accounts),
                (SELECT min(entered_at) FROM src_stage_history))
            """
        ).fetchone()[0]
        founded = (first or datetime(2020, 1, 1, tzinfo=UTC)).astimezone(UTC)
        founded = datetime(founded.year, founded.month, founded.day, tzinfo=UTC) - timedelta(
            days=30
        )
        self.con.execute(
            "CREATE TEMP TABLE org_clock AS SELECT ?::TIMESTAMPTZ AS founded", [founded]
        )
        corporate = f"'{self.corporate_currency}'"

        self._convert_people(corporate)
        self._convert_accounts(corporate)
        self._convert_stages()
        self._convert_opportunities()
        self._convert_channels()
        self._convert_products()
        self._convert_history()
        self._convert_quotas(corporate)
        if self.multi_currency:
            self._convert_rates(corporate)
        last = self.con.execute(
            'SELECT max(m) FROM (SELECT max("SystemModstamp") AS m FROM "Opportunity" '
            'UNION ALL SELECT max("SystemModstamp") FROM "OpportunityHistory" '
            'UNION ALL SELECT max("SystemModstamp") FROM "Account")'
        ).fetchone()[0]
        self.clock = (last or founded).astimezone(UTC) + timedelta(hours=1)

    def _convert_people(self, corporate: str) -> None:
        """The organization, its roles (one per team) and its users (the owners)."""
        self._insert(
            "Organization",
            "",
            Id=f"'{ORG_ID}'",
            Name="'Fake Org'",
            DefaultCurrencyIsoCode=corporate,
            SystemModstamp=FOUNDED_SQL,
        )
        self._insert(
            "UserRole",
            "FROM (SELECT DISTINCT team FROM src_owners WHERE team IS NOT NULL)",
            Id=record_ids("UserRole", "team"),
            Name="team",
            DeveloperName="regexp_replace(team, '\\W+', '_', 'g')",
            SystemModstamp=FOUNDED_SQL,
        )
        self._insert(
            "User",
            'FROM src_owners o LEFT JOIN "UserRole" r ON r."Name" = o.team',
            Id="o.owner_id",
            Name="o.name",
            Email="o.email",
            IsActive="true",
            UserRoleId='r."Id"',
            Department="o.team",
            UserType="'Standard'",
            CreatedDate=FOUNDED_SQL,
            LastModifiedDate=FOUNDED_SQL,
            SystemModstamp=FOUNDED_SQL,
        )

    def _convert_accounts(self, corporate: str) -> None:
        """Accounts, in the corporate currency."""
        self._insert(
            "Account",
            "FROM src_accounts",
            Id="account_id",
            Name="name",
            Type="'Customer'",
            Industry="industry",
            Segment__c="segment",
            Region__c="region",
            IsDeleted="false",
            CurrencyIsoCode=corporate,
            CreatedDate=f"coalesce(created_at, {FOUNDED_SQL})",
            LastModifiedDate=f"coalesce(created_at, {FOUNDED_SQL})",
            SystemModstamp=f"coalesce(created_at, {FOUNDED_SQL})",
        )

    def _convert_stages(self) -> None:
        """Record types (one per pipeline) and the one stage list Salesforce keeps."""
        self._insert(
            "RecordType",
            "FROM (SELECT DISTINCT pipeline FROM src_deals)",
            Id=record_ids("RecordType", "pipeline"),
            Name="pipeline",
            DeveloperName="regexp_replace(pipeline, '\\W+', '_', 'g')",
            SobjectType="'Opportunity'",
            IsActive="true",
            SystemModstamp=FOUNDED_SQL,
        )
        # Salesforce stages are one list for all record types: a stage keeps the
        # probability and order of its first pipeline.
        self.con.execute(
            """
            CREATE TEMP TABLE stage_list AS
            WITH given AS (
                SELECT stage, arg_min(probability, pipeline) AS probability,
                       min(display_order) AS display_order
                FROM src_stages GROUP BY stage
            ),
            used AS (
                SELECT stage, bool_or(status = 'won') AS won, bool_or(status <> 'open') AS closed,
                       bool_and(status = 'won') AS all_won, bool_and(status = 'lost') AS all_lost,
                       min(created_at) AS first_seen
                FROM src_deals GROUP BY stage
            )
            SELECT coalesce(g.stage, u.stage) AS stage,
                   coalesce(CAST(g.probability AS DOUBLE) * 100,
                            CASE WHEN u.all_won THEN 100 WHEN u.all_lost THEN 0 ELSE 50 END)
                       AS probability,
                   coalesce(g.display_order,
                            1000 + row_number() OVER (ORDER BY u.first_seen, u.stage))
                       AS display_order,
                   coalesce(u.won, false) AS won, coalesce(u.closed, false) AS closed
            FROM given g FULL OUTER JOIN used u ON u.stage = g.stage
            """
        )
        self._insert(
            "OpportunityStage",
            "FROM stage_list",
            Id=record_ids("OpportunityStage", "display_order, stage"),
            MasterLabel="stage",
            ApiName="stage",
            SortOrder="display_order",
            DefaultProbability="probability",
            ForecastCategory=(
                "CASE WHEN won THEN 'Closed' WHEN closed THEN 'Omitted' ELSE 'Pipeline' END"
            ),
            IsActive="true",
            IsClosed="closed",
            IsWon="won",
            CreatedDate=FOUNDED_SQL,
            LastModifiedDate=FOUNDED_SQL,
            SystemModstamp=FOUNDED_SQL,
        )

    def _convert_opportunities(self) -> None:
        """Opportunities, with the stage list's probabilities for open deals."""
        deal_type = "CASE d.deal_type " + " ".join(
            f"WHEN '{k}' THEN '{v}'" for k, v in DEAL_TYPE_PICKLIST.items()
        )
        modified = "coalesce(d.updated_at, d.closed_at, d.created_at)"
        self._insert(
            "Opportunity",
            'FROM src_deals d LEFT JOIN "RecordType" rt ON rt."Name" = d.pipeline '
            "LEFT JOIN stage_list s ON s.stage = d.stage",
            Id="d.deal_id",
            AccountId="d.account_id",
            OwnerId="d.owner_id",
            RecordTypeId='rt."Id"',
            Name="'Opportunity ' || d.deal_id",
            StageName="d.stage",
            Amount="CAST(d.amount AS DOUBLE)",
            CurrencyIsoCode="d.currency",
            # Salesforce keeps a close date, not a time; an open deal's is expected.
            CloseDate="coalesce(CAST(d.closed_at AS DATE), CAST(d.created_at AS DATE) + 90)",
            IsClosed="d.status <> 'open'",
            IsWon="d.status = 'won'",
            IsDeleted="false",
            Probability=(
                "CASE d.status WHEN 'won' THEN 100 WHEN 'lost' THEN 0 "
                "ELSE coalesce(s.probability, 50) END"
            ),
            ForecastCategory=(
                "CASE d.status WHEN 'won' THEN 'Closed' WHEN 'lost' THEN 'Omitted' "
                "ELSE 'Pipeline' END"
            ),
            Type=f"{deal_type} END",
            Contract_Start__c="d.contract_start",
            Contract_End__c="d.contract_end",
            MRR__c="CAST(d.mrr AS DOUBLE)",
            Cost__c="CAST(d.cost AS DOUBLE)",
            Loss_Reason__c="d.lost_reason",
            CreatedDate="d.created_at",
            LastModifiedDate=modified,
            SystemModstamp=modified,
        )

    def _convert_history(self) -> None:
        """OpportunityHistory rows from the stage history."""
        # Every stage change is a history row; every fourth deal also has an amount
        # change inside its first stage (same StageName), as real orgs do.
        self.con.execute(
            """
            CREATE TEMP TABLE history_rows AS
            WITH h AS (
                SELECT sh.deal_id, sh.stage, sh.entered_at,
                       lead(sh.entered_at) OVER (PARTITION BY sh.deal_id
                                                 ORDER BY sh.entered_at, sh.stage) AS next_at,
                       row_number() OVER (PARTITION BY sh.deal_id
                                          ORDER BY sh.entered_at, sh.stage) AS n,
                       dense_rank() OVER (ORDER BY sh.deal_id) AS deal_n
                FROM src_stage_history sh
            )
            SELECT deal_id, stage, entered_at AS at, 0 AS kind FROM h
            UNION ALL
            SELECT deal_id, stage,
                   date_trunc('millisecond',
                              to_timestamp((epoch(entered_at) + epoch(next_at)) / 2)),
                   1
            FROM h
            WHERE n = 1 AND deal_n % 4 = 0 AND next_at - entered_at > INTERVAL 2 SECOND
            """
        )
        self._insert(
            "OpportunityHistory",
            'FROM history_rows h JOIN "Opportunity" o ON o."Id" = h.deal_id '
            "LEFT JOIN stage_list s ON s.stage = h.stage",
            Id=record_ids("OpportunityHistory", "h.deal_id, h.at, h.kind, h.stage"),
            OpportunityId="h.deal_id",
            StageName="h.stage",
            Amount='o."Amount"',
            CurrencyIsoCode='o."CurrencyIsoCode"',
            CloseDate='o."CloseDate"',
            Probability="coalesce(s.probability, 50)",
            ForecastCategory='o."ForecastCategory"',
            IsDeleted="false",
            CreatedDate="h.at",
            SystemModstamp="h.at",
        )
