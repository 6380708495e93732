-- Portfolio backtests through the task queue: backtest_submit_portfolio(_query)
-- validates like backtest_portfolio, queues a task of kind 'portfolio', and
-- the worker stores exactly backtest_portfolio's row, trades and account
-- curve in backtest.results, backtest.trades and backtest.portfolio_equity.
\set VERBOSITY default
SET TimeZone = 'UTC';
CREATE TABLE pf (
    symbol text NOT NULL,
    ts     date NOT NULL,
    open   double precision,
    high   double precision,
    low    double precision,
    close  double precision,
    volume double precision
);
\copy pf FROM 'test/data/portfolio_sample.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE nosym (ts timestamptz, open float8, high float8, low float8, close float8);

-- what backtest_portfolio checks without reading rows is checked at submit
SELECT backtest_submit_portfolio(NULL, 'sma_cross');
SELECT backtest_submit_portfolio('pf', NULL);
SELECT backtest_submit_portfolio('pf', 'nope');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"fast": 50, "slow": 10}');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"fast": {"AAA": 50, "*": 5}, "slow": 10}', ARRAY['BBB', 'AAA']);
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"max_positions": 0}');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"allocation": "fixed", "position_size": 1.5}');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"size": 0.5}');
SELECT backtest_submit_portfolio('pf', 'rotation', '{"rebalance": "none"}');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{}', ARRAY['AAA', NULL]);
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{}', NULL, '2025-01-01', '2024-01-01');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"columns": {"close": "px"}}');
SELECT backtest_submit_portfolio('pf', 'sma_cross', '{"columns": {"symbol": "ticker"}}');
SELECT backtest_submit_portfolio('nosym', 'sma_cross');
SELECT backtest_submit_portfolio_query(NULL, 'sma_cross');
SELECT backtest_submit_portfolio_query('SELECT ts, open, high, low, close FROM pf', 'sma_cross');
SELECT backtest_submit_portfolio_query('SELEC oops', 'sma_cross');
SELECT count(*) AS queued FROM backtest.tasks WHERE kind = 'portfolio';

-- waits until no task is pending or running (at most 60 s)
CREATE PROCEDURE wait_idle() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
        COMMIT;
    END LOOP;
END
$$;

-- valid input: queued as kind 'portfolio' with its symbols
CREATE TEMP TABLE sub (name text PRIMARY KEY, id bigint);
INSERT INTO sub VALUES
  ('sma', backtest_submit_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "commission": 0.001, "max_positions": 2}')),
  ('rot', backtest_submit_portfolio('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "stamp_duty": 0.001}',
                                    ARRAY['AAA', 'BBB', 'CCC', 'DDD'], '2024-02-01', '2025-01-01')),
  ('qry', backtest_submit_portfolio_query('SELECT * FROM pf WHERE symbol <> ''IDX'' ORDER BY random()', 'sma_cross', '{"fast": 5, "slow": 20}')),
  ('unknown', backtest_submit_portfolio('pf', 'sma_cross', '{}', ARRAY['AAA', 'ZZZ'])),
  ('nobench', backtest_submit_portfolio('pf', 'sma_cross', '{"benchmark": "SPX"}'));
SELECT s.name, t.kind, t.symbols, t.source, t.query IS NOT NULL AS has_query, t.strategy
FROM sub s JOIN backtest.tasks t ON t.id = s.id ORDER BY s.id;

-- the seal covers the symbols: edited before a worker reads it, the task fails
BEGIN;
INSERT INTO sub VALUES ('edited', backtest_submit_portfolio('pf', 'sma_cross', '{}', ARRAY['AAA']));
UPDATE backtest.tasks SET symbols = ARRAY['BBB'] WHERE id = (SELECT id FROM sub WHERE name = 'edited');
COMMIT;
-- a pending task is cancelled at once
BEGIN;
INSERT INTO sub VALUES ('cancelled', backtest_submit_portfolio('pf', 'sma_cross'));
SELECT backtest_cancel((SELECT id FROM sub WHERE name = 'cancelled')) AS cancelled;
COMMIT;

CALL wait_idle();
SELECT s.name, t.status, t.progress, t.current_step, t.message,
       regexp_replace(t.error, 'task \d+', 'task N') AS error
FROM sub s JOIN backtest.tasks t ON t.id = s.id ORDER BY s.id;

