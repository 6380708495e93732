/*-------------------------------------------------------------------------
 *
 * simulator.c
 *	  The fill/portfolio simulator: turns per-bar targets into orders, fills,
 *	  costs, trades and an equity curve.
 *
 * The fill contract (README, "The fill contract"):
 *	- A target decided on bar t's close fills at bar t+1's open (default), or
 *	  at bar t's close with fill = "close".  A decision on the last bar with
 *	  next-open fills never executes.
 *	- A target of -1 means short when allow_short, else flat.
 *	- Stops (stop_loss, take_profit, trailing_stop, fractions of the entry
 *	  price) are checked against each bar's range from the bar the position
 *	  was entered on (open fills) or the next bar (close fills).  A gap
 *	  through a level fills at the open; if the stop and the take-profit both
 *	  lie inside one bar, the stop is assumed hit first.  The trailing level
 *	  follows the best high (low for shorts) of the bars before the current
 *	  one, never the current bar's own extreme.
 *	- Costs: max(commission * notional, commission_min) + commission_fixed per
 *	  order, stamp_duty * notional on the configured side, and slippage_bps
 *	  moving every fill price against the trader.
 *	- Sizing: the largest quantity (whole lots unless fractional) whose
 *	  notional plus costs fits in size * equity.
 *	- A position still open at the end is marked to market at the last close
 *	  and reported as an open trade.
 *
 * This file is the bar loop (simulate) and the equity it writes or
 * accumulates; the open position's entries, exits and trade rows are in
 * sim_position.c (their shared state, SimState: sim_internal.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/simulator.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "sim_internal.h"

/*
 * Bars ahead the simulator prefetches open[] and ts[] (read only on the bars
 * with a fill, too sparsely for the hardware prefetcher: without it, every
 * fill waits for two cache misses).
 */
#define PREFETCH_AHEAD	256
#if defined(__GNUC__)
#define PREFETCH(p)		__builtin_prefetch(p)
#else
#define PREFETCH(p)		((void) 0)
#endif

/* Eight targets of BT_KEEP, as one word */
#define KEEP8		(UINT64_C(0x0101010101010101) * (uint8_t) BT_KEEP)

/*
 * The first bar in [i, end) with a decision (a target other than BT_KEEP on
 * or after warmup), or end: eight targets at a time.
 */
static inline int64_t
next_decision(const int8_t *target, int64_t i, int64_t end, int64_t warmup)
{
	for (;;)
	{
		uint64_t	w;

		while (i + 8 <= end && (memcpy(&w, target + i, 8), w == KEEP8))
			i += 8;
		while (i < end && target[i] == BT_KEEP)
			i++;
		if (i >= end || i >= warmup)
			return i;
		i++;					/* a target before the warm-up bar is ignored */
	}
}

/*
 * The equity (and positions) of bars [i, j) on which nothing happens: cash
 * and position stay, the close moves (the same expression as a bar with a
 * decision, so the same values).
 */
static void
quiet_bars(double *restrict eq, double *restrict pos_out, double *restrict cash_out,
		   const double *restrict close, int64_t i, int64_t j, double cash, double pos)
{
	int64_t		k = i;

	for (; k + 4 <= j; k += 4)
	{
		eq[k] = cash + pos * close[k];
		eq[k + 1] = cash + pos * close[k + 1];
		eq[k + 2] = cash + pos * close[k + 2];
		eq[k + 3] = cash + pos * close[k + 3];
	}
	for (; k < j; k++)
		eq[k] = cash + pos * close[k];
	if (pos_out)
		for (int64_t k = i; k < j; k++)
			pos_out[k] = pos;
	if (cash_out)
		for (int64_t k = i; k < j; k++)
			cash_out[k] = cash;
}

/*
 * The metrics-only run's equity statistics, fed bar by bar instead of an
 * equity curve (bt_run_metrics): the drawdowns of every bar, the daily
 * returns at each day's last bar (next_end), from the same expression
 * cash + pos * close[k] as a stored curve's.
 */
typedef struct EqAcc
{
	BtEqStats	q;
	BtDayIter	days;
	int64_t		next_end;		/* the next day's last bar (-1: none left) */
	const int64_t *ts;
	int64_t		n;
	const int64_t *ends;		/* the days' last bars, or NULL: BtDayIter */
	int64_t		nends;
	int64_t		kend;			/* the next one of ends[] */
	double		last;			/* the equity of the last day end: bar n - 1's at the end */
} EqAcc;

