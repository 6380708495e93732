/*-------------------------------------------------------------------------
 *
 * costs.c
 *	  The cost model shared by the single-symbol and the portfolio
 *	  simulators: the costs of one order, the fill price after slippage, and
 *	  the largest quantity a budget buys with its costs (README, "Costs and
 *	  sizing").
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/costs.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "bt_internal.h"

/* Whether stamp duty applies to an order on `side` (> 0 buy) */
static inline bool
stamped(const BtSimParams *p, int side)
{
	return p->stamp_duty_on == BT_STAMP_BOTH ||
		(side > 0 ? p->stamp_duty_on == BT_STAMP_BUY : p->stamp_duty_on == BT_STAMP_SELL);
}

/*
 * bt_sim_order_cost
 *		Costs of one order of q units at fill price px on the buy (side > 0)
 *		or sell side: the commission (commission * notional +
 *		commission_per_share * q, at least commission_min, at most
 *		commission_max when that is set), plus commission_fixed, plus stamp
 *		duty on the configured side.
 */
double
bt_sim_order_cost(const BtSimParams *p, double q, double px, int side)
{
	double		notional = q * px;
	double		c = 0.0;

	if (p->commission > 0 || p->commission_min > 0 || p->commission_per_share > 0)
	{
		c = notional * p->commission + q * p->commission_per_share;
		if (c < p->commission_min)
			c = p->commission_min;
		if (p->commission_max > 0 && c > p->commission_max)
			c = p->commission_max;
	}
	c += p->commission_fixed;
	if (p->stamp_duty > 0 && stamped(p, side))
		c += notional * p->stamp_duty;
	return c;
}

/*
 * bt_sim_slipped
 *		The fill price of an order on `side` at raw price px: slippage_bps
 *		and half the spread move it against the trader (a spread in bps adds
 *		to the slippage; one in price units is added after it).  A sell never
 *		fills below 0.
 */
double
bt_sim_slipped(const BtSimParams *p, double px, int side)
{
	double		bps = p->slippage_bps;
	double		f;

	if (p->spread > 0 && p->spread_unit == BT_SPREAD_BPS)
		bps += 0.5 * p->spread;
	f = bps > 0 ? px * (1.0 + side * bps * 1e-4) : px;
	if (p->spread > 0 && p->spread_unit == BT_SPREAD_PRICE)
	{
		f += side * 0.5 * p->spread;
		if (f < 0)
			f = 0;
	}
	return f;
}

/*
 * bt_sim_size_order
 *		Largest quantity whose notional plus costs fits in budget at fill
 *		price px, in whole lots unless fractional.  Returns 0 when not even
 *		one lot fits.
 */
double
bt_sim_size_order(const BtSimParams *p, double budget, double px, int side)
{
	double		stamp = stamped(p, side) ? p->stamp_duty : 0.0;
	double		q,
				c;

	if (!(budget > 0) || !(px > 0))
		return 0;
	/* the proportional and per-share commission applies... */
	q = (budget - p->commission_fixed) / (px * (1.0 + p->commission + stamp) +
										  p->commission_per_share);
	c = q * px * p->commission + q * p->commission_per_share;
	/* ...unless the minimum or the maximum does */
	if (c < p->commission_min)
		q = (budget - p->commission_fixed - p->commission_min) / (px * (1.0 + stamp));
	else if (p->commission_max > 0 && c > p->commission_max)
		q = (budget - p->commission_fixed - p->commission_max) / (px * (1.0 + stamp));
	if (!p->fractional)
		q = floor(q / p->lot_size) * p->lot_size;
	/* guard against rounding: never spend more than the budget */
	for (int i = 0; i < 4 && q > 0 && q * px + bt_sim_order_cost(p, q, px, side) > budget; i++)
		q = p->fractional ? q * (1.0 - 1e-12) : q - p->lot_size;
	return q > 0 ? q : 0;
}

/*
 * bt_sim_borrow_fee
 *		The borrow fee of a short of q units marked at px for one bar:
 *		borrow_rate / bars_per_year of its value.
 */
double
bt_sim_borrow_fee(const BtSimParams *p, double q, double px, double bars_per_year)
{
	return p->borrow_rate * q * px / bars_per_year;
}
