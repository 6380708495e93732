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
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
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
