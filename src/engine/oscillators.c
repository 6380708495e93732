/*-------------------------------------------------------------------------
 *
 * oscillators.c
 *	  The indicators beyond moving averages: RSI, MACD, Bollinger Bands,
 *	  Stochastic, KDJ, ATR, Donchian channel, OBV and ROC, and the rolling
 *	  highest-high / lowest-low the channel-type ones share.  Conventions:
 *	  see bt_kernels.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/oscillators.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bt_engine.h"
#include "bt_kernels.h"

/* ------------------------------------------------------------------------
 * Rolling extremes
 * ------------------------------------------------------------------------
 */

/*
 * rolling_extremes
 *		hh[t] = max(high[t-period+1..t]) and ll[t] = min(low[...]), NaN before
 *		the first full window and on windows holding a non-finite value.
 *
 *		van Herk / Gil-Werman: cut the series into blocks of `period` bars;
 *		a window is the tail of one block plus the head of the next, so its
 *		extreme is max(suffix max of the previous block, running max of the
 *		current one).  Three comparisons per bar, no data-dependent branch
 *		(about ten times faster than a monotonic deque, whose pops
 *		mispredict), O(n) in the worst case.  Scratch: the previous block's
 *		suffix extremes, 2 * period doubles.  Returns false (outputs
 *		untouched) if that cannot be allocated.  A non-finite value can only
 *		disturb extremes of windows that contain it, which are NaN anyway.
 */
static bool
rolling_extremes(const double *high, const double *low, int64_t n, int period,
				 double *hh, double *ll)
{
	const int64_t p = period;
	double	   *suf_h,
			   *suf_l;
	int64_t		bad_h = -1,
				bad_l = -1;

	suf_h = malloc(2 * (size_t) p * sizeof(double));
	if (suf_h == NULL)
		return false;
	suf_l = suf_h + p;

	for (int64_t b = 0; b < n; b += p)
	{
		int64_t		e = (n - b > p) ? b + p : n;
		double		run_h = high[b];
		double		run_l = low[b];

		for (int64_t t = b; t < e; t++)
		{
			double		h = high[t];
			double		l = low[t];
			int64_t		i = t - b + 1;	/* where the window starts in suf_* */
			int64_t		start = t - p + 1;
			double		wh,
						wl;

			if (!isfinite(h))
				bad_h = t;
			if (!isfinite(l))
				bad_l = t;
			run_h = (h > run_h) ? h : run_h;
			run_l = (l < run_l) ? l : run_l;
			if (start < 0)
			{
				/* before the first full window (first block only) */
				hh[t] = ll[t] = NAN;
				continue;
			}
			if (i == p)
			{
				/* the window is exactly this block */
				wh = run_h;
				wl = run_l;
			}
			else
			{
				wh = (suf_h[i] > run_h) ? suf_h[i] : run_h;
				wl = (suf_l[i] < run_l) ? suf_l[i] : run_l;
			}
			hh[t] = (bad_h < start) ? wh : NAN;
			ll[t] = (bad_l < start) ? wl : NAN;
		}

		/* suffix extremes of this block, for the windows ending in the next */
		if (e - b == p)
		{
			double		mh = high[e - 1];
			double		ml = low[e - 1];

			suf_h[p - 1] = mh;
			suf_l[p - 1] = ml;
			for (int64_t i = p - 2; i >= 0; i--)
			{
				mh = (high[b + i] > mh) ? high[b + i] : mh;
				ml = (low[b + i] < ml) ? low[b + i] : ml;
				suf_h[i] = mh;
				suf_l[i] = ml;
			}
		}
	}

	free(suf_h);
	return true;
}

/* ------------------------------------------------------------------------
 * Oscillators and bands
 * ------------------------------------------------------------------------
 */

/*
 * bt_rsi
 *		Wilder's RSI, 0-100: AU and AD are Wilder EMAs (alpha = 1/period) of
 *		the up and down moves, seeded with the mean of the first `period`
 *		moves (the first bar has no move).  rsi = 100 * AU / (AU + AD); NaN
 *		when AU + AD == 0 (no move since the start).
 */
