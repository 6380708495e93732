-- backtest_sweep / backtest_sweep_query: grids (lists, ranges), constraints,
-- random samples, sorting and top, the typed parameter columns, parallel
-- workers, and every error.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
SET pg_backtest.sweep_workers = 1;

CREATE TABLE sweep_klines (
    symbol text NOT NULL DEFAULT 'SYN',
    ts     date NOT NULL,
    open   double precision,
    high   double precision,
    low    double precision,
    close  double precision,
    volume double precision,
    PRIMARY KEY (symbol, ts)
);
\copy sweep_klines (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)
ANALYZE sweep_klines;

-- A view with a signal column, for the signal strategy
CREATE VIEW sweep_signals AS
SELECT symbol, ts, open, high, low, close, volume,
       CASE WHEN bt_rsi(close, 14) OVER w < 35 THEN 1
            WHEN bt_rsi(close, 14) OVER w > 65 THEN -1 END AS signal
FROM sweep_klines
WINDOW w AS (PARTITION BY symbol ORDER BY ts);

-- Every metric of a sweep row against backtest_run with the same parameters:
-- how many rows, and how many are equal in all 37 columns (exactly).
CREATE FUNCTION sweep_check(source regclass, strategy text, grid jsonb, params jsonb DEFAULT '{}')
RETURNS TABLE (combos bigint, equal_to_backtest_run bigint)
LANGUAGE sql AS $$
SELECT count(*),
       count(*) FILTER (WHERE ROW(
           s.start_ts, s.end_ts, s.duration, s.bars, s.warmup_bars, s.exposure_pct,
           s.equity_final, s.equity_peak, s.commissions, s.return_pct, s.buy_hold_return_pct,
           s.return_ann_pct, s.volatility_ann_pct, s.cagr_pct, s.sharpe_ratio, s.sortino_ratio,
           s.calmar_ratio, s.max_drawdown_pct, s.avg_drawdown_pct, s.max_drawdown_duration,
           s.avg_drawdown_duration, s.trades_count, s.open_trades, s.win_rate_pct,
           s.best_trade_pct, s.worst_trade_pct, s.avg_trade_pct, s.max_trade_duration,
           s.avg_trade_duration, s.profit_factor, s.expectancy_pct, s.sqn, s.kelly_criterion,
           s.omega_ratio, s.periods_per_year, s.max_win_streak, s.max_loss_streak)::backtest_metrics IS NOT DISTINCT FROM r)
FROM backtest_sweep(sweep_check.source, 'SYN', sweep_check.strategy, sweep_check.grid,
                    sweep_check.params) s
CROSS JOIN LATERAL backtest_run(sweep_check.source, 'SYN', sweep_check.strategy,
                                sweep_check.params || s.params) r
$$;

-- A whole sweep as comparable rows (ordinality = position in the result)
CREATE FUNCTION sweep_rows(strategy text, grid jsonb, params jsonb DEFAULT '{}')
RETURNS TABLE (pos bigint, row_text text)
LANGUAGE sql AS $$
SELECT s.ordinality, (s.*)::text
FROM backtest_sweep('sweep_klines', 'SYN', sweep_rows.strategy, sweep_rows.grid, sweep_rows.params)
     WITH ORDINALITY AS s
$$;

-- ---------------------------------------------------------------------------
-- A 3 x 3 grid: one row per combination, sorted by sharpe_ratio descending,
-- p1 = fast and p2 = slow (the strategy's order, not jsonb's key order)
-- ---------------------------------------------------------------------------
SELECT ordinality AS pos, combo_no, params, p1_name, p1, p2_name, p2, p3_name, p3, p4_name, p4,
       round(sharpe_ratio::numeric, 6) AS sharpe_ratio, trades_count, bars
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"slow": [20, 30, 40], "fast": [5, 10, 15]}') WITH ORDINALITY
ORDER BY ordinality;

-- every row equals backtest_run with its parameters, in all 37 metrics
SELECT * FROM sweep_check('sweep_klines', 'sma_cross', '{"fast": [5, 10, 15], "slow": [20, 30, 40]}');
-- every other strategy, sweeping simulator parameters too (booleans, enums,
-- fractions)
SELECT * FROM sweep_check('sweep_klines', 'ema_cross', '{"fast": [5, 12], "slow": [26, 50], "fill": ["open", "close"]}');
SELECT * FROM sweep_check('sweep_klines', 'macd_cross', '{"signal": [5, 9], "allow_short": [false, true]}',
                          '{"commission": 0.001}');
SELECT * FROM sweep_check('sweep_klines', 'rsi', '{"lower": [20, 30], "upper": [70, 80], "stop_loss": [0, 0.05]}');
SELECT * FROM sweep_check('sweep_klines', 'bollinger', '{"period": [10, 20], "k": {"from": 1.5, "to": 2.5, "step": 0.5}, "exit_at_middle": [false, true]}');
SELECT * FROM sweep_check('sweep_klines', 'kdj', '{"period": [9, 14], "use_j": [false, true], "trailing_stop": [0, 0.1]}');
SELECT * FROM sweep_check('sweep_klines', 'donchian_breakout', '{"period": {"from": 10, "to": 40, "step": 10}, "take_profit": [0, 0.2]}');
SELECT * FROM sweep_check('sweep_klines', 'buy_and_hold', '{"size": [0.5, 1], "slippage_bps": [0, 5]}');
SELECT * FROM sweep_check('sweep_signals', 'signal', '{"allow_short": [false, true], "stop_loss": [0, 0.03]}');

