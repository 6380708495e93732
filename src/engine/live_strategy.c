/*-------------------------------------------------------------------------
 *
 * live_strategy.c
 *	  Live streams: one bar of the strategy, from its lines (already
 *	  stepped) and the few values its batch function carries (live.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/live_strategy.c
 *
 *-------------------------------------------------------------------------
 */
#include "live_internal.h"

/* ------------------------------------------------------------------------
 * Strategies, one bar
 * ------------------------------------------------------------------------
 */

/* The crossing rule of cross_targets (strategies.c) on one bar */
static int8_t
cross_step(BtLiveState *st, double fast, double slow)
{
	int8_t		target = BT_KEEP;

	if (fast > slow)
	{
		if (st->last_side < 0)
			target = 1;
		st->last_side = 1;
	}
	else if (fast < slow)
	{
		if (st->last_side > 0)
			target = -1;
		st->last_side = -1;
	}
	return target;
}

/* The strategy's target on the bar pushed (its lines already stepped) */
int8_t
live_strategy_step(BtLiveState *st, const BtLiveBar *bar)
{
	const LiveInd *l0 = &st->ind[st->nind];
	const double *sp = st->sp;
	int8_t		target = BT_KEEP;

	switch ((LiveKind) st->kind)
	{
		case LK_NONE:
			break;
		case LK_MA_CROSS:
			target = cross_step(st, l0[0].out[0], l0[1].out[0]);
			break;
		case LK_MACD_CROSS:
			target = cross_step(st, l0->out[BT_MACD_OUT_MACD], l0->out[BT_MACD_OUT_SIGNAL]);
			break;
		case LK_RSI:
			{
				double		r = l0->out[0];

				target = r < sp[1] ? 1 : r > sp[2] ? -1 : BT_KEEP;
			}
			break;
		case LK_BOLLINGER:
			{
				double		lo = l0->out[BT_BBANDS_OUT_LOWER],
							mid = l0->out[BT_BBANDS_OUT_MIDDLE],
							hi = l0->out[BT_BBANDS_OUT_UPPER];
				double		c = bar->close;

				if (isnan(mid))
					break;
				if (c < lo)
					target = 1;
				else if (c > hi)
					target = -1;
				else if (sp[2] != 0 &&
						 ((st->boll_state > 0 && c >= mid) || (st->boll_state < 0 && c <= mid)))
					target = 0;
				if (target != BT_KEEP)
					st->boll_state = target;
			}
			break;
		case LK_KDJ:
			target = cross_step(st, l0->out[BT_KDJ_OUT_K], l0->out[BT_KDJ_OUT_D]);
			if (sp[3] != 0)
			{
				double		j = l0->out[BT_KDJ_OUT_J];

				if ((target == 1 && !(j < sp[4])) || (target == -1 && !(j > sp[5])))
					target = BT_KEEP;
			}
			break;
		case LK_DONCHIAN:
			if (st->nbars >= 2 && !isnan(l0->prev[BT_DONCHIAN_OUT_UPPER]))
			{
				if (bar->close > l0->prev[BT_DONCHIAN_OUT_UPPER])
					target = 1;
				else if (bar->close < l0->prev[BT_DONCHIAN_OUT_LOWER])
					target = -1;
			}
			break;
		case LK_HOLD:
			target = st->nbars == 1 ? 1 : BT_KEEP;
			break;
		case LK_SIGNAL:
			target = isnan(bar->signal) ? BT_KEEP : (int8_t) bar->signal;
			break;
	}
	return target;
}
