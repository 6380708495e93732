-- backtest_run / backtest_trades / backtest_equity, the query forms, the
-- aggregate and the array core, on the sample K-lines.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

CREATE TABLE klines (
    symbol text NOT NULL DEFAULT 'SYN',
    ts     date NOT NULL,
    open   double precision,
    high   double precision,
    low    double precision,
    close  double precision,
    volume double precision,
    PRIMARY KEY (symbol, ts)
);
\copy klines (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)
-- a second symbol: the same bars scaled by 10 (returns are identical)
INSERT INTO klines
SELECT 'TENX', ts, open * 10, high * 10, low * 10, close * 10, volume FROM klines;
ANALYZE klines;

-- sma_cross 10/30 with the defaults: backtrader's 53 trades, final equity 11033.3188
SELECT bars, warmup_bars, trades_count, open_trades, round(equity_final::numeric, 4) AS equity_final,
       round(return_pct::numeric, 6) AS return_pct, commissions, periods_per_year,
       start_ts, end_ts, duration
FROM backtest_run('klines', 'SYN', 'sma_cross');

SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity,
       round(pnl::numeric, 4) AS pnl, bars_held, exit_reason, is_open
FROM backtest_trades('klines', 'SYN', 'sma_cross') WHERE trade_no IN (1, 2, 53);

SELECT count(*) AS trades, round(sum(pnl)::numeric, 4) AS total_pnl,
       bool_and(quantity = floor(quantity)) AS whole_units
FROM backtest_trades('klines', 'SYN', 'sma_cross');

-- the equity curve: one row per bar, ending at equity_final; drawdown <= 0
SELECT count(*) AS bars, round((array_agg(equity ORDER BY ts DESC))[1]::numeric, 4) AS last_equity,
       min(drawdown_pct) < -40 AS deep_drawdown, max(drawdown_pct) AS max_dd_pct,
       count(*) FILTER (WHERE position > 0) AS bars_long
FROM backtest_equity('klines', 'SYN', 'sma_cross');

-- max drawdown of the curve equals the metric
SELECT round(min(e.drawdown_pct)::numeric, 9) = round(r.max_drawdown_pct::numeric, 9) AS dd_matches
FROM backtest_equity('klines', 'SYN', 'sma_cross') e, backtest_run('klines', 'SYN', 'sma_cross') r
GROUP BY r.max_drawdown_pct;

-- every metric column, rounded (the field set BI tools read)
SELECT round(exposure_pct::numeric, 6) AS exposure_pct, round(equity_peak::numeric, 4) AS equity_peak,
       round(buy_hold_return_pct::numeric, 6) AS buy_hold_return_pct,
       round(return_ann_pct::numeric, 6) AS return_ann_pct,
       round(volatility_ann_pct::numeric, 6) AS volatility_ann_pct,
       round(cagr_pct::numeric, 6) AS cagr_pct, round(sharpe_ratio::numeric, 6) AS sharpe,
       round(sortino_ratio::numeric, 6) AS sortino, round(calmar_ratio::numeric, 6) AS calmar,
       round(max_drawdown_pct::numeric, 6) AS max_dd, round(avg_drawdown_pct::numeric, 6) AS avg_dd,
       max_drawdown_duration, win_rate_pct::numeric(10,4) AS win_rate,
       round(best_trade_pct::numeric, 6) AS best, round(worst_trade_pct::numeric, 6) AS worst,
       round(avg_trade_pct::numeric, 6) AS avg_trade, max_trade_duration,
       round(profit_factor::numeric, 6) AS profit_factor, round(expectancy_pct::numeric, 6) AS expectancy,
       round(sqn::numeric, 6) AS sqn, round(kelly_criterion::numeric, 6) AS kelly,
       round(omega_ratio::numeric, 6) AS omega
FROM backtest_run('klines', 'SYN', 'sma_cross');

