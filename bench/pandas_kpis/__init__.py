"""The KPIs of DESIGN.md at month grain, every metric and scope, in plain pandas/numpy.

The "is it worth it over a pandas script?" side of `pandas_vs_marts`: what an analyst
fluent in pandas would write against the same raw tables (`raw_files.*` of the build
file), vectorised (no Python loop over deals), money in integer cents so sums are exact.
It follows the rules of the marts (DESIGN.md and the dbt models): the as-of cut, local
dates in the reporting timezone, conversion at the latest rate on or before the close
(creation while open) date rounded half up to the cent, scope universes, pipeline
snapshots at t = min(next period start, as_of + 1 day) with the stage each deal was in,
active runs of accounts for churn and arpa, ltv over the complete months m-11..m.

`compare` checks its result against `marts.kpi_values` (month rows), so the benchmark
times a script that computes the same numbers, not a simpler problem.

The package exports what `bench/run.py` calls: `read_inputs` (inputs.py), `month_kpis`
(kpis.py, from deals.py, deal_metrics.py and account_metrics.py) and `compare` (compare.py).
"""

from bench.pandas_kpis.compare import Comparison, compare
from bench.pandas_kpis.inputs import PandasKpiError, RunSettings, read_inputs
from bench.pandas_kpis.kpis import month_kpis

__all__ = ["Comparison", "PandasKpiError", "RunSettings", "compare", "month_kpis", "read_inputs"]
