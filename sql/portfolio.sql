-- Portfolio backtests: backtest_portfolio(_trades, _equity, _query), one cash
-- account over many symbols (test/data/portfolio_sample.csv, made by
-- scripts/gen_portfolio_sample.py).
\set VERBOSITY default
SET TimeZone = 'UTC';
CREATE TABLE pf (
    symbol text NOT NULL,
    ts     date NOT NULL,
    open   double precision,
    high   double precision,
    low    double precision,
    close  double precision,
    volume double precision
);
\copy pf FROM 'test/data/portfolio_sample.csv' WITH (FORMAT csv, HEADER)
SELECT symbol, count(*) FROM pf GROUP BY symbol ORDER BY symbol;

-- sma_cross on the four stocks, the index as benchmark
SELECT n_symbols, bars, trades_count, open_trades, max_positions_held,
       round(avg_positions_held::numeric, 3) AS avg_held, round(turnover::numeric, 3) AS turnover,
       entries_skipped, round(return_pct::numeric, 4) AS return_pct,
       round(max_drawdown_pct::numeric, 4) AS max_dd, round(alpha::numeric, 4) AS alpha,
       round(beta::numeric, 4) AS beta, round(benchmark_return_pct::numeric, 4) AS bench
FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "commission": 0.001}');

-- the account: equity = cash + positions value at every timestamp; cash >= 0
SELECT count(*) AS timestamps,
       count(*) FILTER (WHERE abs(equity - (cash + positions_value)) > 1e-9 * equity) AS identity_broken,
       count(*) FILTER (WHERE cash < 0) AS negative_cash,
       max(open_positions) AS most_held
FROM backtest_portfolio_equity('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "max_positions": 2}');

-- trades: every fill on a bar of its own symbol; trades numbered per symbol
SELECT t.symbol, count(*) AS trades, max(t.trade_no) AS last_no,
       bool_and(EXISTS (SELECT 1 FROM pf WHERE pf.symbol = t.symbol AND pf.ts = t.entry_ts)) AS entries_on_bars,
       bool_and(EXISTS (SELECT 1 FROM pf WHERE pf.symbol = t.symbol AND pf.ts = t.exit_ts)) AS exits_on_bars
FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "max_positions": 2}') t
GROUP BY t.symbol ORDER BY t.symbol;

-- one symbol, fixed allocation of 1: exactly backtest_run's trades and equity
SELECT (SELECT count(*) FROM backtest_trades('pf', 'AAA', 'sma_cross', '{"fast": 5, "slow": 20}')) AS run_trades,
       (SELECT count(*) FROM (
          SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, is_open
          FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "allocation": "fixed", "position_size": 1}', ARRAY['AAA'])
          EXCEPT
          SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, is_open
          FROM backtest_trades('pf', 'AAA', 'sma_cross', '{"fast": 5, "slow": 20}')) d) AS trades_differ,
       (SELECT count(*) FROM backtest_portfolio_equity('pf', 'sma_cross', '{"fast": 5, "slow": 20, "allocation": "fixed", "position_size": 1}', ARRAY['AAA']) p
          JOIN backtest_equity('pf', 'AAA', 'sma_cross', '{"fast": 5, "slow": 20}') e USING (ts)
          WHERE p.equity <> e.equity) AS equity_differ;

