-- Sizing modes, cost models, limit/stop entries, pyramiding (issue 15): hand-worked
-- runs on a few bars, the same rules on the sample K-lines, the parameters'
-- listing and the exact errors for bad values.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- six daily bars and a signal to buy on the first (see test/unit/test_orders.c)
CREATE TABLE mbars (ts date, open float8, high float8, low float8, close float8, signal float8);
INSERT INTO mbars VALUES
  ('2024-01-01', 10, 11, 9, 10, 1), ('2024-01-02', 10, 11, 9, 10, NULL),
  ('2024-01-03', 9, 10, 8, 9, NULL), ('2024-01-04', 8, 9, 6.5, 7, NULL),
  ('2024-01-05', 6.5, 7, 6, 6.5, NULL), ('2024-01-06', 6, 7, 5, 6, NULL);

-- leverage 2: 200 units at 10 on 1000 of equity (cash -1000); at the close of
-- 7 equity 400 is below the maintenance margin 0.3 * 200 * 7 = 420, so the
-- position is liquidated at the next open, 6.5: pnl -700, equity 300
SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, exit_reason, is_open
FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "leverage": 2, "maintenance_margin": 0.3}');
SELECT ts, equity, position FROM backtest_equity('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "leverage": 2, "maintenance_margin": 0.3}');
-- without a maintenance margin the position is held to the end
SELECT exit_reason, is_open, round(pnl::numeric, 6) AS pnl FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "leverage": 2}');

-- sizing "quantity": 30 units; 100 units (1000 + fee) do not fit in 1000: a NOTICE
SELECT quantity, pnl FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "sizing": "quantity", "order_quantity": 30}');
SELECT trades_count, open_trades FROM backtest_run('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "sizing": "quantity", "order_quantity": 100, "commission_fixed": 1}');
-- sizing "value": floor((500 - 1) / 10) = 49 units
SELECT quantity, commission FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "sizing": "value", "order_value": 500, "commission_fixed": 1}');
-- sizing "risk": 1% of 1000 at a 5% stop of 10 (distance 0.5): 20 units,
-- stopped at 9.5 on the entry bar (low 9): a loss of 10, 1% of equity
SELECT quantity, exit_price, exit_reason, round(pnl::numeric, 6) AS pnl FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "sizing": "risk", "risk_fraction": 0.01, "stop_loss": 0.05}');

-- per-share commission 0.01, at least 1, at most 5; a 0.2 spread in price
-- units: buy at 10 + 0.1; (1000 - 1) / 10.1 -> 98 units (0.98 < 1: the
-- minimum); sell at 8 - 0.1 = 7.9, commission 1 again: pnl 98 * -2.2 - 2
UPDATE mbars SET signal = 0 WHERE ts = '2024-01-03';
SELECT entry_price, exit_price, quantity, commission, round(pnl::numeric, 6) AS pnl FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 1000, "commission_per_share": 0.01, "commission_min": 1, "commission_max": 5, "spread": 0.2, "spread_unit": "price"}');
-- at most 5: capital 100000 buys (100000 - 5) / 10.1 -> 9900 units (99 > 5)
SELECT quantity, commission FROM backtest_trades('mbars', NULL, 'signal',
     '{"initial_capital": 100000, "commission_per_share": 0.01, "commission_min": 1, "commission_max": 5, "spread": 0.2, "spread_unit": "price"}');
UPDATE mbars SET signal = NULL WHERE ts = '2024-01-03';

-- a short paying a borrow fee of 36.5% a year (365 bars a year: 0.1% a bar):
-- 100 short at 10, held at the closes 10, 9, 7, 6.5, 6: fees 0.1 * 38.5
-- = 3.85; still open, marked at 6: pnl 400 - 3.85
UPDATE mbars SET signal = -1 WHERE ts = '2024-01-01';
SELECT side, quantity, round(commission::numeric, 6) AS borrow, round(pnl::numeric, 6) AS pnl, is_open
FROM backtest_trades('mbars', NULL, 'signal', '{"initial_capital": 1000, "allow_short": true, "borrow_rate": 0.365}');

-- limit and stop entries (see test/unit/test_orders.c): decided on bar 0,
-- whose own range reaches every level; live on bars 1..valid_bars
CREATE TABLE obars (ts date, open float8, high float8, low float8, close float8, signal float8);
INSERT INTO obars VALUES
  ('2024-01-01', 100, 110, 90, 100, 1), ('2024-01-02', 100, 101, 99, 100, NULL),
  ('2024-01-03', 99, 103, 97, 98, NULL), ('2024-01-04', 98, 99, 96, 97, NULL),
  ('2024-01-05', 97, 98, 96, 97, NULL), ('2024-01-06', 97, 98, 96, 97, NULL);
