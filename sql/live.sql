-- Live streams' SQL surface: argument errors, the privileges a stream needs,
-- the "full" payload rule, row-level security on streams and states, the
-- triggers installed by the first stream and removed by the last, payloads
-- (hand-checked values), a forming candle, a rebuild's NOTICE, a bad bar.
-- Batch equality on the sample data and restarts are in test/t/043_live.pl.
\set VERBOSITY default
SET TimeZone = 'UTC';
SET extra_float_digits = 0;

CREATE TABLE lk (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8,
                 low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO lk SELECT s, '2024-01-01'::timestamptz + i * interval '1 day', 10 + i, 11 + i, 9 + i, 10 + i, 100
FROM generate_series(0, 4) i, (VALUES ('A'), ('B')) v(s);
CREATE VIEW lk_view AS SELECT * FROM lk;

-- arguments
SELECT backtest_live_start(NULL);
SELECT backtest_live_start('lk_view');
SELECT backtest_live_start('lk', 'A', 'nope');
SELECT backtest_live_start('lk', 'A', 'sma_cross', '{"fast": 50, "slow": 10}');
SELECT backtest_live_start('lk', 'A', NULL, '{"fast": 5}');
SELECT backtest_live_start('lk', 'A', NULL, '{"payload": "some"}');
SELECT backtest_live_start('lk', 'A', NULL, '[]');
SELECT backtest_live_start('lk', 'A', NULL, '{}', '{"name": "ema"}');
SELECT backtest_live_start('lk', 'A', NULL, '{}', '[{"name": "emma"}]');
SELECT backtest_live_start('lk', 'A', NULL, '{}', '[{"name": "ema", "period": 0}]');
SELECT backtest_live_start('lk', 'A', NULL, '{}', '[{"name": "ema"}, {"name": "ema", "period": 20}]');
SELECT backtest_live_start('lk', 'A', NULL, '{}',
  (SELECT jsonb_agg(jsonb_build_object('name', 'sma', 'period', i)) FROM generate_series(1, 17) i));
SELECT backtest_live_start('lk', 'A', NULL, '{"columns": {"close": "px"}}');
SELECT backtest_live_start('lk', 'A', 'signal');
SELECT backtest_live_stop(424242);
SELECT * FROM backtest_live_bars(424242);
-- nothing was left behind by the failures
SELECT count(*) FROM backtest.live_streams;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'lk'::regclass;

-- a stream of A with an EMA(3) and buy_and_hold: the state holds the five bars
SELECT backtest_live_start('lk', 'A', 'buy_and_hold', '{"payload": "full"}',
                           '[{"name": "ema", "period": 3}, {"name": "macd", "outputs": ["histogram"]}]') AS a \gset
SELECT stream = :a AS mine, owner = current_user AS owner, source, symbol, strategy, bars, last_ts, position
FROM backtest_live_streams();
SELECT tgname FROM pg_trigger WHERE tgrelid = 'lk'::regclass ORDER BY tgname;
-- EMA(3) of 10, 11, 12 = 11; then 13 * 0.5 + 11 * 0.5 = 12, 14 * 0.5 + 12 * 0.5 = 13
SELECT ts, close, "values", target, position FROM backtest_live_bars(:a);
SELECT ts, "values" FROM backtest_live_bars(:a, '2024-01-05');

-- a new bar: ema = 15 * 0.5 + 13 * 0.5 = 14
INSERT INTO lk VALUES ('A', '2024-01-06', 15, 16, 14, 15, 100), ('B', '2024-01-06', 1, 1, 1, 1, 1);
-- the forming candle: close 17 recomputes the bar from the state before it (ema 15)
UPDATE lk SET close = 17, high = 17 WHERE symbol = 'A' AND ts = '2024-01-06';
-- an update that changes nothing the stream reads sends nothing
UPDATE lk SET volume = volume WHERE symbol = 'A';
UPDATE lk SET open = open WHERE symbol = 'B';
SELECT bars, last_ts FROM backtest_live_streams() WHERE stream = :a;
SELECT ts, close, "values" FROM backtest_live_bars(:a, '2024-01-05');

-- a bar older than the last: a NOTICE, the state rebuilt from the table
INSERT INTO lk VALUES ('A', '2023-12-31', 9, 10, 8, 9, 100);
SELECT bars, last_ts FROM backtest_live_streams() WHERE stream = :a;
SELECT ts, close, "values" FROM backtest_live_bars(:a, '2024-01-05');
-- the rebuilt buy_and_hold now buys on the new first bar: a signal, and its notification
SELECT owner = current_user AS mine, title, message, metadata, action
FROM backtest.notifications WHERE kind = 'signal';
DELETE FROM backtest.notifications WHERE kind = 'signal';
-- and the rebuild a system notification (low) for the stream's owner
SELECT owner = current_user AS mine, title, message, priority, metadata, action
FROM backtest.notifications WHERE kind = 'system';
DELETE FROM backtest.notifications WHERE kind = 'system';
-- a bad bar fails the insert, naming the stream (the state is unchanged)
INSERT INTO lk VALUES ('A', '2024-01-07', 15, 14, 16, 15, 100);
INSERT INTO lk VALUES ('A', '2024-01-07', 15, 16, 14, NULL, 100);
SELECT bars, last_ts FROM backtest_live_streams() WHERE stream = :a;
SELECT ts, close, "values" FROM backtest_live_bars(:a, '2024-01-05');

-- every symbol: one state per symbol, a new symbol starts from the table
SELECT backtest_live_start('lk') AS every \gset
INSERT INTO lk VALUES ('C', '2024-01-01', 5, 6, 4, 5, 10);
SELECT symbol, bars, last_ts, position FROM backtest_live_streams() WHERE stream = :every;

-- the signal strategy follows the table's signal column (NULL keeps, NaN is an error)
CREATE TABLE ls (ts timestamptz, open float8, high float8, low float8, close float8, sig float8);
INSERT INTO ls VALUES ('2024-01-01', 1, 1, 1, 1, NULL), ('2024-01-02', 1, 1, 1, 1, 1);
SELECT backtest_live_start('ls', NULL, 'signal', '{"columns": {"signal": "sig"}}') AS sg \gset
INSERT INTO ls VALUES ('2024-01-03', 1, 1, 1, 1, NULL), ('2024-01-04', 1, 1, 1, 1, -1),
                      ('2024-01-05', 1, 1, 1, 1, 0), ('2024-01-06', 1, 1, 1, 1, 1);
INSERT INTO ls VALUES ('2024-01-07', 1, 1, 1, 1, 'NaN');
INSERT INTO ls VALUES ('2024-01-07', 1, 1, 1, 1, 2);
SELECT ts, target, position FROM backtest_live_bars(:sg);
SELECT title FROM backtest.notifications WHERE kind = 'signal' ORDER BY id;
DELETE FROM backtest.notifications WHERE kind = 'signal';
SELECT backtest_live_stop(:sg);
DROP TABLE ls;

-- the privileges a stream needs, and the "full" payload rule
CREATE ROLE regress_live_alice LOGIN;
CREATE ROLE regress_live_bob LOGIN;
GRANT SELECT ON lk TO regress_live_alice;
SET ROLE regress_live_alice;
SELECT backtest_live_start('lk', 'A');
RESET ROLE;
GRANT TRIGGER ON lk TO regress_live_alice;
SET ROLE regress_live_alice;
SELECT backtest_live_start('lk', 'A', NULL, '{"payload": "full"}');
SELECT backtest_live_start('lk', 'A', 'sma_cross', '{"fast": 2, "slow": 3}') AS alice \gset
-- alice sees her stream only, and its state
SELECT count(*) AS streams, bool_and(owner = 'regress_live_alice') AS hers FROM backtest_live_streams();
SELECT count(*) FROM backtest.live_state;
SELECT state FROM backtest.live_state;
-- and cannot write them
DELETE FROM backtest.live_streams;
UPDATE backtest.live_state SET bars = 0;
SELECT backtest_live_stop(:a);
SELECT count(*) FROM backtest_live_bars(:a);
SELECT count(*) FROM backtest_live_bars(:alice);
RESET ROLE;
-- PUBLIC may read the table: a full payload is allowed (and not with row security)
GRANT SELECT ON lk TO PUBLIC;
SET ROLE regress_live_alice;
SELECT backtest_live_start('lk', 'B', NULL, '{"payload": "full"}') > 0 AS started;
RESET ROLE;
ALTER TABLE lk ENABLE ROW LEVEL SECURITY;
SET ROLE regress_live_alice;
SELECT backtest_live_start('lk', 'B', NULL, '{"payload": "full"}');
RESET ROLE;
ALTER TABLE lk DISABLE ROW LEVEL SECURITY;
-- bob: no stream of his, none of hers
SET ROLE regress_live_bob;
SELECT count(*) FROM backtest_live_streams();
SELECT count(*) FROM backtest.live_state;
SELECT backtest_live_stop(:alice);
SELECT count(*) FROM backtest_live_bars(:alice);
RESET ROLE;

-- a writer's search_path does not choose what a rebuild resolves (it reads as the
-- streams' owners): the domain would run its check as whoever casts to "text" there
CREATE SCHEMA regress_live_evil;
CREATE FUNCTION regress_live_evil.who(t pg_catalog.text) RETURNS boolean LANGUAGE plpgsql
  AS $$BEGIN RAISE NOTICE 'evil code runs as %', current_user; RETURN true; END$$;
CREATE DOMAIN regress_live_evil.text AS pg_catalog.text CHECK (regress_live_evil.who(VALUE));
GRANT USAGE ON SCHEMA regress_live_evil TO PUBLIC;
GRANT INSERT ON lk TO regress_live_bob;
SET ROLE regress_live_bob;
SET search_path = regress_live_evil, pg_catalog;
SELECT CAST('x' AS text) AS control;
INSERT INTO public.lk VALUES ('B', '2023-12-01', 1, 1, 1, 1, 1);
RESET search_path;
RESET ROLE;

-- stopping every stream removes the triggers, and only then
SELECT backtest_live_stop(:a);
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'lk'::regclass;
SELECT bool_and(backtest_live_stop(stream)) FROM (SELECT DISTINCT stream FROM backtest_live_streams()) s;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'lk'::regclass;
SELECT count(*) FROM backtest.live_streams;
SELECT count(*) FROM backtest.live_state;

-- the later rebuilds' system notifications, each for its stream's owner
SELECT n.owner, n.priority, n.message FROM backtest.notifications n WHERE n.kind = 'system' ORDER BY n.id;
DELETE FROM backtest.notifications WHERE kind = 'system';

REVOKE ALL ON lk FROM regress_live_alice, regress_live_bob, PUBLIC;
DROP SCHEMA regress_live_evil CASCADE;
DROP ROLE regress_live_alice;
DROP ROLE regress_live_bob;
DROP VIEW lk_view;
DROP TABLE lk;
