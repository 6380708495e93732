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
