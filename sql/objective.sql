-- A custom objective for sweeps and walk-forward (issue 15 item 8): sort_by
-- is a metric or arithmetic over metric names and numbers, parsed in C,
-- never executed as SQL.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
CREATE TABLE obj (symbol text NOT NULL DEFAULT 'SYN', ts date NOT NULL, open float8, high float8,
                  low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
\copy obj (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)

-- the rows come in the order of the same expression written in SQL over the
-- metric columns (descending, NULLs last, ties in combination order)
CREATE FUNCTION obj_order(sort_by text, sql_key text)
RETURNS TABLE (rows bigint, same_order boolean, distinct_keys bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH s AS (SELECT *, ordinality AS pos, %s AS k
                   FROM backtest_sweep('obj', 'SYN', 'sma_cross',
                        jsonb_build_object('fast', '[5, 10, 15, 20, 25]'::jsonb, 'slow', '[30, 60, 90]'::jsonb,
                                           'sort_by', %L)) WITH ORDINALITY)
        SELECT count(*),
               array_agg(combo_no ORDER BY pos) = array_agg(combo_no ORDER BY k DESC NULLS LAST, combo_no),
               count(DISTINCT k)
        FROM s $q$, sql_key, sort_by);
END
$$;
SELECT * FROM obj_order('sharpe_ratio * sqrt(trades_count) - 0.1 * abs(max_drawdown_pct)',
                        'sharpe_ratio * sqrt(trades_count) - 0.1 * abs(max_drawdown_pct)');
SELECT * FROM obj_order('return_pct / -max_drawdown_pct', 'return_pct / -max_drawdown_pct');
SELECT * FROM obj_order('min(sortino_ratio, 2 * sharpe_ratio) + ln(1 + win_rate_pct / 100)',
                        'least(sortino_ratio, 2 * sharpe_ratio) + ln(1 + win_rate_pct / 100)');
-- durations count in days; minimising is negating
SELECT * FROM obj_order('-max_drawdown_duration', '-extract(epoch FROM max_drawdown_duration) / 86400');
SELECT * FROM obj_order('-(volatility_ann_pct + 0 * sqn)', '-(volatility_ann_pct + 0 * sqn)');

-- a plain metric keeps its direction (lower is better for volatility)
SELECT array_agg(round(volatility_ann_pct::numeric, 4) ORDER BY ordinality) AS lowest_first
FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "volatility_ann_pct", "top": 3}') WITH ORDINALITY;
-- a row where the expression has no value sorts last: combination 1 has
-- 17 trades, so it divides by zero; combination 2: -18.50 / (10 - 17) = 2.64
SELECT combo_no, trades_count, round(return_pct::numeric, 2) AS return_pct
FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5, 10], "slow": [30], "sort_by": "return_pct / (trades_count - 17)"}',
                    '{}', NULL, '2017-01-01');

-- walk-forward picks by the expression: the same windows and winners as
-- the metric it rescales, and is_objective is the expression's value
CREATE TEMP TABLE wf1 AS
SELECT * FROM backtest_walk_forward('obj', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60]}', '{}', '2 years', '1 year');
CREATE TEMP TABLE wf2 AS
SELECT * FROM backtest_walk_forward('obj', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "2 * sharpe_ratio + 1"}', '{}', '2 years', '1 year');
SELECT count(*) AS windows,
       count(*) FILTER (WHERE wf1.best_params = wf2.best_params) AS same_winner,
       count(*) FILTER (WHERE wf2.is_objective = 2 * wf1.is_objective + 1) AS objective_is_expression
FROM wf1 JOIN wf2 USING (window_no) WHERE wf1.kind = 'window';
-- ... and the other way round with the expression negated: the in-sample worst
SELECT r.best_params = s.params AS worst_is_picked
FROM backtest_walk_forward('obj', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "-sharpe_ratio"}', '{}', '2 years', '1 year') r,
     backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "-sharpe_ratio", "top": 1}', '{}',
                    (SELECT is_start FROM wf1 WHERE window_no = 1),
                    (SELECT oos_start FROM wf1 WHERE window_no = 1) - interval '1 microsecond') s
WHERE r.window_no = 1;

-- a sweep task ranks its rows by the expression too
SELECT backtest_submit_sweep('obj', 'SYN', 'sma_cross',
       '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "sharpe_ratio * sqrt(trades_count)"}') AS task \gset
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT (SELECT array_agg(combo_no ORDER BY rank) FROM backtest.sweep_results WHERE task_id = :task) =
       (SELECT array_agg(combo_no ORDER BY ordinality)
        FROM backtest_sweep('obj', 'SYN', 'sma_cross',
             '{"fast": [5, 10, 20], "slow": [30, 60], "sort_by": "sharpe_ratio * sqrt(trades_count)"}') WITH ORDINALITY)
       AS task_ranks_alike;
SELECT backtest_delete(:task);
DELETE FROM backtest.notifications WHERE metadata->>'task_id' IN (:'task');
SELECT count(*) AS left_over FROM backtest.tasks WHERE id = :task;

-- errors, each with its exact message
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sharpe * sqrt(trades_count)"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sharpe_ratio * "}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "(sharpe_ratio + 1"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sharpe_ratio sqn"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sharpe_ratio); DROP TABLE obj; --"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "pow(sharpe_ratio, 2)"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "max(sharpe_ratio)"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "end_ts - start_ts"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "1.5.2 * sqn"}');
SELECT * FROM backtest_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": " "}');
SELECT * FROM backtest_walk_forward('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sqn +"}', '{}');
SELECT backtest_submit_sweep('obj', 'SYN', 'sma_cross', '{"fast": [5], "sort_by": "sqn / / 2"}');
SELECT count(*) AS obj_rows FROM obj;

DROP FUNCTION obj_order(text, text);
DROP TABLE obj;
