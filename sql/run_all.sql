-- backtest_run_all / backtest_run_all_query (every symbol in one read, on the
-- sweep's processes) and per-symbol parameter maps.
\set VERBOSITY default
SET TimeZone = 'UTC';
SET pg_backtest.sweep_workers = 1;

-- Four symbols written in random order (the rows must be put in (symbol, ts)
-- order in C): SYN, TENX (x10), HALF (first 1500 bars, x0.5) and SHORT (20
-- bars: too few for sma_cross 10/30).
CREATE TABLE ra_src (ts date, open float8, high float8, low float8, close float8, volume float8);
\copy ra_src FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)
SELECT setseed(0.5);
CREATE TABLE ra (
    symbol text NOT NULL,
    ts     date NOT NULL,
    open   double precision,
    high   double precision,
    low    double precision,
    close  double precision,
    volume double precision
);
INSERT INTO ra
SELECT * FROM (
    SELECT 'SYN', ts, open, high, low, close, volume FROM ra_src
    UNION ALL
    SELECT 'TENX', ts, open * 10, high * 10, low * 10, close * 10, volume FROM ra_src
    UNION ALL
    (SELECT 'HALF', ts, open / 2, high / 2, low / 2, close / 2, volume FROM ra_src ORDER BY ts LIMIT 1500)
) u ORDER BY random();
INSERT INTO ra SELECT 'SHORT', ts, open, high, low, close, volume FROM ra_src ORDER BY ts LIMIT 20;
CREATE INDEX ON ra (symbol, ts);
ANALYZE ra;
-- the same rows written in (symbol, ts) order: read as they are, no copy
CREATE TABLE ra_sorted AS SELECT * FROM ra ORDER BY symbol, ts;
-- and written bar by bar, every symbol per bar (a feed): each symbol's
-- rows in time order, placed by symbol without a sort; one NULL symbol
CREATE TABLE ra_feed AS SELECT * FROM ra ORDER BY ts, symbol;
INSERT INTO ra_feed SELECT NULL, ts, open, high, low, close, volume FROM ra_src ORDER BY ts LIMIT 1;

-- Every column of every row against backtest_run of that symbol (row text,
-- floats in their exact shortest form); rows in symbol order.
CREATE FUNCTION ra_check(src regclass, strategy text, params jsonb DEFAULT '{}',
                         syms text[] DEFAULT NULL, t0 timestamptz DEFAULT NULL,
                         t1 timestamptz DEFAULT NULL)
RETURNS TABLE (symbols text, mismatches bigint) LANGUAGE sql AS $$
    SELECT string_agg(a.symbol, ',' ORDER BY a.ord),
           count(*) FILTER (WHERE
               (SELECT ROW(a.symbol, r.*)::text FROM backtest_run(src, a.symbol, strategy, params, t0, t1) r)
               IS DISTINCT FROM
               ROW(a.symbol, a.start_ts, a.end_ts, a.duration, a.bars, a.warmup_bars, a.exposure_pct,
                   a.equity_final, a.equity_peak, a.commissions, a.return_pct, a.buy_hold_return_pct,
                   a.return_ann_pct, a.volatility_ann_pct, a.cagr_pct, a.sharpe_ratio, a.sortino_ratio,
                   a.calmar_ratio, a.max_drawdown_pct, a.avg_drawdown_pct, a.max_drawdown_duration,
                   a.avg_drawdown_duration, a.trades_count, a.open_trades, a.win_rate_pct,
                   a.best_trade_pct, a.worst_trade_pct, a.avg_trade_pct, a.max_trade_duration,
                   a.avg_trade_duration, a.profit_factor, a.expectancy_pct, a.sqn, a.kelly_criterion,
                   a.omega_ratio, a.periods_per_year, a.max_win_streak, a.max_loss_streak)::text)
    FROM backtest_run_all(src, strategy, params, syms, t0, t1) WITH ORDINALITY AS a(
        symbol, start_ts, end_ts, duration, bars, warmup_bars, exposure_pct, equity_final,
        equity_peak, commissions, return_pct, buy_hold_return_pct, return_ann_pct,
        volatility_ann_pct, cagr_pct, sharpe_ratio, sortino_ratio, calmar_ratio, max_drawdown_pct,
        avg_drawdown_pct, max_drawdown_duration, avg_drawdown_duration, trades_count, open_trades,
        win_rate_pct, best_trade_pct, worst_trade_pct, avg_trade_pct, max_trade_duration,
        avg_trade_duration, profit_factor, expectancy_pct, sqn, kelly_criterion, omega_ratio,
        periods_per_year, max_win_streak, max_loss_streak, ord)
$$;