/* The next day's last bar, or -1 */
static inline int64_t
acc_next_end(EqAcc *acc)
{
	if (acc->ends)
		return acc->kend < acc->nends ? acc->ends[acc->kend++] : -1;
	return bt_day_iter_next(&acc->days, acc->ts, acc->n);
}

/* Day end at equity v: a daily return, and on to the next day */
static inline void
acc_day_end(EqAcc *acc, double v)
{
	bt_day_close(&acc->q.d, v);
	acc->last = v;
	acc->next_end = acc_next_end(acc);
}

/* Count bar i, of equity e */
static inline void
acc_bar(EqAcc *acc, int64_t i, double e)
{
	if (i == 0)
		bt_eq_start(&acc->q, e);
	bt_eq_bar(&acc->q, acc->ts, i, e);
	if (i == acc->next_end)
		acc_day_end(acc, e);
}

/*
 * bt_eq_bar over bars [i, e) of equity cash + pos * close[k]: the peak and
 * the trough in registers, and below the peak (most bars) only the trough
 * moves, by a comparison without a branch; a bar at or above the peak goes
 * through bt_eq_bar.  The same comparisons in the same order, so the same
 * statistics.
 */
static inline void
acc_held(BtEqStats *restrict q, const int64_t *restrict ts, const double *restrict close,
		 int64_t i, int64_t e, double cash, double pos)
{
	double		peak = q->peak,
				trough = q->trough;

	for (int64_t k = i; k < e; k++)
	{
		double		v = cash + pos * close[k];

		if (v >= peak)
		{
			q->trough = trough;
			bt_eq_bar(q, ts, k, v);
			peak = q->peak;
			trough = q->trough;
		}
		else
			trough = v < trough ? v : trough;
	}
	q->trough = trough;
}

/*
 * Bars [i, j) on which cash and position stay (quiet_bars' stretch), into
 * the statistics.  Flat (pos == 0, closes finite: a validated series), the
 * equity is one value v on every bar, so the stretch is counted in O(1):
 * after its first bar, each further bar at v >= peak only moves the last
 * peak bar (no period between adjacent peak bars), and one below the peak
 * changes nothing, exactly as bt_eq_bar would have.
 */
static void
acc_quiet(EqAcc *restrict acc, const double *restrict close, int64_t i, int64_t j,
		  double cash, double pos)
{
	BtEqStats  *q = &acc->q;
	const int64_t *ts = acc->ts;

	if (i == 0)
		bt_eq_start(q, cash + pos * close[0]);
	if (pos == 0)
	{
		double		v = cash + pos * close[i];

		bt_eq_bar(q, ts, i, v);
		if (j - 1 > i && v >= q->peak)
			q->prev_zero = j - 1;
		while (acc->next_end >= 0 && acc->next_end < j)
			acc_day_end(acc, cash + pos * close[acc->next_end]);
		return;
	}
	while (i < j)
	{
		/* up to the next day's end, or the stretch's */
		int64_t		e = acc->next_end >= 0 && acc->next_end < j ? acc->next_end + 1 : j;

		acc_held(q, ts, close, i, e, cash, pos);
		if (e - 1 == acc->next_end)
			acc_day_end(acc, cash + pos * close[e - 1]);
		i = e;
	}
}

/*
 * The stop rules (the fill contract): for a position on side (1 long, -1
 * short) entered at `entry`, whose best price since its entry over the bars
 * before this one is *best, over a bar with open o, high h and low l.  When
 * a level is hit: true, with the exit's reason and raw price (a gap through
 * a level fills at the open; a stop and a take-profit inside one bar: the
 * stop first).  Else false, and *best takes in this bar's extreme.
 */
