/*-------------------------------------------------------------------------
 *
 * sim_position.c
 *	  The single-asset simulator's open position: entries (sized, as
 *	  pyramided legs), exits and partial exits, and the trade list they
 *	  write.  The bar loop that calls them is simulate (simulator.c); the
 *	  fill contract is in that file's header.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sim_position.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "sim_internal.h"

/* bt_legs_reduce's trade rows: into the result list */
static void
emit_trade(void *ctx, const BtTrade *t, int leg)
{
	(void) leg;
	sim_push_trade(ctx, t);
}

/*
 * Sell (or cover) dq (> 0, at most |pos|) of the open position at raw price
 * px on bar i, in one order: its legs are closed oldest first, the last one
 * reached in part (it stays open with the rest), or every leg when `all`
 * (legs.c).
 */
void
sim_reduce_position(SimState *st, int64_t i, double px, double dq, bool all,
					BtExitReason reason)
{
	const BtSimParams *p = st->p;
	int			side = st->pos > 0 ? 1 : -1;
	double		fill = bt_sim_slipped(p, px, -side);
	double		fee = bt_sim_order_cost(p, dq, fill, -side);

	st->cash += side * dq * fill - fee;
	st->commissions += fee;
	st->nlegs = bt_legs_reduce(st->legs, st->leg_fee, st->nlegs, side, dq, all, fill, fee, i,
							   st->s->ts[i], reason, emit_trade, st);
	if (st->nlegs == 0)
	{
		st->pos = 0;
		st->level = 0;
	}
	else
		st->pos -= side * dq;
}

/*
 * Buy (side 1) or sell short (-1) `units` units of size at raw price px on
 * bar i, decided on bar dbar, sized from equity by the sizing mode
 * (sizing.c), as a new entry leg.  Returns whether it filled.
 */
bool
sim_open_units(SimState *st, int64_t i, int64_t dbar, double px, int side, double units)
{
	const BtSimParams *p = st->p;
	double		fill = bt_sim_slipped(p, px, side);
	double		equity = st->cash;	/* when flat, equity is cash */
	BtEntrySize e;
	double		q,
				wanted,
				had;
	double		fee;

	e.px = fill;
	e.side = side;
	e.power = equity * p->leverage;
	if (st->nlegs > 0)
	{
		/* adding: equity at this price; buying power less what is held */
		equity = st->cash + st->pos * px;
		e.power = equity * p->leverage - fabs(st->pos) * px;
	}
	e.equity = equity;
	e.unit = e.budget = equity * p->size * p->leverage;
	if (e.budget > e.power)
		e.budget = e.power;
	e.atr = st->atr ? st->atr[dbar] : NAN;
	q = bt_entry_quantity_units(p, &e, units, &wanted, &had);
	if (q <= 0)
	{
		/* cannot afford the order: no fill, and count it for the caller */
		if (!isnan(wanted) && st->unfilled++ == 0)
		{
			st->unfilled_price = fill;
			st->unfilled_cash = had;
			st->unfilled_cost = wanted;
		}
		return false;
	}
	fee = bt_sim_order_cost(p, q, fill, side);
	st->cash -= side * q * fill + fee;
	st->commissions += fee;
	st->pos += side * q;
	if (st->nlegs == 0)
	{
		st->best = fill;
		st->intrabar = false;
	}
	/* no room for another leg: the fill joins the newest at the mean price */
	st->nlegs = bt_legs_add(st->legs, st->leg_fee, st->nlegs, BT_MAX_PYRAMIDING, side, i,
							st->s->ts[i], fill, q, fee);
	return true;
}

/*
 * Move to direction dir (-1, 0, 1) at raw price px on bar i, decided on bar
 * dbar: exits at px; entries at px too, or, with limit or stop entries, as
 * an order at a level from dbar's close (orders.c); on the held side, more
 * or fewer units (pyramiding, partial exits) at px.
 */
void
sim_execute(SimState *st, int64_t i, int64_t dbar, double px, int dir)
{
	int			cur = st->pos > 0 ? 1 : st->pos < 0 ? -1 : 0;
	double		units;

	if (dir == cur && st->level >= st->p->pyramiding && !st->exposure)
		return;					/* held in full: nothing to do */
	units = dir != 0 ? bt_target_units(st->p, st->exposure, dbar, st->level, dir, cur) : 0;
	if (cur != 0 && dir != cur)
	{
		sim_close_position(st, i, px, BT_EXIT_SIGNAL);
		cur = 0;
	}
	if (dir == 0 || !(units > 0))
	{
		if (cur != 0)
			sim_close_position(st, i, px, BT_EXIT_SIGNAL);
		return;
	}
	if (cur == 0)
	{
		if (st->p->entry == BT_ENTRY_MARKET)
		{
			if (sim_open_units(st, i, dbar, px, dir, units))
				st->level = units;
		}
		else
		{
			bt_order_arm(st->p, &st->order, dir, dbar, st->s->close[dbar]);
			st->order.units = units;
		}
	}
	else if (units > st->level)
	{
		/* scale in: the units missing, as a new leg */
		if (sim_open_units(st, i, dbar, px, dir, units - st->level))
			st->level = units;
	}
	else if (units < st->level)
	{
		/* scale out: that share of the quantity held, in whole lots */
		double		q = fabs(st->pos);
		double		dq = bt_scale_out_quantity(st->p, q, units, st->level);

		if (dq >= q)
			sim_close_position(st, i, px, BT_EXIT_SIGNAL);
		else if (dq > 0)
		{
			sim_reduce_position(st, i, px, dq, false, BT_EXIT_SIGNAL);
			st->level = units;
		}
	}
}
