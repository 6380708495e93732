/*-------------------------------------------------------------------------
 *
 * portfolio.c
 *	  backtest_portfolio(), backtest_portfolio_trades(),
 *	  backtest_portfolio_equity() and their _query forms: many symbols, one
 *	  cash account (the engine's bt_portfolio_run; README, "Portfolio
 *	  backtests").
 *
 * A call reads the source once with backtest_run_all's reader
 * (btpg_read_grouped: rows in (symbol, ts) order), validates each symbol's
 * bars, resolves the per-symbol parameter maps, and runs the engine.  The
 * portfolio's own keys (allocation, position_size, max_positions, rank_by,
 * rank_period, rebalance, benchmark) are taken out of params before the
 * rest is parsed as for backtest_run_all; the account's parameters
 * (initial_capital, fill, allow_short, periods_per_year, risk_free_rate)
 * are the scalar values given, the costs and lots each symbol's own.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/portfolio.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "core/results.h"
#include "core/timestamps.h"
#include "portfolio.h"
#include "resample.h"

PG_FUNCTION_INFO_V1(backtest_portfolio);
PG_FUNCTION_INFO_V1(backtest_portfolio_query);
PG_FUNCTION_INFO_V1(backtest_portfolio_trades);
PG_FUNCTION_INFO_V1(backtest_portfolio_trades_query);
PG_FUNCTION_INFO_V1(backtest_portfolio_equity);
PG_FUNCTION_INFO_V1(backtest_portfolio_equity_query);

/* backtest_metrics' columns, then the portfolio's */
#define PF_NATTS		(BTPG_METRICS_NATTS + BTPG_PF_EXTRA_NATTS)

typedef BtpgPortfolio PfCall;

