/*-------------------------------------------------------------------------
 *
 * test_indicators.c
 *	  Unit tests of the indicators (src/engine/indicators.c): every golden
 *	  file of test/data/golden row by row, exact SMA ties on flat stretches,
 *	  bit-exact window sums against a reference math.fsum, invalid and
 *	  oversized periods, small hand-computed cases, O(n) rolling code
 *	  against naive loops, and the registry.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_indicators.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>
#include "unit.h"

/* Golden tolerance: |a - b| <= GOLDEN_TOL * max(1, |b|) */
#define GOLDEN_TOL	1e-9

/* Failure lines printed per golden file before the summary line */
#define MAX_FAIL_LINES	5

/* Longest golden file: ts plus four value columns */
#define GOLDEN_MAX_COLS 5

/*
 * new_array
 *		n doubles from unit_alloc (freed after the group), set to 12345 so
 *		that a function that forgets an element is caught.
 */
static double *
new_array(int64_t n)
{
	double	   *a = unit_alloc.realloc_fn(unit_alloc.ctx, NULL,
										  (size_t) (n > 0 ? n : 1) * sizeof(double));

	for (int64_t i = 0; i < n; i++)
		a[i] = 12345.0;
	return a;
}

/*
 * same_value
 *		Bit-level equality that treats every NaN as equal.
 */
static bool
same_value(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/*
 * all_nan
 *		true if a[0..n-1] are all NaN.
 */
static bool
all_nan(const double *a, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isnan(a[i]))
			return false;
	return true;
}

/*
 * ref_fsum
 *		Reference exact summation: Python's math.fsum (Shewchuk's partials
 *		and its half-even correction), correctly rounded.
 */
static double
ref_fsum(const double *x, int64_t n)
{
	double		partials[128];
	int			np = 0;
	double		hi = 0.0,
				lo = 0.0;

	for (int64_t k = 0; k < n; k++)
	{
		double		v = x[k];
		int			i = 0;

		for (int j = 0; j < np; j++)
		{
			double		y = partials[j];
			double		h,
						l;

			if (fabs(v) < fabs(y))
			{
				double		tmp = v;

				v = y;
				y = tmp;
			}
			h = v + y;
			l = y - (h - v);
			if (l != 0.0)
				partials[i++] = l;
			v = h;
		}
		partials[i] = v;
		np = i + 1;
	}

	if (np > 0)
	{
		int			m = np;

		hi = partials[--m];
		while (m > 0)
		{
			double		xx = hi;
			double		y = partials[--m];
			double		yr;

			hi = xx + y;
			yr = hi - xx;
			lo = y - yr;
			if (lo != 0.0)
				break;
		}
		if (m > 0 && ((lo < 0.0 && partials[m - 1] < 0.0) ||
					  (lo > 0.0 && partials[m - 1] > 0.0)))
		{
			double		y = lo * 2.0;
			double		xx = hi + y;
			double		yr = xx - hi;

			if (y == yr)
				hi = xx;
		}
	}
	return hi;
}

/*
 * ref_sma_at
 *		The SMA the engine must give for the window ending at t: the exact
 *		value c when all values are equal, else fsum(window) / period; NaN
 *		before the first full window or when the window holds a NaN.
 */
static double
ref_sma_at(const double *x, int64_t t, int period)
{
	const double *w = x + t - period + 1;
	bool		flat = true;

	if (t - period + 1 < 0)
		return NAN;
	for (int i = 0; i < period; i++)
	{
		if (!isfinite(w[i]))
			return NAN;
		if (memcmp(&w[i], &w[0], sizeof(double)) != 0)
			flat = false;
	}
	return flat ? w[0] : ref_fsum(w, period) / period;
}

/*
 * check_sma_exact
 *		bt_sma(x, period) must equal ref_sma_at bit for bit on every row.
 *		Counts as one check; reports the first differing row.
 */
static void
check_sma_exact(const char *what, const double *x, int64_t n, int period)
{
	double	   *out = new_array(n);
	int64_t		bad = -1;
	int64_t		nbad = 0;

	bt_sma(x, n, period, out);
	for (int64_t t = 0; t < n; t++)
	{
		if (!same_value(out[t], ref_sma_at(x, t, period)))
		{
			if (bad < 0)
				bad = t;
			nbad++;
		}
	}
	CHECK_MSG(nbad == 0, "%s: sma(%d) differs from fsum/n on %lld rows, first row %lld: %.17g vs %.17g",
			  what, period, (long long) nbad, (long long) bad,
			  bad >= 0 ? out[bad] : 0.0, bad >= 0 ? ref_sma_at(x, bad, period) : 0.0);
}

/* ------------------------------------------------------------------------
 * Golden files
 * ------------------------------------------------------------------------
 */

