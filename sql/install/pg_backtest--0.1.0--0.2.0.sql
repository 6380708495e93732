/*
 * pg_backtest 0.1.0 -> 0.2.0: asynchronous backtests.
 *
 * A durable task queue (backtest.tasks), results tables keyed by task id,
 * row-level security so users see only their own tasks, the submit/cancel/
 * status/stats functions and the pg_cron cleanup helpers.  The launcher and
 * task workers live in the library (src/pg/worker); see its README for the
 * task state machine.
 *
 * The full install script of 0.2.0 is the 0.1.0 script followed by this one,
 * so a fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.2.0'" to load this file. \quit

-- An admin role that sees and may cancel every task (cluster-wide; not
-- dropped with the extension).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'backtest_admin') THEN
        CREATE ROLE backtest_admin NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA backtest;
COMMENT ON SCHEMA backtest IS 'pg_backtest: the task queue and the results of asynchronous backtests';
GRANT USAGE ON SCHEMA backtest TO PUBLIC;

CREATE TABLE backtest.tasks (
    id               bigserial PRIMARY KEY,
    owner            regrole NOT NULL,
    database         name NOT NULL DEFAULT pg_catalog.current_database(),
    source           regclass,
    query            text,
    symbol           text,
    strategy         text NOT NULL,
    params           jsonb NOT NULL DEFAULT '{}',
    start_ts         timestamptz,
    end_ts           timestamptz,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    progress         double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 100),
    current_step     text,
    step_index       integer NOT NULL DEFAULT 0,
    total_steps      integer NOT NULL DEFAULT 5,
    message          text,
    submitted_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    elapsed          interval,
    eta              interval,
    error            text,
    attempts         integer NOT NULL DEFAULT 0,
    worker_pid       integer,
    cancel_requested boolean NOT NULL DEFAULT false,
    CHECK ((source IS NULL) <> (query IS NULL))
);
CREATE INDEX tasks_queue_idx ON backtest.tasks (id) WHERE status IN ('pending', 'running');
CREATE INDEX tasks_finished_idx ON backtest.tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_owner_idx ON backtest.tasks (owner, id);
COMMENT ON TABLE backtest.tasks IS
  'One row per submitted backtest: status (pending, running, completed, failed, cancelled), progress and timing';
COMMENT ON COLUMN backtest.tasks.owner IS 'The role that submitted the task; the worker runs as this role';
COMMENT ON COLUMN backtest.tasks.source IS 'The K-line table or view (NULL for a query source)';
COMMENT ON COLUMN backtest.tasks.query IS 'The query source (NULL for a table source)';
COMMENT ON COLUMN backtest.tasks.status IS 'pending -> running -> completed | failed | cancelled; running -> pending when a dead worker''s task is requeued';
COMMENT ON COLUMN backtest.tasks.progress IS 'Percent done, 0-100';
COMMENT ON COLUMN backtest.tasks.current_step IS 'loading data, computing indicators, simulating, computing metrics, saving results';
COMMENT ON COLUMN backtest.tasks.step_index IS 'Index of current_step, 1-5 (0 = starting)';
COMMENT ON COLUMN backtest.tasks.elapsed IS 'Time since the task started running';
COMMENT ON COLUMN backtest.tasks.eta IS 'Estimated time left';
COMMENT ON COLUMN backtest.tasks.error IS 'Why the task failed';
COMMENT ON COLUMN backtest.tasks.attempts IS 'Times the task was started (a dead worker''s task is retried up to pg_backtest.max_attempts)';
COMMENT ON COLUMN backtest.tasks.worker_pid IS 'Process id of the worker running the task';

CREATE TABLE backtest.results (
    task_id                bigint PRIMARY KEY REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    owner                  regrole NOT NULL,
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
COMMENT ON TABLE backtest.results IS
  'Metrics of each completed task, the columns of backtest_run() (definitions in the README, "Metrics")';

CREATE TABLE backtest.trades (
    task_id      bigint NOT NULL REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    owner        regrole NOT NULL,
    trade_no     integer NOT NULL,
    side         text NOT NULL,
    entry_ts     timestamptz NOT NULL,
    entry_price  double precision NOT NULL,
    exit_ts      timestamptz NOT NULL,
    exit_price   double precision NOT NULL,
    quantity     double precision NOT NULL,
    pnl          double precision NOT NULL,
    return_pct   double precision NOT NULL,
    bars_held    integer NOT NULL,
    exit_reason  text NOT NULL,
    is_open      boolean NOT NULL,
    commission   double precision NOT NULL,
    PRIMARY KEY (task_id, trade_no)
);
COMMENT ON TABLE backtest.trades IS 'Trades of each completed task, the columns of backtest_trades()';

-- The equity curve is stored as one row of arrays per task (one write however
-- many bars); backtest.equity unnests it into one row per bar for BI tools.
CREATE TABLE backtest.equity_curves (
    task_id      bigint PRIMARY KEY REFERENCES backtest.tasks (id) ON DELETE CASCADE,
    owner        regrole NOT NULL,
    ts           timestamptz[] NOT NULL,
    close        double precision[] NOT NULL,
    "position"   double precision[] NOT NULL,
    equity       double precision[] NOT NULL,
    drawdown_pct double precision[] NOT NULL
);
COMMENT ON TABLE backtest.equity_curves IS 'Equity curves as arrays, one row per task; query backtest.equity instead';

CREATE VIEW backtest.equity WITH (security_invoker = true) AS
SELECT c.task_id, u.ts, u.close, u."position", u.equity, u.drawdown_pct
FROM backtest.equity_curves c,
     LATERAL ROWS FROM (pg_catalog.unnest(c.ts), pg_catalog.unnest(c.close),
                        pg_catalog.unnest(c."position"), pg_catalog.unnest(c.equity),
                        pg_catalog.unnest(c.drawdown_pct))
         AS u(ts, close, "position", equity, drawdown_pct);
COMMENT ON VIEW backtest.equity IS
  'Equity curve of each completed task, one row per bar: the columns of backtest_equity()';

-- Users read only their own rows; members of backtest_admin read all.
-- Writes go through the extension's functions (as the extension owner).
ALTER TABLE backtest.tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.results ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.trades ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.equity_curves ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_owner ON backtest.tasks FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER') OR pg_catalog.pg_has_role('backtest_admin', 'MEMBER'));
CREATE POLICY results_owner ON backtest.results FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER') OR pg_catalog.pg_has_role('backtest_admin', 'MEMBER'));
CREATE POLICY trades_owner ON backtest.trades FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER') OR pg_catalog.pg_has_role('backtest_admin', 'MEMBER'));
CREATE POLICY equity_owner ON backtest.equity_curves FOR SELECT
    USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER') OR pg_catalog.pg_has_role('backtest_admin', 'MEMBER'));
GRANT SELECT ON backtest.tasks, backtest.results, backtest.trades, backtest.equity_curves,
    backtest.equity TO PUBLIC;

-- The tasks are user data: pg_dump keeps them
SELECT pg_catalog.pg_extension_config_dump('backtest.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.tasks_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.results', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.trades', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.equity_curves', '');

-- Submitting, cancelling, observing
CREATE FUNCTION @extschema@.backtest_submit(
    source regclass, symbol text, strategy text,
    params jsonb DEFAULT '{}', start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_submit'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_submit(regclass, text, text, jsonb, timestamptz, timestamptz) IS
  'Validate and queue a backtest; returns the task id at once (a worker runs it as the caller)';

CREATE FUNCTION @extschema@.backtest_submit_query(query text, strategy text, params jsonb DEFAULT '{}')
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_submit_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_submit_query(text, text, jsonb) IS
  'Validate and queue a backtest over the rows of a query; returns the task id';

CREATE FUNCTION @extschema@.backtest_cancel(task_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'backtest_cancel'
LANGUAGE C VOLATILE PARALLEL UNSAFE STRICT;
COMMENT ON FUNCTION @extschema@.backtest_cancel(bigint) IS
  'Cancel a pending task at once or stop a running one; false if it had already finished';

CREATE FUNCTION @extschema@.backtest_running_tasks()
RETURNS integer
AS 'MODULE_PATHNAME', 'backtest_running_tasks'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.backtest_running_tasks() IS
  'Worker slots in use right now (NULL when pg_backtest is not in shared_preload_libraries)';

CREATE FUNCTION @extschema@.backtest_status(task_id bigint)
RETURNS SETOF backtest.tasks
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT t.* FROM backtest.tasks t WHERE t.id OPERATOR(pg_catalog.=) $1 $$;
COMMENT ON FUNCTION @extschema@.backtest_status(bigint) IS 'The task row (your own tasks only)';

CREATE FUNCTION @extschema@.backtest_stats(
    OUT total_tasks bigint, OUT pending bigint, OUT running bigint, OUT completed bigint,
    OUT failed bigint, OUT cancelled bigint, OUT max_concurrent integer, OUT available_slots integer)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*),
           count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'pending'),
           count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'running'),
           count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'completed'),
           count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'failed'),
           count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'cancelled'),
           pg_catalog.current_setting('pg_backtest.max_concurrent')::integer,
           GREATEST(0, pg_catalog.current_setting('pg_backtest.max_concurrent')::integer
                                  OPERATOR(pg_catalog.-) coalesce(@extschema@.backtest_running_tasks(), 0))
    FROM backtest.tasks t
$$;
COMMENT ON FUNCTION @extschema@.backtest_stats() IS
  'Task counts by status (the tasks you can see) and the worker pool''s capacity';

-- Cleanup: finished tasks older than the TTL, and beyond max_tasks the oldest
-- finished ones, with their results.  Never touches pending or running tasks.
CREATE FUNCTION @extschema@.backtest_cleanup(ttl interval DEFAULT '1 hour', max_tasks integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed integer;
BEGIN
    IF ttl IS NULL OR ttl OPERATOR(pg_catalog.<) '0'::interval THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('ttl must be a non-negative interval, not %s', ttl);
    END IF;
    IF max_tasks IS NULL OR max_tasks OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('max_tasks must be zero or more, not %s', max_tasks);
    END IF;
    WITH finished AS (
        SELECT t.id, t.finished_at,
               pg_catalog.row_number() OVER (ORDER BY t.finished_at DESC, t.id DESC) AS rank
        FROM backtest.tasks t
        WHERE t.status OPERATOR(pg_catalog.=) ANY (ARRAY['completed', 'failed', 'cancelled'])
    ), gone AS (
        DELETE FROM backtest.tasks t USING finished f
        WHERE t.id OPERATOR(pg_catalog.=) f.id
          AND (f.finished_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) ttl)
               OR f.rank OPERATOR(pg_catalog.>) max_tasks)
        RETURNING 1
    )
    SELECT count(*) INTO removed FROM gone;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION @extschema@.backtest_cleanup(interval, integer) IS
  'Delete finished tasks older than ttl, and beyond max_tasks the oldest finished ones, with their results';
REVOKE ALL ON FUNCTION @extschema@.backtest_cleanup(interval, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.backtest_schedule_cleanup(
    schedule text DEFAULT '*/10 * * * *', ttl interval DEFAULT '1 hour', max_tasks integer DEFAULT 100)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
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
COMMENT ON FUNCTION @extschema@.backtest_schedule_cleanup(text, interval, integer) IS
  'Register (or update) the pg_cron job "pg_backtest_cleanup" that runs backtest_cleanup()';
REVOKE ALL ON FUNCTION @extschema@.backtest_schedule_cleanup(text, interval, integer) FROM PUBLIC;

-- backtest_submit stays executable by PUBLIC on purpose: a task runs as the
-- role that submitted it, with exactly that role's privileges, so submitting
-- grants nothing a role could not do with backtest_run.  backtest_cancel
-- checks ownership itself.  Cleanup deletes other roles' tasks, so it is
-- revoked from PUBLIC (the pg_cron job runs as the role that scheduled it).
