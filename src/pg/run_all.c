/*-------------------------------------------------------------------------
 *
 * run_all.c
 *	  backtest_run_all() and backtest_run_all_query(): one backtest per
 *	  symbol of a table (or of a query), every symbol in one read, the
 *	  symbols spread over the sweep's processes; backtest_run_all_symbol(),
 *	  one symbol's row (the per-shard step of the Citus fan-out).
 *
 * A call reads the source once and puts the rows in (symbol, ts) order
 * (btpg_read_grouped, core/grouped.c).  Then, in C:
 *	- each symbol's bars are validated like one backtest_run's (errors carry
 *	  the symbol in their context);
 *	- each symbol gets its configuration: the params with the per-symbol
 *	  maps resolved (btpg_params_for_symbol; see core/params.c);
 *	- the symbols are run as the jobs of one parallel sweep
 *	  (btpg_sweep_execute_jobs, sweep_parallel.c: the bars go to a shared
 *	  segment once, this backend and up to pg_backtest.sweep_workers - 1
 *	  workers take symbols in chunks), metrics only.
 * Each row equals what backtest_run gives for that symbol with the same
 * arguments (the same loader conversions, validation and engine results).
 *
 * On a Citus table distributed by its symbol column, backtest_run_all fans
 * out instead (citus_fanout.c): one query pushed down to every shard runs
 * backtest_run_all_symbol for each of the shard's symbols on the node that
 * holds it, and the rows come back to this function.
 *
 * Decisions (also in the README):
 *	- rows come in symbol order (byte order of the symbol's text form);
 *	- symbols asked for in `symbols` that have no rows get no row, and one
 *	  NOTICE names them; duplicates in `symbols` count once; a NULL element
 *	  is an error;
 *	- rows with a NULL symbol are skipped, with a NOTICE saying how many;
 *	- a query source may return its rows in any order (a duplicate
 *	  (symbol, ts) is an error, as in backtest_run).
 *
 * Each call allocates in its own memory context, deleted at the end; on
 * error the transaction's cleanup frees it.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/run_all.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/params.h"
#include "core/results.h"
#include "resample.h"
#include "run_all.h"
#include "sweep.h"

PG_FUNCTION_INFO_V1(backtest_run_all);
PG_FUNCTION_INFO_V1(backtest_run_all_query);
PG_FUNCTION_INFO_V1(backtest_run_all_symbol);

/* symbol, then the columns of backtest_metrics */
#define RUN_ALL_NATTS		(1 + BTPG_METRICS_NATTS)

/* Error context of one symbol's validation and configuration */
static void
symbol_context(void *arg)
{
	errcontext("backtest_run_all, symbol \"%s\"", (const char *) arg);
}

/* ---- the NOTICEs ----------------------------------------------------------------- */

/*
 * btpg_run_all_notice_missing
 *		See run_all.h.
 */
void
btpg_run_all_notice_missing(char **wanted, int nwanted, const char *const *names, int32 n)
{
	if (wanted != NULL)
	{
		StringInfoData missing;
		int64		nmissing = 0;
		int32		r = 0;

		/* both lists are in strcmp order */
		initStringInfo(&missing);
		for (int i = 0; i < nwanted; i++)
		{
			while (r < n && strcmp(names[r], wanted[i]) < 0)
				r++;
			if (r >= n || strcmp(names[r], wanted[i]) != 0)
				btpg_list_symbol(&missing, &nmissing, wanted[i]);
		}
		if (nmissing > 0)
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " of the %d symbols asked for have no rows: %s",
							nmissing, nwanted, missing.data),
					 errdetail("They get no result row."),
					 errhint("Check the symbols, the time range and the source.")));
	}
	else if (n == 0)
		ereport(NOTICE,
				(errmsg("no bars to backtest: the source returned no rows"),
				 errhint("Check the time range and the source.")));
}

/*
 * btpg_run_all_notice_short
 *		See run_all.h.
 */
