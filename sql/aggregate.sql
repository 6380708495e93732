-- The backtest() aggregate: any row order (ORDER BY ts is optional), one
-- strategy and params per group, and partial aggregation in parallel plans.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

CREATE TABLE agk (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8);
INSERT INTO agk
SELECT s, '2020-01-01 00:00+00'::timestamptz + i * interval '1 hour',
       100 + 10 * sin(i / 37.0 + k) + 3 * sin(i / 5.0), 102 + 10 * sin(i / 37.0 + k) + 3 * sin(i / 5.0),
       98 + 10 * sin(i / 37.0 + k) + 3 * sin(i / 5.0), 100 + 10 * sin(i / 37.0 + k) + 3 * sin(i / 4.0), 1
FROM (VALUES ('A', 0), ('B', 1), ('C', 2)) v(s, k), generate_series(0, 19999) i;
ANALYZE agk;
-- the same rows stored shuffled
SELECT setseed(0.42);
CREATE TABLE agk_shuffled AS SELECT * FROM agk ORDER BY random();
ANALYZE agk_shuffled;

-- reference: backtest_run per symbol
CREATE TABLE ref AS
SELECT s AS symbol, r FROM (VALUES ('A'), ('B'), ('C')) v(s),
     LATERAL (SELECT r FROM backtest_run('agk', s, 'sma_cross', '{"fast": 10, "slow": 30}') r) x;
SELECT symbol, (r).bars, (r).trades_count FROM ref ORDER BY symbol;

-- serial plans: with and without ORDER BY, sorted and shuffled input
SET max_parallel_workers_per_gather = 0;
SELECT 'ordered' AS form, bool_and(g.r IS NOT DISTINCT FROM ref.r) AS equal_to_run, count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}' ORDER BY ts) r
      FROM agk GROUP BY symbol) g JOIN ref USING (symbol)
UNION ALL
SELECT 'no order by', bool_and(g.r IS NOT DISTINCT FROM ref.r), count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM agk GROUP BY symbol) g JOIN ref USING (symbol)
UNION ALL
SELECT 'shuffled', bool_and(g.r IS NOT DISTINCT FROM ref.r), count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM agk_shuffled GROUP BY symbol) g JOIN ref USING (symbol)
UNION ALL
SELECT 'shuffled, ordered', bool_and(g.r IS NOT DISTINCT FROM ref.r), count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}' ORDER BY ts) r
      FROM agk_shuffled GROUP BY symbol) g JOIN ref USING (symbol)
UNION ALL
SELECT 'descending subquery', bool_and(g.r IS NOT DISTINCT FROM ref.r), count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM (SELECT * FROM agk ORDER BY ts DESC OFFSET 0) d GROUP BY symbol) g JOIN ref USING (symbol);
-- trades and every metric agree, not just the row: compare a few with run's
SELECT symbol, (r).trades_count, round((r).equity_final::numeric, 6) AS equity_final
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM agk_shuffled GROUP BY symbol) g ORDER BY symbol;

-- parallel plans: partial aggregation in workers, combined in the leader
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
CREATE FUNCTION plan_has(q text, node text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF l LIKE '%' || node || '%' THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
SELECT plan_has($q$SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}')
                  FROM agk_shuffled GROUP BY symbol$q$, 'Partial') AS group_by_is_partial,
       plan_has($q$SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                  FROM agk WHERE symbol = 'A'$q$, 'Partial Aggregate') AS single_is_partial;
-- the partial states (all the bars a worker saw of a group) are never
-- sorted: a hashed finalize over Gather, not Sort + Gather Merge
-- (aggregate_plan.c); ORDER BY symbol sorts the finished rows
SELECT plan_has(q, 'Finalize HashAggregate') AS hashed_finalize, plan_has(q, 'Gather Merge') AS gather_merge,
       plan_has(q, 'Sort') AS sorts_states