void
bt_rsi(const double *close, int64_t n, int period, double *out)
{
	EmaState	up,
				down;

	if (n <= 0 || out == NULL)
		return;
	if (close == NULL || period <= 0 || period >= n)
	{
		fill_nan(out, n);
		return;
	}
	ema_init(&up, period, 1.0 / period);
	ema_init(&down, period, 1.0 / period);

	out[0] = NAN;
	for (int64_t t = 1; t < n; t++)
	{
		double		delta = close[t] - close[t - 1];
		double		au,
					ad;

		if (!isfinite(delta))
		{
			out[t] = NAN;
			continue;
		}
		au = ema_step(&up, delta > 0.0 ? delta : 0.0);
		ad = ema_step(&down, delta < 0.0 ? -delta : 0.0);
		out[t] = (isnan(au) || !(au + ad > 0.0)) ? NAN : 100.0 * au / (au + ad);
	}
}

/*
 * bt_macd
 *		MACD in price units: macd = EMA(fast) - EMA(slow) of close, signal =
 *		EMA(macd, signal) seeded from macd's first defined value, histogram =
 *		macd - signal.  hist doubles as scratch for the slow EMA.
 */
void
bt_macd(const double *close, int64_t n, int fast, int slow, int signal,
		double *macd, double *sig, double *hist)
{
	if (n <= 0 || macd == NULL || sig == NULL || hist == NULL)
	{
		if (n > 0)
		{
			fill_nan(macd, n);
			fill_nan(sig, n);
			fill_nan(hist, n);
		}
		return;
	}
	if (close == NULL || fast <= 0 || slow <= 0 || signal <= 0)
	{
		fill_nan(macd, n);
		fill_nan(sig, n);
		fill_nan(hist, n);
		return;
	}

	bt_ema(close, n, fast, macd);
	bt_ema(close, n, slow, hist);
	for (int64_t t = 0; t < n; t++)
		macd[t] = macd[t] - hist[t];	/* NaN while either is */
	bt_ema(macd, n, signal, sig);
	for (int64_t t = 0; t < n; t++)
		hist[t] = macd[t] - sig[t];
}

/*
 * bt_bbands
 *		Bollinger Bands on close: middle = SMA, bands = middle -/+ k * sigma
 *		with the population standard deviation of the window.  sigma comes
 *		from running compensated sums of d = x - K and d*d for a shift K that
 *		is reset to the current close every `period` bars (the sums are then
 *		rebuilt, O(1) amortised), so there is no catastrophic cancellation
 *		and no drift.
 *		A window of equal values has sigma = 0 exactly (lower = middle =
 *		upper).
 */
void
bt_bbands(const double *close, int64_t n, int period, double k,
		  double *lower, double *middle, double *upper)
{
	DDSum		s1 = {0.0, 0.0},
				s2 = {0.0, 0.0};
	double		shift = 0.0;
	int64_t		since_reset = 0;
	bool		valid = false;	/* s1, s2 hold the window ending at t-1 */
	int64_t		run = 0;		/* bit-equal neighbours ending at t */

	if (n <= 0 || lower == NULL || middle == NULL || upper == NULL)
	{
		if (n > 0)
		{
			fill_nan(lower, n);
			fill_nan(middle, n);
			fill_nan(upper, n);
		}
		return;
	}
	if (close == NULL || period <= 0 || period > n || !isfinite(k))
	{
		fill_nan(lower, n);
		fill_nan(middle, n);
		fill_nan(upper, n);
		return;
	}

	bt_sma(close, n, period, middle);

	for (int64_t t = 0; t < n; t++)
	{
		double		m = middle[t];
		double		var;
		double		sd;

		run = (t > 0 && dbits(close[t]) == dbits(close[t - 1])) ? run + 1 : 0;
		if (isnan(m))
		{
			lower[t] = upper[t] = NAN;
			valid = false;
			continue;
		}

		if (!valid || since_reset >= period)
		{
			/* new shift, sums rebuilt over the window */
			shift = close[t];
			s1.hi = s1.lo = s2.hi = s2.lo = 0.0;
			for (int64_t i = t - period + 1; i <= t; i++)
			{
				double		d = close[i] - shift;

				dd_add(&s1, d);
				dd_add(&s2, d * d);
				if ((t - i) % RENORM_EVERY == 0)
				{
					dd_norm(&s1);
					dd_norm(&s2);
				}
			}
			valid = true;
			since_reset = 0;
		}
		else
		{
			double		din = close[t] - shift;
			double		dout = close[t - period] - shift;

			dd_add(&s1, din);
			dd_add(&s1, -dout);
			dd_add(&s2, din * din);
			dd_add(&s2, -(dout * dout));
			if (++since_reset % RENORM_EVERY == 0)
			{
				dd_norm(&s1);
				dd_norm(&s2);
			}
		}

		if (run >= period - 1)
			var = 0.0;			/* a flat window */
		else
		{
			double		mean_d = dd_value(&s1) / period;

			var = dd_value(&s2) / period - mean_d * mean_d;
			if (!(var > 0.0))
				var = 0.0;
		}
		sd = sqrt(var);
		lower[t] = m - k * sd;
		upper[t] = m + k * sd;
	}
}

