/*-------------------------------------------------------------------------
 *
 * indicators.c
 *	  Technical indicators of the engine (SMA, EMA, WMA, RSI, MACD, Bollinger
 *	  Bands, Stochastic, KDJ, ATR, Donchian channel, OBV, ROC) and the
 *	  indicator registry used by the SQL layer.
 *
 * Conventions (see test/data/golden/README.md, which the unit tests check
 * against TTR's values):
 *
 * - Every output is an array of n doubles; NaN means "no value" (warm-up
 *	 rows and undefined rows).  Invalid periods (<= 0) and windows longer
 *	 than the data give all-NaN outputs; n <= 0 writes nothing.  Outputs
 *	 must not alias inputs.
 * - Inputs are finite except where a caller feeds an indicator's own output
 *	 back in (MACD's signal line over the MACD line, the %D smoothing of
 *	 %K): such inputs may start with NaN, and window functions then start at
 *	 the first defined value.  A window containing a non-finite value gives
 *	 NaN; EMA-family functions skip non-finite inputs (NaN out, state kept).
 * - Windows include the current bar and are computed only when full.
 *	 EMA-family values are seeded with the mean of the first `period`
 *	 defined inputs (TTR's rule), then x*alpha + prev*(1 - alpha).
 * - Window sums are exact: a double-double (hi + lo) running sum updated
 *	 with error-free transformations (Knuth's TwoSum), so that hi + lo is
 *	 exactly the sum of the window as long as the window's values are
 *	 within ~2^25 / period of each other in magnitude (always, for prices;
 *	 beyond that the sums are still compensated, to ~2^-100 relative).
 *	 The mean is then fl(sum) / period, bit for bit what Python's
 *	 math.fsum(window) / period (backtrader) gives, with one exception: a
 *	 window whose values are all equal to c (bit for bit) gives exactly c.
 *	 fsum(k copies of c) / k is not always c (for about one 4-decimal price
 *	 in five it is one ulp off for k = 10 or 30); the exact rule is what
 *	 makes SMA(10) == SMA(30) on every flat stretch.  This needs IEEE
 *	 double arithmetic without excess precision (FLT_EVAL_METHOD 0, as on
 *	 x86-64 and arm64).
 * - Multiplications that feed the exact sums (WMA weights) are themselves
 *	 exact (one factor split in two halves), so the result does not depend
 *	 on whether the compiler contracts a*b+c into an FMA.
 * - Scales: oscillators 0-100, ROC in percent, MACD/ATR in price units.
 * - Scratch memory: the rolling highest-high / lowest-low buffers (Donchian,
 *	 Stochastic, KDJ; 2 * period doubles) are malloc'ed and freed inside the
 *	 function.  This is safe in the server because nothing called in
 *	 between can throw (longjmp).  If malloc fails, the outputs are all
 *	 NaN.  Nothing else allocates.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/indicators.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bt_engine.h"

/* Bars between two renormalisations of a lazily kept double-double sum */
#define RENORM_EVERY	4096

/* Bars per chunk of the SMA's fast loop (and between renormalisations) */
#define SMA_CHUNK		1024

/* A double-double running sum: the value is hi + lo, exactly */
typedef struct DDSum
{
	double		hi;
	double		lo;
} DDSum;

/* State of one EMA (seeding, then the recursion) */
typedef struct EmaState
{
	int			period;
	double		alpha;
	double		beta;			/* 1 - alpha */
	int64_t		count;			/* defined inputs taken into the seed */
	DDSum		seed;			/* their exact sum */
	double		first;			/* the first of them */
	bool		all_equal;		/* all of them equal to first */
	bool		seeded;
	double		value;
} EmaState;

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------
 */

/*
 * two_sum
 *		Knuth's TwoSum: *s + *e == a + b exactly, *s = fl(a + b).
 */
static inline void
two_sum(double a, double b, double *s, double *e)
{
	double		x = a + b;
	double		bb = x - a;

	*e = (a - (x - bb)) + (b - bb);
	*s = x;
}

/*
 * dd_add
 *		Add x to acc without renormalising (the caller renormalises now and
 *		then with dd_norm).
 */
