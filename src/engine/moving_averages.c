/*-------------------------------------------------------------------------
 *
 * moving_averages.c
 *	  The moving averages: SMA (exact window sums with a fast path), EMA
 *	  (and EMA with any alpha, the Wilder smoothing of RSI and ATR) and
 *	  WMA.  Conventions: see bt_kernels.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/moving_averages.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_engine.h"
#include "bt_kernels.h"

/* Bars per chunk of the SMA's fast loop (and between renormalisations) */
#define SMA_CHUNK		1024

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
 * The SMA's sliding state over one segment of bars (sma_fast): the window
 * sum hi + lo, bit-equal neighbours ending at the last bar done, whether
 * the chunk in progress may have rounded a difference, the next bar to do.
 */
typedef struct SmaSeg
{
	double		hi;
	double		lo;
	int64_t		run;
	uint64_t	inexact;
	int64_t		t;
} SmaSeg;

/*
 * sma_seg_exact
 *		Bars [seg->t, end) of a segment with an exact xin - xout (TwoSum):
 *		right whether or not the differences round; notes in seg->inexact
 *		whether the fast loop would have done.
 */
static inline void
sma_seg_exact(SmaSeg *seg, const double *restrict x, int64_t end, int64_t p,
			  double *restrict out)
{
	const double dp = (double) p;
	const uint64_t two = UINT64_C(1) << 52;
	double		hi = seg->hi,
				lo = seg->lo;
	int64_t		run = seg->run;
	uint64_t	inexact = 0;

	for (int64_t t = seg->t; t < end; t++)
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
	seg->hi = hi;
	seg->lo = lo;
	seg->run = run;
	seg->inexact = inexact;
	seg->t = end;
}

/*
 * sma_seg_chunk
 *		Bars [seg->t, end) of a segment (one chunk): the fast loop, redone
 *		exactly if some difference may have rounded (or straight away if
 *		the previous chunk needed that), then the sum renormalised.
 */
static inline void
sma_seg_chunk(SmaSeg *seg, const double *restrict x, int64_t end, int64_t p,
			  double *restrict out)
{
	const double dp = (double) p;
	const uint64_t two = UINT64_C(1) << 52;
	SmaSeg		start = *seg;

	if (!seg->inexact)
	{
		double		hi = seg->hi,
					lo = seg->lo;
		int64_t		run = seg->run;
		uint64_t	inexact = 0;

		for (int64_t t = seg->t; t < end; t++)
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
		seg->hi = hi;
		seg->lo = lo;
		seg->run = run;
		seg->inexact = inexact;
		seg->t = end;
	}
	if (seg->inexact)
	{
		*seg = start;
		sma_seg_exact(seg, x, end, p, out);
	}
	two_sum(seg->hi, seg->lo, &seg->hi, &seg->lo);
}

/*
 * sma_seg_start
 *		A segment whose first bar to slide onto is t (t >= f + p): the sum of
 *		the window ending at t - 1 summed from scratch (renormalised every
 *		SMA_CHUNK bars and at the end), and the bit-equal neighbours ending
 *		at t - 1 (counted back from it, at most p - 1 of them: all the run
 *		rule looks at, as the bars before f are not counted).
 */