-- buy limit at 100 * 0.98 = 98: not on bar 0's low 90, not on bar 1 (low 99), at 98 on bar 2
SELECT entry_ts, entry_price, quantity FROM backtest_trades('obars', NULL, 'signal',
     '{"initial_capital": 1000, "entry": "limit", "entry_offset": 0.02, "valid_bars": 3}');
-- the same with close fills: the order still waits for bar 1
SELECT entry_ts, entry_price FROM backtest_trades('obars', NULL, 'signal',
     '{"initial_capital": 1000, "entry": "limit", "entry_offset": 0.02, "valid_bars": 3, "fill": "close"}');
-- valid for one bar: cancelled unfilled
SELECT trades_count FROM backtest_run('obars', NULL, 'signal',
     '{"initial_capital": 1000, "entry": "limit", "entry_offset": 0.02, "valid_bars": 1}');
-- buy stop at 102 (a breakout): at 102 on bar 2; a gap through it opens at 104: at the open
SELECT entry_ts, entry_price, quantity FROM backtest_trades('obars', NULL, 'signal',
     '{"initial_capital": 1000, "entry": "stop", "entry_offset": 0.02, "valid_bars": 3}');
UPDATE obars SET open = 104, high = 105 WHERE ts = '2024-01-03';
SELECT entry_ts, entry_price, quantity FROM backtest_trades('obars', NULL, 'signal',
     '{"initial_capital": 1000, "entry": "stop", "entry_offset": 0.02, "valid_bars": 3}');

-- pyramiding and partial exits (see test/unit/test_orders.c): one trade row per entry leg
CREATE TABLE pbars (ts date, open float8, high float8, low float8, close float8, signal float8);
INSERT INTO pbars
SELECT '2023-12-31'::date + i::int, px, px + 1, px - 1, px, sig
FROM unnest(ARRAY[10, 10, 20, 20, 40, 40, 40, 50]::float8[],
            ARRAY[1, NULL, 0.5, NULL, 0, NULL, NULL, NULL]::float8[]) WITH ORDINALITY AS u(px, sig, i);
-- 1 buys 100 at 10; 0.5 sells half at 20 (a trade of 50, the other 50 stay open); 0 the rest at 40
SELECT trade_no, entry_ts, exit_ts, quantity, pnl, exit_reason, is_open
FROM backtest_trades('pbars', NULL, 'signal', '{"initial_capital": 1000}');
SELECT ts, round(equity::numeric, 6) AS equity, position FROM backtest_equity('pbars', NULL, 'signal', '{"initial_capital": 1000}');
-- pyramiding 2, size 0.5: 0.5 = one unit (50 at 10), 1 = two (25 more at 20, all the cash
-- left), 0.5 sells half of 75 (37, from the oldest leg), 0 the rest (13 + 25) at 50
UPDATE pbars SET signal = CASE ts WHEN '2024-01-01' THEN 0.5 WHEN '2024-01-03' THEN 1 WHEN '2024-01-05' THEN 0.5
                                  WHEN '2024-01-07' THEN 0 END;
SELECT trade_no, entry_ts, exit_ts, quantity, pnl, is_open
FROM backtest_trades('pbars', NULL, 'signal', '{"initial_capital": 1000, "size": 0.5, "pyramiding": 2}');
-- a ramp 0.25, 0.5, 0.75 with pyramiding 4 and size 0.25: three legs (25 at 10; 15 at 20
-- within the buying power 1250 - 500; 15 at 20), each its own trade at the exit at 40
UPDATE pbars SET signal = CASE ts WHEN '2024-01-01' THEN 0.25 WHEN '2024-01-02' THEN 0.5
                                  WHEN '2024-01-03' THEN 0.75 WHEN '2024-01-05' THEN 0 END;
