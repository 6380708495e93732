-- The notification centre: a task's outcome records exactly one notification
-- for its owner (completed, failed, cancelled), which only its owner reads;
-- preferences, marking read, cleanup, and every error message.  And
-- backtest_system_status().  (Timing and NOTIFY payloads: test/t/041_notifications.pl.)
\set VERBOSITY default
SET TimeZone = 'UTC';

CREATE TABLE nq (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO nq SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day', 100 + i % 9, 101 + i % 9, 99 + i % 9, 100 + i % 7, 1000
FROM generate_series(0, 99) i;
CREATE ROLE regress_nt_alice LOGIN;
CREATE ROLE regress_nt_bob LOGIN;
GRANT SELECT ON nq TO regress_nt_alice, regress_nt_bob;

CREATE FUNCTION pg_temp.wait_idle() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;

-- alice: one task completes, one fails at run time, one is cancelled before it starts
SET ROLE regress_nt_alice;
SELECT backtest_submit('nq', 'A', 'sma_cross', '{"fast": 3, "slow": 8}') > 0 AS queued;
SELECT backtest_submit_query('SELECT * FROM nq WHERE (SELECT ''not a number'')::int > 0', 'sma_cross') > 0 AS queued;
SELECT backtest_submit_sweep('nq', 'A', 'sma_cross', '{"fast": [3, 5], "slow": [10, 20]}') > 0 AS queued;
BEGIN;
SELECT backtest_submit('nq', 'A', 'rsi') AS cid \gset
SELECT backtest_cancel(:cid);
COMMIT;
RESET ROLE;
SELECT pg_temp.wait_idle();

-- one notification per finished task, in the task's words
SELECT t.status, n.kind, n.priority, n.title = initcap(t.kind) || ' ' || t.id || ' ' || t.status AS title_ok,
       n.owner, n.read_at IS NULL AS unread
FROM backtest.tasks t JOIN backtest.notifications n ON (n.metadata->>'task_id')::bigint = t.id
ORDER BY t.id;
SELECT count(*) AS notifications, count(DISTINCT n.metadata->>'task_id') AS tasks FROM backtest.notifications n;
-- the completed task: its summary equals backtest.results; the action shows them
SELECT n.message = 'sma_cross on A: ' || r.trades_count || ' trades, return ' || round(r.return_pct::numeric, 2)
                   || '%, Sharpe ' || round(r.sharpe_ratio::numeric, 3) || ', max drawdown '
                   || round(r.max_drawdown_pct::numeric, 2) || '%' AS message_ok,
       (n.metadata->>'trades_count')::bigint = r.trades_count AS trades_ok,
       (n.metadata->>'return_pct')::float8 = r.return_pct AS return_ok,
       (n.metadata->>'sharpe_ratio')::float8 = r.sharpe_ratio AS sharpe_ok,
       (n.metadata->>'equity_final')::float8 = r.equity_final AS equity_ok,
       n.action = 'SELECT * FROM backtest.results WHERE task_id = ' || r.task_id AS action_ok,
       jsonb_object_keys_sorted
FROM backtest.notifications n JOIN backtest.results r ON r.task_id = (n.metadata->>'task_id')::bigint,
     LATERAL (SELECT string_agg(k, ',' ORDER BY k) AS jsonb_object_keys_sorted FROM jsonb_object_keys(n.metadata) k) keys
WHERE n.kind = 'task_completed';
-- the sweep: its best row (rank 1) and the number of rows
SELECT n.message = 'sma_cross on A: 4 rows; best ' || s.params::text || ': return ' || round(s.return_pct::numeric, 2)
                   || '%, Sharpe ' || round(s.sharpe_ratio::numeric, 3) AS message_ok,
       n.metadata->'best_params' = s.params AS params_ok, (n.metadata->>'rows')::int AS rows,
       (n.metadata->>'sharpe_ratio')::float8 = s.sharpe_ratio AS sharpe_ok,
       n.action = 'SELECT * FROM backtest.sweep_results WHERE task_id = ' || s.task_id || ' ORDER BY rank' AS action_ok
FROM backtest.notifications n JOIN backtest.sweep_results s ON s.task_id = (n.metadata->>'task_id')::bigint AND s.rank = 1
WHERE n.kind = 'sweep_completed';
-- the failed task: the error; the cancelled one: why
SELECT n.kind, n.message, n.metadata->>'error' AS error, n.metadata->>'symbol' AS symbol,
       n.action = 'SELECT * FROM public.backtest_status(' || (n.metadata->>'task_id') || ')' AS action_ok
FROM backtest.notifications n WHERE n.kind IN ('task_failed', 'task_cancelled') ORDER BY n.kind;
-- the action runs
SELECT action AS completed_action FROM backtest.notifications WHERE kind = 'task_completed' \gset
SELECT count(*) AS rows_of_the_action FROM (:completed_action) a;

-- row-level security: bob sees, marks and cleans none of alice's
SET ROLE regress_nt_bob;
SELECT count(*) AS bob_sees FROM backtest.notifications;
SELECT count(*) AS bob_lists FROM backtest_notifications(false, 100);
SELECT backtest_notifications_read(ARRAY(SELECT id FROM backtest.notifications)) AS bob_marked;
SELECT backtest_notifications_read() AS bob_marked_all;
WITH u AS (UPDATE backtest.notifications SET read_at = now() RETURNING 1) SELECT count(*) AS bob_updated FROM u;
UPDATE backtest.notifications SET title = 'x';
INSERT INTO backtest.notifications (owner, kind, title) VALUES ('regress_nt_bob', 'system', 'forged');
DELETE FROM backtest.notifications;
SELECT backtest_cleanup_notifications();
RESET ROLE;
SELECT count(*) AS alice_unread FROM backtest.notifications WHERE read_at IS NULL;

-- alice lists and marks her own
SET ROLE regress_nt_alice;
SELECT kind, priority FROM backtest_notifications() ORDER BY kind;
-- newest first; max_rows
SELECT (SELECT array_agg(id) FROM backtest_notifications()) =
       (SELECT array_agg(id ORDER BY id DESC) FROM backtest.notifications) AS newest_first;
SELECT count(*) FROM backtest_notifications(max_rows => 2);
SELECT backtest_notifications_read(ARRAY(SELECT id FROM backtest.notifications WHERE kind = 'task_failed')) AS marked;
SELECT backtest_notifications_read(ARRAY(SELECT id FROM backtest.notifications WHERE kind = 'task_failed')) AS marked_again;
SELECT kind FROM backtest_notifications() ORDER BY kind;
SELECT backtest_notifications_read() AS marked_rest;
SELECT count(*) AS unread FROM backtest_notifications();
SELECT count(*) AS all_of_them, count(read_at) AS read FROM backtest_notifications(unread_only => false);
-- she may set read_at of her rows, nothing else
UPDATE backtest.notifications SET message = 'edited';
-- errors
SELECT * FROM backtest_notifications(NULL);
SELECT * FROM backtest_notifications(true, 0);
SELECT * FROM backtest_notifications(true, NULL);
SELECT backtest_notifications_read(ARRAY[1, NULL]::bigint[]);
SELECT * FROM backtest_notification_settings(ARRAY['task_completed', 'nope'], NULL);
SELECT * FROM backtest_notification_settings(ARRAY['task_completed', NULL], NULL);
SELECT * FROM backtest_notification_settings(NULL, 'critical');
RESET ROLE;

-- preferences: bob wants failures only; alice wants high priority and up
SET ROLE regress_nt_bob;
SELECT * FROM backtest_notification_settings(ARRAY['task_failed', 'signal', 'task_failed'], NULL);
SELECT backtest_submit('nq', 'A', 'sma_cross') > 0 AS queued;
SELECT backtest_submit_query('SELECT * FROM nq WHERE (SELECT ''x'')::int > 0', 'sma_cross') > 0 AS queued;
SET ROLE regress_nt_alice;
SELECT * FROM backtest_notification_settings(NULL, 'high');
SELECT backtest_submit('nq', 'A', 'sma_cross') > 0 AS queued;
BEGIN;
SELECT backtest_submit('nq', 'A', 'rsi') AS cid \gset
SELECT backtest_cancel(:cid);
COMMIT;
SELECT backtest_submit_query('SELECT * FROM nq WHERE (SELECT ''y'')::int > 0', 'sma_cross') > 0 AS queued;
SELECT owner, kinds, min_priority FROM backtest.notification_settings ORDER BY owner;
RESET ROLE;
SELECT pg_temp.wait_idle();
SELECT n.owner, n.kind, n.priority FROM backtest.notifications n WHERE n.read_at IS NULL ORDER BY n.owner, n.id;
-- back to everything; an empty list records nothing
SET ROLE regress_nt_bob;
SELECT * FROM backtest_notification_settings(NULL, NULL);
SELECT * FROM backtest_notification_settings('{}', 'low');
RESET ROLE;

-- cleanup: read notifications past the TTL; at most max_notifications per role
SELECT backtest_cleanup_notifications('-1 hour');
SELECT backtest_cleanup_notifications(NULL);
DELETE FROM backtest.notifications;
INSERT INTO backtest.notifications (owner, kind, title, read_at)
VALUES ('regress_nt_alice', 'system', 'a1 read 2 hours ago', now() - interval '2 hours'),
       ('regress_nt_alice', 'system', 'a2 unread', NULL),
       ('regress_nt_bob', 'system', 'b1 read 10 minutes ago', now() - interval '10 minutes'),
       ('regress_nt_alice', 'system', 'a3 read 10 minutes ago', now() - interval '10 minutes'),
       ('regress_nt_bob', 'system', 'b2 unread', NULL),
       ('regress_nt_alice', 'system', 'a4 unread', NULL);
SELECT backtest_cleanup_notifications('1 day') AS removed;
SELECT backtest_cleanup_notifications('1 hour') AS removed;
SELECT title FROM backtest.notifications ORDER BY id;
SET ROLE regress_nt_alice;
SET pg_backtest.max_notifications = 1;
RESET ROLE;
SET pg_backtest.max_notifications = 2;
SELECT backtest_cleanup_notifications('1 day') AS removed;
SELECT title FROM backtest.notifications ORDER BY id;
-- backtest_cleanup (the pg_cron job) cleans notifications too, and still returns the tasks removed
SET pg_backtest.max_notifications = 1;
SELECT (SELECT count(*) FROM backtest.tasks) AS tasks, backtest_cleanup('1 day', 0) AS removed;
SELECT title FROM backtest.notifications ORDER BY id;
RESET pg_backtest.max_notifications;

-- system status: nothing queued here; the pool (the launcher at least) is up
SELECT db_pending_tasks, db_running_tasks, free_slots = max_concurrent - running_tasks AS free_ok,
       running_tasks BETWEEN 0 AND max_concurrent AS running_ok, pending_tasks >= 0 AS pending_ok,
       live_streams IS NOT DISTINCT FROM (CASE WHEN to_regclass('backtest.live_streams') IS NOT NULL THEN 0 END) AS streams_ok,
       load_1 >= 0 AND load_5 >= 0 AND load_15 >= 0 AS load_ok,
       pool_processes >= 1 AS pool_ok, pool_memory > 0 AS memory_ok,
       checked_at BETWEEN now() AND clock_timestamp() AS at_ok
FROM backtest_system_status();
SET ROLE regress_nt_bob;
SELECT count(*) FROM backtest_system_status();
RESET ROLE;

DELETE FROM backtest.tasks;
DELETE FROM backtest.notifications;
DELETE FROM backtest.notification_settings;
DROP TABLE nq;
DROP OWNED BY regress_nt_alice, regress_nt_bob;
DROP ROLE regress_nt_alice;
DROP ROLE regress_nt_bob;