-- ---------------------------------------------------------------------------
-- Ranges equal the lists they expand to; fractional steps end exactly
-- ---------------------------------------------------------------------------
SELECT count(*) AS combos,
       (SELECT count(*) FROM (SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 5, "to": 15, "step": 5}, "slow": {"from": 20, "to": 40, "step": 10}}')
                              EXCEPT SELECT * FROM sweep_rows('sma_cross', '{"fast": [5, 10, 15], "slow": [20, 30, 40]}')) d) AS range_minus_list,
       (SELECT count(*) FROM (SELECT * FROM sweep_rows('sma_cross', '{"fast": [5, 10, 15], "slow": [20, 30, 40]}')
                              EXCEPT SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 5, "to": 15, "step": 5}, "slow": {"from": 20, "to": 40, "step": 10}}')) d) AS list_minus_range
FROM sweep_rows('sma_cross', '{"fast": {"from": 5, "to": 15, "step": 5}, "slow": {"from": 20, "to": 40, "step": 10}}');
SELECT combo_no, params, p1_name, p1
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.1}}')
ORDER BY combo_no;
-- a range whose step does not reach "to" stops below it
SELECT array_agg(p1 ORDER BY combo_no) AS fast_values
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 2, "to": 10, "step": 3}}');

-- ---------------------------------------------------------------------------
-- Constraints, and combinations the strategy's own checks reject
-- ---------------------------------------------------------------------------
-- fast 5..50 x slow 10..100 under two constraints (number against
-- parameter, either way round) and the strategy's own fast < slow; the
-- expected count is computed in SQL
SELECT (SELECT count(*) FROM generate_series(5, 50, 5) f, generate_series(10, 100, 10) s
        WHERE s >= 20 AND 30 >= f AND f < s) AS expected,
       count(*) AS combos, min(p1) AS min_fast, max(p1) AS max_fast, min(p2) AS min_slow
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"fast": {"from": 5, "to": 50, "step": 5}, "slow": {"from": 10, "to": 100, "step": 10},
                      "constraint": ["slow >= 20", "30 >= fast"]}');
-- a single constraint string
SELECT count(*) AS combos, bool_and(p1 <> 10) AS no_fast_10
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"fast": [5, 10, 15], "slow": [20, 40, 60], "constraint": "fast != 10"}');
-- constraints and the strategy's checks (lower < upper) skip together
SELECT combo_no, params
FROM backtest_sweep('sweep_klines', 'SYN', 'rsi',
                    '{"lower": [20, 30, 40], "upper": [30, 40, 50], "constraint": "upper > 35"}')
ORDER BY combo_no;
-- parameter against parameter
SELECT combo_no, params
FROM backtest_sweep('sweep_klines', 'SYN', 'kdj',
                    '{"k_smooth": [2, 3, 4], "d_smooth": [2, 3, 4], "constraint": "d_smooth >= k_smooth"}')
ORDER BY combo_no;
-- a constraint on a parameter that is not swept compares its fixed value
SELECT count(*) AS combos
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10], "constraint": "commission <= 0.001"}',
                    '{"commission": 0.002}');
-- the strategy rejects fast >= slow: skipped with a NOTICE
SELECT combo_no, params FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                                            '{"fast": [5, 30], "slow": [20, 30]}') ORDER BY combo_no;
-- params may hold a value that only the swept ones make valid
-- (slow = 8 with the default fast = 10 would be invalid)
SELECT combo_no, params FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [3, 5]}',
                                            '{"slow": 8}') ORDER BY combo_no;
-- a constraint that rejects everything: no rows and a NOTICE, not an error
SELECT count(*) FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                                    '{"fast": [5, 10], "constraint": "fast > 100"}');

-- ---------------------------------------------------------------------------
-- Random samples: deterministic per seed, a subset of the full grid (combo_no
-- numbers the combinations run, so a sample's are 1..sample)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE full_grid AS
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                             '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10}}');
CREATE TEMP TABLE sample_a AS
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                             '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                               "sample": 25, "seed": 7}');
CREATE TEMP TABLE sample_b AS
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                             '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                               "sample": 25, "seed": 7}');
CREATE TEMP TABLE sample_c AS
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                             '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                               "sample": 25, "seed": 8}');
SELECT (SELECT count(*) FROM full_grid) AS full_rows,
       (SELECT count(*) FROM sample_a) AS sample_rows,
       (SELECT count(DISTINCT params) FROM sample_a) AS distinct_params,
       (SELECT count(*) FROM (TABLE sample_a EXCEPT TABLE sample_b) d) +
       (SELECT count(*) FROM (TABLE sample_b EXCEPT TABLE sample_a) d) AS same_seed_differences,
       (SELECT count(*) FROM (SELECT params FROM sample_a EXCEPT SELECT params FROM sample_c) d) > 0
           AS other_seed_differs,
       (SELECT count(*) FROM (SELECT params, sharpe_ratio, return_pct, trades_count FROM sample_a
                              EXCEPT
                              SELECT params, sharpe_ratio, return_pct, trades_count FROM full_grid) d)
           AS not_in_full_grid;