static inline bool
stop_hit(const BtSimParams *p, int side, double entry, double *best, double o, double h,
		 double l, BtExitReason *reason, double *px)
{
	double		stop = NAN,
				tp = NAN;
	BtExitReason stop_reason = BT_EXIT_STOP_LOSS;

	if (side > 0)
	{
		if (p->stop_loss > 0)
			stop = entry * (1.0 - p->stop_loss);
		if (p->trailing_stop > 0)
		{
			double		trail = *best * (1.0 - p->trailing_stop);

			if (isnan(stop) || trail > stop)
			{
				stop = trail;
				stop_reason = BT_EXIT_TRAILING_STOP;
			}
		}
		if (p->take_profit > 0)
			tp = entry * (1.0 + p->take_profit);
		if (o <= stop)
			*reason = stop_reason, *px = o;
		else if (o >= tp)
			*reason = BT_EXIT_TAKE_PROFIT, *px = o;
		else if (l <= stop)
			*reason = stop_reason, *px = stop;
		else if (h >= tp)
			*reason = BT_EXIT_TAKE_PROFIT, *px = tp;
		else
		{
			if (h > *best)
				*best = h;
			return false;
		}
	}
	else
	{
		if (p->stop_loss > 0)
			stop = entry * (1.0 + p->stop_loss);
		if (p->trailing_stop > 0)
		{
			double		trail = *best * (1.0 + p->trailing_stop);

			if (isnan(stop) || trail < stop)
			{
				stop = trail;
				stop_reason = BT_EXIT_TRAILING_STOP;
			}
		}
		if (p->take_profit > 0 && p->take_profit < 1)
			tp = entry * (1.0 - p->take_profit);
		if (o >= stop)
			*reason = stop_reason, *px = o;
		else if (o <= tp)
			*reason = BT_EXIT_TAKE_PROFIT, *px = o;
		else if (h >= stop)
			*reason = stop_reason, *px = stop;
		else if (l <= tp)
			*reason = BT_EXIT_TAKE_PROFIT, *px = tp;
		else
		{
			if (l < *best)
				*best = l;
			return false;
		}
	}
	return true;
}

/*
 * Check stops of the open position on bar i (whose open the position already
 * held through).  Closes it and returns true when a level was hit.
 */
static bool
check_stops(SimState *st, int64_t i)
{
	const BtSeries *s = st->s;
	BtExitReason reason;
	double		px;

	if (!stop_hit(st->p, st->pos > 0 ? 1 : -1, bt_legs_entry(st->legs, st->nlegs), &st->best,
				  s->open[i], s->high[i], s->low[i], &reason, &px))
		return false;
	sim_close_position(st, i, px, reason);
	return true;
}

/*
 * simulate
 *		The simulator (bt_simulate_into), writing each bar's equity into
 *		buf's arrays, or, with acc, into the equity statistics instead
 *		(bt_simulate_metrics_into).
 */
