/*-------------------------------------------------------------------------
 *
 * sizing.c
 *	  The quantity of an entry order under each sizing mode, shared by the
 *	  single-symbol and the portfolio simulators (README, "Costs and
 *	  sizing"):
 *	- "fraction": the largest quantity whose notional plus costs fits in the
 *	  budget (size * leverage * equity; a portfolio's allocation);
 *	- "quantity": order_quantity units, rounded down to whole lots, or
 *	  nothing if they and their costs exceed the buying power;
 *	- "value": the largest quantity whose notional plus costs fits in
 *	  order_value, or nothing if order_value exceeds the buying power;
 *	- "risk": risk_fraction * equity / distance units, rounded down to
 *	  whole lots, where distance = risk_atr * ATR at the decision bar, or
 *	  stop_loss * fill price; at most what "fraction" buys.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sizing.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "bt_internal.h"

/* q rounded down to whole lots, unless fractional */
static double
whole_lots(const BtSimParams *p, double q)
{
	return p->fractional ? q : floor(q / p->lot_size) * p->lot_size;
}

/*
 * bt_entry_quantity
 *		The quantity (> 0) of an entry of the order described by e under p's
 *		sizing mode, or 0 when it cannot be filled.  *wanted gets the cost
 *		(notional plus costs) of the smallest order the mode would have
 *		placed, for the caller's diagnostics of unfilled entries, and
 *		*had the cash that order was measured against.
 */
double
bt_entry_quantity(const BtSimParams *p, const BtEntrySize *e, double *wanted, double *had)
{
	double		lot = p->fractional ? 0.0 : p->lot_size;
	double		q;

	*had = e->budget;
	switch (p->sizing)
	{
		case BT_SIZING_QUANTITY:
			q = whole_lots(p, p->order_quantity);
			*had = e->power;
			*wanted = q * e->px + bt_sim_order_cost(p, q, e->px, e->side);
			return q > 0 && *wanted <= e->power ? q : 0;
		case BT_SIZING_VALUE:
			*had = e->power;
			if (p->order_value > e->power)
			{
				*wanted = p->order_value;
				return 0;
			}
			q = bt_sim_size_order(p, p->order_value, e->px, e->side);
			break;
		case BT_SIZING_RISK:
			{
				double		dist = p->risk_atr > 0 ? p->risk_atr * e->atr :
					p->stop_loss * e->px;
				double		cap = bt_sim_size_order(p, e->budget, e->px, e->side);

				if (!(dist > 0))
				{
					/* no ATR yet at the decision bar: no entry, not a lack of cash */
					*wanted = NAN;
					return 0;
				}
				q = whole_lots(p, p->risk_fraction * e->equity / dist);
				if (q > cap)
					q = cap;
			}
			break;
		default:
			q = bt_sim_size_order(p, e->budget, e->px, e->side);
			break;
	}
	if (!(q > 0))
		*wanted = lot * e->px + bt_sim_order_cost(p, lot, e->px, e->side);
	return q > 0 ? q : 0;
}

/*
 * bt_entry_quantity_units
 *		The quantity of `units` (> 0) units of size: bt_entry_quantity for one
 *		unit; else the unit's quantity (as if the buying power were
 *		unlimited) times units, rounded down to whole lots, then as much of
 *		it as fits the buying power for sizing "fraction" and "risk", or
 *		nothing when it does not fit for "quantity" and "value".
 */
double
bt_entry_quantity_units(const BtSimParams *p, const BtEntrySize *e, double units,
						double *wanted, double *had)
{
	BtEntrySize unl = *e;
	double		q;

	if (units == 1)
		return bt_entry_quantity(p, e, wanted, had);
	unl.power = INFINITY;
	unl.budget = e->unit;
	q = bt_entry_quantity(p, &unl, wanted, had);
	*had = e->power;
	if (!(q > 0))
		return 0;
	q = whole_lots(p, q * units);
	*wanted = q * e->px + bt_sim_order_cost(p, q, e->px, e->side);
	if (q > 0 && *wanted <= e->power)
		return q;
	if (p->sizing == BT_SIZING_FRACTION || p->sizing == BT_SIZING_RISK)
	{
		double		fit = bt_sim_size_order(p, e->power, e->px, e->side);

		return fit < q ? fit : q;
	}
	return 0;
}

/*
 * bt_target_units
 *		The units of size a decision for side dir (1, -1) on bar dbar targets
 *		for a position on side cur (1, -1, 0) at `level` units: the signal
 *		strategy's |exposure[dbar]| x pyramiding (exposure NULL: another
 *		strategy); else one more unit than held on the held side (at most
 *		pyramiding), one unit from flat or on the other side.
 */
double
bt_target_units(const BtSimParams *p, const double *exposure, int64_t dbar, double level,
				int dir, int cur)
{
	if (exposure)
		return fabs(exposure[dbar]) * p->pyramiding;
	if (dir == cur)
		return level + 1 <= p->pyramiding ? level + 1 : level;
	return 1;
}

/*
 * bt_scale_out_quantity
 *		The quantity a scale-out from `level` to `units` (0 < units < level)
 *		sells of the q held: that share of it, in whole lots unless
 *		fractional (at least q: the whole position).
 */
double
bt_scale_out_quantity(const BtSimParams *p, double q, double units, double level)
{
	double		dq = q * (1.0 - units / level);

	return p->fractional ? dq : floor(dq / p->lot_size) * p->lot_size;
}
