-- Annualised statistics, recomputed independently in SQL from the equity
-- curve (backtest_equity_query) and compared with backtest_run_query's
-- figures: the equity's last value on each day with bars, simple returns
-- between consecutive days, A = periods_per_year (252, 365 when the market
-- trades on weekends, 52 for weekly bars).  Days are UTC days, except that
-- ann_check's `shift` moves them (24/5 FX's day runs 22:00 to 22:00 UTC:
-- shift '2 hours').
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- metric, engine value, SQL value, and whether they agree within 1e-9 relative
CREATE FUNCTION ann_check(q text, strategy text, params jsonb DEFAULT '{}',
                          shift interval DEFAULT interval '0')
RETURNS TABLE (metric text, ok boolean, engine float8, recomputed float8)
LANGUAGE sql AS $$
  WITH m AS (SELECT * FROM backtest_run_query(q, strategy, params)),
  e AS (SELECT ts, equity FROM backtest_equity_query(q, strategy, params)),
  d AS (SELECT DISTINCT ON (date_trunc('day', ts AT TIME ZONE 'UTC' + shift))
               date_trunc('day', ts AT TIME ZONE 'UTC' + shift) AS day, equity
        FROM e ORDER BY date_trunc('day', ts AT TIME ZONE 'UTC' + shift), ts DESC),
  r AS (SELECT equity / lag(equity) OVER (ORDER BY day) - 1 AS r FROM d),
  s AS (SELECT avg(r) AS mean, stddev_samp(r) AS sd, sqrt(avg(least(r, 0) ^ 2)) AS dd,
               exp(avg(ln(1 + r))) - 1 AS g,
               sum(greatest(r, 0)) / sum(greatest(-r, 0)) AS omega
        FROM r WHERE r IS NOT NULL),
  k AS (SELECT m.*, s.*, m.periods_per_year AS a,
               coalesce((params->>'risk_free_rate')::float8, 0) / m.periods_per_year AS rf
        FROM m, s),
  v(metric, engine, recomputed) AS (
    SELECT 'return_ann_pct', return_ann_pct, ((1 + g) ^ a - 1) * 100 FROM k
    UNION ALL SELECT 'volatility_ann_pct', volatility_ann_pct, sd * sqrt(a) * 100 FROM k
    UNION ALL SELECT 'sharpe_ratio', sharpe_ratio, (mean - rf) / sd * sqrt(a) FROM k
    UNION ALL SELECT 'sortino_ratio', sortino_ratio, (mean - rf) / dd * sqrt(a) FROM k
    UNION ALL SELECT 'calmar_ratio', calmar_ratio, ((1 + g) ^ a - 1) / abs(max_drawdown_pct / 100) FROM k
    UNION ALL SELECT 'omega_ratio', omega_ratio, omega FROM k)
  SELECT metric, abs(engine - recomputed) <= 1e-9 * greatest(abs(recomputed), 1), engine, recomputed
  FROM v
$$;

CREATE TABLE klines (ts date PRIMARY KEY, open float8, high float8, low float8, close float8, volume float8);
\copy klines (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)

-- daily weekday bars: A = 252
SELECT periods_per_year FROM backtest_run_query('SELECT * FROM klines ORDER BY ts', 'sma_cross');
SELECT metric, ok FROM ann_check('SELECT * FROM klines ORDER BY ts', 'sma_cross');
SELECT metric, ok FROM ann_check('SELECT * FROM klines ORDER BY ts', 'macd_cross',
                                 '{"risk_free_rate": 0.03, "commission": 0.001}');