-- a table whose rows are stored out of time order gives the same backtest
-- (the loader reads without ORDER BY and sorts when the scan was not ordered)
SELECT setseed(0.42);
CREATE TABLE shuffled AS SELECT * FROM klines WHERE symbol = 'SYN' ORDER BY random();
SELECT (SELECT count(*) FROM (SELECT ts, lag(ts) OVER () AS prev FROM shuffled) s WHERE ts < prev) > 1000 AS stored_unordered;
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final FROM backtest_run('shuffled', 'SYN', 'sma_cross');
SELECT count(*) FROM backtest_trades('shuffled', 'SYN', 'sma_cross') s
JOIN backtest_trades('klines', 'SYN', 'sma_cross') k USING (trade_no, entry_ts, exit_ts, quantity, pnl);

-- a time range: only bars inside it are read (inclusive bounds)
SELECT bars, start_ts, end_ts, trades_count
FROM backtest_run('klines', 'SYN', 'sma_cross', '{}', '2020-01-01', '2020-12-31');

-- the query form and the table form agree
SELECT a.equity_final = b.equity_final AS same_equity, a.trades_count = b.trades_count AS same_trades
FROM backtest_run('klines', 'SYN', 'rsi', '{"commission": 0.001}') a,
     backtest_run_query('SELECT ts, open, high, low, close, volume FROM klines WHERE symbol = ''SYN'' ORDER BY ts',
                        'rsi', '{"commission": 0.001}') b;
SELECT count(*) FROM backtest_trades_query('SELECT * FROM klines WHERE symbol = ''SYN'' ORDER BY ts', 'sma_cross');
SELECT count(*) FROM backtest_equity_query('SELECT * FROM klines WHERE symbol = ''SYN'' ORDER BY ts', 'sma_cross');

-- the aggregate backtests every symbol in one pass and equals backtest_run
SELECT symbol, (r).trades_count, round((r).equity_final::numeric, 4) AS equity_final,
       (r).equity_final = (backtest_run('klines', symbol, 'sma_cross')).equity_final AS matches_run
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}' ORDER BY ts) AS r
      FROM klines GROUP BY symbol) g
ORDER BY symbol;

-- the array core
SELECT round((backtest_arrays(array_agg(ts ORDER BY ts), array_agg(open ORDER BY ts), array_agg(high ORDER BY ts),
                              array_agg(low ORDER BY ts), array_agg(close ORDER BY ts), array_agg(volume ORDER BY ts),
                              'sma_cross')).equity_final::numeric, 4) AS equity_final
FROM klines WHERE symbol = 'SYN';

-- every strategy runs with its defaults, long-only and with shorts
SELECT s.name, r.trades_count + r.open_trades > 0 AS traded, r.warmup_bars,
       rs.trades_count >= r.trades_count AS shorts_trade_more
FROM backtest_strategies() s
CROSS JOIN LATERAL backtest_run('klines', 'SYN', s.name) r
CROSS JOIN LATERAL backtest_run('klines', 'SYN', s.name, '{"allow_short": true}') rs
WHERE s.name <> 'signal'
ORDER BY s.name;

-- fill at the close of the signal bar instead of the next open
SELECT t.entry_ts = '2015-03-27' AS entered_on_signal_bar, t.entry_price = k.close AS at_close
FROM backtest_trades('klines', 'SYN', 'sma_cross', '{"fill": "close"}') t
JOIN klines k ON k.symbol = 'SYN' AND k.ts = t.entry_ts::date
WHERE t.trade_no = 1;

-- HK-style costs: board lots of 100, commission with a minimum, stamp duty on sells, slippage
SELECT count(*) AS trades, bool_and(quantity::bigint % 100 = 0) AS whole_lots,
       bool_and(commission > 0) AS all_paid, round(sum(commission)::numeric, 2) AS costs
FROM backtest_trades('klines', 'SYN', 'sma_cross',
     '{"initial_capital": 1000000, "lot_size": 100, "commission": 0.0003, "commission_min": 3,
       "stamp_duty": 0.001, "slippage_bps": 5}');
