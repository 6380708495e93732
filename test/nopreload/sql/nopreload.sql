-- Run by `make installcheck-nopreload` on a server WITHOUT shared_preload_libraries:
-- CREATE EXTENSION and the synchronous functions work; the worker pool says
-- clearly that it needs preloading.
\set VERBOSITY default
SHOW shared_preload_libraries;
CREATE TABLE k (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO k SELECT 'A', '2024-01-01'::timestamptz + i * interval '1 day',
       100 + 10 * sin(i / 9.0), 102 + 10 * sin(i / 9.0), 98 + 10 * sin(i / 9.0), 100 + 10 * sin(i / 9.0), 1
FROM generate_series(0, 299) i;
SELECT trades_count, round(equity_final::numeric, 4) AS equity_final
FROM backtest_run('k', 'A', 'sma_cross', '{"fast": 5, "slow": 20}');
SELECT backtest_submit('k', 'A', 'sma_cross');
SELECT backtest_running_tasks() IS NULL AS no_pool;
SELECT current_setting('pg_backtest.max_concurrent') AS max_concurrent;
-- the system status: this database's counts; the pool's are unknown (NULL)
SELECT pending_tasks IS NULL AS no_cluster_counts, running_tasks IS NULL, free_slots IS NULL,
       pool_processes IS NULL, pool_memory IS NULL, db_pending_tasks, db_running_tasks
FROM backtest_system_status();
SELECT count(*) AS notifications FROM backtest_notifications();
