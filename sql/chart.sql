-- backtest_chart_svg: a well-formed SVG whose elements match the data,
-- escaped names, a size bounded by the width, the task form, errors
\set VERBOSITY default
SET TimeZone = 'UTC';
CREATE TABLE ck (symbol text, ts timestamptz, open float8, high float8, low float8, close float8, volume float8,
                 PRIMARY KEY (symbol, ts));
INSERT INTO ck
SELECT s, timestamptz '2020-01-01 00:00+00' + i * interval '1 day', c * 0.999, c * 1.01, c * 0.99, c, 1000
FROM (SELECT i, 100 * exp(0.2 * sin(i / 40.0) + 0.05 * sin(i / 7.0) + i * 1e-4) AS c
      FROM generate_series(0, 799) i) g,
     (VALUES ('A'), ('<A&"b''>')) v(s);
\set p '{"fast": 10, "slow": 30, "stop_loss": 0.03, "take_profit": 0.08, "allow_short": true}'
\set ns 'ARRAY[ARRAY[''s'', ''http://www.w3.org/2000/svg'']]'
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', :'p',
                          indicators => '[{"name": "ema", "period": 20}, {"name": "kdj", "outputs": ["k", "d", "j"]}]') AS svg \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed, length(:'svg') < 200000 AS small;
-- one entry and one exit marker per trade, each with a tooltip
SELECT count(*) AS trades,
       count(*) FILTER (WHERE side = 'long') AS longs,
       count(*) FILTER (WHERE exit_reason = 'stop_loss') AS stop_losses,
       count(*) FILTER (WHERE exit_reason = 'take_profit') AS take_profits,
       count(*) FILTER (WHERE pnl >= 0) AS winners
FROM backtest_trades('ck', 'A', 'sma_cross', :'p');
SELECT (xpath('count(//s:path[starts-with(@class, "entry")])', :'svg'::xml, :ns))[1]::text AS entries,
       (xpath('count(//s:path[@class="entry long"])', :'svg'::xml, :ns))[1]::text AS long_entries,
       (xpath('count(//s:path[starts-with(@class, "exit")])', :'svg'::xml, :ns))[1]::text AS exits,
       (xpath('count(//s:path[@class="exit stop_loss"])', :'svg'::xml, :ns))[1]::text AS stop_loss_exits,
       (xpath('count(//s:path[@class="exit take_profit"])', :'svg'::xml, :ns))[1]::text AS take_profit_exits,
       (xpath('count(//s:path[starts-with(@class, "exit")][@fill="#2e7d32"])', :'svg'::xml, :ns))[1]::text AS green_exits,
       (xpath('count(//s:g[@class="trade"]/s:title)', :'svg'::xml, :ns))[1]::text AS tooltips;
-- exits are coloured by the trade's P&L
SELECT (xpath('//s:g[@class="trade"][1]/s:title/text()', :'svg'::xml, :ns))[1]::text AS first_tooltip,
       (xpath('//s:g[@class="trade"][1]/s:path[starts-with(@class, "exit")]/@fill', :'svg'::xml, :ns))[1]::text AS first_exit_fill,
       (xpath('//s:g[@class="trade"][3]/s:title/text()', :'svg'::xml, :ns))[1]::text AS third_tooltip,
       (xpath('//s:g[@class="trade"][3]/s:path[starts-with(@class, "exit")]/@fill', :'svg'::xml, :ns))[1]::text AS third_exit_fill;
-- panels: price, kdj, equity, drawdown; legend: close, ema, kdj k/d/j, 7 markers, equity, buy & hold, drawdown
SELECT array_to_string(xpath('//s:g[@class="panel"]/@id', :'svg'::xml, :ns)::text[], ', ') AS panels,
       (xpath('count(//s:g[@class="legend-item"])', :'svg'::xml, :ns))[1]::text AS legend_items,
       array_to_string(xpath('//s:g[@class="legend-item"]/s:text/text()', :'svg'::xml, :ns)::text[], ', ') AS legend;
-- 800 bars on 1112 pixels: candles; time labels suit 2+ years
SELECT (xpath('count(//s:path[starts-with(@class, "candles")])', :'svg'::xml, :ns))[1]::text AS candle_paths,
       (xpath('count(//s:path[@class="band"])', :'svg'::xml, :ns))[1]::text AS bands,
       array_to_string(xpath('//s:text[@class="xlabel"]/text()', :'svg'::xml, :ns)::text[], ' ') AS time_labels;