SELECT trade_no, entry_ts, exit_ts, quantity, pnl
FROM backtest_trades('pbars', NULL, 'signal', '{"initial_capital": 1000, "size": 0.25, "pyramiding": 4}');
-- a sweep of the signal strategy over pyramiding equals its backtest_runs
SELECT params, trades_count, equity_final, open_trades
FROM backtest_sweep('pbars', NULL, 'signal', '{"pyramiding": [1, 2, 4]}', '{"initial_capital": 1000, "size": 0.25}')
ORDER BY combo_no;
SELECT bool_and(s.equity_final = r.equity_final AND s.trades_count = r.trades_count) AS sweep_equals_run
FROM backtest_sweep('pbars', NULL, 'signal', '{"pyramiding": [1, 2, 4]}', '{"initial_capital": 1000, "size": 0.25}') s,
     LATERAL backtest_run('pbars', NULL, 'signal', '{"initial_capital": 1000, "size": 0.25}'::jsonb || s.params) r;
-- a repeated value is no order: 0.75 held from the first bar is one leg of 3 units (75)
UPDATE pbars SET signal = CASE WHEN ts <= '2024-01-03' THEN 0.75 WHEN ts = '2024-01-05' THEN 0 END;
SELECT trade_no, entry_ts, exit_ts, quantity, pnl
FROM backtest_trades('pbars', NULL, 'signal', '{"initial_capital": 1000, "size": 0.25, "pyramiding": 4}');

-- the same rules on the sample K-lines
CREATE TABLE oklines (
    symbol text NOT NULL DEFAULT 'SYN', ts date NOT NULL,
    open float8, high float8, low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
\copy oklines (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)

-- the defaults of every new parameter, given explicitly, change nothing
SELECT a.trades_count = b.trades_count AND a.equity_final = b.equity_final AND a.sharpe_ratio = b.sharpe_ratio AS same
FROM backtest_run('oklines', 'SYN', 'sma_cross') a,
     backtest_run('oklines', 'SYN', 'sma_cross',
       '{"sizing": "fraction", "order_quantity": 1, "order_value": 10000, "risk_fraction": 0.01, "risk_atr": 0,
         "risk_atr_period": 14, "commission_per_share": 0, "commission_max": 0, "spread": 0, "spread_unit": "bps",
         "borrow_rate": 0, "leverage": 1, "maintenance_margin": 0,
         "entry": "market", "entry_offset": 0, "valid_bars": 1, "pyramiding": 1}') b;

SELECT trades_count, round(equity_final::numeric, 4) AS equity_final, round(commissions::numeric, 4) AS commissions
FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"sizing": "risk", "risk_fraction": 0.02, "risk_atr": 2}');
SELECT exit_reason, count(*) FROM backtest_trades('oklines', 'SYN', 'macd_cross',
       '{"allow_short": true, "leverage": 5, "maintenance_margin": 0.15, "borrow_rate": 0.05}')
GROUP BY exit_reason ORDER BY exit_reason;

-- limit entries on the K-lines: some signals expire unfilled, so fewer trades;
-- a sweep over the offset and valid_bars equals its backtest_runs
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final
FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "limit", "entry_offset": 0.01, "valid_bars": 5}');
SELECT bool_and(s.equity_final = r.equity_final AND s.trades_count = r.trades_count) AS sweep_equals_run,
       count(DISTINCT s.trades_count) > 1 AS trades_vary
FROM backtest_sweep('oklines', 'SYN', 'sma_cross', '{"entry_offset": [0, 0.01, 0.03], "valid_bars": [1, 5]}',
                    '{"entry": "stop"}') s,
     LATERAL backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "stop"}'::jsonb || s.params) r;

-- pyramiding on the K-lines: rsi repeats its entry signal while the RSI stays below 30, so
-- with pyramiding 3 a position holds up to three legs, one trade row each
SELECT count(*) AS trades, max(legs) AS max_legs, count(*) FILTER (WHERE legs > 1) AS rows_of_scaled
FROM (SELECT count(*) OVER (PARTITION BY exit_ts) AS legs
      FROM backtest_trades('oklines', 'SYN', 'rsi', '{"size": 0.3, "pyramiding": 3}')) t;
SELECT trades_count FROM backtest_run('oklines', 'SYN', 'rsi', '{"size": 0.3}');
SELECT bool_and(s.equity_final = r.equity_final AND s.trades_count = r.trades_count) AS sweep_equals_run
FROM backtest_sweep('oklines', 'SYN', 'rsi', '{"pyramiding": [1, 2, 5]}', '{"size": 0.2}') s,
     LATERAL backtest_run('oklines', 'SYN', 'rsi', '{"size": 0.2}'::jsonb || s.params) r;