-- a sample larger than the grid is the whole grid
SELECT count(*) AS combos FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                                              '{"fast": [5, 10], "slow": [20, 30], "sample": 100}');
-- seed defaults to 0
SELECT (SELECT count(*) FROM (
          SELECT params FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 2, "to": 40, "step": 2}, "sample": 5}')
          EXCEPT
          SELECT params FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 2, "to": 40, "step": 2}, "sample": 5, "seed": 0}')) d)
       AS seed0_differences;

-- ---------------------------------------------------------------------------
-- Sorting and top
-- ---------------------------------------------------------------------------
-- default: sharpe_ratio descending, ties by combo_no
SELECT bool_and(ok) AS sorted_by_sharpe_desc FROM (
  SELECT coalesce(lag(sharpe_ratio) OVER (ORDER BY ordinality) >= sharpe_ratio, true) AS ok
  FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                      '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10}}')
       WITH ORDINALITY) x;
-- top 3 by return_pct: the first three of the full grid in that order
SELECT ordinality AS pos, combo_no, params, round(return_pct::numeric, 4) AS return_pct
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                      "sort_by": "return_pct", "top": 3}') WITH ORDINALITY;
SELECT combo_no, params, round(return_pct::numeric, 4) AS return_pct
FROM full_grid ORDER BY return_pct DESC, combo_no LIMIT 3;
-- lower is better for volatility: ascending
SELECT ordinality AS pos, combo_no, round(volatility_ann_pct::numeric, 4) AS volatility_ann_pct,
       (SELECT min(volatility_ann_pct) FROM full_grid) = volatility_ann_pct AS is_min
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                      "sort_by": "volatility_ann_pct", "top": 2}') WITH ORDINALITY;
-- drawdowns are <= 0: descending puts the shallowest first
SELECT ordinality AS pos, round(max_drawdown_pct::numeric, 4) AS max_drawdown_pct,
       (SELECT max(max_drawdown_pct) FROM full_grid) = max_drawdown_pct AS is_shallowest
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                    '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                      "sort_by": "max_drawdown_pct", "top": 2}') WITH ORDINALITY;
-- NULLs last: slow = 5000 never warms up on 3000 bars (no sharpe_ratio)
SELECT ordinality AS pos, combo_no, params, sharpe_ratio IS NULL AS sharpe_is_null, trades_count
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"slow": [5000, 30, 4000]}') WITH ORDINALITY;
-- ties keep combination order (trades_count ties are common)
SELECT bool_and(ok) AS ties_in_combo_order FROM (
  SELECT coalesce(lag(trades_count) OVER w > trades_count
                  OR (lag(trades_count) OVER w = trades_count AND lag(combo_no) OVER w < combo_no), true) AS ok
  FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                      '{"fast": {"from": 2, "to": 40, "step": 2}, "slow": {"from": 10, "to": 200, "step": 10},
                        "sort_by": "trades_count"}') WITH ORDINALITY
  WINDOW w AS (ORDER BY ordinality)) x;

-- ---------------------------------------------------------------------------
-- The typed parameter columns: p1..p4 in parameter space order (the
-- strategy's, then the simulator's); booleans 0/1, enums their index; a
-- fifth swept parameter is only in params
-- ---------------------------------------------------------------------------
SELECT combo_no, params, p1_name, p1, p2_name, p2, p3_name, p3, p4_name, p4
FROM backtest_sweep('sweep_klines', 'SYN', 'kdj',
                    '{"commission": [0, 0.001], "fill": ["open", "close"], "use_j": [false, true],
                      "j_upper": [80], "period": [9]}')
ORDER BY combo_no;
-- a heatmap-ready pivot: sharpe by (p1, p2) without parsing json
SELECT p1 AS fast, round((max(sharpe_ratio) FILTER (WHERE p2 = 20))::numeric, 4) AS slow_20,
       round((max(sharpe_ratio) FILTER (WHERE p2 = 30))::numeric, 4) AS slow_30,
       round((max(sharpe_ratio) FILTER (WHERE p2 = 40))::numeric, 4) AS slow_40
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10, 15], "slow": [20, 30, 40]}')
GROUP BY p1 ORDER BY p1;

-- ---------------------------------------------------------------------------
-- Query source, time range
-- ---------------------------------------------------------------------------
SELECT (SELECT count(*) FROM (
          SELECT combo_no, params, sharpe_ratio, equity_final FROM backtest_sweep_query(
              'SELECT ts, open, high, low, close FROM sweep_klines WHERE symbol = ''SYN'' ORDER BY ts',
              'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}')
          EXCEPT
          SELECT combo_no, params, sharpe_ratio, equity_final FROM backtest_sweep(
              'sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}')) d) AS query_vs_table_differences;
SELECT combo_no, bars, start_ts, end_ts
FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10]}', '{}',
                    '2016-01-01', '2016-12-31')
ORDER BY combo_no;

