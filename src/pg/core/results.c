/*-------------------------------------------------------------------------
 *
 * results.c
 *	  Running one configuration on a loaded series (btpg_run_engine, with
 *	  its NOTICEs), and the result rows every entry point and the queue
 *	  build from what the engine returns: the backtest_metrics row and the
 *	  backtest_trades rows.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/results.c
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/errors.h"
#include "core/memory.h"
#include "core/results.h"
#include "core/timestamps.h"

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

/*
 * btpg_metric_type
 *		The SQL type of a metric's backtest_metrics column: timestamptz,
 *		interval, bigint or double precision, by its kind.
 */
Oid
btpg_metric_type(const BtMetricDef *d)
{
	switch (d->kind)
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
 * btpg_metrics_values
 *		Fill values/nulls (BTPG_METRICS_NATTS entries) with a metrics row in
 *		the column order of the SQL type backtest_metrics, the order of
 *		bt_metric_defs: a metric without a value (bt_metric_is_null) is NULL.
 */
void
btpg_metrics_values(const BtMetrics *m, Datum *values, bool *nulls)
{
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
	{
		const BtMetricDef *d = &bt_metric_defs[i];

		nulls[i] = bt_metric_is_null(m, d);
		if (nulls[i])
		{
			values[i] = (Datum) 0;
			continue;
		}
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

/* Engine progress callback for synchronous runs: honour cancel/timeout */
static int
sync_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/*
 * btpg_run_engine_with
 *		Validate, run and report: the common tail of every backtest entry
 *		point once the series is loaded, with the per-bar curves
 *		(bt_run) or without (bt_run_metrics, faster).  The engine allocates
 *		from alloc, or (alloc NULL) from CurrentMemoryContext.
 */
void
btpg_run_engine_with(const BtSeries *s, const BtConfig *cfg, const BtAlloc *alloc, bool curves,
					 BtResult *res)
{
	BtAlloc		a;
	BtError		err;

	if (alloc)
		a = *alloc;
	else
		btpg_alloc_init(&a, CurrentMemoryContext);
	if ((curves ? bt_run : bt_run_metrics) (s, cfg, &a, sync_progress, NULL, res, &err) != BT_OK)
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

/* With the equity, position and cash curves (res->equity ...) */
void
btpg_run_engine(const BtSeries *s, const BtConfig *cfg, BtResult *res)
{
	btpg_run_engine_with(s, cfg, NULL, true, res);
}

/* For metrics and trades only: res->equity, position, cash NULL */
void
btpg_run_engine_metrics(const BtSeries *s, const BtConfig *cfg, BtResult *res)
{
	btpg_run_engine_with(s, cfg, NULL, false, res);
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

	if (sim->sizing == BT_SIZING_QUANTITY || sim->sizing == BT_SIZING_VALUE)
		ereport(NOTICE,
				(errmsg("no entry could be filled: the order at %s costs %s including fees, more than the %s of buying power",
						price, cost, cash),
				 errdetail_plural("%lld entry signal was skipped for lack of cash.",
								  "%lld entry signals were skipped for lack of cash.",
								  m->entries_unfilled, (long long) m->entries_unfilled),
				 errhint("Lower %s, or raise initial_capital or leverage.",
						 sim->sizing == BT_SIZING_QUANTITY ? "order_quantity" : "order_value")));
	else if (sim->fractional)
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

/* ---- trades -------------------------------------------------------------- */

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

/*
 * btpg_make_array_raw
 *		A 1-D array of n values of elemsize (4 or 8) bytes without nulls
 *		(int4, float8, timestamptz), built in one copy: the equity curve's
 *		arrays hold millions of elements, and construct_md_array's
 *		per-element loop cost more than the insert.
 */
Datum
btpg_make_array_raw(const void *data, int64 n, int elemsize, Oid type)
{
	ArrayType  *a;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(type));
	a = btpg_array_raw_header(palloc_extended(btpg_array_raw_size(n, elemsize), MCXT_ALLOC_HUGE),
							  n, elemsize, type);
	memcpy(ARR_DATA_PTR(a), data, (Size) n * elemsize);
	return PointerGetDatum(a);
}

/* The bytes of a 1-D array of n values of elemsize bytes without nulls */
Size
btpg_array_raw_size(int64 n, int elemsize)
{
	return ARR_OVERHEAD_NONULLS(1) + (Size) n * elemsize;
}

/*
 * btpg_array_raw_header
 *		Make buf (btpg_array_raw_size bytes) such an array of n > 0 values,
 *		its data still to be written at ARR_DATA_PTR.
 */
ArrayType *
btpg_array_raw_header(void *buf, int64 n, int elemsize, Oid type)
{
	ArrayType  *a = (ArrayType *) buf;

	SET_VARSIZE(a, btpg_array_raw_size(n, elemsize));
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = type;
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	return a;
}

/* btpg_make_array8: btpg_make_array_raw of 8-byte values (float8 or timestamptz) */
Datum
btpg_make_array8(const void *data, int64 n, Oid type)
{
	return btpg_make_array_raw(data, n, 8, type);
}