void
btpg_run_all_notice_short(const char *stname, const char *const *names, const bool *is_short,
						  int32 n)
{
	StringInfoData shortnames;
	int64		nshort = 0;

	initStringInfo(&shortnames);
	for (int32 r = 0; r < n; r++)
		if (is_short[r])
			btpg_list_symbol(&shortnames, &nshort, names[r]);
	if (nshort > 0)
		ereport(NOTICE,
				(errmsg("strategy \"%s\" needs more bars than " INT64_FORMAT " of the %d symbols have: %s",
						stname, nshort, n, shortnames.data),
				 errdetail("Their indicators never become defined, so they made no trades."),
				 errhint("Use a longer time range or shorter indicator windows.")));
}

/* ---- the functions ------------------------------------------------------------- */

/* The three SQL forms; arguments 1 and 2 (strategy, params) are common */
typedef enum RunAllForm
{
	RUN_ALL_TABLE,				/* source regclass, ..., symbols text[], start, end */
	RUN_ALL_QUERY,				/* query text, ... */
	RUN_ALL_SYMBOL				/* source regclass, ..., symbol text, start, end: no NOTICE */
} RunAllForm;

/*
 * Common body of backtest_run_all, backtest_run_all_query and
 * backtest_run_all_symbol: parse, read, order, validate, configure, run,
 * emit (or, on a Citus table, fan out: citus_fanout.c).
 */
