/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit

-- ==== trade analytics (issue 15 item 5) ====
-- Per trade: the bar numbers of entry and exit, and the maximum adverse and
-- favourable excursion (MAE/MFE) in price and percent; in the metrics the
-- longest winning and losing streaks; per bar: cash and position value.
-- New columns go last everywhere, so that rows stored before 0.5.0 keep
-- their values (NULL in the new columns) and queries naming columns work
-- as before.  Functions whose result columns change are dropped and
-- created again with the new columns (CREATE OR REPLACE cannot change
-- them).
ALTER TYPE @extschema@.backtest_metrics
    ADD ATTRIBUTE max_win_streak bigint,
    ADD ATTRIBUTE max_loss_streak bigint;
ALTER TABLE backtest.results
    ADD COLUMN max_win_streak bigint,
    ADD COLUMN max_loss_streak bigint;
ALTER TABLE backtest.sweep_results
    ADD COLUMN max_win_streak bigint,
    ADD COLUMN max_loss_streak bigint;
ALTER TABLE backtest.trades
    ADD COLUMN entry_bar bigint,
    ADD COLUMN exit_bar bigint,
    ADD COLUMN mae_price double precision,
    ADD COLUMN mae_pct double precision,
    ADD COLUMN mfe_price double precision,
    ADD COLUMN mfe_pct double precision;
ALTER TABLE backtest.equity_curves ADD COLUMN cash double precision[];
CREATE OR REPLACE VIEW backtest.equity WITH (security_invoker = true) AS
SELECT c.task_id, u.ts, u.close, u."position", u.equity, u.drawdown_pct,
       u.cash, u."position" OPERATOR(pg_catalog.*) u.close AS position_value
FROM backtest.equity_curves c,
     LATERAL ROWS FROM (pg_catalog.unnest(c.ts), pg_catalog.unnest(c.close),
                        pg_catalog.unnest(c."position"), pg_catalog.unnest(c.equity),
                        pg_catalog.unnest(c.drawdown_pct), pg_catalog.unnest(c.cash))
         AS u(ts, close, "position", equity, drawdown_pct, cash);

