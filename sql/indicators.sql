--
-- indicators: the SQL-level indicator API
--
-- Window functions (bt_sma(...) OVER w ...), bt_cross, backtest_indicator,
-- backtest_indicator_query and backtest_indicators.  Values are checked
-- against independent SQL computations (mismatch counts must be 0) and
-- printed rounded, so the expected output is stable across platforms.
--
SET TimeZone = 'UTC';
\set VERBOSITY default

-- Symbol AAA: 45 bars of a sine wave, then a 15-bar trading halt (flat bars
-- at the last close).  Symbol BBB: 40 bars of another shape, same dates.
CREATE TABLE ind_klines (
	symbol text NOT NULL,
	ts timestamptz NOT NULL,
	open float8, high float8, low float8, close float8, volume float8,
	PRIMARY KEY (symbol, ts)
);
INSERT INTO ind_klines
SELECT 'AAA', '2024-01-01 00:00+00'::timestamptz + (i - 1) * interval '1 day',
	   c - 0.25, c + 1 + (i % 3) * 0.5, c - 1 - (i % 2) * 0.5, c,
	   1000 + 10 * i
FROM (SELECT i, round((100 + 10 * sin(i / 5.0))::numeric, 4)::float8 AS c
	  FROM generate_series(1, 45) i) s;
INSERT INTO ind_klines
SELECT 'AAA', ts + k * interval '1 day', close, close, close, close, 100
FROM ind_klines, generate_series(1, 15) k
WHERE symbol = 'AAA' AND ts = '2024-02-14 00:00+00';
INSERT INTO ind_klines
SELECT 'BBB', '2024-01-01 00:00+00'::timestamptz + (i - 1) * interval '1 day',
	   c + 0.1, c + 0.8, c - 0.6, c, 500 + 7 * (i % 5)
FROM (SELECT i, round((50 + 5 * cos(i / 4.0) + 0.1 * i)::numeric, 4)::float8 AS c
	  FROM generate_series(1, 40) i) s;

SELECT symbol, count(*), min(ts), max(ts),
	   count(*) FILTER (WHERE high = low) AS flat_bars
FROM ind_klines GROUP BY symbol ORDER BY symbol;

-- The registry, for discoverability
SELECT name, inputs, parameters, outputs FROM backtest_indicators() ORDER BY name;

--
-- SMA(3) equals avg() over a 3-row frame (NULL on the first 2 rows)
--
SELECT count(*) AS rows,
	   count(sma) AS defined,
	   count(*) FILTER (WHERE (sma IS NULL) <> (hand IS NULL)
						 OR abs(sma - hand) > 1e-9) AS mismatches
FROM (SELECT bt_sma(close, 3) OVER w AS sma,
			 CASE WHEN row_number() OVER w >= 3
				  THEN avg(close) OVER (w ROWS 2 PRECEDING) END AS hand
	  FROM ind_klines WHERE symbol = 'AAA'
	  WINDOW w AS (ORDER BY ts)) s;

-- The frame clause is ignored: a full-partition frame gives the same values
SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) AS mismatches
FROM (SELECT bt_sma(close, 3) OVER (ORDER BY ts) AS a,
			 bt_sma(close, 3) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING
													 AND UNBOUNDED FOLLOWING) AS b
	  FROM ind_klines WHERE symbol = 'AAA') s;

--
-- EMA(5): first defined on row 5, equal to SMA(5) there, then
-- ema_t = x_t / 3 + 2/3 * ema_{t-1}
--
WITH e AS (
	SELECT row_number() OVER w AS r, close,
		   bt_ema(close, 5) OVER w AS ema, bt_sma(close, 5) OVER w AS sma
	FROM ind_klines WHERE symbol = 'AAA'
	WINDOW w AS (ORDER BY ts)
), l AS (
	SELECT *, lag(ema) OVER (ORDER BY r) AS prev FROM e
)
SELECT min(r) FILTER (WHERE ema IS NOT NULL) AS first_defined,
	   bool_and(abs(ema - sma) < 1e-12) FILTER (WHERE r = 5) AS seed_is_sma,
	   count(*) FILTER (WHERE r > 5 AND NOT abs(ema - (close / 3 + 2 * prev / 3)) < 1e-9)
		   AS recursion_mismatches,
	   round(max(ema) FILTER (WHERE r = 5)::numeric, 6) AS ema_5,
	   round(max(ema) FILTER (WHERE r = 60)::numeric, 6) AS ema_60
FROM l;