FROM (VALUES ($q$SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                FROM agk GROUP BY symbol$q$)) v(q);
SELECT plan_has(q, 'Finalize HashAggregate') AS hashed_finalize, plan_has(q, 'Gather Merge') AS gather_merge
FROM (VALUES ($q$SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                FROM agk GROUP BY symbol ORDER BY symbol$q$)) v(q);
-- queries without backtest() keep the planner's choice
SELECT plan_has($q$SELECT symbol, count(*) FROM agk GROUP BY symbol ORDER BY symbol$q$, 'Gather Merge') AS six_sums_gather_merge;
SELECT 'parallel' AS form, bool_and(g.r IS NOT DISTINCT FROM ref.r) AS equal_to_run, count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM agk GROUP BY symbol) g JOIN ref USING (symbol)
UNION ALL
SELECT 'parallel shuffled', bool_and(g.r IS NOT DISTINCT FROM ref.r), count(*)
FROM (SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}') r
      FROM agk_shuffled GROUP BY symbol) g JOIN ref USING (symbol);
SELECT (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}')
        FROM agk_shuffled WHERE symbol = 'B') IS NOT DISTINCT FROM (SELECT r FROM ref WHERE symbol = 'B') AS parallel_single_equal;
SET force_parallel_mode = on;
SELECT (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}')
        FROM agk WHERE symbol = 'C') IS NOT DISTINCT FROM (SELECT r FROM ref WHERE symbol = 'C') AS forced_parallel_equal;
-- the signal form in parallel
SELECT (SELECT backtest(ts, open, high, low, close, volume, CASE WHEN extract(hour FROM ts) = 3 THEN 1 WHEN extract(hour FROM ts) = 20 THEN 0 END, 'signal', '{}')
        FROM agk_shuffled WHERE symbol = 'A')
       IS NOT DISTINCT FROM
       (SELECT backtest_run_query('SELECT *, CASE WHEN extract(hour FROM ts) = 3 THEN 1 WHEN extract(hour FROM ts) = 20 THEN 0 END AS signal FROM agk WHERE symbol = ''A'' ORDER BY ts', 'signal')) AS signal_parallel_equal;
-- a group whose params vary is an error in parallel plans too (which value
-- a worker saw first varies, so only the SQLSTATE is shown)
DO $$
BEGIN
  PERFORM symbol, (backtest(ts, open, high, low, close, volume, 'sma_cross',
                            CASE WHEN ts < '2021-01-01' THEN '{"fast": 10, "slow": 30}' ELSE '{"fast": 10, "slow": 40}' END::jsonb)).bars
  FROM agk_shuffled GROUP BY symbol;
  RAISE NOTICE 'no error';
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'error %', SQLSTATE;
END $$;
RESET force_parallel_mode;
RESET parallel_leader_participation;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
-- at the default parallel_tuple_cost the states' bars are charged like
-- rows through the Gather: backtest() stays serial where a sum goes
-- parallel (parallel_setup_cost and the table size 0)
SET parallel_setup_cost = 0;
SELECT plan_has($q$SELECT symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                  FROM agk GROUP BY symbol$q$, 'Gather') AS backtest_parallel,
       plan_has($q$SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                  FROM agk WHERE symbol = 'A'$q$, 'Gather') AS single_parallel,
       plan_has($q$SELECT count(*), sum(close) FROM agk$q$, 'Gather') AS count_parallel;
RESET parallel_setup_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- many groups in a hash aggregate with little work_mem: the bars are not
-- counted as the hash table's memory, so no group's rows spill to disk and
-- come back batch after batch (before: "Batches: 5" and more here)
CREATE TABLE agk_many AS
SELECT symbol || k AS grp, symbol, ts, open, high, low, close, volume
FROM agk, generate_series(1, 20) k WHERE ts < '2020-01-01 00:00+00'::timestamptz + interval '2000 hours';
ANALYZE agk_many;
SET work_mem = '256kB';
SET enable_sort = off;
CREATE FUNCTION plan_line(q text, pattern text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF l ~ pattern THEN RETURN regexp_replace(l, '  Memory Usage.*', ''); END IF;
  END LOOP;
  RETURN NULL;
END $$;
SELECT plan_line($q$SELECT grp, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                   FROM agk_many GROUP BY grp$q$, 'HashAggregate|Batches') AS hash_plan,
       plan_line($q$SELECT grp, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')
                   FROM agk_many GROUP BY grp$q$, 'Batches') AS batches;
-- and every group equals the backtest of its symbol's first 2000 bars
SELECT count(*) AS groups, count(DISTINCT grp) AS distinct_groups,
       bool_and(g.r IS NOT DISTINCT FROM one.r) AS equal_to_one_group
FROM (SELECT grp, symbol, backtest(ts, open, high, low, close, volume, 'sma_cross', '{}') r
      FROM agk_many GROUP BY grp, symbol) g
JOIN (SELECT symbol, backtest_run_query(format('SELECT ts, open, high, low, close, volume FROM agk WHERE symbol = %L AND ts < %L ORDER BY ts',
                                               symbol, '2020-01-01 00:00+00'::timestamptz + interval '2000 hours'), 'sma_cross') r
      FROM (VALUES ('A'), ('B'), ('C')) v(symbol)) one USING (symbol);
RESET enable_sort;
RESET work_mem;

-- duplicates are rejected as before, in any order
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).bars
FROM (SELECT * FROM agk WHERE symbol = 'A' UNION ALL SELECT * FROM agk WHERE symbol = 'A' AND ts = '2020-06-01 00:00+00') d;
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{}')).bars FROM agk_shuffled;

