-- Issue 15, "works everywhere": each numeric parameter of the issue is
-- listed by backtest_parameters() with a default that is the behaviour,
-- rejected above its max, sweepable in backtest_sweep and
-- backtest_walk_forward grids, and queued by backtest_submit with the
-- synchronous result; "timeframe" in walk-forward, queued sweeps, the
-- aggregate and backtest_arrays, backtest_run_all, portfolios (synchronous
-- and queued) and the signal strategy (a clear error for live streams);
-- period returns of a portfolio task; sort_by expressions in walk-forward
-- and queued sweeps.  Every result is compared with its single-call
-- equivalent, never with a copied number.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
-- 10 days of 5-minute bars of two symbols
CREATE TABLE ev (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8, low float8,
                 close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO ev
SELECT s, '2024-03-04 00:00+00'::timestamptz + i * interval '5 minutes',
       o, greatest(o, c) * (1 + (i % 7) * 0.0004), least(o, c) * (1 - (i % 5) * 0.0004), c, 100 + i % 13
FROM (SELECT s, i, 100 + 8 * sin(i / (30.0 + k)) + 3 * sin(i / 7.0) AS o,
             100 + 8 * sin((i + 1) / (30.0 + k)) + 3 * sin((i + 1) / 7.0) AS c
      FROM generate_series(0, 10 * 288 - 1) i, (VALUES ('X', 0), ('Y', 11)) v(s, k)) x;

-- the numeric parameters of issue 15: the base parameters that make each
-- one matter, the strategy, and two values to sweep
CREATE TABLE ev_params (name text PRIMARY KEY, strategy text, base jsonb, v1 float8, v2 float8);
INSERT INTO ev_params VALUES
    ('order_quantity', 'sma_cross', '{"sizing": "quantity"}', 5, 20),
    ('order_value', 'sma_cross', '{"sizing": "value"}', 1000, 5000),
    ('risk_fraction', 'sma_cross', '{"sizing": "risk", "stop_loss": 0.01}', 0.001, 0.003),
    ('risk_atr', 'sma_cross', '{"sizing": "risk", "stop_loss": 0.01}', 1, 3),
    ('risk_atr_period', 'sma_cross', '{"sizing": "risk", "risk_atr": 2}', 7, 20),
    ('entry_offset', 'sma_cross', '{"entry": "limit"}', 0.001, 0.003),
    ('valid_bars', 'sma_cross', '{"entry": "stop", "entry_offset": 0.001}', 1, 5),
    ('pyramiding', 'rsi', '{}', 1, 3),
    ('commission_per_share', 'sma_cross', '{}', 0.01, 0.05),
    ('commission_max', 'sma_cross', '{"commission_per_share": 0.05}', 0.5, 2),
    ('spread', 'sma_cross', '{}', 1, 5),
    ('borrow_rate', 'sma_cross', '{"allow_short": true}', 0.5, 2),
    ('leverage', 'sma_cross', '{}', 1.5, 3),
    ('maintenance_margin', 'sma_cross', '{"leverage": 3}', 0.05, 0.32);

-- an error's message, or 'no error'
CREATE FUNCTION ev_error(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END
$$;

-- (a) listed with a type, a range and a default; the default given
-- explicitly changes nothing; a value above the max is an error naming it
SELECT p.name, l.type, l.min_value IS NOT NULL AND l.max_value IS NOT NULL AS ranged,
       (SELECT r FROM backtest_run('ev', 'X', p.strategy, p.base) r) IS NOT DISTINCT FROM
       (SELECT r FROM backtest_run('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, l.default_value)) r)
           AS default_is_default,
       ev_error(format('SELECT backtest_run(%L, %L, %L, %L)', 'ev', 'X', p.strategy,
                       p.base || jsonb_build_object(p.name, l.max_value * 2 + 1))) LIKE '%"' || p.name || '"%'
           AS above_max_rejected
FROM ev_params p LEFT JOIN backtest_parameters() l ON l.name = p.name AND l.strategy = '*'
ORDER BY p.name;
-- the string parameters of the issue, with their choices' defaults
SELECT name, type, default_value FROM backtest_parameters()
WHERE strategy = '*' AND name IN ('sizing', 'entry', 'spread_unit', 'timeframe', 'timeframe_origin', 'timeframe_time_zone')
ORDER BY name;

-- (b) sweepable: each combination of a sweep over the parameter is the
-- backtest_run of those values
CREATE FUNCTION ev_sweep_equal(p ev_params) RETURNS TABLE (combos bigint, equal bigint, distinct_results bigint)
LANGUAGE sql AS $$
SELECT count(*), count(*) FILTER (WHERE to_jsonb(r) <@ to_jsonb(s)),
       count(DISTINCT (r.equity_final, r.trades_count, r.commissions))
FROM backtest_sweep('ev', 'X', p.strategy, jsonb_build_object(p.name, jsonb_build_array(p.v1, p.v2)), p.base) s,
     LATERAL backtest_run('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, s.params -> p.name)) r
$$;
SELECT p.name, e.* FROM ev_params p, ev_sweep_equal(p) e ORDER BY p.name;

-- walk-forward: a one-value grid equals the value given as a parameter
-- (window for window, out of sample), and a two-value grid picks, in each
-- window, the value whose one-value walk-forward has the higher objective
CREATE FUNCTION ev_wf(strategy text, grid jsonb, params jsonb)
RETURNS SETOF jsonb LANGUAGE sql AS $$
SELECT to_jsonb(w) FROM backtest_walk_forward('ev', 'X', strategy, grid, params,
                                              in_sample => '2 days', out_of_sample => '1 day') w
$$;
CREATE FUNCTION ev_wf_check(p ev_params)
RETURNS TABLE (windows bigint, as_param bigint, best_of_two bigint)
LANGUAGE sql AS $$
WITH one AS (SELECT w FROM ev_wf(p.strategy, jsonb_build_object(p.name, jsonb_build_array(p.v1)), p.base) w),
     fixed AS (SELECT w FROM ev_wf(p.strategy, '{"fast": [10]}', p.base || jsonb_build_object(p.name, p.v1)) w),
     one2 AS (SELECT w FROM ev_wf(p.strategy, jsonb_build_object(p.name, jsonb_build_array(p.v2)), p.base) w),
     two AS (SELECT w FROM ev_wf(p.strategy, jsonb_build_object(p.name, jsonb_build_array(p.v1, p.v2)), p.base) w)
SELECT count(*),
       count(*) FILTER (WHERE (one.w - 'best_params') = (fixed.w - 'best_params')),
       count(*) FILTER (WHERE (two.w -> 'is_objective') = greatest(one.w -> 'is_objective', one2.w -> 'is_objective')
                          AND two.w -> 'best_params' = CASE WHEN (one2.w -> 'is_objective') > (one.w -> 'is_objective')
                                                            THEN one2.w -> 'best_params' ELSE one.w -> 'best_params' END)
FROM one JOIN fixed ON one.w -> 'window_no' = fixed.w -> 'window_no'
         JOIN one2 ON one.w -> 'window_no' = one2.w -> 'window_no'
         JOIN two ON one.w -> 'window_no' = two.w -> 'window_no'
WHERE one.w ->> 'kind' = 'window'
$$;
-- (rsi has no "fast": its pyramiding row is checked with the grid on its own period)
UPDATE ev_params SET strategy = 'sma_cross', base = '{}' WHERE name = 'pyramiding';
SELECT p.name, c.* FROM ev_params p, ev_wf_check(p) c ORDER BY p.name;
UPDATE ev_params SET strategy = 'rsi' WHERE name = 'pyramiding';

-- (c) the queue: each parameter's task stores what backtest_run returns
CREATE TABLE ev_tasks AS
SELECT p.name, backtest_submit('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, p.v2)) AS task
FROM ev_params p ORDER BY p.name;
CREATE FUNCTION ev_wait() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 1200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT ev_wait();
SELECT t.name, k.status,
       to_jsonb(r) <@ to_jsonb(res) AS metrics_equal,
       (SELECT count(*) FROM backtest.trades b WHERE b.task_id = t.task) =
       (SELECT count(*) FROM backtest_trades('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, p.v2))) AS trades_count,
       NOT EXISTS (SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, exit_reason, commission,
                          mae_price, mfe_price FROM backtest.trades b WHERE b.task_id = t.task
                   EXCEPT
                   SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, exit_reason, commission,
                          mae_price, mfe_price
                   FROM backtest_trades('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, p.v2))) AS trades_equal,
       NOT EXISTS (SELECT ts, equity, cash, position_value FROM backtest.equity e WHERE e.task_id = t.task
                   EXCEPT
                   SELECT ts, equity, cash, position_value
                   FROM backtest_equity('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, p.v2))) AS equity_equal
FROM ev_tasks t JOIN ev_params p USING (name) JOIN backtest.tasks k ON k.id = t.task
     JOIN backtest.results res ON res.task_id = t.task,
     LATERAL backtest_run('ev', 'X', p.strategy, p.base || jsonb_build_object(p.name, p.v2)) r
ORDER BY t.name;

-- (d) "timeframe": as over the bars resampled in SQL, stored in a table
CREATE TABLE ev_30m AS
SELECT 'X'::text AS symbol, ts, open, high, low, close, volume FROM backtest_resample('ev', 'X', '30 minutes');
SELECT count(*) AS windows, count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS equal
FROM backtest_walk_forward('ev', 'X', 'sma_cross', '{"fast": [3, 5], "slow": [10, 20]}', '{"timeframe": "30 minutes"}',
                           in_sample => '2 days', out_of_sample => '1 day') WITH ORDINALITY a
FULL JOIN backtest_walk_forward('ev_30m', 'X', 'sma_cross', '{"fast": [3, 5], "slow": [10, 20]}', '{}',
                                in_sample => '2 days', out_of_sample => '1 day') WITH ORDINALITY b USING (ordinality);
-- on New York's clock across the 2024 spring change (2024-03-10, 02:00
-- local skipped), as date_bin buckets
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE (a.ts, a.open, a.high, a.low, a.close, a.volume, a.bars)
                              IS NOT DISTINCT FROM (b.ts, b.open, b.high, b.low, b.close, b.volume, b.bars)) AS equal,
       count(*) FILTER (WHERE a.ts = '2024-03-10 07:00+00') AS at_0300_edt
FROM backtest_resample('ev', 'X', '1 hour', time_zone => 'America/New_York') WITH ORDINALITY a
FULL JOIN (SELECT row_number() OVER (ORDER BY ts) AS ordinality, *
           FROM (SELECT date_bin('1 hour', ts AT TIME ZONE 'America/New_York', '2000-01-03') AT TIME ZONE 'America/New_York' AS ts,
                        (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
                        (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume, count(*) AS bars
                 FROM ev WHERE symbol = 'X' GROUP BY 1) g) b USING (ordinality);
-- the aggregate and backtest_arrays resample the group's bars
SELECT (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "30 minutes"}')
        FROM ev WHERE symbol = 'X')
       IS NOT DISTINCT FROM (SELECT r FROM backtest_run('ev_30m', 'X', 'sma_cross', '{"fast": 5, "slow": 20}') r) AS aggregate_equal,
       (SELECT backtest_arrays(array_agg(ts ORDER BY ts), array_agg(open ORDER BY ts), array_agg(high ORDER BY ts),
                               array_agg(low ORDER BY ts), array_agg(close ORDER BY ts), array_agg(volume ORDER BY ts),
                               'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "30 minutes"}')
        FROM ev WHERE symbol = 'X')
       IS NOT DISTINCT FROM (SELECT r FROM backtest_run('ev_30m', 'X', 'sma_cross', '{"fast": 5, "slow": 20}') r) AS arrays_equal;
SELECT symbol, bars FROM (SELECT symbol, (backtest(ts, open, high, low, close, volume, 'buy_and_hold', '{"timeframe": "1 day"}')).bars
                          FROM ev GROUP BY symbol) g ORDER BY symbol;
SELECT (backtest(ts, open, high, low, close, volume, 1, 'signal', '{"timeframe": "1 hour"}')).bars FROM ev WHERE symbol = 'X';
-- a queued sweep with a timeframe and a sort_by expression: its ranks are
-- backtest_sweep's order over the resampled table
SELECT backtest_submit_sweep('ev', 'X', 'sma_cross',
       '{"fast": [3, 5, 8], "slow": [10, 20], "sort_by": "return_pct / (1 + abs(max_drawdown_pct))"}',
       '{"timeframe": "30 minutes"}') AS sweep \gset
SELECT ev_wait();
SELECT count(*) AS rows, count(*) FILTER (WHERE q.params = s.params AND to_jsonb(s) - 'combo_no' <@ to_jsonb(q)) AS equal_in_rank_order
FROM (SELECT * FROM backtest.sweep_results WHERE task_id = :sweep) q
FULL JOIN (SELECT row_number() OVER () AS rank, * FROM backtest_sweep('ev_30m', 'X', 'sma_cross',
           '{"fast": [3, 5, 8], "slow": [10, 20], "sort_by": "return_pct / (1 + abs(max_drawdown_pct))"}')) s
     ON s.rank = q.rank;
-- many symbols at once: each symbol's bars resampled on its own, equal to
-- the same call over backtest_resample's rows of every symbol in a table
-- (UTC hours; New York days across the 2024 spring change)
CREATE TABLE ev_1h AS
SELECT v.s AS symbol, r.* FROM (VALUES ('X'), ('Y')) v(s), LATERAL backtest_resample('ev', v.s, '1 hour') r;
CREATE TABLE ev_1d AS
SELECT v.s AS symbol, r.* FROM (VALUES ('X'), ('Y')) v(s),
       LATERAL backtest_resample('ev', v.s, '1 day', time_zone => 'America/New_York') r;
SELECT a.symbol, a.bars, a.trades_count > 0 AS traded, a IS NOT DISTINCT FROM b AS equal
FROM backtest_run_all('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') a
FULL JOIN backtest_run_all('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}') b USING (symbol)
ORDER BY 1;
SELECT a.symbol, a.bars, a IS NOT DISTINCT FROM b AS equal
FROM backtest_run_all('ev', 'buy_and_hold', '{"timeframe": "1 day", "timeframe_time_zone": "America/New_York"}') a
FULL JOIN backtest_run_all('ev_1d', 'buy_and_hold', '{}') b USING (symbol)
ORDER BY 1;
-- a portfolio: its metrics, trades and account curve; Y as the benchmark
SELECT a.bars, a.trades_count > 0 AS traded, a IS NOT DISTINCT FROM b AS metrics_equal,
       (SELECT count(*) FROM backtest_portfolio_trades('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}')) AS trades,
       NOT EXISTS (SELECT * FROM backtest_portfolio_trades('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}')
                   EXCEPT SELECT * FROM backtest_portfolio_trades('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}'))
       AND NOT EXISTS (SELECT * FROM backtest_portfolio_trades('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}')
                       EXCEPT SELECT * FROM backtest_portfolio_trades('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}'))
           AS trades_equal,
       NOT EXISTS (SELECT * FROM backtest_portfolio_equity('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}')
                   EXCEPT ALL SELECT * FROM backtest_portfolio_equity('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}'))
       AND (SELECT count(*) FROM backtest_portfolio_equity('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}')) = a.bars
           AS equity_equal
FROM backtest_portfolio('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') a,
     backtest_portfolio('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}') b;
SELECT a.bars, a IS NOT DISTINCT FROM b AS equal
FROM backtest_portfolio('ev', 'sma_cross', '{"fast": 2, "slow": 3, "benchmark": "Y", "timeframe": "1 day", "timeframe_time_zone": "America/New_York"}',
                        symbols => ARRAY['X']) a,
     backtest_portfolio('ev_1d', 'sma_cross', '{"fast": 2, "slow": 3, "benchmark": "Y"}', symbols => ARRAY['X']) b;
-- a queued portfolio with a timeframe stores the synchronous result
SELECT backtest_submit_portfolio('ev', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') AS pftf \gset
SELECT ev_wait();
SELECT k.status, (r.bars, r.trades_count, r.equity_final, r.return_pct, r.sharpe_ratio, r.max_drawdown_pct)
                 IS NOT DISTINCT FROM (b.bars, b.trades_count, b.equity_final, b.return_pct, b.sharpe_ratio, b.max_drawdown_pct) AS equal,
       (SELECT count(*) FROM backtest.trades t WHERE t.task_id = :pftf) =
       (SELECT count(*) FROM backtest_portfolio_trades('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}')) AS trades_stored
FROM backtest.tasks k JOIN backtest.results r ON r.task_id = k.id,
     backtest_portfolio('ev_1h', 'sma_cross', '{"fast": 5, "slow": 20}') b
WHERE k.id = :pftf;
SELECT backtest_delete(:pftf);
DELETE FROM backtest.notifications WHERE metadata->>'task_id' = :'pftf';
-- the signal strategy: a bucket's signal is its last non-NULL one (NULL
-- when it has none: keep), as in this GROUP BY
CREATE VIEW ev_sig AS
SELECT *, CASE (extract(epoch FROM ts)::bigint / 300) % 97 WHEN 0 THEN 1 WHEN 41 THEN -1 WHEN 70 THEN 0.5 WHEN 85 THEN 0 END AS signal
FROM ev;
CREATE TABLE ev_sig_1h AS
SELECT symbol, date_bin('1 hour', ts, '2000-01-03') AS ts,
       (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
       (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume,
       (array_agg(signal ORDER BY ts DESC) FILTER (WHERE signal IS NOT NULL))[1] AS signal
FROM ev_sig GROUP BY 1, 2;
SELECT count(*) AS buckets, count(*) FILTER (WHERE signal IS NULL) AS without_signal,
       count(*) FILTER (WHERE s.signal IS DISTINCT FROM (SELECT e.signal FROM ev_sig e WHERE e.symbol = s.symbol
                                                         AND e.ts = s.ts + interval '55 minutes')) AS not_the_last_bars
FROM ev_sig_1h s WHERE symbol = 'X';
SELECT a.trades_count AS trades, a IS NOT DISTINCT FROM b AS run_equal,
       NOT EXISTS (SELECT * FROM backtest_trades('ev_sig', 'X', 'signal', '{"timeframe": "1 hour", "allow_short": true}')
                   EXCEPT ALL SELECT * FROM backtest_trades('ev_sig_1h', 'X', 'signal', '{"allow_short": true}'))
       AND NOT EXISTS (SELECT * FROM backtest_trades('ev_sig_1h', 'X', 'signal', '{"allow_short": true}')
                       EXCEPT ALL SELECT * FROM backtest_trades('ev_sig', 'X', 'signal', '{"timeframe": "1 hour", "allow_short": true}'))
           AS trades_equal,
       (SELECT backtest(ts, open, high, low, close, volume, signal, 'signal', '{"timeframe": "1 hour", "allow_short": true}')
        FROM ev_sig WHERE symbol = 'X') IS NOT DISTINCT FROM b AS aggregate_equal
FROM backtest_run('ev_sig', 'X', 'signal', '{"timeframe": "1 hour", "allow_short": true}') a,
     backtest_run('ev_sig_1h', 'X', 'signal', '{"allow_short": true}') b;
SELECT a.symbol, a IS NOT DISTINCT FROM b AS equal
FROM backtest_run_all('ev_sig', 'signal', '{"timeframe": "1 hour", "allow_short": true}') a
FULL JOIN backtest_run_all('ev_sig_1h', 'signal', '{"allow_short": true}') b USING (symbol)
ORDER BY 1;
DROP TABLE ev_sig_1h, ev_1h, ev_1d;
DROP VIEW ev_sig;
-- live streams: an error
SELECT ev_error($$SELECT backtest_live_start('ev', 'X', 'sma_cross', '{"timeframe": "1 hour"}')$$);

-- (e) period returns of a portfolio task: each period's closing equity is
-- the account curve's last of the period, the returns are the ratios of
-- consecutive closes (the first from initial_capital) and compound to the
-- task's return; the closed trades of every symbol are counted once
SELECT backtest_submit_portfolio('ev', 'sma_cross', '{"fast": 5, "slow": 20, "initial_capital": 20000}') AS pf \gset
SELECT ev_wait();
WITH p AS (SELECT * FROM backtest_period_returns(:pf, 'day')),
     d AS (SELECT date_trunc('day', ts) AS day, (array_agg(equity ORDER BY ts DESC))[1] AS equity_end, count(*) AS bars
           FROM backtest.portfolio_equity WHERE task_id = :pf GROUP BY 1),
     dr AS (SELECT day, equity_end, bars, coalesce(lag(equity_end) OVER (ORDER BY day), 20000) AS equity_start FROM d)
SELECT count(*) AS days,
       count(*) FILTER (WHERE p.equity_end = dr.equity_end AND p.equity_start = dr.equity_start AND p.bars = dr.bars
                          AND abs(p.return_pct - (dr.equity_end / dr.equity_start - 1) * 100) < 1e-9) AS equal,
       abs(exp(sum(ln(1 + p.return_pct / 100))) - (1 + (SELECT return_pct FROM backtest.results WHERE task_id = :pf) / 100)) < 1e-9
           AS compounds,
       sum(p.trades) = (SELECT count(*) FROM backtest.trades WHERE task_id = :pf AND NOT is_open) AS all_trades
FROM p FULL JOIN dr ON p.period_start = dr.day;
SELECT count(*) AS months FROM backtest_period_returns(:pf, 'month');
SELECT regexp_replace(ev_error(format('SELECT backtest_period_returns(%s)', :sweep)), 'task \d+', 'task N');

-- (f) sort_by in walk-forward: an expression picks per window the winner
-- the metric picks when it orders the same way, with its own value
SELECT count(*) AS windows,
       count(*) FILTER (WHERE a.best_params = b.best_params AND abs(b.is_objective - (2 * a.is_objective + 1)) < 1e-12
                          AND a.oos_return_pct = b.oos_return_pct) AS same_winner
FROM backtest_walk_forward('ev', 'X', 'sma_cross', '{"fast": [3, 5, 8], "slow": [10, 20], "sort_by": "return_pct"}', '{}',
                           in_sample => '2 days', out_of_sample => '1 day') a
JOIN backtest_walk_forward('ev', 'X', 'sma_cross', '{"fast": [3, 5, 8], "slow": [10, 20], "sort_by": "2 * return_pct + 1"}', '{}',
                           in_sample => '2 days', out_of_sample => '1 day') b USING (window_no)
WHERE a.kind = 'window';

SELECT count(*) AS deleted FROM (SELECT backtest_delete(id) FROM backtest.tasks
                                 WHERE id IN (SELECT task FROM ev_tasks) OR id IN (:sweep, :pf)) d;
DELETE FROM backtest.notifications WHERE (metadata->>'task_id')::bigint IN (SELECT task FROM ev_tasks)
                                      OR metadata->>'task_id' IN (:'sweep', :'pf');
DROP FUNCTION ev_wf_check(ev_params);
DROP FUNCTION ev_wf(text, jsonb, jsonb);
DROP FUNCTION ev_sweep_equal(ev_params);
DROP FUNCTION ev_wait();
DROP FUNCTION ev_error(text);
DROP TABLE ev_tasks, ev_params, ev_30m, ev;
