-- Bad input: every case gets a clear error (or, for empty ranges and short
-- data, zero trades and a NOTICE), never a crash or a silently wrong number.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

CREATE TABLE k (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO k
SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day',
       100 + 10 * sin(i / 7.0), 102 + 10 * sin(i / 7.0), 98 + 10 * sin(i / 7.0), 100.5 + 10 * sin(i / 7.0), 1000
FROM generate_series(0, 199) i;

-- unknown strategy: the hint lists the valid ones
SELECT backtest_run('k', 'A', 'macd_crossover');
SELECT backtest_run('k', 'A', NULL);
-- unknown parameter, wrong jsonb types, out of range
SELECT backtest_run('k', 'A', 'sma_cross', '{"fastt": 5}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fast": "5"}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fast": 5.5}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fast": 30, "slow": 10}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fast": 0}');
SELECT backtest_run('k', 'A', 'rsi', '{"period": -3}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"commission": -0.001}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"size": 0}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"size": 1.5}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"allow_short": "yes"}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fill": "vwap"}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"fill": 1}');
SELECT backtest_run('k', 'A', 'sma_cross', '[1, 2]');
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": "close"}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": {"price": "close"}}');
SELECT backtest_run('k', 'A', 'rsi', '{"lower": 70, "upper": 30}');

-- missing column (named), with a hint about the mapping
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": {"close": "adj_close"}}');
SELECT backtest_run_query('SELECT ts, open, high, low FROM k', 'sma_cross');
-- wrong column type
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": {"close": "symbol"}}');
-- hostile identifiers are quoted: they just name a column that does not exist
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": {"close": "close\"; DROP TABLE k; --"}}');
SELECT backtest_run('k', 'A', 'sma_cross', '{"columns": {"symbol": "symbol = symbol OR true --"}}');
SELECT count(*) FROM k;

-- NULL, NaN, infinity, high < low: the bar's timestamp is named
UPDATE k SET close = NULL WHERE ts = '2024-02-01';
SELECT backtest_run('k', 'A', 'sma_cross');
UPDATE k SET close = 'NaN' WHERE ts = '2024-02-01';
SELECT backtest_run('k', 'A', 'sma_cross');
UPDATE k SET close = 'Infinity' WHERE ts = '2024-02-01';
SELECT backtest_run('k', 'A', 'sma_cross');
UPDATE k SET close = 100, high = 90, low = 95 WHERE ts = '2024-02-01';
SELECT backtest_run('k', 'A', 'sma_cross');
UPDATE k SET high = 101, low = 99 WHERE ts = '2024-02-01';
UPDATE k SET volume = NULL WHERE ts = '2024-03-01';
SELECT trades_count FROM backtest_run('k', 'A', 'sma_cross'); -- volume is not read by sma_cross

-- duplicate and unsorted timestamps in a query source
SELECT backtest_run_query('SELECT * FROM k UNION ALL SELECT * FROM k ORDER BY ts', 'sma_cross');
SELECT backtest_run_query('SELECT * FROM k ORDER BY ts DESC', 'sma_cross');
-- two symbols without a symbol filter collide on timestamps
INSERT INTO k SELECT 'B', ts, open, high, low, close, 1000 FROM k WHERE symbol = 'A';
SELECT backtest_run('k', NULL, 'sma_cross');
SELECT backtest_run_query('SELECT 1 AS x; SELECT 2 AS y', 'sma_cross');
SELECT backtest_run_query('DELETE FROM k RETURNING *', 'sma_cross');

-- empty range: zero trades, a NOTICE, not an error
SELECT bars, trades_count, equity_final, return_pct, start_ts FROM backtest_run('k', 'NOPE', 'sma_cross');
SELECT bars, trades_count FROM backtest_run('k', 'A', 'sma_cross', '{}', '2030-01-01', '2030-12-31');
SELECT backtest_run('k', 'A', 'sma_cross', '{}', '2024-06-01', '2024-01-01');
SELECT count(*) FROM backtest_trades('k', 'NOPE', 'sma_cross');
-- a window longer than the data: no trades, a NOTICE
SELECT bars, trades_count, warmup_bars FROM backtest_run('k', 'A', 'sma_cross', '{"fast": 100, "slow": 500}');

-- a table the caller cannot read: permission error, nothing leaks
CREATE ROLE regress_bt_reader;
CREATE TABLE secret_k AS SELECT * FROM k;
REVOKE ALL ON secret_k FROM PUBLIC;
GRANT SELECT ON k TO regress_bt_reader;
SET ROLE regress_bt_reader;
SELECT backtest_run('secret_k', 'A', 'sma_cross');
SELECT trades_count FROM backtest_run('k', 'A', 'sma_cross');
RESET ROLE;

-- row-level security applies to the caller, as for any query
ALTER TABLE k ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_a ON k FOR SELECT TO regress_bt_reader USING (symbol = 'A');
SET ROLE regress_bt_reader;
SELECT bars FROM backtest_run('k', 'B', 'sma_cross');
SELECT bars FROM backtest_run('k', 'A', 'sma_cross');
RESET ROLE;
DROP POLICY only_a ON k;
ALTER TABLE k DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON k FROM regress_bt_reader;
DROP ROLE regress_bt_reader;

