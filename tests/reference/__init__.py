"""An independent pandas implementation of the KPIs, to check the dbt marts against."""
