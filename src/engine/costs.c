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

/* Costs of one order of `notional` on the buy (side > 0) or sell side */
double
bt_sim_order_cost(const BtSimParams *p, double notional, int side)
{
	double		c = 0.0;

	if (p->commission > 0 || p->commission_min > 0)
	{
		c = notional * p->commission;
		if (c < p->commission_min)
			c = p->commission_min;
	}
	c += p->commission_fixed;
	if (p->stamp_duty > 0 &&
		(p->stamp_duty_on == BT_STAMP_BOTH ||
		 (side > 0 ? p->stamp_duty_on == BT_STAMP_BUY : p->stamp_duty_on == BT_STAMP_SELL)))
		c += notional * p->stamp_duty;
	return c;
}

/* The fill price of an order on `side` at raw price `px`, after slippage */
double
bt_sim_slipped(const BtSimParams *p, double px, int side)
{
	return p->slippage_bps > 0 ? px * (1.0 + side * p->slippage_bps * 1e-4) : px;
}

/*
 * Largest quantity whose notional plus costs fits in budget, in whole lots
 * unless fractional.  Returns 0 when not even one lot fits.
 */
double
bt_sim_size_order(const BtSimParams *p, double budget, double px, int side)
{
	double		stamp = (p->stamp_duty_on == BT_STAMP_BOTH ||
						 (side > 0 ? p->stamp_duty_on == BT_STAMP_BUY :
						  p->stamp_duty_on == BT_STAMP_SELL)) ? p->stamp_duty : 0.0;
	double		q;

	if (!(budget > 0) || !(px > 0))
		return 0;
	/* proportional commission applies... */
	q = (budget - p->commission_fixed) / (px * (1.0 + p->commission + stamp));
	/* ...unless the minimum commission does */
	if (q * px * p->commission < p->commission_min)
		q = (budget - p->commission_fixed - p->commission_min) / (px * (1.0 + stamp));
	if (!p->fractional)
		q = floor(q / p->lot_size) * p->lot_size;
	/* guard against rounding: never spend more than the budget */
	for (int i = 0; i < 4 && q > 0 && q * px + bt_sim_order_cost(p, q * px, side) > budget; i++)
		q = p->fractional ? q * (1.0 - 1e-12) : q - p->lot_size;
	return q > 0 ? q : 0;
}