-- WMA(3) = (x_{t-2} + 2 x_{t-1} + 3 x_t) / 6
SELECT count(*) FILTER (WHERE (wma IS NULL) <> (hand IS NULL)
						 OR abs(wma - hand) > 1e-9) AS mismatches,
	   count(wma) AS defined
FROM (SELECT bt_wma(close, 3) OVER w AS wma,
			 (lag(close, 2) OVER w + 2 * lag(close) OVER w + 3 * close) / 6 AS hand
	  FROM ind_klines WHERE symbol = 'AAA' WINDOW w AS (ORDER BY ts)) s;

--
-- Bollinger (population sigma), Donchian, ROC (percent), OBV and the
-- stochastic's fast %K (50 on a flat 14-bar window) against plain SQL
--
WITH h AS (
	SELECT ts, row_number() OVER w AS r, close, high, low, volume,
		   bt_bb_middle(close) OVER w AS bbm, bt_bb_upper(close) OVER w AS bbu,
		   bt_bb_lower(close, 20, 1.5) OVER w AS bbl,
		   avg(close) OVER (w ROWS 19 PRECEDING) AS avg20,
		   stddev_pop(close) OVER (w ROWS 19 PRECEDING) AS sd20,
		   bt_donchian_upper(high, low) OVER w AS dcu,
		   bt_donchian_mid(high, low) OVER w AS dcm,
		   bt_donchian_lower(high, low) OVER w AS dcl,
		   max(high) OVER (w ROWS 19 PRECEDING) AS hh20,
		   min(low) OVER (w ROWS 19 PRECEDING) AS ll20,
		   bt_roc(close) OVER w AS roc,
		   100 * (close / lag(close, 10) OVER w - 1) AS roc_hand,
		   bt_obv(close, volume) OVER w AS obv,
		   sum(CASE WHEN lag_c IS NULL THEN volume
					ELSE sign(close - lag_c) * volume END) OVER w AS obv_hand,
		   bt_stoch_k(high, low, close) OVER w AS k,
		   max(high) OVER (w ROWS 13 PRECEDING) AS hh14,
		   min(low) OVER (w ROWS 13 PRECEDING) AS ll14
	FROM (SELECT *, lag(close) OVER (ORDER BY ts) AS lag_c
		  FROM ind_klines WHERE symbol = 'AAA') k
	WINDOW w AS (ORDER BY ts)
)
SELECT count(bbm) AS bb_defined,
	   count(*) FILTER (WHERE r >= 20 AND NOT (abs(bbm - avg20) < 1e-9
						 AND abs(bbu - (avg20 + 2 * sd20)) < 1e-9
						 AND abs(bbl - (avg20 - 1.5 * sd20)) < 1e-9)) AS bb_mismatches,
	   count(*) FILTER (WHERE r >= 20 AND NOT (dcu = hh20 AND dcl = ll20
						 AND abs(dcm - (hh20 + ll20) / 2) < 1e-12)) AS dc_mismatches,
	   count(dcu) AS dc_defined,
	   count(*) FILTER (WHERE (roc IS NULL) <> (roc_hand IS NULL)
						 OR abs(roc - roc_hand) > 1e-9) AS roc_mismatches,
	   count(*) FILTER (WHERE obv IS DISTINCT FROM obv_hand) AS obv_mismatches,
	   count(*) FILTER (WHERE r >= 14 AND NOT abs(k - CASE WHEN hh14 = ll14 THEN 50
						 ELSE 100 * (close - ll14) / (hh14 - ll14) END) < 1e-9) AS k_mismatches,
	   count(k) AS k_defined,
	   string_agg(r::text, ',' ORDER BY r) FILTER (WHERE k = 50) AS k_is_50_rows
FROM h;

-- A few values on row 60 (the end of the halt)
SELECT round(bt_rsi(close) OVER w::numeric, 6) AS rsi,
	   round(bt_atr(high, low, close) OVER w::numeric, 6) AS atr,
	   round(bt_kdj_k(high, low, close) OVER w::numeric, 6) AS kdj_k,
	   round(bt_kdj_j(high, low, close) OVER w::numeric, 6) AS kdj_j,
	   round(bt_stoch_slowd(high, low, close) OVER w::numeric, 6) AS slowd,
	   round(bt_macd_hist(close, 3, 6, 4) OVER w::numeric, 6) AS macd_hist
FROM ind_klines WHERE symbol = 'AAA'
WINDOW w AS (ORDER BY ts)
ORDER BY ts DESC LIMIT 1;

