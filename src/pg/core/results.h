/*-------------------------------------------------------------------------
 *
 * results.h
 *	  Running one configuration, and the result rows shared by the backtest
 *	  functions, the aggregate, the portfolio, the charts and the queue: the
 *	  column layouts of backtest_metrics and backtest_trades (results.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/results.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_RESULTS_H
#define BTPG_CORE_RESULTS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "bt_engine.h"

/*
 * Columns of the SQL type backtest_metrics (sql/install/): one per
 * bt_metric_defs entry, in its order.  The functions that return them
 * check the count against their SQL result type at run time.
 */
#define BTPG_METRICS_NATTS	BT_N_METRICS
/* Columns of backtest_trades() */
#define BTPG_TRADES_NATTS	19
/* Columns of backtest_equity() */
#define BTPG_EQUITY_NATTS	7

/* The SQL type of a metric's column */
extern Oid	btpg_metric_type(const BtMetricDef *d);
/* A metrics row in the column order of backtest_metrics (BTPG_METRICS_NATTS) */
extern void btpg_metrics_values(const BtMetrics *m, Datum *values, bool *nulls);
/* The metric columns, comma-separated, each prefixed (palloc'd) */
extern char *btpg_metric_columns(const char *prefix);
/* The same as a composite datum of the function's result type */
extern Datum btpg_metrics_datum(FunctionCallInfo fcinfo, const BtMetrics *m);
/* The types of the backtest_trades columns */
extern const Oid btpg_trade_types[BTPG_TRADES_NATTS];
/* The backtest_trades row (BTPG_TRADES_NATTS) of trade k */
extern void btpg_trade_values(const BtTrade *t, int64 k, Datum *values, bool *nulls);

/* Run a validated configuration on a loaded series; ereports on error */
extern void btpg_run_engine(const BtSeries *s, const BtConfig *cfg, BtResult *res);
/* The same without the per-bar curves (res->equity ... NULL): metrics and trades */
extern void btpg_run_engine_metrics(const BtSeries *s, const BtConfig *cfg, BtResult *res);
/* Either, the engine allocating from alloc (NULL: CurrentMemoryContext) */
extern void btpg_run_engine_with(const BtSeries *s, const BtConfig *cfg, const BtAlloc *alloc,
								 bool curves, BtResult *res);
/* NOTICE why a run without trades filled no entry (m->entries_unfilled > 0) */
extern void btpg_notice_unfilled(const BtMetrics *m, const BtSimParams *sim);
/* A 1-D array of n 8-byte values without nulls (float8, timestamptz), in one copy */
extern Datum btpg_make_array8(const void *data, int64 n, Oid type);
extern Datum btpg_make_array_raw(const void *data, int64 n, int elemsize, Oid type);
/* Its size, and its header written into a buffer of that size (n > 0) */
extern Size btpg_array_raw_size(int64 n, int elemsize);
extern ArrayType *btpg_array_raw_header(void *buf, int64 n, int elemsize, Oid type);

#endif							/* BTPG_CORE_RESULTS_H */