static void
pf_error(const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* A jsonb string value as a C string, or an error naming the key */
static char *
pf_string(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		pf_error(psprintf("portfolio parameter \"%s\" must be a string", key), NULL);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A jsonb number value, or an error naming the key */
static double
pf_number(const char *key, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		pf_error(psprintf("portfolio parameter \"%s\" must be a number", key), NULL);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/* An integer parameter (whole number) */
static int
pf_int(const char *key, JsonbValue *v)
{
	double		d = pf_number(key, v);

	if (d != floor(d) || d < -1e9 || d > 1e9)
		pf_error(psprintf("portfolio parameter \"%s\" must be a whole number, not %g", key, d), NULL);
	return (int) d;
}

/* Index of a string among choices (NULL-terminated), or an error listing them */
static int
pf_choice(const char *key, JsonbValue *v, const char *const *choices)
{
	char	   *s = pf_string(key, v);
	StringInfoData buf;

	for (int i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0)
			return i;
	initStringInfo(&buf);
	for (int i = 0; choices[i]; i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", choices[i]);
	pf_error(psprintf("invalid value \"%s\" for portfolio parameter \"%s\"", s, key),
			 psprintf("Valid values are: %s.", buf.data));
	return -1;
}

/*
 * Take the portfolio's keys out of params into c->p; returns the rest (for
 * btpg_parse_params_maps).
 */
static Jsonb *
split_params(Jsonb *params, PfCall *c)
{
	static const char *const alloc_choices[] = {"equal", "fixed", NULL};
	static const char *const rank_choices[] = {"roc", "symbol", NULL};
	static const char *const rebal_choices[] = {"none", "daily", "weekly", "monthly", NULL};
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbValue *res;
	JsonbIteratorToken tok;
	bool		rebalance_set = false;
	bool		size_set = false;

	c->p.allocation = BT_PF_ALLOC_EQUAL;
	c->p.position_size = 1;
	c->p.rank_by = BT_PF_RANK_ROC;
	c->p.rank_period = 20;
	c->p.rebalance = BT_PF_REBAL_NONE;
	if (params == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		pf_error("backtest parameters must be a jsonb object", NULL);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		JsonbValue	k;

		if (tok != WJB_KEY)
			continue;
		k = v;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "allocation") == 0)
			c->p.allocation = pf_choice(key, &v, alloc_choices);
		else if (strcmp(key, "position_size") == 0)
		{
			c->p.position_size = pf_number(key, &v);
			size_set = true;
			if (!(c->p.position_size > 0 && c->p.position_size <= 1))
				pf_error(psprintf("position_size must be greater than 0 and at most 1, not %g",
								  c->p.position_size),
						 "It is the fraction of equity each entry gets with \"allocation\": \"fixed\".");
		}
		else if (strcmp(key, "max_positions") == 0)
		{
			c->p.max_positions = pf_int(key, &v);
			c->max_positions_set = true;
			if (c->p.max_positions < 1)
				pf_error(psprintf("max_positions must be at least 1, not %d", c->p.max_positions), NULL);
		}
		else if (strcmp(key, "rank_by") == 0)
			c->p.rank_by = pf_choice(key, &v, rank_choices);
		else if (strcmp(key, "rank_period") == 0)
		{
			c->p.rank_period = pf_int(key, &v);
			if (c->p.rank_period < 1)
				pf_error(psprintf("rank_period must be at least 1, not %d", c->p.rank_period), NULL);
		}
		else if (strcmp(key, "rebalance") == 0)
		{
			c->p.rebalance = pf_choice(key, &v, rebal_choices);
			rebalance_set = true;
		}
		else if (strcmp(key, "benchmark") == 0)
			c->benchmark = pf_string(key, &v);
		else if (strcmp(key, "size") == 0)
			pf_error("parameter \"size\" does not apply to portfolio backtests",
					 "Use \"allocation\": \"fixed\" with \"position_size\", or \"max_positions\".");
		else
		{
			pushJsonbValue(&state, WJB_KEY, &k);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	if (size_set && c->p.allocation != BT_PF_ALLOC_FIXED)
		pf_error("position_size applies only with \"allocation\": \"fixed\"",
				 "With \"allocation\": \"equal\" (the default) each entry gets equity / max_positions.");
	if (c->p.rotation && !rebalance_set)
		c->p.rebalance = BT_PF_REBAL_MONTHLY;
	if (c->p.rotation && c->p.rebalance == BT_PF_REBAL_NONE)
		pf_error("strategy \"rotation\" needs a rebalance period",
				 "Set \"rebalance\" to \"daily\", \"weekly\" or \"monthly\" (the default).");
	return JsonbValueToJsonb(res);
}

/* Error context of one symbol's validation and configuration */
static void
symbol_context(void *arg)
{
	errcontext("backtest_portfolio, symbol \"%s\"", (const char *) arg);
}

static bool
in_list(char **names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

/* A text[] datum of names */
static Datum
names_array(char **names, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(names[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static int
sync_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/*
 * btpg_portfolio_prepare
 *		Parse the strategy and parameters of c's arguments and build the read
 *		(c->spec); checks everything that needs no rows.  Allocates in
 *		CurrentMemoryContext.
 */
void
btpg_portfolio_prepare(PfCall *c)
{
	BtpgLoadSpec *spec = &c->spec;
	Jsonb	   *rest;

	if (c->strategy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies(), or use \"rotation\".")));
	if (strcmp(c->strategy, "rotation") == 0)
	{
		c->st = &bt_strategy_rotation;
		c->p.rotation = true;
	}
	else
		c->st = btpg_lookup_strategy(c->strategy);
	rest = split_params(c->params, c);
	memset(spec, 0, sizeof(*spec));
	btpg_parse_params_maps(rest, c->st, &c->base, &spec->cols, &c->maps);
	if (spec->cols.name[BTCOL_SYMBOL] == NULL)
		pf_error("a portfolio source needs a symbol column", NULL);
	spec->need_volume = spec->cols.name[BTCOL_VOLUME] != NULL;
	spec->need_signal = c->st->needs_signal;
	spec->grouped = true;
	c->p.account = c->base.sim;
	if (c->p.rotation)
	{
		c->p.top = (int) c->base.sp[0];
		c->p.period = (int) c->base.sp[1];
		c->p.min_momentum = c->base.sp[2];
	}

	spec->relid = c->relid;
	spec->query = c->query;
	if (c->symbols != NULL)
	{
		c->wanted = btpg_symbols_arg(c->symbols, &c->nwanted);
		spec->has_symbols = true;
		if (c->benchmark && !in_list(c->wanted, c->nwanted, c->benchmark))
		{
			char	  **w2 = palloc(sizeof(char *) * (c->nwanted + 1));

			memcpy(w2, c->wanted, sizeof(char *) * c->nwanted);
			w2[c->nwanted] = c->benchmark;
			spec->symbols = names_array(w2, c->nwanted + 1);
		}
		else
			spec->symbols = names_array(c->wanted, c->nwanted);
	}
	spec->has_start = c->has_start;
	spec->start_ts = c->start_ts;
	spec->has_end = c->has_end;
	spec->end_ts = c->end_ts;
	if (spec->has_start && spec->has_end && spec->start_ts > spec->end_ts)
		pf_error("start_ts is after end_ts", NULL);
}

/*
 * btpg_portfolio_load
 *		Read the source of a prepared call as the current user, check the
 *		symbols asked for, validate each symbol's bars and configure it.
 *		Caller is in a transaction; allocates in CurrentMemoryContext.
 */
void
btpg_portfolio_load(PfCall *c)
{
	BtpgLoadSpec *spec = &c->spec;
	char	  **wanted = c->wanted;
	int			nwanted = c->nwanted;
	BtSeries	s;
	BtpgSymGroup *groups;
	int32		ngroups;
	MemoryContext seriescxt;
	ErrorContextCallback errcb;
	BtError		err;
	StringInfoData nobars;
	int64		nnobars = 0;

	seriescxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest portfolio bars",
									  ALLOCSET_DEFAULT_SIZES);
	ngroups = btpg_read_grouped(spec, "backtest_portfolio", seriescxt, &s, &groups);

	/* symbols asked for without bars: unknown (an error) or outside the range (NOTICE) */
	initStringInfo(&nobars);
	if (wanted != NULL)
	{
		char	  **missing = palloc(sizeof(char *) * Max(nwanted, 1));
		int			nmissing = 0;

		for (int i = 0; i < nwanted; i++)
		{
			bool		found = false;

			for (int32 r = 0; r < ngroups && !found; r++)
				found = strcmp(groups[r].name, wanted[i]) == 0;
			if (!found)
				missing[nmissing++] = wanted[i];
		}
		if (nmissing > 0)
		{
			BtpgLoadSpec	all = *spec;
			BtSeries	s2;
			BtpgSymGroup *g2 = NULL;
			int32		n2 = 0;
			StringInfoData unknown;
			int64		nunknown = 0;

			/* read the missing ones over all time: those with rows exist */
			if (spec->has_start || spec->has_end)
			{
				all.has_start = all.has_end = false;
				all.symbols = names_array(missing, nmissing);
				n2 = btpg_read_grouped(&all, "backtest_portfolio", seriescxt, &s2, &g2);
			}
			initStringInfo(&unknown);
			for (int i = 0; i < nmissing; i++)
			{
				bool		exists = false;

				for (int32 r = 0; r < n2 && !exists; r++)
					exists = strcmp(g2[r].name, missing[i]) == 0;
				if (exists)
					btpg_list_symbol(&nobars, &nnobars, missing[i]);
				else
					btpg_list_symbol(&unknown, &nunknown, missing[i]);
			}
			if (nunknown > 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg_plural("symbol not in the source: %s", "symbols not in the source: %s",
									   nunknown, unknown.data),
						 errhint("Check the symbols array against the source's symbol column.")));
		}
	}

	/* the traded symbols and the benchmark */
	c->syms = palloc0(sizeof(BtPfSymbol) * Max(ngroups, 1));
	for (int32 r = 0; r < ngroups; r++)
	{
		BtSeries	slice = btpg_series_slice(&s, groups[r].from, groups[r].n);
		bool		is_bench = c->benchmark && strcmp(groups[r].name, c->benchmark) == 0;

		if (!is_bench && wanted != NULL && !in_list(wanted, nwanted, groups[r].name))
			continue;
		errcb.callback = symbol_context;
		errcb.arg = (void *) groups[r].name;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		if (!bt_validate_series(&slice, slice.volume != NULL, &err))
			btpg_report(&err, slice.ts);
		/* "timeframe": each symbol (and the benchmark) on its own buckets */
		if (spec->cols.tf_interval > 0)
			btpg_resample_series(&slice, spec->cols.tf_interval, spec->cols.tf_origin,
								 spec->cols.tf_zone, NULL);
		if (is_bench)
		{
			c->bench = slice;
			c->has_bench = true;
		}
		else
		{
			BtPfSymbol *y = &c->syms[c->nsym++];

			y->name = groups[r].name;
			y->s = slice;
			btpg_params_for_symbol(c->maps, &c->base, groups[r].name, &y->cfg);
		}
		error_context_stack = errcb.previous;
		CHECK_FOR_INTERRUPTS();
	}
	if (c->benchmark && !c->has_bench)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("benchmark \"%s\" is not in the source", c->benchmark),
				 (spec->has_start || spec->has_end) ?
				 errhint("It has no rows in the time range, or no rows at all.") : 0));
	if (nnobars > 0)
		ereport(NOTICE,
				(errmsg("%d of the %d symbols asked for have no bars in the range: %s",
						(int) nnobars, nwanted, nobars.data),
				 errdetail("They are not traded.")));
	if (c->nsym == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("empty universe: no symbol to trade has bars"),
				 errhint("Check the symbols, the time range and the source (a benchmark is not traded).")));
	if (c->p.rotation && c->p.top > c->nsym)
	{
		ereport(NOTICE,
				(errmsg("top %d is more than the %d symbols: rotation holds all of them",
						c->p.top, c->nsym)));
		c->p.top = c->nsym;
	}
	if (!c->max_positions_set)
		c->p.max_positions = c->p.rotation ? c->p.top : c->nsym;
}

/*
 * btpg_portfolio_execute
 *		Run the engine on a loaded call; its results go to c->res, allocated
 *		in CurrentMemoryContext.  progress may stop the run: an error
 *		"backtest cancelled" (ERRCODE_QUERY_CANCELED).
 */
void
btpg_portfolio_execute(PfCall *c, BtProgressFn progress, void *progress_arg)
{
	BtAlloc		a;
	BtError		err;

	/* a thousand small arrays over 100 symbols: slabs, not palloc (bigalloc.c) */
	btpg_alloc_init_arena(&a, CurrentMemoryContext);
	if (bt_portfolio_run(c->syms, c->nsym, c->has_bench ? &c->bench : NULL, &c->p, &a,
						 progress, progress_arg, &c->res, &err) != BT_OK)
	{
		if (err.code == BT_ERR_CANCELLED)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("backtest cancelled")));
		btpg_report(&err, NULL);
	}
	if (c->res.ntrades == 0 && c->res.metrics.entries_unfilled > 0)
		btpg_notice_unfilled(&c->res.metrics, &c->syms[0].cfg.sim);
}

