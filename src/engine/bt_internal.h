/*-------------------------------------------------------------------------
 *
 * bt_internal.h
 *	  Declarations shared between the engine's own files only (not part of
 *	  the API the PostgreSQL side uses): the indicator line providers the
 *	  strategies draw their lines from, and the simulator's variant that
 *	  writes into caller-provided, reusable buffers.
 *
 * A strategy never computes an indicator itself: it asks a line provider
 * for a line by indicator definition (bt_ind_sma, ...), parameters and
 * output.  bt_run's provider (strategies.c) computes each line into scratch
 * memory from the run's BtAlloc; a sweep context's provider (sweep.c) keeps
 * lines between runs, so that the SMA(10) of every combination with
 * fast = 10 is computed once.  Both give the same values
 * bit for bit, so a strategy's targets do not depend on the provider.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_INTERNAL_H
#define BT_INTERNAL_H

#include <math.h>
#include <string.h>

#include "bt_engine.h"

/* ------------------------------------------------------------------------
 * Indicator lines
 * ------------------------------------------------------------------------
 */

/* Output numbers of the multi-output indicators (their outputs[] order) */
#define BT_MACD_OUT_MACD		0
#define BT_MACD_OUT_SIGNAL		1
#define BT_MACD_OUT_HIST		2
#define BT_BBANDS_OUT_LOWER		0
#define BT_BBANDS_OUT_MIDDLE	1
#define BT_BBANDS_OUT_UPPER		2
#define BT_KDJ_OUT_RSV			0
#define BT_KDJ_OUT_K			1
#define BT_KDJ_OUT_D			2
#define BT_KDJ_OUT_J			3
#define BT_DONCHIAN_OUT_UPPER	0
#define BT_DONCHIAN_OUT_MID		1
#define BT_DONCHIAN_OUT_LOWER	2

/*
 * A line provider.  get() returns output `output` of indicator ind with
 * parameters params[0..ind->nparams-1] over s: n read-only doubles that
 * stay valid until the strategy's computation returns.  scratch, when not
 * NULL, is the run's allocator and says that the lines are computed for
 * this one computation and kept by no one (bt_run's provider), so a
 * strategy may compute its targets without asking for them (sma_cross:
 * bt_sma_cross_fused); a provider that keeps or records the lines (a
 * sweep's cache, bt_sweep_order) leaves it NULL.
 */
struct BtLines
{
	const BtSeries *s;
	const double *(*get) (BtLines *self, const BtIndicatorDef *ind, const double *params,
						  int output);
	const BtAlloc *scratch;
};

/*
 * sma_cross's targets without the lines, bit for bit those of bt_sma +
 * the crossing rule, or false when it cannot vouch for that (sma_cross.c)
 */
extern bool bt_sma_cross_fused(const double *x, int64_t n, int fast, int slow,
							   int8_t *target, int64_t *warmup, const BtAlloc *a);

/* ------------------------------------------------------------------------
 * The simulator on reusable buffers
 * ------------------------------------------------------------------------
 */
typedef struct BtSimBuffers
{
	double	   *equity;			/* n doubles, required */
	double	   *position;		/* n doubles, or NULL: positions not recorded */
	double	   *cash;			/* n doubles, or NULL: cash not recorded */
	BtTrade    *trades;			/* grown from the BtAlloc as needed, kept */
	int64_t		trades_cap;		/* capacity of trades */
	/*
	 * n doubles of the ATR(risk_atr_period) line, required for sizing
	 * "risk" with risk_atr > 0 (else ignored, may be NULL)
	 */
	const double *atr;
	/*
	 * n doubles: the signal strategy's values, whose magnitudes are target
	 * exposures (NULL for every other strategy: targets are -1, 0, 1)
	 */
	const double *exposure;
	/*
	 * bt_simulate_metrics_into: the last bar of each trading day for a day
	 * starting day_ends_start after midnight (BtDayIter's, nday_ends of
	 * them), kept by a caller that runs many configurations over one
	 * series; NULL (or another day start): searched for as the run goes
	 */
	const int64_t *day_ends;
	int64_t		nday_ends;
	int64_t		day_ends_start;
} BtSimBuffers;

