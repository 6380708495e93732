/*-------------------------------------------------------------------------
 *
 * backtest_arrays.h
 *	  A backtest over columnar arrays: backtest_arrays() and the core it
 *	  shares with the backtest() aggregate's final function.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/backtest_arrays.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_BACKTEST_ARRAYS_H
#define BTPG_BACKTEST_ARRAYS_H

#include "fmgr.h"
#include "utils/jsonb.h"

#include "bt_engine.h"

/*
 * Run a backtest on n bars (ts ascending or not yet validated: the series
 * is validated here; col: open, high, low, close, volume[, signal]) with
 * strategy and params (NULL = '{}') and return the metrics row of fcinfo's
 * result type; the engine allocates from engine_alloc (NULL: a memory
 * context of the call's, deleted before return).
 */
extern Datum btpg_run_arrays(FunctionCallInfo fcinfo, int64 n, int64_t *ts, double **col,
							 bool has_signal, const char *strategy, Jsonb *params,
							 const BtAlloc *engine_alloc);

#endif							/* BTPG_BACKTEST_ARRAYS_H */
