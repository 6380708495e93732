/*-------------------------------------------------------------------------
 *
 * run.c
 *	  The synchronous backtest functions: backtest_run, backtest_trades,
 *	  backtest_equity (table sources) and their *_query forms.  The
 *	  metrics and trades rows are the core's (core/results.c).
 *
 * Each call runs in its own memory context, a child of the caller's,
 * deleted when the call ends; on error the transaction's cleanup frees it.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/run.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/params.h"
#include "core/results.h"
#include "core/timestamps.h"
#include "bt_chart.h"
#include "periods.h"

PG_FUNCTION_INFO_V1(backtest_run);
PG_FUNCTION_INFO_V1(backtest_trades);
PG_FUNCTION_INFO_V1(backtest_equity);
PG_FUNCTION_INFO_V1(backtest_equity_drawdown);
PG_FUNCTION_INFO_V1(backtest_run_query);
PG_FUNCTION_INFO_V1(backtest_trades_query);
PG_FUNCTION_INFO_V1(backtest_equity_query);
PG_FUNCTION_INFO_V1(backtest_period_returns);
PG_FUNCTION_INFO_V1(backtest_period_returns_query);

/*
 * Common front end: parse the arguments of a table-source or query-source
 * call, load the series and run, with the per-bar curves (res->equity,
 * position, cash) when `curves`, else metrics and trades only (faster).
 * Allocates in the run context `cxt`.
 */
static void
run_from_args(FunctionCallInfo fcinfo, bool query_source, bool curves, MemoryContext cxt,
			  BtSeries *s, BtConfig *cfg, BtResult *res)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	BtpgLoadSpec	spec;
	const BtStrategyDef *st;
	int			a = query_source ? 1 : 2;	/* index of the strategy argument */
	Jsonb	   *params;

	memset(&spec, 0, sizeof(spec));
	btpg_args_require_source(fcinfo);
	st = btpg_args_strategy(fcinfo, a);
	params = PG_ARGISNULL(a + 1) ? NULL : PG_GETARG_JSONB_P(a + 1);
	/* per-symbol parameters resolve to the symbol's values (table sources) */
	btpg_parse_params_symbol(params, st, NULL, true,
							 query_source || PG_ARGISNULL(1) ? NULL :
							 text_to_cstring(PG_GETARG_TEXT_PP(1)),
							 cfg, &spec.cols);
	spec.need_volume = spec.cols.name[BTCOL_VOLUME] != NULL;
	spec.need_signal = st->needs_signal;

	if (query_source)
		spec.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
		btpg_args_table_source(fcinfo, 1, 4, 5, &spec);
	btpg_load_series(&spec, s);
	if (curves)
		btpg_run_engine(s, cfg, res);
	else
		btpg_run_engine_metrics(s, cfg, res);
	MemoryContextSwitchTo(old);
}

/* A fresh per-call run context */
static MemoryContext
run_context(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "pg_backtest run",
								 ALLOCSET_DEFAULT_SIZES);
}

/* backtest_run and backtest_run_query: one metrics row */
static Datum
run_metrics(FunctionCallInfo fcinfo, bool query_source)
{
	MemoryContext cxt = run_context();
	BtSeries	s;
	BtConfig	cfg;
	BtResult	res;
	Datum		d;

	run_from_args(fcinfo, query_source, false, cxt, &s, &cfg, &res);
	d = btpg_metrics_datum(fcinfo, &res.metrics);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(d);
}

Datum
backtest_run(PG_FUNCTION_ARGS)
{
	return run_metrics(fcinfo, false);
}

Datum
backtest_run_query(PG_FUNCTION_ARGS)
{
	return run_metrics(fcinfo, true);
}