/*
 * bt_simulate writing into buf: out->equity, out->position, out->cash and out->trades
 * point into buf afterwards (buf->trades may have been grown).  Same results
 * as bt_simulate, which is this with fresh buffers.
 */
extern BtErrCode bt_simulate_into(const BtSeries *s, const int8_t *target, int64_t warmup,
								  const BtSimParams *sim, const BtAlloc *a,
								  BtProgressFn progress, void *progress_arg,
								  BtSimBuffers *buf, BtResult *out, BtError *err);

/*
 * bt_simulate_into and bt_compute_metrics in one pass, writing no per-bar
 * array (buf->equity, position and cash unused; out->equity, position and
 * cash NULL): the same metrics and trades bit for bit, on a series whose
 * closes are finite (bt_validate_series).
 */
extern BtErrCode bt_simulate_metrics_into(const BtSeries *s, const int8_t *target,
										  int64_t warmup, const BtSimParams *sim,
										  const BtAlloc *a, BtProgressFn progress,
										  void *progress_arg, BtSimBuffers *buf,
										  BtResult *out, BtError *err);

/* bt_simulate for the targets of strategy st (NULL: targets only) */
extern BtErrCode bt_simulate_strategy(const BtSeries *s, const BtStrategyDef *st,
									  const int8_t *target, int64_t warmup,
									  const BtSimParams *sim, const BtAlloc *a,
									  BtProgressFn progress, void *progress_arg,
									  BtResult *out, BtError *err);

/* The cost model of both simulators (costs.c) */
extern double bt_sim_order_cost(const BtSimParams *p, double q, double px, int side);
extern double bt_sim_slipped(const BtSimParams *p, double px, int side);
extern double bt_sim_size_order(const BtSimParams *p, double budget, double px, int side);
extern double bt_sim_borrow_fee(const BtSimParams *p, double q, double px, double bars_per_year);
/*
 * The stop rules over one bar (open o, high h, low l) for a position on side
 * entered at entry, best price since entry *best: true with the exit's
 * reason and raw price when a level is hit, else false (and *best updated).
 */
extern bool bt_sim_stop_hit(const BtSimParams *p, int side, double entry, double *best,
							double o, double h, double l, BtExitReason *reason, double *px);

/* An entry order to size (sizing.c) */
typedef struct BtEntrySize
{
	double		px;				/* fill price, slippage and spread included */
	int			side;			/* +1 buy, -1 sell short */
	double		equity;			/* the account's equity now */
	double		unit;			/* one unit of size: what "fraction" commits with unlimited power */
	double		budget;			/* min(unit, power): what "fraction" commits (and "risk" at most) */
	double		power;			/* the most any order may commit, costs included */
	double		atr;			/* ATR at the decision bar (sizing "risk" with risk_atr) */
} BtEntrySize;

extern double bt_entry_quantity(const BtSimParams *p, const BtEntrySize *e,
								double *wanted, double *had);
extern double bt_entry_quantity_units(const BtSimParams *p, const BtEntrySize *e, double units,
									  double *wanted, double *had);
extern double bt_target_units(const BtSimParams *p, const double *exposure, int64_t dbar,
							  double level, int dir, int cur);
extern double bt_scale_out_quantity(const BtSimParams *p, double q, double units, double level);

/* The entry legs of a position (legs.c) */
typedef void (*BtLegEmit) (void *ctx, const BtTrade *t, int leg);
extern int	bt_legs_reduce(BtTrade *legs, double *leg_fee, int nlegs, int side, double dq,
						   bool all, double fill, double fee, int64_t bar, int64_t ts,
						   BtExitReason reason, BtLegEmit emit, void *ctx);
extern int	bt_legs_add(BtTrade *legs, double *leg_fee, int nlegs, int cap, int side,
						int64_t bar, int64_t ts, double fill, double q, double fee);
extern double bt_legs_entry(const BtTrade *legs, int nlegs);
extern BtTrade bt_leg_open_trade(const BtTrade *leg, double fee, int64_t bar, int64_t ts,
								 double close);

