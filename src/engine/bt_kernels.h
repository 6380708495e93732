/*-------------------------------------------------------------------------
 *
 * bt_kernels.h
 *	  The arithmetic the indicators share (engine-internal): exact
 *	  double-double running sums (Knuth's TwoSum), exact scaled additions
 *	  for weighted sums, bit patterns, NaN fills, and the state of an EMA
 *	  seeded with an exact mean.  Everything is static inline, so each
 *	  indicator file compiles it into its own loops.
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
 * src/engine/bt_kernels.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_KERNELS_H
#define BT_KERNELS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Bars between two renormalisations of a lazily kept double-double sum */
#define RENORM_EVERY	4096

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
static inline void
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
static inline int64_t
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
static inline void
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

#endif							/* BT_KERNELS_H */