/*
 * bt_stoch
 *		Stochastic oscillator, 0-100 (TTR stoch with bounded windows):
 *		fastk = 100 * (C - LLV(L)) / (HHV(H) - LLV(L)), 50 when HHV == LLV;
 *		fastd = SMA(fastk, d_period), slowd = SMA(fastd, slow_period).
 *		fastd and slowd hold HHV and LLV until they are computed.
 */
void
bt_stoch(const double *high, const double *low, const double *close,
		 int64_t n, int k_period, int d_period, int slow_period,
		 double *fastk, double *fastd, double *slowd)
{
	if (n <= 0 || fastk == NULL || fastd == NULL || slowd == NULL)
	{
		if (n > 0)
		{
			fill_nan(fastk, n);
			fill_nan(fastd, n);
			fill_nan(slowd, n);
		}
		return;
	}
	if (high == NULL || low == NULL || close == NULL ||
		k_period <= 0 || d_period <= 0 || slow_period <= 0 || k_period > n ||
		!rolling_extremes(high, low, n, k_period, fastd, slowd))
	{
		fill_nan(fastk, n);
		fill_nan(fastd, n);
		fill_nan(slowd, n);
		return;
	}

	for (int64_t t = 0; t < n; t++)
	{
		double		hh = fastd[t];
		double		ll = slowd[t];

		if (isnan(hh) || isnan(ll) || !isfinite(close[t]))
			fastk[t] = NAN;
		else if (hh == ll)
			fastk[t] = 50.0;
		else
			fastk[t] = (close[t] - ll) / (hh - ll) * 100.0;
	}
	bt_sma(fastk, n, d_period, fastd);
	bt_sma(fastd, n, slow_period, slowd);
}

/*
 * bt_kdj
 *		KDJ: rsv = 100 * (C - LLV(L)) / (HHV(H) - LLV(L)) over `period` bars,
 *		K = ((m1-1) K + rsv) / m1 style smoothing with m1 = k_smooth, D the
 *		same over K with d_smooth, J = 3K - 2D.  K = D = 50 before the first
 *		full window.  On a flat window (HHV == LLV) rsv is undefined (NaN)
 *		and K carries over; D and J are updated from it.  d and j hold HHV
 *		and LLV until they are computed (each element is read before it is
 *		overwritten).
 */
void
bt_kdj(const double *high, const double *low, const double *close,
	   int64_t n, int period, int k_smooth, int d_smooth,
	   double *rsv, double *k, double *d, double *j)
{
	double		kv = 50.0,
				dv = 50.0;
	double		ka,
				kb,
				da,
				db;

	if (n <= 0 || rsv == NULL || k == NULL || d == NULL || j == NULL)
	{
		if (n > 0)
		{
			fill_nan(rsv, n);
			fill_nan(k, n);
			fill_nan(d, n);
			fill_nan(j, n);
		}
		return;
	}
	if (high == NULL || low == NULL || close == NULL ||
		period <= 0 || k_smooth <= 0 || d_smooth <= 0 || period > n ||
		!rolling_extremes(high, low, n, period, d, j))
	{
		fill_nan(rsv, n);
		fill_nan(k, n);
		fill_nan(d, n);
		fill_nan(j, n);
		return;
	}

	/* weights (m-1)/m and 1/m, e.g. 2/3 and 1/3 */
	kb = (double) (k_smooth - 1) / k_smooth;
	ka = 1.0 / k_smooth;
	db = (double) (d_smooth - 1) / d_smooth;
	da = 1.0 / d_smooth;

	for (int64_t t = 0; t < n; t++)
	{
		double		hh = d[t];
		double		ll = j[t];

		if (isnan(hh) || isnan(ll))
		{
			/* warm-up, or a window holding an undefined price */
			rsv[t] = k[t] = d[t] = j[t] = NAN;
			continue;
		}
		if (hh == ll || !isfinite(close[t]))
			rsv[t] = NAN;		/* K carries over */
		else
		{
			rsv[t] = (close[t] - ll) / (hh - ll) * 100.0;
			kv = kb * kv + ka * rsv[t];
		}
		dv = db * dv + da * kv;
		k[t] = kv;
		d[t] = dv;
		j[t] = 3.0 * kv - 2.0 * dv;
	}
}

