-- Trade analytics (issue 15 item 5): MAE/MFE and bar numbers per trade,
-- winning/losing streaks in the metrics, cash and position value per bar;
-- the same in the queue's result tables, sweeps and portfolios.
SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------------
-- Six bars worked by hand (the engine's unit test has the same).  Bar 0 and
-- bar 4 have extremes no trade below may see: bar 0 lies before every
-- entry, and the long trades leave at bar 4's open.
-- ---------------------------------------------------------------------------
CREATE TABLE an6 (ts timestamptz, open float8, high float8, low float8, close float8, signal float8);
INSERT INTO an6 VALUES
    ('2015-01-01', 10, 30,  1, 10.5, 1),
    ('2015-01-02', 11, 12, 10, 11.5, NULL),
    ('2015-01-03', 12, 15,  8, 12.5, -1),
    ('2015-01-04', 13, 14, 12, 13.5, 0),
    ('2015-01-05', 14, 20,  1, 14.5, NULL),
    ('2015-01-06', 15, 16, 14, 15.5, NULL);
CREATE VIEW an6_long AS SELECT ts, open, high, low, close,
    CASE ts WHEN '2015-01-01' THEN 1 WHEN '2015-01-04' THEN 0 END AS signal FROM an6;

-- next-open fills: in at bar 1's open (11), out at bar 4's open (14); held
-- through bars 1..3 (lows 10, 8, 12; highs 12, 15, 14) and bar 4's open:
-- MAE 8 = -3/11 = -27.2727%, MFE 15 = +4/11 = +36.3636%
SELECT trade_no, entry_bar, exit_bar, bars_held, entry_price, exit_price,
       mae_price, round(mae_pct::numeric, 4) AS mae_pct, mfe_price, round(mfe_pct::numeric, 4) AS mfe_pct
FROM backtest_trades('an6_long', NULL, 'signal', '{"initial_capital": 100, "columns": {"symbol": null}}');
-- close fills: in at bar 0's close (10.5; bar 0's range came before), out
-- at bar 3's close (13.5): MAE 8 = -2.5/10.5 = -23.8095%, MFE 15 = +42.8571%
SELECT trade_no, entry_bar, exit_bar, entry_price, exit_price,
       mae_price, round(mae_pct::numeric, 4) AS mae_pct, mfe_price, round(mfe_pct::numeric, 4) AS mfe_pct
FROM backtest_trades('an6_long', NULL, 'signal', '{"initial_capital": 100, "fill": "close", "columns": {"symbol": null}}');
-- a 10% stop: level 9.9, reached on bar 2 (open 12, low 8); held through
-- bar 1 and bar 2's open, not bar 2's high 15 (it may have come after the
-- stop): MAE 9.9 = -10%, MFE 12 = +9.0909%
SELECT trade_no, entry_bar, exit_bar, exit_reason, round(exit_price::numeric, 4) AS exit_price,
       round(mae_price::numeric, 4) AS mae_price, round(mae_pct::numeric, 4) AS mae_pct,
       mfe_price, round(mfe_pct::numeric, 4) AS mfe_pct
FROM backtest_trades('an6_long', NULL, 'signal', '{"initial_capital": 100, "stop_loss": 0.1, "columns": {"symbol": null}}')
WHERE trade_no = 1;
-- shorts: long from bar 1, reversed short at bar 3's open (13), flat at
-- bar 4's open (14), ... the short held bar 3 (12..14) and bar 4's open:
-- MAE 14 = -1/13 = -7.6923%, MFE 12 = +7.6923%
SELECT trade_no, side, entry_bar, exit_bar, entry_price, exit_price, mae_price,
       round(mae_pct::numeric, 4) AS mae_pct, mfe_price, round(mfe_pct::numeric, 4) AS mfe_pct, is_open
FROM backtest_trades('an6', NULL, 'signal', '{"initial_capital": 100, "allow_short": true, "columns": {"symbol": null}}');

-- cash and position value: 100 until the entry, 100 - 9 x 11 = 1 with 9
-- units, then 1 + 9 x 14 = 127; equity = cash + position_value exactly
SELECT to_char(ts, 'YYYY-MM-DD') AS day, "position", cash, position_value, equity, cash + position_value = equity AS adds_up
FROM backtest_equity('an6_long', NULL, 'signal', '{"initial_capital": 100, "columns": {"symbol": null}}');