-- one process
SELECT * FROM ra_check('ra', 'sma_cross');
SELECT * FROM ra_check('ra_sorted', 'sma_cross');
SELECT * FROM ra_check('ra_feed', 'sma_cross');
SELECT * FROM ra_check('ra', 'macd_cross', '{"commission": 0.001, "stop_loss": 0.05, "allow_short": true}');
SELECT * FROM ra_check('ra', 'rsi', '{"fill": "close"}', NULL, '2015-06-01', '2018-01-01');
SELECT * FROM ra_check('ra', 'sma_cross', '{}', ARRAY['TENX', 'SYN', 'TENX']);
SELECT symbol, bars, warmup_bars, trades_count, round(equity_final::numeric, 4) AS equity_final
FROM backtest_run_all('ra', 'sma_cross');

-- two processes (a worker takes symbols too): the same rows
SET pg_backtest.sweep_bar_runs_per_process = 100;
SET pg_backtest.sweep_workers = 2;
SET client_min_messages = debug1;
SELECT * FROM ra_check('ra', 'sma_cross');
SELECT * FROM ra_check('ra', 'bollinger', '{"lot_size": {"TENX": 7, "*": 3}, "commission": 0.0005}');
RESET client_min_messages;
CREATE TEMP TABLE ra_1 AS SELECT * FROM backtest_run_all('ra', 'kdj');
SET pg_backtest.sweep_workers = 1;
SELECT count(*) AS rows,
       (SELECT count(*) FROM (SELECT * FROM backtest_run_all('ra', 'kdj') EXCEPT SELECT * FROM ra_1) d) AS diff
FROM ra_1;
RESET pg_backtest.sweep_bar_runs_per_process;

-- the query form: any row order, the same rows as the table form
SELECT count(*) AS rows,
       count(*) FILTER (WHERE q::text IS DISTINCT FROM t::text) AS mismatches
FROM backtest_run_all_query('SELECT * FROM ra ORDER BY random()', 'sma_cross') WITH ORDINALITY AS q
JOIN backtest_run_all('ra', 'sma_cross') WITH ORDINALITY AS t USING (ordinality);
-- other column names, a symbol column of another type (its text form names it)
SELECT symbol, bars, trades_count
FROM backtest_run_all_query('SELECT ascii(symbol) AS code, ts AS t, open, high, low, close FROM ra WHERE symbol <> ''SHORT''',
                            'sma_cross', '{"columns": {"symbol": "code", "ts": "t"}}');

-- symbols: unknown ones get no row (a NOTICE names them); an empty list, no rows
SELECT symbol, bars FROM backtest_run_all('ra', 'sma_cross', '{}', ARRAY['SYN', 'NOPE', 'ALSO_NOPE']);
SELECT count(*) FROM backtest_run_all('ra', 'sma_cross', '{}', ARRAY[]::text[]);
-- rows with a NULL symbol are skipped (a NOTICE says how many)
CREATE TABLE ra_nulls AS SELECT * FROM ra_sorted WHERE symbol = 'SYN';
ALTER TABLE ra_nulls ALTER COLUMN symbol DROP NOT NULL;
INSERT INTO ra_nulls SELECT NULL, ts, open, high, low, close, volume FROM ra_src LIMIT 3;
SELECT symbol, bars FROM backtest_run_all('ra_nulls', 'sma_cross');
-- an empty source
CREATE TABLE ra_empty (LIKE ra);
SELECT count(*) FROM backtest_run_all('ra_empty', 'sma_cross');

-- ---------------------------------------------------------------------------
-- Per-symbol parameters: a map {"symbol": value, "*": default}
-- ---------------------------------------------------------------------------
-- backtest_run resolves a map for its symbol: SYN gets 100, TENX "*" = 7,
-- and without "*" an unlisted symbol gets the parameter's default
SELECT (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'SYN', 'sma_cross', '{"lot_size": {"SYN": 100, "*": 7}}') r)
     = (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'SYN', 'sma_cross', '{"lot_size": 100}') r) AS syn_100,
       (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'TENX', 'sma_cross', '{"lot_size": {"SYN": 100, "*": 7}}') r)
     = (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'TENX', 'sma_cross', '{"lot_size": 7}') r) AS tenx_star,
       (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'TENX', 'sma_cross', '{"lot_size": {"SYN": 100}}') r)
     = (SELECT (r.trades_count, r.equity_final) FROM backtest_run('ra', 'TENX', 'sma_cross') r) AS tenx_default;
-- backtest_run_all gives each symbol its value: strategy, simulator and enum parameters
SELECT * FROM ra_check('ra', 'sma_cross', '{"fast": {"SYN": 5, "HALF": 20, "*": 10}, "slow": {"SYN": 50, "*": 30},
                                            "lot_size": {"TENX": 100, "*": 10}, "fill": {"HALF": "close"}}');
