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
-- ==== queue security, the submitter's context, honest timings (issue 7) ====

-- backtest_admin is trusted by the row-level security policies (its members
-- see every task) and by backtest_cancel/backtest_delete.  The 0.2.0 step
-- creates it NOLOGIN when it does not exist; a role of that name created by
-- someone else, with attributes or memberships that make it more than a
-- group, must not silently become the queue's admin role.  Checked on every
-- install and upgrade (a fresh install runs the 0.2.0 step first).
DO $$
DECLARE
    r record;
    bad text[] := '{}';
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'backtest_admin';
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF r.rolcanlogin THEN bad := bad OPERATOR(pg_catalog.||) 'LOGIN'::text; END IF;
    IF r.rolsuper THEN bad := bad OPERATOR(pg_catalog.||) 'SUPERUSER'::text; END IF;
    IF r.rolcreaterole THEN bad := bad OPERATOR(pg_catalog.||) 'CREATEROLE'::text; END IF;
    IF r.rolcreatedb THEN bad := bad OPERATOR(pg_catalog.||) 'CREATEDB'::text; END IF;
    IF r.rolreplication THEN bad := bad OPERATOR(pg_catalog.||) 'REPLICATION'::text; END IF;
    IF r.rolbypassrls THEN bad := bad OPERATOR(pg_catalog.||) 'BYPASSRLS'::text; END IF;
    IF pg_catalog.cardinality(bad) OPERATOR(pg_catalog.>) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = pg_catalog.format('role "backtest_admin" exists with %s, so pg_backtest will not trust it',
                                        pg_catalog.array_to_string(bad, ', ')),
            DETAIL = 'Members of backtest_admin see and manage every backtest task; the extension expects a NOLOGIN group role.',
            HINT = pg_catalog.format('If the role is yours, run ALTER ROLE backtest_admin %s; otherwise drop or rename it. Then retry.',
                                     pg_catalog.array_to_string(ARRAY(SELECT 'NO' OPERATOR(pg_catalog.||) b FROM pg_catalog.unnest(bad) b), ' '));
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
               WHERE m.member OPERATOR(pg_catalog.=) r.oid) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = pg_catalog.format('role "backtest_admin" is a member of %s, so pg_backtest will not trust it',
                                        (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(g.rolname), ', ')
                                         FROM pg_catalog.pg_auth_members m
                                         JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid
                                         WHERE m.member OPERATOR(pg_catalog.=) r.oid)),
            DETAIL = 'Every member of backtest_admin would inherit those roles'' privileges.',
            HINT = 'Revoke those memberships from backtest_admin (REVOKE ... FROM backtest_admin), or drop or rename the role, then retry.';
    END IF;
END
$$;

-- The settings of the submitting session a task runs under (search_path,
-- TimeZone, DateStyle, IntervalStyle, pg_backtest.max_combinations), so a
-- queued task computes what backtest_run computes in that session.
ALTER TABLE backtest.tasks ADD COLUMN settings jsonb;
COMMENT ON COLUMN backtest.tasks.settings IS
  'Settings of the submitting session the worker runs the task under: search_path, TimeZone, DateStyle, IntervalStyle, pg_backtest.max_combinations';

-- Saving a task's equity curve writes five arrays of 8-byte values (120 MB
-- for 3M bars), which pglz compresses slowly and barely.  lz4 is fast and
-- shrinks the regular timestamps and the runs of equal positions and
-- drawdowns (it keeps a value uncompressed when that is not smaller), which
-- cuts the bytes written, the save's real cost; without lz4 in the server,
-- store them out of line without trying to compress.
DO $$
DECLARE
    how text := 'SET STORAGE EXTERNAL';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
               WHERE name OPERATOR(pg_catalog.=) 'default_toast_compression'
                 AND 'lz4' OPERATOR(pg_catalog.=) ANY (enumvals)) THEN
        how := 'SET COMPRESSION lz4';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE backtest.equity_curves ALTER COLUMN ts %1$s, '
                              'ALTER COLUMN close %1$s, ALTER COLUMN "position" %1$s, '
                              'ALTER COLUMN equity %1$s, ALTER COLUMN drawdown_pct %1$s', how);
END
$$;