-- stops, by the single-symbol simulator's rules: one symbol, fixed 1, gives
-- exactly backtest_run's trades (with their exit reasons) and equity, for both fills
SELECT f.fill,
       (SELECT count(*) FROM backtest_trades('pf', 'BBB', 'sma_cross', f.params)) AS run_trades,
       (SELECT string_agg(exit_reason || ':' || n, ' ' ORDER BY exit_reason) FROM
          (SELECT exit_reason, count(*) AS n FROM backtest_trades('pf', 'BBB', 'sma_cross', f.params) GROUP BY 1) r) AS exits,
       (SELECT count(*) FROM (
          (SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, return_pct, bars_held, exit_reason, is_open, commission,
                  entry_bar, exit_bar, mae_price, mae_pct, mfe_price, mfe_pct
           FROM backtest_portfolio_trades('pf', 'sma_cross', f.params || '{"allocation": "fixed", "position_size": 1}', ARRAY['BBB'])
           EXCEPT ALL
           SELECT * FROM backtest_trades('pf', 'BBB', 'sma_cross', f.params))
          UNION ALL
          (SELECT * FROM backtest_trades('pf', 'BBB', 'sma_cross', f.params)
           EXCEPT ALL
           SELECT trade_no, side, entry_ts, entry_price, exit_ts, exit_price, quantity, pnl, return_pct, bars_held, exit_reason, is_open, commission,
                  entry_bar, exit_bar, mae_price, mae_pct, mfe_price, mfe_pct
           FROM backtest_portfolio_trades('pf', 'sma_cross', f.params || '{"allocation": "fixed", "position_size": 1}', ARRAY['BBB']))) d) AS trades_differ,
       (SELECT count(*) FROM backtest_portfolio_equity('pf', 'sma_cross', f.params || '{"allocation": "fixed", "position_size": 1}', ARRAY['BBB']) p
          JOIN backtest_equity('pf', 'BBB', 'sma_cross', f.params) e USING (ts)
          WHERE p.equity <> e.equity) AS equity_differ
FROM (VALUES ('open', '{"fast": 5, "slow": 20, "stop_loss": 0.03, "take_profit": 0.06, "trailing_stop": 0.04, "commission": 0.001, "allow_short": true}'::jsonb),
             ('close', '{"fast": 5, "slow": 20, "stop_loss": 0.03, "take_profit": 0.06, "trailing_stop": 0.04, "fill": "close"}'::jsonb)) f(fill, params);
-- per-symbol stops in a portfolio: a stop_loss for AAA only
SELECT symbol, string_agg(DISTINCT exit_reason, ',' ORDER BY exit_reason) AS exits
FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "stop_loss": {"AAA": 0.02, "*": 0}}', ARRAY['AAA', 'BBB'])
GROUP BY symbol ORDER BY symbol;

-- the query form, rows in any order, gives the same account
SELECT (SELECT row(p.*)::text FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20}') p) =
       (SELECT row(q.*)::text FROM backtest_portfolio_query('SELECT * FROM pf ORDER BY random()', 'sma_cross', '{"fast": 5, "slow": 20}') q)
       AS same;

-- the _query forms of trades and equity match the table forms
SELECT (SELECT count(*) FROM (
          SELECT * FROM backtest_portfolio_trades_query('SELECT * FROM pf ORDER BY ts DESC', 'sma_cross', '{"fast": 5, "slow": 20, "max_positions": 2}')
          EXCEPT SELECT * FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "max_positions": 2}')) d) AS trades_differ,
       (SELECT count(*) FROM (
          SELECT * FROM backtest_portfolio_equity_query('SELECT * FROM pf ORDER BY ts DESC', 'sma_cross', '{"fast": 5, "slow": 20, "max_positions": 2}')
          EXCEPT SELECT * FROM backtest_portfolio_equity('pf', 'sma_cross', '{"fast": 5, "slow": 20, "max_positions": 2}')) d) AS equity_differ;

-- shorts with close fills (the reservation itself: test_portfolio.c, test_shorts)
SELECT trades_count, (SELECT count(*) FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true, "fill": "close"}') WHERE side = 'short') > 0 AS has_shorts,
       round(return_pct::numeric, 4) AS return_pct
FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true, "fill": "close"}');

-- rotation: top 2 by 20-bar momentum, monthly (the default), with lot sizes per symbol
SELECT n_symbols, trades_count, open_trades, max_positions_held, entries_skipped,
       round(return_pct::numeric, 4) AS return_pct, round(turnover::numeric, 3) AS turnover
FROM backtest_portfolio('pf', 'rotation', '{"top": 2, "period": 20, "lot_size": {"AAA": 10, "*": 1}, "stamp_duty": 0.001}',
                        ARRAY['AAA', 'BBB', 'CCC', 'DDD']);
