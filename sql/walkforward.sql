-- backtest_walk_forward: rolling and anchored windows on the sample data
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
CREATE TABLE wf (symbol text NOT NULL DEFAULT 'SYN', ts date NOT NULL, open float8, high float8,
                 low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
\copy wf (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)

-- 2-year in-sample, 1-year out-of-sample windows, rolling
CREATE TEMP TABLE r AS
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross',
    '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "sharpe_ratio"}', '{}',
    '2 years', '1 year');
SELECT window_no, kind, is_start::date, is_end::date, oos_start::date, oos_end::date, best_params,
       is_bars, oos_bars, oos_trades
FROM r ORDER BY window_no NULLS LAST;
-- windows tile the out-of-sample range without gaps or overlaps
SELECT bool_and(oos_start = prev_end) AS contiguous
FROM (SELECT oos_start, lag(oos_end) OVER (ORDER BY window_no) AS prev_end FROM r WHERE kind = 'window') s
WHERE prev_end IS NOT NULL;
-- the stitched row covers every out-of-sample bar once
SELECT (SELECT oos_bars FROM r WHERE kind = 'stitched') = (SELECT sum(oos_bars) FROM r WHERE kind = 'window') AS all_bars,
       (SELECT oos_trades FROM r WHERE kind = 'stitched') <= (SELECT sum(oos_trades) + count(*) FROM r WHERE kind = 'window') AS trades_add_up;
-- the chosen combination is the in-sample best: recompute window 1 with backtest_sweep
SELECT r.best_params = s.params AS best_is_top, round(r.is_objective::numeric, 9) = round(s.sharpe_ratio::numeric, 9) AS same_objective
FROM r, backtest_sweep('wf', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60], "top": 1}', '{}',
                       (SELECT is_start FROM r WHERE window_no = 1),
                       (SELECT oos_start FROM r WHERE window_no = 1) - interval '1 microsecond') s
WHERE r.window_no = 1;
-- the final equity chains: stitched equity_final = capital x product of window growth
SELECT round((SELECT oos_equity_final FROM r WHERE kind = 'stitched')::numeric, 6) =
       round((SELECT oos_equity_final FROM r WHERE kind = 'window' ORDER BY window_no DESC LIMIT 1)::numeric, 6) AS chained;

-- anchored windows all start at the first bar
SELECT count(*) AS windows, count(DISTINCT is_start) AS distinct_starts
FROM backtest_walk_forward('wf', 'SYN', 'rsi', '{"period": [7, 14]}', '{}', '3 years', '2 years', true)
WHERE kind = 'window';

-- errors
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross', '{"fast": [5]}', '{}', '-1 day', '1 year');
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross', '{"fast": [50], "slow": [30]}', '{}', '1 year', '1 year');
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross', '{"fast": [5]}', '{}', '20 years', '1 year');

-- windows without bars are left out: a hole of a year (2019) in the data,
-- 6-month in-sample and 3-month out-of-sample windows; the windows whose
-- out-of-sample part falls in the hole have no bar, and the first one after
-- it has no bar in sample
CREATE TABLE wfgap AS SELECT * FROM wf WHERE ts < '2019-01-01' OR ts >= '2020-01-01';
CREATE TEMP TABLE g AS
SELECT * FROM backtest_walk_forward('wfgap', 'SYN', 'sma_cross', '{"fast": [5, 10], "slow": [30]}', '{}',
    '6 months', '3 months');
SELECT window_no, is_start::date, oos_start::date, oos_end::date, is_bars, oos_bars
FROM g WHERE kind = 'window' AND oos_start BETWEEN '2018-07-01' AND '2020-07-01' ORDER BY window_no;
SELECT count(*) AS windows, count(*) FILTER (WHERE is_bars = 0 OR oos_bars = 0) AS empty_windows,
       max(window_no) = count(*) AS numbered_in_order
FROM g WHERE kind = 'window';
SELECT (SELECT oos_bars FROM g WHERE kind = 'stitched') = (SELECT sum(oos_bars) FROM g WHERE kind = 'window') AS all_bars;
-- too many windows: refused before any sweep runs (the limit is 1000)
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross', '{"fast": [5]}', '{}', '1 year', '1 microsecond');
SELECT * FROM backtest_walk_forward('wf', 'SYN', 'sma_cross', '{"fast": [5]}', '{}', '1 month', '1 day');