/*
 * bt_atr
 *		Average true range: tr_t = max(H_t, C_{t-1}) - min(L_t, C_{t-1}) for
 *		t >= 1 (tr_0 undefined), atr = Wilder EMA (alpha = 1/period) of tr.
 */
void
bt_atr(const double *high, const double *low, const double *close,
	   int64_t n, int period, double *tr, double *atr)
{
	if (n <= 0 || tr == NULL || atr == NULL)
	{
		if (n > 0)
		{
			fill_nan(tr, n);
			fill_nan(atr, n);
		}
		return;
	}
	if (high == NULL || low == NULL || close == NULL || period <= 0)
	{
		fill_nan(tr, n);
		fill_nan(atr, n);
		return;
	}

	tr[0] = NAN;
	for (int64_t t = 1; t < n; t++)
	{
		double		pc = close[t - 1];
		double		h = high[t];
		double		l = low[t];

		if (!isfinite(pc) || !isfinite(h) || !isfinite(l))
			tr[t] = NAN;
		else
			tr[t] = (h > pc ? h : pc) - (l < pc ? l : pc);
	}
	bt_ema_alpha(tr, n, period, 1.0 / period, atr);
}

/*
 * bt_donchian
 *		Donchian channel: upper = HHV(high), lower = LLV(low) over `period`
 *		bars including the current one, mid = (upper + lower) / 2.
 */
void
bt_donchian(const double *high, const double *low, int64_t n, int period,
			double *upper, double *mid, double *lower)
{
	if (n <= 0 || upper == NULL || mid == NULL || lower == NULL)
	{
		if (n > 0)
		{
			fill_nan(upper, n);
			fill_nan(mid, n);
			fill_nan(lower, n);
		}
		return;
	}
	if (high == NULL || low == NULL || period <= 0 || period > n ||
		!rolling_extremes(high, low, n, period, upper, lower))
	{
		fill_nan(upper, n);
		fill_nan(mid, n);
		fill_nan(lower, n);
		return;
	}
	for (int64_t t = 0; t < n; t++)
		mid[t] = (upper[t] + lower[t]) / 2.0;
}

/*
 * bt_obv
 *		On-balance volume: OBV_0 = V_0, then + V_t on an up close, - V_t on a
 *		down close, unchanged on an equal close (exact comparison; a
 *		non-finite close counts as unchanged).  Exactly summed, so integer
 *		volumes give exact integers.
 */
void
bt_obv(const double *close, const double *volume, int64_t n, double *out)
{
	double		hi,
				lo = 0.0;

	if (n <= 0 || out == NULL)
		return;
	if (close == NULL || volume == NULL)
	{
		fill_nan(out, n);
		return;
	}

	hi = volume[0];
	out[0] = hi;
	for (int64_t t = 1; t < n; t++)
	{
		/* sign is -1, 0 or 1, so sign * volume is exact */
		double		sign = (double) ((close[t] > close[t - 1]) - (close[t] < close[t - 1]));
		double		e;

		two_sum(hi, sign * volume[t], &hi, &e);
		lo += e;
		if (t % RENORM_EVERY == 0)
			two_sum(hi, lo, &hi, &lo);
		out[t] = hi + lo;
	}
}

/*
 * bt_roc
 *		Rate of change in percent: 100 * (C_t / C_{t-period} - 1); NaN when
 *		undefined (warm-up, or a non-finite result).
 */
void
bt_roc(const double *close, int64_t n, int period, double *out)
{
	if (n <= 0 || out == NULL)
		return;
	if (close == NULL || period <= 0 || period >= n)
	{
		fill_nan(out, n);
		return;
	}
	for (int64_t t = 0; t < n; t++)
	{
		double		v = NAN;

		if (t >= period)
		{
			v = (close[t] / close[t - period] - 1.0) * 100.0;
			if (!isfinite(v))
				v = NAN;
		}
		out[t] = v;
	}
}
