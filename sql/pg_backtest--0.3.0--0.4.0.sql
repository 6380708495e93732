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
