/*-------------------------------------------------------------------------
 *
 * test_walkforward.c
 *	  Unit tests of the engine's walk-forward: window layout (rolling,
 *	  anchored, gaps, windows without bars left out, the window limit found
 *	  in few steps however short the windows), the in-sample best, the
 *	  out-of-sample run with warm-up, and stitching.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_walkforward.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_walkforward.h"

#define DAY		BT_USECS_PER_DAY

/* Fixed lengths, counting the calls */
typedef struct Lengths
{
	int64_t		is_len;
	int64_t		oos_len;
	int64_t		calls;
} Lengths;

static int64_t
shift_fixed(void *arg, int64_t t, BtWfLength len, int sign)
{
	Lengths    *l = arg;

	l->calls++;
	return t + sign * (len == BT_WF_IN_SAMPLE ? l->is_len : l->oos_len);
}

static BtWfSpec
spec_of(Lengths *l, bool anchored, bool fixed, int64_t max_windows)
{
	BtWfSpec	spec;

	memset(&spec, 0, sizeof(spec));
	spec.anchored = anchored;
	spec.shift = shift_fixed;
	spec.shift_arg = l;
	spec.oos_usecs = fixed ? l->oos_len : 0;
	spec.max_windows = max_windows;
	return spec;
}

/* Rolling and anchored windows over 40 daily bars, 10-day / 5-day lengths */
static void
test_windows_basic(void)
{
	int64_t		ts[40];
	Lengths		l = {10 * DAY, 5 * DAY, 0};
	BtWfSpec	spec;
	BtWfWindow *w;
	int64_t		nw;
	BtError		err;

	for (int i = 0; i < 40; i++)
		ts[i] = i * DAY;
	for (int anchored = 0; anchored <= 1; anchored++)
	{
		spec = spec_of(&l, anchored, true, BT_WF_MAX_WINDOWS);
		CHECK(bt_wf_windows(ts, 40, &spec, &unit_alloc, &w, &nw, &err) == BT_OK);
		CHECK(nw == 6);
		for (int k = 0; k < nw && nw == 6; k++)
		{
			CHECK(w[k].oos_start == (10 + 5 * k) * DAY && w[k].oos_end == w[k].oos_start + 5 * DAY);
			CHECK(w[k].i_oos == 10 + 5 * k && w[k].i_end == 15 + 5 * k);
			CHECK(w[k].is_start == (anchored ? 0 : w[k].oos_start - 10 * DAY));
			CHECK(w[k].i_is == (anchored ? 0 : 5 * k));
		}
	}
	/* too short a range: no window */
	spec = spec_of(&l, false, true, BT_WF_MAX_WINDOWS);
	CHECK(bt_wf_windows(ts, 10, &spec, &unit_alloc, &w, &nw, &err) == BT_OK && nw == 0 && w == NULL);
	CHECK(bt_wf_windows(ts, 0, &spec, &unit_alloc, &w, &nw, &err) == BT_OK && nw == 0);
}

/*
 * A gap of 80 days: the out-of-sample windows in it hold no bar and the
 * first one after it no bar in sample: all left out.  The same windows
 * with a fixed length (crossing the gap in one step) and stepped one by
 * one.
 */
static void
test_windows_gap(void)
{
	int64_t		ts[40];
	Lengths		l = {10 * DAY, 5 * DAY, 0};
	int64_t		want[] = {10, 15, 105, 110, 115};
	BtWfWindow *w[2];
	int64_t		nw[2],
				calls[2];
	BtError		err;

	for (int i = 0; i < 20; i++)
	{
		ts[i] = i * DAY;
		ts[20 + i] = (100 + i) * DAY;
	}
	for (int fixed = 0; fixed <= 1; fixed++)
	{
		BtWfSpec	spec = spec_of(&l, false, fixed, BT_WF_MAX_WINDOWS);

		l.calls = 0;
		CHECK(bt_wf_windows(ts, 40, &spec, &unit_alloc, &w[fixed], &nw[fixed], &err) == BT_OK);
		calls[fixed] = l.calls;
		CHECK(nw[fixed] == 5);
		for (int k = 0; k < nw[fixed] && nw[fixed] == 5; k++)
		{
			CHECK_MSG(w[fixed][k].oos_start == want[k] * DAY, "window %d starts on day %lld", k,
					  (long long) (w[fixed][k].oos_start / DAY));
			CHECK(w[fixed][k].i_oos < w[fixed][k].i_end && w[fixed][k].i_is < w[fixed][k].i_oos);
		}
	}
	CHECK(nw[0] == nw[1] && memcmp(w[0], w[1], sizeof(BtWfWindow) * (size_t) nw[0]) == 0);
	/* stepping crosses the gap one window at a time; the fixed length does not */
	CHECK(calls[1] < calls[0]);
	CHECK_MSG(calls[1] <= 1 + 2 * 8, "%lld shifts", (long long) calls[1]);
}