/*
 * check_golden
 *		Compare got[0..ncols-1] with the value columns of a golden file, row
 *		by row: same empty rows (NaN iff empty), values within the golden
 *		tolerance after multiplying the expected value by scale[c] (NULL =
 *		1), or bit-exactly when exact.  One check per row.
 */
static void
check_golden(const char *file, int ncols, double **got, const double *scale,
			 bool exact)
{
	char		path[1024];
	double	   *cols[GOLDEN_MAX_COLS];
	int64_t		rows;
	const UnitOhlcv *d = unit_ohlcv();
	int			printed = 0;
	int64_t		failed = 0;

	snprintf(path, sizeof path, "%s/golden/%s", unit_data_dir, file);
	rows = unit_read_csv(path, ncols + 1, cols);
	CHECK_MSG(rows == d->n, "%s: %lld rows, expected %lld",
			  file, (long long) rows, (long long) d->n);
	if (rows > d->n)
		rows = d->n;

	for (int64_t r = 0; r < rows; r++)
	{
		int			badcol = -1;
		double		a = 0.0,
					b = 0.0;

		for (int c = 0; c < ncols && badcol < 0; c++)
		{
			a = got[c][r];
			b = cols[c + 1][r];
			if (!isnan(b) && scale != NULL)
				b *= scale[c];
			if (isnan(a) || isnan(b))
			{
				if (isnan(a) != isnan(b))
					badcol = c;
			}
			else if (exact ? a != b :
					 !(fabs(a - b) <= GOLDEN_TOL * (fabs(b) > 1.0 ? fabs(b) : 1.0)))
				badcol = c;
		}
		if (badcol < 0)
			unit_passed++;
		else
		{
			unit_failed++;
			failed++;
			if (printed++ < MAX_FAIL_LINES)
				fprintf(stderr, "FAIL %s row %lld (1-based) column %d: got %.17g, expected %.17g\n",
						file, (long long) r + 1, badcol + 1, a, b);
		}
	}
	if (failed > 0)
		fprintf(stderr, "FAIL %s: %lld of %lld rows differ\n",
				file, (long long) failed, (long long) rows);
}

/*
 * test_golden
 *		Every indicator against its golden file (TTR 0.24.3 values).
 */
static void
test_golden(void)
{
	const UnitOhlcv *d = unit_ohlcv();
	int64_t		n = d->n;
	double	   *o[4];
	const double pct[4] = {100.0, 100.0, 100.0, 100.0};

	for (int i = 0; i < 4; i++)
		o[i] = new_array(n);

	bt_sma(d->close, n, 20, o[0]);
	check_golden("sma_20.csv", 1, o, NULL, false);

	bt_ema(d->close, n, 20, o[0]);
	check_golden("ema_20.csv", 1, o, NULL, false);

	bt_wma(d->close, n, 20, o[0]);
	check_golden("wma_20.csv", 1, o, NULL, false);

	bt_rsi(d->close, n, 14, o[0]);
	check_golden("rsi_14.csv", 1, o, NULL, false);

	bt_macd(d->close, n, 12, 26, 9, o[0], o[1], o[2]);
	check_golden("macd_12_26_9.csv", 3, o, NULL, false);

	bt_bbands(d->close, n, 20, 2.0, o[0], o[1], o[2]);
	check_golden("bbands_20_2.csv", 3, o, NULL, false);

	/* golden %K/%D are fractions, pg_backtest reports 0-100 */
	bt_stoch(d->high, d->low, d->close, n, 14, 3, 3, o[0], o[1], o[2]);
	check_golden("stoch_14_3_3.csv", 3, o, pct, false);

	bt_kdj(d->high, d->low, d->close, n, 9, 3, 3, o[0], o[1], o[2], o[3]);
	check_golden("kdj_9_3_3.csv", 4, o, NULL, false);

	bt_atr(d->high, d->low, d->close, n, 14, o[0], o[1]);
	check_golden("atr_14.csv", 2, o, NULL, false);

	/* golden columns: high, mid, low */
	bt_donchian(d->high, d->low, n, 20, o[0], o[1], o[2]);
	check_golden("donchian_20.csv", 3, o, NULL, false);

	bt_obv(d->close, d->volume, n, o[0]);
	check_golden("obv.csv", 1, o, NULL, true);

	/* golden ROC is a fraction, pg_backtest reports percent */
	bt_roc(d->close, n, 10, o[0]);
	check_golden("roc_10.csv", 1, o, pct, false);
}

/* ------------------------------------------------------------------------
 * Exact SMA ties
 * ------------------------------------------------------------------------
 */

/* A tiny deterministic generator (splitmix64) */
static uint64_t rng_state;

/*
 * rng_uniform
 *		Uniform double in [0, 1).
 */
