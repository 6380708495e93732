-- backtest_heatmap_svg: a valid SVG document with one cell per (x, y) pair
\set VERBOSITY default
CREATE TEMP TABLE grid AS
SELECT f::float8 AS fast, s::float8 AS slow, (f - s / 4.0) / 10.0 AS sharpe
FROM generate_series(5, 25, 5) f, generate_series(20, 60, 10) s;   -- 5 x 5 = 25 cells
SELECT backtest_heatmap_svg(array_agg(fast), array_agg(slow), array_agg(sharpe),
                            'fast', 'slow', 'sma_cross <sharpe> & "co"') AS svg
FROM grid \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed;
SELECT (xpath('count(//s:rect[@class="cell"])', :'svg'::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS cells;
SELECT (xpath('/s:svg/s:title/text()', :'svg'::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS title;
-- the best cell (fast 25, slow 20) is the greenest, the worst (5, 60) the reddest
SELECT (xpath('//s:rect[@class="cell"][contains(s:title, "fast=25, slow=20")]/@fill', :'svg'::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS best_fill,
       (xpath('//s:rect[@class="cell"][contains(s:title, "fast=5, slow=60")]/@fill', :'svg'::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS worst_fill;
-- a missing pair and a NULL value are grey cells, still on the grid
SELECT (xpath('count(//s:rect[@fill="rgb(220,220,220)"])',
              backtest_heatmap_svg(ARRAY[1, 1, 2, 2]::float8[], ARRAY[1, 2, 1, 2]::float8[],
                                   ARRAY[0.5, NULL, -0.5, 0.1]::float8[], 'a', 'b', 't')::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS grey_cells;
-- errors
SELECT backtest_heatmap_svg(ARRAY[1]::float8[], ARRAY[1, 2]::float8[], ARRAY[1]::float8[], 'a', 'b', 't');
SELECT backtest_heatmap_svg('{}'::float8[], '{}'::float8[], '{}'::float8[], 'a', 'b', 't');
SELECT backtest_heatmap_svg(NULL, ARRAY[1]::float8[], ARRAY[1]::float8[], 'a', 'b', 't');
SELECT backtest_heatmap_svg(ARRAY[1]::float8[], ARRAY[[1]]::float8[], ARRAY[1]::float8[], 'a', 'b', 't');
-- one scale on both sides of zero: +0.21 is a paler green than -0.57 is red,
-- and a positive value is never red; values are printed in the cells
SELECT backtest_heatmap_svg(ARRAY[1, 2, 3, 4]::float8[], ARRAY[1, 1, 1, 1]::float8[],
                            ARRAY[-0.57, -0.1, 0, 0.21]::float8[], 'a', 'b', 't') AS hm \gset
SELECT (xpath('//s:rect[@class="cell"][contains(s:title, "a=4,")]/@fill', :'hm'::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS plus_021,
       (xpath('//s:rect[@class="cell"][contains(s:title, "a=1,")]/@fill', :'hm'::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS minus_057,
       (xpath('//s:rect[@class="cell"][contains(s:title, "a=3,")]/@fill', :'hm'::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS zero,
       array_to_string(xpath('//s:text[@class="value"]/text()', :'hm'::xml,
                             ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])::text[], ' ') AS printed;
SELECT (xpath('//s:rect[@class="cell"][contains(s:title, "a=1,")]/@fill',
              backtest_heatmap_svg(ARRAY[1, 2]::float8[], ARRAY[1, 1]::float8[], ARRAY[0.1, 0.3]::float8[], 'a', 'b', 't')::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS small_positive;
-- a value too long for its cell is left to the tooltip
SELECT (xpath('count(//s:text[@class="value"])',
              backtest_heatmap_svg(ARRAY[1, 2]::float8[], ARRAY[1, 1]::float8[], ARRAY[-123456789, 0.5]::float8[], 'a', 'b', 't')::xml,
              ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text AS printed_values;
