-- Portfolio charts and reports: backtest_portfolio_chart_svg and
-- backtest_portfolio_report_html, and the task forms of backtest_chart_svg
-- and backtest_report_html for a portfolio task.  Well-formed XML whose
-- lanes, positions and markers match backtest_portfolio_trades.
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
INSERT INTO pf SELECT '<E&"x''>', ts, open, high, low, close, volume FROM pf WHERE symbol = 'AAA';
\set p '{"fast": 5, "slow": 20, "benchmark": "IDX", "max_positions": 3, "stop_loss": 0.05, "allow_short": true}'
\set ns 'ARRAY[ARRAY[''s'', ''http://www.w3.org/2000/svg'']]'
SELECT backtest_portfolio_chart_svg('pf', 'sma_cross', :'p') AS svg \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed, length(:'svg') < 200000 AS small;
-- what the chart should show
SELECT count(DISTINCT symbol) AS symbols_traded, count(*) AS trades,
       count(*) FILTER (WHERE side = 'long') AS longs, count(*) FILTER (WHERE side = 'short') AS shorts,
       count(*) FILTER (WHERE exit_reason = 'stop_loss') AS stop_losses, count(*) FILTER (WHERE is_open) AS open
FROM backtest_portfolio_trades('pf', 'sma_cross', :'p');
-- a lane per symbol that traded, in name order (escaped); a span, an entry
-- and an exit per trade, each with a tooltip naming the symbol
SELECT array_to_string(xpath('//s:text[@class="lane"]/text()', :'svg'::xml, :ns)::text[], ', ') AS lanes,
       (xpath('count(//s:rect[starts-with(@class, "position")])', :'svg'::xml, :ns))[1]::text AS spans,
       (xpath('count(//s:rect[@class="position short"])', :'svg'::xml, :ns))[1]::text AS short_spans,
       (xpath('count(//s:path[starts-with(@class, "entry")])', :'svg'::xml, :ns))[1]::text AS entries,
       (xpath('count(//s:path[starts-with(@class, "exit")])', :'svg'::xml, :ns))[1]::text AS exits,
       (xpath('count(//s:path[@class="exit stop_loss"])', :'svg'::xml, :ns))[1]::text AS stop_loss_exits,
       (xpath('count(//s:path[@class="exit end"][@fill="none"])', :'svg'::xml, :ns))[1]::text AS open_exits,
       (xpath('count(//s:g[@class="trade"]/s:title)', :'svg'::xml, :ns))[1]::text AS tooltips;
SELECT (xpath('//s:g[@class="trade"][1]/s:title/text()', :'svg'::xml, :ns))[1]::text AS first_tooltip;
-- every trade's tooltip starts with its own lane's symbol
SELECT count(*) AS tooltips_on_their_lane
FROM (SELECT unnest(xpath('//s:g[@class="trade"]/s:title/text()', :'svg'::xml, :ns))::text AS tip) t
JOIN (SELECT DISTINCT symbol FROM backtest_portfolio_trades('pf', 'sma_cross', :'p')) s
  ON t.tip LIKE replace(replace(replace(s.symbol, '&', '&amp;'), '<', '&lt;'), '>', '&gt;') || ':%'
  OR t.tip LIKE s.symbol || ':%';
-- panels and legend; the equity line: one or two points per pixel column, inside its frame
SELECT array_to_string(xpath('//s:g[@class="panel"]/@id', :'svg'::xml, :ns)::text[], ', ') AS panels,
       array_to_string(xpath('//s:g[@class="legend-item"]/s:text/text()', :'svg'::xml, :ns)::text[], ', ') AS legend,
       (xpath('count(//s:polyline[@class="cash"])', :'svg'::xml, :ns))[1]::text AS cash_lines;
SELECT bool_and(split_part(pt, ',', 2)::float8 BETWEEN fy AND fy + fh) AS equity_inside, count(*) <= 2 * 1112 AS bounded
FROM (SELECT (xpath('//s:g[@id="btc-panel-equity"]/s:rect/@y', :'svg'::xml, :ns))[1]::text::float8 AS fy,
             (xpath('//s:g[@id="btc-panel-equity"]/s:rect/@height', :'svg'::xml, :ns))[1]::text::float8 AS fh,
             regexp_split_to_table(trim((xpath('//s:polyline[@class="equity"]/@points', :'svg'::xml, :ns))[1]::text), ' ') AS pt) e;