static double
rng_uniform(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	z ^= z >> 31;
	return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * random_prices
 *		n prices of a random walk around `level`, rounded to 4 decimals.
 */
static void
random_prices(double *x, int64_t n, double level)
{
	double		p = level;

	for (int64_t i = 0; i < n; i++)
	{
		p *= exp((rng_uniform() - 0.5) * 0.04);
		x[i] = round(p * 1e4) / 1e4;
	}
}

/*
 * check_flat_tie
 *		Random prices, then `flat` copies of c, then random prices: on every
 *		bar whose 30-bar window lies in the flat stretch, sma(10) == sma(30)
 *		== c bit for bit; elsewhere both equal fsum(window) / n.
 */
static void
check_flat_tie(double c)
{
	enum
	{
		PRE = 200, FLAT = 40, POST = 60, N = PRE + FLAT + POST
	};
	double	   *x = new_array(N);
	double	   *f = new_array(N);
	double	   *s = new_array(N);
	int			ties = 0;

	random_prices(x, PRE, c);
	for (int i = PRE; i < PRE + FLAT; i++)
		x[i] = c;
	random_prices(x + PRE + FLAT, POST, c);

	bt_sma(x, N, 10, f);
	bt_sma(x, N, 30, s);
	for (int t = PRE + 29; t < PRE + FLAT; t++)
	{
		if (f[t] == s[t] && f[t] == c)
			ties++;
	}
	CHECK_MSG(ties == FLAT - 29, "flat stretch of %.17g: sma(10) == sma(30) == c on %d of %d bars",
			  c, ties, FLAT - 29);
	bt_wma(x, N, 10, f);
	ties = 0;
	for (int t = PRE + 9; t < PRE + FLAT; t++)
		ties += (f[t] == c);
	CHECK_MSG(ties == FLAT - 9, "flat stretch of %.17g: wma(10) == c on %d of %d bars",
			  c, ties, FLAT - 9);
	check_sma_exact("flat stretch", x, N, 10);
	check_sma_exact("flat stretch", x, N, 30);
}

/*
 * test_sma_ties
 *		Exact ties of SMA(10) and SMA(30) on flat stretches, synthetic and
 *		in the golden data, and bit-exact fsum/n sums elsewhere.
 */
static void
test_sma_ties(void)
{
	const UnitOhlcv *d = unit_ohlcv();
	double	   *f = new_array(d->n);
	double	   *s = new_array(d->n);
	double	   *e = new_array(d->n);
	double		c = 0.0;
	bool		found = false;
	int			ok;

	rng_state = 42;
	check_flat_tie(97.1234);

	/*
	 * A price for which fsum(10 copies)/10 != fsum(30 copies)/30: plain
	 * fsum/n would not tie there, the engine must.
	 */
	for (int k = 0; k < 100000 && !found; k++)
	{
		double		w10[10],
					w30[30];

		c = round((50.0 + k * 0.0137) * 1e4) / 1e4;
		for (int i = 0; i < 30; i++)
			w30[i] = c;
		memcpy(w10, w30, sizeof(w10));
		found = ref_fsum(w10, 10) / 10 != ref_fsum(w30, 30) / 30;
	}
	CHECK_MSG(found, "no price with fsum(10c)/10 != fsum(30c)/30 found");
	if (found)
		check_flat_tie(c);

	/* golden data: flat stretch on 1-based rows 2400-2429 (0-based 2399-2428) */
	bt_sma(d->close, d->n, 10, f);
	bt_sma(d->close, d->n, 30, s);
	ok = 0;
	for (int64_t t = 2399 + 9; t <= 2428; t++)
		ok += (f[t] == d->close[2399]);
	CHECK_MSG(ok == 2428 - 2408 + 1, "golden flat stretch: sma(10) == close on %d of %d rows",
			  ok, 2428 - 2408 + 1);
	CHECK(f[2428] == s[2428]);
	CHECK(s[2428] == d->close[2428]);
	CHECK(f[2429] != s[2429]);	/* just after: a real price again */

	/* every window of the golden data summed exactly */
	check_sma_exact("golden close", d->close, d->n, 10);
	check_sma_exact("golden close", d->close, d->n, 20);
	check_sma_exact("golden close", d->close, d->n, 30);
	check_sma_exact("golden volume", d->volume, d->n, 7);

	/* EMA is seeded with exactly the SMA of its first window */
	bt_ema(d->close, d->n, 20, e);
	bt_sma(d->close, d->n, 20, f);
	CHECK(isnan(e[18]) && e[19] == f[19]);
}

/*
 * test_sma_paths
 *		The SMA's fast loop, its exact redo (values not within 2x of each
 *		other, mixed signs, huge dynamic range), leading NaN and interior
 *		NaN (general path), against fsum/n bit for bit.
 */
static void
test_sma_paths(void)
{
	enum
	{
		N = 5000
	};
	double	   *x = new_array(N);
	static const int periods[] = {1, 2, 3, 7, 20, 50, 1500};

	rng_state = 7;

	/* prices */
	random_prices(x, N, 100.0);
	for (int i = 0; i < (int) (sizeof(periods) / sizeof(periods[0])); i++)
		check_sma_exact("prices", x, N, periods[i]);

	/* oscillator-like values in [0, 100]: xin - xout often rounds */
	for (int i = 0; i < N; i++)
		x[i] = rng_uniform() * 100.0;
	for (int i = 0; i < (int) (sizeof(periods) / sizeof(periods[0])); i++)
		check_sma_exact("oscillator", x, N, periods[i]);

	/* mixed signs, wide range, some zeros and repeats */
	for (int i = 0; i < N; i++)
	{
		double		u = rng_uniform();

		x[i] = (u - 0.5) * pow(2.0, (int) (rng_uniform() * 40) - 20);
		if (i % 97 == 0)
			x[i] = 0.0;
		if (i % 89 == 0 && i > 0)
			x[i] = x[i - 1];
	}
	for (int i = 0; i < (int) (sizeof(periods) / sizeof(periods[0])); i++)
		check_sma_exact("mixed", x, N, periods[i]);

	/* leading NaN (fast path from the first defined value) */
	random_prices(x, N, 50.0);
	for (int i = 0; i < 13; i++)
		x[i] = NAN;
	check_sma_exact("leading NaN", x, N, 3);
	check_sma_exact("leading NaN", x, N, 20);

	/* interior NaN: windows holding it are NaN (general path) */
	x[2000] = NAN;
	check_sma_exact("interior NaN", x, N, 3);
	check_sma_exact("interior NaN", x, N, 20);

	/*
	 * Long enough to be slid as two segments: a flat stretch across the
	 * second segment's start (its run of equal values counted back from
	 * there), and values not within 2x of each other in one segment only
	 * (one segment redoes its chunks exactly, the other does not).
	 */
	{
		enum
		{
			N2 = 20000
		};
		double	   *y = new_array(N2);
		static const int periods2[] = {2, 7, 30, 1500};

		for (int k = 0; k < 2; k++)
		{
			random_prices(y, N2, 100.0);
			for (int i = N2 / 2 - 700; i < N2 / 2 + 700; i++)
				y[i] = k == 0 ? 100.0041 : 100.0002;	/* fsum / 30, / 7 != value */
			for (int i = (k == 0 ? 100 : N2 - 3000); i < (k == 0 ? 3000 : N2); i++)
				y[i] = rng_uniform() * 100.0;
			for (int i = 0; i < (int) (sizeof(periods2) / sizeof(periods2[0])); i++)
				check_sma_exact(k == 0 ? "two segments, first oscillating" :
								"two segments, second oscillating", y, N2, periods2[i]);
		}
	}
}

/* ------------------------------------------------------------------------
 * Invalid and oversized periods
 * ------------------------------------------------------------------------
 */

/*
 * run_all
 *		Run every indicator with all periods set to `period` on the first n
 *		bars of the sample data; true if every output is all NaN (ATR's tr
 *		does not depend on the period: it is only checked for period <= 0).
 */
static bool
run_all(int64_t n, int period)
{
	const UnitOhlcv *d = unit_ohlcv();
	double	   *o[4];
	bool		ok = true;

	for (int i = 0; i < 4; i++)
		o[i] = new_array(n);

#define EXPECT_NAN(k) \
	do { for (int _i = 0; _i < (k); _i++) ok = ok && all_nan(o[_i], n); } while (0)

	bt_sma(d->close, n, period, o[0]);
	EXPECT_NAN(1);
	bt_ema(d->close, n, period, o[0]);
	EXPECT_NAN(1);
	bt_ema_alpha(d->close, n, period, 0.5, o[0]);
	EXPECT_NAN(1);
	bt_wma(d->close, n, period, o[0]);
	EXPECT_NAN(1);
	bt_macd(d->close, n, period, period, period, o[0], o[1], o[2]);
	EXPECT_NAN(3);
	bt_bbands(d->close, n, period, 2.0, o[0], o[1], o[2]);
	EXPECT_NAN(3);
	bt_stoch(d->high, d->low, d->close, n, period, period, period, o[0], o[1], o[2]);
	EXPECT_NAN(3);
	bt_kdj(d->high, d->low, d->close, n, period, period, period, o[0], o[1], o[2], o[3]);
	EXPECT_NAN(4);
	bt_atr(d->high, d->low, d->close, n, period, o[0], o[1]);
	ok = ok && all_nan(o[1], n);
	if (period <= 0)
		ok = ok && all_nan(o[0], n);
	bt_donchian(d->high, d->low, n, period, o[0], o[1], o[2]);
	EXPECT_NAN(3);
	bt_rsi(d->close, n, period, o[0]);
	EXPECT_NAN(1);
	bt_roc(d->close, n, period, o[0]);
	EXPECT_NAN(1);
	bt_obv(d->close, d->volume, n, o[0]);
	ok = ok && !isnan(o[0][n > 0 ? n - 1 : 0]);		/* OBV has no period */
#undef EXPECT_NAN
	return ok;
}

/*
 * test_bad_periods
 *		period <= 0 and windows longer than the data give all-NaN outputs;
 *		n = 0 and NULL inputs do not crash.
 */
static void
test_bad_periods(void)
{
	const UnitOhlcv *d = unit_ohlcv();
	double	   *o = new_array(40);
	double	   *o2 = new_array(40);

	CHECK_MSG(run_all(d->n, 0), "period 0: not all NaN");
	CHECK_MSG(run_all(d->n, -5), "period -5: not all NaN");
	CHECK_MSG(run_all(d->n, INT32_MIN), "period INT_MIN: not all NaN");
	CHECK_MSG(run_all(30, 31), "period 31 on 30 bars: not all NaN");
	CHECK_MSG(run_all(30, 1000000), "period 1000000 on 30 bars: not all NaN");

	/* RSI and ROC need period + 1 bars */
	bt_rsi(d->close, 30, 30, o);
	CHECK(all_nan(o, 30));
	bt_roc(d->close, 30, 30, o);
	CHECK(all_nan(o, 30));
	bt_rsi(d->close, 31, 30, o);
	CHECK(all_nan(o, 30) && !isnan(o[30]));
	bt_roc(d->close, 31, 30, o);
	CHECK(all_nan(o, 30) && !isnan(o[30]));

	/* a window exactly as long as the data: one value, on the last bar */
	bt_sma(d->close, 30, 30, o);
	CHECK(all_nan(o, 29) && o[29] == ref_sma_at(d->close, 29, 30));
	bt_wma(d->close, 30, 30, o);
	CHECK(all_nan(o, 29) && !isnan(o[29]));
	bt_donchian(d->high, d->low, 30, 30, o, o2, o2);
	CHECK(all_nan(o, 29) && !isnan(o[29]));

	/* invalid alpha */
	bt_ema_alpha(d->close, 40, 3, 0.0, o);
	CHECK(all_nan(o, 40));
	bt_ema_alpha(d->close, 40, 3, 1.5, o);
	CHECK(all_nan(o, 40));
	bt_ema_alpha(d->close, 40, 3, NAN, o);
	CHECK(all_nan(o, 40));

	/* bbands with a non-finite k */
	bt_bbands(d->close, 40, 5, INFINITY, o, o2, o2);
	CHECK(all_nan(o, 40));

	/* n = 0 and n < 0 write nothing; NULL inputs give NaN */
	o[0] = 1.0;
	bt_sma(d->close, 0, 5, o);
	bt_wma(d->close, -3, 5, o);
	bt_obv(d->close, d->volume, 0, o);
	CHECK(o[0] == 1.0);
	bt_obv(d->close, NULL, 40, o);
	CHECK(all_nan(o, 40));
	bt_sma(NULL, 40, 5, o);
	CHECK(all_nan(o, 40));
}

/* ------------------------------------------------------------------------
 * Hand-computed cases
 * ------------------------------------------------------------------------
 */

/*
 * check_series
 *		got[i] equals want[i] within 1e-12 (NaN matching NaN), one check.
 */
static void
check_series(const char *what, const double *got, const double *want, int n)
{
	int			bad = -1;

	for (int i = 0; i < n && bad < 0; i++)
	{
		if (isnan(want[i]) ? !isnan(got[i]) : !(fabs(got[i] - want[i]) <= 1e-12 * fmax(1.0, fabs(want[i]))))
			bad = i;
	}
	CHECK_MSG(bad < 0, "%s: element %d is %.17g, expected %.17g",
			  what, bad, bad >= 0 ? got[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
}

/*
 * test_hand
 *		Small cases worked out by hand.
 */
static void
test_hand(void)
{
	static const double x[6] = {2, 4, 6, 8, 4, 2};
	static const double c[6] = {10, 11, 10.5, 12, 11, 11.5};
	double		o[6];

	/* SMA(3) of 2,4,6,8,4,2: -, -, 12/3, 18/3, 18/3, 14/3 */
	{
		const double want[6] = {NAN, NAN, 4.0, 6.0, 6.0, 14.0 / 3.0};

		bt_sma(x, 6, 3, o);
		check_series("hand sma", o, want, 6);
	}

	/*
	 * EMA(3), alpha = 2/4 = 0.5: seed at [2] = mean(2,4,6) = 4; then
	 * [3] = .5*8 + .5*4 = 6; [4] = .5*4 + .5*6 = 5; [5] = .5*2 + .5*5 = 3.5
	 */
	{
		const double want[6] = {NAN, NAN, 4.0, 6.0, 5.0, 3.5};

		bt_ema(x, 6, 3, o);
		check_series("hand ema", o, want, 6);
	}

	/*
	 * WMA(3), weights 1,2,3 / 6: [2] = (2 + 8 + 18)/6 = 28/6;
	 * [3] = (4 + 12 + 24)/6 = 40/6; [4] = (6 + 16 + 12)/6 = 34/6;
	 * [5] = (8 + 8 + 6)/6 = 22/6
	 */
	{
		const double want[6] = {NAN, NAN, 28.0 / 6, 40.0 / 6, 34.0 / 6, 22.0 / 6};

		bt_wma(x, 6, 3, o);
		check_series("hand wma", o, want, 6);
	}

	/*
	 * RSI(2) of 10, 11, 10.5, 12, 11, 11.5: moves +1, -.5, +1.5, -1, +.5,
	 * so U = 1, 0, 1.5, 0, .5 and D = 0, .5, 0, 1, 0.  Wilder alpha = 1/2.
	 * [2]: AU = (1+0)/2 = .5, AD = (0+.5)/2 = .25 -> 100*.5/.75 = 66.67
	 * [3]: AU = .5*1.5 + .5*.5 = 1, AD = .5*0 + .5*.25 = .125 -> 88.89
	 * [4]: AU = .5*0 + .5*1 = .5, AD = .5*1 + .5*.125 = .5625 -> 47.06
	 * [5]: AU = .5*.5 + .5*.5 = .5, AD = .5*0 + .5*.5625 = .28125 -> 64
	 */
	{
		const double want[6] = {NAN, NAN, 200.0 / 3.0, 800.0 / 9.0,
		100.0 * 0.5 / 1.0625, 64.0};

		bt_rsi(c, 6, 2, o);
		check_series("hand rsi", o, want, 6);
	}

	/* ROC(2) in percent: [2] = (10.5/10 - 1)*100 = 5 */
	bt_roc(c, 6, 2, o);
	CHECK(isnan(o[1]) && fabs(o[2] - 5.0) < 1e-12);

	/* OBV: 1, +2 (up), -3 (down), +4, -5, +6 with volumes 1..6 */
	{
		const double v[6] = {1, 2, 3, 4, 5, 6};
		const double want[6] = {1, 3, 0, 4, -1, 5};

		bt_obv(c, v, 6, o);
		check_series("hand obv", o, want, 6);
	}
}

/* ------------------------------------------------------------------------
 * Rolling code against naive loops
 * ------------------------------------------------------------------------
 */

/*
 * test_naive
 *		WMA, Donchian, Bollinger and Stochastic on random bars with several
 *		periods against direct O(n * period) loops.
 */
static void
test_naive(void)
{
	enum
	{
		N = 3000
	};
	static const int periods[] = {1, 2, 3, 5, 14, 20, 64, 500};
	double	   *c = new_array(N);
	double	   *h = new_array(N);
	double	   *l = new_array(N);
	double	   *o[4];

	for (int i = 0; i < 4; i++)
		o[i] = new_array(N);
	rng_state = 99;
	random_prices(c, N, 80.0);
	for (int i = 0; i < N; i++)
	{
		h[i] = c[i] + (rng_uniform() < 0.1 ? 0.0 : round(rng_uniform() * 1e4) / 1e4);
		l[i] = c[i] - (rng_uniform() < 0.1 ? 0.0 : round(rng_uniform() * 1e4) / 1e4);
	}
	/* a flat stretch */
	for (int i = 1000; i < 1100; i++)
		c[i] = h[i] = l[i] = c[999];

	for (int pi = 0; pi < (int) (sizeof(periods) / sizeof(periods[0])); pi++)
	{
		int			p = periods[pi];
		int			bad_wma = -1,
					bad_don = -1,
					bad_bb = -1,
					bad_st = -1;
		double	   *wma = new_array(N);

		bt_wma(c, N, p, wma);
		bt_donchian(h, l, N, p, o[0], o[1], o[2]);
		for (int t = 0; t < N; t++)
		{
			double		num = 0.0,
						hh = -INFINITY,
						ll = INFINITY;

			if (t < p - 1)
			{
				if (!isnan(wma[t]) && bad_wma < 0)
					bad_wma = t;
				if (!(isnan(o[0][t]) && isnan(o[1][t]) && isnan(o[2][t])) && bad_don < 0)
					bad_don = t;
				continue;
			}
			for (int i = 0; i < p; i++)
			{
				num += (i + 1) * c[t - p + 1 + i];
				hh = fmax(hh, h[t - p + 1 + i]);
				ll = fmin(ll, l[t - p + 1 + i]);
			}
			if (!(fabs(wma[t] - num / (p * (p + 1) / 2.0)) <= 1e-12 * fabs(wma[t])) && bad_wma < 0)
				bad_wma = t;
			if (!(o[0][t] == hh && o[2][t] == ll && o[1][t] == (hh + ll) / 2) && bad_don < 0)
				bad_don = t;
		}
		CHECK_MSG(bad_wma < 0, "wma(%d) differs from the naive loop at %d", p, bad_wma);
		CHECK_MSG(bad_don < 0, "donchian(%d) differs from the naive loop at %d", p, bad_don);

		bt_bbands(c, N, p, 2.0, o[0], o[1], o[2]);
		for (int t = p - 1; t < N; t++)
		{
			double		m = ref_sma_at(c, t, p);
			double		ss = 0.0,
						sd;
			bool		flat = true;

			for (int i = t - p + 1; i <= t; i++)
			{
				ss += (c[i] - m) * (c[i] - m);
				flat = flat && c[i] == c[t];
			}
			sd = flat ? 0.0 : sqrt(ss / p);
			if (!(o[1][t] == m &&
				  fabs(o[2][t] - (m + 2 * sd)) <= 1e-11 * m &&
				  fabs(o[0][t] - (m - 2 * sd)) <= 1e-11 * m &&
				  (!flat || (o[0][t] == m && o[2][t] == m))) && bad_bb < 0)
				bad_bb = t;
		}
		CHECK_MSG(bad_bb < 0, "bbands(%d) differs from the naive loop at %d", p, bad_bb);

		bt_stoch(h, l, c, N, p, 3, 3, o[0], o[1], o[2]);
		for (int t = p - 1; t < N; t++)
		{
			double		hh = -INFINITY,
						ll = INFINITY,
						k;

			for (int i = t - p + 1; i <= t; i++)
			{
				hh = fmax(hh, h[i]);
				ll = fmin(ll, l[i]);
			}
			k = hh == ll ? 50.0 : (c[t] - ll) / (hh - ll) * 100.0;
			if (!(o[0][t] == k) && bad_st < 0)
				bad_st = t;
			if (t >= p + 1 && !same_value(o[1][t], ref_sma_at(o[0], t, 3)) && bad_st < 0)
				bad_st = t;
		}
		CHECK_MSG(bad_st < 0, "stoch(%d,3,3) differs from the naive loop at %d", p, bad_st);
	}

	/* a NaN high blanks exactly the windows holding it */
	{
		double	   *up = new_array(N);
		double	   *lo = new_array(N);
		int			bad = -1;

		bt_donchian(h, l, N, 20, o[0], o[1], o[2]);
		h[500] = NAN;
		bt_donchian(h, l, N, 20, up, o[3], lo);
		for (int t = 0; t < N && bad < 0; t++)
		{
			bool		holds = t >= 500 && t < 520;

			if (!(holds ? isnan(up[t]) : same_value(up[t], o[0][t])) ||
				!same_value(lo[t], o[2][t]))
				bad = t;
		}
		CHECK_MSG(bad < 0, "donchian with a NaN high differs at %d", bad);
	}
}

/* ------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------
 */

/*
 * direct
 *		Compute indicator def with params p by calling its function directly.
 */
static void
direct(const BtIndicatorDef *def, const BtSeries *s, const double *p, double **o)
{
	const char *nm = def->name;
	int64_t		n = s->n;

	if (strcmp(nm, "sma") == 0)
		bt_sma(s->close, n, (int) p[0], o[0]);
	else if (strcmp(nm, "ema") == 0)
		bt_ema(s->close, n, (int) p[0], o[0]);
	else if (strcmp(nm, "wma") == 0)
		bt_wma(s->close, n, (int) p[0], o[0]);
	else if (strcmp(nm, "rsi") == 0)
		bt_rsi(s->close, n, (int) p[0], o[0]);
	else if (strcmp(nm, "macd") == 0)
		bt_macd(s->close, n, (int) p[0], (int) p[1], (int) p[2], o[0], o[1], o[2]);
	else if (strcmp(nm, "bbands") == 0)
		bt_bbands(s->close, n, (int) p[0], p[1], o[0], o[1], o[2]);
	else if (strcmp(nm, "stoch") == 0)
		bt_stoch(s->high, s->low, s->close, n, (int) p[0], (int) p[1], (int) p[2],
				 o[0], o[1], o[2]);
	else if (strcmp(nm, "kdj") == 0)
		bt_kdj(s->high, s->low, s->close, n, (int) p[0], (int) p[1], (int) p[2],
			   o[0], o[1], o[2], o[3]);
	else if (strcmp(nm, "atr") == 0)
		bt_atr(s->high, s->low, s->close, n, (int) p[0], o[0], o[1]);
	else if (strcmp(nm, "donchian") == 0)
		bt_donchian(s->high, s->low, n, (int) p[0], o[0], o[1], o[2]);
	else if (strcmp(nm, "obv") == 0)
		bt_obv(s->close, s->volume, n, o[0]);
	else if (strcmp(nm, "roc") == 0)
		bt_roc(s->close, n, (int) p[0], o[0]);
}

/*
 * test_registry
 *		Lookup, table sanity, and each entry's compute against the direct
 *		function on the sample data (defaults and non-default params).
 */
static void
test_registry(void)
{
	static const char *const names[] = {"sma", "ema", "wma", "rsi", "macd", "bbands",
	"stoch", "kdj", "atr", "donchian", "obv", "roc"};
	BtSeries	s = unit_sample_series();
	double	   *a[BT_IND_MAX_OUTPUTS],
			   *b[BT_IND_MAX_OUTPUTS];

	for (int i = 0; i < BT_IND_MAX_OUTPUTS; i++)
	{
		a[i] = new_array(s.n);
		b[i] = new_array(s.n);
	}

	CHECK(bt_find_indicator("nope") == NULL);
	CHECK(bt_find_indicator("SMA") == NULL);
	CHECK(bt_find_indicator("") == NULL);
	CHECK(bt_find_indicator(NULL) == NULL);
	CHECK(bt_n_indicators == (int) (sizeof(names) / sizeof(names[0])));
	for (int i = 0; i < (int) (sizeof(names) / sizeof(names[0])); i++)
	{
		const BtIndicatorDef *def = bt_find_indicator(names[i]);

		CHECK_MSG(def != NULL && strcmp(def->name, names[i]) == 0,
				  "indicator %s not found", names[i]);
	}

	for (int i = 0; i < bt_n_indicators; i++)
	{
		const BtIndicatorDef *def = bt_indicators[i];
		double		p[BT_IND_MAX_PARAMS];
		bool		sane = def->name != NULL && bt_find_indicator(def->name) == def &&
			def->inputs != 0 && def->nparams >= 0 && def->nparams <= BT_IND_MAX_PARAMS &&
			def->noutputs >= 1 && def->noutputs <= BT_IND_MAX_OUTPUTS &&
			def->description != NULL && def->description[0] != '\0' && def->compute != NULL;

		for (int j = 0; sane && j < def->nparams; j++)
		{
			const BtParamDef *pd = &def->params[j];

			sane = pd->name != NULL && pd->doc != NULL &&
				(pd->type == BT_PARAM_INT || pd->type == BT_PARAM_NUM) &&
				(pd->min_exclusive ? pd->def > pd->min : pd->def >= pd->min) &&
				pd->def <= pd->max;
		}
		for (int j = 0; sane && j < def->noutputs; j++)
			sane = def->outputs[j] != NULL;
		CHECK_MSG(sane, "registry entry %d (%s) is malformed", i, def->name ? def->name : "?");
		if (!sane)
			continue;

		/* defaults, then every period parameter moved off its default */
		for (int variant = 0; variant < 2; variant++)
		{
			bool		same = true;

			for (int j = 0; j < def->nparams; j++)
			{
				p[j] = def->params[j].def;
				if (variant == 1)
					p[j] = def->params[j].type == BT_PARAM_INT ? p[j] + j + 2 : p[j] * 1.5;
			}
			for (int j = 0; j < def->noutputs; j++)
			{
				for (int64_t t = 0; t < s.n; t++)
					a[j][t] = b[j][t] = 777.0;
			}
			def->compute(&s, p, a);
			direct(def, &s, p, b);
			for (int j = 0; j < def->noutputs; j++)
			{
				for (int64_t t = 0; t < s.n && same; t++)
					same = same_value(a[j][t], b[j][t]) && a[j][t] != 777.0;
			}
			CHECK_MSG(same, "registry compute of %s (variant %d) differs from the direct call",
					  def->name, variant);
		}
	}

	/* a few documented defaults and output names */
	CHECK(strcmp(bt_find_indicator("macd")->outputs[2], "histogram") == 0);
	CHECK(bt_find_indicator("bbands")->params[1].type == BT_PARAM_NUM &&
		  bt_find_indicator("bbands")->params[1].min_exclusive);
	CHECK(strcmp(bt_find_indicator("kdj")->outputs[3], "j") == 0);
	CHECK(bt_find_indicator("obv")->inputs == (BT_IN_CLOSE | BT_IN_VOLUME));
}

/*
 * test_indicators
 *		The indicator test group.
 */
void
test_indicators(void)
{
	/* load the sample data first: loading it resets unit_alloc */
	(void) unit_ohlcv();

	test_golden();
	test_sma_ties();
	test_sma_paths();
	test_bad_periods();
	test_hand();
	test_naive();
	test_registry();
}
