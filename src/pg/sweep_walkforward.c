/*-------------------------------------------------------------------------
 *
 * sweep_walkforward.c
 *	  backtest_walk_forward(): in-sample sweeps, the best combination run
 *	  out of sample, and the stitched out-of-sample curve.  The arithmetic
 *	  (windows, warm-up, stitching) is the engine's (walkforward.c); this
 *	  runs the sweeps and builds the rows.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_walkforward.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "core/timestamps.h"
#include "sweep.h"
#include "bt_walkforward.h"

PG_FUNCTION_INFO_V1(backtest_walk_forward);

#define WF_NATTS 16

/* The two lengths of a walk-forward, for the engine's shift function */
typedef struct WfLengths
{
	Interval   *in_sample;
	Interval   *out_of_sample;
} WfLengths;

/* Error unless an interval argument is positive */
static void
check_interval(Interval *iv, const char *name)
{
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", name)));
}

/*
 * wf_shift
 *		BtWfShiftFn: t + or - a length, in calendar terms (session time
 *		zone); errors on overflow like timestamptz + interval.
 */
static int64_t
wf_shift(void *arg, int64_t t, BtWfLength len, int sign)
{
	WfLengths  *l = arg;
	Interval   *iv = len == BT_WF_IN_SAMPLE ? l->in_sample : l->out_of_sample;
	Datum		d = TimestampTzGetDatum(btpg_ts_from_engine(t));

	CHECK_FOR_INTERRUPTS();
	d = DirectFunctionCall2(sign > 0 ? timestamptz_pl_interval : timestamptz_mi_interval,
							d, IntervalPGetDatum(iv));
	return btpg_ts_to_engine(DatumGetTimestampTz(d));
}

/* Set values[col] to x, or nulls[col] when x is not finite */
static inline void
wf_float(Datum *values, bool *nulls, int col, double x)
{
	nulls[col] = !isfinite(x);
	values[col] = Float8GetDatum(x);
}

/*
 * backtest_walk_forward(source, symbol, strategy, grid, params, in_sample,
 *						 out_of_sample, anchored, start_ts, end_ts)
 *		Split the range into in-sample / out-of-sample windows (rolling, or
 *		anchored at the start; windows without bars left out, at most
 *		BT_WF_MAX_WINDOWS), pick the best combination of the grid in sample
 *		by the grid's objective (sort_by, default sharpe_ratio), run it out
 *		of sample, and return one row per window plus a last row with the
 *		metrics of the stitched out-of-sample equity curve.  The arithmetic
 *		is the engine's (walkforward.c); this runs the sweeps and builds the
 *		rows.
 */
