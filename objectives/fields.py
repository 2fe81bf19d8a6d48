"""The names `objectives.yml` allows: its fields at each level, the required ones, the id pattern.

One place for the file's vocabulary, which the checks use both to accept a key and to
list the allowed ones in a message.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"[a-z0-9-]+")
TOP_LEVEL_FIELDS = ("objectives", "okrs", "manual_metrics")
OBJECTIVE_FIELDS = (
    "id",
    "title",
    "metric",
    "scope",
    "period",
    "grain",
    "direction",
    "target",
    "target_change",
    "baseline",
    "milestones",
    "thresholds",
    "revisions",
    "split",
)
# `target` too, or its typed relative form `target_change`: checked with the target.
REQUIRED_OBJECTIVE_FIELDS = ("id", "metric", "period")
PERIOD_FIELDS = ("start", "end")
MILESTONE_FIELDS = ("date", "value")
THRESHOLD_FIELDS = ("at_risk", "off_track")
BASELINE_FIELDS = ("period",)
REVISION_FIELDS = ("from", "target", "reason")
OKR_FIELDS = ("id", "title", "key_results")
KEY_RESULT_FIELDS = ("objective", "weight")
SPLIT_SCOPES = ("team", "owner", "segment", "region", "pipeline")
SPLIT_FIELDS = (*SPLIT_SCOPES, "target", "share")
REQUIRED_OKR_FIELDS = ("id", "key_results")

# churn_rate and retention_rate are the mean of the complete months in the period and ltv
# its last complete
# month (DESIGN.md, objective_progress): a (sub-)period holding no whole calendar month
# would never have an actual value.
MONTH_MEASURED_METRICS = frozenset({"churn_rate", "retention_rate", "ltv"})

# Manual metrics (docs/objectives.md, "Manual metrics"): ids are metric names, so they
# take '_' as the CRM's metrics do, never '-'.
MANUAL_METRIC_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MANUAL_METRIC_FIELDS = ("id", "title", "unit", "aggregation", "scopes")
REQUIRED_MANUAL_METRIC_FIELDS = ("id", "unit", "aggregation")
MANUAL_UNITS = ("count", "ratio", "days", "currency")
# Any other unit is a word for what is counted: "patents", "media mentions".
MANUAL_UNIT_WORD = re.compile(r"[a-z][a-z -]{0,29}")
AGGREGATIONS = ("sum", "last", "mean")
MANUAL_VALUE_FIELDS = ("date", "metric", "value", "scope_type", "scope_value", "note")
REQUIRED_MANUAL_VALUE_FIELDS = ("date", "metric", "value")
