/*-------------------------------------------------------------------------
 *
 * portfolio_step.c
 *	  The steps of one timestamp of the portfolio simulator (portfolio.c
 *	  calls them in order): the account's fills (closing, opening), the
 *	  orders of one fill phase, stops, and rotation's pick at a rebalance.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/portfolio_step.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_internal.h"

static int
sgn(double x)
{
	return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* Equity at the current marks */
static double
equity_now(const PfState *st)
{
	double		e = st->cash;

	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty != 0)
			e += y->qty * y->mark;
	}
	return e;
}

/* Cash free for entries: cash less proceeds and notional of shorts, at the marks */
static double
free_cash(const PfState *st)
{
	double		c = st->cash;

	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty < 0)
			c += 2.0 * y->qty * y->mark;
	}
	return c;
}

/*
 * The buying power: leverage x equity less the gross value of the positions
 * at the marks.  With leverage 1 that is the free cash, summed as free_cash
 * does for entries from flat (`add` false), as the single-symbol simulator
 * does for units added to a position (`add` true).
 */
static double
buying_power(const PfState *st, bool add)
{
	double		lev = st->p->account.leverage;
	double		gross = 0;

	if (lev == 1 && !add)
		return free_cash(st);
	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty != 0)
			gross += fabs(y->qty) * y->mark;
	}
	return equity_now(st) * lev - gross;
}

void
pf_push_trade(PfState *st, int sym, const BtTrade *t, int64_t entry_tl, int64_t exit_tl)
{
	BtPfTrade  *r;

	if (st->ntrades == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 64;
		st->trades = st->a->realloc_fn(st->a->ctx, st->trades, (size_t) st->cap * sizeof(BtPfTrade));
	}
	r = &st->trades[st->ntrades++];
	r->sym = sym;
	r->t = *t;
	r->entry_tl = entry_tl;
	r->exit_tl = exit_tl;
}

/* bt_legs_reduce's trade rows of one symbol */
typedef struct PfEmit
{
	PfState    *st;
	int			sym;
} PfEmit;

static void
emit_trade(void *ctx, const BtTrade *t, int leg)
{
	PfEmit	   *e = ctx;

	pf_push_trade(e->st, e->sym, t, e->st->sy[e->sym].leg_tl[leg], e->st->tl);
}

/*
 * Close dq (> 0, at most |qty|) of symbol i's position at raw price px, in
 * one order: its legs oldest first (legs.c), every leg when dq is all of it
 */
static void
close_part(PfState *st, int i, double dq, double px, BtExitReason reason)
{
	PfSym	   *y = &st->sy[i];
	int			side = sgn(y->qty);
	double		q = fabs(y->qty);
	double		fill = bt_sim_slipped(y->sim, px, -side);
	double		notional = dq * fill;
	double		fee = bt_sim_order_cost(y->sim, dq, fill, -side);
	PfEmit		e = {st, i};
	int			old = y->nlegs;

	st->cash += side * notional - fee;
	st->costs += fee;
	st->traded += notional;
	y->nlegs = bt_legs_reduce(y->legs, y->leg_fee, old, side, dq, dq >= q, fill, fee, y->j,
							  y->in->s.ts[y->j], reason, emit_trade, &e);
	if (y->nlegs < old)
		memmove(y->leg_tl, y->leg_tl + (old - y->nlegs), (size_t) y->nlegs * sizeof(int64_t));
	if (y->nlegs == 0)
	{
		y->qty = 0;
		y->level = 0;
		st->held--;
	}
	else
		y->qty -= side * dq;
}

/*
 * Buy (side 1) or sell short (-1) dq more of symbol i at the slipped price
 * fill: a new leg, or with `join` (a rebalance increase) part of the newest
 */
static void
open_add(PfState *st, int i, double dq, double fill, int side, bool join)
{
	PfSym	   *y = &st->sy[i];
	double		fee = bt_sim_order_cost(y->sim, dq, fill, side);
	int			old = y->nlegs;

	st->cash -= side * dq * fill + fee;
	st->costs += fee;
	st->traded += dq * fill;
	if (old == 0)
	{
		y->best = fill;
		y->intrabar = false;
		st->held++;
	}
	y->nlegs = bt_legs_add(y->legs, y->leg_fee, old, join ? old : y->maxlegs, side, y->j,
						   y->in->s.ts[y->j], fill, dq, fee);
	if (y->nlegs > old)
		y->leg_tl[old] = st->tl;
	y->qty += side * dq;
}