static inline void
dd_add(DDSum *acc, double x)
{
	double		e;

	two_sum(acc->hi, x, &acc->hi, &e);
	acc->lo += e;
}

/*
 * dd_norm
 *		Renormalise acc: hi = fl(hi + lo), lo = the exact remainder.
 */
static inline void
dd_norm(DDSum *acc)
{
	two_sum(acc->hi, acc->lo, &acc->hi, &acc->lo);
}

/*
 * dd_value
 *		The sum rounded to a double (correctly rounded when acc is exact).
 */
static inline double
dd_value(const DDSum *acc)
{
	return acc->hi + acc->lo;
}

/*
 * split_high
 *		The value x with the low 27 bits of its significand cleared: at most
 *		26 significant bits, and x - split_high(x) is exact with at most 27.
 *		Bit manipulation, so no rounding mode or contraction can change it.
 */
static inline double
split_high(double x)
{
	uint64_t	bits;

	memcpy(&bits, &x, sizeof(bits));
	bits &= ~((UINT64_C(1) << 27) - 1);
	memcpy(&x, &bits, sizeof(x));
	return x;
}

/*
 * dd_add_scaled
 *		acc += w * x for an integer weight 0 < w < 2^26, exactly: both
 *		partial products w * high(x) and w * low(x) are representable.
 *		(Larger weights only make the two products rounded.)
 */
static inline void
dd_add_scaled(DDSum *acc, double w, double x)
{
	double		xh = split_high(x);

	dd_add(acc, w * xh);
	dd_add(acc, w * (x - xh));
}

/*
 * dbits
 *		The bit pattern of x.
 */
static inline uint64_t
dbits(double x)
{
	uint64_t	bits;

	memcpy(&bits, &x, sizeof(bits));
	return bits;
}

/*
 * fill_nan
 *		Set out[0..n-1] to NaN (out may be NULL).
 */
static void
fill_nan(double *out, int64_t n)
{
	if (out == NULL)
		return;
	for (int64_t i = 0; i < n; i++)
		out[i] = NAN;
}

/*
 * first_defined
 *		Index of the first finite x[i], or n when there is none.
 */
static int64_t
first_defined(const double *x, int64_t n)
{
	int64_t		i = 0;

	while (i < n && !isfinite(x[i]))
		i++;
	return i;
}

/*
 * ema_init
 *		Start an EMA of the given period and alpha (both already checked).
 */
static void
ema_init(EmaState *st, int period, double alpha)
{
	memset(st, 0, sizeof(*st));
	st->period = period;
	st->alpha = alpha;
	st->beta = 1.0 - alpha;
	st->all_equal = true;
	st->value = NAN;
}

/*
 * ema_step
 *		Feed one input to an EMA and return its value on that bar (NaN while
 *		seeding and on non-finite inputs, which are skipped).  The seed is
 *		the mean of the first `period` defined inputs, computed exactly as
 *		bt_sma computes its windows so that EMA == SMA on the seed bar.
 */
static inline double
ema_step(EmaState *st, double x)
{
	if (!isfinite(x))
		return NAN;
	if (st->seeded)
	{
		st->value = x * st->alpha + st->value * st->beta;
		return st->value;
	}
	if (st->count == 0)
		st->first = x;
	else if (dbits(x) != dbits(st->first))
		st->all_equal = false;
	dd_add(&st->seed, x);
	if (++st->count % RENORM_EVERY == 0)
		dd_norm(&st->seed);
	if (st->count < st->period)
		return NAN;
	st->seeded = true;
	st->value = st->all_equal ? st->first : dd_value(&st->seed) / st->period;
	return st->value;
}

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
 * Moving averages
 * ------------------------------------------------------------------------
 */

/*
 * sma_general
 *		SMA for any input: windows holding a non-finite value give NaN.  The
 *		exact sum is renormalised on every bar (slower; used only when the
 *		fast path meets a non-finite value after its start).
 */
