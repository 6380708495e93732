/*-------------------------------------------------------------------------
 *
 * analytics.c
 *	  Trade analytics computed after a simulation: each trade's maximum
 *	  adverse and favourable excursion (MAE/MFE) from the bars it was open
 *	  on.
 *
 * Which prices a trade "saw" (README, "backtest_trades columns"):
 *	- its entry fill price and its exit fill price;
 *	- the high and low of every bar it held from the bar's open to its
 *	  close: from the entry bar (entered at its open) or the bar after it
 *	  (entered at its close, fill = "close"), up to the exit bar when it
 *	  left at that bar's close (fill = "close" exits, a trade still open at
 *	  the end) or the bar before it otherwise;
 *	- the open of an exit bar it left after the open (a stop level inside
 *	  the bar; a next-open exit, whose raw price is that open): the rest of
 *	  that bar's range may have come after the exit;
 *	- for an entry inside its bar (a limit or stop order, entry_intrabar),
 *	  not that bar's range, which may have come before the fill (the
 *	  simulator's stops skip it too), but its close when the trade held it,
 *	  and the extreme beyond the order's level, which the price reached
 *	  through the level, after the fill: the low after a buy limit or a
 *	  sell stop, the high after a buy stop or a sell limit.
 * The entry price is one of the prices, so mae_pct <= 0 <= mfe_pct.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/analytics.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "bt_engine.h"

/* Did the trade leave at its exit bar's close (holding the whole bar)? */
static bool
exits_at_close(const BtTrade *t, BtFill fill)
{
	return t->is_open || (t->exit_reason == BT_EXIT_SIGNAL && fill == BT_FILL_CLOSE);
}

/*
 * bt_trade_excursions
 *		Fill mae_price, mfe_price, mae_pct and mfe_pct of each trade from the
 *		bars of s (see the file header).  Trades must be a run's on s (bar
 *		numbers into s).
 */
void
bt_trade_excursions(const BtSeries *s, const BtSimParams *p, BtTrade *trades, int64_t ntrades)
{
	for (int64_t k = 0; k < ntrades; k++)
	{
		BtTrade    *t = &trades[k];
		double		lo = t->entry_price < t->exit_price ? t->entry_price : t->exit_price;
		double		hi = t->entry_price < t->exit_price ? t->exit_price : t->entry_price;
		bool		whole_entry_bar = p->fill == BT_FILL_OPEN && !t->entry_intrabar;
		int64_t		first = whole_entry_bar ? t->entry_bar : t->entry_bar + 1;
		int64_t		last = exits_at_close(t, p->fill) ? t->exit_bar : t->exit_bar - 1;

		for (int64_t i = first; i <= last; i++)
		{
			if (s->low[i] < lo)
				lo = s->low[i];
			if (s->high[i] > hi)
				hi = s->high[i];
		}
		if (last < t->exit_bar)
		{
			/*
			 * left during its exit bar, which it held from the open (an
			 * entry at a close or inside a bar leaves at the earliest
			 * during the next bar)
			 */
			double		o = s->open[t->exit_bar];

			if (o < lo)
				lo = o;
			if (o > hi)
				hi = o;
		}
		if (t->entry_intrabar && (t->exit_bar > t->entry_bar || t->is_open))
		{
			/* held the entry bar from the fill to its close */
			int64_t		e = t->entry_bar;
			bool		below = (p->entry == BT_ENTRY_LIMIT) == (t->side > 0);
			double		x = below ? s->low[e] : s->high[e];

			lo = fmin(lo, fmin(s->close[e], x));
			hi = fmax(hi, fmax(s->close[e], x));
		}
		t->mae_price = t->side > 0 ? lo : hi;
		t->mfe_price = t->side > 0 ? hi : lo;
		t->mae_pct = t->side * (t->mae_price - t->entry_price) / t->entry_price * 100.0;
		t->mfe_pct = t->side * (t->mfe_price - t->entry_price) / t->entry_price * 100.0;
	}
}