-- many trades: spans merged per lane and pixel column, no markers
SELECT xml_is_well_formed_document(s) AS well_formed,
       (xpath('count(//s:path[starts-with(@class, "position") and contains(@class, "merged")])', s::xml, :ns))[1]::text AS merged_paths,
       (xpath('count(//s:g[@class="trade"])', s::xml, :ns))[1]::text AS trade_groups,
       (xpath('//s:text[@class="note"]/text()', s::xml, :ns))[1]::text AS note
FROM backtest_portfolio_chart_svg('pf', 'sma_cross', '{"fast": 2, "slow": 3, "allow_short": true, "rebalance": "daily"}',
                                  width => 400, height => 300) s;

-- the report: well-formed, the portfolio's statistics, a trades table with the symbol
SELECT backtest_portfolio_report_html('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX"}') AS html \gset
SELECT xml_is_well_formed_document(:'html') AS well_formed,
       (xpath('count(//h:tr[@class="portfolio"])', :'html'::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml']]))[1]::text AS portfolio_rows,
       array_to_string(xpath('//h:tr[@class="portfolio"]/h:th/text()', :'html'::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml']])::text[], ', ') AS portfolio_stats,
       (xpath('//h:table[@class="trades"]/h:tr[1]/h:th[2]/text()', :'html'::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml']]))[1]::text AS second_column,
       (xpath('count(//h:table[@class="trades"]/h:tr[@class="trade"])', :'html'::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml']]))[1]::text AS trade_rows,
       (SELECT count(*) FROM backtest_portfolio_trades('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX"}')) AS trades,
       (xpath('//h:tr[h:th="Beta"]/h:td/text()', :'html'::xml, ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml']]))[1]::text AS beta,
       (SELECT round(beta::numeric, 3)::text FROM backtest_portfolio('pf', 'rotation', '{"top": 2, "period": 20, "rebalance": "weekly", "benchmark": "IDX"}')) AS beta_row;

-- a completed portfolio task draws as the synchronous call does (its title says the task)
CREATE PROCEDURE wait_idle() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
        COMMIT;
    END LOOP;
END
$$;
SELECT backtest_submit_portfolio('pf', 'sma_cross', :'p') AS task \gset
CALL wait_idle();
SELECT status FROM backtest.tasks WHERE id = :task;
SELECT backtest_chart_svg(:task) AS tsvg \gset
SELECT xml_is_well_formed_document(:'tsvg') AS well_formed,
       :'tsvg' LIKE '%<title>Task ' || :task || ': portfolio, sma_cross %' AS titled,
       regexp_replace(:'tsvg', 'Task \d+: ', '', 'g') = :'svg' AS same_svg;
SELECT backtest_report_html(:task) AS thtml \gset
SELECT xml_is_well_formed_document(backtest_report_html(:task)) AS report_well_formed,
       regexp_replace(backtest_report_html(:task), 'Task \d+: ', '', 'g')
         = backtest_portfolio_report_html('pf', 'sma_cross', :'p') AS same_report;
SELECT backtest_chart_svg(:task, indicators => '[{"name": "ema"}]');
-- a hostile search_path changes nothing and runs nothing
CREATE TABLE evil_calls (n int);
CREATE SCHEMA evil;
CREATE FUNCTION evil.t_eq(text, text) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (1); SELECT true';
CREATE FUNCTION evil.i_eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'INSERT INTO public.evil_calls VALUES (2); SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.t_eq);
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.i_eq);
CREATE COLLATION evil."C" FROM pg_catalog."POSIX";
SET search_path = evil, public, pg_catalog;
SELECT public.backtest_chart_svg(:task) OPERATOR(pg_catalog.=) :'tsvg' AS same_chart,
       public.backtest_report_html(:task) OPERATOR(pg_catalog.=) :'thtml' AS same_report;
RESET search_path;
SELECT count(*) AS hostile_calls FROM evil_calls;
DROP SCHEMA evil CASCADE;
DROP TABLE evil_calls;
SELECT backtest_delete(:task);

-- errors
SELECT backtest_portfolio_chart_svg('pf', 'sma_cross', '{}', ARRAY['NOPE']);
SELECT backtest_portfolio_chart_svg('pf', 'sma_cross', width => 10);
SELECT backtest_portfolio_report_html('pf', 'rotation', '{"rebalance": "none"}');
DROP PROCEDURE wait_idle();
DROP TABLE pf;