-- the equity line stays inside its panel's frame
SELECT bool_and(split_part(pt, ',', 2)::float8 BETWEEN fy AND fy + fh) AS equity_inside
FROM (SELECT (xpath('//s:g[@id="btc-panel-equity"]/s:rect/@y', :'svg'::xml, :ns))[1]::text::float8 AS fy,
             (xpath('//s:g[@id="btc-panel-equity"]/s:rect/@height', :'svg'::xml, :ns))[1]::text::float8 AS fh,
             regexp_split_to_table(trim((xpath('//s:polyline[@class="equity"]/@points', :'svg'::xml, :ns))[1]::text), ' ') AS pt) e;
-- fewer pixels than bars: a high/low band and the close line instead of candles
SELECT (xpath('count(//s:path[@class="band"])', s::xml, :ns))[1]::text AS bands,
       (xpath('count(//s:polyline[@class="close"])', s::xml, :ns))[1]::text AS close_lines,
       (xpath('count(//s:path[starts-with(@class, "candles")])', s::xml, :ns))[1]::text AS candle_paths
FROM backtest_chart_svg('ck', 'A', 'sma_cross', :'p', '2020-01-01', '2021-12-31', 400, 300) s;

-- an indicator reading volume gets it even though the strategy does not
SELECT array_to_string(xpath('//s:g[@class="panel"]/@id', s::xml, :ns)::text[], ', ') AS panels,
       (xpath('count(//s:g[@class="oscillator"]/s:polyline)', s::xml, :ns))[1]::text AS lines
FROM backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"name": "obv"}, {"name": "sma", "period": 50, "panel": "own"}]') s;
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', '{"columns": {"volume": null}}', indicators => '[{"name": "obv"}]');

-- hostile symbol and strategy parameters render as text
SELECT backtest_chart_svg('ck', '<A&"b''>', 'sma_cross') AS hsvg \gset
SELECT xml_is_well_formed_document(:'hsvg') AS well_formed,
       (xpath('/s:svg/s:title/text()', :'hsvg'::xml, :ns))[1]::text AS title,
       position('<A&' IN :'hsvg') AS raw_name_at;

-- the size is bounded by the width, not by the bars: 3,000,000 one-minute bars
CREATE VIEW big AS
SELECT 'B'::text AS symbol, timestamptz '2015-01-01 00:00+00' + i * interval '1 minute' AS ts,
       c AS open, c + 0.1 AS high, c - 0.1 AS low, c AS close, 1::float8 AS volume
FROM (SELECT i, 100 + 20 * sin(i / 40000.0) + 5 * sin(i / 700.0) AS c FROM generate_series(0, 2999999) i) g;
SELECT backtest_chart_svg('big', 'B', 'sma_cross', '{"fast": 2000, "slow": 20000, "fractional": true}',
                          indicators => '[{"name": "ema", "period": 5000}]') AS bsvg \gset
SELECT xml_is_well_formed_document(:'bsvg') AS well_formed, length(:'bsvg') < 300000 AS under_300kb,
       (xpath('count(//s:g[@class="trade"])', :'bsvg'::xml, :ns))[1]::text AS trades,
       (xpath('count(//s:path[@class="band"])', :'bsvg'::xml, :ns))[1]::text AS bands,
       array_to_string(xpath('//s:text[@class="xlabel"]/text()', :'bsvg'::xml, :ns)::text[], ' ') AS time_labels;
DROP VIEW big;
-- many trades: markers merge per pixel column, the size stays bounded
CREATE VIEW wiggly AS
SELECT 'W'::text AS symbol, timestamptz '2015-01-01 00:00+00' + i * interval '1 minute' AS ts,
       c AS open, c + 0.1 AS high, c - 0.1 AS low, c AS close, 1::float8 AS volume
FROM (SELECT i, 100 + 5 * sin(i / 30.0) AS c FROM generate_series(0, 199999) i) g;
SELECT length(s) < 400000 AS under_400kb,
       (xpath('count(//s:g[@class="trade"])', s::xml, :ns))[1]::text AS tooltipped,
       (xpath('count(//s:path[contains(@class, "merged")])', s::xml, :ns))[1]::text AS merged_paths,
       (xpath('//s:text[@class="note"]/text()', s::xml, :ns))[1]::text AS note
