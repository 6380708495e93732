/*-------------------------------------------------------------------------
 *
 * orders.c
 *	  Limit and stop entry orders (README, "The fill contract"): an entry
 *	  decided on bar t's close becomes an order at a level set from that
 *	  close, which fills on the first of bars t+1 .. t+valid_bars whose
 *	  range reaches it, at the level, or at the open when the bar opens
 *	  beyond it (a gap through the level), and is cancelled after them.
 *	  Never on bar t's own prices, whatever the fill mode.
 *
 *	  buy limit, sell-short stop:	level = close_t * (1 - entry_offset),
 *		fills when low <= level, at min(open, level);
 *	  buy stop, sell-short limit:	level = close_t * (1 + entry_offset),
 *		fills when high >= level, at max(open, level).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/orders.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "bt_internal.h"

/* Whether an order on `side` of this kind waits for the price to fall to its level */
static inline bool
fills_below(BtEntry kind, int side)
{
	return (kind == BT_ENTRY_LIMIT) == (side > 0);
}

/*
 * bt_order_arm
 *		Make o an entry order on `side` decided on bar dbar, whose close is
 *		`close`: its level, and the last bar it may fill on.
 */
void
bt_order_arm(const BtSimParams *p, BtEntryOrder *o, int side, int64_t dbar, double close)
{
	o->side = side;
	o->dbar = dbar;
	o->last = dbar + p->valid_bars;
	o->level = fills_below(p->entry, side) ? close * (1.0 - p->entry_offset) :
		close * (1.0 + p->entry_offset);
}

/*
 * bt_order_fill_price
 *		The raw price order o fills at on a bar with this open, high and low
 *		(a bar after its decision bar, the caller ensures), or NaN when the
 *		bar does not reach its level.
 */
double
bt_order_fill_price(const BtSimParams *p, const BtEntryOrder *o, double open, double high,
					double low)
{
	if (fills_below(p->entry, o->side))
		return low <= o->level ? (open < o->level ? open : o->level) : NAN;
	return high >= o->level ? (open > o->level ? open : o->level) : NAN;
}

/*
 * bt_order_on_bar
 *		Waiting order o (o->side != 0) on bar `bar` after its decision bar
 *		(the caller ensures): the raw price it fills at on this bar's range,
 *		the order then done (o->side 0, the caller enters on that side);
 *		else NaN, and the order is cancelled if this was its last bar.
 */
double
bt_order_on_bar(const BtSimParams *p, BtEntryOrder *o, int64_t bar, double open, double high,
				double low)
{
	double		px = bt_order_fill_price(p, o, open, high, low);

	if (!isnan(px) || bar >= o->last)
		o->side = 0;
	return px;
}