/*
 * out_of_sample = 1 microsecond over 3000 daily bars: every bar after the
 * first ten days is its own window.  Over the limit it fails after about
 * limit windows' worth of work, naming the limit; under a higher limit the
 * work grows with the bars, not with the microseconds of the range.
 */
static void
test_windows_limit(void)
{
	int64_t		n = 3000;
	int64_t    *ts = malloc(sizeof(int64_t) * (size_t) n);
	Lengths		l = {10 * DAY, 1, 0};
	BtWfSpec	spec;
	BtWfWindow *w;
	int64_t		nw;
	BtError		err;

	for (int64_t i = 0; i < n; i++)
		ts[i] = i * DAY;
	spec = spec_of(&l, false, true, BT_WF_MAX_WINDOWS);
	CHECK(bt_wf_windows(ts, n, &spec, &unit_alloc, &w, &nw, &err) == BT_ERR_PARAM);
	CHECK(strcmp(err.msg, "the walk-forward has more than the limit of 1000 windows") == 0);
	CHECK(strstr(err.hint, "out_of_sample") != NULL);
	CHECK(nw == 0 && w == NULL);
	CHECK_MSG(l.calls <= 3 * 1002, "%lld shifts", (long long) l.calls);

	l.calls = 0;
	spec.max_windows = 5000;
	CHECK(bt_wf_windows(ts, n, &spec, &unit_alloc, &w, &nw, &err) == BT_OK);
	CHECK(nw == n - 10);
	CHECK(nw == n - 10 && w[0].i_oos == 10 && w[0].i_end == 11 && w[nw - 1].i_end == n &&
		  w[nw - 1].i_is == n - 11);
	CHECK_MSG(l.calls <= 3 * n, "%lld shifts", (long long) l.calls);

	/* exactly at the limit is allowed */
	spec.max_windows = n - 10;
	CHECK(bt_wf_windows(ts, n, &spec, &unit_alloc, &w, &nw, &err) == BT_OK && nw == n - 10);
	free(ts);
}

/* The best row: values only, higher (or lower) first, the first of ties */
static void
test_best(void)
{
	BtMetrics	m[5];
	BtObjective sharpe,
				vol,
				expr;
	BtError		err;
	double		key;

	bt_objective_metric(&sharpe, bt_metric_index("sharpe_ratio"));
	bt_objective_metric(&vol, bt_metric_index("volatility_ann_pct"));

	memset(m, 0, sizeof(m));
	m[0].sharpe_ratio = NAN;
	m[1].sharpe_ratio = 1;
	m[2].sharpe_ratio = 3;
	m[3].sharpe_ratio = 3;
	m[4].sharpe_ratio = INFINITY;
	for (int i = 0; i < 5; i++)
		m[i].volatility_ann_pct = 10 - i;
	m[4].volatility_ann_pct = NAN;
	CHECK(bt_best_by_objective(m, 5, &sharpe, &key) == 2 && key == 3);
	CHECK(bt_best_by_objective(m, 5, &vol, &key) == 3 && key == 7);
	CHECK(bt_best_by_objective(m, 1, &sharpe, &key) == -1 && isnan(key));
	/* an expression sorts descending: sharpe - vol is NaN, -8, -5, -4 (row 3), NaN */
	CHECK(bt_objective_parse("sharpe_ratio - volatility_ann_pct", &expr, &err));
	CHECK(bt_best_by_objective(m, 5, &expr, &key) == 3 && key == -4);
}

/*
 * Out of sample: without warm-up bars it is bt_run over the bars; with
 * them, the curve covers the out-of-sample bars only, starts flat at the
 * capital and every trade is entered out of sample.
 */
