/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit

-- ==== live streams (issue 12) ====
-- A stream: its definition as given.  Written only by the functions below,
-- as pg_database_owner (the tables' owner, like backtest.tasks); each role
-- sees its own rows (and backtest_admin all).  Not dumped: a stream lives
-- with the table's triggers and states of this installation (a restored
-- trigger without streams does nothing).
CREATE TABLE backtest.live_streams (
    id          bigserial PRIMARY KEY,
    owner       name NOT NULL,
    source      oid NOT NULL,
    symbol      text,
    strategy    text,
    params      jsonb NOT NULL DEFAULT '{}',
    indicators  jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX live_streams_source_idx ON backtest.live_streams (source);
COMMENT ON TABLE backtest.live_streams IS
  'One row per live stream (backtest_live_start): the table it follows, its symbol (NULL = every symbol), strategy, params and indicators';
COMMENT ON COLUMN backtest.live_streams.source IS 'The pg_class OID of the K-line table';

-- A stream's engine state per symbol ('' when the table has no symbol
-- column): after the last bar, and before it (for a forming candle).  A
-- few kB each, rewritten by every statement: kept in the row uncompressed
-- (toast_tuple_target), compressing them would cost more than the I/O saved;
-- fillfactor 50 makes each page prune its dead versions early, so the next
-- version fits beside the live one (a HOT update, no new index entry).
CREATE TABLE backtest.live_state (
    stream      bigint NOT NULL REFERENCES backtest.live_streams (id) ON DELETE CASCADE,
    symbol      text NOT NULL,
    bars        bigint NOT NULL,
    last_ts     timestamptz,
    position    smallint NOT NULL,
    state       bytea NOT NULL,
    prev_state  bytea,
    PRIMARY KEY (stream, symbol)
) WITH (toast_tuple_target = 8160, fillfactor = 50);
COMMENT ON TABLE backtest.live_state IS
  'The incremental state of each live stream and symbol, advanced by the table''s triggers in the writing transaction';

ALTER TABLE backtest.live_streams ENABLE ROW LEVEL SECURITY;
ALTER TABLE backtest.live_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY live_streams_owner ON backtest.live_streams FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(r.oid, 'MEMBER')))
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) 'backtest_admin' AND pg_catalog.pg_has_role(a.oid, 'MEMBER')));
-- a state is visible with its stream
CREATE POLICY live_state_owner ON backtest.live_state FOR SELECT
    USING (EXISTS (SELECT 1 FROM backtest.live_streams s WHERE s.id OPERATOR(pg_catalog.=) stream));
REVOKE ALL ON backtest.live_streams, backtest.live_state FROM PUBLIC;
GRANT SELECT ON backtest.live_streams TO PUBLIC;
GRANT SELECT (stream, symbol, bars, last_ts, position) ON backtest.live_state TO PUBLIC;
ALTER TABLE backtest.live_streams OWNER TO pg_database_owner;
ALTER TABLE backtest.live_state OWNER TO pg_database_owner;

CREATE FUNCTION backtest.live_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'backtest_live_trigger'
LANGUAGE C;
COMMENT ON FUNCTION backtest.live_trigger() IS
  'The statement-level triggers live streams put on their table';

CREATE FUNCTION @extschema@.backtest_live_start(source regclass, symbol text DEFAULT NULL,
    strategy text DEFAULT NULL, params jsonb DEFAULT '{}', indicators jsonb DEFAULT '[]')
RETURNS bigint
AS 'MODULE_PATHNAME', 'backtest_live_start'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_start(regclass, text, text, jsonb, jsonb) IS
  'Start a live stream over a K-line table: NOTIFY backtest_chart with each statement''s new bars, backtest_signal when the strategy''s target position changes; returns the stream id';

CREATE FUNCTION @extschema@.backtest_live_stop(stream bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'backtest_live_stop'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_stop(bigint) IS
  'Stop a live stream; the last stream of a table removes its triggers';

CREATE FUNCTION @extschema@.backtest_live_bars(stream bigint, since_ts timestamptz DEFAULT NULL)
RETURNS TABLE (symbol text, ts timestamptz, open double precision, high double precision,
               low double precision, close double precision, volume double precision,
               "values" jsonb, target smallint, "position" smallint)
AS 'MODULE_PATHNAME', 'backtest_live_bars'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.backtest_live_bars(bigint, timestamptz) IS
  'A live stream''s bars from since_ts on, with its indicator values, target and position, read from the table as the caller';

CREATE FUNCTION @extschema@.backtest_live_streams()
RETURNS TABLE (stream bigint, owner name, source regclass, symbol text, strategy text,
               indicators jsonb, bars bigint, last_ts timestamptz, "position" smallint,
               created_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.id, s.owner, s.source::pg_catalog.regclass,
           COALESCE(NULLIF(st.symbol, ''), s.symbol), s.strategy, s.indicators,
           st.bars, st.last_ts, CASE WHEN s.strategy IS NOT NULL THEN st.position END, s.created_at
    FROM backtest.live_streams s
    LEFT JOIN backtest.live_state st ON st.stream OPERATOR(pg_catalog.=) s.id
    ORDER BY s.id, st.symbol COLLATE "C"
$$;
COMMENT ON FUNCTION @extschema@.backtest_live_streams() IS
  'My live streams, one row per stream and symbol: source, strategy, bars seen, last bar and target position';
