/*
 * pg_backtest 0.1.0 install script (CREATE EXTENSION runs it, then every step script).
 *
 * Every object is created in the extension's schema (@extschema@) and every
 * name inside a function body is schema-qualified, so the functions behave
 * the same whatever the caller's search_path.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_backtest" to load this file. \quit

-------------------------------------------------------------------------------
-- Backtests (src/pg/run.c, src/pg/aggregate.c)
-------------------------------------------------------------------------------


-- One row of performance metrics (backtesting.py's field set and more).
-- Column order must match btpg_metrics_values() in src/pg/run.c.
CREATE TYPE @extschema@.backtest_metrics AS (
    start_ts               timestamptz,
    end_ts                 timestamptz,
    duration               interval,
    bars                   bigint,
    warmup_bars            bigint,
    exposure_pct           double precision,
    equity_final           double precision,
    equity_peak            double precision,
    commissions            double precision,
    return_pct             double precision,
    buy_hold_return_pct    double precision,
    return_ann_pct         double precision,
    volatility_ann_pct     double precision,
    cagr_pct               double precision,
    sharpe_ratio           double precision,
    sortino_ratio          double precision,
    calmar_ratio           double precision,
    max_drawdown_pct       double precision,
    avg_drawdown_pct       double precision,
    max_drawdown_duration  interval,
    avg_drawdown_duration  interval,
    trades_count           bigint,
    open_trades            bigint,
    win_rate_pct           double precision,
    best_trade_pct         double precision,
    worst_trade_pct        double precision,
    avg_trade_pct          double precision,
    max_trade_duration     interval,
    avg_trade_duration     interval,
    profit_factor          double precision,
    expectancy_pct         double precision,
    sqn                    double precision,
    kelly_criterion        double precision,
    omega_ratio            double precision,
    periods_per_year       double precision
);
COMMENT ON TYPE @extschema@.backtest_metrics IS
  'Performance metrics of one backtest; definitions in the pg_backtest README ("Metrics").';

-- Synchronous backtests over a table or view
CREATE FUNCTION @extschema@.backtest_run(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS @extschema@.backtest_metrics
AS 'MODULE_PATHNAME', 'backtest_run'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_run(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Backtest a strategy on the K-lines of one symbol; returns one row of metrics';

CREATE FUNCTION @extschema@.backtest_trades(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision)
AS 'MODULE_PATHNAME', 'backtest_trades'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_trades(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Backtest a strategy; returns one row per trade (an open position at the end is flagged is_open)';

CREATE FUNCTION @extschema@.backtest_equity(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, close double precision, "position" double precision,
               equity double precision, drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_equity'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10000;
COMMENT ON FUNCTION @extschema@.backtest_equity(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Backtest a strategy; returns the equity curve, one row per bar';

-- The same over the rows of any query (resampled candles, joins, views)
CREATE FUNCTION @extschema@.backtest_run_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS @extschema@.backtest_metrics
AS 'MODULE_PATHNAME', 'backtest_run_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_run_query(text, text, jsonb) IS
  'Backtest a strategy on the rows of a query (in ts order); returns one row of metrics';

CREATE FUNCTION @extschema@.backtest_trades_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision)
AS 'MODULE_PATHNAME', 'backtest_trades_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_trades_query(text, text, jsonb) IS
  'Backtest a strategy on the rows of a query; returns one row per trade';

CREATE FUNCTION @extschema@.backtest_equity_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (ts timestamptz, close double precision, "position" double precision,
               equity double precision, drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_equity_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 10000;
COMMENT ON FUNCTION @extschema@.backtest_equity_query(text, text, jsonb) IS
  'Backtest a strategy on the rows of a query; returns the equity curve';

-- The core over arrays: IMMUTABLE and PARALLEL SAFE
CREATE FUNCTION @extschema@.backtest_arrays(
    ts timestamptz[], open double precision[], high double precision[], low double precision[],
    close double precision[], volume double precision[], strategy text, params jsonb DEFAULT '{}',
    signal double precision[] DEFAULT NULL)
RETURNS @extschema@.backtest_metrics
AS 'MODULE_PATHNAME', 'backtest_arrays'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_arrays(timestamptz[], double precision[], double precision[], double precision[], double precision[], double precision[], text, jsonb, double precision[]) IS
  'Backtest over arrays of bars (ascending ts); the core of the backtest() aggregate';

-- The aggregate: SELECT symbol, (backtest(ts, open, high, low, close, volume,
--   'sma_cross', '{}' ORDER BY ts)).* FROM klines GROUP BY symbol
CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamptz, double precision,
    double precision, double precision, double precision, double precision, text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamptz, double precision,
    double precision, double precision, double precision, double precision, double precision,
    text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_final(internal)
RETURNS @extschema@.backtest_metrics
AS 'MODULE_PATHNAME', 'backtest_agg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group; use ORDER BY ts inside the call';

CREATE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal (strategy ''signal''); use ORDER BY ts';

-- Discoverability from psql
CREATE FUNCTION @extschema@.backtest_strategies()
RETURNS TABLE (name text, parameters jsonb, description text)
AS 'MODULE_PATHNAME', 'backtest_strategies'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.backtest_strategies() IS
  'The built-in strategies with their parameters'' defaults';

CREATE FUNCTION @extschema@.backtest_parameters()
RETURNS TABLE (strategy text, name text, type text, default_value jsonb,
               min_value double precision, max_value double precision, description text)
AS 'MODULE_PATHNAME', 'backtest_parameters'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.backtest_parameters() IS
  'Every backtest parameter: each strategy''s own, and the simulator''s (strategy = ''*'')';

-------------------------------------------------------------------------------
-- Indicators (src/pg/indicator.c, src/pg/window.c)
-------------------------------------------------------------------------------


--
-- Window functions (src/pg/window.c): bt_sma(close, 20) OVER w ...
--
-- The window's ORDER BY defines time and PARTITION BY separates series; the
-- frame clause is ignored (indicators are causal: row r depends on rows
-- 1..r of the partition).  Each partition is computed once, in O(rows).
-- Not STRICT, on purpose: a NULL, NaN or infinite price is an error naming
-- its row (silently skipping it would give wrong numbers), parameters must be
-- non-NULL and the same on every row of a partition; bt_cross() alone
-- accepts NULLs (they give 0).  Undefined values (warm-up) are NULL.
-- IMMUTABLE and PARALLEL SAFE like the built-in window functions.
--

CREATE FUNCTION @extschema@.bt_sma(x pg_catalog.float8, n pg_catalog.int4)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_sma_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_sma(pg_catalog.float8, pg_catalog.int4) IS
'Window function: simple moving average of x over the last n rows in window order (NULL for the first n-1 rows; frame ignored)';

CREATE FUNCTION @extschema@.bt_ema(x pg_catalog.float8, n pg_catalog.int4)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_ema_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_ema(pg_catalog.float8, pg_catalog.int4) IS
'Window function: exponential moving average of x (alpha = 2/(n+1)), seeded on row n with the SMA of the first n rows (frame ignored)';

CREATE FUNCTION @extschema@.bt_wma(x pg_catalog.float8, n pg_catalog.int4)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_wma_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_wma(pg_catalog.float8, pg_catalog.int4) IS
'Window function: linearly weighted moving average of x over the last n rows, newest weight n (frame ignored)';

CREATE FUNCTION @extschema@.bt_rsi(x pg_catalog.float8, n pg_catalog.int4 DEFAULT 14)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_rsi_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_rsi(pg_catalog.float8, pg_catalog.int4) IS
'Window function: Wilder relative strength index of x, 0-100, defined from row n+1 (frame ignored)';

CREATE FUNCTION @extschema@.bt_roc(x pg_catalog.float8, n pg_catalog.int4 DEFAULT 10)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_roc_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_roc(pg_catalog.float8, pg_catalog.int4) IS
'Window function: rate of change of x over n rows, in percent, defined from row n+1 (frame ignored)';

CREATE FUNCTION @extschema@.bt_macd(x pg_catalog.float8,
	fast pg_catalog.int4 DEFAULT 12, slow pg_catalog.int4 DEFAULT 26,
	signal pg_catalog.int4 DEFAULT 9)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_macd_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_macd(pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: MACD line of x, EMA(fast) - EMA(slow), in price units (frame ignored)';

CREATE FUNCTION @extschema@.bt_macd_signal(x pg_catalog.float8,
	fast pg_catalog.int4 DEFAULT 12, slow pg_catalog.int4 DEFAULT 26,
	signal pg_catalog.int4 DEFAULT 9)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_macd_signal_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_macd_signal(pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: MACD signal line, the EMA(signal) of the MACD line (frame ignored)';

CREATE FUNCTION @extschema@.bt_macd_hist(x pg_catalog.float8,
	fast pg_catalog.int4 DEFAULT 12, slow pg_catalog.int4 DEFAULT 26,
	signal pg_catalog.int4 DEFAULT 9)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_macd_hist_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_macd_hist(pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: MACD histogram, MACD line minus signal line (frame ignored)';

CREATE FUNCTION @extschema@.bt_bb_upper(x pg_catalog.float8,
	n pg_catalog.int4 DEFAULT 20, k pg_catalog.float8 DEFAULT 2.0)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_bb_upper_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_bb_upper(pg_catalog.float8, pg_catalog.int4, pg_catalog.float8) IS
'Window function: upper Bollinger band, SMA(n) + k population standard deviations of x (frame ignored)';

CREATE FUNCTION @extschema@.bt_bb_middle(x pg_catalog.float8,
	n pg_catalog.int4 DEFAULT 20, k pg_catalog.float8 DEFAULT 2.0)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_bb_middle_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_bb_middle(pg_catalog.float8, pg_catalog.int4, pg_catalog.float8) IS
'Window function: middle Bollinger band, the SMA(n) of x (frame ignored)';

CREATE FUNCTION @extschema@.bt_bb_lower(x pg_catalog.float8,
	n pg_catalog.int4 DEFAULT 20, k pg_catalog.float8 DEFAULT 2.0)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_bb_lower_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_bb_lower(pg_catalog.float8, pg_catalog.int4, pg_catalog.float8) IS
'Window function: lower Bollinger band, SMA(n) - k population standard deviations of x (frame ignored)';

CREATE FUNCTION @extschema@.bt_stoch_k(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, k_period pg_catalog.int4 DEFAULT 14,
	d_period pg_catalog.int4 DEFAULT 3, slow_period pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_stoch_k_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_stoch_k(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: stochastic fast %K, 0-100 (50 when the k_period high equals the low; frame ignored)';

CREATE FUNCTION @extschema@.bt_stoch_d(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, k_period pg_catalog.int4 DEFAULT 14,
	d_period pg_catalog.int4 DEFAULT 3, slow_period pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_stoch_d_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_stoch_d(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: stochastic fast %D, the SMA(d_period) of fast %K (the %K of the slow stochastic; frame ignored)';

CREATE FUNCTION @extschema@.bt_stoch_slowd(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, k_period pg_catalog.int4 DEFAULT 14,
	d_period pg_catalog.int4 DEFAULT 3, slow_period pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_stoch_slowd_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_stoch_slowd(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: stochastic slow %D, the SMA(slow_period) of fast %D (frame ignored)';

CREATE FUNCTION @extschema@.bt_kdj_k(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, n pg_catalog.int4 DEFAULT 9,
	m1 pg_catalog.int4 DEFAULT 3, m2 pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_kdj_k_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_kdj_k(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: KDJ K line, RSV(n) smoothed with weight 1/m1, seeded at 50 (frame ignored)';

CREATE FUNCTION @extschema@.bt_kdj_d(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, n pg_catalog.int4 DEFAULT 9,
	m1 pg_catalog.int4 DEFAULT 3, m2 pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_kdj_d_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_kdj_d(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: KDJ D line, K smoothed with weight 1/m2, seeded at 50 (frame ignored)';

CREATE FUNCTION @extschema@.bt_kdj_j(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, n pg_catalog.int4 DEFAULT 9,
	m1 pg_catalog.int4 DEFAULT 3, m2 pg_catalog.int4 DEFAULT 3)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_kdj_j_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_kdj_j(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.int4) IS
'Window function: KDJ J line, 3K - 2D, not clipped (frame ignored)';

CREATE FUNCTION @extschema@.bt_atr(high pg_catalog.float8, low pg_catalog.float8,
	close pg_catalog.float8, n pg_catalog.int4 DEFAULT 14)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_atr_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_atr(pg_catalog.float8, pg_catalog.float8, pg_catalog.float8, pg_catalog.int4) IS
'Window function: Wilder average true range over n rows, in price units, defined from row n+1 (frame ignored)';

CREATE FUNCTION @extschema@.bt_obv(close pg_catalog.float8, volume pg_catalog.float8)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_obv_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_obv(pg_catalog.float8, pg_catalog.float8) IS
'Window function: on-balance volume, starting at the first row''s volume (frame ignored)';

CREATE FUNCTION @extschema@.bt_donchian_upper(high pg_catalog.float8,
	low pg_catalog.float8, n pg_catalog.int4 DEFAULT 20)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_donchian_upper_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_donchian_upper(pg_catalog.float8, pg_catalog.float8, pg_catalog.int4) IS
'Window function: Donchian upper channel, the highest high of the last n rows including the current one (frame ignored)';

CREATE FUNCTION @extschema@.bt_donchian_mid(high pg_catalog.float8,
	low pg_catalog.float8, n pg_catalog.int4 DEFAULT 20)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_donchian_mid_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_donchian_mid(pg_catalog.float8, pg_catalog.float8, pg_catalog.int4) IS
'Window function: Donchian middle line, the mean of the upper and lower channels (frame ignored)';

CREATE FUNCTION @extschema@.bt_donchian_lower(high pg_catalog.float8,
	low pg_catalog.float8, n pg_catalog.int4 DEFAULT 20)
RETURNS pg_catalog.float8
AS 'MODULE_PATHNAME', 'bt_donchian_lower_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_donchian_lower(pg_catalog.float8, pg_catalog.float8, pg_catalog.int4) IS
'Window function: Donchian lower channel, the lowest low of the last n rows including the current one (frame ignored)';

CREATE FUNCTION @extschema@.bt_cross(fast pg_catalog.float8, slow pg_catalog.float8)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'bt_cross_window'
LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bt_cross(pg_catalog.float8, pg_catalog.float8) IS
'Window function: +1 on a row where fast > slow and the latest earlier row with fast <> slow had fast < slow, -1 for the opposite cross, else 0; a touch (fast = slow) is not a cross; rows with a NULL give 0 and are skipped';

--
-- Set-returning functions (src/pg/indicator.c)
--
-- backtest_indicator reads a table or view through SPI: STABLE, and
-- PARALLEL RESTRICTED rather than SAFE because the source may be a
-- temporary table, which parallel workers cannot read.
-- backtest_indicator_query runs arbitrary SQL text, which may call volatile
-- or parallel-unsafe functions, so it is VOLATILE and PARALLEL UNSAFE.
--

CREATE FUNCTION @extschema@.backtest_indicator(
	source pg_catalog.regclass,
	symbol pg_catalog.text,
	indicator pg_catalog.text,
	params pg_catalog.jsonb DEFAULT '{}'::pg_catalog.jsonb,
	start_ts pg_catalog.timestamptz DEFAULT NULL,
	end_ts pg_catalog.timestamptz DEFAULT NULL)
RETURNS TABLE(ts pg_catalog.timestamptz, output pg_catalog.text, value pg_catalog.float8)
AS 'MODULE_PATHNAME', 'backtest_indicator'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.backtest_indicator(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
'Indicator over the K-lines of one symbol in a table or view, in long format: one row per bar and output, value NULL while warming up; params holds the indicator''s parameters and "columns" (see backtest_indicators())';

CREATE FUNCTION @extschema@.backtest_indicator_query(
	query pg_catalog.text,
	indicator pg_catalog.text,
	params pg_catalog.jsonb DEFAULT '{}'::pg_catalog.jsonb)
RETURNS TABLE(ts pg_catalog.timestamptz, output pg_catalog.text, value pg_catalog.float8)
AS 'MODULE_PATHNAME', 'backtest_indicator_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_indicator_query(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
'Indicator over the K-lines returned by a query (one series, in ts order), in long format like backtest_indicator()';

CREATE FUNCTION @extschema@.backtest_indicators()
RETURNS TABLE(name pg_catalog.text, inputs pg_catalog.text[],
	parameters pg_catalog.jsonb, outputs pg_catalog.text[],
	description pg_catalog.text)
AS 'MODULE_PATHNAME', 'backtest_indicators'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.backtest_indicators() IS
'The indicators known to backtest_indicator(): inputs, parameters with their defaults, outputs';