-- sweepable: leverage and the spread in a grid
SELECT params, trades_count, round(equity_final::numeric, 4) AS equity_final
FROM backtest_sweep('oklines', 'SYN', 'sma_cross', '{"leverage": [1, 2], "spread": [0, 10]}')
ORDER BY combo_no;
-- each combination equals its backtest_run
SELECT bool_and(s.equity_final = r.equity_final AND s.trades_count = r.trades_count) AS sweep_equals_run
FROM backtest_sweep('oklines', 'SYN', 'sma_cross', '{"leverage": [1, 2], "spread": [0, 10]}',
                    '{"sizing": "risk", "risk_atr": 2, "maintenance_margin": 0.3}') s,
     LATERAL backtest_run('oklines', 'SYN', 'sma_cross',
             '{"sizing": "risk", "risk_atr": 2, "maintenance_margin": 0.3}'::jsonb || s.params) r;

-- and in a portfolio: per-share commission and quantity sizing per symbol
INSERT INTO oklines SELECT 'TENX', ts, open * 10, high * 10, low * 10, close * 10, volume FROM oklines;
SELECT symbol, count(*) AS trades, min(quantity) AS min_q, max(quantity) AS max_q
FROM backtest_portfolio_trades('oklines', 'sma_cross',
     '{"sizing": "quantity", "order_quantity": {"SYN": 7, "TENX": 3}, "commission_per_share": 0.01}')
GROUP BY symbol ORDER BY symbol;

-- portfolios trade with every rule above (issue 15).  A margin call is the
-- account's: M (mbars' prices) and F (flat at 10) both buy on the first close
-- with leverage 2 and "fixed" position_size 0.5 (a unit is all of equity):
-- M 100 @ 10 (cash 0), F 100 @ 10 (cash -1000).  At the 2024-01-04 close
-- equity -1000 + 700 + 1000 = 700 < 0.45 * 1700 = 765: both are closed at the
-- next opens, M at 6.5 (-350), F at 10 (0), though F never moved; cash 650
CREATE TABLE mfbars AS
SELECT s.symbol, b.ts, CASE s.symbol WHEN 'M' THEN b.open ELSE 10 END AS open,
       CASE s.symbol WHEN 'M' THEN b.high ELSE 10 END AS high,
       CASE s.symbol WHEN 'M' THEN b.low ELSE 10 END AS low,
       CASE s.symbol WHEN 'M' THEN b.close ELSE 10 END AS close,
       CASE WHEN b.ts = '2024-01-01' THEN 1 END AS signal
FROM mbars b, (VALUES ('M'), ('F')) s(symbol);
SELECT symbol, trade_no, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, exit_reason
FROM backtest_portfolio_trades('mfbars', 'signal',
     '{"initial_capital": 1000, "leverage": 2, "maintenance_margin": 0.45, "allocation": "fixed", "position_size": 0.5}')
ORDER BY symbol DESC;
SELECT ts, cash, equity, open_positions FROM backtest_portfolio_equity('mfbars', 'signal',
     '{"initial_capital": 1000, "leverage": 2, "maintenance_margin": 0.45, "allocation": "fixed", "position_size": 0.5}');

-- with one symbol, "allocation": "fixed" and "position_size": 1, a portfolio
-- trades exactly as backtest_run: every trade row and every equity value
CREATE TABLE osig AS
SELECT symbol, ts, open, high, low, close,
       (ARRAY[1, 0.5, -1, 0, 0.25, 1, -0.5, 0.75]::float8[])[1 + ((n * 7) % 8)::int] AS signal
FROM (SELECT *, row_number() OVER (ORDER BY ts) AS n FROM oklines WHERE symbol = 'SYN') o;
UPDATE osig SET signal = NULL WHERE (extract(doy FROM ts)::int * 5) % 3 <> 0;
CREATE FUNCTION pf_equals_run(src regclass, strategy text, params jsonb)
RETURNS TABLE (trades bigint, margin_calls bigint, trades_differ bigint, equity_differ bigint)
LANGUAGE sql AS $$
  WITH s AS (SELECT to_jsonb(t) AS t FROM backtest_trades(src, 'SYN', strategy, params) t),
       p AS (SELECT to_jsonb(t) - 'symbol' AS t FROM backtest_portfolio_trades(src, strategy,
               params || '{"allocation": "fixed", "position_size": 1}', ARRAY['SYN']) t)
  SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM s WHERE t->>'exit_reason' = 'margin_call'),
         (SELECT count(*) FROM ((SELECT t FROM s EXCEPT ALL SELECT t FROM p)
                                UNION ALL (SELECT t FROM p EXCEPT ALL SELECT t FROM s)) d),
         (SELECT count(*) FROM backtest_equity(src, 'SYN', strategy, params) e
                 FULL JOIN backtest_portfolio_equity(src, strategy,
                   params || '{"allocation": "fixed", "position_size": 1}', ARRAY['SYN']) q USING (ts)
          WHERE e.equity IS DISTINCT FROM q.equity OR e.cash IS DISTINCT FROM q.cash)
