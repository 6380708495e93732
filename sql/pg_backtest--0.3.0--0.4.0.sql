/*
 * pg_backtest 0.3.0 -> 0.4.0: a trustworthy queue (every database, one run
 * per task, private events, the submitter's context) and numbers a trader
 * can trust at every bar size.
 *
 * The full install script of 0.4.0 is the 0.1.0 script followed by every
 * step script, so a fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.4.0'" to load this file. \quit

-- ==== the backtest() aggregate: any row order, parallel, naive timestamps ====
-- ORDER BY ts is no longer needed (the final function sorts only rows that
-- came out of order); combine/serialize/deserialize make it a partial
-- aggregate for parallel workers; timestamp and date overloads read naive
-- values as UTC wall clock, never through the session TimeZone.
CREATE FUNCTION @extschema@.backtest_agg_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'backtest_agg_serialize'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

CREATE FUNCTION @extschema@.backtest_agg_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_deserialize'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

CREATE OR REPLACE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group (any row order; ORDER BY ts is not needed)';

CREATE OR REPLACE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal (strategy ''signal''; any row order)';

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamp, double precision,
    double precision, double precision, double precision, double precision, text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamp, double precision,
    double precision, double precision, double precision, double precision, double precision,
    text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, date, double precision,
    double precision, double precision, double precision, double precision, text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, date, double precision,
    double precision, double precision, double precision, double precision, double precision,
    text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE AGGREGATE @extschema@.backtest(
    ts timestamp, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamp, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group; a timestamp without time zone is read as UTC wall clock';

CREATE AGGREGATE @extschema@.backtest(
    ts timestamp, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamp, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal; timestamp read as UTC wall clock';

CREATE AGGREGATE @extschema@.backtest(
    ts date, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(date, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group; a date is midnight UTC';

CREATE AGGREGATE @extschema@.backtest(
    ts date, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(date, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal; a date is midnight UTC';
-- ==== backtest_run_all: every symbol in one read; per-symbol parameters ====
-- One backtest per symbol of a table or query, read once and run on the
-- sweep's processes (src/pg/run_all.c).  Each row equals backtest_run for
-- that symbol.  Any parameter in params may be a per-symbol map, e.g.
-- "lot_size": {"0700.HK": 100, "*": 1} (also in backtest_run).
CREATE FUNCTION @extschema@.backtest_run_all(
    source regclass, strategy text, params jsonb DEFAULT '{}', symbols text[] DEFAULT NULL,
    start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (symbol text,
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
               periods_per_year       double precision)
AS 'MODULE_PATHNAME', 'backtest_run_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_run_all(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'Backtest a strategy on every symbol of a table (or the given ones) in one read: one row of metrics per symbol, in symbol order';

CREATE FUNCTION @extschema@.backtest_run_all_query(
    query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (symbol text,
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
               periods_per_year       double precision)
AS 'MODULE_PATHNAME', 'backtest_run_all_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_run_all_query(text, text, jsonb) IS
  'Backtest a strategy on every symbol of a query''s rows (a symbol column plus the K-line columns, any order): one row of metrics per symbol';

-- ==== portfolio backtests (issue 11) ====
-- Many symbols, one cash account.  Argument order: source, strategy, params,
-- symbols, start_ts, end_ts (as backtest_run_all: a defaulted symbols before
-- the required strategy is not legal SQL).
CREATE FUNCTION @extschema@.backtest_portfolio(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    OUT start_ts               timestamptz,
    OUT end_ts                 timestamptz,
    OUT duration               interval,
    OUT bars                   bigint,
    OUT warmup_bars            bigint,
    OUT exposure_pct           double precision,
    OUT equity_final           double precision,
    OUT equity_peak            double precision,
    OUT commissions            double precision,
    OUT return_pct             double precision,
    OUT buy_hold_return_pct    double precision,
    OUT return_ann_pct         double precision,
    OUT volatility_ann_pct     double precision,
    OUT cagr_pct               double precision,
    OUT sharpe_ratio           double precision,
    OUT sortino_ratio          double precision,
    OUT calmar_ratio           double precision,
    OUT max_drawdown_pct       double precision,
    OUT avg_drawdown_pct       double precision,
    OUT max_drawdown_duration  interval,
    OUT avg_drawdown_duration  interval,
    OUT trades_count           bigint,
    OUT open_trades            bigint,
    OUT win_rate_pct           double precision,
    OUT best_trade_pct         double precision,
    OUT worst_trade_pct        double precision,
    OUT avg_trade_pct          double precision,
    OUT max_trade_duration     interval,
    OUT avg_trade_duration     interval,
    OUT profit_factor          double precision,
    OUT expectancy_pct         double precision,
    OUT sqn                    double precision,
    OUT kelly_criterion        double precision,
    OUT omega_ratio            double precision,
    OUT periods_per_year       double precision,
    OUT n_symbols integer,
    OUT max_positions_held integer,
    OUT avg_positions_held double precision,
    OUT turnover double precision,
    OUT entries_skipped bigint,
    OUT alpha double precision,
    OUT beta double precision,
    OUT benchmark_return_pct double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'backtest_portfolio'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_portfolio(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'Backtest a strategy on many symbols of a table with one cash account: the account''s metrics and the portfolio''s columns';

CREATE FUNCTION @extschema@.backtest_portfolio_query(
    query text, strategy text, params jsonb DEFAULT '{}',
    OUT start_ts               timestamptz,
    OUT end_ts                 timestamptz,
    OUT duration               interval,
    OUT bars                   bigint,
    OUT warmup_bars            bigint,
    OUT exposure_pct           double precision,
    OUT equity_final           double precision,
    OUT equity_peak            double precision,
    OUT commissions            double precision,
    OUT return_pct             double precision,
    OUT buy_hold_return_pct    double precision,
    OUT return_ann_pct         double precision,
    OUT volatility_ann_pct     double precision,
    OUT cagr_pct               double precision,
    OUT sharpe_ratio           double precision,
    OUT sortino_ratio          double precision,
    OUT calmar_ratio           double precision,
    OUT max_drawdown_pct       double precision,
    OUT avg_drawdown_pct       double precision,
    OUT max_drawdown_duration  interval,
    OUT avg_drawdown_duration  interval,
    OUT trades_count           bigint,
    OUT open_trades            bigint,
    OUT win_rate_pct           double precision,
    OUT best_trade_pct         double precision,
    OUT worst_trade_pct        double precision,
    OUT avg_trade_pct          double precision,
    OUT max_trade_duration     interval,
    OUT avg_trade_duration     interval,
    OUT profit_factor          double precision,
    OUT expectancy_pct         double precision,
    OUT sqn                    double precision,
    OUT kelly_criterion        double precision,
    OUT omega_ratio            double precision,
    OUT periods_per_year       double precision,
    OUT n_symbols integer,
    OUT max_positions_held integer,
    OUT avg_positions_held double precision,
    OUT turnover double precision,
    OUT entries_skipped bigint,
    OUT alpha double precision,
    OUT beta double precision,
    OUT benchmark_return_pct double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'backtest_portfolio_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_query(text, text, jsonb) IS
  'Backtest a strategy on the symbols of a query''s rows with one cash account';

CREATE FUNCTION @extschema@.backtest_portfolio_trades(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (symbol text, trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision)
AS 'MODULE_PATHNAME', 'backtest_portfolio_trades'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_trades(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'The trades of a portfolio backtest, by symbol';

CREATE FUNCTION @extschema@.backtest_portfolio_trades_query(
    query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (symbol text, trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision)
AS 'MODULE_PATHNAME', 'backtest_portfolio_trades_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_trades_query(text, text, jsonb) IS
  'The trades of a portfolio backtest over a query''s rows, by symbol';

CREATE FUNCTION @extschema@.backtest_portfolio_equity(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, cash double precision, positions_value double precision,
               equity double precision, drawdown_pct double precision, open_positions integer)
AS 'MODULE_PATHNAME', 'backtest_portfolio_equity'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_equity(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'The account of a portfolio backtest at every timestamp of the union timeline';

CREATE FUNCTION @extschema@.backtest_portfolio_equity_query(
    query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (ts timestamptz, cash double precision, positions_value double precision,
               equity double precision, drawdown_pct double precision, open_positions integer)
AS 'MODULE_PATHNAME', 'backtest_portfolio_equity_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_equity_query(text, text, jsonb) IS
  'The account of a portfolio backtest over a query''s rows at every timestamp';
