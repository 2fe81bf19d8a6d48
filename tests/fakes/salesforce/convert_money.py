"""Quotas (Period, ForecastingQuota) and currencies (DatedConversionRate, CurrencyType)
converted from the files contract, and the SQL pieces every conversion uses.

Separate from `convert.py` (people, accounts, stages, opportunities and their history):
these are the amounts deals are measured against.
"""

from __future__ import annotations

from tests.fakes.salesforce.schema import KEY_PREFIXES

# The org's founding day (a month before its first record), as SQL: set by `_convert`.
FOUNDED_SQL = "(SELECT founded FROM org_clock)"


def record_ids(sobject: str, order: str) -> str:
    """SQL for record ids of `sobject`: its key prefix and a row number in `order`."""
    return (
        f"'{KEY_PREFIXES[sobject]}' || lpad(CAST(row_number() OVER (ORDER BY {order}) "
        "AS VARCHAR), 15, '0')"
    )


class MoneyConversion:
    """Mixed into SalesforceOrg through OrgConversion: `_insert` and `con`."""

    def _convert_quotas(self, corporate: str) -> None:
        """Forecasting periods and quotas from `QUOTAS` rows."""
        quota_ids = record_ids("ForecastingQuota", "q.owner_id, q.period_start")
        self._insert(
            "Period",
            "FROM (SELECT DISTINCT period_start, period_end FROM src_quotas)",
            Id=record_ids("Period", "period_start, period_end"),
            Type=(
                "CASE date_diff('month', period_start, period_end + 1) WHEN 1 THEN 'Month' "
                "WHEN 3 THEN 'Quarter' WHEN 12 THEN 'Year' ELSE 'Month' END"
            ),
            StartDate="period_start",
            EndDate="period_end",
            Number="month(period_start)",
            FullyQualifiedLabel="strftime(period_start, '%B FY%Y')",
            IsForecastPeriod="true",
            SystemModstamp=FOUNDED_SQL,
        )
        self._insert(
            "ForecastingQuota",
            'FROM src_quotas q JOIN "Period" p ON p."StartDate" = q.period_start '
            'AND p."EndDate" = q.period_end',
            Id=f"coalesce(q.quota_id, {quota_ids})",
            QuotaOwnerId="q.owner_id",
            QuotaAmount="CAST(q.amount AS DOUBLE)",
            IsAmount="true",
            IsQuantity="false",
            StartDate="q.period_start",
            PeriodId='p."Id"',
            ForecastingTypeId="'0Db000000000001AAA'",
            CurrencyIsoCode=f"coalesce(q.currency, {corporate})",
            CreatedDate=FOUNDED_SQL,
            LastModifiedDate=FOUNDED_SQL,
            SystemModstamp=FOUNDED_SQL,
        )

    def _convert_rates(self, corporate: str) -> None:
        # ConversionRate is units of the currency per unit of the corporate currency: the
        # inverse of the files contract's rate. The first dated rate of a currency holds
        # from 0001-01-01, as in an org where advanced currency management was enabled.
        self.con.execute(
            f"""
            CREATE TEMP TABLE rate_rows AS
            SELECT currency AS iso, 1.0 / CAST(rate AS DOUBLE) AS conversion_rate,
                   CASE WHEN row_number() OVER (PARTITION BY currency ORDER BY date) = 1
                        THEN DATE '0001-01-01' ELSE date END AS start_date,
                   coalesce(lead(date) OVER (PARTITION BY currency ORDER BY date),
                            DATE '9999-12-31') AS next_start_date
            FROM src_fx_rates WHERE currency <> {corporate}
            UNION ALL
            SELECT {corporate}, 1.0, DATE '0001-01-01', DATE '9999-12-31'
            """
        )
        self._insert(
            "DatedConversionRate",
            "FROM rate_rows",
            Id=record_ids("DatedConversionRate", "iso, start_date"),
            IsoCode="iso",
            ConversionRate="conversion_rate",
            StartDate="start_date",
            NextStartDate="next_start_date",
            SystemModstamp=FOUNDED_SQL,
        )
        self._insert(
            "CurrencyType",
            "FROM (SELECT iso, arg_max(conversion_rate, start_date) AS rate FROM rate_rows "
            "GROUP BY iso UNION SELECT DISTINCT currency, NULL FROM src_deals "
            "WHERE currency NOT IN (SELECT iso FROM rate_rows))",
            Id=record_ids("CurrencyType", "iso"),
            IsoCode="iso",
            ConversionRate="coalesce(rate, 1.0)",
            DecimalPlaces="2",
            IsActive="true",
            IsCorporate=f"iso = {corporate}",
            SystemModstamp=FOUNDED_SQL,
        )