--
-- backtest_indicator(...'macd') equals the window functions row by row
--
WITH srf AS (
	SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'macd', '{}')
), win AS (
	SELECT ts, o.output, o.value
	FROM (SELECT ts, bt_macd(close) OVER w AS m, bt_macd_signal(close) OVER w AS s,
				 bt_macd_hist(close) OVER w AS h
		  FROM ind_klines WHERE symbol = 'AAA' WINDOW w AS (ORDER BY ts)) x,
		 LATERAL (VALUES ('macd', m), ('signal', s), ('histogram', h)) o(output, value)
)
SELECT srf.output, count(*) AS rows, count(srf.value) AS defined,
	   count(*) FILTER (WHERE win.ts IS NULL OR srf.value IS DISTINCT FROM win.value)
		   AS mismatches
FROM srf LEFT JOIN win USING (ts, output)
GROUP BY srf.output ORDER BY srf.output;

-- Every indicator: the SRF (with registry defaults or the params given)
-- against its window-function forms
WITH win AS (
	SELECT ts, o.indicator, o.output, o.value
	FROM (SELECT ts, close, high, low, volume,
				 bt_sma(close, 20) OVER w AS sma, bt_ema(close, 20) OVER w AS ema,
				 bt_wma(close, 20) OVER w AS wma, bt_rsi(close) OVER w AS rsi,
				 bt_roc(close) OVER w AS roc,
				 bt_bb_lower(close, 10, 1.5) OVER w AS bbl,
				 bt_bb_middle(close, 10, 1.5) OVER w AS bbm,
				 bt_bb_upper(close, 10, 1.5) OVER w AS bbu,
				 bt_stoch_k(high, low, close) OVER w AS sk,
				 bt_stoch_d(high, low, close) OVER w AS sd,
				 bt_stoch_slowd(high, low, close) OVER w AS ssd,
				 bt_kdj_k(high, low, close) OVER w AS kk,
				 bt_kdj_d(high, low, close) OVER w AS kd,
				 bt_kdj_j(high, low, close) OVER w AS kj,
				 bt_atr(high, low, close) OVER w AS atr,
				 bt_donchian_upper(high, low) OVER w AS du,
				 bt_donchian_mid(high, low) OVER w AS dm,
				 bt_donchian_lower(high, low) OVER w AS dl,
				 bt_obv(close, volume) OVER w AS obv
		  FROM ind_klines WHERE symbol = 'AAA' WINDOW w AS (ORDER BY ts)) x,
		 LATERAL (VALUES ('sma', 'value', sma), ('ema', 'value', ema),
						 ('wma', 'value', wma), ('rsi', 'value', rsi),
						 ('roc', 'value', roc), ('bbands', 'lower', bbl),
						 ('bbands', 'middle', bbm), ('bbands', 'upper', bbu),
						 ('stoch', 'fastk', sk), ('stoch', 'fastd', sd),
						 ('stoch', 'slowd', ssd), ('kdj', 'k', kk),
						 ('kdj', 'd', kd), ('kdj', 'j', kj), ('atr', 'atr', atr),
						 ('donchian', 'upper', du), ('donchian', 'mid', dm),
						 ('donchian', 'lower', dl), ('obv', 'value', obv))
			 o(indicator, output, value)
), srf AS (
	SELECT i.name AS indicator, b.*
	FROM backtest_indicators() i,
		 LATERAL backtest_indicator('ind_klines', 'AAA', i.name,
			CASE i.name WHEN 'bbands' THEN '{"period": 10, "k": 1.5}'
						ELSE '{}' END::jsonb) b
)
SELECT srf.indicator, srf.output, count(*) AS rows, count(srf.value) AS defined,
	   count(*) FILTER (WHERE srf.value IS DISTINCT FROM win.value) AS mismatches
FROM srf JOIN win USING (indicator, ts, output)
GROUP BY srf.indicator, srf.output
ORDER BY srf.indicator, srf.output;

-- Outputs that have no window form: ATR's true range, KDJ's RSV
SELECT output, count(*) AS rows, count(value) AS defined
FROM (SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'atr')
	  UNION ALL
	  SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'kdj')) s
WHERE output IN ('tr', 'rsv')
GROUP BY output ORDER BY output;

-- A query source gives the same as the table source
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE q.value IS DISTINCT FROM t.value) AS mismatches
FROM backtest_indicator('ind_klines', 'BBB', 'rsi', '{"period": 5}') t
	 FULL JOIN backtest_indicator_query(
		 $$SELECT ts, open, high, low, close FROM ind_klines
		   WHERE symbol = 'BBB' ORDER BY ts$$, 'rsi', '{"period": 5}') q
	 USING (ts, output);