DROP FUNCTION @extschema@.backtest_trades(regclass, text, text, jsonb, timestamptz, timestamptz);
CREATE FUNCTION @extschema@.backtest_trades(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision,
               entry_bar bigint, exit_bar bigint, mae_price double precision, mae_pct double precision,
               mfe_price double precision, mfe_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_trades'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_trades(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Backtest a strategy; returns one row per trade (an open position at the end is flagged is_open)';

DROP FUNCTION @extschema@.backtest_trades_query(text, text, jsonb);
CREATE FUNCTION @extschema@.backtest_trades_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision,
               entry_bar bigint, exit_bar bigint, mae_price double precision, mae_pct double precision,
               mfe_price double precision, mfe_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_trades_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_trades_query(text, text, jsonb) IS
  'Backtest a strategy on the rows of a query; returns one row per trade';

DROP FUNCTION @extschema@.backtest_equity(regclass, text, text, jsonb, timestamptz, timestamptz);
CREATE FUNCTION @extschema@.backtest_equity(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (ts timestamptz, close double precision, "position" double precision,
               equity double precision, drawdown_pct double precision,
               cash double precision, position_value double precision)
AS 'MODULE_PATHNAME', 'backtest_equity'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 10000;
COMMENT ON FUNCTION @extschema@.backtest_equity(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Backtest a strategy; returns the equity curve, one row per bar';

DROP FUNCTION @extschema@.backtest_equity_query(text, text, jsonb);
CREATE FUNCTION @extschema@.backtest_equity_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (ts timestamptz, close double precision, "position" double precision,
               equity double precision, drawdown_pct double precision,
               cash double precision, position_value double precision)
AS 'MODULE_PATHNAME', 'backtest_equity_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 10000;
COMMENT ON FUNCTION @extschema@.backtest_equity_query(text, text, jsonb) IS
  'Backtest a strategy on the rows of a query; returns the equity curve';

DROP FUNCTION @extschema@.backtest_sweep(regclass, text, text, jsonb, jsonb, timestamptz, timestamptz);
CREATE FUNCTION @extschema@.backtest_sweep(
    source regclass, symbol text, strategy text, grid jsonb,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (combo_no integer, params jsonb,
               p1_name text, p1 double precision, p2_name text, p2 double precision,
               p3_name text, p3 double precision, p4_name text, p4 double precision,
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
               periods_per_year       double precision,
               max_win_streak         bigint,
               max_loss_streak        bigint)
AS 'MODULE_PATHNAME', 'backtest_sweep'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_sweep(regclass, text, text, jsonb, jsonb, timestamptz, timestamptz) IS
  'Parameter sweep on the K-lines of one symbol: one row of metrics per combination of the grid, best first (see the README, "Parameter sweeps")';

DROP FUNCTION @extschema@.backtest_sweep_query(text, text, jsonb, jsonb);
CREATE FUNCTION @extschema@.backtest_sweep_query(
    query text, strategy text, grid jsonb, params jsonb DEFAULT '{}')
RETURNS TABLE (combo_no integer, params jsonb,
               p1_name text, p1 double precision, p2_name text, p2 double precision,
               p3_name text, p3 double precision, p4_name text, p4 double precision,
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
               periods_per_year       double precision,
               max_win_streak         bigint,
               max_loss_streak        bigint)
AS 'MODULE_PATHNAME', 'backtest_sweep_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_sweep_query(text, text, jsonb, jsonb) IS
  'Parameter sweep on the rows of a query (in ts order): one row of metrics per combination of the grid, best first';

DROP FUNCTION @extschema@.backtest_run_all(regclass, text, jsonb, text[], timestamptz, timestamptz);
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
               periods_per_year       double precision,
               max_win_streak         bigint,
               max_loss_streak        bigint)
AS 'MODULE_PATHNAME', 'backtest_run_all'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_run_all(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'Backtest a strategy on every symbol of a table (or the given ones) in one read: one row of metrics per symbol, in symbol order';

DROP FUNCTION @extschema@.backtest_run_all_query(text, text, jsonb);
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
               periods_per_year       double precision,
               max_win_streak         bigint,
               max_loss_streak        bigint)
AS 'MODULE_PATHNAME', 'backtest_run_all_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_run_all_query(text, text, jsonb) IS
  'Backtest a strategy on every symbol of a query''s rows (a symbol column plus the K-line columns, any order): one row of metrics per symbol';

DROP FUNCTION @extschema@.backtest_portfolio(regclass, text, jsonb, text[], timestamptz, timestamptz);
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
    OUT max_win_streak         bigint,
    OUT max_loss_streak        bigint,
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

DROP FUNCTION @extschema@.backtest_portfolio_query(text, text, jsonb);
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
    OUT max_win_streak         bigint,
    OUT max_loss_streak        bigint,
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

DROP FUNCTION @extschema@.backtest_portfolio_trades(regclass, text, jsonb, text[], timestamptz, timestamptz);
CREATE FUNCTION @extschema@.backtest_portfolio_trades(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (symbol text, trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision,
               entry_bar bigint, exit_bar bigint, mae_price double precision, mae_pct double precision,
               mfe_price double precision, mfe_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_portfolio_trades'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_trades(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'The trades of a portfolio backtest, by symbol';

DROP FUNCTION @extschema@.backtest_portfolio_trades_query(text, text, jsonb);
CREATE FUNCTION @extschema@.backtest_portfolio_trades_query(
    query text, strategy text, params jsonb DEFAULT '{}')
RETURNS TABLE (symbol text, trade_no integer, side text, entry_ts timestamptz, entry_price double precision,
               exit_ts timestamptz, exit_price double precision, quantity double precision,
               pnl double precision, return_pct double precision, bars_held integer,
               exit_reason text, is_open boolean, commission double precision,
               entry_bar bigint, exit_bar bigint, mae_price double precision, mae_pct double precision,
               mfe_price double precision, mfe_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_portfolio_trades_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_trades_query(text, text, jsonb) IS
  'The trades of a portfolio backtest over a query''s rows, by symbol';


-- ==== period returns (issue 15 item 6) ====
-- One row per calendar period (UTC days, ISO weeks from Monday, months,
-- years) of a backtest's equity curve: its bounds [period_start,
-- period_end), bars, opening equity (the previous period's last; the
-- initial capital first), closing equity, return, closed trades whose exit
-- falls in it and the deepest drawdown inside it.  The returns compound to
-- the run's return_pct.  src/engine/periods.c, src/pg/periods.c.
CREATE FUNCTION @extschema@.backtest_period_returns(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    period text DEFAULT 'month')
RETURNS TABLE (period_start timestamptz, period_end timestamptz, bars bigint,
               equity_start double precision, equity_end double precision,
               return_pct double precision, trades bigint, max_drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_period_returns'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_period_returns(regclass, text, text, jsonb, timestamptz, timestamptz, text) IS
  'Backtest a strategy; returns one row per calendar period (day, week, month or year, UTC): return, closed trades, drawdown within';

CREATE FUNCTION @extschema@.backtest_period_returns_query(
    query text, strategy text, params jsonb DEFAULT '{}', period text DEFAULT 'month')
RETURNS TABLE (period_start timestamptz, period_end timestamptz, bars bigint,
               equity_start double precision, equity_end double precision,
               return_pct double precision, trades bigint, max_drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_period_returns_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_period_returns_query(text, text, jsonb, text) IS
  'Backtest a strategy on the rows of a query; returns one row per calendar period';

CREATE FUNCTION @extschema@.backtest_period_returns(task_id bigint, period text DEFAULT 'month')
RETURNS TABLE (period_start timestamptz, period_end timestamptz, bars bigint,
               equity_start double precision, equity_end double precision,
               return_pct double precision, trades bigint, max_drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_period_returns_task'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_period_returns(bigint, text) IS
  'The period rows of a completed backtest task you can see, from its stored equity curve and trades';