-- the stored results are exactly those of the synchronous functions
CREATE FUNCTION pf_same(task bigint, sync_row jsonb, sync_trades jsonb[], sync_equity jsonb[])
RETURNS TABLE (row_same boolean, trades bigint, trades_differ bigint, timestamps bigint, equity_differ bigint)
LANGUAGE sql AS $$
  SELECT (SELECT to_jsonb(r) - 'task_id' - 'owner' FROM backtest.results r WHERE r.task_id = task) = sync_row,
         (SELECT count(*) FROM backtest.trades t WHERE t.task_id = task),
         (SELECT count(*) FROM ((SELECT to_jsonb(t) - 'task_id' - 'owner' FROM backtest.trades t WHERE t.task_id = task
                                 EXCEPT ALL SELECT unnest(sync_trades))
                                UNION ALL
                                (SELECT unnest(sync_trades)
                                 EXCEPT ALL SELECT to_jsonb(t) - 'task_id' - 'owner' FROM backtest.trades t WHERE t.task_id = task)) d),
         (SELECT count(*) FROM backtest.portfolio_equity e WHERE e.task_id = task),
         (SELECT count(*) FROM ((SELECT to_jsonb(e) - 'task_id' FROM backtest.portfolio_equity e WHERE e.task_id = task
                                 EXCEPT ALL SELECT unnest(sync_equity))
                                UNION ALL
                                (SELECT unnest(sync_equity)
                                 EXCEPT ALL SELECT to_jsonb(e) - 'task_id' FROM backtest.portfolio_equity e WHERE e.task_id = task)) d)
$$;
SELECT 'sma' AS task, * FROM pf_same((SELECT id FROM sub WHERE name = 'sma'),
  (SELECT to_jsonb(p) FROM backtest_portfolio('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "commission": 0.001, "max_positions": 2}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_trades('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "commission": 0.001, "max_positions": 2}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_equity('pf', 'sma_cross', '{"fast": 5, "slow": 20, "benchmark": "IDX", "commission": 0.001, "max_positions": 2}') p));
SELECT 'rot' AS task, * FROM pf_same((SELECT id FROM sub WHERE name = 'rot'),
  (SELECT to_jsonb(p) FROM backtest_portfolio('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "stamp_duty": 0.001}',
                                              ARRAY['AAA', 'BBB', 'CCC', 'DDD'], '2024-02-01', '2025-01-01') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_trades('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "stamp_duty": 0.001}',
                                                          ARRAY['AAA', 'BBB', 'CCC', 'DDD'], '2024-02-01', '2025-01-01') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_equity('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX", "stamp_duty": 0.001}',
                                                          ARRAY['AAA', 'BBB', 'CCC', 'DDD'], '2024-02-01', '2025-01-01') p));
SELECT 'qry' AS task, * FROM pf_same((SELECT id FROM sub WHERE name = 'qry'),
  (SELECT to_jsonb(p) FROM backtest_portfolio_query('SELECT * FROM pf WHERE symbol <> ''IDX''', 'sma_cross', '{"fast": 5, "slow": 20}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_trades_query('SELECT * FROM pf WHERE symbol <> ''IDX''', 'sma_cross', '{"fast": 5, "slow": 20}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_equity_query('SELECT * FROM pf WHERE symbol <> ''IDX''', 'sma_cross', '{"fast": 5, "slow": 20}') p));
-- the portfolio's columns are in the results row; trades carry their symbol,
-- numbered per symbol
SELECT n_symbols, max_positions_held, entries_skipped, alpha IS NOT NULL AS has_alpha,
       beta IS NOT NULL AS has_beta, benchmark_return_pct IS NOT NULL AS has_bench
FROM backtest.results WHERE task_id = (SELECT id FROM sub WHERE name = 'sma');
SELECT symbol, count(*) AS trades, min(trade_no) AS first_no, max(trade_no) AS last_no
FROM backtest.trades WHERE task_id = (SELECT id FROM sub WHERE name = 'sma') GROUP BY symbol ORDER BY symbol;
-- a portfolio task stores no single-symbol equity curve, and a backtest task no account curve
SELECT (SELECT count(*) FROM backtest.equity_curves WHERE task_id IN (SELECT id FROM sub)) AS single_curves,
       (SELECT count(*) FROM backtest.portfolio_equity_curves WHERE task_id IN (SELECT id FROM sub)) AS account_curves;