-- ---------------------------------------------------------------------------
-- Workers: 1, 2 and 4 processes give identical rows in identical order.  A
-- sweep starts one process per 4 million bar-runs (bars x combinations) at
-- most, so these grids are big enough for the processes asked for; the
-- DEBUG line says how many ran (workers need free max_worker_processes
-- slots).
-- ---------------------------------------------------------------------------
SET pg_backtest.sweep_workers = 1;
CREATE TEMP TABLE w1 AS
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}')
UNION ALL
SELECT -pos, row_text FROM sweep_rows('bollinger', '{"period": {"from": 5, "to": 94, "step": 1}, "k": [1.5, 2, 2.5, 3],
                                                     "stop_loss": {"from": 0, "to": 0.07, "step": 0.01}}');
CREATE TEMP TABLE w2 (LIKE w1);
CREATE TEMP TABLE w4 (LIKE w1);
-- the SQL function's tuplestore (~3.4MB of row text) stays in memory: no LOG about a
-- temporary file (pg_regress sets log_temp_files) among the DEBUG lines
SET work_mem = '16MB';
SET client_min_messages = debug1;
SET pg_backtest.sweep_workers = 2;
INSERT INTO w2
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}')
UNION ALL
SELECT -pos, row_text FROM sweep_rows('bollinger', '{"period": {"from": 5, "to": 94, "step": 1}, "k": [1.5, 2, 2.5, 3],
                                                     "stop_loss": {"from": 0, "to": 0.07, "step": 0.01}}');
SET pg_backtest.sweep_workers = 4;
INSERT INTO w4
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}')
UNION ALL
SELECT -pos, row_text FROM sweep_rows('bollinger', '{"period": {"from": 5, "to": 94, "step": 1}, "k": [1.5, 2, 2.5, 3],
                                                     "stop_loss": {"from": 0, "to": 0.07, "step": 0.01}}');
RESET client_min_messages;
RESET work_mem;
SELECT (SELECT count(*) FROM w1) AS rows_1,
       (SELECT count(*) FROM (TABLE w1 EXCEPT TABLE w2) d) + (SELECT count(*) FROM (TABLE w2 EXCEPT TABLE w1) d) AS diff_1_2,
       (SELECT count(*) FROM (TABLE w1 EXCEPT TABLE w4) d) + (SELECT count(*) FROM (TABLE w4 EXCEPT TABLE w1) d) AS diff_1_4;
-- where the workers find the bars: copied from the backend's own memory
-- where the kernel allows it (pg_backtest.sweep_bars = auto, the default,
-- as above), or read from the shared segment (shared); a worker that cannot
-- copy them (test_unreadable) runs nothing and leaves its share to the
-- backend ("0 by workers").  The same rows every way.
SET pg_backtest.sweep_workers = 2;
CREATE TEMP TABLE w2_shared (LIKE w1);
CREATE TEMP TABLE w2_unreadable (LIKE w1);
SET pg_backtest.sweep_bars = shared;
INSERT INTO w2_shared
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}');
SET pg_backtest.sweep_bars = test_unreadable;
SET work_mem = '16MB';
SET client_min_messages = debug2;
INSERT INTO w2_unreadable
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}');
RESET client_min_messages;
RESET work_mem;
RESET pg_backtest.sweep_bars;
SELECT (SELECT count(*) FROM w2_shared) AS rows_shared,
       (SELECT count(*) FROM (TABLE w2_shared EXCEPT SELECT * FROM w1 WHERE pos > 0) d) +
       (SELECT count(*) FROM (SELECT * FROM w1 WHERE pos > 0 EXCEPT TABLE w2_shared) d) AS diff_shared,
       (SELECT count(*) FROM (TABLE w2_unreadable EXCEPT SELECT * FROM w1 WHERE pos > 0) d) +
       (SELECT count(*) FROM (SELECT * FROM w1 WHERE pos > 0 EXCEPT TABLE w2_unreadable) d) AS diff_unreadable;
-- the query source, the signal column and sampling go through the workers
-- too; two sweeps in one statement (the first one's workers are gone when
-- the second starts)
SET pg_backtest.sweep_workers = 1;
CREATE TEMP TABLE signal_1 AS
SELECT s.ordinality, (s.*)::text AS row_text FROM backtest_sweep('sweep_signals', 'SYN', 'signal',
    '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.001}, "take_profit": [0, 0.05, 0.1, 0.2, 0.5],
      "allow_short": [false, true], "sample": 2800, "seed": 3}') WITH ORDINALITY AS s;
SET pg_backtest.sweep_workers = 4;
SET client_min_messages = debug1;
SELECT (SELECT count(*) FROM signal_1) AS rows_1,
       (SELECT count(*) FROM (
          SELECT s.ordinality, (s.*)::text FROM backtest_sweep_query(
              'SELECT ts, open, high, low, close, signal FROM sweep_signals ORDER BY ts', 'signal',
              '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.001}, "take_profit": [0, 0.05, 0.1, 0.2, 0.5],
                "allow_short": [false, true], "sample": 2800, "seed": 3}')
              WITH ORDINALITY AS s
          EXCEPT TABLE signal_1) d) AS query_4_minus_table_1,
       (SELECT count(*) FROM (
          TABLE signal_1
          EXCEPT
          SELECT s.ordinality, (s.*)::text FROM backtest_sweep('sweep_signals', 'SYN', 'signal',
              '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.001}, "take_profit": [0, 0.05, 0.1, 0.2, 0.5],
                "allow_short": [false, true], "sample": 2800, "seed": 3}')
              WITH ORDINALITY AS s) d) AS table_1_minus_table_4;