/* The target weight of one position */
static double
weight(const PfState *st)
{
	return st->p->allocation == BT_PF_ALLOC_EQUAL ? 1.0 / st->p->max_positions :
		st->p->position_size;
}

/*
 * Buy or sell short `units` units of size of symbol i at raw price px,
 * decided on bar dbar: a unit is the allocation x leverage, sized by the
 * symbol's sizing mode within the buying power (sizing.c, as the
 * single-symbol simulator sizes).  Returns whether it filled; an entry not
 * filled is counted.
 */
static bool
enter_units(PfState *st, int i, int side, double units, double px, int64_t dbar)
{
	PfSym	   *y = &st->sy[i];
	double		fill = bt_sim_slipped(y->sim, px, side);
	BtEntrySize e;
	double		q,
				wanted,
				had;

	e.px = fill;
	e.side = side;
	e.equity = equity_now(st);
	e.power = buying_power(st, y->qty != 0);
	e.unit = weight(st) * e.equity * st->p->account.leverage;
	e.budget = e.unit > e.power ? e.power : e.unit;
	e.atr = y->atr ? y->atr[dbar] : NAN;
	q = bt_entry_quantity_units(y->sim, &e, units, &wanted, &had);
	if (q <= 0)
	{
		st->skipped++;
		if (!isnan(wanted) && st->unfilled++ == 0)
		{
			st->unfilled_price = fill;
			st->unfilled_cash = had;
			st->unfilled_cost = wanted;
		}
		return false;
	}
	open_add(st, i, q, fill, side, false);
	return true;
}

/* Entry order: rank value descending (NaN last), then name */
static bool
before(const PfSym *a, const PfSym *b, BtPfRankBy by)
{
	if (by == BT_PF_RANK_ROC)
	{
		bool		an = isnan(a->rank),
					bn = isnan(b->rank);

		if (an != bn)
			return bn;
		if (!an && a->rank != b->rank)
			return a->rank > b->rank;
	}
	return a->order < b->order;
}

/* Insert symbol i into the ranked candidates st->cand[0..n-1]; returns n + 1 */
static int
rank_insert(PfState *st, int n, int i, BtPfRankBy by)
{
	int			k;

	for (k = n; k > 0 && before(&st->sy[i], &st->sy[st->cand[k - 1]], by); k--)
		st->cand[k] = st->cand[k - 1];
	st->cand[k] = i;
	return n + 1;
}

/* The units of size symbol y's decision on its side dir targets now (sizing.c) */
static double
units_of(const PfSym *y, int dir)
{
	return bt_target_units(y->sim, y->exposure, y->dbar, y->level, dir, sgn(y->qty));
}

/*
 * A margin call's liquidations: every in-symbol the call flagged closes its
 * whole position at its open, before its other orders
 */
void
pf_liquidate(PfState *st)
{
	if (st->p->account.maintenance_margin <= 0)
		return;
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];

		if (!y->here || !y->liquidate)
			continue;
		y->liquidate = false;
		if (y->qty != 0)
			close_part(st, i, fabs(y->qty), y->in->s.open[y->j], BT_EXIT_MARGIN_CALL);
	}
}

/*
 * The orders of one fill phase at raw prices px(i) (open or close of each
 * in-symbol's bar j): in-symbols with desired != BT_KEEP move there; at a
 * rebalance (resize) held positions are resized to their weight.
 */
