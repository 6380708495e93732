/*-------------------------------------------------------------------------
 *
 * bt_walkforward.h
 *	  Walk-forward analysis in the engine (plain C99, no PostgreSQL
 *	  headers): the windows (rolling or anchored, windows without bars
 *	  skipped, a cap on their number), the in-sample best combination, the
 *	  out-of-sample run with in-sample warm-up, and the stitching of the
 *	  out-of-sample results into one equity curve with its trades.
 *
 * Calendar arithmetic is the caller's: windows are laid out with a shift
 * function (the server adds intervals in the session time zone, so
 * '1 month' and '1 day' keep their calendar meaning).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_walkforward.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_WALKFORWARD_H
#define BT_WALKFORWARD_H

#include "bt_engine.h"
#include "bt_sweep.h"

/* Most windows (with bars) one walk-forward may have: each runs the whole grid */
#define BT_WF_MAX_WINDOWS	1000

/* Which length a shift applies */
typedef enum BtWfLength
{
	BT_WF_IN_SAMPLE = 0,
	BT_WF_OUT_OF_SAMPLE
} BtWfLength;

/*
 * t plus (sign = 1) or minus (sign = -1) the in-sample or out-of-sample
 * length, in usecs since the Unix epoch.  It may throw (the server's does
 * on overflow and checks for interrupts).
 */
typedef int64_t (*BtWfShiftFn) (void *arg, int64_t t, BtWfLength len, int sign);

typedef struct BtWfSpec
{
	bool		anchored;		/* in-sample windows all start at the first bar */
	BtWfShiftFn shift;
	void	   *shift_arg;
	/*
	 * > 0 when the out-of-sample length is this fixed number of usecs (no
	 * calendar part): shift() is then not called for it, and stretches
	 * without bars are crossed in one step however short the windows.
	 * 0: out-of-sample windows are laid out one by one with shift().
	 */
	int64_t		oos_usecs;
	int64_t		max_windows;	/* BT_WF_MAX_WINDOWS, or less */
} BtWfSpec;

/* One window: in sample [is_start, oos_start), out of sample [oos_start, oos_end) */
typedef struct BtWfWindow
{
	int64_t		is_start;
	int64_t		oos_start;
	int64_t		oos_end;		/* exclusive */
	int64_t		i_is;			/* bars [i_is, i_oos) are in sample, */
	int64_t		i_oos;			/* [i_oos, i_end) out of sample */
	int64_t		i_end;
} BtWfWindow;

/*
 * The windows over the bar timestamps ts[0..n-1] (ascending): the first
 * out-of-sample window starts one in-sample length after the first bar,
 * each next one where the previous ended, until one starts after the last
 * bar; a rolling in-sample window is the in-sample length before its
 * out-of-sample window, an anchored one starts at the first bar.  Windows
 * with no bar in sample or none out of sample are left out.  *windows
 * comes from a (NULL when *nwindows is 0).  Returns BT_ERR_PARAM (err
 * names the limit) when there would be more than spec->max_windows, found
 * before anything is run.
 */
extern BtErrCode bt_wf_windows(const int64_t *ts, int64_t n, const BtWfSpec *spec,
							   const BtAlloc *a, BtWfWindow **windows, int64_t *nwindows,
							   BtError *err);

/* Bars [from, from + n) of s: pointers into the same arrays */
extern BtSeries bt_series_slice(const BtSeries *s, int64_t from, int64_t n);

/*
 * The best of n metrics rows by objective o (bt_objective_value; higher, or
 * lower when o->lower_is_better), rows without a value skipped, the first
 * of equal rows kept.  Returns its index and sets *key, or -1 (and *key
 * NaN) if no row has a value.
 */
extern int64_t bt_best_by_objective(const BtMetrics *m, int64_t n, const BtObjective *o,
									double *key);

/*
 * Run cfg (already checked) on the bars of window w, trading only on
 * decisions from its first out-of-sample bar on (the in-sample bars only
 * warm the indicators up).  *res is the result restricted to the
 * out-of-sample bars: equity and position curves, the trades with bar
 * numbers relative to w->i_oos, and their metrics.
 */
extern BtErrCode bt_wf_run_out_of_sample(const BtSeries *s, const BtConfig *cfg,
										 const BtWfWindow *w, const BtAlloc *a,
										 BtResult *res, BtError *err);

/*
 * The stitched out-of-sample curve: each window's result continues from
 * the capital the previous one ended with (its equity, positions, trade
 * quantities, P&L and costs scaled by capital / initial_capital).
 */
typedef struct BtWfStitch
{
	const BtAlloc *a;
	double		initial_capital;
	double		capital;		/* where the next window starts */
	int64_t		n;				/* bars so far, at most the series' */
	int64_t	   *ts;
	double	   *close;
	double	   *equity;
	double	   *position;
	BtTrade    *trades;
	int64_t		ntrades;
	int64_t		trades_cap;
	double		commissions;
} BtWfStitch;

/* Start a stitched curve of at most max_bars bars (the series' length) */
extern void bt_wf_stitch_init(BtWfStitch *st, int64_t max_bars, double initial_capital,
							  const BtAlloc *a);

/* The factor the next window's result is scaled by: capital / initial capital */
extern double bt_wf_stitch_scale(const BtWfStitch *st);

/* Append bars [from, to) of s without trading (equity stays at the capital) */
extern void bt_wf_stitch_flat(BtWfStitch *st, const BtSeries *s, int64_t from, int64_t to);

/*
 * Append a window's out-of-sample result r (from bt_wf_run_out_of_sample
 * on bars from .. from + r->n - 1 of s), scaled by bt_wf_stitch_scale.
 */
extern void bt_wf_stitch_add(BtWfStitch *st, const BtSeries *s, int64_t from, const BtResult *r);

/*
 * The stitched result: out's curves and trades point into st, its metrics
 * computed over the stitched bars with sim's settings.
 */
extern void bt_wf_stitch_result(const BtWfStitch *st, const BtSimParams *sim, BtResult *out);

#endif							/* BT_WALKFORWARD_H */
