"""The `crm-kpi` commands, one module per group; `crm_kpi/cli.py` registers them in order."""