static void
sma_general(const double *x, int64_t n, int period, double *out)
{
	DDSum		acc = {0.0, 0.0};
	int64_t		nbad = 0;
	int64_t		run = 0;		/* bit-equal neighbours ending at t */

	for (int64_t t = 0; t < n; t++)
	{
		double		xin = x[t];

		if (isfinite(xin))
			dd_add(&acc, xin);
		else
			nbad++;
		if (t >= period)
		{
			double		xout = x[t - period];

			if (isfinite(xout))
				dd_add(&acc, -xout);
			else
				nbad--;
		}
		dd_norm(&acc);

		run = (t > 0 && dbits(xin) == dbits(x[t - 1])) ? run + 1 : 0;
		if (t < period - 1 || nbad > 0)
			out[t] = NAN;
		else if (run >= period - 1)
			out[t] = xin;
		else
			out[t] = dd_value(&acc) / period;
	}
}

/*
 * sma_fast
 *		SMA from the first defined input f on, assuming no non-finite value
 *		after f.  The window sum S is kept as hi + lo exactly:
 *
 *		- d = xin - xout is exact when the two are within a factor of two of
 *		  each other (Sterbenz), which holds for prices a window apart; the bit
 *		  patterns tell cheaply (same sign, |bits difference| <= 2^52).
 *		- hi + e = hi + d exactly (TwoSum); lo += e is exact too as long as
 *		  the window sum fits in ~106 bits (see the file header).
 *
 *		The bars are done in chunks; a chunk in which some xin - xout is not
 *		provably exact is redone with a TwoSum for it as well (and the next
 *		chunk starts with that loop).  In the fast loop the only
 *		loop-carried dependencies are one addition on hi and one on lo, so
 *		the loop runs at about the speed of a plain running sum with a
 *		division.  Returns false if a non-finite value was met (it poisons
 *		hi or lo); out[] is then garbage and the caller falls back to
 *		sma_general.
 */
static bool
sma_fast(const double *restrict x, int64_t n, int64_t f, int period,
		 double *restrict out)
{
	const double dp = (double) period;
	const int64_t p = period;
	const uint64_t two = UINT64_C(1) << 52;
	double		hi = 0.0,
				lo = 0.0;
	int64_t		run = 0;		/* bit-equal neighbours ending at t */
	uint64_t	inexact = 0;	/* some xin - xout of the chunk may round */
	int64_t		t;

	for (t = 0; t < f + p - 1; t++)
		out[t] = NAN;

	/* the first window */
	for (t = f; t < f + p; t++)
	{
		double		e;

		two_sum(hi, x[t], &hi, &e);
		lo += e;
		run = (t > f && dbits(x[t]) == dbits(x[t - 1])) ? run + 1 : 0;
		if ((t - f) % SMA_CHUNK == SMA_CHUNK - 1)
			two_sum(hi, lo, &hi, &lo);
	}
	out[f + p - 1] = (run >= p - 1) ? x[f + p - 1] : (hi + lo) / dp;
	two_sum(hi, lo, &hi, &lo);

	/* slide it */
	while (t < n)
	{
		int64_t		end = (n - t > SMA_CHUNK) ? t + SMA_CHUNK : n;
		int64_t		t0 = t;
		int64_t		run0 = run;
		double		hi0 = hi,
					lo0 = lo;

		if (!inexact)
		{
			for (; t < end; t++)
			{
				double		xin = x[t];
				double		xout = x[t - p];
				uint64_t	bin = dbits(xin);
				double		d = xin - xout;
				double		e;

				inexact |= (uint64_t) (bin - dbits(xout) + two) > 2 * two;
				run = (bin == dbits(x[t - 1])) ? run + 1 : 0;
				two_sum(hi, d, &hi, &e);
				lo += e;
				out[t] = (run >= p - 1) ? xin : (hi + lo) / dp;
			}
		}

		if (inexact)
		{
			/*
			 * (Re)do the chunk with an exact xin - xout.  Whether the fast
			 * loop would have done is noted for the next chunk, so that
			 * series whose values are not within 2x bar to bar (oscillators)
			 * do not pay for both loops on every chunk.
			 */
			t = t0;
			run = run0;
			hi = hi0;
			lo = lo0;
			inexact = 0;
			for (; t < end; t++)
			{
				double		xin = x[t];
				double		xout = x[t - p];
				uint64_t	bin = dbits(xin);
				double		d,
							ed,
							e;

				inexact |= (uint64_t) (bin - dbits(xout) + two) > 2 * two;
				two_sum(xin, -xout, &d, &ed);
				two_sum(hi, d, &hi, &e);
				lo += e + ed;
				run = (bin == dbits(x[t - 1])) ? run + 1 : 0;
				out[t] = (run >= p - 1) ? xin : (hi + lo) / dp;
			}
		}
		two_sum(hi, lo, &hi, &lo);
	}

	return isfinite(hi) && isfinite(lo);
}

