"""The report page as one Jinja template (HTML, stylesheet and the script that embeds
the charts): a data module, rendered by `html.render_html`.
"""

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="crm-kpi report">
<title>Sales scorecard as of {{ data.as_of }}</title>
<style>
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 24px 40px; }
header h1 { font-size: 22px; margin: 0 0 4px; }
header p { margin: 0; color: var(--muted); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin: 12px 0 4px; padding: 0; }
.chip { list-style: none; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600;
  font-size: 12px; }
section { margin-top: 26px; }
h2 { font-size: 17px; margin: 0 0 4px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.note { color: var(--muted); margin: 4px 0 10px; font-size: 13px; }
.grid { display: grid; gap: 14px 18px;
  grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); }
figure { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px;
  break-inside: avoid; page-break-inside: avoid; overflow-x: auto; }
figure.wide { grid-column: 1 / -1; }
.chart svg { max-width: 100%; height: auto; }
.chart[data-rendered="error"] { color: #cf222e; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.part { padding-left: 24px; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff;
  font-size: 12px; white-space: nowrap; }
.status.not_started, .status.no_data, .chip.not_started, .chip.no_data { color: var(--ink); }
.strip { display: flex; flex-wrap: wrap; gap: 2px; margin-top: 4px; }
.sub { padding: 0 4px; border-radius: 3px; color: #fff; font-size: 11px; white-space: nowrap; }
.sub.not_started, .sub.no_data { color: var(--ink); }
small.missed { display: block; color: var(--muted); }
.sev-critical { color: #cf222e; font-weight: 700; }
.sev-warning { color: #9a6700; font-weight: 600; }
.sev-info { color: var(--muted); }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4 portrait; margin: 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .grid { grid-template-columns: 1fr 1fr; gap: 6px 10px; }
  figure { border: none; padding: 0; overflow: visible; }
  h2, .note { break-after: avoid; page-break-after: avoid; }
  section { break-before: auto; }
  section.page { break-before: page; }
  .chart svg { max-width: 100%; height: auto; }
  table { font-size: 8pt; }
  th, td { padding: 3px 4px; }
  td.num { white-space: normal; }
  a { color: inherit; text-decoration: none; }
}
</style>
<script>
// vega-embed {{ embed_version }}, Vega {{ vega_version }}, Vega-Lite (bundled by vl-convert)
{{ bundle | safe }}
</script>
</head>
<body>
<main>
<header>
  <h1>Sales scorecard</h1>
  <p>Objectives as of <strong>{{ data.as_of }}</strong> (last complete day);
     KPIs from the marts built as of {{ data.built_as_of }}; amounts in {{ data.currency }}.</p>
  {% if counts %}
  <ul class="chips" aria-label="objectives by status">
    {% for status, count in counts %}
    <li class="chip {{ status }}" style="background: {{ colors[status] }}">
      {{ count }} {{ label(status) }}</li>
    {% endfor %}
  </ul>
  {% endif %}
</header>

<section id="objectives">
  <h2>Objectives</h2>
  {% if not data.card.objectives %}
  <p class="note">No objectives yet: write them in objectives.yml (or set CRM_KPI_OBJECTIVES),
     then run <code>crm-kpi objectives</code>.</p>
  {% else %}
  <p class="note">Bar: attainment, the share of the way from the baseline to the target
     (100 % = target reached). Black tick: where it should be today at the expected pace.
     Dashed line: the target.</p>
  <div class="grid">
    {{ figure(sections.attainment) }}
  </div>
  <table>
    <thead><tr><th>objective</th><th>scope</th><th>period</th><th>target</th><th>actual</th>
      <th>expected</th><th>attain.</th><th>pace</th><th>projected</th><th>status</th></tr></thead>
    <tbody>
    {% for line in objectives %}
      <tr>
        <td{% if line.part_label %} class="part"{% endif %}>{{ line.tree_title }}
          {% if line.source != 'file' %} <small>({{ line.source }})</small>{% endif %}
          {% if line.overall_status in ('at_risk', 'off_track', 'no_data')
                or (line.subperiods and line.overall_status == 'missed') %}
          <br><small>{{ line.overall_reason() }}</small>
          {% endif %}</td>
        <td>{{ line.scope }}</td>
        <td>{{ period(line) }}</td>
        <td class="num">{{ fmt(line.target, line.metric, line.unit) }}</td>
        <td class="num">{{ fmt(line.actual, line.metric, line.unit) }}</td>
        <td class="num">{{ fmt(line.expected if line.status != 'not_started' else None,
                               line.metric, line.unit) }}</td>
        <td class="num">{{ ratio(line.attainment) }}</td>
        <td class="num">{{ ratio(line.pace) }}</td>
        <td class="num">{{ fmt(line.projected, line.metric, line.unit) }}</td>
        <td><span class="status {{ line.overall_status }}"
          style="background: {{ colors[line.overall_status] }}">
          {{ label(line.overall_status) }}</span>
          {% if line.subperiods %}
          <div class="strip" aria-label="each {{ line.grain }}">
            {% for sub in line.subperiods %}
            <span class="sub {{ sub.status }}" style="background: {{ colors[sub.status] }}"
              title="{{ sub_title(line, sub) }}">{{ sub.label }}</span>
            {% endfor %}
          </div>
          <small class="missed">{{ line.missed_text() }}</small>
          {% endif %}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

{% if sections.history %}
<section id="history" class="page">
  <h2>Actual against expected, over the period</h2>
  <p class="note">Dots: the actual as measured each day, coloured by that day's status.
     Dashed line: the expected path from the baseline to the target.
     Blue rule: {{ data.as_of }}.</p>
  <div class="grid">
    {% for chart in sections.history %}{{ figure(chart) }}{% endfor %}
  </div>
  {% if sections.uncharted %}
  <p class="note">Not charted, no measurement inside their period so far:
     {% for line in sections.uncharted %}
     {{ line.title }} ({{ label(line.status) }}: {{ line.status_reason }})
     {%- if not loop.last %}; {% endif %}
     {% endfor %}.</p>
  {% endif %}
</section>
{% endif %}

{% if sections.okrs %}
<section id="okrs">
  <h2>OKRs</h2>
  <p class="note">Progress of an OKR: the mean of its key results' attainment, each clamped
     to 0-100 %; colour: the key result's status (for the OKR, its worst key result's).</p>
  <div class="grid">{{ figure(sections.okrs) }}</div>
</section>
{% endif %}

<section id="kpis" class="page">
  <h2>KPIs by month, company-wide</h2>
  <p class="note">The last {{ data.months | length }} months; the month holding
     {{ data.as_of }} is to date (faded point). Where an objective is set on a KPI, its
     scope is drawn too, with the objective's target as a tick on each month of its period
     (a total target, such as revenue for a quarter, pro rata of the month's days).</p>
  <div class="grid">
    {% for chart in sections.trends %}{{ figure(chart) }}{% endfor %}
  </div>
</section>

{% if sections.funnel %}
<section id="funnel">
  <h2>Funnel by stage</h2>
  <p class="note">Deals created since {{ data.funnel_since.strftime('%B %Y') }}, by the
     furthest stage they reached (a won deal reached every stage); young cohorts are still
     moving.</p>
  <div class="grid">{{ figure(sections.funnel) }}</div>
</section>
{% endif %}

<section id="customers">
  <h2>Customers: churn and lifetime value</h2>
  <p class="note">Churn: accounts active on the first day of the month and no longer active
     after its last (none for the month in progress). LTV: ARPA x gross margin / the mean
     monthly churn of the last 12 complete months.</p>
  <div class="grid">
    {% for chart in sections.customers %}{{ figure(chart) }}{% endfor %}
  </div>
</section>

<section id="flags">
  <h2>Open variance flags ({{ data.card.flags | length }})</h2>
  {% if data.card.flags %}
  <table>
    <thead><tr><th>severity</th><th>kind</th><th>what</th></tr></thead>
    <tbody>
    {% for flag in data.card.flags %}
      <tr><td class="sev-{{ flag.severity }}">{{ flag.severity }}</td>
          <td>{{ flag.flag_type | replace('_', ' ') }}</td><td>{{ flag.message }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="note">No flags as of {{ data.as_of }}.</p>
  {% endif %}
</section>

<footer>
  Generated {{ generated }} by <code>crm-kpi report</code> from serving.duckdb. KPI and
  objective definitions: <code>crm-kpi docs</code>.
</footer>
</main>
<script>
(function () {
  var specs = {{ specs | safe }};
  var options = {{ options | safe }};
  var pending = [];
  Object.keys(specs).forEach(function (id) {
    var el = document.getElementById(id);
    pending.push(vegaEmbed(el, specs[id], options).then(function () {
      el.setAttribute("data-rendered", "true");
    }).catch(function (error) {
      el.setAttribute("data-rendered", "error");
      el.textContent = "This chart could not be drawn: " + error;
    }));
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute("data-charts", "done");
  });
})();
</script>
</body>
</html>
"""