SELECT symbol, round(equity_final::numeric, 4) AS equity_final, trades_count
FROM backtest_run_all('ra', 'sma_cross', '{"lot_size": {"SYN": 50, "TENX": 10, "*": 1}}', ARRAY['SYN', 'TENX']);
SELECT 'SYN' AS symbol, round(equity_final::numeric, 4) AS equity_final, trades_count
FROM backtest_run('ra', 'SYN', 'sma_cross', '{"lot_size": 50}')
UNION ALL
SELECT 'TENX', round(equity_final::numeric, 4), trades_count
FROM backtest_run('ra', 'TENX', 'sma_cross', '{"lot_size": 10}');
-- an empty map: the default for every symbol
SELECT * FROM ra_check('ra', 'sma_cross', '{"lot_size": {}}');

-- each value is checked like a scalar, naming the parameter and the symbol
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"lot_size": {"SYN": "ten"}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"lot_size": {"*": 0}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"fill": {"SYN": "noon"}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"fast": {"SYN": 2.5}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"allow_short": {"SYN": 1}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"lot_size": {"SYN": {"nested": 1}}}');
-- the cross-parameter checks apply to each symbol's configuration
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"fast": {"TENX": 40}}');
SELECT * FROM backtest_run('ra', 'TENX', 'sma_cross', '{"fast": {"TENX": 40}}');
SELECT trades_count FROM backtest_run('ra', 'SYN', 'sma_cross', '{"fast": {"TENX": 40}}');
-- where no symbol is known, a map is an error
SELECT * FROM backtest_run('ra_sorted', NULL, 'sma_cross', '{"lot_size": {"SYN": 100}}');
SELECT * FROM backtest_run_query('SELECT * FROM ra_sorted WHERE symbol = ''SYN''', 'sma_cross', '{"lot_size": {"SYN": 100}}');
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{"lot_size": {"SYN": 100}}')).trades_count
FROM ra_sorted WHERE symbol = 'SYN';
SELECT count(*) FROM backtest_sweep('ra', 'SYN', 'sma_cross', '{"fast": [5, 10]}', '{"lot_size": {"SYN": 100}}');

-- ---------------------------------------------------------------------------
-- Bad input
-- ---------------------------------------------------------------------------
SELECT * FROM backtest_run_all(NULL, 'sma_cross');
SELECT * FROM backtest_run_all('ra', NULL);
SELECT * FROM backtest_run_all('ra', 'no_such_strategy');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"fast": 30, "slow": 10}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{}', ARRAY['SYN', NULL]);
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{}', NULL, '2016-01-01', '2015-01-01');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"columns": {"symbol": null}}');
SELECT * FROM backtest_run_all('ra', 'sma_cross', '{"columns": {"symbol": "ticker"}}');
SELECT * FROM backtest_run_all('ra_src', 'sma_cross');
SELECT * FROM backtest_run_all_query('SELECT ts, open, high, low, close FROM ra', 'sma_cross');
SELECT * FROM backtest_run_all_query('SELECT * FROM ra', 'sma_cross', '{"columns": {"symbol": null}}');
SELECT * FROM backtest_run_all_query('', 'sma_cross');
SELECT * FROM backtest_run_all_query(NULL, 'sma_cross');
-- bad bars are errors naming the bar, with the symbol in the context
CREATE TABLE ra_bad AS SELECT * FROM ra_sorted WHERE symbol IN ('SYN', 'HALF');
UPDATE ra_bad SET low = high + 1 WHERE symbol = 'HALF' AND ts = '2015-03-02';
SELECT * FROM backtest_run_all('ra_bad', 'sma_cross');
-- a duplicate (symbol, ts)
INSERT INTO ra_bad SELECT 'SYN', ts, open, high, low, close, volume FROM ra_src WHERE ts = '2015-02-02';
SELECT * FROM backtest_run_all('ra_bad', 'sma_cross', '{}', ARRAY['SYN']);
UPDATE ra_bad SET close = NULL WHERE symbol = 'HALF' AND ts = '2015-01-05';
SELECT * FROM backtest_run_all('ra_bad', 'sma_cross', '{}', ARRAY['HALF']);

-- ---------------------------------------------------------------------------
-- search_path: a hostile = operator first on the path changes nothing
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE ra_ref AS SELECT * FROM backtest_run_all('ra', 'sma_cross', '{}', ARRAY['SYN', 'HALF']);
CREATE SCHEMA evil;
CREATE FUNCTION evil.always_true(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_true);
SET search_path = evil, public, pg_catalog;
SELECT count(*) AS rows,
       (SELECT count(*) FROM (SELECT * FROM public.backtest_run_all('public.ra', 'sma_cross', '{}', ARRAY['SYN', 'HALF'])
                              EXCEPT SELECT * FROM ra_ref) d) AS diff
FROM ra_ref;
RESET search_path;
DROP SCHEMA evil CASCADE;
