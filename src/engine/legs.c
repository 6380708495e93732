/*-------------------------------------------------------------------------
 *
 * legs.c
 *	  The entry legs of a position (README, "Pyramiding and partial exits"),
 *	  shared by the single-symbol and the portfolio simulators: one leg per
 *	  entry fill, oldest first, each reported as a trade row; a sale closes
 *	  them first in first out, a leg reached in part stays open with the
 *	  rest.  Each closed part carries its share (by quantity) of its leg's
 *	  entry costs and of the exit order's costs.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/legs.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "bt_internal.h"

/*
 * bt_legs_reduce
 *		Sell (side 1) or cover (side -1) dq (> 0, at most the quantity held)
 *		of the position legs[0..nlegs-1] in one order filled at `fill` whose
 *		costs are `fee`, on bar `bar` at ts: oldest first, or every leg when
 *		`all`.  Each closed part is given to emit with the index of its leg
 *		(before the closed legs are removed).  Removes the legs closed in
 *		full from legs[] and leg_fee[]; returns the legs left.
 */
int
bt_legs_reduce(BtTrade *legs, double *leg_fee, int nlegs, int side, double dq, bool all,
			   double fill, double fee, int64_t bar, int64_t ts, BtExitReason reason,
			   BtLegEmit emit, void *ctx)
{
	double		left = dq;
	int			closed = 0;

	/* (a remainder below 1e-12 of the order is rounding, not a sale) */
	while (closed < nlegs && (all || left > 1e-12 * dq))
	{
		BtTrade    *leg = &legs[closed];
		BtTrade		t = *leg;
		double		ql = leg->quantity;
		double		take = all || left >= ql ? ql : left;
		double		xfee = take == dq ? fee : fee * (take / dq);
		double		efee = take >= ql ? leg_fee[closed] : leg_fee[closed] * (take / ql);

		t.quantity = take;
		t.exit_bar = bar;
		t.exit_ts = ts;
		t.exit_price = fill;
		t.commission = efee + xfee;
		t.pnl = side * (fill - t.entry_price) * take - efee - xfee;
		t.return_pct = t.pnl / (t.entry_price * take) * 100.0;
		t.exit_reason = reason;
		t.is_open = false;
		emit(ctx, &t, closed);
		left -= take;
		if (take >= ql)
			closed++;
		else
		{
			leg->quantity = ql - take;
			leg_fee[closed] -= efee;
			left = 0;
		}
	}
	if (closed > 0)
	{
		memmove(legs, legs + closed, (size_t) (nlegs - closed) * sizeof(BtTrade));
		memmove(leg_fee, leg_fee + closed, (size_t) (nlegs - closed) * sizeof(double));
	}
	return nlegs - closed;
}

/*
 * bt_legs_add
 *		A fill of q at `fill` (costs `fee`) on bar `bar` at ts, on side, as a
 *		new leg after legs[0..nlegs-1]; when nlegs is already `cap` (>= 1) it
 *		joins the newest leg at their mean entry price.  Returns the legs now
 *		held.
 */
int
bt_legs_add(BtTrade *legs, double *leg_fee, int nlegs, int cap, int side, int64_t bar,
			int64_t ts, double fill, double q, double fee)
{
	BtTrade    *leg;

	if (nlegs >= cap)
	{
		leg = &legs[nlegs - 1];
		leg->entry_price = (leg->entry_price * leg->quantity + fill * q) / (leg->quantity + q);
		leg->quantity += q;
		leg_fee[nlegs - 1] += fee;
		return nlegs;
	}
	leg = &legs[nlegs];
	leg_fee[nlegs] = fee;
	memset(leg, 0, sizeof(*leg));
	leg->side = side;
	leg->entry_bar = bar;
	leg->entry_ts = ts;
	leg->entry_price = fill;
	leg->quantity = q;
	return nlegs + 1;
}

/*
 * bt_legs_entry
 *		The entry price stops are measured from: the leg's, or with several
 *		legs (nlegs >= 1) their mean weighted by quantity.
 */
double
bt_legs_entry(const BtTrade *legs, int nlegs)
{
	double		qe = 0,
				q = 0;

	if (nlegs == 1)
		return legs[0].entry_price;
	for (int k = 0; k < nlegs; k++)
	{
		qe += legs[k].quantity * legs[k].entry_price;
		q += legs[k].quantity;
	}
	return qe / q;
}

/*
 * bt_leg_open_trade
 *		The open trade row of a leg still held at the end: marked to market
 *		at the last close `close` of bar `bar` at ts, with its costs so far.
 */
BtTrade
bt_leg_open_trade(const BtTrade *leg, double fee, int64_t bar, int64_t ts, double close)
{
	BtTrade		t = *leg;
	double		q = t.quantity;

	t.exit_bar = bar;
	t.exit_ts = ts;
	t.exit_price = close;
	t.commission = fee;
	t.pnl = t.side * (t.exit_price - t.entry_price) * q - fee;
	t.return_pct = t.pnl / (t.entry_price * q) * 100.0;
	t.exit_reason = BT_EXIT_END;
	t.is_open = true;
	return t;
}
