-- Naive timestamps: a timestamp without time zone is its wall-clock value
-- read as UTC, a date is midnight UTC, so the same data gives the same
-- results under any session TimeZone, across daylight-saving changes too.
\set VERBOSITY default
SET extra_float_digits = 0;

-- hourly 24/7 bars, naive, spanning both US DST changes of 2024
CREATE TABLE naive (symbol text, ts timestamp, open float8, high float8, low float8, close float8, volume float8,
                    PRIMARY KEY (symbol, ts));
INSERT INTO naive
SELECT 'BTC', '2024-03-01 00:00'::timestamp + i * interval '1 hour',
       100 + 10 * sin(i / 17.0), 101 + 10 * sin(i / 17.0) + (i % 3), 99 + 10 * sin(i / 17.0) - (i % 2),
       100 + 10 * sin(i / 17.0) + 0.5 * cos(i / 5.0), 10
FROM generate_series(0, 24 * 280) i;
-- daily bars in a date column
CREATE TABLE daily (symbol text, ts date, open float8, high float8, low float8, close float8, volume float8,
                    PRIMARY KEY (symbol, ts));
INSERT INTO daily
SELECT 'SPX', '2023-01-02'::date + i, 100 + 10 * sin(i / 9.0), 102 + 10 * sin(i / 9.0),
       98 + 10 * sin(i / 9.0), 100 + 10 * sin(i / 9.0) + cos(i / 3.0), 10
FROM generate_series(0, 599) i;
ANALYZE naive, daily;

-- Everything a user reads, fingerprinted without the session zone: timestamptz
-- outputs as epoch seconds (the instant), naive values as they are.
CREATE FUNCTION fingerprint(src regclass, sym text, lo timestamptz, hi timestamptz)
RETURNS TABLE (what text, fp text) LANGUAGE sql AS $$
  SELECT 'run', md5(format('%s %s %s %s %s %s %s', extract(epoch FROM r.start_ts), extract(epoch FROM r.end_ts),
                           r.bars, r.trades_count, r.equity_final, r.sharpe_ratio, r.periods_per_year))
  FROM backtest_run(src, sym, 'sma_cross', '{"fast": 5, "slow": 20}', lo, hi) r
  UNION ALL
  SELECT 'trades', md5(string_agg(format('%s %s %s %s', extract(epoch FROM t.entry_ts), extract(epoch FROM t.exit_ts),
                                         t.quantity, t.pnl), ',' ORDER BY t.trade_no))
  FROM backtest_trades(src, sym, 'sma_cross', '{"fast": 5, "slow": 20}', lo, hi) t
  UNION ALL
  SELECT 'equity', md5(string_agg(format('%s %s', extract(epoch FROM e.ts), e.equity), ',' ORDER BY e.ts))
  FROM backtest_equity(src, sym, 'sma_cross', '{"fast": 5, "slow": 20}', lo, hi) e
  UNION ALL
  SELECT 'indicator', md5(string_agg(format('%s %s', extract(epoch FROM i.ts), i.value), ',' ORDER BY i.ts))
  FROM backtest_indicator(src, sym, 'ema', '{"period": 10}', lo, hi) i
  UNION ALL
  SELECT 'sweep', md5(string_agg(format('%s %s', s.combo_no, s.equity_final), ',' ORDER BY s.combo_no))
  FROM backtest_sweep(src, sym, 'sma_cross', '{"fast": [5, 10], "slow": [20, 30]}', '{}', lo, hi) s
$$;

CREATE TABLE fp (tz text, what text, fp text);
SET TimeZone = 'America/New_York';
INSERT INTO fp SELECT 'NY', 'naive ' || what, fp FROM fingerprint('naive', 'BTC', NULL, NULL);
INSERT INTO fp SELECT 'NY', 'naive bounded ' || what, fp
FROM fingerprint('naive', 'BTC', '2024-03-09 12:00+00', '2024-11-04 06:00+00');
INSERT INTO fp SELECT 'NY', 'date ' || what, fp FROM fingerprint('daily', 'SPX', NULL, NULL);
INSERT INTO fp SELECT 'NY', 'date bounded ' || what, fp
FROM fingerprint('daily', 'SPX', '2023-03-01 00:00+00', '2024-01-31 00:00+00');
SET TimeZone = 'Asia/Hong_Kong';
INSERT INTO fp SELECT 'HK', 'naive ' || what, fp FROM fingerprint('naive', 'BTC', NULL, NULL);
INSERT INTO fp SELECT 'HK', 'naive bounded ' || what, fp
FROM fingerprint('naive', 'BTC', '2024-03-09 12:00+00', '2024-11-04 06:00+00');
INSERT INTO fp SELECT 'HK', 'date ' || what, fp FROM fingerprint('daily', 'SPX', NULL, NULL);
INSERT INTO fp SELECT 'HK', 'date bounded ' || what, fp
FROM fingerprint('daily', 'SPX', '2023-03-01 00:00+00', '2024-01-31 00:00+00');
SET TimeZone = 'UTC';
INSERT INTO fp SELECT 'UTC', 'naive ' || what, fp FROM fingerprint('naive', 'BTC', NULL, NULL);
INSERT INTO fp SELECT 'UTC', 'naive bounded ' || what, fp
FROM fingerprint('naive', 'BTC', '2024-03-09 12:00+00', '2024-11-04 06:00+00');
INSERT INTO fp SELECT 'UTC', 'date ' || what, fp FROM fingerprint('daily', 'SPX', NULL, NULL);
INSERT INTO fp SELECT 'UTC', 'date bounded ' || what, fp
FROM fingerprint('daily', 'SPX', '2023-03-01 00:00+00', '2024-01-31 00:00+00');
-- one fingerprint per output, whatever the zone (expect 1 everywhere)
SELECT what, count(*) AS zones, count(DISTINCT fp) AS distinct_results FROM fp GROUP BY what ORDER BY what;