/* A limit or stop entry order waiting for its level (orders.c) */
typedef struct BtEntryOrder
{
	int			side;			/* +1 buy, -1 sell short, 0: no order */
	double		level;			/* raw price it fills at (or better, on a gap) */
	int64_t		dbar;			/* the bar it was decided on */
	int64_t		last;			/* the last bar it may fill on */
	double		units;			/* units of size it buys (sizing.c) */
} BtEntryOrder;

extern void bt_order_arm(const BtSimParams *p, BtEntryOrder *o, int side, int64_t dbar,
						 double close);
extern double bt_order_fill_price(const BtSimParams *p, const BtEntryOrder *o, double open,
								  double high, double low);
extern double bt_order_on_bar(const BtSimParams *p, BtEntryOrder *o, int64_t bar, double open,
							  double high, double low);

/* splitmix64: the next value of the sequence of *state (grids, line hashes) */
static inline uint64_t
bt_splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* metrics.c: in-place ascending heap sort */
extern void bt_sort_i64(int64_t *x, int64_t n);

/*
 * The first index j in [i, n) with ts[j] >= bound, or n, for ascending
 * timestamps: a galloping search from i, so that stepping from one day's
 * first bar to the next costs O(log bars a day), not a look at every bar.
 */
static inline int64_t
bt_first_at_or_after(const int64_t *ts, int64_t i, int64_t n, int64_t bound)
{
	int64_t		lo = i,
				hi,
				step = 1;

	if (i >= n || ts[i] >= bound)
		return i;
	/* ts[lo] < bound: gallop to a hi with ts[hi] >= bound (or n) */
	while (step < n - lo && ts[lo + step] < bound)
	{
		lo += step;
		step *= 2;
	}
	hi = step < n - lo ? lo + step : n;
	while (hi - lo > 1)
	{
		int64_t		m = lo + (hi - lo) / 2;

		if (ts[m] < bound)
			lo = m;
		else
			hi = m;
	}
	return hi;
}

/*
 * bt_first_at_or_after with a guess: the same index, found without a search
 * when it is `guess` (ts[guess - 1] < bound <= ts[guess], guess == n meaning
 * ts[n - 1] < bound).  The next day's first bar is usually as far from this
 * day's as this day's from the previous one: two adjacent loads (one cache
 * line) instead of a search's dozen scattered ones.
 */
static inline int64_t
bt_first_at_or_after_hint(const int64_t *ts, int64_t i, int64_t n, int64_t bound, int64_t guess)
{
	if (guess > i && guess <= n && ts[guess - 1] < bound && (guess == n || ts[guess] >= bound))
		return guess;
	return bt_first_at_or_after(ts, i, n, bound);
}

/* ------------------------------------------------------------------------
 * The equity curve's metrics, bar by bar (metrics.c)
 *
 * bt_compute_metrics walks a stored equity curve with these; the
 * metrics-only simulator (bt_run_metrics) feeds them each bar's equity as
 * it goes, so that both give the same metrics bit for bit: the same
 * operations on the same values in the same order.
 * ------------------------------------------------------------------------
 */

/* Daily returns of an equity curve, summarised */
typedef struct BtDailyStats
{
	int64_t		nret;			/* returns counted: days - 1, up to the ruin */
	double		first;			/* equity at the end of the first day */
	double		last;			/* ... of the last day counted */
	double		mean;			/* mean return (Welford) */
	double		m2;				/* sum of squared deviations from the mean */
	double		down_sq;		/* sum of min(r, 0)^2 */
	double		gain;			/* sum of max(r, 0) */
	double		loss;			/* sum of max(-r, 0) */
	bool		have;			/* a day was counted */
	bool		ruined;			/* a day ended with equity <= 0 */
} BtDailyStats;

/* Count one day that ended with equity v */
static inline void
bt_day_close(BtDailyStats *d, double v)
{
	if (d->ruined)
		return;					/* nothing is defined after the ruin */
	if (!d->have)
	{
		d->have = true;
		d->first = d->last = v;
		d->ruined = v <= 0;
		return;
	}
	{
		/* a flat day (no position) needs no division: r is exactly 0 */
		double		r = v == d->last ? 0.0 : v / d->last - 1.0;
		double		delta = r - d->mean;

		d->nret++;
		d->mean += delta / d->nret;
		d->m2 += delta * (r - d->mean);
		if (r < 0)
		{
			d->down_sq += r * r;
			d->loss -= r;
		}
		else
			d->gain += r;
		d->last = v;
		d->ruined = v <= 0;
	}
}

