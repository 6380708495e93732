-- backtest_equity_downsample (issue 15 item 9): a stored curve per date_bin
-- bucket equals the GROUP BY a BI tool runs over backtest.equity (and
-- backtest.portfolio_equity), in UTC and on New York's clock across the
-- 2024 autumn change; row security; errors.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
-- 10 days of 5-minute bars of two symbols around 2024-11-03
CREATE TABLE ds (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8, low float8,
                 close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO ds
SELECT s, '2024-10-29 00:00+00'::timestamptz + i * interval '5 minutes',
       o, greatest(o, c) + (i % 7) * 0.1, least(o, c) - (i % 5) * 0.1, c, 100 + i % 13
FROM (SELECT s, i, 100 + 10 * sin(i / (40.0 + k)) AS o, 100 + 10 * sin((i + 1) / (40.0 + k)) AS c
      FROM generate_series(0, 10 * 288 - 1) i, (VALUES ('X', 0), ('Y', 7)) v(s, k)) x;
SELECT backtest_submit('ds', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true, "commission": 0.001}') AS task \gset
SELECT backtest_submit_portfolio('ds', 'sma_cross', '{"fast": 5, "slow": 20}') AS pf \gset
CREATE FUNCTION ds_wait() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT ds_wait();
SELECT status FROM backtest.tasks WHERE id IN (:task, :pf) ORDER BY id;

-- the BI tool's query: first/last by time, highest, lowest, mean (summed in
-- time order), lowest drawdown per bucket
CREATE FUNCTION ds_sql(task bigint, iv interval, tz text, origin timestamp)
RETURNS TABLE (ts timestamptz, bars bigint, equity_open float8, equity_high float8, equity_low float8,
               equity_close float8, equity_avg float8, drawdown_pct float8)
LANGUAGE sql AS $$
SELECT date_bin(iv, e.ts AT TIME ZONE tz, origin) AT TIME ZONE tz, count(*),
       (array_agg(e.equity ORDER BY e.ts))[1], max(e.equity), min(e.equity),
       (array_agg(e.equity ORDER BY e.ts DESC))[1], sum(e.equity ORDER BY e.ts) / count(*), min(e.drawdown_pct)
FROM (SELECT ts, equity, drawdown_pct FROM backtest.equity WHERE task_id = task
      UNION ALL
      SELECT ts, equity, drawdown_pct FROM backtest.portfolio_equity WHERE task_id = task) e
GROUP BY 1 ORDER BY 1
$$;
CREATE FUNCTION ds_check(task bigint, iv interval, tz text DEFAULT 'UTC', origin timestamp DEFAULT '2000-01-03 00:00')
RETURNS TABLE (rows bigint, equal_in_order bigint, bars bigint)
LANGUAGE sql AS $$
SELECT count(*), count(*) FILTER (WHERE a IS NOT DISTINCT FROM b), sum(a.bars)
FROM backtest_equity_downsample(task, iv, origin, tz) WITH ORDINALITY a(ts, bars, o, h, l, c, m, dd, n)
FULL JOIN ds_sql(task, iv, tz, origin) WITH ORDINALITY b(ts, bars, o, h, l, c, m, dd, n) USING (n)
$$;
SELECT * FROM ds_check(:task, '1 day');
SELECT * FROM ds_check(:task, '1 hour');
SELECT * FROM ds_check(:task, '7 days');
SELECT * FROM ds_check(:task, '4 hours', 'UTC', '2000-01-03 02:00');
-- sessions from 09:30 New York time, and half hours over the repeated hour
SELECT * FROM ds_check(:task, '1 day', 'America/New_York', '2000-01-03 09:30');
SELECT * FROM ds_check(:task, '30 minutes', 'America/New_York');
-- a fixed-offset zone and a POSIX one
SELECT * FROM ds_check(:task, '1 day', 'EST');
SELECT * FROM ds_check(:task, '1 day', '<+0330>-3:30');
-- the defaults: days in UTC; the buckets are backtest_resample's
SELECT count(*) AS days, count(*) FILTER (WHERE d.ts = r.ts AND d.bars = r.bars) AS same_buckets
FROM backtest_equity_downsample(:task) d FULL JOIN backtest_resample('ds', 'X', '1 day') r USING (ts);
-- a portfolio task's account curve
SELECT * FROM ds_check(:pf, '1 day');
SELECT * FROM ds_check(:pf, '2 hours', 'America/New_York');
-- worked by hand: the first day, from the stored arrays themselves
SELECT d.bars = 288 AS bars_288, d.equity_open = c.equity[1] AS open_is_first,
       d.equity_close = c.equity[288] AS close_is_288th,
       d.equity_high = (SELECT max(x) FROM unnest(c.equity[1:288]) x) AS high,
       d.equity_low = (SELECT min(x) FROM unnest(c.equity[1:288]) x) AS low
FROM backtest_equity_downsample(:task) d, backtest.equity_curves c
WHERE c.task_id = :task AND d.ts = '2024-10-29 00:00+00';

-- every array of a stored curve is stored alike (lz4 where the server has
-- it, else uncompressed): the cash added in 0.5.0 too
SELECT attrelid::regclass AS curves, count(DISTINCT (attstorage, attcompression)) AS storage_kinds,
       count(*) AS arrays
FROM pg_attribute
WHERE attrelid IN ('backtest.equity_curves'::regclass, 'backtest.portfolio_equity_curves'::regclass)
  AND attnum > 0 AND NOT attisdropped AND atttypid IN ('float8[]'::regtype, 'timestamptz[]'::regtype, 'int4[]'::regtype)
GROUP BY 1 ORDER BY 1;