RESET client_min_messages;
-- the bars load straight into the workers' shared segment, sized from the
-- planner's row estimate; an estimate far too low (the planner guesses that
-- "close * 1 = close" keeps 0.5% of the rows) moves them to the backend and
-- copies them as before: the same rows either way (many processes even for
-- the estimate: a bar-run per process)
SET pg_backtest.sweep_workers = 4;
SET pg_backtest.sweep_bar_runs_per_process = 1;
CREATE TEMP TABLE signal_under_4 AS
SELECT s.ordinality, (s.*)::text AS row_text FROM backtest_sweep_query(
    'SELECT ts, open, high, low, close, signal FROM sweep_signals WHERE close * 1 = close ORDER BY ts', 'signal',
    '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.001}, "take_profit": [0, 0.05, 0.1, 0.2, 0.5],
      "allow_short": [false, true], "sample": 2800, "seed": 3}') WITH ORDINALITY AS s;
-- estimated small enough to stay in the backend (private bars: 1,000-odd
-- bars x 6 columns < 64kB of sweep_cache_size), they turn out too many
-- (3000): the early segment is dropped and they go to a shared one
SET pg_backtest.sweep_cache_size = '64kB';
CREATE TEMP TABLE signal_under_4_shared AS
SELECT s.ordinality, (s.*)::text AS row_text FROM backtest_sweep_query(
    'SELECT ts, open, high, low, close, signal FROM sweep_signals WHERE close * 1 = close ORDER BY ts', 'signal',
    '{"stop_loss": {"from": 0, "to": 0.3, "step": 0.001}, "take_profit": [0, 0.05, 0.1, 0.2, 0.5],
      "allow_short": [false, true], "sample": 2800, "seed": 3}') WITH ORDINALITY AS s;
RESET pg_backtest.sweep_cache_size;
RESET pg_backtest.sweep_bar_runs_per_process;
SELECT (SELECT count(*) FROM signal_under_4) AS rows_4,
       (SELECT count(*) FROM (TABLE signal_under_4 EXCEPT TABLE signal_1) d) +
       (SELECT count(*) FROM (TABLE signal_1 EXCEPT TABLE signal_under_4) d) AS diff_underestimated_4_1,
       (SELECT count(*) FROM (TABLE signal_under_4_shared EXCEPT TABLE signal_1) d) +
       (SELECT count(*) FROM (TABLE signal_1 EXCEPT TABLE signal_under_4_shared) d) AS diff_underestimated_shared_4_1;
SET pg_backtest.sweep_workers = 1;

-- ---------------------------------------------------------------------------
-- Settings
-- ---------------------------------------------------------------------------
SELECT name, setting, unit, context, min_val, max_val,
       CASE WHEN name = 'pg_backtest.sweep_workers' THEN boot_val::int BETWEEN 1 AND 64 END AS cpus_default
FROM pg_settings WHERE name IN ('pg_backtest.sweep_workers', 'pg_backtest.max_combinations',
                                'pg_backtest.sweep_cache_size')
ORDER BY name;
-- no line cache at all gives the same rows
SET pg_backtest.sweep_cache_size = 0;
SELECT (SELECT count(*) FROM (
          SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 40, "step": 1}, "slow": {"from": 10, "to": 200, "step": 10}}')
          EXCEPT SELECT * FROM w1 WHERE pos > 0) d) AS no_cache_differences;
RESET pg_backtest.sweep_cache_size;
-- a cache of 8 lines (3000 bars) where the grid has 150: the runs go in the
-- order bt_sweep_order gives, cut in one block per process; the rows are
-- those of the grid-order run above, with 1 and with 4 processes
-- (4 processes for this grid, as the DEBUG lines above show)
SET pg_backtest.sweep_cache_size = 192;
SET work_mem = '16MB';
SET pg_backtest.sweep_workers = 4;
CREATE TEMP TABLE small_cache_4 AS
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}');
SET pg_backtest.sweep_workers = 1;
CREATE TEMP TABLE small_cache_1 AS
SELECT * FROM sweep_rows('sma_cross', '{"fast": {"from": 2, "to": 100, "step": 1}, "slow": {"from": 10, "to": 600, "step": 10}}');
SELECT (SELECT count(*) FROM small_cache_4) AS rows_4,
       (SELECT count(*) FROM (TABLE small_cache_4 EXCEPT SELECT * FROM w1 WHERE pos > 0) d) +
       (SELECT count(*) FROM (SELECT * FROM w1 WHERE pos > 0 EXCEPT TABLE small_cache_4) d) AS diff_4_grid_order,
       (SELECT count(*) FROM (TABLE small_cache_1 EXCEPT SELECT * FROM w1 WHERE pos > 0) d) +
       (SELECT count(*) FROM (SELECT * FROM w1 WHERE pos > 0 EXCEPT TABLE small_cache_1) d) AS diff_1_grid_order;
RESET work_mem;
RESET pg_backtest.sweep_cache_size;