FROM backtest_chart_svg('wiggly', 'W', 'sma_cross', '{"fast": 5, "slow": 20, "fractional": true}') s;
DROP VIEW wiggly;

-- the task form reads the stored results as the caller; a task with the
-- rows a worker would have written; the unfinished one pending with a retry
-- a day away, which no dispatcher touches (a 'running' row without a worker
-- was requeued when the launcher's start-up pass reached this database
-- mid-test)
INSERT INTO backtest.tasks (id, owner, source, symbol, strategy, params, status, retry_at)
VALUES (900001, 'postgres', 'ck', 'A', 'sma_cross', :'p', 'completed', NULL),
       (900002, 'postgres', 'ck', 'A', 'sma_cross', '{}', 'pending', now() + interval '1 day');
INSERT INTO backtest.results SELECT 900001, 'postgres', m.* FROM backtest_run('ck', 'A', 'sma_cross', :'p') m;
INSERT INTO backtest.trades SELECT 900001, 'postgres', t.* FROM backtest_trades('ck', 'A', 'sma_cross', :'p') t;
INSERT INTO backtest.equity_curves
SELECT 900001, 'postgres', array_agg(ts ORDER BY ts), array_agg(close ORDER BY ts), array_agg(position ORDER BY ts),
       array_agg(equity ORDER BY ts)
FROM backtest_equity('ck', 'A', 'sma_cross', :'p');
-- backtest.equity derives drawdown_pct from the stored equity (0.5.0): the
-- rows are backtest_equity's, bit for bit
SELECT count(*) AS rows,
       count(*) FILTER (WHERE pg_catalog.float8send(e.drawdown_pct) = pg_catalog.float8send(s.drawdown_pct)
                          AND pg_catalog.float8send(e.equity) = pg_catalog.float8send(s.equity)
                          AND e.close = s.close AND e.position = s.position) AS bit_equal,
       min(e.drawdown_pct) < 0 AS has_a_drawdown
FROM backtest.equity e JOIN backtest_equity('ck', 'A', 'sma_cross', :'p') s USING (ts)
WHERE e.task_id = 900001;
SELECT backtest.equity_drawdown('{100, 110, 99, 121, 0}') AS drawdown,
       backtest.equity_drawdown('{}') AS empty;
SELECT backtest.equity_drawdown('{100, NULL}');
SELECT backtest_chart_svg(900001, indicators => '[{"name": "ema", "period": 20}, {"name": "kdj", "outputs": ["k", "d", "j"]}]') AS tsvg \gset
SELECT (xpath('/s:svg/s:title/text()', :'tsvg'::xml, :ns))[1]::text AS title,
       regexp_replace(:'tsvg', 'Task 900001: ', '', 'g') = :'svg' AS same_as_synchronous;
-- a hostile search_path changes nothing
CREATE SCHEMA evil;
CREATE FUNCTION evil.always_true(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.always_true);
SET search_path = evil, public, pg_catalog;
SELECT public.backtest_chart_svg(900001, indicators => '[{"name": "ema", "period": 20}, {"name": "kdj", "outputs": ["k", "d", "j"]}]') = :'tsvg' AS unchanged;
RESET search_path;
DROP SCHEMA evil CASCADE;
-- another role cannot see the task: it does not exist
CREATE ROLE regress_chart_other;
GRANT SELECT ON ck TO regress_chart_other;
SET ROLE regress_chart_other;
SELECT backtest_chart_svg(900001);
RESET ROLE;
DROP OWNED BY regress_chart_other;
DROP ROLE regress_chart_other;

-- errors
SELECT backtest_chart_svg(123456789);
SELECT backtest_chart_svg(900002);
SELECT backtest_chart_svg(900001, 100, 800);
SELECT backtest_chart_svg(900001, 1200, 90000);
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', width => NULL);
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"name": "nope"}]');
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"period": 3}]');
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '{"name": "ema"}');
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"name": "ema", "colour": "red"}]');
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"name": "kdj", "outputs": ["x"]}]');
SELECT backtest_chart_svg('ck', 'A', 'sma_cross', indicators => '[{"name": "ema", "panel": "left"}]');
SELECT backtest_chart_svg('ck', 'A', 'nope');

