/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit

-- ==== notification centre (issue 12) ====
-- A message centre with history: one row per event a role should hear of
-- (a task that finished, a live signal), written in the transaction of the
-- event itself, so a notification exists exactly when its event does.
-- Owners are role names, as in backtest.tasks (a dump restores by name);
-- the same row-level security: a role reads its own rows (and those of the
-- roles it is a member of), members of backtest_admin read all.  Rows are
-- written by the extension (src/pg/notify/notify.c) as the tables' owner;
-- users may only set read_at of their own rows.
CREATE TABLE backtest.notifications (
    id          bigserial PRIMARY KEY,
    owner       name NOT NULL,
    kind        text NOT NULL CHECK (kind OPERATOR(pg_catalog.=) ANY
                    (ARRAY['task_completed', 'task_failed', 'task_cancelled', 'sweep_completed', 'signal', 'system'])),
    title       text NOT NULL,
    message     text,
    priority    text NOT NULL DEFAULT 'normal' CHECK (priority OPERATOR(pg_catalog.=) ANY
                    (ARRAY['low', 'normal', 'high', 'urgent'])),
    metadata    jsonb NOT NULL DEFAULT '{}',
    action      text,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    read_at     timestamptz
);
CREATE INDEX notifications_owner_idx ON backtest.notifications (owner, id);
CREATE INDEX notifications_read_idx ON backtest.notifications (read_at) WHERE read_at IS NOT NULL;
COMMENT ON TABLE backtest.notifications IS
  'The notification centre: finished tasks, live signals, system messages, per role (row-level security)';
COMMENT ON COLUMN backtest.notifications.owner IS 'The name of the role the notification is for';
COMMENT ON COLUMN backtest.notifications.kind IS 'task_completed, task_failed, task_cancelled, sweep_completed, signal or system';
COMMENT ON COLUMN backtest.notifications.priority IS 'low, normal, high or urgent';
COMMENT ON COLUMN backtest.notifications.metadata IS 'Facts of the event as jsonb (a task''s id, kind, strategy and result summary; a signal''s stream and bar)';
COMMENT ON COLUMN backtest.notifications.action IS 'The SQL that shows what the notification is about';
COMMENT ON COLUMN backtest.notifications.read_at IS 'When it was marked read (backtest_notifications_read); NULL: unread';

