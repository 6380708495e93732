-- The task queue's SQL surface, where it does not depend on the worker pool's
-- timing (that is tested by the TAP tests in test/t): submit-time validation,
-- every database is served, stats, cleanup arguments, the pg_cron helper.
\set VERBOSITY default
SET TimeZone = 'UTC';

CREATE TABLE q (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO q SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day', 100, 101, 99, 100 + i % 7, 1000
FROM generate_series(0, 99) i;

-- everything backtest_run validates is checked before queueing
SELECT backtest_submit('q', 'A', 'nope');
SELECT backtest_submit('q', 'A', 'sma_cross', '{"fast": 50, "slow": 10}');
SELECT backtest_submit('q', 'A', 'sma_cross', '{"colour": "red"}');
SELECT backtest_submit('q', 'A', 'sma_cross', '{"columns": {"close": "px"}}');
SELECT backtest_submit('q', 'A', 'sma_cross', '{}', '2025-01-01', '2024-01-01');
SELECT backtest_submit(NULL, 'A', 'sma_cross');
SELECT backtest_submit_query('SELECT ts, open FROM q', 'sma_cross');
SELECT backtest_submit_query('SELEC oops', 'sma_cross');
SELECT backtest_submit_query('SELECT 1; SELECT 2', 'sma_cross');
SELECT backtest_submit_query('DELETE FROM q RETURNING *', 'sma_cross');
-- valid input: queued and run in this database too (0.3.0 served only
-- pg_backtest.database_name and refused these)
SELECT backtest_submit('q', 'A', 'sma_cross') > 0 AS queued;
SELECT backtest_submit_query('SELECT * FROM q ORDER BY ts', 'sma_cross') > 0 AS queued;
SELECT count(*) AS queued FROM backtest.tasks;
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT status, attempts FROM backtest.tasks ORDER BY id;

-- observation
SELECT total_tasks, pending, running, completed, failed, cancelled, max_concurrent,
       available_slots BETWEEN 0 AND max_concurrent AS slots_ok
FROM backtest_stats();
SELECT * FROM backtest_status(12345);
SELECT backtest_cancel(12345);

-- cleanup: argument checks; nothing to remove here
SELECT backtest_cleanup('-1 hour');
SELECT backtest_cleanup('1 hour', -1);
SELECT backtest_cleanup();
-- pg_cron lives in another database: a clear error with the command to run there
SELECT backtest_schedule_cleanup();

-- the tables BI tools read are documented
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS documented
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'backtest' AND c.relkind IN ('r', 'v') ORDER BY c.relname;

-- ordinary roles can read (their own rows) but not write the queue
CREATE ROLE regress_bt_user LOGIN;
SET ROLE regress_bt_user;
SELECT count(*) FROM backtest.tasks;
INSERT INTO backtest.tasks (owner, source, strategy) VALUES ('regress_bt_user', 'q', 'sma_cross');
UPDATE backtest.tasks SET status = 'completed';
SELECT backtest_cleanup();
RESET ROLE;
DROP ROLE regress_bt_user;
