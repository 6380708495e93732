/*-------------------------------------------------------------------------
 *
 * live.h
 *	  Live streams over a K-line table (README, "Live streams"): what the
 *	  SQL functions (stream.c) and the source's triggers (trigger.c) share,
 *	  defined in parse.c, state.c and payload.c.
 *
 * A stream is a row of backtest.live_streams (its definition, as given)
 * and one row of backtest.live_state per symbol: the engine's state
 * (bt_live.h) after the symbol's last bar and as it was before that bar.
 * Both tables belong to pg_database_owner; every write to them runs as
 * that role (BTPG_BOOKKEEPER), reads that decide what a caller may see or
 * do run as the caller, under row-level security.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/live.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_LIVE_H
#define BTPG_LIVE_H

#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "core/columns.h"
#include "bt_live.h"

/* The channels */
#define BTPG_LIVE_CHART_CHANNEL		"backtest_chart"
#define BTPG_LIVE_SIGNAL_CHANNEL	"backtest_signal"

/* Payloads are cut below PostgreSQL's 8000-byte limit */
#define BTPG_LIVE_PAYLOAD_MAX		7900

/* Names of the source's triggers (one per event: transition tables need that) */
#define BTPG_LIVE_TRIGGER_INSERT	"backtest_live_insert"
#define BTPG_LIVE_TRIGGER_UPDATE	"backtest_live_update"
#define BTPG_LIVE_TRIGGER_DELETE	"backtest_live_delete"
#define BTPG_LIVE_TRIGGER_TRUNCATE	"backtest_live_truncate"

/* A stream, parsed */
typedef struct BtpgLiveStream
{
	int64		id;
	char	   *owner_name;
	Oid			owner;			/* InvalidOid: the role is gone */
	Oid			relid;
	char	   *symbol;			/* NULL: every symbol */
	char	   *strategy;		/* NULL: none */
	BtLiveSpec	spec;
	BtpgColumns	cols;			/* the source's columns (symbol NULL: none) */
	bool		full;			/* "payload": "full" */
	int			nout;			/* bt_live_noutputs(&spec) */
	char	   *label[BT_LIVE_MAX_IND * BT_IND_MAX_OUTPUTS];	/* "ema(20)", "macd(12,26,9).signal" */
	bool		show[BT_LIVE_MAX_IND * BT_IND_MAX_OUTPUTS];	/* the indicator's "outputs" */
} BtpgLiveStream;

/*
 * Parse a stream's strategy (NULL = none), params and indicators (NULL =
 * '{}', '[]') into ls->spec, cols, full and the labels, and check the
 * columns of the table relid it reads (symbol: NULL when the default
 * column is absent, volume when absent and unneeded); errors name the
 * culprit.
 */
extern void btpg_live_parse(Oid relid, const char *strategy, Jsonb *params, Jsonb *indicators,
							BtpgLiveStream *ls);

/* One bar of a series */
extern BtLiveBar btpg_live_bar(const BtSeries *s, int64 t);

/* Called by btpg_live_replay after each bar */
typedef void (*BtpgLiveBarFn) (void *arg, const BtSeries *s, int64 t, const double *out,
							   const BtLiveStep *step);

/*
 * Feed the bars of s (validated) to a fresh state of ls: returns it; *prev
 * gets the state before the last bar (NULL without bars).  fn (may be NULL)
 * sees every bar.  Palloc'd in CurrentMemoryContext.
 */
extern BtLiveState *btpg_live_replay(const BtpgLiveStream *ls, const BtSeries *s,
									 BtLiveState **prev, BtpgLiveBarFn fn, void *arg);

/* Report a failed bt_live_push (ERROR naming the stream, symbol and bar) */
extern void btpg_live_push_error(const BtpgLiveStream *ls, const char *symbol,
								 const BtLiveBar *bar, const BtError *err) pg_attribute_noreturn();

/* A state as bytea, and back (NULL: not a state of ls; a copy, aligned) */
extern bytea *btpg_live_state_bytea(const BtLiveState *st);
extern BtLiveState *btpg_live_state_from(bytea *b, const BtpgLiveStream *ls);

/* Save a symbol's state (replace its row if exists, else insert) as the bookkeeper */
extern void btpg_live_save(int64 stream, const char *symbol, const BtLiveState *st,
						   const BtLiveState *prev, bool exists);

/*
 * Run a statement through a plan prepared once (*plan, kept across
 * transactions) as role as_user (InvalidOid: the current user).  The SQL
 * must qualify every name.  Returns the SPI code (errors on failure).
 */
extern int	btpg_live_exec(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls, bool read_only, Oid as_user);

/* Load a symbol's bars (NULL: the source has no symbol column) as role as_user */
extern void btpg_live_load(const BtpgLiveStream *ls, const char *symbol, Oid as_user,
						   BtSeries *s);

/* "2024-01-02T09:30:00Z" (fractional seconds when not 0) */
extern void btpg_live_format_ts(int64_t t, char *buf, size_t len);

/* Append a JSON number (shortest round trip) or null for NaN */
extern void btpg_live_json_num(StringInfo buf, double v);

/* Whether PUBLIC may read every row of relid (the "full" payload rule) */
extern bool btpg_live_public_readable(Oid relid);

#endif							/* BTPG_LIVE_H */