-- failed tasks stored nothing
SELECT s.name, (SELECT count(*) FROM backtest.results r WHERE r.task_id = s.id) AS results,
       (SELECT count(*) FROM backtest.portfolio_equity_curves c WHERE c.task_id = s.id) AS curves
FROM sub s WHERE s.name IN ('unknown', 'nobench', 'edited', 'cancelled') ORDER BY s.id;

-- the notification centre words a portfolio task as one: "Portfolio <id>
-- <status>", the strategy on its number of symbols (of the results row when
-- completed, else of the task; none given: every symbol of the source), the
-- summary of its results row; the metadata as for a backtest, plus n_symbols
SELECT s.name, n.kind, n.priority, n.title = 'Portfolio ' || s.id || ' ' || t.status AS title_ok,
       regexp_replace(n.message, 'task \d+', 'task N') AS message
FROM sub s JOIN backtest.tasks t ON t.id = s.id
     JOIN backtest.notifications n ON (n.metadata->>'task_id')::bigint = s.id
ORDER BY s.id;
SELECT s.name,
       n.message = t.strategy || ' on ' || r.n_symbols || ' symbols: ' || r.trades_count || ' trades, return '
                   || round(r.return_pct::numeric, 2) || '%, Sharpe ' || round(r.sharpe_ratio::numeric, 3)
                   || ', max drawdown ' || round(r.max_drawdown_pct::numeric, 2) || '%' AS message_ok,
       (n.metadata->>'n_symbols')::int = r.n_symbols AS n_symbols_ok,
       (n.metadata->>'trades_count')::bigint = r.trades_count AS trades_ok,
       (n.metadata->>'return_pct')::float8 = r.return_pct AS return_ok,
       (n.metadata->>'sharpe_ratio')::float8 = r.sharpe_ratio AS sharpe_ok,
       (n.metadata->>'max_drawdown_pct')::float8 = r.max_drawdown_pct AS dd_ok,
       (n.metadata->>'equity_final')::float8 = r.equity_final AS equity_ok,
       n.metadata->>'task_kind' AS task_kind,
       n.action = 'SELECT * FROM backtest.results WHERE task_id = ' || s.id AS action_ok,
       (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(n.metadata) k) AS keys
FROM sub s JOIN backtest.tasks t ON t.id = s.id JOIN backtest.results r ON r.task_id = s.id
     JOIN backtest.notifications n ON (n.metadata->>'task_id')::bigint = s.id
ORDER BY s.id;

-- row-level security: another role sees none of it
CREATE ROLE regress_pf_other LOGIN;
SET ROLE regress_pf_other;
SELECT (SELECT count(*) FROM backtest.tasks) AS tasks, (SELECT count(*) FROM backtest.results) AS results,
       (SELECT count(*) FROM backtest.trades) AS trades,
       (SELECT count(*) FROM backtest.portfolio_equity_curves) AS curves,
       (SELECT count(*) FROM backtest.portfolio_equity) AS curve_rows;
SELECT backtest_cancel((SELECT max(id) FROM sub));
SELECT backtest_delete((SELECT max(id) FROM sub));
INSERT INTO backtest.portfolio_equity_curves VALUES (1, 'regress_pf_other', '{}', '{}', '{}', '{}', '{}');
RESET ROLE;
DROP ROLE regress_pf_other;

-- deleting a task removes its account curve and trades
SELECT backtest_delete((SELECT id FROM sub WHERE name = 'qry'));
SELECT (SELECT count(*) FROM backtest.portfolio_equity_curves WHERE task_id = (SELECT id FROM sub WHERE name = 'qry')) AS curves,
       (SELECT count(*) FROM backtest.trades WHERE task_id = (SELECT id FROM sub WHERE name = 'qry')) AS trades;