-- ---------------------------------------------------------------------------
-- Many trades: the excursions against the bars in SQL, for both fill rules,
-- shorts and stops; the bar numbers against the timestamps
-- ---------------------------------------------------------------------------
CREATE TABLE anb (symbol text, ts timestamptz, open float8, high float8, low float8, close float8);
INSERT INTO anb
SELECT s, '2020-01-01'::timestamptz + i * interval '1 day', o, greatest(o, c) + 1 + (i % 3), least(o, c) - 1 - (i % 5) * 0.5, c
FROM (SELECT s, i, 100 + 20 * sin(i / (7.0 + k)) + 5 * cos(i / 2.3) + ((i * 7919 + k) % 97) / 6.0 AS o,
             100 + 20 * sin((i + 0.6) / (7.0 + k)) + 5 * cos((i + 0.5) / 2.3) + ((i * 104729 + k) % 89) / 6.0 AS c
      FROM generate_series(0, 599) i, (VALUES ('A', 0), ('B', 3)) v(s, k)) x;

CREATE FUNCTION excursion_check(params jsonb)
RETURNS TABLE (trades bigint, stop_exits bigint, bars_match bigint, excursions_match bigint, signs_ok bigint)
LANGUAGE sql AS $$
WITH b AS (SELECT row_number() OVER (ORDER BY ts) - 1 AS i, * FROM anb WHERE symbol = 'A'),
t AS (SELECT *, CASE WHEN coalesce(params->>'fill', 'open') = 'open' THEN entry_bar ELSE entry_bar + 1 END AS first_full,
             CASE WHEN is_open OR (exit_reason = 'signal' AND params->>'fill' = 'close') THEN exit_bar
                  ELSE exit_bar - 1 END AS last_full
      FROM backtest_trades('anb', 'A', 'sma_cross', params)),
x AS (SELECT t.*,
             least(t.entry_price, t.exit_price,
                   (SELECT min(low) FROM b WHERE b.i BETWEEN t.first_full AND t.last_full),
                   (SELECT open FROM b WHERE b.i = t.exit_bar AND t.last_full < t.exit_bar)) AS lo,
             greatest(t.entry_price, t.exit_price,
                   (SELECT max(high) FROM b WHERE b.i BETWEEN t.first_full AND t.last_full),
                   (SELECT open FROM b WHERE b.i = t.exit_bar AND t.last_full < t.exit_bar)) AS hi
      FROM t)
SELECT count(*), count(*) FILTER (WHERE x.exit_reason NOT IN ('signal', 'end')),
       count(*) FILTER (WHERE (SELECT ts FROM b WHERE b.i = x.entry_bar) = x.entry_ts
                          AND (SELECT ts FROM b WHERE b.i = x.exit_bar) = x.exit_ts
                          AND x.bars_held = x.exit_bar - x.entry_bar),
       count(*) FILTER (WHERE x.mae_price = CASE WHEN side = 'long' THEN lo ELSE hi END
                          AND x.mfe_price = CASE WHEN side = 'long' THEN hi ELSE lo END
                          AND abs(x.mae_pct - (CASE WHEN side = 'long' THEN 1 ELSE -1 END) * (x.mae_price - x.entry_price) / x.entry_price * 100) < 1e-9
                          AND abs(x.mfe_pct - (CASE WHEN side = 'long' THEN 1 ELSE -1 END) * (x.mfe_price - x.entry_price) / x.entry_price * 100) < 1e-9),
       count(*) FILTER (WHERE x.mae_pct <= 0 AND x.mfe_pct >= 0)
FROM x
$$;
SELECT * FROM excursion_check('{"fast": 5, "slow": 20}');
SELECT * FROM excursion_check('{"fast": 5, "slow": 20, "fill": "close", "allow_short": true}');
SELECT * FROM excursion_check('{"fast": 5, "slow": 20, "allow_short": true, "stop_loss": 0.02, "take_profit": 0.05, "slippage_bps": 10}');
SELECT * FROM excursion_check('{"fast": 3, "slow": 30, "fill": "close", "trailing_stop": 0.03}');

-- streaks against the trades, in SQL (gaps and islands over closed trades)
CREATE FUNCTION streak_check(params jsonb)
RETURNS TABLE (max_win_streak bigint, max_loss_streak bigint, from_trades_win bigint, from_trades_loss bigint)
LANGUAGE sql AS $$
WITH t AS (SELECT trade_no, sign(pnl) AS s FROM backtest_trades('anb', 'A', 'sma_cross', params) WHERE NOT is_open),
g AS (SELECT s, trade_no - row_number() OVER (PARTITION BY s ORDER BY trade_no) AS grp FROM t),
runs AS (SELECT s, count(*) AS len FROM g GROUP BY s, grp)
SELECT r.max_win_streak, r.max_loss_streak,
       coalesce((SELECT max(len) FROM runs WHERE s = 1), 0),
       coalesce((SELECT max(len) FROM runs WHERE s = -1), 0)
FROM backtest_run('anb', 'A', 'sma_cross', params) r
$$;
SELECT * FROM streak_check('{"fast": 5, "slow": 20}');
SELECT * FROM streak_check('{"fast": 5, "slow": 20, "allow_short": true, "commission": 0.002}');
-- no trades: 0, not NULL
SELECT max_win_streak, max_loss_streak FROM backtest_run('anb', 'A', 'sma_cross', '{}', '2020-01-01', '2020-01-10');