-- start_ts / end_ts restrict the bars (the indicator restarts its warm-up)
SELECT count(*) AS rows, count(value) AS defined, min(ts), max(ts)
FROM backtest_indicator('ind_klines', 'AAA', 'sma', '{"period": 3}',
						'2024-01-11 00:00+00', '2024-01-20 00:00+00');

-- Renamed columns through "columns", and a source with only the needed ones
CREATE VIEW ind_renamed AS
	SELECT symbol AS sym, ts AS bar_time, open, high, low, close AS px, volume AS qty
	FROM ind_klines;
SELECT output, count(*) AS rows,
	   count(*) FILTER (WHERE v.value IS DISTINCT FROM w.value) AS mismatches
FROM backtest_indicator('ind_renamed', 'BBB', 'obv',
		'{"columns": {"symbol": "sym", "ts": "bar_time", "close": "px", "volume": "qty"}}') v
	 JOIN (SELECT ts, bt_obv(close, volume) OVER (ORDER BY ts) AS value
		   FROM ind_klines WHERE symbol = 'BBB') w
	 ON w.ts = v.ts
GROUP BY output;

--
-- Partitions are independent: per-symbol results equal single-symbol runs
--
WITH part AS (
	SELECT symbol, ts, bt_rsi(close, 5) OVER w AS rsi, bt_ema(close, 7) OVER w AS ema,
		   bt_macd_signal(close, 3, 8, 4) OVER w AS sig,
		   bt_kdj_j(high, low, close) OVER w AS j
	FROM ind_klines WINDOW w AS (PARTITION BY symbol ORDER BY ts)
), single AS (
	SELECT 'AAA' AS symbol, ts, bt_rsi(close, 5) OVER w AS rsi,
		   bt_ema(close, 7) OVER w AS ema,
		   bt_macd_signal(close, 3, 8, 4) OVER w AS sig,
		   bt_kdj_j(high, low, close) OVER w AS j
	FROM ind_klines WHERE symbol = 'AAA' WINDOW w AS (ORDER BY ts)
	UNION ALL
	SELECT 'BBB', ts, bt_rsi(close, 5) OVER w, bt_ema(close, 7) OVER w,
		   bt_macd_signal(close, 3, 8, 4) OVER w, bt_kdj_j(high, low, close) OVER w
	FROM ind_klines WHERE symbol = 'BBB' WINDOW w AS (ORDER BY ts)
)
SELECT symbol, count(*) AS rows, count(p.rsi) AS rsi_defined,
	   count(*) FILTER (WHERE p.rsi IS DISTINCT FROM s.rsi OR p.ema IS DISTINCT FROM s.ema
						 OR p.sig IS DISTINCT FROM s.sig OR p.j IS DISTINCT FROM s.j)
		   AS mismatches
FROM part p JOIN single s USING (symbol, ts)
GROUP BY symbol ORDER BY symbol;

--
-- bt_cross: +1 when fast goes above slow, the reference being the latest
-- earlier row where fast <> slow; a touch is not a cross; NULL/NaN rows
-- give 0 and are skipped
--
CREATE TABLE ind_cross (g text, t int, fast float8, slow float8, expected int);
INSERT INTO ind_cross VALUES
	('a', 1, NULL, 1, 0),		-- undefined
	('a', 2, 1, 2, 0),			-- below; no earlier row
	('a', 3, 2, 2, 0),			-- touch
	('a', 4, 1, 2, 0),			-- back below: the touch was not a cross
	('a', 5, 2, 2, 0),			-- touch
	('a', 6, 3, 2, 1),			-- above, latest differing row (4) below: cross up
	('a', 7, 4, 2, 0),			-- still above
	('a', 8, NULL, 2, 0),		-- undefined, skipped
	('a', 9, 1, 2, -1),			-- below, latest differing row (7) above: cross down
	('a', 10, 3, NULL, 0),		-- undefined, skipped
	('a', 11, 3, 2, 1),			-- cross up across a NULL row
	('a', 12, 3, 3, 0),			-- touch
	('a', 13, 4, 3, 0),			-- back above: not a cross
	('a', 14, 'NaN', 3, 0),		-- NaN is undefined too
	('a', 15, 2, 3, -1),		-- cross down across the NaN row
	('b', 1, 5, 1, 0),			-- another partition starts fresh: no cross
	('b', 2, 0, 1, -1),
	('b', 3, 1, 1, 0),
	('b', 4, 2, 1, 1);