-- the aggregate and the window functions, under each zone
CREATE TABLE fp_agg (tz text, what text, fp text);
SET TimeZone = 'America/New_York';
INSERT INTO fp_agg
SELECT 'NY', 'agg naive', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM naive) g
UNION ALL
SELECT 'NY', 'agg date', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM daily) g
UNION ALL
SELECT 'NY', 'window', md5(string_agg(format('%s %s', ts, v), ',' ORDER BY ts))
FROM (SELECT ts, bt_ema(close, 10) OVER (ORDER BY ts) v FROM naive) w;
SET TimeZone = 'Asia/Hong_Kong';
INSERT INTO fp_agg
SELECT 'HK', 'agg naive', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM naive) g
UNION ALL
SELECT 'HK', 'agg date', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM daily) g
UNION ALL
SELECT 'HK', 'window', md5(string_agg(format('%s %s', ts, v), ',' ORDER BY ts))
FROM (SELECT ts, bt_ema(close, 10) OVER (ORDER BY ts) v FROM naive) w;
SET TimeZone = 'UTC';
INSERT INTO fp_agg
SELECT 'UTC', 'agg naive', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM naive) g
UNION ALL
SELECT 'UTC', 'agg date', md5(format('%s %s %s %s', extract(epoch FROM (r).start_ts), (r).bars, (r).trades_count, (r).equity_final))
FROM (SELECT backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}') r FROM daily) g
UNION ALL
SELECT 'UTC', 'window', md5(string_agg(format('%s %s', ts, v), ',' ORDER BY ts))
FROM (SELECT ts, bt_ema(close, 10) OVER (ORDER BY ts) v FROM naive) w;
SELECT what, count(*) AS zones, count(DISTINCT fp) AS distinct_results FROM fp_agg GROUP BY what ORDER BY what;
-- the aggregate equals backtest_run on the same naive rows
SELECT (SELECT (backtest(ts, open, high, low, close, volume, 'sma_cross', '{"fast": 5, "slow": 20}')).equity_final FROM naive)
     = (SELECT equity_final FROM backtest_run('naive', 'BTC', 'sma_cross', '{"fast": 5, "slow": 20}')) AS agg_equals_run;

-- what the user sees: the naive wall clock as a timestamptz at UTC, under any zone
SET TimeZone = 'America/New_York';
SELECT start_ts AT TIME ZONE 'UTC' AS first_bar_utc, end_ts AT TIME ZONE 'UTC' AS last_bar_utc, bars
FROM backtest_run('naive', 'BTC', 'sma_cross');
SELECT start_ts AT TIME ZONE 'UTC' AS first_bar_utc, end_ts AT TIME ZONE 'UTC' AS last_bar_utc, bars
FROM backtest_run('daily', 'SPX', 'sma_cross', '{}', '2023-03-01 00:00+00', '2023-03-31 00:00+00');
-- naive 01:00 on 2024-11-03 happens twice in New York; here it is one bar between its neighbours
SELECT ts AT TIME ZONE 'UTC' AS bar_utc FROM backtest_equity('naive', 'BTC', 'sma_cross')
WHERE ts BETWEEN '2024-11-03 00:00+00' AND '2024-11-03 03:00+00' ORDER BY ts;
-- a query source with a naive column reads it the same way
SELECT bars, equity_final = (SELECT equity_final FROM backtest_run('naive', 'BTC', 'sma_cross')) AS same
FROM backtest_run_query('SELECT * FROM naive ORDER BY ts', 'sma_cross');
RESET TimeZone;