-- ---------------------------------------------------------------------------
-- Errors
-- ---------------------------------------------------------------------------
SELECT * FROM backtest_sweep(NULL, 'SYN', 'sma_cross', '{"fast": [5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', NULL, '{"fast": [5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_crosss', '{"fast": [5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', NULL);
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '[5, 10]');
-- empty grid, or options only
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"top": 3, "sort_by": "return_pct"}');
-- unknown parameter (the hint lists the valid ones)
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fastt": [5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"columns": [5]}');
-- values of the wrong kind
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": 5}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": "5..10"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, "ten"]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, [6]]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": []}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [2.5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [0, 5]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"allow_short": [0, 1]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fill": ["open", "middle"]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fill": [0]}');
-- ranges
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": "5", "to": 10, "step": 1}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 5, "to": 10}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 5, "to": 10, "step": 1, "by": 2}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 5, "to": 10, "step": 0}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 5, "to": 10, "step": -1}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 10, "to": 5, "step": 1}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 5, "to": 10, "step": 0.5}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": {"from": 0, "to": 10, "step": 5}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"allow_short": {"from": 0, "to": 1, "step": 1}}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fill": {"from": 0, "to": 1, "step": 1}}');
-- constraints (never SQL)
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": "fast <"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": "fast ~ slow"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": "fastt < slow"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": "fast < slow; DROP TABLE sweep_klines"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": 42}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "constraint": ["fast < slow", 42]}');
-- options
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "sample": 0}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "sample": 2.5}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "seed": "x"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "top": 0}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sharpe"}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": 1}');
-- a parameter both swept and set
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10]}', '{"fast": 7}');
-- params still checked: unknown keys, and rules no swept parameter takes part in
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10]}', '{"slowww": 7}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"commission": [0, 0.001]}', '{"fast": 40}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5, 10]}', '{"stop_loss": 1}');
-- too many combinations for pg_backtest.max_combinations
SET pg_backtest.max_combinations = 10;
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [2, 3, 4, 5], "slow": [20, 30, 40]}');
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [2, 3, 4, 5], "slow": [20, 30, 40], "sample": 11}');
-- a sample within the limit from a bigger grid is fine
SELECT count(*) FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [2, 3, 4, 5], "slow": [20, 30, 40], "sample": 10}');
RESET pg_backtest.max_combinations;
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross',
                             '{"fast": {"from": 1, "to": 100000, "step": 1}, "slow": {"from": 1, "to": 100000, "step": 1}, "sample": 10}');
-- data errors are the loader's
SELECT * FROM backtest_sweep('sweep_klines', 'SYN', 'sma_cross', '{"fast": [5]}', '{}', '2017-01-01', '2016-01-01');
SELECT * FROM backtest_sweep_query('SELECT ts, close FROM sweep_klines', 'sma_cross', '{"fast": [5]}');
-- an empty source: zero bars, rows still come, with a NOTICE
SELECT combo_no, bars, trades_count FROM backtest_sweep('sweep_klines', 'NONE', 'sma_cross', '{"fast": [5, 10]}');

