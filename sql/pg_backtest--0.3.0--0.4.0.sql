/*
 * pg_backtest 0.3.0 -> 0.4.0: a trustworthy queue (every database, one run
 * per task, private events, the submitter's context) and numbers a trader
 * can trust at every bar size.
 *
 * The full install script of 0.4.0 is the 0.1.0 script followed by every
 * step script, so a fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.4.0'" to load this file. \quit

-- ==== the backtest() aggregate: any row order, parallel, naive timestamps ====
-- ORDER BY ts is no longer needed (the final function sorts only rows that
-- came out of order); combine/serialize/deserialize make it a partial
-- aggregate for parallel workers; timestamp and date overloads read naive
-- values as UTC wall clock, never through the session TimeZone.
CREATE FUNCTION @extschema@.backtest_agg_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'backtest_agg_serialize'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

CREATE FUNCTION @extschema@.backtest_agg_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_deserialize'
LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;

CREATE OR REPLACE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group (any row order; ORDER BY ts is not needed)';

CREATE OR REPLACE AGGREGATE @extschema@.backtest(
    ts timestamptz, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamptz, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal (strategy ''signal''; any row order)';

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamp, double precision,
    double precision, double precision, double precision, double precision, text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, timestamp, double precision,
    double precision, double precision, double precision, double precision, double precision,
    text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, date, double precision,
    double precision, double precision, double precision, double precision, text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE FUNCTION @extschema@.backtest_agg_sfunc(internal, date, double precision,
    double precision, double precision, double precision, double precision, double precision,
    text, jsonb)
RETURNS internal
AS 'MODULE_PATHNAME', 'backtest_agg_sfunc'
LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;

CREATE AGGREGATE @extschema@.backtest(
    ts timestamp, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamp, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group; a timestamp without time zone is read as UTC wall clock';

CREATE AGGREGATE @extschema@.backtest(
    ts timestamp, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(timestamp, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal; timestamp read as UTC wall clock';

CREATE AGGREGATE @extschema@.backtest(
    ts date, open double precision, high double precision, low double precision,
    close double precision, volume double precision, strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(date, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group; a date is midnight UTC';

CREATE AGGREGATE @extschema@.backtest(
    ts date, open double precision, high double precision, low double precision,
    close double precision, volume double precision, signal double precision,
    strategy text, params jsonb) (
    SFUNC = @extschema@.backtest_agg_sfunc,
    STYPE = internal,
    FINALFUNC = @extschema@.backtest_agg_final,
    FINALFUNC_MODIFY = READ_ONLY,
    COMBINEFUNC = @extschema@.backtest_agg_combine,
    SERIALFUNC = @extschema@.backtest_agg_serialize,
    DESERIALFUNC = @extschema@.backtest_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.backtest(date, double precision, double precision, double precision, double precision, double precision, double precision, text, jsonb) IS
  'Backtest the bars of a group with a per-bar signal; a date is midnight UTC';