$$;
SELECT c.strategy, c.params, r.*
FROM (VALUES
  ('oklines', 'macd_cross', '{"leverage": 4, "maintenance_margin": 0.2, "allow_short": true}'),
  ('oklines', 'sma_cross', '{"entry": "limit", "entry_offset": 0.01, "valid_bars": 3}'),
  ('oklines', 'macd_cross', '{"entry": "stop", "entry_offset": 0.005, "valid_bars": 2, "allow_short": true, "fill": "close", "stop_loss": 0.03}'),
  ('oklines', 'rsi', '{"pyramiding": 3, "commission": 0.001}'),
  ('osig', 'signal', '{"pyramiding": 2, "allow_short": true, "commission": 0.001, "borrow_rate": 0.05}'),
  ('osig', 'signal', '{"lot_size": 5, "sizing": "value", "order_value": 2500}'),
  ('osig', 'signal', '{"leverage": 3, "maintenance_margin": 0.3, "entry": "limit", "entry_offset": 0.002, "valid_bars": 2, "pyramiding": 2, "allow_short": true}')
) c(src, strategy, params), LATERAL pf_equals_run(c.src::regclass, c.strategy, c.params::jsonb) r;
-- two symbols: SYN and TENX (its prices times 10) each with its own limit
-- entries; SYN pyramids, TENX does not
SELECT symbol, count(*) AS trades, count(*) FILTER (WHERE is_open) AS open_legs,
       count(DISTINCT exit_ts) < count(*) AS legs_closed_together
FROM backtest_portfolio_trades('oklines', 'rsi',
     '{"entry": "limit", "entry_offset": 0.005, "pyramiding": {"SYN": 3, "*": 1}, "max_positions": 2}')
GROUP BY symbol ORDER BY symbol;

-- discoverability
SELECT name, type, default_value, min_value, max_value FROM backtest_parameters()
WHERE strategy = '*' AND name IN ('sizing', 'order_quantity', 'order_value', 'risk_fraction', 'risk_atr',
  'risk_atr_period', 'commission_per_share', 'commission_max', 'spread', 'spread_unit', 'borrow_rate',
  'leverage', 'maintenance_margin', 'entry', 'entry_offset', 'valid_bars', 'pyramiding') ORDER BY name;

-- bad values
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"sizing": "kelly"}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"sizing": 1}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"risk_fraction": -0.1}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"risk_fraction": 1.5}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"order_quantity": 0}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"order_value": -5}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"risk_atr_period": 2.5}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"leverage": 0.5}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"commission_per_share": -0.01}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"commission_min": 5, "commission_max": 1}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"spread_unit": "pips"}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"borrow_rate": -1}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"sizing": "risk"}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"leverage": 4, "maintenance_margin": 0.25}');
SELECT * FROM backtest_sweep('oklines', 'SYN', 'sma_cross', '{"leverage": [0.5, 2]}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "twap"}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "limit", "valid_bars": 0}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "limit", "entry_offset": -0.01}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"entry": "limit", "entry_offset": 1}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"pyramiding": 0}');
SELECT * FROM backtest_run('oklines', 'SYN', 'sma_cross', '{"pyramiding": 65}');
SELECT * FROM backtest_run_query('SELECT ts, open, high, low, close, 1.5 AS signal FROM pbars ORDER BY ts', 'signal');
SELECT * FROM backtest_submit('oklines', 'SYN', 'sma_cross', '{"commission_min": 5, "commission_max": 1}');
SELECT * FROM backtest_portfolio('oklines', 'sma_cross', '{"leverage": {"SYN": 2, "*": 1}}');
SELECT * FROM backtest_portfolio('oklines', 'sma_cross', '{"maintenance_margin": {"TENX": 0.3, "*": 0}, "leverage": 2}');
SELECT * FROM backtest_portfolio('oklines', 'sma_cross', '{"sizing": "value", "rebalance": "monthly"}');