/*
 * The last bars of the trading days, [k days + day_start, (k+1) days +
 * day_start), in order: bt_day_iter_start, then bt_day_iter_next until it
 * returns -1 (the last one is always n - 1).  n >= 1.
 */
typedef struct BtDayIter
{
	int64_t		i;				/* where the search for the next day goes on */
	int64_t		next_day;		/* start of the day after the current one */
	int64_t		guess;			/* the next day's first bar, if days keep their length */
	int64_t		day_start;
	bool		done;
} BtDayIter;

extern void bt_day_iter_start(BtDayIter *it, const int64_t *ts, int64_t day_start);
extern int64_t bt_day_iter_next(BtDayIter *it, const int64_t *ts, int64_t n);

/*
 * Drawdowns (backtesting.py's compute_drawdown_duration_peaks): spans
 * between consecutive bars at a peak (drawdown 0) or the last bar, with at
 * least one bar between.  The peak is constant inside a period, so its
 * deepest drawdown is 1 - trough/peak: one division per period, not per bar.
 */
typedef struct BtEqStats
{
	double		peak;
	double		trough;
	double		max_dd;
	double		sum_peak_dd;
	double		max_dur;
	double		sum_dur;
	int64_t		prev_zero;		/* the last bar at a peak */
	int64_t		nperiods;
	BtDailyStats d;
} BtEqStats;

/* Start with bar 0's equity e0 (then count bar 0 with bt_eq_bar as any other) */
static inline void
bt_eq_start(BtEqStats *q, double e0)
{
	memset(q, 0, sizeof(*q));
	q->peak = q->trough = e0;
	q->max_dur = NAN;
}

/* Count bar i, of equity e (bars in order, from 0) */
static inline void
bt_eq_bar(BtEqStats *restrict q, const int64_t *restrict ts, int64_t i, double e)
{
	if (e >= q->peak)
	{
		if (i > q->prev_zero + 1)
		{
			double		dd = q->peak > 0 ? 1.0 - q->trough / q->peak : 0.0;
			double		dur = (double) (ts[i] - ts[q->prev_zero]);

			q->nperiods++;
			q->sum_peak_dd += dd;
			q->sum_dur += dur;
			if (isnan(q->max_dur) || dur > q->max_dur)
				q->max_dur = dur;
			if (dd > q->max_dd)
				q->max_dd = dd;
		}
		q->peak = e;
		q->trough = e;
		q->prev_zero = i;
	}
	else if (e < q->trough)
		q->trough = e;
}

/*
 * The metrics of a run from its equity statistics q (every bar counted,
 * every day closed), its last bar's equity and its trades (res->trades);
 * the simulator's fields of res->metrics must be set (bt_compute_metrics
 * is this over a stored curve).
 */
extern void bt_metrics_finish(const BtSeries *s, int64_t warmup, const BtSimParams *sim,
							  BtEqStats *q, double equity_final, BtResult *res);

/* The trading day's start (given, or inferred) the metrics use */
extern int64_t bt_metrics_day_start(const BtSeries *s, const BtSimParams *sim);

/* The UTC calendar day (days since 1970-01-01) of a timestamp (calendar.c) */
extern int64_t bt_day_of(int64_t ts);

/* Days since 1970-01-01 of a civil date, and back (calendar.c) */
extern int64_t bt_days_from_civil(int64_t y, int m, int d);
extern void bt_civil_from_days(int64_t z, int *year, int *month, int *day);

/* The first bar in [i, n) spaced lim or more from the one before, or n (calendar.c) */
extern int64_t bt_next_gap(const int64_t *ts, int64_t i, int64_t n, int64_t lim);

/* The trading day of a timestamp, days starting day_start after midnight UTC */
extern int64_t bt_trading_day(int64_t ts, int64_t day_start);

#endif							/* BT_INTERNAL_H */