-- sweeps and every-symbol runs carry the streaks, equal to backtest_run
SELECT count(*) AS combos,
       count(*) FILTER (WHERE (s.max_win_streak, s.max_loss_streak) = (r.max_win_streak, r.max_loss_streak)) AS equal
FROM backtest_sweep('anb', 'A', 'sma_cross', '{"fast": [3, 5, 8], "slow": [20, 30]}') s
CROSS JOIN LATERAL backtest_run('anb', 'A', 'sma_cross', s.params) r;
SELECT a.symbol, (a.max_win_streak, a.max_loss_streak) = (r.max_win_streak, r.max_loss_streak) AS equal
FROM backtest_run_all('anb', 'sma_cross', '{"fast": 5, "slow": 20}') a
CROSS JOIN LATERAL backtest_run('anb', a.symbol, 'sma_cross', '{"fast": 5, "slow": 20}') r;

-- portfolio trades: the excursions from each symbol's own bars
SELECT t.symbol, count(*) AS trades,
       count(*) FILTER (WHERE t.mae_price = (SELECT least(t.entry_price, t.exit_price, min(b.low)) FROM
                              (SELECT row_number() OVER (ORDER BY ts) - 1 AS i, * FROM anb WHERE symbol = t.symbol) b
                              WHERE b.i BETWEEN t.entry_bar AND t.exit_bar - 1 OR (b.i = t.exit_bar AND t.is_open))
                          OR t.mae_price = (SELECT b.open FROM
                              (SELECT row_number() OVER (ORDER BY ts) - 1 AS i, * FROM anb WHERE symbol = t.symbol) b
                              WHERE b.i = t.exit_bar)) AS mae_from_bars,
       count(*) FILTER (WHERE t.mae_pct <= 0 AND t.mfe_pct >= 0) AS signs_ok
FROM backtest_portfolio_trades('anb', 'sma_cross', '{"fast": 5, "slow": 20}') t
GROUP BY t.symbol ORDER BY t.symbol;

-- ---------------------------------------------------------------------------
-- The queue stores the same: a task's trades, equity rows and metrics equal
-- the synchronous functions' column for column
-- ---------------------------------------------------------------------------
SELECT backtest_submit('anb', 'A', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true}') AS task \gset
SELECT backtest_submit_sweep('anb', 'A', 'sma_cross', '{"fast": [3, 5], "slow": [20]}') AS sweep_task \gset
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT status FROM backtest.tasks WHERE id IN (:task, :sweep_task) ORDER BY id;
SELECT (SELECT count(*) FROM backtest.trades WHERE task_id = :task) AS stored_trades,
       (SELECT count(*) FROM (
           SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, return_pct,
                  bars_held, exit_reason, is_open, commission, entry_bar, exit_bar, mae_price, mae_pct,
                  mfe_price, mfe_pct
           FROM backtest.trades WHERE task_id = :task
           EXCEPT
           SELECT * FROM backtest_trades('anb', 'A', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true}')) d) AS differing;
SELECT (SELECT count(*) FROM backtest.equity WHERE task_id = :task) AS stored_bars,
       (SELECT count(*) FROM (
           SELECT ts, close, "position", equity, drawdown_pct, cash, position_value
           FROM backtest.equity WHERE task_id = :task
           EXCEPT
           SELECT * FROM backtest_equity('anb', 'A', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true}')) d) AS differing;
SELECT (r.max_win_streak, r.max_loss_streak) = (m.max_win_streak, m.max_loss_streak) AS results_equal
FROM backtest.results r, backtest_run('anb', 'A', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true}') m
WHERE r.task_id = :task;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (r.max_win_streak, r.max_loss_streak) = (s.max_win_streak, s.max_loss_streak)) AS equal
FROM backtest.sweep_results r
JOIN backtest_sweep('anb', 'A', 'sma_cross', '{"fast": [3, 5], "slow": [20]}') s USING (combo_no)
WHERE r.task_id = :sweep_task;

DROP FUNCTION excursion_check(jsonb);
DROP FUNCTION streak_check(jsonb);
DROP VIEW an6_long;
DROP TABLE an6, anb;
-- a curve stored before 0.5.0 has no cash array: the view still has every
-- bar, with cash NULL and the other columns unchanged
UPDATE backtest.equity_curves SET cash = NULL WHERE task_id = :task;
SELECT count(*) AS bars, count(cash) AS with_cash, count(position_value) AS with_value
FROM backtest.equity WHERE task_id = :task;
-- leave the queue as found (tasks.sql counts its own tasks)
SELECT backtest_delete(:task), backtest_delete(:sweep_task);
DELETE FROM backtest.notifications WHERE metadata->>'task_id' IN (:'task', :'sweep_task');