-- ---------------------------------------------------------------------------
-- search_path: hostile operators first on the submitter's path (the task
-- runs under it) change nothing and are never called
-- ---------------------------------------------------------------------------
CREATE TABLE evil_calls (n int);
CREATE SCHEMA evil;
CREATE FUNCTION evil.t_eq(text, text) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (1); SELECT true';
CREATE FUNCTION evil.n_eq(name, name) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (2); SELECT true';
CREATE FUNCTION evil.i_eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (3); SELECT true';
CREATE FUNCTION evil.a_eq(text[], text[]) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (4); SELECT true';
CREATE FUNCTION evil.d_ge(date, timestamp) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (5); SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.t_eq);
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.n_eq);
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.i_eq);
CREATE OPERATOR evil.= (LEFTARG = text[], RIGHTARG = text[], FUNCTION = evil.a_eq);
CREATE OPERATOR evil.>= (LEFTARG = date, RIGHTARG = timestamp, FUNCTION = evil.d_ge);
SET search_path = evil, public, pg_catalog;
-- (they do take over unqualified operators here)
SELECT 'a'::text = 'b'::text AS evil_equal;
DELETE FROM public.evil_calls;
INSERT INTO pg_temp.sub VALUES ('hostile', public.backtest_submit_portfolio('public.pf', 'sma_cross', '{"benchmark": "IDX"}',
                                                                         ARRAY['AAA', 'CCC'], '2024-02-01'));
RESET search_path;
CALL wait_idle();
SELECT t.status, t.error, t.settings->>'search_path' AS search_path
FROM backtest.tasks t WHERE t.id = (SELECT id FROM sub WHERE name = 'hostile');
SELECT (SELECT count(*) FROM evil_calls) AS hostile_calls;
SELECT 'hostile' AS task, * FROM pf_same((SELECT id FROM sub WHERE name = 'hostile'),
  (SELECT to_jsonb(p) FROM backtest_portfolio('pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['AAA', 'CCC'], '2024-02-01') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_trades('pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['AAA', 'CCC'], '2024-02-01') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_equity('pf', 'sma_cross', '{"benchmark": "IDX"}', ARRAY['AAA', 'CCC'], '2024-02-01') p));
DROP SCHEMA evil CASCADE;
DROP TABLE evil_calls;

-- issue 15's parameters through the queue (leverage and a maintenance margin,
-- limit entries, pyramiding, shorts): the stored results are exactly the
-- synchronous functions'
INSERT INTO sub VALUES ('issue15', backtest_submit_portfolio('pf', 'rsi',
  '{"leverage": 3, "maintenance_margin": 0.3, "entry": "limit", "entry_offset": 0.005, "valid_bars": 3, "pyramiding": {"AAA": 3, "*": 2}, "allow_short": true, "commission": 0.001}'));
CALL wait_idle();
SELECT t.status, t.error FROM backtest.tasks t WHERE t.id = (SELECT id FROM sub WHERE name = 'issue15');
SELECT 'issue15' AS task, * FROM pf_same((SELECT id FROM sub WHERE name = 'issue15'),
  (SELECT to_jsonb(p) FROM backtest_portfolio('pf', 'rsi', '{"leverage": 3, "maintenance_margin": 0.3, "entry": "limit", "entry_offset": 0.005, "valid_bars": 3, "pyramiding": {"AAA": 3, "*": 2}, "allow_short": true, "commission": 0.001}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_trades('pf', 'rsi', '{"leverage": 3, "maintenance_margin": 0.3, "entry": "limit", "entry_offset": 0.005, "valid_bars": 3, "pyramiding": {"AAA": 3, "*": 2}, "allow_short": true, "commission": 0.001}') p),
  ARRAY(SELECT to_jsonb(p) FROM backtest_portfolio_equity('pf', 'rsi', '{"leverage": 3, "maintenance_margin": 0.3, "entry": "limit", "entry_offset": 0.005, "valid_bars": 3, "pyramiding": {"AAA": 3, "*": 2}, "allow_short": true, "commission": 0.001}') p));
-- and the run has what the parameters make: margin calls, legs closed together
SELECT count(*) FILTER (WHERE exit_reason = 'margin_call') > 0 AS margin_calls,
       count(*) > count(DISTINCT (symbol, exit_ts)) AS legs
FROM backtest.trades WHERE task_id = (SELECT id FROM sub WHERE name = 'issue15');
DROP FUNCTION pf_same(bigint, jsonb, jsonb[], jsonb[]);
DROP PROCEDURE wait_idle();
-- leave the queue empty for the tests after this one (tasks.sql counts)
SELECT count(*) AS deleted FROM (SELECT backtest_delete(id) FROM sub WHERE name <> 'qry') d;
SELECT count(*) AS left_over FROM backtest.tasks WHERE id IN (SELECT id FROM sub);
DROP TABLE pf, nosym;
