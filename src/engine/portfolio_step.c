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

void
pf_push_trade(PfState *st, int sym, const BtTrade *t, int64_t exit_tl)
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
	r->entry_tl = st->sy[sym].entry_tl;
	r->exit_tl = exit_tl;
}

/* Close dq (> 0, at most |qty|) of symbol i's position at raw price px */
static void
close_part(PfState *st, int i, double dq, double px, BtExitReason reason)
{
	PfSym	   *y = &st->sy[i];
	int			side = sgn(y->qty);
	double		q = fabs(y->qty);
	double		fill = bt_sim_slipped(y->sim, px, -side);
	double		notional = dq * fill;
	double		fee = bt_sim_order_cost(y->sim, dq, fill, -side);
	double		efee = dq >= q ? y->entry_fee : y->entry_fee * (dq / q);
	BtTrade		t = y->cur;

	st->cash += side * notional - fee;
	st->costs += fee;
	st->traded += notional;
	t.quantity = dq;
	t.exit_bar = y->j;
	t.exit_ts = y->in->s.ts[y->j];
	t.exit_price = fill;
	t.commission = efee + fee;
	t.pnl = side * (fill - t.entry_price) * dq - efee - fee;
	t.return_pct = t.pnl / (t.entry_price * dq) * 100.0;
	t.exit_reason = reason;
	t.is_open = false;
	pf_push_trade(st, i, &t, st->tl);
	y->entry_fee -= efee;
	if (dq >= q)
	{
		y->qty = 0;
		y->entry_fee = 0;
		st->held--;
	}
	else
	{
		y->qty -= side * dq;
		y->cur.quantity = q - dq;
	}
}

/* Buy (side 1) or sell short (-1) dq more of symbol i at the slipped price fill */
static void
open_add(PfState *st, int i, double dq, double fill, int side)
{
	PfSym	   *y = &st->sy[i];
	double		fee = bt_sim_order_cost(y->sim, dq, fill, side);

	st->cash -= side * dq * fill + fee;
	st->costs += fee;
	st->traded += dq * fill;
	if (y->qty == 0)
	{
		memset(&y->cur, 0, sizeof(y->cur));
		y->cur.side = side;
		y->cur.entry_bar = y->j;
		y->cur.entry_ts = y->in->s.ts[y->j];
		y->cur.entry_price = fill;
		y->cur.quantity = dq;
		y->entry_fee = fee;
		y->entry_tl = st->tl;
		y->best = fill;
		y->qty = side * dq;
		st->held++;
	}
	else
	{
		double		q = fabs(y->qty);

		/* one trade per position: the entry price becomes the mean */
		y->cur.entry_price = (y->cur.entry_price * q + fill * dq) / (q + dq);
		y->cur.quantity = q + dq;
		y->entry_fee += fee;
		y->qty += side * dq;
	}
}

/* The target weight of one position */
static double
weight(const PfState *st)
{
	return st->p->allocation == BT_PF_ALLOC_EQUAL ? 1.0 / st->p->max_positions :
		st->p->position_size;
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

/*
 * The orders of one fill phase at raw prices px(i) (open or close of each
 * in-symbol's bar j): in-symbols with desired != BT_KEEP move there; at a
 * rebalance (resize) held positions are resized to their weight.
 */
void
pf_execute_orders(PfState *st, bool at_open, bool resize)
{
	const BtPfParams *p = st->p;
	int			ncand = 0;

#define PX(y) (at_open ? (y)->in->s.open[(y)->j] : (y)->in->s.close[(y)->j])

	/* 1. exits (and the first leg of reversals) */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];

		if (!y->here || y->desired == BT_KEEP || y->qty == 0)
			continue;
		if (y->desired != sgn(y->qty))
			close_part(st, i, fabs(y->qty), PX(y), BT_EXIT_SIGNAL);
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
			want = weight(st) * equity_now(st) / PX(y);
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			if ((fabs(y->qty) - want) * PX(y) > BT_PF_RESIZE_TOL * equity_now(st))
				close_part(st, i, fabs(y->qty) - want, PX(y), BT_EXIT_SIGNAL);
		}
	/* 3. entries, ranked */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		int			k;

		if (!y->here || y->qty != 0 || y->desired == BT_KEEP || y->desired == 0)
			continue;
		/* insertion into the ranked candidates */
		for (k = ncand; k > 0 && before(y, &st->sy[st->cand[k - 1]], p->rank_by); k--)
			st->cand[k] = st->cand[k - 1];
		st->cand[k] = i;
		ncand++;
	}
	for (int c = 0; c < ncand; c++)
	{
		int			i = st->cand[c];
		PfSym	   *y = &st->sy[i];
		int			side = y->desired;
		double		fill = bt_sim_slipped(y->sim, PX(y), side);
		BtEntrySize e;
		double		q,
					wanted,
					had;

		if (st->held >= p->max_positions)
		{
			st->skipped++;
			continue;
		}
		/* the symbol's sizing mode; "fraction" commits the allocation */
		e.px = fill;
		e.side = side;
		e.equity = equity_now(st);
		e.power = free_cash(st);
		e.budget = weight(st) * e.equity;
		if (e.budget > e.power)
			e.budget = e.power;
		e.atr = y->atr ? y->atr[y->dbar] : NAN;
		q = bt_entry_quantity(y->sim, &e, &wanted, &had);
		if (q <= 0)
		{
			st->skipped++;
			if (!isnan(wanted) && st->unfilled++ == 0)
			{
				st->unfilled_price = fill;
				st->unfilled_cash = had;
				st->unfilled_cost = wanted;
			}
			continue;
		}
		open_add(st, i, q, fill, side);
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

			if (!y->here || y->qty == 0 || y->cur.entry_bar == y->j)
				continue;		/* entered just now: sized already */
			fill = bt_sim_slipped(y->sim, PX(y), side);
			want = weight(st) * equity_now(st) / fill;
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			dq = want - fabs(y->qty);
			if (dq <= 0)
				continue;
			fit = bt_sim_size_order(y->sim, free_cash(st), fill, side);
			if (dq > fit)
				dq = fit;
			if (dq * fill > BT_PF_RESIZE_TOL * equity_now(st))
				open_add(st, i, dq, fill, side);
		}
#undef PX
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

		if (!y->stops || !y->here || y->qty == 0 || (!at_open && y->cur.entry_bar >= y->j))
			continue;
		if (bt_sim_stop_hit(y->sim, y->qty > 0 ? 1 : -1, y->cur.entry_price, &y->best,
							s->open[y->j], s->high[y->j], s->low[y->j], &reason, &px))
			close_part(st, i, fabs(y->qty), px, reason);
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
