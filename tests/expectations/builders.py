"""Small build databases with the shapes of the real one (raw_files, intermediate,
marts, raw_run), clean by construction, for tests that then add one defect each."""

from __future__ import annotations

from pathlib import Path

import duckdb

RUN_ID = "run-2"

SCHEMA_SQL = """
SET TimeZone = 'UTC';
CREATE SCHEMA raw_run;
CREATE TABLE raw_run.run_context AS
SELECT 'run-2' AS run_id, DATE '2026-07-15' AS as_of, 'EUR' AS reporting_currency,
       'UTC' AS timezone, 1 AS fiscal_year_start;

CREATE SCHEMA raw_files;
CREATE TABLE raw_files.deals (
    deal_id VARCHAR, account_id VARCHAR, owner_id VARCHAR, pipeline VARCHAR,
    stage VARCHAR, status VARCHAR, amount DECIMAL(18,2), currency VARCHAR,
    created_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ);
INSERT INTO raw_files.deals VALUES
    ('1', '10', '1', 'New Business', 'Closed Won', 'won', 10000, 'EUR',
     '2026-01-10 10:00:00+00', '2026-03-31 23:59:59+00', '2026-07-14 08:00:00+00'),
    ('2', '11', '2', 'New Business', 'Closed Won', 'won', 5000, 'USD',
     '2026-02-01 08:00:00+00', '2026-04-01 00:00:00+00', '2026-04-01 00:00:00+00'),
    ('3', '12', '2', 'New Business', 'Closed Lost', 'lost', 3000, 'EUR',
     '2026-02-15 08:00:00+00', '2026-04-20 09:00:00+00', '2026-04-20 09:00:00+00'),
    ('4', '10', '1', 'New Business', 'Proposal', 'open', 20000, 'EUR',
     '2026-03-05 08:00:00+00', NULL, '2026-03-05 08:00:00+00');
CREATE TABLE raw_files.stage_history (deal_id VARCHAR, stage VARCHAR, entered_at TIMESTAMPTZ);
INSERT INTO raw_files.stage_history VALUES
    ('1', 'Qualified', '2026-01-10 10:00:00+00'), ('1', 'Closed Won', '2026-03-31 23:59:59+00'),
    ('4', 'Qualified', '2026-03-05 08:00:00+00'), ('4', 'Proposal', '2026-04-01 08:00:00+00');
CREATE TABLE raw_files.accounts (
    account_id VARCHAR, name VARCHAR, segment VARCHAR, region VARCHAR, industry VARCHAR,
    created_at TIMESTAMPTZ);
INSERT INTO raw_files.accounts VALUES
    ('10', 'Acme', 'Enterprise', 'EMEA', 'Retail', '2025-01-01 00:00:00+00'),
    ('11', 'Globex', 'SMB', 'North America', 'Energy', '2025-02-01 00:00:00+00'),
    ('12', 'Initech', 'SMB', 'EMEA', 'Software', '2025-03-01 00:00:00+00');
CREATE TABLE raw_files.owners (owner_id VARCHAR, name VARCHAR, email VARCHAR, team VARCHAR);
INSERT INTO raw_files.owners VALUES
    ('1', 'Alice Martin', 'alice.martin@example.com', 'Enterprise'),
    ('2', 'Bob Chen', 'bob.chen@example.com', 'SMB');
CREATE TABLE raw_files.stages (
    pipeline VARCHAR, stage VARCHAR, probability DECIMAL(5,4), display_order INTEGER);
INSERT INTO raw_files.stages VALUES
    ('New Business', 'Qualified', 0.2, 1), ('New Business', 'Proposal', 0.5, 2),
    ('New Business', 'Closed Won', 1, 3), ('New Business', 'Closed Lost', 0, 4);
CREATE TABLE raw_files.fx_rates (date DATE, currency VARCHAR, rate DECIMAL(18,8));
INSERT INTO raw_files.fx_rates VALUES ('2026-01-01', 'USD', 0.85), ('2026-04-01', 'USD', 0.80);
CREATE TABLE raw_files._dlt_loads (
    load_id VARCHAR, schema_name VARCHAR, status BIGINT, inserted_at TIMESTAMPTZ,
    schema_version_hash VARCHAR);
INSERT INTO raw_files._dlt_loads VALUES
    ('1', 'files', 0, '2026-07-15 02:00:00+00', 'x');

CREATE SCHEMA intermediate;
CREATE TABLE intermediate.int_opportunities (
    opportunity_id VARCHAR, source VARCHAR, account_id VARCHAR, owner_id VARCHAR,
    pipeline VARCHAR, stage VARCHAR, status VARCHAR, amount DECIMAL(18,2), currency VARCHAR,
    amount_reporting DECIMAL(18,2), created_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
    deal_type VARCHAR, contract_start DATE, contract_end DATE, mrr DECIMAL(18,2),
    mrr_reporting DECIMAL(18,2), lost_reason VARCHAR, updated_at TIMESTAMPTZ,
    created_date DATE, closed_date DATE, fx_rate DECIMAL(18,8), fx_date DATE);
INSERT INTO intermediate.int_opportunities VALUES
    ('files:1', 'files', 'files:10', 'files:1', 'New Business', 'Closed Won', 'won', 10000,
     'EUR', 10000, '2026-01-10 10:00:00+00', '2026-03-31 23:59:59+00', 'new_business',
     '2026-04-01', '2027-03-31', 800, 800, NULL, '2026-03-31 23:59:59+00',
     '2026-01-10', '2026-03-31', 1, '2026-03-31'),
    ('files:2', 'files', 'files:11', 'files:2', 'New Business', 'Closed Won', 'won', 5000,
     'USD', 4000, '2026-02-01 08:00:00+00', '2026-04-01 00:00:00+00', 'renewal',
     '2026-04-01', '2026-04-01', NULL, NULL, NULL, '2026-04-01 00:00:00+00',
     '2026-02-01', '2026-04-01', 0.8, '2026-04-01'),
    ('files:3', 'files', 'files:12', 'files:2', 'New Business', 'Closed Lost', 'lost', 3000,
     'EUR', 3000, '2026-02-15 08:00:00+00', '2026-04-20 09:00:00+00', 'new_business',
     NULL, NULL, NULL, NULL, 'Price', '2026-04-20 09:00:00+00',
     '2026-02-15', '2026-04-20', 1, '2026-04-20'),
    ('files:4', 'files', 'files:10', 'files:1', 'New Business', 'Proposal', 'open', 20000,
     'EUR', 20000, '2026-03-05 08:00:00+00', NULL, 'expansion',
     NULL, NULL, NULL, NULL, NULL, '2026-03-05 08:00:00+00',
     '2026-03-05', NULL, 1, '2026-03-05');
CREATE TABLE intermediate.int_stage_history (
    opportunity_id VARCHAR, stage VARCHAR, entered_at TIMESTAMPTZ, exited_at TIMESTAMPTZ,
    entered_date DATE, stage_sequence BIGINT);
INSERT INTO intermediate.int_stage_history VALUES
    ('files:1', 'Qualified', '2026-01-10 10:00:00+00', '2026-03-31 23:59:59+00', '2026-01-10', 1),
    ('files:1', 'Closed Won', '2026-03-31 23:59:59+00', NULL, '2026-03-31', 2),
    ('files:4', 'Qualified', '2026-03-05 08:00:00+00', '2026-04-01 08:00:00+00', '2026-03-05', 1),
    ('files:4', 'Proposal', '2026-04-01 08:00:00+00', NULL, '2026-04-01', 2);
CREATE TABLE intermediate.int_accounts AS
SELECT 'files:' || account_id AS account_id, name, segment, region, industry, created_at
FROM raw_files.accounts;
CREATE TABLE intermediate.int_owners AS
SELECT 'files:' || owner_id AS owner_id, name, team FROM raw_files.owners;
CREATE TABLE intermediate.int_stages AS SELECT * FROM raw_files.stages;
CREATE TABLE intermediate.int_fx_rates AS SELECT * FROM raw_files.fx_rates;

CREATE SCHEMA marts;
CREATE TABLE marts.kpi_values (
    metric VARCHAR, grain VARCHAR, period_start DATE, scope_type VARCHAR, scope_value VARCHAR,
    value DOUBLE, numerator DOUBLE, denominator DOUBLE, unit VARCHAR, is_complete BOOLEAN,
    as_of DATE, source VARCHAR);
INSERT INTO marts.kpi_values
SELECT *, true AS is_complete, DATE '2026-07-15' AS as_of, 'crm' AS source FROM (VALUES
    ('won_deals', 'month', DATE '2026-03-01', 'company', 'all', 1, NULL, NULL, 'count'),
    ('won_deals', 'month', DATE '2026-04-01', 'company', 'all', 1, NULL, NULL, 'count'),
    ('won_deals', 'month', DATE '2026-04-01', 'team', 'SMB', 1, NULL, NULL, 'count'),
    ('win_rate', 'month', DATE '2026-04-01', 'company', 'all', 0.5, 1, 2, 'ratio'),
    ('churn_rate', 'month', DATE '2026-04-01', 'segment', 'SMB', 0, 0, 1, 'ratio'),
    ('won_revenue', 'month', DATE '2026-04-01', 'company', 'all', 4000, NULL, NULL, 'EUR'),
    ('sales_cycle_days', 'month', DATE '2026-04-01', 'company', 'all', 59, NULL, NULL, 'days')
);
CREATE TABLE marts.fct_opportunities AS
SELECT opportunity_id, source, account_id, owner_id, pipeline, stage, status, amount_reporting,
       created_at, closed_at, created_date, closed_date, 'SMB' AS team, 'SMB' AS segment,
       'EMEA' AS region
FROM intermediate.int_opportunities;
CREATE TABLE marts.dim_accounts AS
SELECT account_id, name, segment, region, industry, created_at,
       NULL::DATE AS first_won_date, false AS is_active_customer
FROM intermediate.int_accounts;
CREATE TABLE marts.dim_owners AS
SELECT owner_id, name, coalesce(team, '(none)') AS team FROM intermediate.int_owners;
"""


def make_build(path: Path, *defects: str) -> Path:
    """A clean build database at `path`, then each SQL statement of `defects` applied."""
    con = duckdb.connect(str(path))
    try:
        con.execute(SCHEMA_SQL)
        for statement in defects:
            con.execute(statement)
    finally:
        con.close()
    return path


def open_build(path: Path, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con