SELECT round(commissions::numeric, 2) AS commissions
FROM backtest_run('klines', 'SYN', 'sma_cross',
     '{"initial_capital": 1000000, "lot_size": 100, "commission": 0.0003, "commission_min": 3,
       "stamp_duty": 0.001, "slippage_bps": 5}');

-- stops: every exit reason is one of the documented ones; a tight stop-loss fires
SELECT exit_reason, count(*) FROM backtest_trades('klines', 'SYN', 'sma_cross',
       '{"stop_loss": 0.02, "take_profit": 0.10}') GROUP BY exit_reason ORDER BY exit_reason;

-- an open position at the end is reported, flagged, not dropped
SELECT trade_no, is_open, exit_reason, exit_ts FROM backtest_trades('klines', 'SYN', 'buy_and_hold');

-- the signal strategy: targets from a column; NULL keeps the position
CREATE TABLE sig AS
SELECT ts, open, high, low, close, volume,
       CASE WHEN extract(month FROM ts) IN (1, 7) AND extract(day FROM ts) <= 7 THEN 1
            WHEN extract(month FROM ts) IN (3, 10) AND extract(day FROM ts) <= 7 THEN 0
            ELSE NULL END AS signal
FROM klines WHERE symbol = 'SYN';
SELECT count(*) AS trades, min(extract(month FROM entry_ts)) AS first_entry_month
FROM backtest_trades('sig', NULL, 'signal');
-- the same through the aggregate's signal form
SELECT (backtest(ts, open, high, low, close, volume, signal::float8, 'signal', '{}' ORDER BY ts)).trades_count
FROM sig;

-- column mapping and column types: numeric, real, integer prices, timestamp ts
CREATE TABLE bars_custom (
    ticker varchar(12), bar_time timestamp, o real, h numeric, l numeric(12,4), c double precision, vol integer);
INSERT INTO bars_custom SELECT 'SYN', ts, open, high, low, close, volume FROM klines WHERE symbol = 'SYN';
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final
FROM backtest_run('bars_custom', 'SYN', 'sma_cross',
     '{"columns": {"symbol": "ticker", "ts": "bar_time", "open": "o", "high": "h", "low": "l", "close": "c"}}');

-- discoverability
SELECT strategy, count(*) FROM backtest_parameters() GROUP BY strategy ORDER BY strategy;
SELECT name, type, default_value, min_value, max_value FROM backtest_parameters()
WHERE strategy IN ('sma_cross', 'kdj') ORDER BY strategy, name;

-- search_path: a hostile schema with its own = operator and functions does not change results
CREATE SCHEMA evil;
CREATE FUNCTION evil.always_true(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_true);
SET search_path = evil, public, pg_catalog;
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final FROM public.backtest_run('klines', 'SYN', 'sma_cross');
SET search_path = pg_catalog;
SELECT trades_count FROM public.backtest_run('public.klines', 'SYN', 'sma_cross');
RESET search_path;
DROP SCHEMA evil CASCADE;

-- klines holds two symbols, so one is read through its (symbol, ts) index
-- with enable_seqscan off for that read only: the session's setting is
-- back afterwards, also when the read fails (a NULL price) inside a block
SET enable_seqscan = on;
SELECT trades_count FROM backtest_run('klines', 'TENX', 'sma_cross');
SHOW enable_seqscan;
BEGIN;
UPDATE klines SET close = NULL WHERE symbol = 'TENX' AND ts = (SELECT max(ts) FROM klines);
DO $$
BEGIN
    PERFORM backtest_run('klines', 'TENX', 'sma_cross');
EXCEPTION WHEN null_value_not_allowed THEN
    RAISE NOTICE 'failed: %', SQLERRM;
END
$$;
SHOW enable_seqscan;
ROLLBACK;
SET enable_seqscan = off;
SELECT trades_count FROM backtest_run('klines', 'TENX', 'sma_cross');
SHOW enable_seqscan;
RESET enable_seqscan;
