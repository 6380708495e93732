/*-------------------------------------------------------------------------
 *
 * live_indicators.c
 *	  Live streams: one bar of each indicator, from its incremental state
 *	  and the rings of the last bars (the rules: live.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/live_indicators.c
 *
 *-------------------------------------------------------------------------
 */
#include "live_internal.h"

/*
 * ring_mean
 *		The SMA of the last p values of a ring, as bt_sma computes it: the
 *		exact sum over period, or the value itself on a window of bit-equal
 *		values; NaN before p values or over a non-finite one.
 */
static double
ring_mean(const double *ring, int64_t cap, int64_t nbars, int64_t p)
{
	DDSum		acc = {0.0, 0.0};
	double		newest;
	bool		equal = true;

	if (nbars < p)
		return NAN;
	newest = ring_get(ring, cap, nbars, 0);
	for (int64_t k = p - 1; k >= 0; k--)
	{
		double		x = ring_get(ring, cap, nbars, k);

		if (!isfinite(x))
			return NAN;
		equal = equal && dbits(x) == dbits(newest);
		dd_add(&acc, x);
		if (k % RENORM_EVERY == 0)
			dd_norm(&acc);
	}
	return equal ? newest : dd_value(&acc) / (double) p;
}

/* Highest high and lowest low of the last p bars (false before p bars) */
static bool
ring_extremes(BtLiveState *st, int64_t p, double *hh, double *ll)
{
	const double *high = col_ring(st, COL_HIGH);
	const double *low = col_ring(st, COL_LOW);
	double		h,
				l;

	if (st->nbars < p)
		return false;
	h = ring_get(high, st->window, st->nbars, 0);
	l = ring_get(low, st->window, st->nbars, 0);
	for (int64_t k = 1; k < p; k++)
	{
		double		hk = ring_get(high, st->window, st->nbars, k);
		double		lk = ring_get(low, st->window, st->nbars, k);

		h = hk > h ? hk : h;
		l = lk < l ? lk : l;
	}
	*hh = h;
	*ll = l;
	return true;
}

/* ------------------------------------------------------------------------
 * Indicators, one bar
 * ------------------------------------------------------------------------
 */

/* WMA of the last p closes, as bt_wma: exact weighted sum / (p (p + 1) / 2) */
static double
live_wma(BtLiveState *st, int64_t p)
{
	const double *close = col_ring(st, COL_CLOSE);
	DDSum		w = {0.0, 0.0};
	double		newest;
	bool		equal = true;

	if (st->nbars < p)
		return NAN;
	newest = ring_get(close, st->window, st->nbars, 0);
	for (int64_t i = 1; i <= p; i++)
	{
		double		x = ring_get(close, st->window, st->nbars, p - i);

		equal = equal && dbits(x) == dbits(newest);
		dd_add_scaled(&w, (double) i, x);
		if (i % RENORM_EVERY == 0)
			dd_norm(&w);
	}
	dd_norm(&w);
	return equal ? newest : dd_value(&w) / (double) (p * (p + 1) / 2);
}

/*
 * live_bbands
 *		Bollinger Bands on the newest bar as bt_bbands computes them: the
 *		deviations are taken from the shift bt_bbands uses on this bar (the
 *		close of the bar where it last rebuilt its sums: the first full
 *		window's last bar, then every period + 1 bars).
 */
static void
live_bbands(BtLiveState *st, int64_t p, double k, double *out)
{
	const double *close = col_ring(st, COL_CLOSE);
	int64_t		t = st->nbars - 1;
	double		m = ring_mean(close, st->window, st->nbars, p);
	double		shift,
				var;
	DDSum		s1 = {0.0, 0.0},
				s2 = {0.0, 0.0};
	bool		equal = true;
	double		newest;

	out[0] = out[1] = out[2] = NAN;
	if (isnan(m))
		return;
	shift = ring_get(close, st->window, st->nbars, (t - (p - 1)) % (p + 1));
	newest = ring_get(close, st->window, st->nbars, 0);
	for (int64_t b = p - 1; b >= 0; b--)
	{
		double		x = ring_get(close, st->window, st->nbars, b);
		double		d = x - shift;

		equal = equal && dbits(x) == dbits(newest);
		dd_add(&s1, d);
		dd_add(&s2, d * d);
		if (b % RENORM_EVERY == 0)
		{
			dd_norm(&s1);
			dd_norm(&s2);
		}
	}
	if (equal)
		var = 0.0;
	else
	{
		double		mean_d = dd_value(&s1) / (double) p;

		var = dd_value(&s2) / (double) p - mean_d * mean_d;
		if (!(var > 0.0))
			var = 0.0;
	}
	out[0] = m - k * sqrt(var);
	out[1] = m;
	out[2] = m + k * sqrt(var);
}