-- Per-role preferences: which kinds are recorded (and sent) for a role, and
-- the lowest priority.  No row: every kind, every priority.
CREATE TABLE backtest.notification_settings (
    owner        name PRIMARY KEY,
    kinds        text[],
    min_priority text NOT NULL DEFAULT 'low' CHECK (min_priority OPERATOR(pg_catalog.=) ANY
                    (ARRAY['low', 'normal', 'high', 'urgent'])),
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE backtest.notification_settings IS
  'Which notifications are recorded for a role: kinds (NULL = all) and the lowest priority (backtest_notification_settings)';

ALTER TABLE backtest.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.notification_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_owner ON backtest.notifications FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
-- marking read: only one's own rows, only read_at (the column grant below)
CREATE POLICY notifications_mark_read ON backtest.notifications FOR UPDATE
    USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
    WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
CREATE POLICY notification_settings_owner ON backtest.notification_settings FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
GRANT SELECT ON backtest.notifications, backtest.notification_settings TO PUBLIC;
GRANT UPDATE (read_at) ON backtest.notifications TO PUBLIC;
ALTER TABLE backtest.notifications OWNER TO pg_database_owner;
ALTER TABLE backtest.notification_settings OWNER TO pg_database_owner;
-- user data: pg_dump keeps them (the database owner dumps, as for tasks)
SELECT pg_catalog.pg_extension_config_dump('backtest.notifications', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.notifications_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('backtest.notification_settings', '');

-- A task's outcome (completed, failed, cancelled; sweep_completed for a
-- sweep) records its owner's notification in the transaction that records
-- the outcome, whichever process does it (the worker, backtest_cancel, the
-- dispatcher failing or giving up a task).  Outcomes are final
-- (tasks_outcome_is_final), so this fires once per task.
CREATE FUNCTION backtest.tasks_notify()
RETURNS trigger
AS 'MODULE_PATHNAME', 'backtest_tasks_notify'
LANGUAGE C;
REVOKE ALL ON FUNCTION backtest.tasks_notify() FROM PUBLIC;
CREATE TRIGGER tasks_notify AFTER UPDATE OF status ON backtest.tasks
    FOR EACH ROW
    WHEN (NEW.status OPERATOR(pg_catalog.=) ANY (ARRAY['completed', 'failed', 'cancelled'])
          AND OLD.status OPERATOR(pg_catalog.<>) NEW.status)
    EXECUTE FUNCTION backtest.tasks_notify();

CREATE FUNCTION @extschema@.backtest_notifications(unread_only boolean DEFAULT true, max_rows integer DEFAULT 50)
RETURNS SETOF backtest.notifications
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF unread_only IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'unread_only must not be NULL';
    END IF;
    IF max_rows IS NULL OR max_rows OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = pg_catalog.format('max_rows must be 1 or more, not %s', COALESCE(max_rows::text, 'NULL'));
    END IF;
    RETURN QUERY
        SELECT n.* FROM backtest.notifications n
        WHERE n.owner OPERATOR(pg_catalog.=) CURRENT_USER
          AND (NOT unread_only OR n.read_at IS NULL)
        ORDER BY n.id DESC
        LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION @extschema@.backtest_notifications(boolean, integer) IS
  'Your notifications (the current role''s), newest first: the unread ones, or all with unread_only => false';

CREATE FUNCTION @extschema@.backtest_notifications_read(ids bigint[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    marked integer;
BEGIN
    IF ids IS NOT NULL AND pg_catalog.array_position(ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'ids must not contain NULL',
            HINT = 'Pass NULL instead of an array to mark all your notifications read.';
    END IF;
    UPDATE backtest.notifications n SET read_at = pg_catalog.clock_timestamp()
    WHERE n.owner OPERATOR(pg_catalog.=) CURRENT_USER
      AND n.read_at IS NULL
      AND (ids IS NULL OR n.id OPERATOR(pg_catalog.=) ANY (ids));
    GET DIAGNOSTICS marked = ROW_COUNT;
    RETURN marked;
END
$$;
COMMENT ON FUNCTION @extschema@.backtest_notifications_read(bigint[]) IS
  'Mark your unread notifications with these ids (NULL: all of them) read; returns how many were marked';

CREATE FUNCTION @extschema@.backtest_notification_settings(kinds text[], min_priority text)
RETURNS TABLE (kinds text[], min_priority text)
AS 'MODULE_PATHNAME', 'backtest_notification_settings'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_notification_settings(text[], text) IS
  'Choose which notifications are recorded and sent for you: kinds (NULL = all) and the lowest priority (NULL = low)';

-- Cleanup of read notifications past the TTL, and beyond
-- pg_backtest.max_notifications per role the oldest ones; backtest_cleanup
-- (the pg_cron job) runs it too.
CREATE FUNCTION @extschema@.backtest_cleanup_notifications(ttl interval DEFAULT '1 hour')
RETURNS integer
AS 'MODULE_PATHNAME', 'backtest_cleanup_notifications'
LANGUAGE C VOLATILE PARALLEL UNSAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION @extschema@.backtest_cleanup_notifications(interval) IS
  'Delete notifications read more than ttl ago, and beyond pg_backtest.max_notifications per role the oldest ones';
REVOKE ALL ON FUNCTION @extschema@.backtest_cleanup_notifications(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.backtest_cleanup_notifications(interval) TO backtest_admin, pg_database_owner;

CREATE OR REPLACE FUNCTION @extschema@.backtest_cleanup(ttl interval DEFAULT '1 hour', max_tasks integer DEFAULT 100)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
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
    PERFORM @extschema@.backtest_cleanup_notifications(ttl);
    RETURN removed;
END
$$;
COMMENT ON FUNCTION @extschema@.backtest_cleanup(interval, integer) IS
  'Delete finished tasks older than ttl, and beyond max_tasks the oldest finished ones, with their results; then backtest_cleanup_notifications(ttl); returns the tasks removed';

-- ==== system status (issue 12) ====
CREATE FUNCTION @extschema@.backtest_system_status(
    OUT pending_tasks integer, OUT running_tasks integer,
    OUT db_pending_tasks integer, OUT db_running_tasks integer,
    OUT max_concurrent integer, OUT free_slots integer,
    OUT live_streams bigint,
    OUT load_1 double precision, OUT load_5 double precision, OUT load_15 double precision,
    OUT pool_processes integer, OUT pool_memory bigint,
    OUT checked_at timestamptz)
AS 'MODULE_PATHNAME', 'backtest_system_status'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_system_status() IS
  'The queue''s pending and running tasks (cluster-wide and in this database), free slots, live streams, the load average and the worker pool''s memory';

-- ==== live streams (issue 12) ====
-- A stream: its definition as given.  Written only by the functions below,
-- as pg_database_owner (the tables' owner, like backtest.tasks); each role
-- sees its own rows (and backtest_admin all).  Not dumped: a stream lives
-- with the table's triggers and states of this installation (a restored
-- trigger without streams does nothing).
CREATE TABLE backtest.live_streams (
    id          bigserial PRIMARY KEY,
    owner       name NOT NULL,
    source      oid NOT NULL,
    symbol      text,
    strategy    text,
    params      jsonb NOT NULL DEFAULT '{}',
    indicators  jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX live_streams_source_idx ON backtest.live_streams (source);
COMMENT ON TABLE backtest.live_streams IS
  'One row per live stream (backtest_live_start): the table it follows, its symbol (NULL = every symbol), strategy, params and indicators';
COMMENT ON COLUMN backtest.live_streams.source IS 'The pg_class OID of the K-line table';

-- A stream's engine state per symbol ('' when the table has no symbol
-- column): after the last bar, and before it (for a forming candle).  A
-- few kB each, rewritten by every statement: kept in the row uncompressed
-- (toast_tuple_target), compressing them would cost more than the I/O saved;
-- fillfactor 50 makes each page prune its dead versions early, so the next
-- version fits beside the live one (a HOT update, no new index entry).
CREATE TABLE backtest.live_state (
    stream      bigint NOT NULL REFERENCES backtest.live_streams (id) ON DELETE CASCADE,
    symbol      text NOT NULL,
    bars        bigint NOT NULL,
    last_ts     timestamptz,
    position    smallint NOT NULL,
    state       bytea NOT NULL,
    prev_state  bytea,
    PRIMARY KEY (stream, symbol)
) WITH (toast_tuple_target = 8160, fillfactor = 50);
COMMENT ON TABLE backtest.live_state IS
  'The incremental state of each live stream and symbol, advanced by the table''s triggers in the writing transaction';

ALTER TABLE backtest.live_streams ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.live_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY live_streams_owner ON backtest.live_streams FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
-- a state is visible with its stream
CREATE POLICY live_state_owner ON backtest.live_state FOR SELECT
    USING (EXISTS (SELECT 1 FROM backtest.live_streams s WHERE s.id OPERATOR(pg_catalog.=) stream));
REVOKE ALL ON backtest.live_streams, backtest.live_state FROM PUBLIC;
GRANT SELECT ON backtest.live_streams TO PUBLIC;
GRANT SELECT (stream, symbol, bars, last_ts, position) ON backtest.live_state TO PUBLIC;
ALTER TABLE backtest.live_streams OWNER TO pg_database_owner;
ALTER TABLE backtest.live_state OWNER TO pg_database_owner;

CREATE FUNCTION backtest.live_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'backtest_live_trigger'
LANGUAGE C;
COMMENT ON FUNCTION backtest.live_trigger() IS
  'The statement-level triggers live streams put on their table';

CREATE FUNCTION @extschema@.backtest_live_start(source regclass, symbol text DEFAULT NULL,
    strategy text DEFAULT NULL, params jsonb DEFAULT '{}', indicators jsonb DEFAULT '[]')
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_live_start'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_start(regclass, text, text, jsonb, jsonb) IS
  'Start a live stream over a K-line table: NOTIFY backtest_chart with each statement''s new bars, backtest_signal when the strategy''s target position changes; returns the stream id';

CREATE FUNCTION @extschema@.backtest_live_stop(stream bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'backtest_live_stop'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_stop(bigint) IS
  'Stop a live stream; the last stream of a table removes its triggers';

CREATE FUNCTION @extschema@.backtest_live_bars(stream bigint, since_ts timestamptz DEFAULT NULL)
RETURNS TABLE (symbol text, ts timestamptz, open double precision, high double precision,
               low double precision, close double precision, volume double precision,
               "values" jsonb, target smallint, "position" smallint)
AS 'MODULE_PATHNAME', 'backtest_live_bars'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_bars(bigint, timestamptz) IS
  'A live stream''s bars from since_ts on, with its indicator values, target and position, read from the table as the caller';

CREATE FUNCTION @extschema@.backtest_live_streams()
RETURNS TABLE (stream bigint, owner name, source regclass, symbol text, strategy text,
               indicators jsonb, bars bigint, last_ts timestamptz, "position" smallint,
               created_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.owner, s.source::pg_catalog.regclass,
           COALESCE(NULLIF(st.symbol, ''), s.symbol), s.strategy, s.indicators,
           st.bars, st.last_ts, CASE WHEN s.strategy IS NOT NULL THEN st.position END, s.created_at
    FROM backtest.live_streams s
    LEFT JOIN backtest.live_state st ON st.stream OPERATOR(pg_catalog.=) s.id
    ORDER BY s.id, st.symbol COLLATE "C"
$$;
COMMENT ON FUNCTION @extschema@.backtest_live_streams() IS
  'My live streams, one row per stream and symbol: source, strategy, bars seen, last bar and target position';

-- ==== Faster saves of trades and sweep rows (issue 10) ====
-- backtest.trades and backtest.sweep_results lose their foreign key to
-- backtest.tasks: its check ran once per inserted row (53,000 lookups of the
-- task row for a 3M-bar task: more than half of the trades insert).  Only the
-- task worker inserts there, in the transaction that completes the task.  A
-- statement-level trigger deletes a deleted task's rows instead, as ON DELETE
-- CASCADE did, and TRUNCATE of backtest.tasks empties both tables.
ALTER TABLE backtest.trades DROP CONSTRAINT trades_task_id_fkey;
ALTER TABLE backtest.sweep_results DROP CONSTRAINT sweep_results_task_id_fkey;
CREATE FUNCTION backtest.tasks_delete_rows() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids bigint[];
    distributed boolean := false;
BEGIN
    -- On Citus, after backtest_citus_distribute, the result tables are
    -- distributed and have no foreign key to the coordinator-local tasks:
    -- delete all five here, by a list of ids (a distributed table joins no
    -- transition table), on every node that holds a shard.
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        distributed := backtest.citus_tables_distributed();
    END IF;
    IF distributed THEN
        IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
            TRUNCATE backtest.results, backtest.trades, backtest.equity_curves,
                     backtest.sweep_results, backtest.portfolio_equity_curves;
        ELSE
            ids := ARRAY(SELECT g.id FROM gone g);
            DELETE FROM backtest.results t WHERE t.task_id OPERATOR(pg_catalog.=) ANY (ids);
            DELETE FROM backtest.trades t WHERE t.task_id OPERATOR(pg_catalog.=) ANY (ids);
            DELETE FROM backtest.equity_curves t WHERE t.task_id OPERATOR(pg_catalog.=) ANY (ids);
            DELETE FROM backtest.sweep_results t WHERE t.task_id OPERATOR(pg_catalog.=) ANY (ids);
            DELETE FROM backtest.portfolio_equity_curves t WHERE t.task_id OPERATOR(pg_catalog.=) ANY (ids);
        END IF;
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        TRUNCATE backtest.trades, backtest.sweep_results;
    ELSE
        DELETE FROM backtest.trades t USING gone g WHERE t.task_id OPERATOR(pg_catalog.=) g.id;
        DELETE FROM backtest.sweep_results r USING gone g WHERE r.task_id OPERATOR(pg_catalog.=) g.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_delete_rows AFTER DELETE ON backtest.tasks
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION backtest.tasks_delete_rows();
CREATE TRIGGER tasks_truncate_rows AFTER TRUNCATE ON backtest.tasks
    FOR EACH STATEMENT EXECUTE FUNCTION backtest.tasks_delete_rows();

-- ==== The equity curve without its derivable drawdown (issue 10) ====
-- backtest.equity_curves stops storing drawdown_pct: it is a function of the
-- equity array, and storing it was a fifth of the bytes written (toasted) for
-- every task.  backtest.equity derives it with the same arithmetic
-- (bt_drawdown_pct), so its rows are the same, bit for bit; the rows of an
-- upgraded database are derived from their stored equity the same way.
CREATE FUNCTION backtest.equity_drawdown(equity double precision[]) RETURNS double precision[]
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'backtest_equity_drawdown';
COMMENT ON FUNCTION backtest.equity_drawdown(double precision[]) IS
  'Drawdown in percent below the running peak of an equity array, element by element';
CREATE OR REPLACE VIEW backtest.equity WITH (security_invoker = true) AS
SELECT c.task_id, u.ts, u.close, u."position", u.equity, u.drawdown_pct
FROM backtest.equity_curves c,
     LATERAL ROWS FROM (pg_catalog.unnest(c.ts), pg_catalog.unnest(c.close),
                        pg_catalog.unnest(c."position"), pg_catalog.unnest(c.equity),
                        pg_catalog.unnest(backtest.equity_drawdown(c.equity)))
         AS u(ts, close, "position", equity, drawdown_pct);
ALTER TABLE backtest.equity_curves DROP COLUMN drawdown_pct;

-- ==== portfolio backtests through the queue (issue 11) ====
-- A task of kind 'portfolio' carries its symbols (NULL: every symbol of the
-- source); the seal covers them (seal.c).  Its results: the account's row
-- in backtest.results with the portfolio's columns (NULL for other tasks),
-- its trades in backtest.trades with their symbol (NULL for a single-symbol
-- task; trade_no counts per symbol, as backtest_portfolio_trades numbers
-- them), its account curve in backtest.portfolio_equity_curves (one row of
-- arrays; the drawdown is derived, as for backtest.equity), unnested by the
-- view backtest.portfolio_equity.
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
                              'ALTER COLUMN equity %1$s, ALTER COLUMN open_positions %1$s', how);
END
$$;

CREATE VIEW backtest.portfolio_equity WITH (security_invoker = true) AS
SELECT c.task_id, u.ts, u.cash, u.positions_value, u.equity, u.drawdown_pct, u.open_positions
FROM backtest.portfolio_equity_curves c,
     LATERAL ROWS FROM (pg_catalog.unnest(c.ts), pg_catalog.unnest(c.cash),
                        pg_catalog.unnest(c.positions_value), pg_catalog.unnest(c.equity),
                        pg_catalog.unnest(backtest.equity_drawdown(c.equity)),
                        pg_catalog.unnest(c.open_positions))
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
-- ==== Scale out with Citus (issue 14) ====
-- backtest_citus_distribute(source) makes the read-only symbol-scoped
-- functions Citus distributed functions colocated with source, a table
-- distributed by its symbol column: a call with a constant symbol is then
-- delegated whole to the node holding that symbol's shard.  The functions are
-- found in the catalog, not listed: every member of this extension whose
-- first two arguments are (source regclass, symbol text) and which is not
-- volatile (the volatile ones, backtest_submit*, backtest_live_start, write
-- this node's queue and triggers and stay on the coordinator).  Citus'
-- force_delegation delegates by the symbol alone, whatever the source, so
-- after this call these functions are for tables every node has: the
-- colocated source, another distributed table, or a reference table; a
-- coordinator-local table is read with the *_query forms (never delegated).
-- The result tables on Citus (issue 14 item 1).  backtest_citus_distribute
-- also makes backtest.results, trades, equity_curves, sweep_results and
-- portfolio_equity_curves distributed tables, by task_id, colocated with
-- each other, so that a task's rows sit in one shard group and spread over
-- the workers.  backtest.tasks (with task_seals, notifications and the live
-- streams) stays a plain table of the coordinator, the only node that
-- queues and dispatches: as a reference table its row triggers fire on
-- every node's placement, and the NOTIFY of tasks_notify there makes the
-- two-phase commit of every outcome fail ("cannot PREPARE a transaction
-- that has executed LISTEN, UNLISTEN, or NOTIFY"), besides making each
-- progress report a commit on every node.  So the result tables lose their
-- foreign keys to tasks (a distributed table cannot reference a local one)
-- and tasks_delete_rows deletes their rows instead; and their policies call
-- backtest.row_visible, since Citus refuses subqueries in the policies of a
-- distributed table.
CREATE FUNCTION backtest.row_visible(owner name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER'))
$$;
COMMENT ON FUNCTION backtest.row_visible(name) IS
  'The row-level security of the result tables on Citus: is a row of role owner visible to the current user (the same rule as the subquery policies of one node)';

-- Are the result tables distributed (backtest_citus_distribute ran)?  Only
-- called where pg_dist_partition exists.
CREATE FUNCTION backtest.citus_tables_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
                            WHERE p.logicalrelid OPERATOR(pg_catalog.=) ''backtest.results''::pg_catalog.regclass)'
        INTO found;
    RETURN found;
END
$$;

-- The per-node part of the conversion, run on the coordinator and (through
-- run_command_on_workers) on every worker before the tables are
-- distributed: each node has the extension's own copy of the tables (Citus
-- propagated CREATE EXTENSION), which becomes the node's shell table of the
-- distributed one, so it must have the coordinator's definition: no foreign
-- key to tasks, the function-based policy.  DDL propagation is off: each
-- node changes only its own copy.
CREATE FUNCTION backtest.citus_prepare_node() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    r record;
BEGIN
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    FOREACH t IN ARRAY ARRAY['results', 'trades', 'equity_curves', 'sweep_results', 'portfolio_equity_curves'] LOOP
        FOR r IN SELECT c.conname FROM pg_catalog.pg_constraint c
                 WHERE c.conrelid OPERATOR(pg_catalog.=) pg_catalog.format('backtest.%I', t)::pg_catalog.regclass
                   AND c.contype OPERATOR(pg_catalog.=) 'f' LOOP
            EXECUTE pg_catalog.format('ALTER TABLE backtest.%I DROP CONSTRAINT %I', t, r.conname);
        END LOOP;
        FOR r IN SELECT p.polname FROM pg_catalog.pg_policy p
                 WHERE p.polrelid OPERATOR(pg_catalog.=) pg_catalog.format('backtest.%I', t)::pg_catalog.regclass LOOP
            EXECUTE pg_catalog.format('DROP POLICY %I ON backtest.%I', r.polname, t);
            EXECUTE pg_catalog.format('CREATE POLICY %I ON backtest.%I FOR SELECT USING (backtest.row_visible(owner))',
                                      r.polname, t);
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION backtest.citus_prepare_node() FROM PUBLIC;

-- Distribute the result tables once (backtest_citus_distribute calls it;
-- idempotent): prepare every node, then distribute by task_id, colocated
-- with backtest.results, sequentially (one connection per node, as Citus
-- needs for tables that are then changed in the same transaction).
CREATE FUNCTION backtest.citus_distribute_tables() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    r record;
BEGIN
    -- backtest_cleanup deletes the tasks' rows on the workers, over
    -- connections Citus opens as the current user: it runs as the
    -- database's owner, not as pg_database_owner (a group that cannot log
    -- in; the owner is the member it stands for)
    EXECUTE (SELECT pg_catalog.format('ALTER FUNCTION %I.backtest_cleanup(pg_catalog.interval, pg_catalog.int4) OWNER TO %I',
                                      n.nspname, pg_catalog.pg_get_userbyid(d.datdba))
             FROM pg_catalog.pg_extension e
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
             JOIN pg_catalog.pg_database d ON d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
             WHERE e.extname OPERATOR(pg_catalog.=) 'pg_backtest');
    IF backtest.citus_tables_distributed() THEN
        RETURN;
    END IF;
    PERFORM backtest.citus_prepare_node();
    FOR r IN EXECUTE 'SELECT nodename, nodeport, success, result
                      FROM pg_catalog.run_command_on_workers(''SELECT backtest.citus_prepare_node()'')' LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION 'could not prepare the backtest tables on worker %:%', r.nodename, r.nodeport
                USING DETAIL = r.result,
                      HINT = 'Every worker needs the same pg_backtest version, created by CREATE EXTENSION on the coordinator.';
        END IF;
    END LOOP;
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    FOREACH t IN ARRAY ARRAY['results', 'trades', 'equity_curves', 'sweep_results', 'portfolio_equity_curves'] LOOP
        EXECUTE 'SELECT pg_catalog.create_distributed_table($1, ''task_id'', colocate_with := $2)'
            USING pg_catalog.format('backtest.%I', t)::pg_catalog.regclass,
                  CASE WHEN t OPERATOR(pg_catalog.=) 'results' THEN 'none' ELSE 'backtest.results' END;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION backtest.citus_distribute_tables() FROM PUBLIC;

-- The queue on Citus (issue 14 item 3).  The node a backtest task runs on:
-- for a task whose source is distributed by symbol and colocated with the
-- distributed backtest_run (backtest_citus_distribute ran for it), the
-- worker holding the symbol's shard as host:port; NULL otherwise (the task
-- runs on the coordinator as on one node).  Called by the task worker only
-- when Citus is installed.
CREATE FUNCTION backtest.citus_task_node(task_source regclass, task_symbol text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    node text;
BEGIN
    IF task_source IS NULL OR task_symbol IS NULL OR NOT backtest.citus_tables_distributed() THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT n.nodename OPERATOR(pg_catalog.||) '':'' OPERATOR(pg_catalog.||) n.nodeport
             FROM pg_catalog.pg_dist_partition t
             JOIN pg_catalog.pg_dist_object o
               ON o.classid OPERATOR(pg_catalog.=) ''pg_catalog.pg_proc''::pg_catalog.regclass
              AND o.objid OPERATOR(pg_catalog.=) $3::pg_catalog.regprocedure
              AND o.colocationid OPERATOR(pg_catalog.=) t.colocationid
             JOIN pg_catalog.pg_dist_placement p
               ON p.shardid OPERATOR(pg_catalog.=) pg_catalog.get_shard_id_for_distribution_column($1, $2)
             JOIN pg_catalog.pg_dist_node n ON n.groupid OPERATOR(pg_catalog.=) p.groupid
             WHERE t.logicalrelid OPERATOR(pg_catalog.=) $1 AND t.partmethod OPERATOR(pg_catalog.=) ''h''
             LIMIT 1'
        INTO node
        USING task_source, task_symbol,
              pg_catalog.format('%I.backtest_run(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz, pg_catalog.timestamptz)',
                                (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
                                 WHERE e.extname OPERATOR(pg_catalog.=) 'pg_backtest'));
    RETURN node;
END
$$;

-- Refuse a submission on a Citus worker once the result tables are
-- distributed: only the coordinator's sequence issues task ids (a worker's
-- own would collide in the distributed tables) and only its launcher
-- dispatches.  Called by backtest_submit* only when Citus is installed.
CREATE FUNCTION backtest.citus_check_submit() RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    coordinator boolean;
BEGIN
    IF NOT backtest.citus_tables_distributed() THEN
        RETURN;
    END IF;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
    IF NOT coordinator THEN
        RAISE EXCEPTION 'backtest tasks are queued on the Citus coordinator'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'This node is a Citus worker; the coordinator issues task ids and dispatches every task.',
                  HINT = 'Connect to the coordinator and submit there.';
    END IF;
END
$$;

CREATE FUNCTION backtest_citus_distribute(source regclass, symbol_column name DEFAULT 'symbol')
RETURNS SETOF regprocedure
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    distcol text;
    method "char";
    fn regprocedure;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension e
                   WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Install the same Citus package on every node, put citus first in shared_preload_libraries, and run CREATE EXTENSION citus.';
    END IF;
    -- dynamic: pg_dist_partition exists only with Citus
    EXECUTE 'SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), p.partmethod
             FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1'
        INTO distcol, method USING source;
    IF method IS DISTINCT FROM 'h' OR distcol IS DISTINCT FROM symbol_column::text THEN
        RAISE EXCEPTION '% is not distributed by its symbol column "%"', source, symbol_column
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN method IS NULL THEN 'It is not a Citus distributed table.'
                                WHEN method OPERATOR(pg_catalog.<>) 'h' THEN 'It is a Citus reference or local table.'
                                ELSE pg_catalog.format('It is distributed by column "%s".', distcol) END,
                  HINT = pg_catalog.format('SELECT create_distributed_table(%L, %L);', source::text, symbol_column);
    END IF;
    -- the result tables first: a failure leaves the functions as they were
    PERFORM backtest.citus_distribute_tables();
    FOR fn IN
        SELECT p.oid::pg_catalog.regprocedure
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
             AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
        JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
             AND e.extname OPERATOR(pg_catalog.=) 'pg_backtest'
        WHERE p.pronargs OPERATOR(pg_catalog.>=) 2
          AND p.proargtypes[0] OPERATOR(pg_catalog.=) 'pg_catalog.regclass'::pg_catalog.regtype
          AND p.proargtypes[1] OPERATOR(pg_catalog.=) 'pg_catalog.text'::pg_catalog.regtype
          AND p.proargnames[2] OPERATOR(pg_catalog.=) 'symbol'
          AND p.provolatile OPERATOR(pg_catalog.<>) 'v'
        ORDER BY p.oid::pg_catalog.regprocedure::pg_catalog.text
    LOOP
        -- idempotent: Citus updates the metadata of a function distributed before
        EXECUTE 'SELECT pg_catalog.create_distributed_function($1, ''$2'', colocate_with := $2, force_delegation := true)'
            USING fn, source::text;
        RETURN NEXT fn;
    END LOOP;
END
$$;
COMMENT ON FUNCTION backtest_citus_distribute(regclass, name) IS
  'Make the symbol-scoped functions Citus distributed functions colocated with source (distributed by symbol), delegated to the node holding the symbol';

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
-- stored like its siblings (lz4, else uncompressed): pglz, the default,
-- took 0.3-1.4 s to compress a 3M-bar array where lz4 takes 0.07 s
DO $$
DECLARE
    how text := 'SET STORAGE EXTERNAL';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_settings
               WHERE name OPERATOR(pg_catalog.=) 'default_toast_compression'
                 AND 'lz4' OPERATOR(pg_catalog.=) ANY (enumvals)) THEN
        how := 'SET COMPRESSION lz4';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE backtest.equity_curves ALTER COLUMN cash %s', how);
END
$$;
-- The view unnests the arrays in its target list, not in ROWS FROM:
-- set-returning functions in FROM are materialized (each array into a
-- tuplestore, spilling to disk beyond work_mem) before the first row,
-- while in the target list they stream in lockstep (a BI tool reading a
-- 3M-bar curve by day: README, "Performance").
CREATE OR REPLACE VIEW backtest.equity WITH (security_invoker = true) AS
SELECT u.task_id, u.ts, u.close, u."position", u.equity, u.drawdown_pct, u.cash,
       u."position" OPERATOR(pg_catalog.*) u.close AS position_value
FROM (SELECT c.task_id, pg_catalog.unnest(c.ts) AS ts, pg_catalog.unnest(c.close) AS close,
             pg_catalog.unnest(c."position") AS "position", pg_catalog.unnest(c.equity) AS equity,
             pg_catalog.unnest(backtest.equity_drawdown(c.equity)) AS drawdown_pct,
             pg_catalog.unnest(c.cash) AS cash
      FROM backtest.equity_curves c) u;

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

-- backtest_run_all_symbol: the per-symbol step of backtest_run_all's fan-out
-- over a Citus table distributed by its symbol column (src/pg/citus_fanout.c).
-- backtest_run_all sends one query that Citus pushes down to every shard:
-- (SELECT symbol FROM shard GROUP BY symbol), LATERAL this function; on the
-- node holding the shard it reads the shard directly (core/read_plan.c).  Its
-- row is that symbol's backtest_run_all row with the same arguments (no row
-- when the symbol has no bars); it emits no NOTICE (backtest_run_all emits
-- one for every symbol at the end).  Not (source, symbol, ...):
-- backtest_citus_distribute leaves it alone (it is called per row, never
-- delegated).
CREATE FUNCTION @extschema@.backtest_run_all_symbol(
    source regclass, strategy text, params jsonb, symbol text,
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
AS 'MODULE_PATHNAME', 'backtest_run_all_symbol'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1;
COMMENT ON FUNCTION @extschema@.backtest_run_all_symbol(regclass, text, jsonb, text, timestamptz, timestamptz) IS
  'One symbol''s backtest_run_all row, read from the local shard on Citus (the per-shard step of backtest_run_all''s fan-out)';

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

-- ==== column comments for BI tools (issue 15 item 9) ====
-- Every column of every table, view and composite type has a comment
-- (sql/comments.sql fails, listing the column, when one has none).  The
-- metrics are described once, on backtest_metrics, and copied to the
-- tables that carry them.
COMMENT ON COLUMN @extschema@.backtest_metrics.start_ts IS 'First bar of the run';
COMMENT ON COLUMN @extschema@.backtest_metrics.end_ts IS 'Last bar of the run';
COMMENT ON COLUMN @extschema@.backtest_metrics.duration IS 'end_ts - start_ts';
COMMENT ON COLUMN @extschema@.backtest_metrics.bars IS 'Bars read';
COMMENT ON COLUMN @extschema@.backtest_metrics.warmup_bars IS 'First bar (numbered from 0) a decision can be made on: the strategy''s warm-up';
COMMENT ON COLUMN @extschema@.backtest_metrics.exposure_pct IS 'Percent of bars from some trade''s entry bar to its exit bar (inclusive)';
COMMENT ON COLUMN @extschema@.backtest_metrics.equity_final IS 'Equity at the last bar''s close, an open position marked to market';
COMMENT ON COLUMN @extschema@.backtest_metrics.equity_peak IS 'Highest equity at a bar''s close';
COMMENT ON COLUMN @extschema@.backtest_metrics.commissions IS 'All costs paid: commissions, fixed fees, stamp duty, spread and borrow fees';
COMMENT ON COLUMN @extschema@.backtest_metrics.return_pct IS '(equity_final - initial_capital) / initial_capital x 100';
COMMENT ON COLUMN @extschema@.backtest_metrics.buy_hold_return_pct IS '(last close / close of the warm-up bar - 1) x 100';
COMMENT ON COLUMN @extschema@.backtest_metrics.return_ann_pct IS 'Annualised geometric mean of the daily returns, percent';
COMMENT ON COLUMN @extschema@.backtest_metrics.volatility_ann_pct IS 'Sample standard deviation of the daily returns x sqrt(periods_per_year) x 100';
COMMENT ON COLUMN @extschema@.backtest_metrics.cagr_pct IS 'Compound annual growth over calendar years (365.25 days), percent';
COMMENT ON COLUMN @extschema@.backtest_metrics.sharpe_ratio IS 'mean(daily return - risk-free rate) / sd(daily return) x sqrt(periods_per_year)';
COMMENT ON COLUMN @extschema@.backtest_metrics.sortino_ratio IS 'mean(daily return - risk-free rate) / downside deviation x sqrt(periods_per_year)';
COMMENT ON COLUMN @extschema@.backtest_metrics.calmar_ratio IS 'return_ann_pct / 100 / |max_drawdown_pct / 100|';
COMMENT ON COLUMN @extschema@.backtest_metrics.max_drawdown_pct IS 'Deepest fall of the equity from its running peak, percent (<= 0)';
COMMENT ON COLUMN @extschema@.backtest_metrics.avg_drawdown_pct IS 'Mean of the deepest point of each drawdown period, percent (<= 0)';
COMMENT ON COLUMN @extschema@.backtest_metrics.max_drawdown_duration IS 'Longest drawdown period: from a bar at a new peak to the next one (or the last bar)';
COMMENT ON COLUMN @extschema@.backtest_metrics.avg_drawdown_duration IS 'Mean length of the drawdown periods';
COMMENT ON COLUMN @extschema@.backtest_metrics.trades_count IS 'Closed trades';
COMMENT ON COLUMN @extschema@.backtest_metrics.open_trades IS '1 if a position is open at the end (reported as an open trade), else 0';
COMMENT ON COLUMN @extschema@.backtest_metrics.win_rate_pct IS 'Percent of closed trades with pnl > 0';
COMMENT ON COLUMN @extschema@.backtest_metrics.best_trade_pct IS 'Highest return_pct of a closed trade';
COMMENT ON COLUMN @extschema@.backtest_metrics.worst_trade_pct IS 'Lowest return_pct of a closed trade';
COMMENT ON COLUMN @extschema@.backtest_metrics.avg_trade_pct IS 'Geometric mean of the closed trades'' returns, percent';
COMMENT ON COLUMN @extschema@.backtest_metrics.max_trade_duration IS 'Longest time from entry to exit of a closed trade';
COMMENT ON COLUMN @extschema@.backtest_metrics.avg_trade_duration IS 'Mean time from entry to exit of the closed trades';
COMMENT ON COLUMN @extschema@.backtest_metrics.profit_factor IS 'Sum of the positive closed-trade returns / |sum of the negative ones|';
COMMENT ON COLUMN @extschema@.backtest_metrics.expectancy_pct IS 'Arithmetic mean of the closed-trade returns, percent';
COMMENT ON COLUMN @extschema@.backtest_metrics.sqn IS 'System quality number: sqrt(trades) x mean(pnl) / sd(pnl)';
COMMENT ON COLUMN @extschema@.backtest_metrics.kelly_criterion IS 'win rate - (1 - win rate) / (mean winning pnl / mean |losing pnl|)';
COMMENT ON COLUMN @extschema@.backtest_metrics.omega_ratio IS 'Sum of the positive daily returns / |sum of the negative ones| (threshold 0)';
COMMENT ON COLUMN @extschema@.backtest_metrics.periods_per_year IS 'The annualisation factor of the daily returns used (given, or inferred)';
COMMENT ON COLUMN @extschema@.backtest_metrics.max_win_streak IS 'Most consecutive closed trades with pnl > 0';
COMMENT ON COLUMN @extschema@.backtest_metrics.max_loss_streak IS 'Most consecutive closed trades with pnl < 0 (pnl = 0 ends a streak)';
DO $$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT att.attname, pg_catalog.col_description(att.attrelid, att.attnum) AS descr
             FROM pg_catalog.pg_attribute att
             WHERE att.attrelid = (SELECT t.typrelid FROM pg_catalog.pg_type t
                                   WHERE t.oid = '@extschema@.backtest_metrics'::pg_catalog.regtype)
               AND att.attnum > 0 AND NOT att.attisdropped
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN backtest.results.%I IS %L', a.attname, a.descr);
        EXECUTE pg_catalog.format('COMMENT ON COLUMN backtest.sweep_results.%I IS %L', a.attname, a.descr);
    END LOOP;
END
$$;
COMMENT ON COLUMN backtest.results.task_id IS 'The task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.results.owner IS 'The role that submitted the task; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.sweep_results.task_id IS 'The sweep task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.sweep_results.owner IS 'The role that submitted the task; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.sweep_results.rank IS 'Position by the grid''s sort_by, 1 = best';
COMMENT ON COLUMN backtest.sweep_results.combo_no IS 'The combination, numbered in grid order from 1 (the first swept parameter varies slowest)';
COMMENT ON COLUMN backtest.sweep_results.params IS 'The swept parameters'' values of this combination';
COMMENT ON COLUMN backtest.sweep_results.p1_name IS 'Name of the first swept parameter (the strategy''s order, then the simulator''s)';
COMMENT ON COLUMN backtest.sweep_results.p1 IS 'Value of the first swept parameter (booleans 0/1, choices their index)';
COMMENT ON COLUMN backtest.sweep_results.p2_name IS 'Name of the second swept parameter';
COMMENT ON COLUMN backtest.sweep_results.p2 IS 'Value of the second swept parameter';
COMMENT ON COLUMN backtest.sweep_results.p3_name IS 'Name of the third swept parameter';
COMMENT ON COLUMN backtest.sweep_results.p3 IS 'Value of the third swept parameter';
COMMENT ON COLUMN backtest.sweep_results.p4_name IS 'Name of the fourth swept parameter';
COMMENT ON COLUMN backtest.sweep_results.p4 IS 'Value of the fourth swept parameter';

COMMENT ON COLUMN backtest.trades.task_id IS 'The task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.trades.owner IS 'The role that submitted the task; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.trades.trade_no IS 'The trade, numbered from 1 in exit order (an open trade last)';
COMMENT ON COLUMN backtest.trades.side IS 'long or short';
COMMENT ON COLUMN backtest.trades.entry_ts IS 'Bar of the entry fill';
COMMENT ON COLUMN backtest.trades.entry_price IS 'Entry fill price, slippage and spread included';
COMMENT ON COLUMN backtest.trades.exit_ts IS 'Bar of the exit fill (the last bar for an open trade)';
COMMENT ON COLUMN backtest.trades.exit_price IS 'Exit fill price, slippage and spread included (the last close for an open trade)';
COMMENT ON COLUMN backtest.trades.quantity IS 'Units held (> 0)';
COMMENT ON COLUMN backtest.trades.pnl IS 'Profit or loss net of every cost of both legs';
COMMENT ON COLUMN backtest.trades.return_pct IS 'pnl / (entry_price x quantity) x 100';
COMMENT ON COLUMN backtest.trades.bars_held IS 'exit_bar - entry_bar';
COMMENT ON COLUMN backtest.trades.exit_reason IS 'signal, stop_loss, take_profit, trailing_stop, margin_call or end (still open)';
COMMENT ON COLUMN backtest.trades.is_open IS 'Still open at the last bar: marked to market, no exit costs';
COMMENT ON COLUMN backtest.trades.commission IS 'All costs of the trade: commission, stamp duty, spread, borrow fees';
COMMENT ON COLUMN backtest.trades.entry_bar IS 'Bar number of the entry, from 0 (NULL for tasks saved before 0.5.0)';
COMMENT ON COLUMN backtest.trades.exit_bar IS 'Bar number of the exit, from 0 (NULL for tasks saved before 0.5.0)';
COMMENT ON COLUMN backtest.trades.mae_price IS 'Most adverse price while open (lowest for a long, highest for a short)';
COMMENT ON COLUMN backtest.trades.mae_pct IS 'Maximum adverse excursion: the move to mae_price from entry_price, percent (<= 0)';
COMMENT ON COLUMN backtest.trades.mfe_price IS 'Most favourable price while open (highest for a long, lowest for a short)';
COMMENT ON COLUMN backtest.trades.mfe_pct IS 'Maximum favourable excursion: the move to mfe_price from entry_price, percent (>= 0)';

COMMENT ON COLUMN backtest.equity_curves.task_id IS 'The task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.equity_curves.owner IS 'The role that submitted the task; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.equity_curves.ts IS 'The bars'' timestamps, ascending';
COMMENT ON COLUMN backtest.equity_curves.close IS 'Each bar''s close';
COMMENT ON COLUMN backtest.equity_curves."position" IS 'Signed quantity held at each bar''s close';
COMMENT ON COLUMN backtest.equity_curves.equity IS 'cash + position x close at each bar''s close';
COMMENT ON COLUMN backtest.equity_curves.cash IS 'Cash at each bar''s close (NULL for tasks saved before 0.5.0)';
COMMENT ON COLUMN backtest.equity.task_id IS 'The task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.equity.ts IS 'The bar';
COMMENT ON COLUMN backtest.equity.close IS 'The bar''s close';
COMMENT ON COLUMN backtest.equity."position" IS 'Signed quantity held at the close';
COMMENT ON COLUMN backtest.equity.equity IS 'cash + position x close';
COMMENT ON COLUMN backtest.equity.drawdown_pct IS 'Fall from the running peak of the equity, percent (<= 0)';
COMMENT ON COLUMN backtest.equity.cash IS 'Cash at the close (NULL for tasks saved before 0.5.0)';
COMMENT ON COLUMN backtest.equity.position_value IS 'position x close (negative for a short)';

COMMENT ON COLUMN backtest.tasks.id IS 'The task id, returned by backtest_submit';
COMMENT ON COLUMN backtest.tasks.database IS 'The database the task runs in';
COMMENT ON COLUMN backtest.tasks.symbol IS 'The symbol read from the source (NULL: every row)';
COMMENT ON COLUMN backtest.tasks.strategy IS 'The strategy (backtest_strategies())';
COMMENT ON COLUMN backtest.tasks.params IS 'The parameters as submitted';
COMMENT ON COLUMN backtest.tasks.start_ts IS 'First bar to read (NULL: from the first)';
COMMENT ON COLUMN backtest.tasks.end_ts IS 'Last bar to read (NULL: to the last)';
COMMENT ON COLUMN backtest.tasks.message IS 'What the task is doing, or its outcome (e.g. "3000 bars, 53 trades")';
COMMENT ON COLUMN backtest.tasks.total_steps IS 'Number of steps (current_step counts up to it)';
COMMENT ON COLUMN backtest.tasks.cancel_requested IS 'backtest_cancel asked the worker to stop';
COMMENT ON COLUMN backtest.tasks.submitted_at IS 'When the task was queued';
COMMENT ON COLUMN backtest.tasks.started_at IS 'When a worker started it (the last attempt)';
COMMENT ON COLUMN backtest.tasks.finished_at IS 'When it completed, failed or was cancelled';
COMMENT ON COLUMN backtest.task_seals.task_id IS 'The sealed task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.task_seals.digest IS 'SHA-256 of the task as submitted; the worker runs the task only if it still matches';

-- ==== column comments of the live streams' tables (issue 15 item 9) ====
COMMENT ON COLUMN backtest.live_streams.id IS 'The stream id, returned by backtest_live_start';
COMMENT ON COLUMN backtest.live_streams.owner IS 'The role that started the stream; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.live_streams.symbol IS 'The symbol followed (NULL: every symbol of the table)';
COMMENT ON COLUMN backtest.live_streams.strategy IS 'The strategy whose target position is kept up to date (NULL: indicators only)';
COMMENT ON COLUMN backtest.live_streams.params IS 'The strategy''s and simulator''s parameters as given';
COMMENT ON COLUMN backtest.live_streams.indicators IS 'The indicators kept up to date, as given';
COMMENT ON COLUMN backtest.live_streams.created_at IS 'When the stream was started';
COMMENT ON COLUMN backtest.live_state.stream IS 'The stream (backtest.live_streams.id)';
COMMENT ON COLUMN backtest.live_state.symbol IS 'The symbol ('''' when the table has no symbol column)';
COMMENT ON COLUMN backtest.live_state.bars IS 'Bars the stream has consumed for the symbol';
COMMENT ON COLUMN backtest.live_state.last_ts IS 'Timestamp of the last bar consumed';
COMMENT ON COLUMN backtest.live_state."position" IS 'The strategy''s target position after the last bar: 1 long, 0 flat, -1 short';
COMMENT ON COLUMN backtest.live_state.state IS 'The engine''s incremental state after the last bar (opaque)';
COMMENT ON COLUMN backtest.live_state.prev_state IS 'The state before the last bar, to redo a forming candle (opaque)';

-- ==== resampling (issue 15 item 7) ====
-- OHLCV bars of a coarser timeframe from a finer table, bucketed as
-- date_bin(interval, ts, origin) buckets them, on the wall clock of
-- time_zone (origin is a wall-clock time there): first open, highest high,
-- lowest low, last close, summed volume (src/engine/resample.c,
-- src/pg/resample.c).
CREATE FUNCTION @extschema@.backtest_resample(
    source regclass, symbol text, "interval" interval,
    start_ts timestamptz DEFAULT NULL, end_ts timestamptz DEFAULT NULL,
    origin timestamp DEFAULT '2000-01-03 00:00:00', time_zone text DEFAULT 'UTC',
    columns jsonb DEFAULT NULL)
RETURNS TABLE (ts timestamptz, open double precision, high double precision, low double precision,
               close double precision, volume double precision, bars bigint)
AS 'MODULE_PATHNAME', 'backtest_resample'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_resample(regclass, text, interval, timestamptz, timestamptz, timestamp, text, jsonb) IS
  'OHLCV bars of a coarser timeframe: first open, highest high, lowest low, last close, summed volume per date_bin bucket (on the wall clock of time_zone)';

-- A stored curve downsampled in C (issue 15 item 9): a BI tool's daily view
-- of a 3M-bar curve reads two arrays once instead of unnesting
-- every array of backtest.equity into 3M rows and grouping them in SQL;
-- the rows equal that GROUP BY (sql/equity_downsample.sql).
CREATE FUNCTION @extschema@.backtest_equity_downsample(
    task_id bigint, "interval" interval DEFAULT '1 day',
    origin timestamp DEFAULT '2000-01-03 00:00:00', time_zone text DEFAULT 'UTC')
RETURNS TABLE (ts timestamptz, bars bigint, equity_open double precision, equity_high double precision,
               equity_low double precision, equity_close double precision, equity_avg double precision,
               drawdown_pct double precision)
AS 'MODULE_PATHNAME', 'backtest_equity_downsample'
LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT ROWS 1000;
COMMENT ON FUNCTION @extschema@.backtest_equity_downsample(bigint, interval, timestamp, text) IS
  'A completed task''s stored equity curve per date_bin bucket (first, highest, lowest, last and mean equity, lowest drawdown)';

-- ==== column comments of the notification centre's tables (issue 15 item 9) ====
COMMENT ON COLUMN backtest.notifications.id IS 'The notification id';
COMMENT ON COLUMN backtest.notifications.created_at IS 'When it was raised';
COMMENT ON COLUMN backtest.notifications.title IS 'A one-line summary';
COMMENT ON COLUMN backtest.notifications.message IS 'The full text';
COMMENT ON COLUMN backtest.notification_settings.owner IS 'The role whose settings these are';
COMMENT ON COLUMN backtest.notification_settings.kinds IS 'The kinds of notifications recorded (NULL: every kind)';
COMMENT ON COLUMN backtest.notification_settings.min_priority IS 'The lowest priority recorded';
COMMENT ON COLUMN backtest.notification_settings.updated_at IS 'When the settings last changed';

-- ==== the portfolio queue's columns described; its view streams (issue 15 item 9) ====
CREATE OR REPLACE VIEW backtest.portfolio_equity WITH (security_invoker = true) AS
SELECT u.task_id, u.ts, u.cash, u.positions_value, u.equity, u.drawdown_pct, u.open_positions
FROM (SELECT c.task_id, pg_catalog.unnest(c.ts) AS ts, pg_catalog.unnest(c.cash) AS cash,
             pg_catalog.unnest(c.positions_value) AS positions_value, pg_catalog.unnest(c.equity) AS equity,
             pg_catalog.unnest(backtest.equity_drawdown(c.equity)) AS drawdown_pct,
             pg_catalog.unnest(c.open_positions) AS open_positions
      FROM backtest.portfolio_equity_curves c) u;
COMMENT ON COLUMN backtest.results.max_positions_held IS 'A portfolio task''s most positions held at once (NULL for other tasks)';
COMMENT ON COLUMN backtest.results.avg_positions_held IS 'A portfolio task''s mean positions held per timestamp (NULL for other tasks)';
COMMENT ON COLUMN backtest.results.turnover IS 'A portfolio task''s notional traded / mean equity (NULL for other tasks)';
COMMENT ON COLUMN backtest.results.entries_skipped IS 'A portfolio task''s entries not filled: max_positions held or no cash (NULL for other tasks)';
COMMENT ON COLUMN backtest.results.alpha IS 'A portfolio task''s annualised alpha against its benchmark, percent (NULL without one)';
COMMENT ON COLUMN backtest.results.beta IS 'A portfolio task''s beta against its benchmark (NULL without one)';
COMMENT ON COLUMN backtest.results.benchmark_return_pct IS 'A portfolio task''s benchmark return, percent (NULL without one)';
COMMENT ON COLUMN backtest.portfolio_equity_curves.task_id IS 'The portfolio task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.portfolio_equity_curves.owner IS 'The role that submitted the task; rows are visible to it (and backtest_admin)';
COMMENT ON COLUMN backtest.portfolio_equity_curves.ts IS 'The union timeline of the symbols, ascending';
COMMENT ON COLUMN backtest.portfolio_equity_curves.cash IS 'The account''s cash at each timestamp';
COMMENT ON COLUMN backtest.portfolio_equity_curves.positions_value IS 'Sum of quantity x last close of the positions held at each timestamp';
COMMENT ON COLUMN backtest.portfolio_equity_curves.equity IS 'cash + positions_value at each timestamp';
COMMENT ON COLUMN backtest.portfolio_equity_curves.open_positions IS 'Positions held at each timestamp';
COMMENT ON COLUMN backtest.portfolio_equity.task_id IS 'The portfolio task (backtest.tasks.id)';
COMMENT ON COLUMN backtest.portfolio_equity.ts IS 'A timestamp of the union timeline';
COMMENT ON COLUMN backtest.portfolio_equity.cash IS 'The account''s cash';
COMMENT ON COLUMN backtest.portfolio_equity.positions_value IS 'Sum of quantity x last close of the positions held';
COMMENT ON COLUMN backtest.portfolio_equity.equity IS 'cash + positions_value';
COMMENT ON COLUMN backtest.portfolio_equity.drawdown_pct IS 'Fall from the running peak of the equity, percent (<= 0)';
COMMENT ON COLUMN backtest.portfolio_equity.open_positions IS 'Positions held';

-- backtest_sweep_batch: the shard-level step of a sweep task on Citus
-- (src/pg/sweep_task.c).  A sweep task whose source is distributed by symbol
-- runs its combinations in batches, each one call of this function, which
-- backtest_citus_distribute distributes like the other (source, symbol, ...)
-- functions, so Citus runs it on the node holding the symbol, where it reads
-- the shard.  It expands the grid as backtest_sweep does and returns, for
-- combinations combo_from .. combo_from + combo_count - 1, the engine's
-- metrics bit for bit (bytea, readable by the same build only); the task
-- worker on the coordinator ranks and stores them.
CREATE FUNCTION @extschema@.backtest_sweep_batch(
    source regclass, symbol text, strategy text, params jsonb,
    start_ts timestamptz, end_ts timestamptz,
    grid jsonb, combo_from bigint, combo_count bigint)
RETURNS TABLE (combo bigint, metrics bytea)
AS 'MODULE_PATHNAME', 'backtest_sweep_batch'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
COMMENT ON FUNCTION @extschema@.backtest_sweep_batch(regclass, text, text, jsonb, timestamptz, timestamptz, jsonb, bigint, bigint) IS
  'The step of a sweep task on Citus: the metrics of some combinations of a grid on one symbol, for the coordinator''s task worker (internal)';
