"""The ground floor: settings, metrics, errors, credentials, DuckDB and dbt.

Every other package stands on it; it imports no other package of the project
(docs/architecture.md, "Floors").
"""