SELECT g, t, fast, slow, bt_cross(fast, slow) OVER w AS cross, expected
FROM ind_cross WINDOW w AS (PARTITION BY g ORDER BY t)
ORDER BY g, t;

-- The same rule written in plain SQL agrees with bt_cross on a real signal:
-- SMA(3) against SMA(8), whose ties on the halt are touches
WITH s AS (
	SELECT ts, bt_sma(close, 3) OVER w AS fast, bt_sma(close, 8) OVER w AS slow
	FROM ind_klines WHERE symbol = 'AAA' WINDOW w AS (ORDER BY ts)
), d AS (
	SELECT ts, fast, slow, bt_cross(fast, slow) OVER (ORDER BY ts) AS crossed,
		   sign(fast - slow) AS sgn
	FROM s
), p AS (
	SELECT *, (array_agg(sgn) FILTER (WHERE sgn <> 0)
				OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS prev
	FROM d
)
SELECT count(*) FILTER (WHERE crossed <> CASE
			WHEN sgn = 1 AND prev[cardinality(prev)] = -1 THEN 1
			WHEN sgn = -1 AND prev[cardinality(prev)] = 1 THEN -1
			ELSE 0 END) AS mismatches,
	   count(*) FILTER (WHERE fast = slow) AS ties,
	   string_agg(to_char(ts, 'MM-DD') || ':' || crossed, ' ' ORDER BY ts)
		   FILTER (WHERE crossed <> 0) AS crosses
FROM p;

--
-- Errors
--
-- unknown indicator: the hint lists the valid ones
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'smaa');
-- unknown parameter key
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma', '{"perod": 5}');
-- wrong jsonb type
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma', '{"period": "x"}');
-- out of range
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma', '{"period": 0}');
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'bbands', '{"k": 0}');
-- params not an object
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma', '[20]');
-- a missing column
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma',
								 '{"columns": {"close": "adj_close"}}');
-- a hostile column name is just a (quoted) name that does not exist
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma',
								 '{"columns": {"close": "close; drop table ind_cross"}}');
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'sma',
								 '{"columns": {"symbol": "symbol\" = symbol OR \"x"}}');
SELECT count(*) AS ind_cross_rows FROM ind_cross;
-- obv without a volume column
SELECT * FROM backtest_indicator('ind_klines', 'AAA', 'obv', '{"columns": {"volume": null}}');
-- a query source must hold one series: two symbols give duplicate timestamps
SELECT * FROM backtest_indicator_query(
	'SELECT ts, open, high, low, close FROM ind_klines ORDER BY ts', 'sma');
-- NULL arguments of the SRF
SELECT * FROM backtest_indicator('ind_klines', 'AAA', NULL);
-- window functions: period 0, bad k, NULL period
SELECT bt_sma(close, 0) OVER (ORDER BY ts) FROM ind_klines WHERE symbol = 'AAA';
SELECT bt_bb_upper(close, 20, -1) OVER (ORDER BY ts) FROM ind_klines WHERE symbol = 'AAA';
SELECT bt_ema(close, NULL) OVER (ORDER BY ts) FROM ind_klines WHERE symbol = 'AAA';
-- a period that changes within a partition
SELECT bt_sma(close, CASE WHEN ts < '2024-01-10' THEN 3 ELSE 4 END) OVER (ORDER BY ts)
FROM ind_klines WHERE symbol = 'AAA';
-- NULL input price (row 4 of the partition in window order)
SELECT bt_ema(x, 2) OVER (ORDER BY t)
FROM (VALUES (1, 1.0::float8), (2, 2), (3, 3), (4, NULL), (5, 5)) v(t, x);
SELECT bt_atr(h, l, c, 2) OVER (ORDER BY t)
FROM (VALUES (1, 2.0::float8, 1.0::float8, 1.5::float8), (2, 2, NULL, 1.5)) v(t, h, l, c);
-- NaN input price
SELECT bt_sma(x, 2) OVER (ORDER BY t)
FROM (VALUES (1, 1.0::float8), (2, 'NaN')) v(t, x);
-- high below low
SELECT bt_donchian_upper(h, l, 2) OVER (ORDER BY t)
FROM (VALUES (1, 2.0::float8, 1.0::float8), (2, 1, 2)) v(t, h, l);
-- not called as a window function
SELECT bt_sma(1.0, 3);

DROP VIEW ind_renamed;
DROP TABLE ind_klines, ind_cross;