void
pf_execute_orders(PfState *st, bool at_open, bool resize)
{
	const BtPfParams *p = st->p;
	double		lev = p->account.leverage;
	int			ncand = 0;

#define PX(y) (at_open ? (y)->in->s.open[(y)->j] : (y)->in->s.close[(y)->j])

	/*
	 * 1. exits (and the first leg of reversals), scale-outs; a waiting limit
	 * or stop entry stays for a decision of its side (which is then no
	 * order), another cancels it
	 */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		double		units;

		if (!y->here || y->desired == BT_KEEP)
			continue;
		if (y->waiting.side != 0)
		{
			if (y->desired == y->waiting.side)
			{
				y->desired = BT_KEEP;
				continue;
			}
			y->waiting.side = 0;
		}
		if (y->qty == 0)
			continue;
		if (y->desired != sgn(y->qty))
		{
			close_part(st, i, fabs(y->qty), PX(y), BT_EXIT_SIGNAL);
			continue;
		}
		units = units_of(y, y->desired);
		if (!(units > 0))
			close_part(st, i, fabs(y->qty), PX(y), BT_EXIT_SIGNAL);
		else if (units < y->level)
		{
			double		q = fabs(y->qty);
			double		dq = bt_scale_out_quantity(y->sim, q, units, y->level);

			if (dq >= q)
				close_part(st, i, q, PX(y), BT_EXIT_SIGNAL);
			else if (dq > 0)
			{
				close_part(st, i, dq, PX(y), BT_EXIT_SIGNAL);
				y->level = units;
			}
		}
	}
	/* 2. rebalance reductions */
	if (resize)
		for (int r = 0; r < st->nsym; r++)
		{
			int			i = st->byname[r];
			PfSym	   *y = &st->sy[i];
			double		want;

			if (!y->here || y->qty == 0)
				continue;
			want = y->level * weight(st) * lev * equity_now(st) / PX(y);
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			if ((fabs(y->qty) - want) * PX(y) > BT_PF_RESIZE_TOL * equity_now(st))
				close_part(st, i, fabs(y->qty) - want, PX(y), BT_EXIT_SIGNAL);
		}

	/*
	 * 3. entries and units added to held positions, ranked (limit and stop
	 * entries become orders: pf_fill_orders)
	 */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];

		if (!y->here || y->desired == BT_KEEP || y->desired == 0)
			continue;
		if (y->qty == 0 && y->sim->entry != BT_ENTRY_MARKET)
		{
			bt_order_arm(y->sim, &y->waiting, y->desired, y->dbar, y->in->s.close[y->dbar]);
			y->waiting.units = units_of(y, y->desired);
			y->order_rank = y->rank;
			continue;
		}
		if (y->qty == 0 || (y->desired == sgn(y->qty) && units_of(y, y->desired) > y->level))
			ncand = rank_insert(st, ncand, i, p->rank_by);
	}
	for (int c = 0; c < ncand; c++)
	{
		int			i = st->cand[c];
		PfSym	   *y = &st->sy[i];
		double		units = units_of(y, y->desired);

		if (y->qty != 0)
		{
			/* scale in: the units missing, as a new leg */
			if (enter_units(st, i, y->desired, units - y->level, PX(y), y->dbar))
				y->level = units;
		}
		else if (st->held >= p->max_positions)
			st->skipped++;
		else if (enter_units(st, i, y->desired, units, PX(y), y->dbar))
			y->level = units;
	}
	/* 4. rebalance increases, within the free cash */
	if (resize)
		for (int r = 0; r < st->nsym; r++)
		{
			int			i = st->byname[r];
			PfSym	   *y = &st->sy[i];
			int			side = sgn(y->qty);
			double		want,
						fill,
						dq,
						fit;

			if (!y->here || y->qty == 0 || y->legs[y->nlegs - 1].entry_bar == y->j)
				continue;		/* entered just now: sized already */
			fill = bt_sim_slipped(y->sim, PX(y), side);
			want = y->level * weight(st) * lev * equity_now(st) / fill;
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			dq = want - fabs(y->qty);
			if (dq <= 0)
				continue;
			fit = bt_sim_size_order(y->sim, buying_power(st, false), fill, side);
			if (dq > fit)
				dq = fit;
			if (dq * fill > BT_PF_RESIZE_TOL * equity_now(st))
				open_add(st, i, dq, fill, side, true);
		}
#undef PX
}

/*
 * Limit and stop entries waiting on the in-symbols, over their current bar
 * (a bar after the decision bar; orders.c): those the bar reaches fill in
 * the entry ranking (their rank value at the decision, then name), each
 * sized then from the equity and buying power left by the fills before it
 * (a waiting order reserves nothing), or skipped when max_positions are
 * held or not one lot fits; the others are cancelled after their last bar.
 */
void
pf_fill_orders(PfState *st)
{
	int			ncand = 0;

	if (!st->any_orders)
		return;
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		const BtSeries *s = &y->in->s;
		int			side = y->waiting.side;

		if (!y->here || side == 0 || y->j <= y->waiting.dbar)
			continue;
		y->order_px = bt_order_on_bar(y->sim, &y->waiting, y->j, s->open[y->j], s->high[y->j],
									  s->low[y->j]);
		if (isnan(y->order_px))
			continue;
		y->waiting.side = side;	/* for the loop below */
		y->rank = y->order_rank;
		ncand = rank_insert(st, ncand, i, st->p->rank_by);
	}
	for (int c = 0; c < ncand; c++)
	{
		int			i = st->cand[c];
		PfSym	   *y = &st->sy[i];
		int			side = y->waiting.side;

		y->waiting.side = 0;
		if (st->held >= st->p->max_positions)
			st->skipped++;
		else if (enter_units(st, i, side, y->waiting.units, y->order_px, y->waiting.dbar))
		{
			y->level = y->waiting.units;
			y->intrabar = true;
			/* for the excursions (analytics.c) */
			y->legs[y->nlegs - 1].entry_intrabar = true;
		}
	}
}