static void
sma_seg_start(SmaSeg *seg, const double *x, int64_t f, int64_t t, int64_t p)
{
	double		hi = 0.0,
				lo = 0.0;
	int64_t		run = 0;

	for (int64_t i = t - p; i < t; i++)
	{
		double		e;

		two_sum(hi, x[i], &hi, &e);
		lo += e;
		if ((i - (t - p)) % SMA_CHUNK == SMA_CHUNK - 1)
			two_sum(hi, lo, &hi, &lo);
	}
	two_sum(hi, lo, &hi, &lo);
	while (run < p - 1 && t - 1 - run > f && dbits(x[t - 1 - run]) == dbits(x[t - 2 - run]))
		run++;
	seg->hi = hi;
	seg->lo = lo;
	seg->run = run;
	seg->inexact = 0;
	seg->t = t;
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
 *		the loop runs at the speed of that addition's latency: to run two
 *		such chains at once, long series are slid as two segments (the
 *		second half's window summed from scratch where it starts) in one
 *		loop.  The sums being exact, where a segment starts changes no
 *		value.  Returns false if a non-finite value was met (it poisons hi
 *		or lo); out[] is then garbage and the caller falls back to
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
	int64_t		t;
	SmaSeg		a,
				b;
	int64_t		mid;

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

	a.hi = hi;
	a.lo = lo;
	a.run = run;
	a.inexact = 0;
	a.t = t;

	/* short series: one segment */
	if (n - t < 4 * SMA_CHUNK)
	{
		while (a.t < n)
			sma_seg_chunk(&a, x, (n - a.t > SMA_CHUNK) ? a.t + SMA_CHUNK : n, p, out);
		return isfinite(a.hi) && isfinite(a.lo);
	}

	/* two segments, [t, mid) and [mid, n), chunk by chunk in step */
	mid = t + (n - t) / 2;
	sma_seg_start(&b, x, f, mid, p);
	while (a.t < mid)
	{
		int64_t		len = (mid - a.t > SMA_CHUNK) ? SMA_CHUNK : mid - a.t;
		int64_t		end_a = a.t + len,
					end_b = b.t + len;

		if (a.inexact || b.inexact)
		{
			sma_seg_chunk(&a, x, end_a, p, out);
			sma_seg_chunk(&b, x, end_b, p, out);
			continue;
		}
		{
			SmaSeg		a0 = a,
						b0 = b;
			double		ha = a.hi,
						la = a.lo,
						hb = b.hi,
						lb = b.lo;
			int64_t		ra = a.run,
						rb = b.run;
			uint64_t	ia = 0,
						ib = 0;
			const double *restrict xa = x + a.t;
			const double *restrict xb = x + b.t;
			double	   *restrict oa = out + a.t;
			double	   *restrict ob = out + b.t;

			for (int64_t j = 0; j < len; j++)
			{
				double		xina = xa[j],
							xinb = xb[j];
				double		xouta = xa[j - p],
							xoutb = xb[j - p];
				uint64_t	bina = dbits(xina),
							binb = dbits(xinb);
				double		da = xina - xouta,
							db = xinb - xoutb;
				double		ea,
							eb;

				ia |= (uint64_t) (bina - dbits(xouta) + two) > 2 * two;
				ib |= (uint64_t) (binb - dbits(xoutb) + two) > 2 * two;
				ra = (bina == dbits(xa[j - 1])) ? ra + 1 : 0;
				rb = (binb == dbits(xb[j - 1])) ? rb + 1 : 0;
				two_sum(ha, da, &ha, &ea);
				two_sum(hb, db, &hb, &eb);
				la += ea;
				lb += eb;
				oa[j] = (ra >= p - 1) ? xina : (ha + la) / dp;
				ob[j] = (rb >= p - 1) ? xinb : (hb + lb) / dp;
			}
			a.hi = ha;
			a.lo = la;
			a.run = ra;
			a.inexact = ia;
			a.t = end_a;
			b.hi = hb;
			b.lo = lb;
			b.run = rb;
			b.inexact = ib;
			b.t = end_b;
			if (ia)
			{
				a = a0;
				sma_seg_exact(&a, x, end_a, p, out);
			}
			if (ib)
			{
				b = b0;
				sma_seg_exact(&b, x, end_b, p, out);
			}
			two_sum(a.hi, a.lo, &a.hi, &a.lo);
			two_sum(b.hi, b.lo, &b.hi, &b.lo);
		}
	}
	/* the second segment is a bar longer when n - t is odd */
	while (b.t < n)
		sma_seg_chunk(&b, x, (n - b.t > SMA_CHUNK) ? b.t + SMA_CHUNK : n, p, out);
	return isfinite(a.hi) && isfinite(a.lo) && isfinite(b.hi) && isfinite(b.lo);
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