static void
test_out_of_sample(void)
{
	BtSeries	s = unit_sample_series();
	BtConfig	cfg;
	BtResult	full,
				r;
	BtError		err;
	BtWfWindow	w;

	bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
	CHECK(s.n > 1000);
	memset(&w, 0, sizeof(w));
	w.i_is = 200;
	w.i_oos = 200;
	w.i_end = 700;
	{
		BtSeries	part = bt_series_slice(&s, 200, 500);

		CHECK(bt_run(&part, &cfg, &unit_alloc, NULL, NULL, &full, &err) == BT_OK);
	}
	CHECK(bt_wf_run_out_of_sample(&s, &cfg, &w, &unit_alloc, &r, &err) == BT_OK);
	CHECK(r.n == 500 && r.ntrades == full.ntrades &&
		  r.metrics.equity_final == full.metrics.equity_final &&
		  r.metrics.sharpe_ratio == full.metrics.sharpe_ratio &&
		  r.metrics.trades_count == full.metrics.trades_count);

	w.i_is = 0;
	CHECK(bt_wf_run_out_of_sample(&s, &cfg, &w, &unit_alloc, &r, &err) == BT_OK);
	CHECK(r.n == 500 && r.equity[0] == cfg.sim.initial_capital && r.position[0] == 0);
	CHECK(r.ntrades > 0);
	for (int64_t k = 0; k < r.ntrades; k++)
		CHECK(r.trades[k].entry_bar >= 0 && r.trades[k].exit_bar < 500 &&
			  r.trades[k].entry_ts >= s.ts[200]);
	CHECK(r.metrics.bars == 500 && r.metrics.start_ts == s.ts[200]);
	/* warmed up: the SMAs are defined from the first out-of-sample bar */
	CHECK(r.metrics.warmup_bars == 0);
}

/*
 * Stitching: a flat stretch, then two windows; each continues from the
 * capital the previous ended with, trades renumbered into the stitched
 * curve, the stitched final equity the chained capital.
 */
static void
test_stitch(void)
{
	BtSeries	s = unit_sample_series();
	BtConfig	cfg;
	BtWfStitch	st;
	BtWfWindow	w1 = {0, 0, 0, 0, 300, 600},
				w2 = {0, 0, 0, 300, 600, 900};
	BtResult	r1,
				r2,
				out;
	BtError		err;
	double		scale2;

	bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
	bt_wf_stitch_init(&st, s.n, cfg.sim.initial_capital, &unit_alloc);
	bt_wf_stitch_flat(&st, &s, 200, 300);
	CHECK(st.n == 100 && st.equity[99] == cfg.sim.initial_capital && bt_wf_stitch_scale(&st) == 1);
	CHECK(bt_wf_run_out_of_sample(&s, &cfg, &w1, &unit_alloc, &r1, &err) == BT_OK);
	bt_wf_stitch_add(&st, &s, w1.i_oos, &r1);
	CHECK(st.n == 400 && st.capital == r1.equity[r1.n - 1]);
	CHECK(st.ntrades == r1.ntrades && (st.ntrades == 0 || st.trades[0].entry_bar == r1.trades[0].entry_bar + 100));
	scale2 = bt_wf_stitch_scale(&st);
	CHECK(scale2 == r1.equity[r1.n - 1] / cfg.sim.initial_capital);
	CHECK(bt_wf_run_out_of_sample(&s, &cfg, &w2, &unit_alloc, &r2, &err) == BT_OK);
	bt_wf_stitch_add(&st, &s, w2.i_oos, &r2);
	CHECK(st.n == 700 && st.ts[400] == s.ts[600] && st.equity[400] == r2.equity[0] * scale2);
	CHECK(st.capital == r2.equity[r2.n - 1] * scale2);
	CHECK(st.ntrades == r1.ntrades + r2.ntrades);
	if (r2.ntrades > 0)
		CHECK(st.trades[r1.ntrades].entry_bar == r2.trades[0].entry_bar + 400 &&
			  st.trades[r1.ntrades].pnl == r2.trades[0].pnl * scale2);

	bt_wf_stitch_result(&st, &cfg.sim, &out);
	CHECK(out.n == 700 && out.metrics.bars == 700 && out.metrics.equity_final == st.capital);
	CHECK(out.metrics.trades_count + out.metrics.open_trades == st.ntrades);
	CHECK(out.metrics.start_ts == s.ts[200] && out.metrics.end_ts == s.ts[899]);
}

void
test_walkforward(void)
{
	test_windows_basic();
	test_windows_gap();
	test_windows_limit();
	test_best();
	test_out_of_sample();
	test_stitch();
}
