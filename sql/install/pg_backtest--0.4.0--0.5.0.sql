/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit

-- ==== portfolio backtests through the queue (issue 11) ====
-- A task of kind 'portfolio' carries its symbols (NULL: every symbol of the
-- source); the seal covers them (seal.c).  Its results: the account's row
-- in backtest.results with the portfolio's columns (NULL for other tasks),
-- its trades in backtest.trades with their symbol (NULL for a single-symbol
-- task; trade_no counts per symbol, as backtest_portfolio_trades numbers
-- them), its account curve in backtest.portfolio_equity_curves (one row of
-- arrays), unnested by the view backtest.portfolio_equity.
ALTER TABLE backtest.tasks DROP CONSTRAINT tasks_kind_check;
ALTER TABLE backtest.tasks ADD CONSTRAINT tasks_kind_check
    CHECK (kind IN ('backtest', 'sweep', 'portfolio'));
ALTER TABLE backtest.tasks ADD COLUMN symbols text[];
COMMENT ON COLUMN backtest.tasks.kind IS
  'backtest (backtest_submit), sweep (backtest_submit_sweep) or portfolio (backtest_submit_portfolio)';
COMMENT ON COLUMN backtest.tasks.symbols IS
  'The symbols of a portfolio task (NULL: every symbol of the source)';

ALTER TABLE backtest.results
    ADD COLUMN n_symbols integer,
    ADD COLUMN max_positions_held integer,
    ADD COLUMN avg_positions_held double precision,
    ADD COLUMN turnover double precision,
    ADD COLUMN entries_skipped bigint,
    ADD COLUMN alpha double precision,
    ADD COLUMN beta double precision,
    ADD COLUMN benchmark_return_pct double precision;
COMMENT ON COLUMN backtest.results.n_symbols IS
  'A portfolio task''s columns (n_symbols ... benchmark_return_pct) are those of backtest_portfolio(); NULL for other tasks';

ALTER TABLE backtest.trades ADD COLUMN symbol text;
ALTER TABLE backtest.trades DROP CONSTRAINT trades_pkey;
ALTER TABLE backtest.trades ADD CONSTRAINT trades_task_symbol_trade_key
    UNIQUE NULLS NOT DISTINCT (task_id, symbol, trade_no);
COMMENT ON COLUMN backtest.trades.symbol IS
  'The symbol of a portfolio task''s trade (trade_no counts per symbol); NULL for other tasks';

CREATE TABLE backtest.portfolio_equity_curves (
    task_id         bigint PRIMARY KEY REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    owner           name NOT NULL,
    ts              timestamptz[] NOT NULL,
    cash            double precision[] NOT NULL,
    positions_value double precision[] NOT NULL,
    equity          double precision[] NOT NULL,
    drawdown_pct    double precision[] NOT NULL,
    open_positions  integer[] NOT NULL
);
COMMENT ON TABLE backtest.portfolio_equity_curves IS
  'Account curves of portfolio tasks as arrays, one row per task; query backtest.portfolio_equity instead';
DO $$
DECLARE
    how text := 'SET STORAGE EXTERNAL';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
               WHERE name OPERATOR(pg_catalog.=) 'default_toast_compression'
                 AND 'lz4' OPERATOR(pg_catalog.=) ANY (enumvals)) THEN
        how := 'SET COMPRESSION lz4';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE backtest.portfolio_equity_curves ALTER COLUMN ts %1$s, '
                              'ALTER COLUMN cash %1$s, ALTER COLUMN positions_value %1$s, '
                              'ALTER COLUMN equity %1$s, ALTER COLUMN drawdown_pct %1$s, '
                              'ALTER COLUMN open_positions %1$s', how);
END
$$;

CREATE VIEW backtest.portfolio_equity WITH (security_invoker = true) AS
SELECT c.task_id, u.ts, u.cash, u.positions_value, u.equity, u.drawdown_pct, u.open_positions
FROM backtest.portfolio_equity_curves c,
     LATERAL ROWS FROM (pg_catalog.unnest(c.ts), pg_catalog.unnest(c.cash),
                        pg_catalog.unnest(c.positions_value), pg_catalog.unnest(c.equity),
                        pg_catalog.unnest(c.drawdown_pct), pg_catalog.unnest(c.open_positions))
         AS u(ts, cash, positions_value, equity, drawdown_pct, open_positions);
COMMENT ON VIEW backtest.portfolio_equity IS
  'Account curve of each completed portfolio task, one row per timestamp: the columns of backtest_portfolio_equity()';

ALTER TABLE backtest.portfolio_equity_curves ENABLE ROW LEVEL SECURITY;
CREATE POLICY portfolio_equity_owner ON backtest.portfolio_equity_curves FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
ALTER TABLE backtest.portfolio_equity_curves OWNER TO pg_database_owner;
GRANT SELECT ON backtest.portfolio_equity_curves, backtest.portfolio_equity TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('backtest.portfolio_equity_curves', '');

CREATE FUNCTION @extschema@.backtest_submit_portfolio(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_submit_portfolio'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_submit_portfolio(regclass, text, jsonb, text[], timestamptz, timestamptz) IS
  'Validate and queue a portfolio backtest (the arguments of backtest_portfolio); returns the task id at once';

CREATE FUNCTION @extschema@.backtest_submit_portfolio_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_submit_portfolio_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_submit_portfolio_query(text, text, jsonb) IS
  'Validate and queue a portfolio backtest over a query''s rows; returns the task id at once';

-- ==== portfolio charts and reports (issue 11) ====
-- A portfolio drawn: a lane per symbol that traded (its positions, entry
-- and exit markers, tooltips), the account's equity with its cash, the
-- drawdown.  backtest_chart_svg(task_id) and backtest_report_html(task_id)
-- draw a completed portfolio task the same way.
CREATE FUNCTION @extschema@.backtest_portfolio_chart_svg(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    width integer DEFAULT 1200, height integer DEFAULT 800)
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_portfolio_chart_svg'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_chart_svg(regclass, text, jsonb, text[], timestamptz, timestamptz, integer, integer) IS
  'Run a portfolio backtest and draw it as SVG: positions per symbol, trades, equity and cash, drawdown';

CREATE FUNCTION @extschema@.backtest_portfolio_report_html(
    source regclass, strategy text, params jsonb DEFAULT '{}',
    symbols text[] DEFAULT NULL, start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    width integer DEFAULT 1200, height integer DEFAULT 800)
RETURNS text
AS 'MODULE_PATHNAME', 'backtest_portfolio_report_html'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_portfolio_report_html(regclass, text, jsonb, text[], timestamptz, timestamptz, integer, integer) IS
  'Run a portfolio backtest and report it as one standalone HTML page (statistics with the portfolio''s, chart, monthly returns, trades by symbol)';
