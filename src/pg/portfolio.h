/*-------------------------------------------------------------------------
 *
 * portfolio.h
 *	  One portfolio backtest's call, in three stages shared by the
 *	  synchronous functions (portfolio.c) and the task queue
 *	  (backtest_submit_portfolio checks the first; a task worker runs all
 *	  three, the engine between transactions).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/portfolio.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_PORTFOLIO_H
#define BTPG_PORTFOLIO_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "bt_portfolio.h"
#include "core/loader.h"
#include "core/params.h"

/* The portfolio's columns after backtest_metrics' (n_symbols ... benchmark_return_pct) */
#define BTPG_PF_EXTRA_NATTS	8

typedef struct BtpgPortfolio
{
	/* the arguments, set by the caller (query or relid) */
	Oid			relid;
	const char *query;
	const char *strategy;
	Jsonb	   *params;			/* NULL: {} */
	ArrayType  *symbols;		/* NULL: every symbol (table sources only) */
	bool		has_start;
	TimestampTz start_ts;
	bool		has_end;
	TimestampTz end_ts;

	/* btpg_portfolio_prepare: parsed and checked */
	const BtStrategyDef *st;
	BtPfParams	p;
	bool		max_positions_set;
	char	   *benchmark;
	BtpgLoadSpec	spec;
	BtConfig	base;
	BtpgParamMaps *maps;
	char	  **wanted;			/* the symbols asked for, sorted, or NULL */
	int			nwanted;

	/* btpg_portfolio_load: the traded symbols and the benchmark */
	BtPfSymbol *syms;
	int			nsym;
	BtSeries	bench;
	bool		has_bench;

	/* btpg_portfolio_execute */
	BtPfResult	res;
} BtpgPortfolio;

/* A submit's SQL arguments into c, then btpg_portfolio_prepare */
extern void btpg_portfolio_args(FunctionCallInfo fcinfo, bool query_source, BtpgPortfolio *c);
/* Parse the strategy and parameters and build the read; reads nothing */
extern void btpg_portfolio_prepare(BtpgPortfolio *c);
/* Read the source (as the current user), validate and configure each symbol */
extern void btpg_portfolio_load(BtpgPortfolio *c);
/* Run the engine (no transaction needed); a cancel by progress is an error */
extern void btpg_portfolio_execute(BtpgPortfolio *c, BtProgressFn progress, void *progress_arg);
/* Register the "portfolio" task kind (portfolio_task.c); from _PG_init */
extern void btpg_portfolio_register_task_kind(void);
/* The BTPG_PF_EXTRA_NATTS portfolio columns of a result */
extern void btpg_portfolio_values(const BtPfResult *r, Datum *values, bool *nulls);

#endif							/* BTPG_PORTFOLIO_H */
