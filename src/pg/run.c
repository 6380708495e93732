/*-------------------------------------------------------------------------
 *
 * run.c
 *	  The synchronous backtest functions: backtest_run, backtest_trades,
 *	  backtest_equity (table sources) and their *_query forms, plus the
 *	  metrics row shared with the aggregate.
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

#include "bt_chart.h"
#include "pg_backtest.h"
#include "run.h"

PG_FUNCTION_INFO_V1(backtest_run);
PG_FUNCTION_INFO_V1(backtest_trades);
PG_FUNCTION_INFO_V1(backtest_equity);
PG_FUNCTION_INFO_V1(backtest_equity_drawdown);
PG_FUNCTION_INFO_V1(backtest_run_query);
PG_FUNCTION_INFO_V1(backtest_trades_query);
PG_FUNCTION_INFO_V1(backtest_equity_query);

/* ---- output helpers ------------------------------------------------------ */

/* An interval of `usecs` microseconds, as days + time */
static Datum
interval_datum(double usecs)
{
	Interval   *iv = palloc0(sizeof(Interval));
	int64		u = (int64) llround(usecs);

	iv->day = (int32) (u / USECS_PER_DAY);
	iv->time = u % USECS_PER_DAY;
	return IntervalPGetDatum(iv);
}

/* A float8 datum; NaN and infinities become NULL */
static inline void
set_float(Datum *values, bool *nulls, int i, double x)
{
	if (isfinite(x))
		values[i] = Float8GetDatum(x);
	else
		nulls[i] = true;
}

/*
 * btpg_metrics_values
 *		Fill values/nulls (BTPG_METRICS_NATTS entries) with a metrics row in
 *		the column order of the SQL type backtest_metrics.
 */
void
btpg_metrics_values(const BtMetrics *m, Datum *values, bool *nulls)
{
	int			i = 0;

	memset(nulls, 0, sizeof(bool) * BTPG_METRICS_NATTS);
	if (m->bars > 0)
	{
		values[i++] = TimestampTzGetDatum(btpg_ts_from_engine(m->start_ts));
		values[i++] = TimestampTzGetDatum(btpg_ts_from_engine(m->end_ts));
		values[i++] = interval_datum((double) m->duration);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
		nulls[i++] = true;
	}
	values[i++] = Int64GetDatum(m->bars);
	values[i++] = Int64GetDatum(m->warmup_bars);
	set_float(values, nulls, i++, m->exposure_pct);
	set_float(values, nulls, i++, m->equity_final);
	set_float(values, nulls, i++, m->equity_peak);
	set_float(values, nulls, i++, m->commissions);
	set_float(values, nulls, i++, m->return_pct);
	set_float(values, nulls, i++, m->buy_hold_return_pct);
	set_float(values, nulls, i++, m->return_ann_pct);
	set_float(values, nulls, i++, m->volatility_ann_pct);
	set_float(values, nulls, i++, m->cagr_pct);
	set_float(values, nulls, i++, m->sharpe_ratio);
	set_float(values, nulls, i++, m->sortino_ratio);
	set_float(values, nulls, i++, m->calmar_ratio);
	set_float(values, nulls, i++, m->max_drawdown_pct);
	set_float(values, nulls, i++, m->avg_drawdown_pct);
	if (isfinite(m->max_drawdown_duration))
		values[i++] = interval_datum(m->max_drawdown_duration);
	else
		nulls[i++] = true;
	if (isfinite(m->avg_drawdown_duration))
		values[i++] = interval_datum(m->avg_drawdown_duration);
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum(m->trades_count);
	values[i++] = Int64GetDatum(m->open_trades);
	set_float(values, nulls, i++, m->win_rate_pct);
	set_float(values, nulls, i++, m->best_trade_pct);
	set_float(values, nulls, i++, m->worst_trade_pct);
	set_float(values, nulls, i++, m->avg_trade_pct);
	if (isfinite(m->max_trade_duration))
		values[i++] = interval_datum(m->max_trade_duration);
	else
		nulls[i++] = true;
	if (isfinite(m->avg_trade_duration))
		values[i++] = interval_datum(m->avg_trade_duration);
	else
		nulls[i++] = true;
	set_float(values, nulls, i++, m->profit_factor);
	set_float(values, nulls, i++, m->expectancy_pct);
	set_float(values, nulls, i++, m->sqn);
	set_float(values, nulls, i++, m->kelly_criterion);
	set_float(values, nulls, i++, m->omega_ratio);
	set_float(values, nulls, i++, m->periods_per_year);
	Assert(i == BTPG_METRICS_NATTS);
}

