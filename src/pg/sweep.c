/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  Parameter sweeps: the SQL functions backtest_sweep() (table source)
 *	  and backtest_sweep_query() (query source), and the sweep settings.
 *	  The grid is parsed in sweep_grid.c, the rows are built in sweep_rows.c,
 *	  the combinations run in sweep_parallel.c; walk-forward is
 *	  sweep_walkforward.c, queued sweeps sweep_task.c.
 *
 * A call reads the K-lines once (btpg_load_series, which validates them),
 * expands the grid into combinations with the engine (bt_grid_expand), runs
 * them in this backend and in background workers (sweep_parallel.c and
 * sweep_worker.c), then
 * sorts the rows by the objective and returns them, materialized.
 *
 * Decisions (also in the SQL comments and the README):
 *	- a parameter both swept in the grid and set in params is an error;
 *	- the strategy's cross-parameter checks (e.g. fast < slow) and the
 *	  simulator's are applied to each combination, not to params alone:
 *	  combinations failing them (or a constraint) are skipped with a NOTICE;
 *	- rows are always sorted by the objective (default sharpe_ratio),
 *	  descending except for the columns where lower is better
 *	  (volatility_ann_pct, commissions and the two drawdown durations),
 *	  NULLs last, ties in combination order.
 *
 * Settings: pg_backtest.sweep_workers (processes per sweep, default the
 * number of online CPUs), pg_backtest.max_combinations (default 10000) and
 * pg_backtest.sweep_cache_size (indicator lines kept per process, default
 * 64MB), all PGC_SUSET: they protect the server from a user's sweep.  A
 * queued sweep runs under the max_combinations its submit was checked with
 * (recorded in the task's settings).
 *
 * Each call allocates in its own memory context, deleted at the end; on
 * error the transaction's cleanup frees it.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/results.h"
#include "sweep.h"

PG_FUNCTION_INFO_V1(backtest_sweep);
PG_FUNCTION_INFO_V1(backtest_sweep_query);

/* GUCs */
int			btpg_sweep_workers = 1;
int			btpg_max_combinations = 10000;
int			btpg_sweep_cache_kb = 65536;

/* Sorting and sort_by are driven by the engine's metric table */
StaticAssertDecl(BT_N_METRICS == BTPG_METRICS_NATTS,
				 "bt_metric_defs must list the columns of backtest_metrics");

/* ---- settings ------------------------------------------------------------ */

/*
 * btpg_sweep_define_gucs
 *		Define the runtime settings of sweeps; called from _PG_init.
 */
void
btpg_sweep_define_gucs(void)
{
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			def_workers = (int) Max(1, Min(ncpu, 8));

	btpg_sweep_workers = def_workers;
	DefineCustomIntVariable("pg_backtest.sweep_workers",
							"Processes that run the combinations of a parameter sweep.",
							"The backend itself plus this many minus one background workers; "
							"small sweeps use fewer (one process per 4 million bars x "
							"combinations at most).  The default is the number of online CPUs, "
							"at most 8.  Workers take max_worker_processes slots while the sweep "
							"runs, so only superusers may change it.",
							&btpg_sweep_workers, def_workers, 1, BTPG_MAX_SWEEP_WORKERS,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.max_combinations",
							"Most combinations one parameter sweep may run.",
							"A grid with more combinations (or a larger \"sample\") is an error.  "
							"It protects the server, so only superusers may change it.",
							&btpg_max_combinations, 10000, 1, (int) BT_GRID_MAX_ENUMERATE,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.sweep_cache_size",
							"Memory each process of a sweep may use to keep indicator lines.",
							"Lines shared by combinations (the SMA(10) of every combination with "
							"fast = 10) are computed once and kept up to this size, least "
							"recently used first out.  Only superusers may change it.",
							&btpg_sweep_cache_kb, 65536, 0, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

/* ---- the SQL functions ------------------------------------------------------ */

/*
 * Common body of backtest_sweep and backtest_sweep_query: parse, load,
 * expand, run, sort, emit.
 */
static Datum
sweep_common(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			a = query_source ? 1 : 2;	/* index of the strategy argument */
	MemoryContext cxt;
	MemoryContext loadcxt;
	MemoryContext old;
	BtAlloc		alloc;
	const BtStrategyDef *st;
	BtpgSweepPlan plan;
	BtpgLoadSpec	load;
	BtpgSweepPre pre;
	BtSeries	s;
	int64		ncombos;
	int64		nskipped;
	int64		nrows;
	int64		nbars;
	int64		short_data = 0;
	BtMetrics  *metrics;
	int64	   *order;
	Datum		values[BTPG_SWEEP_NATTS];
	bool		nulls[BTPG_SWEEP_NATTS];

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != BTPG_SWEEP_NATTS)
		elog(ERROR, "backtest_sweep returns %d columns, expected %d: reinstall the extension",
			 rsinfo->setDesc->natts, BTPG_SWEEP_NATTS);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest sweep",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	btpg_alloc_init(&alloc, cxt);

	/* ---- arguments ---- */
	btpg_args_require_source(fcinfo);
	if (PG_ARGISNULL(a))
		(void) btpg_args_strategy(fcinfo, a);	/* the NULL error */
	if (PG_ARGISNULL(a + 1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the grid must not be NULL"),
				 errhint("For example: '{\"fast\": [5, 10, 20], \"slow\": {\"from\": 20, \"to\": 100, \"step\": 20}}'.")));
	st = btpg_args_strategy(fcinfo, a);
	memset(&load, 0, sizeof(load));
	btpg_sweep_parse(PG_GETARG_JSONB_P(a + 1), PG_ARGISNULL(a + 2) ? NULL : PG_GETARG_JSONB_P(a + 2),
					 st, &alloc, &plan, &load.cols);

	/* ---- the combinations (before reading any data: errors come early) ---- */
	btpg_sweep_expand(&plan, &alloc);
	ncombos = plan.ncombos;
	nskipped = plan.nskipped;

	/* ---- the bars: read and validated once ---- */
	load.need_volume = load.cols.name[BTCOL_VOLUME] != NULL;
	load.need_signal = st->needs_signal;
	if (query_source)
		load.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
		btpg_args_table_source(fcinfo, 1, 5, 6, &load);
	/* the bars straight into the parallel sweep's segment, if the planner knows how many */
	memset(&pre, 0, sizeof(pre));
	pre.st = st;
	pre.ncombos = ncombos;
	if (load.cols.tf_interval == 0)
	{
		load.presize = btpg_sweep_presize;
		load.presize_arg = &pre;
	}
	loadcxt = AllocSetContextCreate(cxt, "pg_backtest sweep bars", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loadcxt);
	btpg_load_series(&load, &s);
	MemoryContextSwitchTo(cxt);
	nbars = s.n;

	if (nskipped > 0)
	{
		int64		raw = bt_grid_size(&plan.spec.grid);

		if (ncombos == 0)
			ereport(NOTICE,
					(errmsg("every combination of the grid was skipped"),
					 errdetail("All " INT64_FORMAT " combinations fail a constraint or the parameter checks of strategy \"%s\".",
							   nskipped, st->name),
					 errhint("Check the constraints and the values of the swept parameters.")));
		else if (plan.spec.grid.sample > 0)
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " combinations of the grid skipped before sampling", nskipped),
					 errdetail("They fail a constraint or the parameter checks of strategy \"%s\".",
							   st->name)));
		else
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " of the grid's " INT64_FORMAT " combinations skipped",
							nskipped, raw),
					 errdetail("They fail a constraint or the parameter checks of strategy \"%s\".",
							   st->name)));
	}

	/* ---- run ---- */
	metrics = palloc_extended(sizeof(BtMetrics) * Max(ncombos, 1), MCXT_ALLOC_HUGE);
	btpg_sweep_execute_pre(&s, plan.combos, &pre, loadcxt, metrics);
	/* s's arrays are gone with loadcxt */

	if (ncombos > 0 && nbars == 0)
		ereport(NOTICE,
				(errmsg("no bars to backtest: the source returned no rows"),
				 errhint("Check the symbol, the time range and the source.")));
	else
	{
		for (int64 i = 0; i < ncombos; i++)
			if (metrics[i].warmup_bars >= nbars)
				short_data++;
		if (short_data > 0)
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " of " INT64_FORMAT " combinations need more bars than the " INT64_FORMAT " the source returned",
							short_data, ncombos, nbars),
					 errdetail("Their indicators never become defined, so they made no trades."),
					 errhint("Use a longer time range or shorter indicator windows.")));
		/* one NOTICE for the whole sweep, not one per combination */
		{
			int64		unfilled = 0,
						first = -1;

			for (int64 i = 0; i < ncombos; i++)
				if (metrics[i].trades_count == 0 && metrics[i].open_trades == 0 &&
					metrics[i].entries_unfilled > 0)
				{
					if (unfilled++ == 0)
						first = i;
				}
			if (unfilled > 0)
				ereport(NOTICE,
						(errmsg(INT64_FORMAT " of " INT64_FORMAT " combinations made no trade: no entry could be filled",
								unfilled, ncombos),
						 errdetail("Not even one lot with its costs fit in the cash: at %g the smallest order cost %g against %g available.",
								   metrics[first].unfilled_price, metrics[first].unfilled_cost,
								   metrics[first].unfilled_cash),
						 errhint("Raise initial_capital, lower lot_size, or set \"fractional\": true.")));
		}
	}

	/* ---- sort by the objective, cut to top ---- */
	nrows = btpg_sweep_order(&plan, metrics, &order);

	/* ---- rows ---- */
	for (int64 r = 0; r < nrows; r++)
	{
		int64		k = order[r];

		btpg_sweep_row(&plan, k, &metrics[k], values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * backtest_sweep(source regclass, symbol text, strategy text, grid jsonb,
 *				  params jsonb, start_ts timestamptz, end_ts timestamptz)
 *		One row per combination of the grid over the K-lines of a table.
 */
Datum
backtest_sweep(PG_FUNCTION_ARGS)
{
	return sweep_common(fcinfo, false);
}

/*
 * backtest_sweep_query(query text, strategy text, grid jsonb, params jsonb)
 *		The same over the rows of a query (in ts order).
 */
Datum
backtest_sweep_query(PG_FUNCTION_ARGS)
{
	return sweep_common(fcinfo, true);
}
