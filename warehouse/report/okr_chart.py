"""The OKRs chart: each OKR's progress above its key results, faceted by OKR.

Apart from the objective charts because it draws OKRs (groups of objectives), not one
objective's measurements.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from warehouse.report.style import (
    LABEL_LIMIT,
    ReportChart,
    configure,
    facet_header,
    shorten,
    status_label,
    status_scale,
)
from warehouse.scorecard_lines import ObjectiveLine, OkrLine


def okr_chart(okrs: list[OkrLine], lines: list[ObjectiveLine]) -> ReportChart:
    """Each OKR's progress (mean of its key results' attainment, clamped to [0, 1]) above
    its key results, each coloured by its status; the header holds its weighted score
    and milestones reached, a key result's label its weight when not 1."""
    by_id = {line.objective_id: line for line in lines}
    rows: list[dict[str, Any]] = []
    okr_order: list[str] = []
    for okr in okrs:
        # The OKR scale's score (weighted) and the milestones reached beside the progress:
        # progress shows before the final figure (docs/objectives.md, "OKR scores").
        header = " · ".join(
            part
            for part in (
                okr.title,
                f"{0 if okr.progress is None else okr.progress:.0%}",
                f"score {okr.score_text()}",
                okr.milestones_text(),
            )
            if part
        )
        okr_order.append(header)
        rows.append(
            {
                "okr": header,
                "label": "Overall progress",
                "order": 0,
                "value": okr.progress or 0.0,
                "status": status_label(okr.worst_overall or okr.worst_status),
                "text": f"{(okr.progress or 0.0):.0%} "
                f"(worst: {status_label(okr.worst_overall or okr.worst_status)})",
            }
        )
        for index, objective_id in enumerate(okr.key_results, start=1):
            line = by_id.get(objective_id)
            if line is None:
                continue
            clamped = max(0.0, min(1.0, line.attainment or 0.0))
            rows.append(
                {
                    "okr": header,
                    "label": shorten(line.title)
                    + (f" (x{okr.weights[objective_id]:g})" if objective_id in okr.weights else ""),
                    "order": index,
                    "value": clamped,
                    "status": status_label(line.overall_status),
                    "text": f"{clamped:.0%}",
                }
            )
    statuses = {line.overall_status for line in lines} | {
        o.worst_overall or o.worst_status for o in okrs if o.worst_overall or o.worst_status
    }
    y = alt.Y(
        "label:N",
        sort=alt.EncodingSortField("order", op="min"),
        title=None,
        axis=alt.Axis(labelLimit=LABEL_LIMIT),
    )
    bars = (
        alt.Chart()
        .mark_bar(height=14, cornerRadiusEnd=2)
        .encode(
            x=alt.X(
                "value:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="progress (attainment, clamped to 0-100 %)",
            ),
            y=y,
            color=alt.Color(
                "status:N",
                scale=status_scale(statuses),
                legend=alt.Legend(title="status", orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="key result"),
                "status:N",
                alt.Tooltip("value:Q", format=".0%", title="progress"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1])), y=y, text="text:N")
    )
    chart = (
        alt.layer(bars, text, data=alt.Data(values=rows))
        .properties(width=360, height=alt.Step(24))
        .facet(
            row=alt.Row(
                "okr:N",
                sort=okr_order,
                title=None,
                header=facet_header(),
            ),
        )
        .resolve_scale(y="independent")
    )
    return ReportChart("okrs", "OKRs and their key results", configure(chart), wide=True)
