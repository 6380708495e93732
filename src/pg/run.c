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
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pg_backtest.h"
#include "run.h"

PG_FUNCTION_INFO_V1(backtest_run);
PG_FUNCTION_INFO_V1(backtest_trades);
PG_FUNCTION_INFO_V1(backtest_equity);
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
 *		the column order of the SQL type backtest_metrics: one column per
 *		bt_metric_defs entry, typed by its kind (btpg_metric_type).
 */
void
btpg_metrics_values(const BtMetrics *m, Datum *values, bool *nulls)
{
	for (int i = 0; i < BT_N_METRICS; i++)
	{
		const BtMetricDef *d = &bt_metric_defs[i];

		nulls[i] = bt_metric_is_null(m, d);
		if (nulls[i])
			continue;
		switch (d->kind)
		{
			case BT_METRIC_TIMESTAMP:
				values[i] = TimestampTzGetDatum(btpg_ts_from_engine(bt_metric_int64(m, d)));
				break;
			case BT_METRIC_DURATION:
				values[i] = interval_datum(bt_metric_double(m, d));
				break;
			case BT_METRIC_INT64:
				values[i] = Int64GetDatum(bt_metric_int64(m, d));
				break;
			case BT_METRIC_DOUBLE:
				values[i] = Float8GetDatum(bt_metric_double(m, d));
				break;
		}
	}
}

/*
 * btpg_metric_type
 *		The SQL type of metric column i of backtest_metrics.
 */
Oid
btpg_metric_type(int i)
{
	switch (bt_metric_defs[i].kind)
	{
		case BT_METRIC_TIMESTAMP:
			return TIMESTAMPTZOID;
		case BT_METRIC_DURATION:
			return INTERVALOID;
		case BT_METRIC_INT64:
			return INT8OID;
		case BT_METRIC_DOUBLE:
			break;
	}
	return FLOAT8OID;
}

/*
 * btpg_metric_columns
 *		The columns of backtest_metrics, comma-separated, each prefixed
 *		with `prefix` ("r." for a query over backtest.results), palloc'd.
 */
char *
btpg_metric_columns(const char *prefix)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < BT_N_METRICS; i++)
		appendStringInfo(&buf, "%s%s%s", i ? ", " : "", prefix, bt_metric_defs[i].name);
	return buf.data;
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

/* The types of the backtest_trades columns, in btpg_trade_values' order */
const Oid	btpg_trade_types[BTPG_TRADES_NATTS] = {
	INT4OID,					/* trade_no */
	TEXTOID,					/* side */
	TIMESTAMPTZOID,				/* entry_ts */
	FLOAT8OID,					/* entry_price */
	TIMESTAMPTZOID,				/* exit_ts */
	FLOAT8OID,					/* exit_price */
	FLOAT8OID,					/* quantity */
	FLOAT8OID,					/* pnl */
	FLOAT8OID,					/* return_pct */
	INT4OID,					/* bars_held */
	TEXTOID,					/* exit_reason */
	BOOLOID,					/* is_open */
	FLOAT8OID,					/* commission */
	INT8OID,					/* entry_bar */
	INT8OID,					/* exit_bar */
	FLOAT8OID,					/* mae_price */
	FLOAT8OID,					/* mae_pct */
	FLOAT8OID,					/* mfe_price */
	FLOAT8OID					/* mfe_pct */
};

/*
 * btpg_trades_values
 *		One backtest_trades row (BTPG_TRADES_NATTS columns) for trade k.
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
	values[13] = Int64GetDatum(t->entry_bar);
	values[14] = Int64GetDatum(t->exit_bar);
	values[15] = Float8GetDatum(t->mae_price);
	values[16] = Float8GetDatum(t->mae_pct);
	values[17] = Float8GetDatum(t->mfe_price);
	values[18] = Float8GetDatum(t->mfe_pct);
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
	Datum		values[BTPG_EQUITY_NATTS];
	bool		nulls[BTPG_EQUITY_NATTS] = {0};
	double		peak = -INFINITY;

	SetSingleFuncCall(fcinfo, 0);
	cxt = run_context();
	run_from_args(fcinfo, query_source, cxt, &s, &cfg, &res);
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
