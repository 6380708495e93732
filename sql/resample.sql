-- Resampling (issue 15 item 7): backtest_resample equals the same
-- resampling written in SQL with date_bin, in UTC and on an exchange's
-- wall clock across daylight-saving changes; errors.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
-- 10 days of 5-minute bars around the US autumn clock change (2024-11-03)
CREATE TABLE rs (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8, low float8,
                 close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO rs
SELECT 'X', '2024-10-29 00:00+00'::timestamptz + i * interval '5 minutes',
       o, greatest(o, c) + (i % 7) * 0.1, least(o, c) - (i % 5) * 0.1, c, 100 + i % 13
FROM (SELECT i, 100 + 10 * sin(i / 50.0) AS o, 100 + 10 * sin((i + 1) / 50.0) AS c
      FROM generate_series(0, 10 * 288 - 1) i) x;

-- the same in SQL: date_bin on the wall clock of tz, first/last by time
CREATE FUNCTION rs_sql(iv interval, tz text, origin timestamp)
RETURNS TABLE (ts timestamptz, open float8, high float8, low float8, close float8, volume float8, bars bigint)
LANGUAGE sql AS $$
SELECT date_bin(iv, r.ts AT TIME ZONE tz, origin) AT TIME ZONE tz,
       (array_agg(r.open ORDER BY r.ts))[1], max(r.high), min(r.low),
       (array_agg(r.close ORDER BY r.ts DESC))[1], sum(r.volume), count(*)
FROM rs r WHERE r.symbol = 'X'
GROUP BY date_bin(iv, r.ts AT TIME ZONE tz, origin)
ORDER BY date_bin(iv, r.ts AT TIME ZONE tz, origin)
$$;
CREATE FUNCTION rs_check(iv interval, tz text DEFAULT 'UTC', origin timestamp DEFAULT '2000-01-03 00:00')
RETURNS TABLE (rows bigint, equal_in_order bigint)
LANGUAGE sql AS $$
SELECT count(*), count(*) FILTER (WHERE a IS NOT DISTINCT FROM b)
FROM backtest_resample('rs', 'X', iv, NULL, NULL, origin, tz) WITH ORDINALITY a(ts, open, high, low, close, volume, bars, n)
FULL JOIN rs_sql(iv, tz, origin) WITH ORDINALITY b(ts, open, high, low, close, volume, bars, n) USING (n)
$$;
SELECT * FROM rs_check('1 hour');
SELECT * FROM rs_check('15 minutes');
SELECT * FROM rs_check('1 day');
SELECT * FROM rs_check('7 days');
SELECT * FROM rs_check('4 hours', 'UTC', '2000-01-03 02:00');
-- sessions on New York's wall clock: days from 09:30 local, across the
-- change from EDT (13:30 UTC) to EST (14:30 UTC)
SELECT * FROM rs_check('1 day', 'America/New_York', '2000-01-03 09:30');
SELECT ts, bars FROM backtest_resample('rs', 'X', '1 day', '2024-11-01', '2024-11-06', '2000-01-03 09:30', 'America/New_York');
-- half hours on the repeated hour of 2024-11-03 (01:00-02:00 local twice):
-- a bucket's bars are not consecutive there, and are still grouped
SELECT * FROM rs_check('30 minutes', 'America/New_York');
SELECT ts, bars FROM backtest_resample('rs', 'X', '30 minutes', '2024-11-03 04:30+00', '2024-11-03 07:30+00', time_zone => 'America/New_York');
-- a worked bucket: the first hour of 2024-10-29 UTC holds bars 0..11 (00:00
-- to 00:55): the open of 00:00, the close of 00:55, volume 100 + ... + 111 = 1266
SELECT ts, round(open::numeric, 6) AS open, round(close::numeric, 6) AS close, volume, bars
FROM backtest_resample('rs', 'X', '1 hour', '2024-10-29 00:00+00', '2024-10-29 00:59+00');
SELECT (SELECT round(open::numeric, 6) FROM rs WHERE ts = '2024-10-29 00:00+00') AS open_of_0000,
       (SELECT round(close::numeric, 6) FROM rs WHERE ts = '2024-10-29 00:55+00') AS close_of_0055;

-- the column mapping of "columns" (every source-reading function's): renamed
-- columns, numeric prices, no symbol column; the same buckets as rs's
CREATE TABLE rs_named AS
SELECT ts AS bar_time, open::numeric AS px_open, high::numeric AS px_high, low::numeric AS px_low,
       close::numeric AS px_close, volume::bigint AS qty FROM rs;
CREATE TABLE rs_novol AS SELECT symbol, ts, open, high, low, close FROM rs;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.ts = b.ts AND a.open = b.open::numeric::float8
                                                AND a.high = b.high::numeric::float8 AND a.low = b.low::numeric::float8
                                                AND a.close = b.close::numeric::float8
                                                AND a.volume = b.volume AND a.bars = b.bars) AS equal
FROM backtest_resample('rs_named', NULL, '1 day', time_zone => 'America/New_York', origin => '2000-01-03 09:30',
                       columns => '{"symbol": null, "ts": "bar_time", "open": "px_open", "high": "px_high",
                                    "low": "px_low", "close": "px_close", "volume": "qty"}') WITH ORDINALITY a
FULL JOIN backtest_resample('rs', 'X', '1 day', time_zone => 'America/New_York', origin => '2000-01-03 09:30') WITH ORDINALITY b
     USING (ordinality);
-- no volume column ("volume": null): the volume is NULL, the rest as before
SELECT count(*) AS rows, count(*) FILTER (WHERE a.volume IS NULL AND (a.ts, a.open, a.high, a.low, a.close, a.bars)
                                                 = (b.ts, b.open, b.high, b.low, b.close, b.bars)) AS equal
FROM backtest_resample('rs_novol', 'X', '1 hour', columns => '{"volume": null}') WITH ORDINALITY a
FULL JOIN backtest_resample('rs', 'X', '1 hour') WITH ORDINALITY b USING (ordinality);
-- the mapping's errors are those of "columns" elsewhere
SELECT * FROM backtest_resample('rs_named', NULL, '1 day', columns => '{"ts": "bar_time", "close": "px_close"}');
SELECT * FROM backtest_run('rs_named', NULL, 'buy_and_hold', '{"columns": {"ts": "bar_time", "close": "px_close"}}');
SELECT * FROM backtest_resample('rs_named', NULL, '1 day', columns => '{"ts": "bar_time", "bid": "px_close"}');
SELECT * FROM backtest_resample('rs_named', NULL, '1 day', columns => '"bar_time"');
SELECT * FROM backtest_resample('rs_named', NULL, '1 day', columns => '{"ts": 1}');
SELECT * FROM backtest_resample('rs_named', 'X', '1 day',
                                columns => '{"symbol": null, "ts": "bar_time", "open": "px_open", "high": "px_high",
                                             "low": "px_low", "close": "px_close", "volume": "qty"}');
SELECT * FROM backtest_resample('rs_novol', 'X', '1 hour');
DROP TABLE rs_named, rs_novol;

-- errors
SELECT * FROM backtest_resample('rs', 'X', '1 month');
SELECT * FROM backtest_resample('rs', 'X', '0 seconds');
SELECT * FROM backtest_resample('rs', 'X', '-1 hour');
SELECT * FROM backtest_resample('rs', 'X', NULL);
SELECT * FROM backtest_resample('rs', 'X', '1 hour', time_zone => 'Mars/Olympus');

-- "timeframe": any backtest runs on the bars resampled from the finer table,
-- equal to the same backtest over the SQL resampling as a query source
SELECT (SELECT r FROM backtest_run('rs', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') r)
       IS NOT DISTINCT FROM
       (SELECT q FROM backtest_run_query('SELECT * FROM rs_sql(''1 hour'', ''UTC'', ''2000-01-03'')', 'sma_cross',
                                         '{"fast": 5, "slow": 20}') q) AS run_equal,
       (SELECT bars FROM backtest_run('rs', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}')) AS bars;
SELECT count(*) AS trades, count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS equal
FROM backtest_trades('rs', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "allow_short": true, "timeframe": "1 hour"}') a
FULL JOIN backtest_trades_query('SELECT * FROM rs_sql(''1 hour'', ''UTC'', ''2000-01-03'')', 'sma_cross',
                                '{"fast": 5, "slow": 20, "allow_short": true}') b USING (trade_no);
SELECT count(*) AS bars, count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS equal
FROM backtest_equity('rs', 'X', 'sma_cross', '{"timeframe": "15 minutes", "stop_loss": 0.01}') a
FULL JOIN backtest_equity_query('SELECT * FROM rs_sql(''15 minutes'', ''UTC'', ''2000-01-03'')', 'sma_cross',
                                '{"stop_loss": 0.01}') b USING (ts);
-- sessions: daily bars from 09:30 New York time
SELECT (SELECT r FROM backtest_run('rs', 'X', 'buy_and_hold', '{"timeframe": "1 day", "timeframe_origin": "2000-01-03 09:30", "timeframe_time_zone": "America/New_York"}') r)
       IS NOT DISTINCT FROM
       (SELECT q FROM backtest_run_query('SELECT * FROM rs_sql(''1 day'', ''America/New_York'', ''2000-01-03 09:30'')', 'buy_and_hold') q)
       AS sessions_equal;
-- a sweep: every combination as over the SQL resampling
SELECT count(*) AS combos, count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS equal
FROM backtest_sweep('rs', 'X', 'sma_cross', '{"fast": [3, 5], "slow": [10, 20]}', '{"timeframe": "30 minutes"}') a
FULL JOIN backtest_sweep_query('SELECT * FROM rs_sql(''30 minutes'', ''UTC'', ''2000-01-03'')', 'sma_cross',
                               '{"fast": [3, 5], "slow": [10, 20]}') b USING (combo_no);
-- the queue: a task's metrics as backtest_run's
SELECT backtest_submit('rs', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') AS task \gset
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT t.bars, t.trades_count, t.equity_final = r.equity_final AS equal_final, t.sharpe_ratio = r.sharpe_ratio AS equal_sharpe
FROM backtest.results t, backtest_run('rs', 'X', 'sma_cross', '{"fast": 5, "slow": 20, "timeframe": "1 hour"}') r
WHERE t.task_id = :task;
SELECT backtest_delete(:task);
DELETE FROM backtest.notifications WHERE metadata->>'task_id' IN (:'task');
-- errors
SELECT bars FROM backtest_run('rs', 'X', 'sma_cross', '{"timeframe": "1 month"}');
SELECT bars FROM backtest_run('rs', 'X', 'sma_cross', '{"timeframe": 60}');
SELECT bars FROM backtest_run('rs', 'X', 'sma_cross', '{"timeframe": "1 hour", "timeframe_time_zone": "Mars/Olympus"}');
SELECT bars FROM backtest_run('rs', 'X', 'sma_cross', '{"timeframe": "soon"}');

DROP FUNCTION rs_check(interval, text, timestamp);
DROP FUNCTION rs_sql(interval, text, timestamp);
DROP TABLE rs;
