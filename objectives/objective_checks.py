"""The check of one objective: every field in turn, then the rules that tie fields together.

`check_objective` builds an `Objective` only when its fields raised no problem; the
period, milestone and threshold checks it calls live in their own mixins.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from core.metrics import METRICS
from objectives.aim_checks import Aim, AimChecks
from objectives.fields import MONTH_MEASURED_METRICS, OBJECTIVE_FIELDS, REQUIRED_OBJECTIVE_FIELDS
from objectives.model import (
    COMPANY_SCOPE,
    DEFAULT_AT_RISK,
    DEFAULT_OFF_TRACK,
    GRAINS,
    Milestone,
    Objective,
)
from objectives.period_checks import PeriodChecks
from objectives.split_checks import SplitChecks, SplitPart
from objectives.target_checks import TargetChecks
from objectives.yaml_nodes import is_null, kind_of, suggest


class ObjectiveChecks(PeriodChecks, TargetChecks, AimChecks, SplitChecks):
    """One objective of the file."""

    def check_objective(
        self,
        node: Node,
        position: int,
        declared: dict[str, int],
        splits: dict[str, tuple[SplitPart, ...]] | None = None,
    ) -> Objective | None:
        """The objective, or None when it has a problem; its split parts, if any, go in
        `splits` under its id."""
        before = len(self.problems)
        subject, objective_id = self.identify(node, position, "objective", declared)
        if not isinstance(node, MappingNode):
            self.report(
                node,
                subject,
                None,
                f"must be a mapping of fields ({', '.join(REQUIRED_OBJECTIVE_FIELDS)}, ...), "
                f"got {kind_of(node)}",
            )
            return None
        f = self.fields(node, subject, OBJECTIVE_FIELDS, "an objective")
        for name in REQUIRED_OBJECTIVE_FIELDS:
            if name not in f:
                self.report(node, subject, name, f"is missing: {_REQUIRED_HELP[name]}")

        metric_name = None
        if "metric" in f:
            metric_name = self.text(f["metric"][1], subject, "metric")
            metric_name = metric_name.lower() if metric_name else None
            known = (*METRICS, *self.manual_metrics)
            if metric_name is not None and metric_name not in known:
                manual_ids = ", ".join(self.manual_metrics)
                self.report(
                    f["metric"][1],
                    subject,
                    "metric",
                    f"unknown metric '{metric_name}'{suggest(metric_name, known)}; "
                    f"the metrics are {', '.join(METRICS)}"
                    + (f", and this file's manual metrics {manual_ids}" if manual_ids else "")
                    + " (a metric no CRM holds is declared under manual_metrics:)",
                )
                metric_name = None
        metric = METRICS.get(metric_name) if metric_name else None
        manual = self.manual_metrics.get(metric_name) if metric_name else None
        ratio = (metric is not None and metric.unit == "ratio") or (
            manual is not None and manual.unit == "ratio"
        )

        title = objective_id or ""
        if "title" in f:
            title = self.text(f["title"][1], subject, "title") or title

        scope_type, scope_value = COMPANY_SCOPE
        if "scope" in f:
            scope = self.check_scope(f["scope"][1], subject, metric_name)
            if scope is not None:
                scope_type, scope_value = scope

        start = end = None
        if "period" in f:
            start, end = self.check_period(f["period"][1], subject)

        grain = None
        if "grain" in f and not is_null(f["grain"][1]):
            grain = self.choice(f["grain"][1], subject, "grain", GRAINS)
            if grain is not None and start is not None and end is not None:
                self.check_grain_bounds(f["grain"][1], f["period"][1], subject, grain, start, end)

        if metric_name in MONTH_MEASURED_METRICS:
            self.check_month_measured(f, subject, metric_name, grain, start, end)

        aim = self.check_aim(node, f, subject, metric_name, metric or manual, (start, end))

        milestones: tuple[Milestone, ...] = ()
        if "milestones" in f and not is_null(f["milestones"][1]):
            if grain is not None:
                self.report(
                    f["milestones"][1],
                    subject,
                    "milestones",
                    f"cannot be combined with grain {grain}: with a grain every {grain} gets "
                    "the full target; remove the grain or the milestones",
                )
            else:
                milestones = self.check_milestones(f["milestones"][1], subject, ratio, start, end)

        at_risk, off_track = DEFAULT_AT_RISK, DEFAULT_OFF_TRACK
        if "thresholds" in f and not is_null(f["thresholds"][1]):
            at_risk, off_track = self.check_thresholds(f["thresholds"][1], subject)

        split = f["split"][1] if "split" in f and not is_null(f["split"][1]) else None
        if split is not None and self._splittable(split, subject, manual is not None, aim):
            parts = self.check_split(split, subject, metric_name, scope_type)
            target = aim.target.value if aim is not None else None
            if target is not None and metric is not None:
                self.check_split_total(split, subject, parts, target, metric.additive)
            if splits is not None and objective_id:
                splits[objective_id] = parts

        if len(self.problems) > before:
            return None
        assert objective_id and metric_name and start and end and aim is not None
        return Objective(
            id=objective_id,
            title=title,
            metric=metric_name,
            scope_type=scope_type,
            scope_value=scope_value,
            period_start=start,
            period_end=end,
            grain=grain,
            direction=aim.direction,
            target=aim.target.value,
            baseline=aim.baseline,
            milestones=milestones,
            at_risk=at_risk,
            off_track=off_track,
            target_change=aim.target.change,
            target_rule=aim.target.rule,
            baseline_period=aim.baseline_period,
            revisions=aim.revisions,
        )

    def _splittable(self, node: Node, subject: str, manual: bool, aim: Aim | None) -> bool:
        """A split shares out one absolute target of a CRM metric (docs/objectives.md)."""
        if manual:
            why = "a manual metric has no team or owner in the CRM data to split it by"
        elif aim is not None and (aim.target.is_relative or aim.revisions):
            why = (
                "its parts share out one absolute target, and this target is "
                + ("relative" if aim.target.is_relative else "revised")
                + ": give the target as a number without revisions, or write each part as an "
                "objective of its own"
            )
        else:
            return True
        self.report(node, subject, "split", f"cannot be used here: {why}")
        return False

    def check_scope(
        self, node: Node, subject: str, metric_name: str | None
    ) -> tuple[str, str] | None:
        if metric_name in self.manual_metrics:
            return self.check_manual_scope(node, subject, self.manual_metrics[metric_name])
        allowed = tuple(
            s
            for s in (METRICS[metric_name].scopes if metric_name else METRICS["won_deals"].scopes)
            if s != "company"
        )
        example = (
            f"such as {{{allowed[0]}: {_SCOPE_EXAMPLES[allowed[0]]}}}; leave scope out for "
            "the whole company"
        )
        if not isinstance(node, MappingNode) or len(node.value) != 1:
            got = (
                f"a mapping with {len(node.value)} keys"
                if isinstance(node, MappingNode)
                else kind_of(node)
            )
            self.report(
                node,
                subject,
                "scope",
                f"must be a mapping with exactly one key among {', '.join(allowed)}, "
                f"{example}; got {got}",
            )
            return None
        key_node, value_node = node.value[0]
        key = key_node.value.strip().lower() if isinstance(key_node, ScalarNode) else ""
        if key not in allowed:
            why = (
                f"; {metric_name} is an account metric, measured only by {', '.join(allowed)}"
                if metric_name in METRICS
                and METRICS[metric_name].scopes != METRICS["won_deals"].scopes
                else ""
            )
            self.report(
                key_node,
                subject,
                "scope",
                f"'{key_node.value if isinstance(key_node, ScalarNode) else kind_of(key_node)}' "
                f"is not a scope of {metric_name or 'this metric'}{why}; use one of "
                f"{', '.join(allowed)} ({example})",
            )
            return None
        value = self.text(value_node, subject, f"scope.{key}")
        if value is None:
            return None
        return key, value


_SCOPE_EXAMPLES = {
    "team": "Enterprise",
    "owner": "'hubspot:1234'",
    "segment": "SMB",
    "region": "EMEA",
    "pipeline": "New business",
}

_REQUIRED_HELP = {
    "id": "give a unique name of lower-case letters, digits and '-', such as new-logos-monthly",
    "metric": f"give the KPI it is measured on, one of {', '.join(METRICS)}",
    "period": "give the dates it runs, such as {start: 2026-01-01, end: 2026-06-30}",
}
