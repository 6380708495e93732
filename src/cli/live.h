/*-------------------------------------------------------------------------
 *
 * live.h
 *	  "pg_backtest live": follow a live stream (live.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/cli/live.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_CLI_LIVE_H
#define PG_BACKTEST_CLI_LIVE_H

#include <signal.h>

#include "libpq-fe.h"

/* What to follow: an existing stream, or a new one on source/symbol */
typedef struct LiveArgs
{
	const char *stream;			/* --stream ID, or NULL */
	const char *source;
	const char *symbol;
	const char *strategy;		/* --strategy, or NULL */
	const char *params;			/* --params JSON, or NULL ({}) */
	const char *indicators;		/* --indicators JSON, or NULL ([]) */
} LiveArgs;

/*
 * Start (or find) the stream and print its bars and signals until
 * *interrupted; a stream started here is stopped before returning.
 * Returns the exit status (0, or 3 on a connection or SQL error).
 */
extern int	cli_live(PGconn *conn, const LiveArgs *a, volatile sig_atomic_t *interrupted);

#endif
