/*-------------------------------------------------------------------------
 *
 * walkforward.c
 *	  Walk-forward analysis: laying out the windows, choosing the in-sample
 *	  best combination, running it out of sample after an in-sample
 *	  warm-up, and stitching the out-of-sample results into one curve.
 *	  The SQL function backtest_walk_forward (src/pg/sweep.c) runs the
 *	  in-sample sweeps and builds the rows.
 *
 * Windows without bars are left out, and stretches without bars are
 * crossed in one step when the out-of-sample length is a fixed duration, so
 * the cost of laying out the windows grows with the number of bars, not
 * with the span of time divided by the window length (an out-of-sample
 * length of one microsecond is refused quickly, by the window limit).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/walkforward.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_sweep.h"
#include "bt_walkforward.h"

/* First index with ts >= t (n if none); ts ascending */
static int64_t
lower_bound_ts(const int64_t *ts, int64_t n, int64_t t)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (ts[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * bt_wf_windows
 *		The windows of a walk-forward (see bt_walkforward.h).
 */
BtErrCode
bt_wf_windows(const int64_t *ts, int64_t n, const BtWfSpec *spec, const BtAlloc *a,
			  BtWfWindow **windows, int64_t *nwindows, BtError *err)
{
	BtWfWindow *out = NULL;
	int64_t		count = 0,
				cap = 0;
	int64_t		t0,
				next_oos;

	*windows = NULL;
	*nwindows = 0;
	if (n <= 0)
		return BT_OK;
	t0 = ts[0];
	next_oos = spec->shift(spec->shift_arg, t0, BT_WF_IN_SAMPLE, 1);
	for (;;)
	{
		BtWfWindow	w;

		w.oos_start = next_oos;
		w.i_oos = lower_bound_ts(ts, n, w.oos_start);
		if (w.i_oos >= n)
			break;
		w.oos_end = spec->shift(spec->shift_arg, w.oos_start, BT_WF_OUT_OF_SAMPLE, 1);
		w.i_end = lower_bound_ts(ts, n, w.oos_end);
		next_oos = w.oos_end;
		if (w.i_end == w.i_oos)
		{
			/*
			 * No bar out of sample.  With a fixed length, go straight to the
			 * window holding the next bar: k steps of oos_usecs from here,
			 * exactly what k shifts would give.
			 */
			if (spec->oos_usecs > 0)
				next_oos = w.oos_start +
					(ts[w.i_oos] - w.oos_start) / spec->oos_usecs * spec->oos_usecs;
			continue;
		}
		w.is_start = spec->anchored ? t0 :
			spec->shift(spec->shift_arg, w.oos_start, BT_WF_IN_SAMPLE, -1);
		w.i_is = lower_bound_ts(ts, n, w.is_start);
		if (w.i_is == w.i_oos)
			continue;			/* no bar in sample */
		if (count >= spec->max_windows)
		{
			bt_set_error(err, BT_ERR_PARAM,
						 "the walk-forward has more than the limit of %lld windows",
						 (long long) spec->max_windows);
			snprintf(err->detail, sizeof(err->detail),
					 "Window %lld would start out of sample at bar %lld of %lld.",
					 (long long) count + 1, (long long) w.i_oos + 1, (long long) n);
			snprintf(err->hint, sizeof(err->hint),
					 "Lengthen out_of_sample or narrow the range: every window runs the whole grid in sample.");
			return BT_ERR_PARAM;
		}
		if (count == cap)
		{
			cap = cap ? 2 * cap : 16;
			out = a->realloc_fn(a->ctx, out, (size_t) cap * sizeof(BtWfWindow));
		}
		out[count++] = w;
	}
	*windows = count > 0 ? out : NULL;
	*nwindows = count;
	return BT_OK;
}

/*
 * bt_series_slice
 *		Bars [from, from + n) of s, sharing its arrays.
 */
BtSeries
bt_series_slice(const BtSeries *s, int64_t from, int64_t n)
{
	BtSeries	r = *s;

	r.n = n;
	r.ts = s->ts + from;
	r.open = s->open + from;
	r.high = s->high + from;
	r.low = s->low + from;
	r.close = s->close + from;
	r.volume = s->volume ? s->volume + from : NULL;
	r.signal = s->signal ? s->signal + from : NULL;
	return r;
}

/*
 * bt_best_by_objective
 *		Index of the best row by objective o, or -1 when no row has a value.
 */
int64_t
bt_best_by_objective(const BtMetrics *m, int64_t n, const BtObjective *o, double *key)
{
	int64_t		best = -1;
	double		best_key = NAN;

	for (int64_t k = 0; k < n; k++)
	{
		double		x = bt_objective_value(o, &m[k]);

		if (isnan(x))
			continue;
		if (best < 0 || (o->lower_is_better ? x < best_key : x > best_key))
		{
			best = k;
			best_key = x;
		}
	}
	*key = best_key;
	return best;
}

/*
 * bt_wf_run_out_of_sample
 *		cfg over the window's bars, trading from its out-of-sample start; the
 *		result cut to the out-of-sample bars.  A data error names the bar by
 *		its index in s.
 */
BtErrCode
bt_wf_run_out_of_sample(const BtSeries *s, const BtConfig *cfg, const BtWfWindow *w,
						const BtAlloc *a, BtResult *res, BtError *err)
{
	BtSeries	run = bt_series_slice(s, w->i_is, w->i_end - w->i_is);
	BtSeries	oos = bt_series_slice(s, w->i_oos, w->i_end - w->i_oos);
	int8_t	   *target = a->realloc_fn(a->ctx, NULL, (size_t) (run.n > 0 ? run.n : 1));
	int64_t		warmup = bt_strategy_compute(cfg->strategy, &run, cfg->sp, target, a);
	int64_t		off = w->i_oos - w->i_is;
	BtResult	full;
	BtErrCode	rc;

	rc = bt_simulate_strategy(&run, cfg->strategy, target, warmup > off ? warmup : off,
							  &cfg->sim, a, NULL, NULL, &full, err);
	if (rc != BT_OK)
	{
		if (err->bar >= 0)
			err->bar += w->i_is;
		return rc;
	}
	memset(res, 0, sizeof(*res));
	res->n = oos.n;
	res->equity = full.equity + off;
	res->position = full.position + off;
	res->cash = full.cash + off;
	res->trades = full.trades;
	res->ntrades = full.ntrades;
	for (int64_t k = 0; k < res->ntrades; k++)
	{
		res->trades[k].entry_bar -= off;
		res->trades[k].exit_bar -= off;
	}
	res->metrics.commissions = full.metrics.commissions;
	bt_compute_metrics(&oos, warmup - off > 0 ? warmup - off : 0, &cfg->sim, res);
	return BT_OK;
}

/*
 * bt_wf_stitch_init
 *		An empty stitched curve with room for max_bars bars.
 */
void
bt_wf_stitch_init(BtWfStitch *st, int64_t max_bars, double initial_capital, const BtAlloc *a)
{
	size_t		len = (size_t) (max_bars > 0 ? max_bars : 1);

	memset(st, 0, sizeof(*st));
	st->a = a;
	st->initial_capital = initial_capital;
	st->capital = initial_capital;
	st->ts = a->realloc_fn(a->ctx, NULL, sizeof(int64_t) * len);
	st->close = a->realloc_fn(a->ctx, NULL, sizeof(double) * len);
	st->equity = a->realloc_fn(a->ctx, NULL, sizeof(double) * len);
	st->position = a->realloc_fn(a->ctx, NULL, sizeof(double) * len);
}

/*
 * bt_wf_stitch_scale
 *		Capital so far over the initial capital.
 */
double
bt_wf_stitch_scale(const BtWfStitch *st)
{
	return st->capital / st->initial_capital;
}

/*
 * bt_wf_stitch_flat
 *		Bars [from, to) of s held flat at the current capital.
 */
void
bt_wf_stitch_flat(BtWfStitch *st, const BtSeries *s, int64_t from, int64_t to)
{
	for (int64_t i = from; i < to; i++)
	{
		st->ts[st->n] = s->ts[i];
		st->close[st->n] = s->close[i];
		st->equity[st->n] = st->capital;
		st->position[st->n++] = 0;
	}
}

/*
 * bt_wf_stitch_add
 *		A window's out-of-sample result, scaled to the current capital.
 */
void
bt_wf_stitch_add(BtWfStitch *st, const BtSeries *s, int64_t from, const BtResult *r)
{
	double		scale = bt_wf_stitch_scale(st);

	for (int64_t i = 0; i < r->n; i++)
	{
		st->ts[st->n] = s->ts[from + i];
		st->close[st->n] = s->close[from + i];
		st->equity[st->n] = r->equity[i] * scale;
		st->position[st->n++] = r->position[i] * scale;
	}
	for (int64_t k = 0; k < r->ntrades; k++)
	{
		BtTrade		t = r->trades[k];

		if (st->ntrades == st->trades_cap)
		{
			st->trades_cap = st->trades_cap ? 2 * st->trades_cap : 64;
			st->trades = st->a->realloc_fn(st->a->ctx, st->trades,
										   sizeof(BtTrade) * (size_t) st->trades_cap);
		}
		t.entry_bar += st->n - r->n;
		t.exit_bar += st->n - r->n;
		t.pnl *= scale;
		t.quantity *= scale;
		t.commission *= scale;
		st->trades[st->ntrades++] = t;
	}
	st->commissions += r->metrics.commissions * scale;
	if (r->n > 0)
		st->capital = r->equity[r->n - 1] * scale;
}

/*
 * bt_wf_stitch_result
 *		The stitched curve as a result, with its metrics.
 */
void
bt_wf_stitch_result(const BtWfStitch *st, const BtSimParams *sim, BtResult *out)
{
	BtSeries	ss;

	memset(&ss, 0, sizeof(ss));
	ss.n = st->n;
	ss.ts = st->ts;
	ss.open = ss.high = ss.low = ss.close = st->close;
	memset(out, 0, sizeof(*out));
	out->n = st->n;
	out->equity = st->equity;
	out->position = st->position;
	out->trades = st->trades;
	out->ntrades = st->ntrades;
	out->metrics.commissions = st->commissions;
	bt_compute_metrics(&ss, 0, sim, out);
}