-- a task worker's save compresses the big curve arrays itself (with the
-- column's method, btpg_task_curve_array): each is stored as the toaster
-- stores the same values handed over uncompressed, in a copy of the table
-- (same compression, same size, same values)
CREATE TEMP TABLE ds_curve (LIKE backtest.equity_curves INCLUDING STORAGE INCLUDING COMPRESSION);
INSERT INTO ds_curve (task_id, owner, ts, close, "position", equity, cash)
SELECT task_id, owner, array_cat(ts, '{}'), array_cat(close, '{}'), array_cat("position", '{}'),
       array_cat(equity, '{}'), array_cat(cash, '{}')
FROM backtest.equity_curves WHERE task_id = :task;
CREATE TEMP TABLE ds_pcurve (LIKE backtest.portfolio_equity_curves INCLUDING STORAGE INCLUDING COMPRESSION);
INSERT INTO ds_pcurve (task_id, owner, ts, cash, positions_value, equity, open_positions)
SELECT task_id, owner, array_cat(ts, '{}'), array_cat(cash, '{}'), array_cat(positions_value, '{}'),
       array_cat(equity, '{}'), array_cat(open_positions, '{}')
FROM backtest.portfolio_equity_curves WHERE task_id = :pf;
SELECT v.col, v.bytes > 8192 AS big, v.ac IS NOT DISTINCT FROM v.bc AS same_compression,
       v.asz = v.bsz AS same_size, v.same AS same_values
FROM backtest.equity_curves a JOIN ds_curve b USING (task_id),
     LATERAL (VALUES
       ('ts', pg_column_compression(a.ts), pg_column_compression(b.ts), pg_column_size(a.ts), pg_column_size(b.ts), a.ts = b.ts, 8 * cardinality(b.ts)),
       ('close', pg_column_compression(a.close), pg_column_compression(b.close), pg_column_size(a.close), pg_column_size(b.close), a.close = b.close, 8 * cardinality(b.close)),
       ('position', pg_column_compression(a."position"), pg_column_compression(b."position"), pg_column_size(a."position"), pg_column_size(b."position"), a."position" = b."position", 8 * cardinality(b."position")),
       ('equity', pg_column_compression(a.equity), pg_column_compression(b.equity), pg_column_size(a.equity), pg_column_size(b.equity), a.equity = b.equity, 8 * cardinality(b.equity)),
       ('cash', pg_column_compression(a.cash), pg_column_compression(b.cash), pg_column_size(a.cash), pg_column_size(b.cash), a.cash = b.cash, 8 * cardinality(b.cash))
     ) v(col, ac, bc, asz, bsz, same, bytes)
UNION ALL
SELECT 'portfolio ' || v.col, v.bytes > 8192, v.ac IS NOT DISTINCT FROM v.bc, v.asz = v.bsz, v.same
FROM backtest.portfolio_equity_curves a JOIN ds_pcurve b USING (task_id),
     LATERAL (VALUES
       ('ts', pg_column_compression(a.ts), pg_column_compression(b.ts), pg_column_size(a.ts), pg_column_size(b.ts), a.ts = b.ts, 8 * cardinality(b.ts)),
       ('cash', pg_column_compression(a.cash), pg_column_compression(b.cash), pg_column_size(a.cash), pg_column_size(b.cash), a.cash = b.cash, 8 * cardinality(b.cash)),
       ('positions_value', pg_column_compression(a.positions_value), pg_column_compression(b.positions_value), pg_column_size(a.positions_value), pg_column_size(b.positions_value), a.positions_value = b.positions_value, 8 * cardinality(b.positions_value)),
       ('equity', pg_column_compression(a.equity), pg_column_compression(b.equity), pg_column_size(a.equity), pg_column_size(b.equity), a.equity = b.equity, 8 * cardinality(b.equity)),
       ('open_positions', pg_column_compression(a.open_positions), pg_column_compression(b.open_positions), pg_column_size(a.open_positions), pg_column_size(b.open_positions), a.open_positions = b.open_positions, 4 * cardinality(b.open_positions))
     ) v(col, ac, bc, asz, bsz, same, bytes);

-- errors naming a task, with its number masked (it depends on earlier tests)
CREATE FUNCTION ds_error(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLERRM, 'task \d+', 'task N');
END
$$;
-- row security: another role sees no task
CREATE ROLE ds_other;
GRANT USAGE ON SCHEMA public TO ds_other;
SET ROLE ds_other;
SELECT ds_error(format('SELECT * FROM backtest_equity_downsample(%s)', :task));
RESET ROLE;
REVOKE USAGE ON SCHEMA public FROM ds_other;
DROP ROLE ds_other;

-- errors
SELECT * FROM backtest_equity_downsample(NULL);
SELECT * FROM backtest_equity_downsample(-1);
SELECT * FROM backtest_equity_downsample(:task, '1 month');
SELECT * FROM backtest_equity_downsample(:task, NULL);
SELECT * FROM backtest_equity_downsample(:task, '1 hour', time_zone => 'Mars/Olympus');
SELECT backtest_submit_sweep('ds', 'X', 'sma_cross', '{"fast": [5, 10]}') AS sweep \gset
SELECT ds_error(format('SELECT * FROM backtest_equity_downsample(%s)', :sweep));
SELECT backtest_cancel(:sweep) IS NOT NULL AS cancelled;
SELECT ds_wait();

SELECT backtest_delete(id) FROM backtest.tasks WHERE id IN (:task, :pf, :sweep) ORDER BY id;
DELETE FROM backtest.notifications WHERE metadata->>'task_id' IN (:'task', :'pf', :'sweep');
DROP FUNCTION ds_error(text);
DROP FUNCTION ds_wait();
DROP FUNCTION ds_check(bigint, interval, text, timestamp);
DROP FUNCTION ds_sql(bigint, interval, text, timestamp);
DROP TABLE ds;
