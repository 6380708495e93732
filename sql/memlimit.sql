-- pg_backtest.max_memory: one call's arrays are bounded (superuser-only).
\set VERBOSITY default
SET TimeZone = 'UTC';
SELECT setting::bigint >= 65536 AS sane_default, unit, context
FROM pg_settings WHERE name = 'pg_backtest.max_memory';

CREATE TABLE big (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO big SELECT 'A', '2020-01-01 00:00+00'::timestamptz + i * interval '1 minute',
       100 + sin(i / 50.0), 101 + sin(i / 50.0), 99 + sin(i / 50.0), 100 + sin(i / 40.0), 1
FROM generate_series(0, 39999) i;
ANALYZE big;
SELECT bars FROM backtest_run('big', 'A', 'sma_cross');

SET pg_backtest.max_memory = '1MB';
SHOW pg_backtest.max_memory;
-- every entry point that reads bars stops before the arrays outgrow the limit
SELECT bars FROM backtest_run('big', 'A', 'sma_cross');
SELECT count(*) FROM backtest_trades('big', 'A', 'sma_cross');
SELECT count(*) FROM backtest_equity_query('SELECT * FROM big ORDER BY ts', 'sma_cross');
SELECT count(*) FROM backtest_indicator('big', 'A', 'sma', '{}');
SELECT count(*) FROM backtest_sweep('big', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}');
SELECT count(*) FROM backtest_walk_forward('big', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}', '{}', '10 days', '5 days');
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).bars FROM big;
-- a narrower range fits
SELECT bars FROM backtest_run('big', 'A', 'sma_cross', '{}', '2020-01-01', '2020-01-05');
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).bars FROM big WHERE ts < '2020-01-05';

-- the big-array allocator counts its mappings against the same limit
RESET pg_backtest.max_memory;
SET pg_backtest.max_memory = '40MB';
INSERT INTO big SELECT 'B', '2020-01-01 00:00+00'::timestamptz + i * interval '1 minute',
       100 + sin(i / 50.0), 101 + sin(i / 50.0), 99 + sin(i / 50.0), 100 + sin(i / 40.0), 1
FROM generate_series(0, 299999) i;
-- (terse: what the arrays take depends on the page size the kernel maps)
\set VERBOSITY terse
SELECT bars FROM backtest_run('big', 'B', 'sma_cross');
SELECT count(*) FROM backtest_sweep('big', 'B', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}');
\set VERBOSITY default
RESET pg_backtest.max_memory;
SELECT bars FROM backtest_run('big', 'B', 'sma_cross');

-- a portfolio's engine arrays come from 2 MB slabs (bigalloc.c, arena mode);
-- the limit counts what is cut from them, not the slabs, so a small
-- portfolio runs under 1 MB, and gives what it gives without the limit
CREATE TABLE pfs AS
SELECT 'S' || s AS symbol, '2020-01-01 00:00+00'::timestamptz + i * interval '1 day' AS ts,
       100 + s + sin(i / 9.0 + s) AS open, 101 + s + sin(i / 9.0 + s) AS high,
       99 + s + sin(i / 9.0 + s) AS low, 100 + s + sin(i / 7.0 + s) AS close, 1::float8 AS volume
FROM generate_series(0, 199) i, generate_series(1, 3) s;
CREATE TEMP TABLE pfs_free AS SELECT * FROM backtest_portfolio('pfs', 'sma_cross');
SET pg_backtest.max_memory = '1MB';
SELECT r.n_symbols, r.trades_count, r IS NOT DISTINCT FROM f AS same_as_without_limit
FROM backtest_portfolio('pfs', 'sma_cross') r, pfs_free f;
RESET pg_backtest.max_memory;
DROP TABLE pfs;

-- pg_backtest.keep_memory: freed arrays are kept (MADV_FREE) for the next
-- calls of this backend; what they hold must never leak into a result, so
-- calls that reuse kept pages give exactly what calls on fresh pages give
SELECT setting::bigint BETWEEN 1024 AND 1048576 AS sane_default, unit, context
FROM pg_settings WHERE name = 'pg_backtest.keep_memory';
CREATE TEMP TABLE keep_off (k int, r text);
SET pg_backtest.keep_memory = 0;
INSERT INTO keep_off SELECT 1, r::text FROM backtest_run('big', 'B', 'sma_cross') r;
INSERT INTO keep_off SELECT 2, r::text FROM backtest_run('big', 'B', 'sma_cross', '{"fast": 7, "slow": 40}') r;
INSERT INTO keep_off SELECT 3, r::text FROM backtest_run_all('big', 'sma_cross') r;
INSERT INTO keep_off SELECT 4, r::text
FROM (SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).* FROM big GROUP BY symbol) r;
RESET pg_backtest.keep_memory;
-- runs of other sizes first leave pages behind
SELECT count(*) > 0 AS ran FROM backtest_sweep('big', 'B', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}');
SELECT count(*) > 0 AS ran FROM backtest_trades('big', 'A', 'sma_cross');
CREATE TEMP TABLE keep_on (k int, r text);
INSERT INTO keep_on SELECT 1, r::text FROM backtest_run('big', 'B', 'sma_cross') r;
INSERT INTO keep_on SELECT 2, r::text FROM backtest_run('big', 'B', 'sma_cross', '{"fast": 7, "slow": 40}') r;
INSERT INTO keep_on SELECT 3, r::text FROM backtest_run_all('big', 'sma_cross') r;
INSERT INTO keep_on SELECT 4, r::text
FROM (SELECT symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).* FROM big GROUP BY symbol) r;
SELECT k, count(*) AS rows,
	   count(*) FILTER (WHERE (k, r) NOT IN (SELECT k, r FROM keep_off)) AS differing
FROM keep_on GROUP BY k ORDER BY k;
DROP TABLE keep_off, keep_on;

-- only a superuser may change them
CREATE ROLE regress_bt_mem;
GRANT SELECT ON big TO regress_bt_mem;
SET ROLE regress_bt_mem;
SET pg_backtest.max_memory = '100GB';
SET pg_backtest.keep_memory = '100GB';
SELECT bars FROM backtest_run('big', 'A', 'sma_cross');
RESET ROLE;
REVOKE ALL ON big FROM regress_bt_mem;
DROP ROLE regress_bt_mem;