-- backtest_sweep_batch (a sweep task's step on Citus): combinations
-- combo_from .. of the grid's expansion, one row each, 16-byte header
-- "btsw" then the metrics; a range outside the grid is an error
SELECT count(*) AS rows, min(combo) AS first, max(combo) AS last,
       bool_and(substr(metrics, 1, 4) = '\x77737462'::bytea) AS header
FROM backtest_sweep_batch('sweep_klines', 'SYN', 'sma_cross', '{}', NULL, NULL,
                          '{"fast": [5, 10], "slow": [20, 30, 40]}', 2, 3);
SELECT count(*) FROM backtest_sweep_batch('sweep_klines', 'SYN', 'sma_cross', '{}', NULL, NULL,
                                          '{"fast": [5, 10], "slow": [20, 30, 40]}', 4, 3);
SELECT count(*) FROM backtest_sweep_batch('sweep_klines', 'SYN', 'sma_cross', '{}', NULL, NULL,
                                          NULL, 0, 1);

-- ... bad input: each an error with its SQLSTATE, naming the argument, never
-- an allocation for the count asked (combo_count 2^63-1 fails at once), and
-- no overflow in the message (combo_from + combo_count is never formed)
CREATE FUNCTION batch_error(grid jsonb, combo_from bigint, combo_count bigint,
                            strategy text DEFAULT 'sma_cross', params jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; hint text;
BEGIN
    PERFORM count(*) FROM backtest_sweep_batch('sweep_klines', 'SYN', batch_error.strategy, batch_error.params,
                                               NULL, NULL, batch_error.grid, batch_error.combo_from,
                                               batch_error.combo_count);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    -- (long hints cut: the list of every parameter is tested elsewhere)
    RETURN left(st || ': ' || msg || coalesce(nullif(' (hint: ' || hint || ')', ' (hint: )'), ''), 180);
END
$$;
SELECT t.what, batch_error(t.grid, t.f, t.c, t.strategy, t.params)
FROM (VALUES
    ('negative combo_from', '{"fast": [5, 10], "slow": [20, 30, 40]}'::jsonb, -1::bigint, 2::bigint, 'sma_cross', '{}'::jsonb),
    ('negative combo_count', '{"fast": [5, 10], "slow": [20, 30, 40]}', 0, -1, 'sma_cross', '{}'),
    ('smallest bigint', '{"fast": [5, 10], "slow": [20, 30, 40]}', 3, -9223372036854775808, 'sma_cross', '{}'),
    ('past the end', '{"fast": [5, 10], "slow": [20, 30, 40]}', 7, 0, 'sma_cross', '{}'),
    ('one too many', '{"fast": [5, 10], "slow": [20, 30, 40]}', 0, 7, 'sma_cross', '{}'),
    ('huge count', '{"fast": [5, 10], "slow": [20, 30, 40]}', 0, 9223372036854775807, 'sma_cross', '{}'),
    ('huge both', '{"fast": [5, 10], "slow": [20, 30, 40]}', 9223372036854775807, 9223372036854775807, 'sma_cross', '{}'),
    ('an empty batch at the end', '{"fast": [5, 10], "slow": [20, 30, 40]}', 6, 0, 'sma_cross', '{}'),
    ('NULL combo_from', '{"fast": [5, 10]}', NULL, 1, 'sma_cross', '{}'),
    ('NULL combo_count', '{"fast": [5, 10]}', 0, NULL, 'sma_cross', '{}'),
    ('NULL grid', NULL, 0, 1, 'sma_cross', '{}'),
    ('grid not an object', '[5, 10]', 0, 1, 'sma_cross', '{}'),
    ('empty grid', '{}', 0, 0, 'sma_cross', '{}'),
    ('grid value a string', '{"fast": "5"}', 0, 1, 'sma_cross', '{}'),
    ('unknown grid parameter', '{"fastt": [5]}', 0, 1, 'sma_cross', '{}'),
    ('params not an object', '{"fast": [5]}', 0, 1, 'sma_cross', '[1]'),
    ('params of the wrong type', '{"fast": [5]}', 0, 1, 'sma_cross', '{"slow": "abc"}'),
    ('unknown strategy', '{"fast": [5]}', 0, 1, 'no_such_strategy', '{}'),
    ('NULL strategy', '{"fast": [5]}', 0, 1, NULL, '{}'),
    ('a grid past max_combinations', '{"fast": {"from": 1, "to": 1000, "step": 1}, "slow": {"from": 1001, "to": 2000, "step": 1}}', 0, 1, 'sma_cross', '{}')
) AS t(what, grid, f, c, strategy, params);
DROP FUNCTION batch_error(jsonb, bigint, bigint, text, jsonb);

-- ... under a hostile search_path (operators on the types the loader
-- compares, same-named functions, a same-named table, first on the path): the
-- same bytes as under a clean path, and no trap is ever called
CREATE TABLE sweep_evil_calls (n int);
CREATE SCHEMA regress_sweep_evil;
CREATE FUNCTION regress_sweep_evil.trap_b(text, text) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (1); SELECT true';
CREATE FUNCTION regress_sweep_evil.trap_b(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (2); SELECT true';
CREATE FUNCTION regress_sweep_evil.trap_b(date, timestamp) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (3); SELECT true';
CREATE FUNCTION regress_sweep_evil.trap_b(date, date) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (4); SELECT true';
CREATE FUNCTION regress_sweep_evil.trap_i(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (5); SELECT 0::bigint';
CREATE FUNCTION regress_sweep_evil.trap_f(float8, float8) RETURNS float8 LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (6); SELECT 0::float8';
CREATE OPERATOR regress_sweep_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.>= (LEFTARG = date, RIGHTARG = timestamp, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.<= (LEFTARG = date, RIGHTARG = timestamp, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.< (LEFTARG = date, RIGHTARG = date, FUNCTION = regress_sweep_evil.trap_b);
CREATE OPERATOR regress_sweep_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = regress_sweep_evil.trap_i);
CREATE OPERATOR regress_sweep_evil.+ (LEFTARG = float8, RIGHTARG = float8, FUNCTION = regress_sweep_evil.trap_f);
CREATE FUNCTION regress_sweep_evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (7); SELECT ''object''';
CREATE FUNCTION regress_sweep_evil.backtest_sweep_batch(regclass, text, text, jsonb, timestamptz, timestamptz, jsonb, bigint, bigint)
RETURNS TABLE (combo bigint, metrics bytea) LANGUAGE sql AS 'INSERT INTO public.sweep_evil_calls VALUES (8); SELECT 0::bigint, ''\x''::bytea';
CREATE TABLE regress_sweep_evil.sweep_klines (LIKE public.sweep_klines);
CREATE FUNCTION sweep_batches()
RETURNS TABLE (call int, combo bigint, metrics bytea) LANGUAGE sql AS $$
SELECT 1, * FROM public.backtest_sweep_batch('public.sweep_klines', 'SYN', 'sma_cross', '{"commission": 0.001}',
                                             '2016-01-01', '2020-06-30', '{"fast": [5, 10], "slow": [20, 30, 40]}', 1, 4)
UNION ALL
SELECT 2, * FROM public.backtest_sweep_batch('public.sweep_klines', NULL, 'rsi', '{}', NULL, NULL,
                                             '{"lower": [20, 30], "upper": [70, 80], "constraint": "lower < upper"}', 0, 4)
UNION ALL
SELECT 3, * FROM public.backtest_sweep_batch('public.sweep_signals', 'SYN', 'signal', '{}', NULL, '2019-01-01',
                                             '{"allow_short": [false, true]}', 0, 2)
$$;
CREATE TEMP TABLE batch_clean AS SELECT * FROM sweep_batches();
SET search_path = regress_sweep_evil, public, pg_catalog;
-- (the traps do take over unqualified operators here)
SELECT 1::bigint = 2::bigint AS trapped;
DELETE FROM public.sweep_evil_calls;
CREATE TEMP TABLE batch_evil AS SELECT * FROM public.sweep_batches();
RESET search_path;
SELECT (SELECT count(*) FROM batch_clean) AS rows,
       (SELECT count(*) FROM batch_clean c JOIN batch_evil e USING (call, combo) WHERE c.metrics = e.metrics) AS same,
       (SELECT count(*) FROM sweep_evil_calls) AS trap_calls;
DROP FUNCTION sweep_batches();
SET client_min_messages = warning;
DROP SCHEMA regress_sweep_evil CASCADE;
RESET client_min_messages;
DROP TABLE sweep_evil_calls;

-- ... as another role: no SELECT on the source (or on one of its columns) is
-- a permission error; under row-level security a batch sees only the rows the
-- caller may see: its bytes equal a batch over a table holding just those
-- rows, and its bars (the fourth int64 of the metrics, after the 8-byte
-- header) equal backtest_run's as the caller
CREATE ROLE regress_sweep_nosel;
CREATE ROLE regress_sweep_cols;
CREATE ROLE regress_sweep_rls;
CREATE TABLE sweep_rls AS SELECT * FROM sweep_klines;
CREATE TABLE sweep_after AS SELECT * FROM sweep_klines WHERE ts >= '2017-01-01';
ALTER TABLE sweep_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sweep_rls_read ON sweep_rls FOR SELECT TO regress_sweep_rls USING (ts >= '2017-01-01');
GRANT SELECT ON sweep_rls TO regress_sweep_rls;
GRANT SELECT (symbol, ts, close) ON sweep_rls TO regress_sweep_cols;
CREATE FUNCTION sweep_rls_batch(source regclass)
RETURNS TABLE (combo bigint, metrics bytea, bars bigint) LANGUAGE sql AS $$
SELECT b.combo, b.metrics, (SELECT sum(get_byte(b.metrics, 32 + i)::bigint << (8 * i)) FROM generate_series(0, 7) i)::bigint
FROM backtest_sweep_batch(sweep_rls_batch.source, 'SYN', 'sma_cross', '{}', NULL, NULL,
                          '{"fast": [5, 10], "slow": [20, 30, 40]}', 0, 6) b
$$;
SET ROLE regress_sweep_nosel;
SELECT count(*) FROM sweep_rls_batch('sweep_rls');
SET ROLE regress_sweep_cols;
SELECT count(*) FROM sweep_rls_batch('sweep_rls');
SET ROLE regress_sweep_rls;
CREATE TEMP TABLE batch_rls AS SELECT * FROM sweep_rls_batch('sweep_rls');
SELECT bars AS run_bars FROM backtest_run('sweep_rls', 'SYN', 'sma_cross', '{}') \gset
RESET ROLE;
SELECT (SELECT count(*) FROM batch_rls) AS rows,
       (SELECT count(*) FROM batch_rls r JOIN sweep_rls_batch('sweep_after') a USING (combo)
        WHERE r.metrics = a.metrics) AS same_as_filtered_table,
       (SELECT count(*) FROM batch_rls r JOIN sweep_rls_batch('sweep_rls') a USING (combo)
        WHERE r.metrics = a.metrics) AS same_as_all_rows,
       (SELECT count(*) FROM batch_rls WHERE bars = :run_bars) AS bars_of_backtest_run,
       :run_bars AS run_bars, (SELECT count(*) FROM sweep_after) AS visible_rows;
DROP FUNCTION sweep_rls_batch(regclass);
DROP TABLE sweep_rls, sweep_after, batch_rls;
DROP ROLE regress_sweep_nosel;
DROP ROLE regress_sweep_cols;
DROP ROLE regress_sweep_rls;

-- ... a cancel (here statement_timeout) stops a big batch promptly, with one
-- process and with two (10000 combinations take about a second here)
CREATE FUNCTION sweep_timeout(workers int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM set_config('pg_backtest.sweep_workers', workers::text, true);
    PERFORM count(*) FROM backtest_sweep_batch('sweep_klines', 'SYN', 'sma_cross', '{}', NULL, NULL,
        '{"fast": {"from": 1, "to": 100, "step": 1}, "slow": {"from": 101, "to": 200, "step": 1}}', 0, 10000);
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN SQLERRM || CASE WHEN clock_timestamp() - t0 < interval '5 s' THEN ', within 5 s' ELSE ', too late' END;
END
$$;
BEGIN;
SET LOCAL statement_timeout = '100ms';
SELECT sweep_timeout(1) AS one_process;
ROLLBACK;
BEGIN;
SET LOCAL statement_timeout = '100ms';
SELECT sweep_timeout(2) AS two_processes;
ROLLBACK;
DROP FUNCTION sweep_timeout(int);

DROP FUNCTION sweep_rows(text, jsonb, jsonb);
DROP FUNCTION sweep_check(regclass, text, jsonb, jsonb);
DROP VIEW sweep_signals;
DROP TABLE sweep_klines;