/* One bar of one indicator: li->out from the bar ring (the bar pushed) */
void
live_ind_step(BtLiveState *st, LiveInd *li)
{
	const BtIndicatorDef *d = bt_indicators[li->reg];
	const int64_t W = st->window;
	const int64_t n = st->nbars;
	const double *p = li->params;
	double		c = ring_get(col_ring(st, COL_CLOSE), W, n, 0);
	double		pc = n >= 2 ? ring_get(col_ring(st, COL_CLOSE), W, n, 1) : NAN;
	double	   *out = li->out;
	EmaState   *ema = (EmaState *) ((char *) st + st->ema_off) + (li->ema0 >= 0 ? li->ema0 : 0);
	double		hh,
				ll;

	memcpy(li->prev, li->out, sizeof(li->prev));
	for (int o = 0; o < BT_IND_MAX_OUTPUTS; o++)
		out[o] = NAN;

	if (d == &bt_ind_sma)
		out[0] = ring_mean(col_ring(st, COL_CLOSE), W, n, period(p[0]));
	else if (d == &bt_ind_ema)
		out[0] = ema_step(&ema[0], c);
	else if (d == &bt_ind_wma)
		out[0] = live_wma(st, period(p[0]));
	else if (d == &bt_ind_rsi)
	{
		if (n >= 2)
		{
			double		delta = c - pc;
			double		au = ema_step(&ema[0], delta > 0.0 ? delta : 0.0);
			double		ad = ema_step(&ema[1], delta < 0.0 ? -delta : 0.0);

			out[0] = (isnan(au) || !(au + ad > 0.0)) ? NAN : 100.0 * au / (au + ad);
		}
	}
	else if (d == &bt_ind_macd)
	{
		double		f = ema_step(&ema[0], c);
		double		s = ema_step(&ema[1], c);

		out[0] = f - s;
		out[1] = ema_step(&ema[2], out[0]);
		out[2] = out[0] - out[1];
	}
	else if (d == &bt_ind_bbands)
		live_bbands(st, period(p[0]), p[1], out);
	else if (d == &bt_ind_stoch)
	{
		double	   *rk = pool_of(st) + li->r1_off;
		double	   *rd = pool_of(st) + li->r2_off;
		int64_t		dp = period(p[1]),
					sp = period(p[2]);

		if (ring_extremes(st, period(p[0]), &hh, &ll))
			out[0] = hh == ll ? 50.0 : (c - ll) / (hh - ll) * 100.0;
		ring_put(rk, dp, n, out[0]);
		out[1] = ring_mean(rk, dp, n, dp);
		ring_put(rd, sp, n, out[1]);
		out[2] = ring_mean(rd, sp, n, sp);
	}
	else if (d == &bt_ind_kdj)
	{
		if (ring_extremes(st, period(p[0]), &hh, &ll))
		{
			double		ks = (double) period(p[1]),
						ds = (double) period(p[2]);
			double		kb = (double) (period(p[1]) - 1) / ks,
						ka = 1.0 / ks,
						db = (double) (period(p[2]) - 1) / ds,
						da = 1.0 / ds;

			if (hh != ll)
			{
				out[0] = (c - ll) / (hh - ll) * 100.0;
				li->a = kb * li->a + ka * out[0];
			}
			li->b = db * li->b + da * li->a;
			out[1] = li->a;
			out[2] = li->b;
			out[3] = 3.0 * li->a - 2.0 * li->b;
		}
	}
	else if (d == &bt_ind_atr)
	{
		if (n >= 2)
		{
			double		h = ring_get(col_ring(st, COL_HIGH), W, n, 0);
			double		l = ring_get(col_ring(st, COL_LOW), W, n, 0);

			out[0] = (h > pc ? h : pc) - (l < pc ? l : pc);
		}
		out[1] = ema_step(&ema[0], out[0]);
	}
	else if (d == &bt_ind_donchian)
	{
		if (ring_extremes(st, period(p[0]), &hh, &ll))
		{
			out[0] = hh;
			out[1] = (hh + ll) / 2.0;
			out[2] = ll;
		}
	}
	else if (d == &bt_ind_obv)
	{
		double		v = ring_get(col_ring(st, COL_VOLUME), W, n, 0);

		if (n == 1)
		{
			li->a = v;
			li->b = 0.0;
		}
		else
		{
			double		sign = (double) ((c > pc) - (c < pc));
			double		e;

			two_sum(li->a, sign * v, &li->a, &e);
			li->b += e;
			if ((n - 1) % RENORM_EVERY == 0)
				two_sum(li->a, li->b, &li->a, &li->b);
		}
		out[0] = li->a + li->b;
	}
	else if (d == &bt_ind_roc)
	{
		int64_t		per = period(p[0]);

		if (n > per)
		{
			double		v = (c / ring_get(col_ring(st, COL_CLOSE), W, n, per) - 1.0) * 100.0;

			out[0] = isfinite(v) ? v : NAN;
		}
	}
}