/*
 * bt_sma
 *		Simple moving average: the mean of the last `period` values, exactly
 *		summed (see the file header).  Starts at the first defined input.
 */
void
bt_sma(const double *x, int64_t n, int period, double *out)
{
	int64_t		f;

	if (n <= 0 || out == NULL)
		return;
	if (x == NULL || period <= 0 || period > n)
	{
		fill_nan(out, n);
		return;
	}
	f = first_defined(x, n);
	if (n - f < period)
	{
		fill_nan(out, n);
		return;
	}
	if (!sma_fast(x, n, f, period, out))
		sma_general(x, n, period, out);
}

/*
 * bt_ema_alpha
 *		EMA with smoothing alpha (0 < alpha <= 1), seeded on the bar of the
 *		period-th defined input with the mean of the first `period` of them.
 */
void
bt_ema_alpha(const double *x, int64_t n, int period, double alpha, double *out)
{
	EmaState	st;

	if (n <= 0 || out == NULL)
		return;
	if (x == NULL || period <= 0 || !(alpha > 0.0 && alpha <= 1.0))
	{
		fill_nan(out, n);
		return;
	}
	ema_init(&st, period, alpha);
	for (int64_t t = 0; t < n; t++)
		out[t] = ema_step(&st, x[t]);
}

/*
 * bt_ema
 *		Exponential moving average, alpha = 2 / (period + 1).
 */
void
bt_ema(const double *x, int64_t n, int period, double *out)
{
	if (n <= 0 || out == NULL)
		return;
	if (period <= 0)
	{
		fill_nan(out, n);
		return;
	}
	bt_ema_alpha(x, n, period, 2.0 / ((double) period + 1.0), out);
}

/*
 * wma_window
 *		Exact S = sum of x[end-period+1..end] and W = sum of i * x (i = 1 for
 *		the oldest bar, period for the newest), computed from scratch.
 */
static void
wma_window(const double *x, int64_t end, int period, DDSum *s, DDSum *w)
{
	int64_t		start = end - period + 1;

	s->hi = s->lo = w->hi = w->lo = 0.0;
	for (int64_t i = start; i <= end; i++)
	{
		dd_add(s, x[i]);
		dd_add_scaled(w, (double) (i - start + 1), x[i]);
		if ((i - start) % RENORM_EVERY == RENORM_EVERY - 1)
		{
			dd_norm(s);
			dd_norm(w);
		}
	}
	dd_norm(s);
	dd_norm(w);
}

/*
 * bt_wma
 *		Linearly weighted moving average (weights 1..period, newest heaviest),
 *		O(n): W_t = W_{t-1} + period * x_t - S_{t-1}, S the plain window sum,
 *		both kept exactly (for period < 2^26), and wma = fl(W) / (period *
 *		(period + 1) / 2); a window of equal values gives exactly that value,
 *		as in bt_sma.  A window holding a non-finite value gives NaN; the
 *		sums are rebuilt from scratch at the next full clean window.
 */