/*
 * Stops over the current bar of every in-symbol holding a position through
 * its open (fill "open": also one entered at this open; fill "close": one
 * entered on an earlier bar), by the single-symbol simulator's rules
 * (bt_sim_stop_hit): a hit closes the whole position at the level (or the
 * open, on a gap), its cash available to what follows at this timestamp.
 */
void
pf_check_stops(PfState *st, bool at_open)
{
	if (!st->any_stops)
		return;
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		const BtSeries *s = &y->in->s;
		BtExitReason reason;
		double		px;

		if (!y->stops || !y->here || y->qty == 0 ||
			((!at_open || y->intrabar) && y->legs[0].entry_bar >= y->j))
			continue;
		if (bt_sim_stop_hit(y->sim, y->qty > 0 ? 1 : -1, bt_legs_entry(y->legs, y->nlegs), &y->best,
							s->open[y->j], s->high[y->j], s->low[y->j], &reason, &px))
			close_part(st, i, fabs(y->qty), px, reason);
	}
}

/*
 * The margin call of the account at the current timestamp's close (after
 * its borrow fees), with maintenance_margin > 0: when equity < maintenance
 * x the gross value of the positions at their last closes, every position
 * is closed at its symbol's next open (pf_liquidate), and every order
 * decided so far is cancelled: decisions waiting for a symbol's next bar,
 * limit and stop entries waiting.
 */
void
pf_margin_check(PfState *st)
{
	double		mm = st->p->account.maintenance_margin;
	double		gross = 0,
				eq = st->cash;

	if (mm <= 0 || st->held == 0)
		return;
	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty != 0)
		{
			eq += y->qty * y->last_close;
			gross += mm * fabs(y->qty) * y->last_close;
		}
	}
	if (!(eq < gross))
		return;
	for (int i = 0; i < st->nsym; i++)
	{
		PfSym	   *y = &st->sy[i];

		y->liquidate = y->qty != 0;
		y->pending = BT_KEEP;
		y->waiting.side = 0;
	}
}

/* Period number of a timestamp for a rebalance frequency */
int64_t
pf_period_of(int64_t ts, BtPfRebalance r)
{
	int64_t		day = bt_day_of(ts);

	switch (r)
	{
		case BT_PF_REBAL_DAILY:
			return day;
		case BT_PF_REBAL_WEEKLY:
			/* 1970-01-01 was a Thursday: weeks from Monday */
			return (day + 3 >= 0 ? (day + 3) / 7 : -((-(day + 3) - 1) / 7) - 1);
		case BT_PF_REBAL_MONTHLY:
			{
				/* civil from days (H. Hinnant) */
				int64_t		z = day + 719468;
				int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
				int64_t		doe = z - era * 146097;
				int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
				int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
				int64_t		mp = (5 * doy + 2) / 153;
				int64_t		m = mp < 10 ? mp + 3 : mp - 9;
				int64_t		y = yoe + era * 400 + (m <= 2);

				return y * 12 + m;
			}
		default:
			return 0;
	}
}

/*
 * Rotation's pick from each symbol's last closed bar (lb = j - 1, or j for
 * in-symbols when closes count): the top N by ROC above min_momentum get
 * +1, the others 0.  In-symbols take it now, the others at their next bar.
 */
void
pf_rotate(PfState *st, double **roc, bool include_here)
{
	const BtPfParams *p = st->p;
	int			n = 0;

	for (int i = 0; i < st->nsym; i++)
	{
		PfSym	   *y = &st->sy[i];
		int64_t		lb = y->j - 1 + (include_here && y->here ? 1 : 0);
		double		r = lb >= 0 ? roc[i][lb] : NAN;
		int			k;

		y->rank = y->pending_rank = r;
		if (isnan(r) || !(r > p->min_momentum))
			continue;
		for (k = n; k > 0 && before(y, &st->sy[st->cand[k - 1]], BT_PF_RANK_ROC); k--)
			st->cand[k] = st->cand[k - 1];
		st->cand[k] = i;
		n++;
	}
	for (int i = 0; i < st->nsym; i++)
		st->sy[i].pending = 0;
	for (int c = 0; c < n && c < p->top; c++)
		st->sy[st->cand[c]].pending = 1;
	for (int i = 0; i < st->nsym; i++)
	{
		st->sy[i].pending_bar = -1;
		if (st->sy[i].here)
		{
			st->sy[i].desired = st->sy[i].pending;
			st->sy[i].pending = BT_KEEP;
		}
	}
}