/* backtest_trades and backtest_trades_query: one row per trade */
static Datum
run_trades(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	BtSeries	s;
	BtConfig	cfg;
	BtResult	res;
	Datum		values[BTPG_TRADES_NATTS];
	bool		nulls[BTPG_TRADES_NATTS];

	SetSingleFuncCall(fcinfo, 0);
	cxt = run_context();
	run_from_args(fcinfo, query_source, false, cxt, &s, &cfg, &res);
	bt_trade_excursions(&s, &cfg.sim, res.trades, res.ntrades);
	if (rsinfo->setDesc->natts != BTPG_TRADES_NATTS)
		elog(ERROR, "backtest_trades returns %d columns, expected %d",
			 rsinfo->setDesc->natts, BTPG_TRADES_NATTS);
	for (int64 k = 0; k < res.ntrades; k++)
	{
		btpg_trade_values(&res.trades[k], k, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

Datum
backtest_trades(PG_FUNCTION_ARGS)
{
	return run_trades(fcinfo, false);
}

Datum
backtest_trades_query(PG_FUNCTION_ARGS)
{
	return run_trades(fcinfo, true);
}

/* backtest_equity and backtest_equity_query: one row per bar */
static Datum
run_equity(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	BtSeries	s;
	BtConfig	cfg;
	BtResult	res;
	Datum		values[BTPG_EQUITY_NATTS];
	bool		nulls[BTPG_EQUITY_NATTS] = {0};
	double		peak = -INFINITY;

	SetSingleFuncCall(fcinfo, 0);
	cxt = run_context();
	run_from_args(fcinfo, query_source, true, cxt, &s, &cfg, &res);
	if (rsinfo->setDesc->natts != BTPG_EQUITY_NATTS)
		elog(ERROR, "backtest_equity returns %d columns, expected %d", rsinfo->setDesc->natts,
			 BTPG_EQUITY_NATTS);
	for (int64 i = 0; i < res.n; i++)
	{
		double		e = res.equity[i];

		if (e > peak)
			peak = e;
		values[0] = TimestampTzGetDatum(btpg_ts_from_engine(s.ts[i]));
		values[1] = Float8GetDatum(s.close[i]);
		values[2] = Float8GetDatum(res.position[i]);
		values[3] = Float8GetDatum(e);
		values[4] = Float8GetDatum(peak > 0 ? (e / peak - 1.0) * 100.0 : 0.0);
		values[5] = Float8GetDatum(res.cash[i]);
		/* the product the simulator adds to cash for the equity */
		values[6] = Float8GetDatum(res.position[i] * s.close[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

Datum
backtest_equity(PG_FUNCTION_ARGS)
{
	return run_equity(fcinfo, false);
}

Datum
backtest_equity_query(PG_FUNCTION_ARGS)
{
	return run_equity(fcinfo, true);
}

/*
 * backtest_period_returns and backtest_period_returns_query: one row per
 * calendar period of the run's equity curve (periods.c), the period being
 * the last argument.
 */
static Datum
run_periods(FunctionCallInfo fcinfo, bool query_source)
{
	MemoryContext cxt;
	BtSeries	s;
	BtConfig	cfg;
	BtResult	res;
	BtPeriod	period = btpg_period_arg(fcinfo, query_source ? 3 : 6);
	int64_t    *exits;
	int64		nexits = 0;

	SetSingleFuncCall(fcinfo, 0);
	cxt = run_context();
	run_from_args(fcinfo, query_source, true, cxt, &s, &cfg, &res);
	exits = MemoryContextAlloc(cxt, sizeof(int64_t) * Max(res.ntrades, 1));
	for (int64 k = 0; k < res.ntrades; k++)
		if (!res.trades[k].is_open)
			exits[nexits++] = res.trades[k].exit_ts;
	btpg_period_rows(fcinfo, s.ts, res.equity, res.n, cfg.sim.initial_capital, exits, nexits,
					 period);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

Datum
backtest_period_returns(PG_FUNCTION_ARGS)
{
	return run_periods(fcinfo, false);
}

Datum
backtest_period_returns_query(PG_FUNCTION_ARGS)
{
	return run_periods(fcinfo, true);
}

/*
 * backtest.equity_drawdown(equity float8[]) -> float8[]
 *		The drawdown in percent below the running peak of an equity curve,
 *		element by element (bt_drawdown_pct: the values backtest_equity
 *		gives).  The view backtest.equity derives its drawdown_pct column
 *		from the stored equity array with it, so the curve is not stored
 *		twice.
 */
Datum
backtest_equity_drawdown(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	int64		n;
	double	   *dd;

	if (ARR_NDIM(a) > 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("equity must be a one-dimensional double precision array without NULLs")));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	dd = palloc_extended(sizeof(double) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
	bt_drawdown_pct((const double *) ARR_DATA_PTR(a), n, dd);
	PG_RETURN_DATUM(btpg_make_array8(dd, n, FLOAT8OID));
}
