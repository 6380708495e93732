/*
 * pg_backtest 0.4.0 -> 0.5.0.
 *
 * CREATE EXTENSION runs the 0.1.0 script followed by every step script, so a
 * fresh install and an upgrade create the same objects.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_backtest UPDATE TO '0.5.0'" to load this file. \quit
