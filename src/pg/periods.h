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

#endif							/* BTPG_PERIODS_H */