/*
 * btpg_metrics_datum
 *		The metrics as a composite datum of the function's result type.
 */
Datum
btpg_metrics_datum(FunctionCallInfo fcinfo, const BtMetrics *m)
{
	TupleDesc	td;
	Datum		values[BTPG_METRICS_NATTS];
	bool		nulls[BTPG_METRICS_NATTS];

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (td->natts != BTPG_METRICS_NATTS)
		elog(ERROR, "backtest_metrics has %d columns, expected %d: reinstall the extension",
			 td->natts, BTPG_METRICS_NATTS);
	td = BlessTupleDesc(td);
	btpg_metrics_values(m, values, nulls);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/* ---- running ------------------------------------------------------------- */

void
btpg_signal_nan_error(TimestampTz t)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("invalid bar at %s: signal is NaN", timestamptz_to_str(t)),
			 errhint("A signal must be -1, 0, 1 or NULL (NULL keeps the current position).")));
}

/* Engine progress callback for synchronous runs: honour cancel/timeout */
static int
sync_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/*
 * btpg_run_engine
 *		Validate, run and report: the common tail of every backtest entry
 *		point once the series is loaded.  Allocates in CurrentMemoryContext.
 */
void
btpg_run_engine(const BtSeries *s, const BtConfig *cfg, BtResult *res)
{
	BtAlloc		a;
	BtError		err;

	btpg_alloc_init(&a, CurrentMemoryContext);
	if (bt_run(s, cfg, &a, sync_progress, NULL, res, &err) != BT_OK)
		btpg_report(&err, s->ts);
	if (s->n == 0)
		ereport(NOTICE,
				(errmsg("no bars to backtest: the source returned no rows"),
				 errhint("Check the symbol, the time range and the source.")));
	else if (res->metrics.warmup_bars >= s->n)
		ereport(NOTICE,
				(errmsg("strategy \"%s\" needs more bars than the %lld the source returned",
						cfg->strategy->name, (long long) s->n),
				 errdetail("Its indicators never become defined, so it made no trades."),
				 errhint("Use a longer time range or shorter indicator windows.")));
	else if (res->ntrades == 0 && res->metrics.entries_unfilled > 0)
		btpg_notice_unfilled(&res->metrics, &cfg->sim);
}

/* An amount for a message: 2 decimals, or 6 significant digits when tiny */
static char *
fmt_amount(double v)
{
	return psprintf(fabs(v) >= 0.01 || v == 0 ? "%.2f" : "%.6g", v);
}

/*
 * btpg_notice_unfilled
 *		NOTICE that a run made no trade because no entry order could be
 *		filled: not even one lot, with its costs, fit in the cash.  For a run
 *		with no trades and m->entries_unfilled > 0.
 */
void
btpg_notice_unfilled(const BtMetrics *m, const BtSimParams *sim)
{
	char	   *price = fmt_amount(m->unfilled_price);
	char	   *cost = fmt_amount(m->unfilled_cost);
	char	   *cash = fmt_amount(m->unfilled_cash);

	if (sim->fractional)
		ereport(NOTICE,
				(errmsg("no entry could be filled: the fees of the smallest order at %s come to %s, more than the %s available",
						price, cost, cash),
				 errdetail_plural("%lld entry signal was skipped for lack of cash.",
								  "%lld entry signals were skipped for lack of cash.",
								  m->entries_unfilled, (long long) m->entries_unfilled),
				 errhint("Raise initial_capital or lower commission_fixed/commission_min.")));
	else
		ereport(NOTICE,
				(errmsg("no entry could be filled: one lot of %g at %s costs %s including fees, more than the %s available",
						sim->lot_size, price, cost, cash),
				 errdetail_plural("%lld entry signal was skipped for lack of cash.",
								  "%lld entry signals were skipped for lack of cash.",
								  m->entries_unfilled, (long long) m->entries_unfilled),
				 errhint("Raise initial_capital, lower lot_size, or set \"fractional\": true.")));
}

