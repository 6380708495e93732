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

-- ==== charts and reports (src/pg/chart.c, chart_data.c, report.c) ====
-- A backtest as one SVG: price with trades and indicator overlays, one panel
-- per oscillator, equity with buy and hold, drawdown.  Its size grows with
-- width, not with the number of bars.
CREATE FUNCTION @extschema@.backtest_chart_svg(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    width integer DEFAULT 1200, height integer DEFAULT 800, indicators jsonb DEFAULT '[]')
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_chart_svg'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_chart_svg(regclass, text, text, jsonb, timestamptz, timestamptz, integer, integer, jsonb) IS
  'Run a backtest and draw it as SVG: price, trades, indicators (e.g. ''[{"name": "ema", "period": 20}]''), equity, drawdown';

CREATE FUNCTION @extschema@.backtest_chart_svg(
    task_id bigint, width integer DEFAULT 1200, height integer DEFAULT 800, indicators jsonb DEFAULT '[]')
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_chart_svg_task'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_chart_svg(bigint, integer, integer, jsonb) IS
  'Draw a completed task (one you can see) as SVG from its stored results';

-- One standalone HTML page: statistics, the chart, monthly and annual
-- returns, first and last trades, parameters and fill contract.
CREATE FUNCTION @extschema@.backtest_report_html(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    width integer DEFAULT 1200, height integer DEFAULT 800, indicators jsonb DEFAULT '[]')
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_report_html'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_report_html(regclass, text, text, jsonb, timestamptz, timestamptz, integer, integer, jsonb) IS
  'Run a backtest and report it as one standalone HTML page (statistics, chart, monthly returns, trades, parameters)';

CREATE FUNCTION @extschema@.backtest_report_html(
    task_id bigint, width integer DEFAULT 1200, height integer DEFAULT 800, indicators jsonb DEFAULT '[]')
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_report_html_task'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_report_html(bigint, integer, integer, jsonb) IS
  'Report a completed task (one you can see) as one standalone HTML page from its stored results';