/*
 * btpg_portfolio_values
 *		The portfolio's columns of a result (BTPG_PF_EXTRA_NATTS), in the
 *		order of backtest_portfolio's (and backtest.results') columns.
 */
void
btpg_portfolio_values(const BtPfResult *r, Datum *v, bool *nl)
{
	double		f[3] = {r->alpha, r->beta, r->benchmark_return_pct};

	memset(nl, 0, sizeof(bool) * BTPG_PF_EXTRA_NATTS);
	v[0] = Int32GetDatum(r->n_symbols);
	v[1] = Int32GetDatum(r->max_positions_held);
	v[2] = Float8GetDatum(r->avg_positions_held);
	v[3] = Float8GetDatum(r->turnover);
	v[4] = Int64GetDatum(r->entries_skipped);
	for (int i = 0; i < 3; i++)
	{
		v[5 + i] = Float8GetDatum(f[i]);
		nl[5 + i] = !isfinite(f[i]);
	}
}

/*
 * Take one SQL call's arguments: (source, strategy, params, symbols,
 * start_ts, end_ts), or (query, strategy, params).
 */
static void
pf_args(FunctionCallInfo fcinfo, bool query_source, PfCall *c)
{
	memset(c, 0, sizeof(*c));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg(query_source ? "the query must not be NULL" : "the source must not be NULL")));
	if (query_source)
		c->query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
		c->relid = PG_GETARG_OID(0);
	c->strategy = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	c->params = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	if (query_source)
		return;
	c->symbols = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	{
		BtpgLoadSpec	range;

		/* checked in btpg_portfolio_prepare, after the parameters */
		btpg_args_time_range(fcinfo, 4, 5, false, &range);
		c->has_start = range.has_start;
		c->start_ts = range.start_ts;
		c->has_end = range.has_end;
		c->end_ts = range.end_ts;
	}
}

