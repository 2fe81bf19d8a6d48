"""The names `objectives.yml` allows: its fields at each level, the required ones, the id pattern.

One place for the file's vocabulary, which the checks use both to accept a key and to
list the allowed ones in a message.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"[a-z0-9-]+")
TOP_LEVEL_FIELDS = ("objectives", "okrs")
OBJECTIVE_FIELDS = (
    "id",
    "title",
    "metric",
    "scope",
    "period",
    "grain",
    "direction",
    "target",
    "baseline",
    "milestones",
    "thresholds",
    "split",
)
REQUIRED_OBJECTIVE_FIELDS = ("id", "metric", "period", "target")
PERIOD_FIELDS = ("start", "end")
MILESTONE_FIELDS = ("date", "value")
THRESHOLD_FIELDS = ("at_risk", "off_track")
OKR_FIELDS = ("id", "title", "key_results")
KEY_RESULT_FIELDS = ("objective", "weight")
SPLIT_SCOPES = ("team", "owner", "segment", "region", "pipeline")
SPLIT_FIELDS = (*SPLIT_SCOPES, "target", "share")
REQUIRED_OKR_FIELDS = ("id", "key_results")

# churn_rate is the mean of the complete months in the period and ltv its last complete
# month (DESIGN.md, objective_progress): a (sub-)period holding no whole calendar month
# would never have an actual value.
MONTH_MEASURED_METRICS = frozenset({"churn_rate", "ltv"})