-- Deleting one's own finished task (results go with it, ON DELETE CASCADE)
CREATE FUNCTION @extschema@.backtest_delete(task_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'backtest_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE STRICT;
COMMENT ON FUNCTION @extschema@.backtest_delete(bigint) IS
  'Delete a finished task and its results (its owner, a superuser or a member of backtest_admin)';

-- Cleanup can be delegated: it runs as the extension owner (who owns the
-- tables), so members of backtest_admin, or a maintenance role granted
-- EXECUTE, can run it (and schedule it in pg_cron as themselves).  It only
-- ever deletes finished tasks, by age and count, as before.
ALTER FUNCTION @extschema@.backtest_cleanup(interval, integer) SECURITY DEFINER;
GRANT EXECUTE ON FUNCTION @extschema@.backtest_cleanup(interval, integer) TO backtest_admin;

-- Scheduling validates the arguments now, rather than scheduling a job that
-- fails on every run.
CREATE OR REPLACE FUNCTION @extschema@.backtest_schedule_cleanup(
    schedule text DEFAULT '*/10 * * * *', ttl interval DEFAULT '1 hour', max_tasks integer DEFAULT 100)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    IF ttl IS NULL OR ttl OPERATOR(pg_catalog.<) '0'::interval THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('ttl must be a non-negative interval, not %s', ttl);
    END IF;
    IF max_tasks IS NULL OR max_tasks OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('max_tasks must be zero or more, not %s', max_tasks);
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'schedule must not be NULL';
    END IF;
    IF pg_catalog.to_regnamespace('cron') IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'pg_cron is not installed in this database',
            HINT = pg_catalog.format('Add pg_cron to shared_preload_libraries, set cron.database_name = %L and run CREATE EXTENSION pg_cron; or, from the pg_cron database, run: SELECT cron.schedule_in_database(''pg_backtest_cleanup'', %L, %L, %L);',
                                     pg_catalog.current_database(), schedule,
                                     pg_catalog.format('SELECT %I.backtest_cleanup(%L, %s)', '@extschema@', ttl, max_tasks),
                                     pg_catalog.current_database());
    END IF;
    EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
        INTO job
        USING 'pg_backtest_cleanup', schedule,
              pg_catalog.format('SELECT %I.backtest_cleanup(%L, %s)', '@extschema@', ttl, max_tasks),
              pg_catalog.current_database();
    RETURN job;
END
$$;
-- ==== queue: every database, one live attempt per task, final outcomes ====

-- A requeued task waits until retry_at (the delay doubles with each attempt)
ALTER TABLE backtest.tasks ADD COLUMN retry_at timestamptz;
COMMENT ON COLUMN backtest.tasks.retry_at IS
  'A requeued task is not started again before this time (NULL: at once)';

-- An outcome is final: no UPDATE changes a completed, failed or cancelled task
CREATE FUNCTION backtest.tasks_outcome_is_final()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.status OPERATOR(pg_catalog.=) ANY (ARRAY['completed', 'failed', 'cancelled'])
       AND NEW.status OPERATOR(pg_catalog.<>) OLD.status THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = pg_catalog.format('task %s is already %s; its outcome is final', OLD.id, OLD.status),
            HINT = 'Submit a new task to run it again.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION backtest.tasks_outcome_is_final() IS
  'Trigger: a task''s status never changes once it is completed, failed or cancelled';
CREATE TRIGGER tasks_outcome_is_final BEFORE UPDATE OF status ON backtest.tasks
    FOR EACH ROW EXECUTE FUNCTION backtest.tasks_outcome_is_final();
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
-- ==== dump and restore: the database owner dumps, tasks are sealed (issue 8 item 10) ====
-- The queue's tables belong to pg_database_owner, so the owner of the
-- database (a member of it) can pg_dump and restore them: owners bypass
-- row-level security, and pg_dump runs with row_security = off.  Everyone
-- else still reads only their own rows.  Bookkeeping writes run as
-- pg_database_owner too, never as a superuser, so nothing the database
-- owner attaches to these tables (a trigger, a default) runs with more
-- than the database owner's rights.  Owners are stored by role name and
-- the source by its qualified name, so a dump restores into a cluster that
-- lacks some roles or objects (a regrole or regclass column would fail the
-- whole COPY there).  README, "Backup and restore".
DROP POLICY tasks_owner ON backtest.tasks;
DROP POLICY results_owner ON backtest.results;
DROP POLICY trades_owner ON backtest.trades;
DROP POLICY equity_owner ON backtest.equity_curves;
DROP POLICY sweep_results_owner ON backtest.sweep_results;

-- a role that no longer exists keeps the "unknown (OID=n)" that names it
ALTER TABLE backtest.tasks ALTER COLUMN owner TYPE name USING pg_catalog.pg_get_userbyid(owner::pg_catalog.oid);
ALTER TABLE backtest.results ALTER COLUMN owner TYPE name USING pg_catalog.pg_get_userbyid(owner::pg_catalog.oid);
ALTER TABLE backtest.trades ALTER COLUMN owner TYPE name USING pg_catalog.pg_get_userbyid(owner::pg_catalog.oid);
ALTER TABLE backtest.equity_curves ALTER COLUMN owner TYPE name USING pg_catalog.pg_get_userbyid(owner::pg_catalog.oid);
ALTER TABLE backtest.sweep_results ALTER COLUMN owner TYPE name USING pg_catalog.pg_get_userbyid(owner::pg_catalog.oid);
-- the source as its schema-qualified, quoted name (with search_path empty,
-- regclass output qualifies every relation); a dropped one keeps its number
DO $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', '', true);
    EXECUTE 'ALTER TABLE backtest.tasks ALTER COLUMN source TYPE pg_catalog.text USING source::pg_catalog.text';
END
$$;
COMMENT ON COLUMN backtest.tasks.owner IS 'The name of the role that submitted the task; the worker runs as this role';
COMMENT ON COLUMN backtest.tasks.source IS 'The K-line table or view, schema-qualified (NULL for a query source)';

-- A row is visible to the roles its owner's name names (and their members),
-- to members of backtest_admin and to the tables' owner.  Both lists are
-- computed once per query (uncorrelated subqueries), not per row, and a
-- name with no role behind it (a restore without that role) matches nobody.
CREATE POLICY tasks_owner ON backtest.tasks FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
CREATE POLICY results_owner ON backtest.results FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
CREATE POLICY trades_owner ON backtest.trades FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
CREATE POLICY equity_owner ON backtest.equity_curves FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
CREATE POLICY sweep_results_owner ON backtest.sweep_results FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));

