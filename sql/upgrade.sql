-- Upgrades: install the first release, step through every ALTER EXTENSION
-- UPDATE, and check the result has exactly the objects of a fresh install
-- and still computes the same backtest.
\set VERBOSITY default
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_bt_upgrade;
\c regress_bt_upgrade
SET client_min_messages = warning;

CREATE EXTENSION pg_backtest VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_backtest';
SELECT target, path FROM pg_extension_update_paths('pg_backtest')
WHERE source = '0.1.0' AND path IS NOT NULL ORDER BY target;
ALTER EXTENSION pg_backtest UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_backtest';

-- the members of the upgraded extension
CREATE TABLE upgraded AS
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_backtest');

-- a fresh install of the current version, in a fresh database
\c :regress_db
CREATE DATABASE regress_bt_fresh;
\c regress_bt_fresh
SET client_min_messages = warning;
CREATE EXTENSION pg_backtest;
CREATE TABLE fresh AS
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_backtest');
-- carried to the other database in a psql variable (no shared temp file,
-- which concurrent runs or another OS user could own)
SELECT pg_catalog.array_agg(object ORDER BY object)::text AS fresh_objects FROM fresh \gset

\c regress_bt_upgrade
CREATE TEMP TABLE fresh AS SELECT pg_catalog.unnest(:'fresh_objects'::text[]) AS object;
SELECT count(*) > 50 AS many_fresh_objects FROM fresh;
SELECT count(*) > 50 AS many_objects FROM upgraded;
-- objects only in one of them (expect none)
(SELECT object, 'only after upgrade' AS where_ FROM upgraded EXCEPT SELECT object, 'only after upgrade' FROM fresh)
UNION ALL
(SELECT object, 'only in fresh install' FROM fresh EXCEPT SELECT object, 'only in fresh install' FROM upgraded)
ORDER BY 1;

-- and it still works
CREATE TABLE k (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO k SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day',
       100 + 10 * sin(i / 9.0), 102 + 10 * sin(i / 9.0), 98 + 10 * sin(i / 9.0), 100 + 10 * sin(i / 9.0), 1
FROM generate_series(0, 299) i;
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final FROM backtest_run('k', 'A', 'sma_cross', '{"fast": 5, "slow": 20}');

\c :regress_db
DROP DATABASE regress_bt_upgrade;
DROP DATABASE regress_bt_fresh;