static BtErrCode
simulate(const BtSeries *s, const int8_t *target, int64_t warmup,
		 const BtSimParams *p, const BtAlloc *a,
		 BtProgressFn progress, void *progress_arg,
		 BtSimBuffers *buf, EqAcc *acc, BtResult *out, BtError *err)
{
	SimState	st;
	int64_t		n = s->n;
	bool		stops = p->stop_loss > 0 || p->take_profit > 0 || p->trailing_stop > 0;
	bool		at_open = p->fill == BT_FILL_OPEN;
	bool		borrow = p->borrow_rate > 0;
	bool		margin = p->maintenance_margin > 0;
	bool		watch = stops || margin;	/* an open position is checked each bar */
	bool		margin_call = false;	/* liquidate at the next open */
	double		bars_per_year = borrow ? bt_infer_bars_per_year(s->ts, n) : 0;
	int			pending = BT_KEEP;	/* direction to fill at the next open */
	double	   *eq_out;
	double	   *pos_out;
	double	   *cash_out;
	const double *close = s->close;

	memset(&st, 0, sizeof(st));
	st.s = s;
	st.p = p;
	st.a = a;
	st.cash = p->initial_capital;
	st.trades = buf->trades;
	st.cap = buf->trades_cap;
	st.atr = buf->atr;
	st.exposure = buf->exposure;

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->equity = eq_out = acc ? NULL : buf->equity;
	out->position = pos_out = acc ? NULL : buf->position;
	out->cash = cash_out = acc ? NULL : buf->cash;

	for (int64_t chunk = 0; chunk < n; chunk += BT_PROGRESS_CHUNK)
	{
		int64_t		end = chunk + BT_PROGRESS_CHUNK < n ? chunk + BT_PROGRESS_CHUNK : n;

		if (progress && progress(progress_arg, BT_STEP_SIMULATE, chunk, n))
		{
			buf->trades = st.trades;
			buf->trades_cap = st.cap;
			bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
			return BT_ERR_CANCELLED;
		}
		for (int64_t i = chunk; i < end; i++)
		{
			int			t;

			/*
			 * 0. bars on which nothing can happen (no fill pending, no stop
			 * to check, no decision) in one stretch, up to the next decision
			 */
			if (pending == BT_KEEP && st.order.side == 0 &&
				!(st.pos != 0 && (watch || (borrow && st.pos < 0))))
			{
				int64_t		j = next_decision(target, i, end, warmup);

				if (j > i)
				{
					/* keep fetching open[] and ts[] ahead, a cache line at a time */
					for (int64_t c = (i + 7) & ~INT64_C(7); c < j && c + PREFETCH_AHEAD < n; c += 8)
					{
						PREFETCH(&s->open[c + PREFETCH_AHEAD]);
						PREFETCH(&s->ts[c + PREFETCH_AHEAD]);
					}
					if (acc)
						acc_quiet(acc, close, i, j, st.cash, st.pos);
					else
						quiet_bars(eq_out, pos_out, cash_out, close, i, j, st.cash, st.pos);
					i = j;
					if (i >= end)
						break;
				}
			}

			/* one cache line (8 bars) at a time */
			if ((i & 7) == 0 && i + PREFETCH_AHEAD < n)
			{
				PREFETCH(&s->open[i + PREFETCH_AHEAD]);
				PREFETCH(&s->ts[i + PREFETCH_AHEAD]);
			}

			/*
			 * 1. a margin call of the previous close liquidates at this open,
			 * and cancels the order decided with it; else the order decided
			 * on the previous bar fills at this open
			 */
			if (margin_call)
			{
				sim_close_position(&st, i, s->open[i], BT_EXIT_MARGIN_CALL);
				margin_call = false;
				pending = BT_KEEP;
			}
			if (pending != BT_KEEP)
			{
				sim_execute(&st, i, i - 1, s->open[i], pending);
				pending = BT_KEEP;
			}

			/*
			 * 1b. a limit or stop entry decided on an earlier bar fills on
			 * this bar's range, or expires after its last bar
			 */
			if (st.order.side != 0 && i > st.order.dbar)
			{
				int			side = st.order.side;
				double		px = bt_order_on_bar(p, &st.order, i, s->open[i], s->high[i],
												 s->low[i]);

				if (!isnan(px) && sim_open_units(&st, i, st.order.dbar, px, side, st.order.units))
				{
					st.level = st.order.units;
					st.intrabar = true;
					/* for the excursions (analytics.c) */
					st.legs[st.nlegs - 1].entry_intrabar = true;
				}
			}

			/*
			 * 2. stops, over this bar's range, for a position held through
			 * its open (close fills enter at the close, and limit or stop
			 * entries inside the bar, so then the entry bar's range does
			 * not count)
			 */
			if (stops && st.pos != 0 && (st.legs[0].entry_bar < i || (at_open && !st.intrabar)))
				check_stops(&st, i);

			/* 3. the decision on this bar's close */
			t = target[i];
			if (t != BT_KEEP && i >= warmup)
			{
				int			dir = (t < 0 && !p->allow_short) ? 0 : t;

				/*
				 * a waiting entry order stays while the target is its side;
				 * another target cancels it
				 */
				if (st.order.side != 0 && dir != st.order.side)
					st.order.side = 0;
				if (st.order.side == 0)
				{
					if (!at_open)
						sim_execute(&st, i, i, s->close[i], dir);
					else if (i + 1 < n)
						pending = dir;
				}
			}

			/* 4. the borrow fee of a short held at this close */
			if (borrow && st.pos < 0)
			{
				for (int k = 0; k < st.nlegs; k++)
				{
					double		fee = bt_sim_borrow_fee(p, st.legs[k].quantity, close[i],
														bars_per_year);

					st.cash -= fee;
					st.commissions += fee;
					st.leg_fee[k] += fee;
				}
			}

			/* 5. equity below the maintenance margin: liquidate at the next open */
			if (margin && st.pos != 0 && i + 1 < n &&
				st.cash + st.pos * close[i] < p->maintenance_margin * fabs(st.pos) * close[i])
				margin_call = true;
			if (acc)
				acc_bar(acc, i, st.cash + st.pos * close[i]);
			else
			{
				eq_out[i] = st.cash + st.pos * close[i];
				if (pos_out)
					pos_out[i] = st.pos;
				if (cash_out)
					cash_out[i] = st.cash;
			}
		}
	}

	/* a position open at the end: marked to market, reported as open */
	for (int k = 0; k < st.nlegs; k++)
	{
		BtTrade		t = bt_leg_open_trade(&st.legs[k], st.leg_fee[k], n - 1, s->ts[n - 1],
										  s->close[n - 1]);

		sim_push_trade(&st, &t);
	}
	buf->trades = st.trades;
	buf->trades_cap = st.cap;
	out->trades = st.trades;
	out->ntrades = st.ntrades;
	out->metrics.commissions = st.commissions;
	out->metrics.entries_unfilled = st.unfilled;
	out->metrics.unfilled_price = st.unfilled_price;
	out->metrics.unfilled_cash = st.unfilled_cash;
	out->metrics.unfilled_cost = st.unfilled_cost;
	(void) err;
	return BT_OK;
}