-- the aggregate and the array core check their input too
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}' ORDER BY ts DESC)).bars FROM k WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, NULL, 'sma_cross', '{}' ORDER BY ts)).bars FROM k WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, volume, 'nope', '{}' ORDER BY ts)).bars FROM k WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, volume, 'signal', '{}' ORDER BY ts)).bars FROM k WHERE symbol = 'A';
SELECT backtest_arrays(ARRAY[now()], ARRAY[1.0, 2.0], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], 'sma_cross');
SELECT backtest_arrays(NULL, ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], 'sma_cross');
SELECT backtest_arrays(ARRAY[now()], NULL, ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], 'sma_cross');
SELECT backtest_arrays(ARRAY[now()], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], ARRAY[[1.0]], ARRAY[1.0], 'sma_cross');
SELECT backtest_arrays(ARRAY[now()], ARRAY[1.0], ARRAY[NULL]::float8[], ARRAY[1.0], ARRAY[1.0], ARRAY[1.0], 'sma_cross');
SELECT (backtest_arrays('{}', '{}', '{}', '{}', '{}', '{}', 'sma_cross')).bars;

-- a signal outside [-1, 1]
SELECT backtest_run_query('SELECT ts, open, high, low, close, 2 AS signal FROM k WHERE symbol = ''A'' ORDER BY ts', 'signal');
-- a NaN signal is rejected, naming the bar (NULL means "keep"): query, table, aggregate, arrays
SELECT backtest_run_query('SELECT ts, open, high, low, close, CASE WHEN ts = ''2024-02-01'' THEN ''NaN''::float8 END AS signal FROM k WHERE symbol = ''A'' ORDER BY ts', 'signal');
CREATE TABLE ksig AS SELECT ts, open, high, low, close, CASE WHEN ts = '2024-03-01' THEN 'NaN'::float8 WHEN ts = '2024-01-10' THEN 1 END AS signal FROM k WHERE symbol = 'A';
SELECT backtest_run('ksig', NULL, 'signal');
SELECT (backtest(ts, open, high, low, close, NULL, signal, 'signal', '{}' ORDER BY ts)).trades_count FROM ksig;
SELECT (backtest_arrays(array_agg(ts ORDER BY ts), array_agg(open ORDER BY ts), array_agg(high ORDER BY ts),
        array_agg(low ORDER BY ts), array_agg(close ORDER BY ts), array_agg(1.0::float8), 'signal', '{}',
        array_agg(signal ORDER BY ts))).trades_count FROM ksig;
UPDATE ksig SET signal = NULL WHERE ts = '2024-03-01';
SELECT trades_count, open_trades FROM backtest_run('ksig', NULL, 'signal');
SELECT (backtest(ts, open, high, low, close, NULL, signal, 'signal', '{}' ORDER BY ts)).open_trades FROM ksig;
SELECT (backtest_arrays(array_agg(ts ORDER BY ts), array_agg(open ORDER BY ts), array_agg(high ORDER BY ts),
        array_agg(low ORDER BY ts), array_agg(close ORDER BY ts), array_agg(1.0::float8), 'signal', '{}',
        array_agg(signal ORDER BY ts))).open_trades FROM ksig;
DROP TABLE ksig;

-- subnormal prices (finite, positive) would overflow the position size: rejected, naming the bar
SELECT backtest_run_query('SELECT ts, open, high, CASE WHEN ts = ''2024-02-01'' THEN 4e-320 ELSE low END AS low, close FROM k WHERE symbol = ''A'' ORDER BY ts', 'sma_cross');
SELECT backtest_run_query('SELECT ts, open, CASE WHEN ts = ''2024-02-02'' THEN 1e150 ELSE high END AS high, low, close FROM k WHERE symbol = ''A'' ORDER BY ts', 'sma_cross');
SELECT (backtest(ts, CASE WHEN ts = '2024-02-03' THEN 1e-310 ELSE open END, high, low, close, volume, 'sma_cross', '{}' ORDER BY ts)).bars FROM k WHERE symbol = 'A';

-- one lot costs more than the cash: zero trades and a NOTICE saying why
SELECT trades_count, sharpe_ratio FROM backtest_run('k', 'A', 'sma_cross', '{"lot_size": 200}');
SELECT trades_count FROM backtest_run('k', 'A', 'sma_cross', '{"lot_size": 2000, "initial_capital": 100000, "commission": 0.001}');
SELECT trades_count FROM backtest_run('k', 'A', 'sma_cross', '{"fractional": true, "initial_capital": 2, "commission_fixed": 5}');
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{"lot_size": 200}' ORDER BY ts)).trades_count FROM k WHERE symbol = 'A';
-- a sweep says it once, not once per combination
SELECT count(*) FROM backtest_sweep('k', 'A', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}', '{"lot_size": 200}');

-- statement_timeout and cancellation are honoured in long runs
SET statement_timeout = '200ms';
SELECT backtest_run_query(
  'SELECT ''2000-01-01''::timestamptz + i * interval ''1 minute'' AS ts, 100.0 AS open, 101.0 AS high, 99.0 AS low,
          100 + sin(i) AS close, 1.0 AS volume FROM generate_series(1, 20000000) i', 'sma_cross');
RESET statement_timeout;
