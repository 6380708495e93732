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
