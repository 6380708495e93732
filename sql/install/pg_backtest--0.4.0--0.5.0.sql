/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit

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