/*
 * bt_simulate_into
 *		Run the simulator over precomputed targets, writing the equity curve,
 *		the positions (unless buf->position is NULL) and the trades into
 *		buf's buffers; buf->trades grows from the allocator when needed and
 *		keeps its capacity for the next run.  Decisions before `warmup` are
 *		ignored (strategies emit BT_KEEP there anyway).  Fills out, whose
 *		arrays then point into buf (metrics are left to bt_compute_metrics).
 */
BtErrCode
bt_simulate_into(const BtSeries *s, const int8_t *target, int64_t warmup,
				 const BtSimParams *p, const BtAlloc *a,
				 BtProgressFn progress, void *progress_arg,
				 BtSimBuffers *buf, BtResult *out, BtError *err)
{
	return simulate(s, target, warmup, p, a, progress, progress_arg, buf, NULL, out, err);
}

/*
 * bt_simulate_metrics_into
 *		bt_simulate_into and bt_compute_metrics in one pass: the metrics are
 *		accumulated bar by bar, no equity, position or cash is written
 *		(buf->equity, position and cash are not used; out->equity, position
 *		and cash are NULL).  The same metrics and trades, bit for bit, for a
 *		validated series (finite closes: bt_validate_series).
 */
BtErrCode
bt_simulate_metrics_into(const BtSeries *s, const int8_t *target, int64_t warmup,
						 const BtSimParams *p, const BtAlloc *a,
						 BtProgressFn progress, void *progress_arg,
						 BtSimBuffers *buf, BtResult *out, BtError *err)
{
	EqAcc		acc;
	BtErrCode	rc;

	if (s->n == 0)
	{
		rc = simulate(s, target, warmup, p, a, progress, progress_arg, buf, NULL, out, err);
		if (rc == BT_OK)
			bt_metrics_finish(s, warmup, p, NULL, 0, out);
		return rc;
	}
	memset(&acc, 0, sizeof(acc));
	acc.ts = s->ts;
	acc.n = s->n;
	{
		int64_t		day_start = bt_metrics_day_start(s, p);

		if (buf->day_ends && buf->day_ends_start == day_start)
		{
			acc.ends = buf->day_ends;
			acc.nends = buf->nday_ends;
		}
		else
			bt_day_iter_start(&acc.days, s->ts, day_start);
	}
	acc.next_end = acc_next_end(&acc);
	rc = simulate(s, target, warmup, p, a, progress, progress_arg, buf, &acc, out, err);
	if (rc != BT_OK)
		return rc;
	if (progress && progress(progress_arg, BT_STEP_METRICS, 0, s->n))
	{
		bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
		return BT_ERR_CANCELLED;
	}
	bt_metrics_finish(s, warmup, p, &acc.q, acc.last, out);
	return BT_OK;
}

/*
 * simulate_strategy
 *		Run the simulator over the targets of strategy st (NULL: targets
 *		only) into fresh arrays from the allocator: the signal strategy's
 *		values are its exposures.  With metrics_only, in one pass with the
 *		metrics and no per-bar arrays (bt_simulate_metrics_into).
 */