-- 24/7 minute bars, 30 days of a seeded random walk (about 9% a day),
-- ema_cross with 0.1% commission: a large loss, and a Sharpe ratio that
-- stays sane (on per-bar returns it was of the order of -1e7 here)
SELECT setseed(0.42);
CREATE TABLE crypto AS
WITH u AS (SELECT i, 0.008 * (random() - 0.5) AS u FROM generate_series(0, 30 * 1440 - 1) i),
w AS (SELECT i, u, 30000 * exp(sum(ln(1 + u)) OVER (ORDER BY i)) AS c FROM u)
SELECT '2024-03-01'::timestamptz + i * interval '1 minute' AS ts,
       c / (1 + u) AS open, greatest(c, c / (1 + u)) * 1.0005 AS high,
       least(c, c / (1 + u)) * 0.9995 AS low, c AS close, 1.0 AS volume
FROM w;
SELECT periods_per_year, trades_count > 100 AS many_trades, return_pct < -50 AS large_loss,
       sharpe_ratio BETWEEN -20 AND 0 AS sane_sharpe, volatility_ann_pct > 1 AS sane_vol
FROM backtest_run_query('SELECT * FROM crypto ORDER BY ts', 'ema_cross', '{"fractional": true, "commission": 0.001}');
SELECT metric, ok FROM ann_check('SELECT * FROM crypto ORDER BY ts', 'ema_cross',
                                 '{"fractional": true, "commission": 0.001}');

-- hourly 24/7 bars with missing days (a return spans each gap)
SELECT metric, ok FROM ann_check(
  'SELECT * FROM crypto WHERE extract(minute FROM ts) = 0
     AND ts::date NOT IN (''2024-03-04'', ''2024-03-05'', ''2024-03-11'') ORDER BY ts',
  'sma_cross', '{"fast": 5, "slow": 20, "fractional": true}');

-- 24/5 FX, hourly bars from Sunday 22:00 to Friday 22:00 UTC: the trading
-- day runs from 22:00 to 22:00 UTC (the Sunday evening belongs to Monday),
-- 5 returns a week, A = 252
CREATE TABLE fx AS
SELECT * FROM crypto
WHERE extract(minute FROM ts) = 0
  AND CASE extract(isodow FROM ts) WHEN 6 THEN false
        WHEN 7 THEN extract(hour FROM ts) >= 22
        WHEN 5 THEN extract(hour FROM ts) < 22 ELSE true END;
SELECT count(*) AS bars, count(DISTINCT date_trunc('day', ts)) AS utc_days,
       count(DISTINCT date_trunc('day', ts + interval '2 hours')) AS trading_days
FROM fx;
SELECT periods_per_year FROM backtest_run_query('SELECT * FROM fx ORDER BY ts', 'sma_cross',
                                                '{"fast": 5, "slow": 20, "fractional": true}');
SELECT metric, ok FROM ann_check('SELECT * FROM fx ORDER BY ts', 'sma_cross',
                                 '{"fast": 5, "slow": 20, "fractional": true}', '2 hours');
-- UTC days (before 0.4.0's fix) would count the Sunday evenings as days
SELECT metric, ok FROM ann_check('SELECT * FROM fx ORDER BY ts', 'sma_cross',
                                 '{"fast": 5, "slow": 20, "fractional": true}')
WHERE metric = 'volatility_ann_pct';

-- weekly bars: the bars'' own returns, A = 52
SELECT periods_per_year FROM backtest_run_query(
  'SELECT * FROM klines WHERE extract(isodow FROM ts) = 5 ORDER BY ts', 'sma_cross', '{"fast": 4, "slow": 12}');
SELECT metric, ok FROM ann_check(
  'SELECT * FROM klines WHERE extract(isodow FROM ts) = 5 ORDER BY ts', 'sma_cross', '{"fast": 4, "slow": 12}');

-- an explicit periods_per_year is the A used
SELECT periods_per_year FROM backtest_run_query('SELECT * FROM klines ORDER BY ts', 'sma_cross', '{"periods_per_year": 260}');
SELECT metric, ok FROM ann_check('SELECT * FROM klines ORDER BY ts', 'sma_cross', '{"periods_per_year": 260}');

DROP FUNCTION ann_check;
DROP TABLE klines, crypto, fx;