void
bt_wma(const double *x, int64_t n, int period, double *out)
{
	DDSum		s = {0.0, 0.0},
				w = {0.0, 0.0};
	double		dp;
	double		denom;
	int64_t		last_bad = -1;
	bool		valid = false;	/* s and w hold the window ending at t-1 */
	int64_t		since_norm = 0;
	int64_t		run = 0;		/* bit-equal neighbours ending at t */

	if (n <= 0 || out == NULL)
		return;
	if (x == NULL || period <= 0 || period > n)
	{
		fill_nan(out, n);
		return;
	}
	dp = (double) period;
	denom = (double) ((int64_t) period * ((int64_t) period + 1) / 2);

	for (int64_t t = 0; t < n; t++)
	{
		int64_t		start = t - period + 1;

		run = (t > 0 && dbits(x[t]) == dbits(x[t - 1])) ? run + 1 : 0;
		if (!isfinite(x[t]))
			last_bad = t;
		if (start < 0 || last_bad >= start)
		{
			out[t] = NAN;
			valid = false;
			continue;
		}
		if (!valid)
		{
			wma_window(x, t, period, &s, &w);
			valid = true;
			since_norm = 0;
		}
		else
		{
			double		xout = x[t - period];

			/* W += period * x_t - S_{t-1};  S += x_t - x_{t-period} */
			dd_add_scaled(&w, dp, x[t]);
			dd_add(&w, -s.hi);
			dd_add(&w, -s.lo);
			dd_add(&s, x[t]);
			dd_add(&s, -xout);
			if (++since_norm == RENORM_EVERY)
			{
				dd_norm(&s);
				dd_norm(&w);
				since_norm = 0;
			}
		}
		out[t] = (run >= period - 1) ? x[t] : dd_value(&w) / denom;
	}
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

/* ------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------
 */

/*
 * param_int
 *		A period parameter as an int; 0 (invalid, all-NaN output) when it is
 *		not in [1, INT_MAX] (callers validate first, this only keeps the
 *		conversion defined).
 */
static int
param_int(double v)
{
	if (!(v >= 1.0 && v <= (double) INT_MAX))
		return 0;
	return (int) v;
}

/* compute_sma: registry adapter for bt_sma */
static void
compute_sma(const BtSeries *s, const double *p, double **out)
{
	bt_sma(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_ema: registry adapter for bt_ema */
static void
compute_ema(const BtSeries *s, const double *p, double **out)
{
	bt_ema(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_wma: registry adapter for bt_wma */
static void
compute_wma(const BtSeries *s, const double *p, double **out)
{
	bt_wma(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_rsi: registry adapter for bt_rsi */
static void
compute_rsi(const BtSeries *s, const double *p, double **out)
{
	bt_rsi(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_macd: registry adapter for bt_macd */
static void
compute_macd(const BtSeries *s, const double *p, double **out)
{
	bt_macd(s->close, s->n, param_int(p[0]), param_int(p[1]), param_int(p[2]),
			out[0], out[1], out[2]);
}

/* compute_bbands: registry adapter for bt_bbands */
static void
compute_bbands(const BtSeries *s, const double *p, double **out)
{
	bt_bbands(s->close, s->n, param_int(p[0]), p[1], out[0], out[1], out[2]);
}

/* compute_stoch: registry adapter for bt_stoch */
static void
compute_stoch(const BtSeries *s, const double *p, double **out)
{
	bt_stoch(s->high, s->low, s->close, s->n,
			 param_int(p[0]), param_int(p[1]), param_int(p[2]),
			 out[0], out[1], out[2]);
}

/* compute_kdj: registry adapter for bt_kdj */
static void
compute_kdj(const BtSeries *s, const double *p, double **out)
{
	bt_kdj(s->high, s->low, s->close, s->n,
		   param_int(p[0]), param_int(p[1]), param_int(p[2]),
		   out[0], out[1], out[2], out[3]);
}

/* compute_atr: registry adapter for bt_atr */
static void
compute_atr(const BtSeries *s, const double *p, double **out)
{
	bt_atr(s->high, s->low, s->close, s->n, param_int(p[0]), out[0], out[1]);
}

/* compute_donchian: registry adapter for bt_donchian */
static void
compute_donchian(const BtSeries *s, const double *p, double **out)
{
	bt_donchian(s->high, s->low, s->n, param_int(p[0]), out[0], out[1], out[2]);
}

/* compute_obv: registry adapter for bt_obv */
static void
compute_obv(const BtSeries *s, const double *p, double **out)
{
	(void) p;
	bt_obv(s->close, s->volume, s->n, out[0]);
}

/* compute_roc: registry adapter for bt_roc */
static void
compute_roc(const BtSeries *s, const double *p, double **out)
{
	bt_roc(s->close, s->n, param_int(p[0]), out[0]);
}

/* An integer period parameter: {name, INT, default, 1, 100000, ...} */
#define PERIOD_PARAM(name, def, doc) \
	{(name), BT_PARAM_INT, (def), 1, 100000, false, {NULL}, (doc)}

const BtIndicatorDef bt_indicators[] = {
	{"sma", BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 20, "Number of bars in the window.")},
		1, {"value"},
		"Simple moving average of close over `period` bars.",
	compute_sma},
	{"ema", BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 20, "Span; alpha = 2 / (period + 1).")},
		1, {"value"},
		"Exponential moving average of close, seeded with the SMA of the first `period` closes.",
	compute_ema},
	{"wma", BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 20, "Number of bars; weights 1..period, newest heaviest.")},
		1, {"value"},
		"Linearly weighted moving average of close.",
	compute_wma},
	{"rsi", BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 14, "Wilder smoothing period (alpha = 1 / period).")},
		1, {"value"},
		"Wilder's relative strength index of close, 0-100.",
	compute_rsi},
	{"macd", BT_IN_CLOSE,
		3, {PERIOD_PARAM("fast", 12, "Period of the fast EMA."),
			PERIOD_PARAM("slow", 26, "Period of the slow EMA."),
		PERIOD_PARAM("signal", 9, "Period of the signal line's EMA of the MACD line.")},
		3, {"macd", "signal", "histogram"},
		"MACD line (fast EMA - slow EMA of close), its signal line and histogram, in price units.",
	compute_macd},
	{"bbands", BT_IN_CLOSE,
		2, {PERIOD_PARAM("period", 20, "Number of bars in the window."),
		{"k", BT_PARAM_NUM, 2.0, 0, 100, true, {NULL}, "Band width in population standard deviations."}},
		3, {"lower", "middle", "upper"},
		"Bollinger Bands of close: SMA -/+ k population standard deviations.",
	compute_bbands},
	{"stoch", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
		3, {PERIOD_PARAM("k_period", 14, "Bars of the highest high / lowest low window."),
			PERIOD_PARAM("d_period", 3, "SMA period of fast %K giving fast %D."),
		PERIOD_PARAM("slow_period", 3, "SMA period of fast %D giving slow %D.")},
		3, {"fastk", "fastd", "slowd"},
		"Stochastic oscillator, 0-100 (50 when the window's high equals its low).",
	compute_stoch},
	{"kdj", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
		3, {PERIOD_PARAM("period", 9, "Bars of the highest high / lowest low window."),
			PERIOD_PARAM("k_smooth", 3, "K = ((k_smooth - 1) * K + RSV) / k_smooth."),
		PERIOD_PARAM("d_smooth", 3, "D = ((d_smooth - 1) * D + K) / d_smooth.")},
		4, {"rsv", "k", "d", "j"},
		"KDJ indicator, K and D seeded at 50; J = 3K - 2D.",
	compute_kdj},
	{"atr", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 14, "Wilder smoothing period (alpha = 1 / period).")},
		2, {"tr", "atr"},
		"True range and Wilder's average true range, in price units.",
	compute_atr},
	{"donchian", BT_IN_HIGH | BT_IN_LOW,
		1, {PERIOD_PARAM("period", 20, "Number of bars, the current one included.")},
		3, {"upper", "mid", "lower"},
		"Donchian channel: highest high, midpoint and lowest low over `period` bars.",
	compute_donchian},
	{"obv", BT_IN_CLOSE | BT_IN_VOLUME,
		0, {{NULL, BT_PARAM_INT, 0, 0, 0, false, {NULL}, NULL}},
		1, {"value"},
		"On-balance volume, starting at the first bar's volume.",
	compute_obv},
	{"roc", BT_IN_CLOSE,
		1, {PERIOD_PARAM("period", 10, "Number of bars back.")},
		1, {"value"},
		"Rate of change of close over `period` bars, in percent.",
	compute_roc}
};

const int	bt_n_indicators = (int) (sizeof(bt_indicators) / sizeof(bt_indicators[0]));

/*
 * bt_find_indicator
 *		The registry entry with this exact (case-sensitive) name, or NULL.
 */
const BtIndicatorDef *
bt_find_indicator(const char *name)
{
	if (name == NULL)
		return NULL;
	for (int i = 0; i < bt_n_indicators; i++)
		if (strcmp(bt_indicators[i].name, name) == 0)
			return &bt_indicators[i];
	return NULL;
}