-- the tables (with their indexes and the id sequence) go to the database owner
ALTER TABLE backtest.tasks OWNER TO pg_database_owner;
ALTER TABLE backtest.results OWNER TO pg_database_owner;
ALTER TABLE backtest.trades OWNER TO pg_database_owner;
ALTER TABLE backtest.equity_curves OWNER TO pg_database_owner;
ALTER TABLE backtest.sweep_results OWNER TO pg_database_owner;

-- The seal of each queued task: a SHA-256 digest of what decides what runs
-- and as whom (id, owner, database, kind, source, query, symbol, strategy,
-- params, grid, start/end, settings), written at submit into this table,
-- which only the extension owner (a superuser) can write and which is not
-- dumped.  The worker recomputes it before running a task and fails the
-- task when it differs (the database owner edited the row) or is missing
-- (the task was restored from a dump, or queued before 0.4.0 and not
-- resealed).  backtest_reseal() is the superuser's way to vouch for a task.
CREATE TABLE backtest.task_seals (
    task_id bigint PRIMARY KEY REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    digest  bytea NOT NULL
);
COMMENT ON TABLE backtest.task_seals IS
  'The seal of each task submitted in this installation (not dumped; only the extension owner writes it)';
REVOKE ALL ON backtest.task_seals FROM PUBLIC;

CREATE FUNCTION @extschema@.backtest_reseal(task_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'backtest_reseal'
LANGUAGE C VOLATILE PARALLEL UNSAFE STRICT;
COMMENT ON FUNCTION @extschema@.backtest_reseal(bigint) IS
  'Superuser: seal a pending task as it is now (a task restored from a dump, after checking it), so a worker runs it; false if it is not pending';
REVOKE ALL ON FUNCTION @extschema@.backtest_reseal(bigint) FROM PUBLIC;

-- Tasks queued before 0.4.0 were written by their submitters only: seal them.
SELECT @extschema@.backtest_reseal(t.id) FROM backtest.tasks t
WHERE t.status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'running']);

-- Pending rows copied in by a restore wake the dispatcher, which settles
-- the restored tasks at once (they fail: no seal here; it requeues the
-- running ones, which then fail the same way).
CREATE FUNCTION backtest.tasks_wake()
RETURNS trigger
AS 'MODULE_PATHNAME', 'backtest_tasks_wake'
LANGUAGE C;
REVOKE ALL ON FUNCTION backtest.tasks_wake() FROM PUBLIC;
CREATE TRIGGER tasks_wake AFTER INSERT ON backtest.tasks
    FOR EACH ROW WHEN (NEW.status OPERATOR(pg_catalog.=) 'pending')
    EXECUTE FUNCTION backtest.tasks_wake();

-- backtest_cleanup deletes as the tables' owner, not as a superuser
ALTER FUNCTION @extschema@.backtest_cleanup(interval, integer) OWNER TO pg_database_owner;

-- pg_dump writes COMMENT ON EXTENSION for the control file's comment, and
-- only the extension's owner (a superuser) may run it: the database owner's
-- restore would end in "must be owner of extension pg_backtest".  The
-- comment stays in pg_available_extensions (read from the control file).
COMMENT ON EXTENSION pg_backtest IS NULL;