-- one strategy and one set of params per group
SELECT (backtest(ts, open, high, low, close, volume,
                 CASE WHEN ts < '2021-01-01' THEN 'sma_cross' ELSE 'rsi' END, '{}')).bars
FROM agk WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross',
                 CASE WHEN ts < '2021-01-01' THEN '{"fast": 10, "slow": 30}' ELSE '{"fast": 10, "slow": 40}' END::jsonb)).bars
FROM agk WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross',
                 CASE WHEN ts < '2021-01-01' THEN '{"fast": 10}' END::jsonb)).bars
FROM agk WHERE symbol = 'A';
SELECT (backtest(ts, open, high, low, close, volume,
                 CASE WHEN ts < '2021-01-01' THEN 'sma_cross' END, '{}')).bars
FROM agk WHERE symbol = 'A';
-- equal jsonb written differently is the same params; per-row columns that agree are fine
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross',
                 CASE WHEN ts < '2021-01-01' THEN '{"fast": 10, "slow": 30}' ELSE '{"slow": 30.0, "fast": 10}' END::jsonb)).equity_final
       = (SELECT (r).equity_final FROM ref WHERE symbol = 'A') AS equal_params_ok
FROM agk WHERE symbol = 'A';
CREATE TABLE plan_rows AS SELECT a.*, 'sma_cross'::text AS strat, '{"fast": 10, "slow": 30}'::jsonb AS p FROM agk a;
SELECT symbol, (backtest(ts, open, high, low, close, volume, strat, p)).equity_final = (ref.r).equity_final AS same
FROM plan_rows JOIN ref USING (symbol) GROUP BY symbol, ref.r ORDER BY symbol;
-- strategy per group, as the README's every-strategy query does
SELECT count(*) AS groups, count(DISTINCT (r).trades_count) > 1 AS differ
FROM (SELECT s.name, backtest(ts, open, high, low, close, volume, s.name, '{}') r
      FROM agk, (VALUES ('sma_cross'), ('rsi'), ('kdj')) s(name) WHERE symbol = 'A' GROUP BY s.name) g;
RESET max_parallel_workers_per_gather;
-- as a window aggregate the state outlives each final call: a running frame
-- over rows out of ts order (a group's bars span several chunks) equals the
-- aggregate over the same prefix computed on its own (the short frames
-- notice too few bars)
SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
CREATE TABLE agw AS SELECT *, (i * 7919) % 600 AS k
FROM (SELECT *, row_number() OVER (ORDER BY ts) AS i FROM agk WHERE symbol = 'A' AND ts < '2020-01-01'::timestamptz + interval '600 hours') a;
SELECT count(*) AS checked, bool_and(w.r IS NOT DISTINCT FROM p.r) AS running_equals_prefix
FROM (SELECT k, backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}')
             OVER (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) r
      FROM agw) w,
     LATERAL (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}' ORDER BY ts) r
              FROM agw WHERE agw.k <= w.k) p
WHERE w.k >= 100 AND w.k % 50 = 0;
SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 10, "slow": 30}' ORDER BY ts)).bars AS window_bars,
       (SELECT count(DISTINCT k) FROM agw) AS distinct_k
FROM agw;
DROP TABLE agw;
RESET client_min_messages;
RESET max_parallel_workers_per_gather;
