/*
 * pg_backtest 0.2.0 -> 0.3.0: parameter sweeps.
 *
 * backtest_sweep() and backtest_sweep_query() run every combination of a
 * grid of parameter values (lists, ranges, constraints, random sampling)
 * over K-lines read once, in the calling backend and up to
 * pg_backtest.sweep_workers - 1 background workers (src/pg/sweep.c,
 * src/pg/sweep_parallel.c), and return one row per combination, sorted by
 * an objective.
 *
 * The grid (jsonb object):
 *   "<param>": [v1, v2, ...]                   numbers; true/false for
 *                                              boolean parameters; strings
 *                                              for enums such as "fill"
 *   "<param>": {"from": a, "to": b, "step": s} numbers only; a, a+s, ... <= b
 *   "constraint": "fast < slow" or an array of such strings:
 *                 "<param|number> <op> <param|number>", op one of
 *                 < <= > >= = == != <> (parsed in C, never SQL)
 *   "sample": n, "seed": k      a seeded random subset of n combinations
 *                               (seed 0 by default)
 *   "sort_by": "<column of backtest_metrics>"   default "sharpe_ratio"
 *   "top": n                    only the first n rows
 * Rows are always sorted by sort_by: descending, except volatility_ann_pct,
 * commissions, max_drawdown_duration and avg_drawdown_duration, where lower
 * is better (drawdown percentages are <= 0, so descending already puts the
 * shallowest first); NULLs last; ties in combination order.  combo_no
 * numbers the combinations run in combination order (the first swept
 * parameter varies slowest); swept parameters are ordered as the strategy
 * defines its parameters, then the simulator's, whatever the key order of
 * the grid (jsonb sorts keys), and p1..p4 are the first four of them
 * (booleans 0/1, enums the index of their value).  A parameter both swept
 * and set in params is an error.  Combinations failing a constraint or the
 * strategy's own checks (e.g. fast < slow) are skipped with a NOTICE; if
 * none is left the result is empty.  More combinations than
 * pg_backtest.max_combinations (default 10000) is an error.
 *
 * The full install script of 0.3.0 is the 0.1.0 script followed by every
 * step script, so a fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.3.0'" to load this file. \quit

-- The result columns: the combination, its swept parameters (as jsonb and
-- as up to four typed name/value pairs, for pivoting p1 x p2 in BI tools),
-- then the columns of backtest_metrics, in the same order and types.
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
               periods_per_year       double precision)
AS 'MODULE_PATHNAME', 'backtest_sweep'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_sweep(regclass, text, text, jsonb, jsonb, timestamptz, timestamptz) IS
  'Parameter sweep on the K-lines of one symbol: one row of metrics per combination of the grid, best first (see the README, "Parameter sweeps")';

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
               periods_per_year       double precision)
AS 'MODULE_PATHNAME', 'backtest_sweep_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_sweep_query(text, text, jsonb, jsonb) IS
  'Parameter sweep on the rows of a query (in ts order): one row of metrics per combination of the grid, best first';

-- A heatmap of a sweep as SVG: two swept parameters on the axes, the
-- objective as the colour of each cell (src/pg/heatmap.c).
CREATE FUNCTION @extschema@.backtest_heatmap_svg(
    x double precision[], y double precision[], value double precision[],
    x_label text DEFAULT 'x', y_label text DEFAULT 'y', title text DEFAULT '')
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_heatmap_svg'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_heatmap_svg(double precision[], double precision[], double precision[], text, text, text) IS
  'An SVG heatmap: one cell per distinct (x, y), coloured by value (red low, green high); e.g. over backtest_sweep''s p1, p2 and sharpe_ratio';

-- Walk-forward analysis: optimise in sample, test out of sample, roll on.
CREATE FUNCTION @extschema@.backtest_walk_forward(
    source regclass, symbol text, strategy text, grid jsonb, params jsonb DEFAULT '{}',
    in_sample interval DEFAULT '1 year', out_of_sample interval DEFAULT '3 months',
    anchored boolean DEFAULT false, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS TABLE (window_no integer, kind text,
               is_start timestamptz, is_end timestamptz, oos_start timestamptz, oos_end timestamptz,
               best_params jsonb, is_objective double precision, is_bars bigint, oos_bars bigint,
               oos_trades bigint, oos_return_pct double precision, oos_sharpe_ratio double precision,
               oos_max_drawdown_pct double precision, oos_win_rate_pct double precision,
               oos_equity_final double precision)
AS 'MODULE_PATHNAME', 'backtest_walk_forward'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_walk_forward(regclass, text, text, jsonb, jsonb, interval, interval, boolean, timestamptz, timestamptz) IS
  'Walk-forward: per window, the best grid combination in sample (by the grid''s sort_by) run out of sample; a last row "stitched" gives the metrics of the chained out-of-sample equity curve';

-- Sweeps through the task queue: a task of kind 'sweep' carries its grid;
-- its rows land in backtest.sweep_results (the columns of backtest_sweep).
ALTER TABLE backtest.tasks ADD COLUMN kind text NOT NULL DEFAULT 'backtest'
    CHECK (kind IN ('backtest', 'sweep'));
ALTER TABLE backtest.tasks ADD COLUMN grid jsonb;
COMMENT ON COLUMN backtest.tasks.kind IS 'backtest (backtest_submit) or sweep (backtest_submit_sweep)';
COMMENT ON COLUMN backtest.tasks.grid IS 'The grid of a sweep task';

CREATE TABLE backtest.sweep_results (
    task_id bigint NOT NULL REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    owner regrole NOT NULL,
    rank integer NOT NULL,
    combo_no integer, params jsonb,
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
    PRIMARY KEY (task_id, combo_no)
);
COMMENT ON TABLE backtest.sweep_results IS
  'Rows of each completed sweep task: the columns of backtest_sweep(), plus rank (1 = best by sort_by)';
ALTER TABLE backtest.sweep_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY sweep_results_owner ON backtest.sweep_results FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER') OR pg_catalog.pg_has_role('backtest_admin', 'MEMBER'));
GRANT SELECT ON backtest.sweep_results TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backtest.sweep_results', '');

CREATE FUNCTION @extschema@.backtest_submit_sweep(
    source regclass, symbol text, strategy text, grid jsonb,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_submit_sweep'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_submit_sweep(regclass, text, text, jsonb, jsonb, timestamptz, timestamptz) IS
  'Validate and queue a parameter sweep; progress is combinations done / total; rows land in backtest.sweep_results';
