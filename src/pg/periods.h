/*-------------------------------------------------------------------------
 *
 * periods.h
 *	  backtest_period_returns: the rows of returns by calendar period, from
 *	  a synchronous run (run.c) or a finished task (periods.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/periods.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_PERIODS_H
#define BTPG_PERIODS_H

#include "postgres.h"

#include "fmgr.h"

#include "bt_engine.h"

/* Columns of backtest_period_returns() */
#define BTPG_PERIOD_NATTS	8

/* The period named by argument `arg` of the call (ereport if none is) */
extern BtPeriod btpg_period_arg(FunctionCallInfo fcinfo, int arg);

/*
 * Emit the rows of an equity curve (ts ascending, engine usecs) starting
 * from `base`, with the exit timestamps of its closed trades (ascending),
 * into the call's tuplestore (SetSingleFuncCall done).
 */
extern void btpg_period_rows(FunctionCallInfo fcinfo, const int64_t *ts, const double *equity,
							 int64 n, double base, const int64_t *exits, int64 nexits,
							 BtPeriod period);

/* A completed task's stored curve, as read back (btpg_task_curve) */
typedef struct BtpgStoredCurve
{
	char	   *strategy;
	char	   *params_text;	/* the task's params as text, or NULL */
	int64		n;
	int64_t    *ts;				/* engine timestamps */
	double	   *equity;
} BtpgStoredCurve;

/*
 * Read completed backtest or portfolio task task_id's stored curve as the
 * caller; true for a portfolio.  Caller has SPI connected.
 */
extern bool btpg_task_curve(MemoryContext cxt, int64 task_id, const char *what,
							BtpgStoredCurve *c);

#endif							/* BTPG_PERIODS_H */
