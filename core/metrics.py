"""The catalogue of KPIs that `marts.kpi_values` holds (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass

DEAL_SCOPES = ("company", "team", "owner", "segment", "region", "pipeline", "channel")
ACCOUNT_SCOPES = ("company", "segment", "region")
GRAINS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # count, ratio, days, or "currency" (the reporting currency code in the marts)
    additive: bool  # objectives: actual is the total from start through as_of
    scopes: tuple[str, ...]
    grains: tuple[str, ...] = GRAINS
    description: str = ""


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("won_deals", "count", True, DEAL_SCOPES, description="deals won"),
        Metric("lost_deals", "count", True, DEAL_SCOPES, description="deals lost"),
        Metric("win_rate", "ratio", False, DEAL_SCOPES, description="won / (won + lost)"),
        Metric("won_revenue", "currency", True, DEAL_SCOPES, description="revenue won"),
        Metric("avg_deal_size", "currency", False, DEAL_SCOPES, description="won revenue / won"),
        Metric("deals_created", "count", True, DEAL_SCOPES, description="deals created"),
        Metric("sales_cycle_days", "days", False, DEAL_SCOPES, description="median days to win"),
        Metric("pipeline_value", "currency", False, DEAL_SCOPES, description="open pipeline"),
        Metric(
            "weighted_pipeline_value",
            "currency",
            False,
            DEAL_SCOPES,
            description="open pipeline weighted by stage probability",
        ),
        Metric("new_customers", "count", True, DEAL_SCOPES, description="first wins"),
        Metric("churn_rate", "ratio", False, ACCOUNT_SCOPES, description="accounts lost"),
        Metric("arpa", "currency", False, ACCOUNT_SCOPES, description="MRR per active account"),
        Metric(
            "ltv",
            "currency",
            False,
            ACCOUNT_SCOPES,
            grains=("month",),
            description="arpa x margin / mean monthly churn",
        ),
        Metric("gross_margin", "currency", True, DEAL_SCOPES, description="won revenue - cost"),
        Metric("margin_rate", "ratio", False, DEAL_SCOPES, description="gross margin / revenue"),
        Metric(
            "repeat_purchase_rate",
            "ratio",
            False,
            DEAL_SCOPES,
            description="buyers who had bought before / buyers",
        ),
        Metric("won_revenue_share", "ratio", False, DEAL_SCOPES, description="share of revenue"),
        Metric("won_deals_share", "ratio", False, DEAL_SCOPES, description="share of won deals"),
        Metric(
            "new_customers_share",
            "ratio",
            False,
            DEAL_SCOPES,
            description="share of new customers",
        ),
        Metric("active_customers", "count", False, ACCOUNT_SCOPES, description="active accounts"),
        Metric(
            "active_customers_share",
            "ratio",
            False,
            ACCOUNT_SCOPES,
            description="share of active accounts",
        ),
        Metric("retention_rate", "ratio", False, ACCOUNT_SCOPES, description="1 - churn rate"),
        Metric(
            "customer_tenure_days",
            "days",
            False,
            ACCOUNT_SCOPES,
            description="mean days since the first contract",
        ),
    )
}