/*
 * btpg_portfolio_args
 *		A submit's call: its arguments into c, prepared (parsed and checked).
 */
void
btpg_portfolio_args(FunctionCallInfo fcinfo, bool query_source, PfCall *c)
{
	pf_args(fcinfo, query_source, c);
	btpg_portfolio_prepare(c);
}

/* Parse, read, validate, configure and run one call (in CurrentMemoryContext) */
static void
pf_run(FunctionCallInfo fcinfo, bool query_source, PfCall *c)
{
	btpg_portfolio_args(fcinfo, query_source, c);
	btpg_portfolio_load(c);
	btpg_portfolio_execute(c, sync_progress, NULL);
}

/* backtest_portfolio(_query): one row */
static Datum
pf_metrics(FunctionCallInfo fcinfo, bool query_source)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest portfolio",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TupleDesc	td;
	PfCall		c;
	Datum		values[PF_NATTS];
	bool		nulls[PF_NATTS];
	HeapTuple	tup;
	const BtPfResult *r;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE || td->natts != PF_NATTS)
		elog(ERROR, "backtest_portfolio must return %d columns: reinstall the extension", PF_NATTS);
	pf_run(fcinfo, query_source, &c);
	r = &c.res;
	memset(nulls, 0, sizeof(nulls));
	btpg_metrics_values(&r->metrics, values, nulls);
	btpg_portfolio_values(r, values + BTPG_METRICS_NATTS, nulls + BTPG_METRICS_NATTS);
	MemoryContextSwitchTo(old);
	tup = heap_form_tuple(BlessTupleDesc(td), values, nulls);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(tup));
}