/*
 * Common front end: parse the arguments of a table-source or query-source
 * call, load the series and run.  Allocates in the run context `cxt`.
 */
static void
run_from_args(FunctionCallInfo fcinfo, bool query_source, MemoryContext cxt,
			  BtSeries *s, BtConfig *cfg, BtResult *res)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	BtLoadSpec	spec;
	const BtStrategyDef *st;
	int			a = query_source ? 1 : 2;	/* index of the strategy argument */
	Jsonb	   *params;

	memset(&spec, 0, sizeof(spec));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source must not be NULL")));
	if (PG_ARGISNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies().")));
	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(a)));
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
	{
		spec.relid = PG_GETARG_OID(0);
		spec.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		{
			spec.has_start = true;
			spec.start_ts = PG_GETARG_TIMESTAMPTZ(4);
		}
		if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
		{
			spec.has_end = true;
			spec.end_ts = PG_GETARG_TIMESTAMPTZ(5);
		}
		if (spec.has_start && spec.has_end && spec.start_ts > spec.end_ts)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("start_ts is after end_ts")));
	}
	btpg_load_series(&spec, s);
	btpg_run_engine(s, cfg, res);
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

	run_from_args(fcinfo, query_source, cxt, &s, &cfg, &res);
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

/*
 * btpg_trades_values
 *		One backtest_trades row (13 columns) for trade k.
 */
void
btpg_trade_values(const BtTrade *t, int64 k, Datum *values, bool *nulls)
{
	memset(nulls, 0, sizeof(bool) * BTPG_TRADES_NATTS);
	values[0] = Int32GetDatum((int32) k + 1);
	values[1] = CStringGetTextDatum(t->side > 0 ? "long" : "short");
	values[2] = TimestampTzGetDatum(btpg_ts_from_engine(t->entry_ts));
	values[3] = Float8GetDatum(t->entry_price);
	values[4] = TimestampTzGetDatum(btpg_ts_from_engine(t->exit_ts));
	values[5] = Float8GetDatum(t->exit_price);
	values[6] = Float8GetDatum(t->quantity);
	values[7] = Float8GetDatum(t->pnl);
	values[8] = Float8GetDatum(t->return_pct);
	values[9] = Int32GetDatum((int32) (t->exit_bar - t->entry_bar));
	values[10] = CStringGetTextDatum(bt_exit_reason_name(t->exit_reason));
	values[11] = BoolGetDatum(t->is_open);
	values[12] = Float8GetDatum(t->commission);
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
	run_from_args(fcinfo, query_source, cxt, &s, &cfg, &res);
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
	Datum		values[5];
	bool		nulls[5] = {0};
	double		peak = -INFINITY;

	SetSingleFuncCall(fcinfo, 0);
	cxt = run_context();
	run_from_args(fcinfo, query_source, cxt, &s, &cfg, &res);
	if (rsinfo->setDesc->natts != 5)
		elog(ERROR, "backtest_equity returns %d columns, expected 5", rsinfo->setDesc->natts);
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
 * btpg_make_array8
 *		A 1-D array of n 8-byte values without nulls (float8 or timestamptz),
 *		built in one copy: the equity curve's arrays hold millions of
 *		elements, and construct_md_array's per-element loop cost more than
 *		the insert.
 */
Datum
btpg_make_array8(const void *data, int64 n, Oid type)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * 8;
	ArrayType  *a;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(type));
	a = (ArrayType *) palloc_extended(nbytes, MCXT_ALLOC_HUGE);
	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = type;
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), data, (Size) n * 8);
	return PointerGetDatum(a);
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