-- backtest_report_html: one well-formed (polyglot XHTML) page, no fetches
\set hns 'ARRAY[ARRAY[''h'', ''http://www.w3.org/1999/xhtml''], ARRAY[''s'', ''http://www.w3.org/2000/svg'']]'
SELECT backtest_report_html('ck', 'A', 'sma_cross', :'p', indicators => '[{"name": "ema", "period": 20}]') AS html \gset
SELECT xml_is_well_formed_document(:'html') AS well_formed,
       :'html' ~ '(src|href)\s*=' AS fetches,
       (xpath('count(//s:svg)', :'html'::xml, :hns))[1]::text AS charts;
-- the statistics in backtesting.py's order, then ours
SELECT array_to_string(xpath('//h:table[@class="stats"]//h:th/text()', :'html'::xml, :hns)::text[], ' | ') AS stats;
SELECT (xpath('//h:table[@class="stats"]/h:tr[h:th="# Trades"]/h:td/text()', :'html'::xml, :hns))[1]::text AS trades,
       (xpath('//h:table[@class="stats"]/h:tr[h:th="Sharpe Ratio"]/h:td/text()', :'html'::xml, :hns))[1]::text AS sharpe,
       (SELECT round(sharpe_ratio::numeric, 3)::text FROM backtest_run('ck', 'A', 'sma_cross', :'p')) AS sharpe_run;
-- one cell per month with bars (2020-01 .. 2022-03: 27), one row per year
SELECT (xpath('count(//h:table[@class="monthly"]//h:td[@class="month"])', :'html'::xml, :hns))[1]::text AS month_cells,
       (SELECT count(DISTINCT date_trunc('month', ts)) FROM ck WHERE symbol = 'A') AS months,
       (xpath('count(//h:table[@class="annual"]//h:td)', :'html'::xml, :hns))[1]::text AS years,
       array_to_string(xpath('//h:table[@class="annual"]//h:td/text()', :'html'::xml, :hns)::text[], ' ') AS annual;
-- the annual returns compound the monthly ones
SELECT round((((SELECT exp(sum(ln(1 + v::text::float8 / 100)))
               FROM unnest(xpath('//h:table[@class="monthly"]/h:tr[h:th="2021"]/h:td[@class="month"]/text()',
                                 :'html'::xml, :hns)) v) - 1) * 100)::numeric, 2)
       - (xpath('//h:table[@class="annual"]/h:tr[h:th="2021"]/h:td/text()', :'html'::xml, :hns))[1]::text::numeric
       BETWEEN -0.1 AND 0.1 AS compounds;
-- first and last 10 of 30 trades, the gap between; parameters and the fill contract
SELECT (xpath('count(//h:table[@class="trades"]//h:tr[@class="trade"])', :'html'::xml, :hns))[1]::text AS trade_rows,
       (xpath('//h:tr[@class="gap"]/h:td/text()', :'html'::xml, :hns))[1]::text AS gap,
       (xpath('//h:table[@class="params"]/h:tr[h:th="slow"]/h:td/text()', :'html'::xml, :hns))[1]::text AS slow,
       (xpath('//h:table[@class="contract"]/h:tr[h:th="fill"]/h:td/text()', :'html'::xml, :hns))[1]::text AS fill,
       (xpath('//h:table[@class="contract"]/h:tr[h:th="stop_loss"]/h:td/text()', :'html'::xml, :hns))[1]::text AS stop_loss;
-- hostile names are text in the page too
SELECT xml_is_well_formed_document(h) AS well_formed, (xpath('//h:h1/text()', h::xml, :hns))[1]::text AS heading
FROM backtest_report_html('ck', '<A&"b''>', 'sma_cross') h;
-- the task form: the same page but for the title
SELECT regexp_replace(backtest_report_html(900001, indicators => '[{"name": "ema", "period": 20}]'),
                      'Task 900001: ', '', 'g') = :'html' AS same_as_synchronous;
SELECT backtest_report_html(900002);
SELECT backtest_report_html(900001, 1200, 100);
DELETE FROM backtest.tasks WHERE id IN (900001, 900002);