static BtErrCode
simulate_strategy(const BtSeries *s, const BtStrategyDef *st, const int8_t *target,
				  int64_t warmup, const BtSimParams *p, const BtAlloc *a,
				  BtProgressFn progress, void *progress_arg, bool metrics_only,
				  BtResult *out, BtError *err)
{
	BtSimBuffers buf;
	size_t		bytes = (size_t) (s->n > 0 ? s->n : 1) * sizeof(double);

	memset(&buf, 0, sizeof(buf));
	if (!metrics_only)
	{
		buf.equity = a->realloc_fn(a->ctx, NULL, bytes);
		buf.position = a->realloc_fn(a->ctx, NULL, bytes);
		buf.cash = a->realloc_fn(a->ctx, NULL, bytes);
	}
	if (p->sizing == BT_SIZING_RISK && p->risk_atr > 0 && s->n > 0)
	{
		double	   *tr = a->realloc_fn(a->ctx, NULL, bytes);
		double	   *atr = a->realloc_fn(a->ctx, NULL, bytes);

		bt_atr(s->high, s->low, s->close, s->n, p->risk_atr_period, tr, atr);
		buf.atr = atr;
	}
	buf.exposure = st && st->needs_signal ? s->signal : NULL;
	if (metrics_only)
		return bt_simulate_metrics_into(s, target, warmup, p, a, progress, progress_arg, &buf,
										out, err);
	return bt_simulate_into(s, target, warmup, p, a, progress, progress_arg, &buf, out, err);
}

/*
 * bt_simulate_strategy
 *		Run the simulator over the targets of strategy st (see bt_simulate):
 *		the signal strategy's values are its exposures.
 */
BtErrCode
bt_simulate_strategy(const BtSeries *s, const BtStrategyDef *st, const int8_t *target,
					 int64_t warmup, const BtSimParams *p, const BtAlloc *a,
					 BtProgressFn progress, void *progress_arg,
					 BtResult *out, BtError *err)
{
	return simulate_strategy(s, st, target, warmup, p, a, progress, progress_arg, false, out,
							 err);
}

/*
 * bt_simulate
 *		Run the simulator over precomputed targets (-1, 0, 1, BT_KEEP) into
 *		fresh arrays from the allocator (see bt_simulate_into).
 */
BtErrCode
bt_simulate(const BtSeries *s, const int8_t *target, int64_t warmup,
			const BtSimParams *p, const BtAlloc *a,
			BtProgressFn progress, void *progress_arg,
			BtResult *out, BtError *err)
{
	return bt_simulate_strategy(s, NULL, target, warmup, p, a, progress, progress_arg, out, err);
}

/*
 * run
 *		One backtest: strategy targets, simulation, metrics (bt_run); with
 *		metrics_only, simulation and metrics in one pass (bt_run_metrics).
 */
static BtErrCode
run(const BtSeries *s, const BtConfig *cfg, const BtAlloc *a,
	BtProgressFn progress, void *progress_arg, bool metrics_only,
	BtResult *out, BtError *err)
{
	int8_t	   *target;
	int64_t		warmup;
	BtErrCode	rc;

	if (progress && progress(progress_arg, BT_STEP_INDICATORS, 0, s->n))
	{
		bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
		return BT_ERR_CANCELLED;
	}
	target = a->realloc_fn(a->ctx, NULL, (size_t) (s->n > 0 ? s->n : 1));
	warmup = bt_strategy_compute(cfg->strategy, s, cfg->sp, target, a);

	rc = simulate_strategy(s, cfg->strategy, target, warmup, &cfg->sim, a, progress,
						   progress_arg, metrics_only, out, err);
	if (rc != BT_OK || metrics_only)
		return rc;
	if (progress && progress(progress_arg, BT_STEP_METRICS, 0, s->n))
	{
		bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
		return BT_ERR_CANCELLED;
	}
	bt_compute_metrics(s, warmup, &cfg->sim, out);
	return BT_OK;
}

/*
 * bt_run
 *		One backtest: strategy targets, simulation, metrics.
 */
BtErrCode
bt_run(const BtSeries *s, const BtConfig *cfg, const BtAlloc *a,
	   BtProgressFn progress, void *progress_arg, BtResult *out, BtError *err)
{
	return run(s, cfg, a, progress, progress_arg, false, out, err);
}

/*
 * bt_run_metrics
 *		bt_run without the per-bar arrays (see bt_engine.h).
 */
BtErrCode
bt_run_metrics(const BtSeries *s, const BtConfig *cfg, const BtAlloc *a,
			   BtProgressFn progress, void *progress_arg, BtResult *out, BtError *err)
{
	return run(s, cfg, a, progress, progress_arg, true, out, err);
}

/*
 * bt_sim_stop_hit
 *		The stop rules of one bar for the portfolio simulator (portfolio_step.c),
 *		the same code as this simulator's (bt_internal.h).
 */
bool
bt_sim_stop_hit(const BtSimParams *p, int side, double entry, double *best, double o, double h,
				double l, BtExitReason *reason, double *px)
{
	return stop_hit(p, side, entry, best, o, h, l, reason, px);
}