/* backtest_portfolio_trades(_query): symbol, then backtest_trades' columns */
static Datum
pf_trades(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt,
				old;
	PfCall		c;
	Datum		values[1 + BTPG_TRADES_NATTS];
	bool		nulls[1 + BTPG_TRADES_NATTS];
	int			prev = -1;
	int64		k = 0;

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != 1 + BTPG_TRADES_NATTS)
		elog(ERROR, "backtest_portfolio_trades must return %d columns", 1 + BTPG_TRADES_NATTS);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest portfolio",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	pf_run(fcinfo, query_source, &c);
	for (int64 i = 0; i < c.res.ntrades; i++)
	{
		const BtPfTrade *t = &c.res.trades[i];

		/* trades numbered per symbol, as backtest_trades numbers them */
		if (t->sym != prev)
			k = 0;
		prev = t->sym;
		values[0] = CStringGetTextDatum(c.syms[t->sym].name);
		nulls[0] = false;
		btpg_trade_values(&t->t, k++, values + 1, nulls + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* backtest_portfolio_equity(_query): one row per timestamp */
static Datum
pf_equity(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt,
				old;
	PfCall		c;
	Datum		values[6];
	bool		nulls[6] = {0};
	double		peak = -INFINITY;

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != 6)
		elog(ERROR, "backtest_portfolio_equity must return 6 columns");
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest portfolio",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	pf_run(fcinfo, query_source, &c);
	for (int64 i = 0; i < c.res.n; i++)
	{
		double		e = c.res.equity[i];

		if (e > peak)
			peak = e;
		values[0] = TimestampTzGetDatum(btpg_ts_from_engine(c.res.ts[i]));
		values[1] = Float8GetDatum(c.res.cash[i]);
		values[2] = Float8GetDatum(c.res.value[i]);
		values[3] = Float8GetDatum(e);
		values[4] = Float8GetDatum(peak > 0 ? (e / peak - 1.0) * 100.0 : 0.0);
		values[5] = Int32GetDatum(c.res.open_positions[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

Datum
backtest_portfolio(PG_FUNCTION_ARGS)
{
	return pf_metrics(fcinfo, false);
}

Datum
backtest_portfolio_query(PG_FUNCTION_ARGS)
{
	return pf_metrics(fcinfo, true);
}

Datum
backtest_portfolio_trades(PG_FUNCTION_ARGS)
{
	return pf_trades(fcinfo, false);
}

Datum
backtest_portfolio_trades_query(PG_FUNCTION_ARGS)
{
	return pf_trades(fcinfo, true);
}

Datum
backtest_portfolio_equity(PG_FUNCTION_ARGS)
{
	return pf_equity(fcinfo, false);
}

Datum
backtest_portfolio_equity_query(PG_FUNCTION_ARGS)
{
	return pf_equity(fcinfo, true);
}
