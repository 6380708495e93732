-- pg_backtest demo (run by scripts/demo.sh on a throwaway cluster)
\pset footer off
\set ECHO queries
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS pg_backtest;
RESET client_min_messages;
SELECT extname, extversion FROM pg_extension WHERE extname IN ('pg_cron', 'pg_backtest') ORDER BY 1;

-- Sample K-lines: 3000 daily bars (test/data/ohlcv_synth.csv) as two symbols
CREATE TABLE klines (
    symbol text NOT NULL DEFAULT 'SYNTH',
    ts     date NOT NULL,
    open   double precision NOT NULL,
    high   double precision NOT NULL,
    low    double precision NOT NULL,
    close  double precision NOT NULL,
    volume double precision NOT NULL,
    PRIMARY KEY (symbol, ts)
);
\copy klines (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)
INSERT INTO klines SELECT 'SYNTH2', ts, open * 3.1, high * 3.1, low * 3.1, close * 3.1, volume FROM klines;
ANALYZE klines;
SELECT symbol, count(*) AS bars, min(ts), max(ts) FROM klines GROUP BY symbol ORDER BY symbol;

-- The strategies and their defaults
SELECT * FROM backtest_strategies();

-- One backtest: SMA(10)/SMA(30) crossover, all-in, next-open fills, no costs
\x on
SELECT * FROM backtest_run('klines', 'SYNTH', 'sma_cross');
\x off

-- Its first trades
SELECT trade_no, side, entry_ts::date, entry_price, exit_ts::date, exit_price, quantity,
       round(pnl::numeric, 2) AS pnl, round(return_pct::numeric, 2) AS ret_pct, exit_reason
FROM backtest_trades('klines', 'SYNTH', 'sma_cross') LIMIT 5;

-- HK-style costs: board lots of 100, 0.03% commission (min 3), 0.1% stamp duty on sells
SELECT trades_count, round(equity_final::numeric, 2) AS equity_final, round(commissions::numeric, 2) AS costs,
       round(return_pct::numeric, 2) AS return_pct, round(sharpe_ratio::numeric, 3) AS sharpe
FROM backtest_run('klines', 'SYNTH', 'kdj',
     '{"initial_capital": 1000000, "lot_size": 100, "commission": 0.0003, "commission_min": 3,
       "stamp_duty": 0.001, "stop_loss": 0.08}');

-- Every strategy on every symbol in one pass over the table (the aggregate form)
SELECT k.symbol, s.name AS strategy, (r).trades_count AS trades,
       round((r).return_pct::numeric, 2) AS return_pct, round((r).max_drawdown_pct::numeric, 2) AS max_dd_pct,
       round((r).sharpe_ratio::numeric, 3) AS sharpe
FROM backtest_strategies() s
CROSS JOIN LATERAL (
    SELECT symbol, backtest(ts, open, high, low, close, volume, s.name, '{}' ORDER BY ts) AS r
    FROM klines GROUP BY symbol) k
WHERE s.name <> 'signal'
ORDER BY k.symbol, sharpe DESC NULLS LAST;

-- The equity curve, monthly, as a BI tool would chart it
SELECT date_trunc('year', ts)::date AS year, round(max(equity)::numeric, 2) AS peak_equity,
       round(min(drawdown_pct)::numeric, 2) AS worst_dd_pct
FROM backtest_equity('klines', 'SYNTH', 'sma_cross')
GROUP BY 1 ORDER BY 1;