SELECT symbol, count(*) AS trades, sum(quantity) FILTER (WHERE symbol = 'AAA' AND quantity::bigint % 10 <> 0) AS odd_lots
FROM backtest_portfolio_trades('pf', 'rotation', '{"top": 2, "period": 20, "lot_size": {"AAA": 10, "*": 1}}',
                               ARRAY['AAA', 'BBB', 'CCC', 'DDD'])
GROUP BY symbol ORDER BY symbol;
-- weekly rebalancing of sma_cross positions charges costs on the resizes
SELECT trades_count > (SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20}', ARRAY['AAA', 'BBB', 'CCC', 'DDD']))
       AS resizes_add_trades
FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20, "rebalance": "weekly", "commission": 0.001}', ARRAY['AAA', 'BBB', 'CCC', 'DDD']);

-- the README's example (README, "Portfolio backtests")
SELECT n_symbols, trades_count, round(return_pct::numeric, 2) AS return_pct,
       round(sharpe_ratio::numeric, 3) AS sharpe, round(max_drawdown_pct::numeric, 2) AS max_dd,
       max_positions_held, entries_skipped, round(turnover::numeric, 2) AS turnover,
       round(alpha::numeric, 2) AS alpha, round(beta::numeric, 3) AS beta,
       round(benchmark_return_pct::numeric, 2) AS bench_pct
FROM backtest_portfolio('pf', 'rotation',
       '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "commission": 0.001}');
SELECT symbol, trade_no, side, entry_ts, round(entry_price::numeric, 2) AS entry_price,
       exit_ts, quantity, round(pnl::numeric, 2) AS pnl, is_open
FROM backtest_portfolio_trades('pf', 'rotation',
       '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "commission": 0.001}')
ORDER BY entry_ts, symbol LIMIT 6;
SELECT ts, round(cash::numeric, 2) AS cash, round(positions_value::numeric, 2) AS positions_value,
       round(equity::numeric, 2) AS equity, round(drawdown_pct::numeric, 2) AS drawdown_pct, open_positions
FROM backtest_portfolio_equity('pf', 'rotation',
       '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "commission": 0.001}')
ORDER BY ts DESC LIMIT 3;

-- ---------------------------------------------------------------------------
-- bad input
-- ---------------------------------------------------------------------------
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{}', ARRAY['AAA', 'NOPE', 'ZZZ']);
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['IDX']);
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"benchmark": "SPX"}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"max_positions": 0}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"allocation": "fixed", "position_size": 0}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"allocation": "fixed", "position_size": 1.5}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"allocation": "half"}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"position_size": 0.5}');
SELECT trades_count FROM backtest_portfolio('pf', 'sma_cross', '{"size": 0.5}');
SELECT trades_count FROM backtest_portfolio('pf', 'rotation', '{"rebalance": "none"}');
SELECT * FROM backtest_run('pf', 'AAA', 'rotation');
SELECT n_symbols, max_positions_held FROM backtest_portfolio('pf', 'rotation', '{"top": 9}', ARRAY['AAA', 'BBB']);
-- DDD has no bars before 2024-02-26: a NOTICE names it, the others are traded
SELECT n_symbols FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 2, "slow": 5}', ARRAY['AAA', 'DDD'], NULL, '2024-02-01');
SELECT n_symbols FROM backtest_portfolio('pf', 'sma_cross', '{}', ARRAY['DDD'], NULL, '2024-02-01');

-- ---------------------------------------------------------------------------
-- search_path: a hostile = operator first on the path changes nothing
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE pf_ref AS SELECT * FROM backtest_portfolio('pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['AAA', 'CCC']);
CREATE SCHEMA evil;
CREATE FUNCTION evil.always_true(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_true);
SET search_path = evil, public, pg_catalog;
SELECT (SELECT count(*) FROM (SELECT * FROM public.backtest_portfolio('public.pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['AAA', 'CCC'])
                              EXCEPT SELECT * FROM pf_ref) d) AS diff;
RESET search_path;
DROP SCHEMA evil CASCADE;
DROP TABLE pf;