Datum
backtest_walk_forward(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt,
				old;
	BtAlloc		alloc;
	const BtStrategyDef *st;
	BtpgSweepPlan plan;
	BtpgLoadSpec	load;
	BtSeries	s;
	BtConfig   *combos;
	int64		ncombos;
	BtError		err;
	WfLengths	lengths;
	BtWfSpec	wf;
	BtWfWindow *windows;
	int64		nwin;
	BtWfStitch	stitch;

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != WF_NATTS)
		elog(ERROR, "backtest_walk_forward returns %d columns, expected %d",
			 rsinfo->setDesc->natts, WF_NATTS);
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i == 0 ? 0 : i + 1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s must not be NULL",
							i == 0 ? "source" : i == 1 ? "strategy" : i == 2 ? "grid" : "params")));
	if (PG_ARGISNULL(5) || PG_ARGISNULL(6) || PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("in_sample, out_of_sample and anchored must not be NULL")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest walk-forward",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	btpg_alloc_init(&alloc, cxt);

	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	memset(&load, 0, sizeof(load));
	btpg_sweep_parse(PG_GETARG_JSONB_P(3), PG_GETARG_JSONB_P(4), st, &alloc, &plan, &load.cols);
	lengths.in_sample = PG_GETARG_INTERVAL_P(5);
	lengths.out_of_sample = PG_GETARG_INTERVAL_P(6);
	check_interval(lengths.in_sample, "in_sample");
	check_interval(lengths.out_of_sample, "out_of_sample");
	memset(&wf, 0, sizeof(wf));
	wf.anchored = PG_GETARG_BOOL(7);
	wf.shift = wf_shift;
	wf.shift_arg = &lengths;
	/* no calendar part: stretches without bars can be crossed in one step */
	if (lengths.out_of_sample->month == 0 && lengths.out_of_sample->day == 0)
		wf.oos_usecs = lengths.out_of_sample->time;
	wf.max_windows = BT_WF_MAX_WINDOWS;
	btpg_sweep_expand(&plan, &alloc);
	combos = plan.combos;
	ncombos = plan.ncombos;
	if (ncombos == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every combination of the grid was skipped"),
				 errhint("Check the constraints and the values of the swept parameters.")));

	load.need_volume = load.cols.name[BTCOL_VOLUME] != NULL;
	load.need_signal = st->needs_signal;
	load.relid = PG_GETARG_OID(0);
	load.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	/* unchecked: a range with start after end has no window (a NOTICE) */
	btpg_args_time_range(fcinfo, 8, 9, false, &load);
	btpg_load_series(&load, &s);

	/* every window laid out (and counted) before any sweep runs */
	if (bt_wf_windows(s.ts, s.n, &wf, &alloc, &windows, &nwin, &err) != BT_OK)
		btpg_report(&err, NULL);
	bt_wf_stitch_init(&stitch, s.n, plan.base.sim.initial_capital, &alloc);

	for (int64 w = 0; w < nwin; w++)
	{
		const BtWfWindow *win = &windows[w];
		BtSeries	is = bt_series_slice(&s, win->i_is, win->i_oos - win->i_is);
		BtMetrics  *metrics;
		int64		best;
		double		best_key;
		Datum		values[WF_NATTS];
		bool		nulls[WF_NATTS];

		CHECK_FOR_INTERRUPTS();
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum((int32) (w + 1));
		values[1] = CStringGetTextDatum("window");
		values[2] = TimestampTzGetDatum(btpg_ts_from_engine(win->is_start));
		values[3] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_start));
		values[4] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_start));
		values[5] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_end));
		values[8] = Int64GetDatum(win->i_oos - win->i_is);
		values[9] = Int64GetDatum(win->i_end - win->i_oos);

		/* in sample: every combination, the best by the objective */
		metrics = palloc_extended(sizeof(BtMetrics) * ncombos, MCXT_ALLOC_HUGE);
		btpg_sweep_execute(&is, st, combos, ncombos, NULL, metrics);
		best = bt_best_by_objective(metrics, ncombos, &plan.spec.objective, &best_key);
		if (best < 0)
		{
			/* nothing defined in sample: no trading out of sample */
			nulls[6] = nulls[7] = true;
			for (int c = 10; c < WF_NATTS; c++)
				nulls[c] = true;
			bt_wf_stitch_flat(&stitch, &s, win->i_oos, win->i_end);
		}
		else
		{
			BtResult	r;
			Datum		pv[2 + 2 * BTPG_SWEEP_PCOLS];
			bool		pn[2 + 2 * BTPG_SWEEP_PCOLS];
			double		scale = bt_wf_stitch_scale(&stitch);

			btpg_sweep_params(&plan, best, pv, pn);
			values[6] = pv[1];
			values[7] = Float8GetDatum(best_key);
			if (bt_wf_run_out_of_sample(&s, &combos[best], win, &alloc, &r, &err) != BT_OK)
				btpg_report(&err, s.ts);
			values[10] = Int64GetDatum(r.metrics.trades_count);
			values[11] = Float8GetDatum(r.metrics.return_pct);
			wf_float(values, nulls, 12, r.metrics.sharpe_ratio);
			wf_float(values, nulls, 13, r.metrics.max_drawdown_pct);
			wf_float(values, nulls, 14, r.metrics.win_rate_pct);
			values[15] = Float8GetDatum(r.metrics.equity_final * scale);
			/* this window's curve continues from the previous capital */
			bt_wf_stitch_add(&stitch, &s, win->i_oos, &r);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(metrics);
	}

	/* the stitched out-of-sample row */
	if (nwin > 0)
	{
		BtResult	r;
		Datum		values[WF_NATTS];
		bool		nulls[WF_NATTS];

		bt_wf_stitch_result(&stitch, &plan.base.sim, &r);
		memset(nulls, 0, sizeof(nulls));
		nulls[0] = true;
		values[1] = CStringGetTextDatum("stitched");
		nulls[2] = nulls[3] = true;
		values[4] = TimestampTzGetDatum(btpg_ts_from_engine(stitch.ts[0]));
		values[5] = TimestampTzGetDatum(btpg_ts_from_engine(stitch.ts[stitch.n - 1]));
		nulls[6] = nulls[7] = nulls[8] = true;
		values[9] = Int64GetDatum(stitch.n);
		values[10] = Int64GetDatum(r.metrics.trades_count);
		values[11] = Float8GetDatum(r.metrics.return_pct);
		wf_float(values, nulls, 12, r.metrics.sharpe_ratio);
		wf_float(values, nulls, 13, r.metrics.max_drawdown_pct);
		wf_float(values, nulls, 14, r.metrics.win_rate_pct);
		values[15] = Float8GetDatum(r.metrics.equity_final);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	else
		ereport(NOTICE,
				(errmsg("no walk-forward window fits in the data"),
				 errhint("The range must be longer than in_sample; shorten in_sample or widen the range.")));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
