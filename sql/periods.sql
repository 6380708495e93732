-- Period returns (issue 15 item 6): rows per day, ISO week, month, year;
-- compounding to the total return; the query and task forms; errors.
\set VERBOSITY default
SET extra_float_digits = 0;
SET TimeZone = 'UTC';
CREATE TABLE per (symbol text NOT NULL DEFAULT 'SYN', ts date NOT NULL, open float8, high float8,
                  low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
\copy per (ts, open, high, low, close, volume) FROM 'test/data/ohlcv_synth.csv' WITH (FORMAT csv, HEADER)

-- worked by hand: buy and hold 10 units from 100 (bars below), no costs;
-- equity = 0 cash + 10 x close after the fill at Jan 30's open (100)
CREATE TABLE per5 (ts timestamptz, open float8, high float8, low float8, close float8);
INSERT INTO per5 VALUES
    ('2024-01-29', 100, 100, 100, 100),   -- Mon: decision; equity 1000
    ('2024-01-30', 100, 111, 100, 110),   -- filled at 100; 1100
    ('2024-02-01', 110, 110,  99,  99),   -- Thu: 990
    ('2024-02-05',  99, 121,  99, 121),   -- Mon: 1210
    ('2024-03-01', 121, 121, 102, 102.85);-- Fri: 1028.5
-- months: Jan 1000 -> 1100 = +10%; Feb 1100 -> 1210 = +10% with a low of
-- 990 = -10%; Mar 1210 -> 1028.5 = -15%: 1.1 x 1.1 x 0.85 = 1.0285
SELECT period_start::date, period_end::date, bars, equity_start, equity_end,
       round(return_pct::numeric, 6) AS return_pct, trades, round(max_drawdown_pct::numeric, 6) AS max_dd
FROM backtest_period_returns('per5', NULL, 'buy_and_hold', '{"initial_capital": 1000, "columns": {"symbol": null}}');
-- ISO weeks from Monday: 1000 -> 990 = -1% (low -10% from 1100), 990 -> 1210, 1210 -> 1028.5
SELECT period_start::date, period_end::date, bars, round(return_pct::numeric, 6) AS return_pct,
       round(max_drawdown_pct::numeric, 6) AS max_dd
FROM backtest_period_returns('per5', NULL, 'buy_and_hold', '{"initial_capital": 1000, "columns": {"symbol": null}}', period => 'week');
SELECT period_start::date, period_end::date, bars, round(return_pct::numeric, 6) AS return_pct
FROM backtest_period_returns('per5', NULL, 'buy_and_hold', '{"initial_capital": 1000, "columns": {"symbol": null}}', period => 'year');

-- on 12 years of data, every period kind compounds to the run's return_pct,
-- counts every bar once and every closed trade once
CREATE FUNCTION per_check(params jsonb, period text)
RETURNS TABLE (periods bigint, compounds boolean, all_bars boolean, all_trades boolean, dd_within boolean)
LANGUAGE sql AS $$
SELECT count(*),
       abs(exp(sum(ln(1 + p.return_pct / 100))) - (1 + r.return_pct / 100)) < 1e-9,
       sum(p.bars) = r.bars,
       sum(p.trades) = r.trades_count,
       bool_and(p.max_drawdown_pct <= 0 AND p.max_drawdown_pct >= r.max_drawdown_pct - 1e-9)
FROM backtest_period_returns('per', 'SYN', 'sma_cross', params, period => per_check.period) p,
     backtest_run('per', 'SYN', 'sma_cross', params) r
GROUP BY r.return_pct, r.bars, r.trades_count
$$;
SELECT 'day' AS period, * FROM per_check('{"commission": 0.001}', 'day');
SELECT 'week' AS period, * FROM per_check('{"commission": 0.001}', 'week');
SELECT 'month' AS period, * FROM per_check('{"commission": 0.001, "allow_short": true}', 'month');
SELECT 'year' AS period, * FROM per_check('{"fill": "close", "stop_loss": 0.03}', 'year');
-- periods tile time: each starts where the previous one ended (months and
-- years have bars in every period here), and the first opens with the capital
SELECT bool_and(period_start = prev_end) AS contiguous, min(equity_start) FILTER (WHERE prev_end IS NULL) AS first_open
FROM (SELECT period_start, equity_start, lag(period_end) OVER (ORDER BY period_start) AS prev_end
      FROM backtest_period_returns('per', 'SYN', 'sma_cross', '{}', period => 'month')) s;
-- the query form equals the table form
SELECT count(*) AS differing FROM (
    SELECT * FROM backtest_period_returns('per', 'SYN', 'sma_cross', '{}', period => 'year')
    EXCEPT
    SELECT * FROM backtest_period_returns_query('SELECT ts, open, high, low, close FROM per ORDER BY ts', 'sma_cross', '{}', 'year')) d;

-- a finished task: the same rows from its stored curve and trades
SELECT backtest_submit('per', 'SYN', 'sma_cross', '{"initial_capital": 5000, "commission": 0.001}') AS task \gset
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM backtest.tasks WHERE status IN ('pending', 'running'));
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE t IS NOT DISTINCT FROM s) AS equal
FROM backtest_period_returns(:task, 'month') WITH ORDINALITY t
FULL JOIN backtest_period_returns('per', 'SYN', 'sma_cross', '{"initial_capital": 5000, "commission": 0.001}') WITH ORDINALITY s
USING (ordinality);
SELECT count(*) AS weeks FROM backtest_period_returns(:task, 'week');
SELECT backtest_delete(:task);
DELETE FROM backtest.notifications WHERE metadata->>'task_id' IN (:'task');
SELECT count(*) AS left_over FROM backtest.tasks WHERE id = :task;

-- the HTML report's monthly and annual tables are these periods (the first
-- opens from initial_capital): a fill at the first bar's close with a
-- commission moves the first bar's equity off the capital
\set hns 'ARRAY[ARRAY[''h'', ''http://www.w3.org/1999/xhtml'']]'
\set p5 '{"initial_capital": 1000, "fill": "close", "commission": 0.01, "columns": {"symbol": null}}'
SELECT backtest_report_html('per5', NULL, 'buy_and_hold', :'p5') AS phtml \gset
SELECT array_to_string(xpath('//h:table[@class="monthly"]//h:td[@class="month"]/text()', :'phtml'::xml, :hns)::text[], ' ') AS report_months,
       (SELECT string_agg(round(return_pct::numeric, 2)::text, ' ' ORDER BY period_start)
        FROM backtest_period_returns('per5', NULL, 'buy_and_hold', :'p5')) AS period_months,
       array_to_string(xpath('//h:table[@class="annual"]//h:td/text()', :'phtml'::xml, :hns)::text[], ' ') AS report_year,
       (SELECT round(return_pct::numeric, 2)::text
        FROM backtest_period_returns('per5', NULL, 'buy_and_hold', :'p5', period => 'year')) AS period_year,
       (SELECT round(return_pct::numeric, 2)::text FROM backtest_run('per5', NULL, 'buy_and_hold', :'p5')) AS run_return;

-- errors
SELECT * FROM backtest_period_returns('per', 'SYN', 'sma_cross', '{}', period => 'quarter');
SELECT * FROM backtest_period_returns('per', 'SYN', 'sma_cross', '{}', period => NULL);
SELECT * FROM backtest_period_returns(123456789);
-- no bars: no rows
SELECT count(*) FROM backtest_period_returns('per', 'NONE', 'sma_cross');

DROP FUNCTION per_check(jsonb, text);
DROP TABLE per, per5;