static Datum
run_all_common(FunctionCallInfo fcinfo, RunAllForm form)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	MemoryContext seriescxt;
	MemoryContext old;
	const BtStrategyDef *st;
	BtConfig	base;
	BtpgParamMaps *maps;
	BtpgLoadSpec	spec;
	int32		ngroups;
	ErrorContextCallback errcb;
	BtSeries	s;
	BtpgSymGroup *groups;
	BtConfig   *cfgs;
	BtpgSweepJob *jobs;
	BtMetrics  *metrics;
	char	  **wanted = NULL;
	int			nwanted = 0;
	const char **names;
	bool	   *is_short;
	Datum		values[RUN_ALL_NATTS];
	bool		nulls[RUN_ALL_NATTS];

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != RUN_ALL_NATTS)
		elog(ERROR, "backtest_run_all returns %d columns, expected %d: reinstall the extension",
			 rsinfo->setDesc->natts, RUN_ALL_NATTS);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest run_all",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/* ---- arguments ---- */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies().")));
	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	memset(&spec, 0, sizeof(spec));
	btpg_parse_params_maps(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), st, &base,
						   &spec.cols, &maps);
	if (maps == NULL)
	{
		BtConfig	cfg;

		/* one configuration for every symbol: check it before reading */
		btpg_params_for_symbol(NULL, &base, NULL, &cfg);
	}
	spec.need_volume = spec.cols.name[BTCOL_VOLUME] != NULL;
	spec.need_signal = st->needs_signal;
	if (form == RUN_ALL_QUERY)
		spec.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
	{
		spec.relid = PG_GETARG_OID(0);
		if (form == RUN_ALL_SYMBOL)
		{
			if (PG_ARGISNULL(3))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("the symbol must not be NULL")));
			spec.symbol = text_to_cstring(PG_GETARG_TEXT_PP(3));
		}
		else if (!PG_ARGISNULL(3))
		{
			wanted = btpg_symbols_arg(PG_GETARG_ARRAYTYPE_P(3), &nwanted);
			spec.has_symbols = true;
			spec.symbols = PG_GETARG_DATUM(3);
		}
		btpg_args_time_range(fcinfo, 4, 5, true, &spec);
	}

	/* ---- a Citus table distributed by symbol: fan out over its shards ---- */
	if (form == RUN_ALL_TABLE &&
		btpg_citus_distributed_by(spec.relid, spec.cols.name[BTCOL_SYMBOL]))
	{
		btpg_citus_run_all(fcinfo, &spec, st, wanted, nwanted);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return (Datum) 0;
	}

	/* ---- read, numbering the symbols; order by (symbol, ts) ---- */
	seriescxt = AllocSetContextCreate(cxt, "pg_backtest run_all bars", ALLOCSET_DEFAULT_SIZES);
	ngroups = btpg_read_grouped(&spec, "backtest_run_all", seriescxt, &s, &groups);

	names = palloc(sizeof(char *) * Max(ngroups, 1));
	for (int32 r = 0; r < ngroups; r++)
		names[r] = groups[r].name;
	if (form != RUN_ALL_SYMBOL)
		btpg_run_all_notice_missing(wanted, nwanted, names, ngroups);

	/* ---- validate each symbol, give it its configuration ---- */
	cfgs = palloc(sizeof(BtConfig) * Max(ngroups, 1));
	jobs = palloc(sizeof(BtpgSweepJob) * Max(ngroups, 1));
	for (int32 r = 0; r < ngroups; r++)
	{
		BtSeries	slice = btpg_series_slice(&s, groups[r].from, groups[r].n);
		BtError		err;

		errcb.callback = symbol_context;
		errcb.arg = (void *) groups[r].name;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		if (!bt_validate_series(&slice, slice.volume != NULL, &err))
			btpg_report(&err, slice.ts);
		btpg_params_for_symbol(maps, &base, groups[r].name, &cfgs[r]);
		error_context_stack = errcb.previous;
		jobs[r].from = groups[r].from;
		jobs[r].n = groups[r].n;
		jobs[r].name = psprintf("backtest_run_all, symbol \"%s\"", groups[r].name);
		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* ---- "timeframe": each symbol's bars resampled, in seriescxt ---- */
	if (spec.cols.tf_interval > 0)
	{
		MemoryContextSwitchTo(seriescxt);
		btpg_resample_groups(&s, groups, ngroups, &spec.cols);
		MemoryContextSwitchTo(cxt);
		for (int32 r = 0; r < ngroups; r++)
		{
			jobs[r].from = groups[r].from;
			jobs[r].n = groups[r].n;
		}
	}

	/* ---- run: one job per symbol ---- */
	metrics = palloc_extended(sizeof(BtMetrics) * Max(ngroups, 1), MCXT_ALLOC_HUGE);
	btpg_sweep_execute_jobs(&s, st, cfgs, jobs, ngroups, seriescxt, metrics);
	/* s's arrays are gone with seriescxt */

	is_short = palloc(sizeof(bool) * Max(ngroups, 1));
	for (int32 r = 0; r < ngroups; r++)
		is_short[r] = metrics[r].warmup_bars >= groups[r].n;
	if (form != RUN_ALL_SYMBOL)
		btpg_run_all_notice_short(st->name, names, is_short, ngroups);

	/* ---- rows, in symbol order ---- */
	for (int32 r = 0; r < ngroups; r++)
	{
		values[0] = CStringGetTextDatum(groups[r].name);
		nulls[0] = false;
		btpg_metrics_values(&metrics[r], values + 1, nulls + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * backtest_run_all(source regclass, strategy text, params jsonb,
 *					symbols text[], start_ts timestamptz, end_ts timestamptz)
 *		One row of metrics per symbol of a table.
 */
Datum
backtest_run_all(PG_FUNCTION_ARGS)
{
	return run_all_common(fcinfo, RUN_ALL_TABLE);
}

/*
 * backtest_run_all_query(query text, strategy text, params jsonb)
 *		One row of metrics per symbol of a query's rows.
 */
Datum
backtest_run_all_query(PG_FUNCTION_ARGS)
{
	return run_all_common(fcinfo, RUN_ALL_QUERY);
}

/*
 * backtest_run_all_symbol(source regclass, strategy text, params jsonb,
 *						   symbol text, start_ts timestamptz, end_ts timestamptz)
 *		Symbol's backtest_run_all row (none without bars), without NOTICEs.
 *		On a Citus node holding the symbol's shard it reads the shard.
 */
Datum
backtest_run_all_symbol(PG_FUNCTION_ARGS)
{
	return run_all_common(fcinfo, RUN_ALL_SYMBOL);
}
