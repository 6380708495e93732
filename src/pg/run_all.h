/*-------------------------------------------------------------------------
 *
 * run_all.h
 *	  backtest_run_all's NOTICEs (run_all.c), shared with its Citus fan-out
 *	  (citus_fanout.c), and the fan-out itself.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/run_all.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_RUN_ALL_H
#define BTPG_RUN_ALL_H

#include "postgres.h"

#include "fmgr.h"

#include "bt_engine.h"
#include "core/loader.h"

/*
 * The NOTICE naming the symbols of wanted (nwanted, strcmp order; NULL when
 * none were asked for) that got no row, names (n, strcmp order) being the
 * symbols that did; without wanted, the NOTICE that no symbol did
 */
extern void btpg_run_all_notice_missing(char **wanted, int nwanted, const char *const *names,
										int32 n);
/* The NOTICE naming the symbols of names whose warmup took every bar */
extern void btpg_run_all_notice_short(const char *stname, const char *const *names,
									  const bool *is_short, int32 n);

/* ---- the Citus fan-out (citus_fanout.c) ------------------------------------ */

/* Whether relid is a Citus table hash-distributed by column symcol */
extern bool btpg_citus_distributed_by(Oid relid, const char *symcol);

/*
 * backtest_run_all(fcinfo's arguments) on such a table: one query that
 * Citus pushes down to every shard, backtest_run_all_symbol per symbol;
 * fills fcinfo's tuplestore (set up by the caller) in symbol order and
 * emits backtest_run_all's NOTICEs.  spec, st, wanted: the parsed arguments.
 */
extern void btpg_citus_run_all(FunctionCallInfo fcinfo, const BtpgLoadSpec *spec,
							   const BtStrategyDef *st, char **wanted, int nwanted);

#endif							/* BTPG_RUN_ALL_H */
