/*-------------------------------------------------------------------------
 *
 * run.h
 *	  Result rows shared by the backtest functions, the aggregate and the
 *	  worker: the column layouts of backtest_metrics, backtest_trades and
 *	  backtest_equity.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/run.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_RUN_H
#define BTPG_RUN_H

#include "fmgr.h"

#include "bt_engine.h"

/* Columns of the SQL type backtest_metrics (sql/install/) */
#define BTPG_METRICS_NATTS	BT_N_METRICS
/* Columns of backtest_trades() */
#define BTPG_TRADES_NATTS	19
/* Columns of backtest_equity() */
#define BTPG_EQUITY_NATTS	7

extern void btpg_metrics_values(const BtMetrics *m, Datum *values, bool *nulls);
extern Oid	btpg_metric_type(int i);
extern char *btpg_metric_columns(const char *prefix);
extern Datum btpg_metrics_datum(FunctionCallInfo fcinfo, const BtMetrics *m);
extern const Oid btpg_trade_types[BTPG_TRADES_NATTS];
extern void btpg_trade_values(const BtTrade *t, int64 k, Datum *values, bool *nulls);

/* Run a validated configuration on a loaded series; ereports on error */
extern void btpg_run_engine(const BtSeries *s, const BtConfig *cfg, BtResult *res);
extern void btpg_notice_unfilled(const BtMetrics *m, const BtSimParams *sim);

#endif							/* BTPG_RUN_H */
