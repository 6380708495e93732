/*-------------------------------------------------------------------------
 *
 * test_sma_cross.c
 *	  sma_cross's fused path (bt_sma_cross_fused: targets straight from the
 *	  window sums, four segments in AVX2 lanes) against the lines: bt_sma
 *	  twice and the crossing rule written out here, byte for byte, on
 *	  random walks (4-decimal grid, flat stretches), NaNs at the start,
 *	  long constant runs (lanes that never see a side), huge and tiny
 *	  magnitudes, subnormals, wide swings (chunks of the general and of
 *	  the Sterbenz bar loop), lane ranges at the Sterbenz loop's bound,
 *	  tiny series and period = n; and that it
 *	  declines (so the general path runs) where it cannot vouch for the
 *	  result: a NaN after the start, a jump by more than a factor of two,
 *	  values too far apart in magnitude, sums near overflow.  Every case
 *	  also goes through bt_strategy_compute (what bt_run runs).  And
 *	  bt_next_gap (the trading-day inference's gap scan, AVX2 where there
 *	  is) against the plain loop, with gaps at every position.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_sma_cross.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_internal.h"

static uint64_t sc_state;

static uint64_t
sc_next(void)
{
	uint64_t	z = (sc_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double
sc_uniform(void)
{
	return (double) (sc_next() >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * The reference: the two lines by bt_sma, then the crossing rule as the
 * strategies.c header states it, bar by bar: a cross up on t when fast_t >
 * slow_t and the most recent earlier bar with fast != slow (both defined)
 * had fast < slow.  Returns the warm-up bar (both lines defined).
 */
static int64_t
ref_targets(const double *x, int64_t n, int pf, int ps, int8_t *target)
{
	double	   *f = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *s = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	int64_t		warmup = n;

	bt_sma(x, n, pf, f);
	bt_sma(x, n, ps, s);
	for (int64_t t = 0; t < n; t++)
	{
		target[t] = BT_KEEP;
		if (warmup == n && !isnan(f[t]) && !isnan(s[t]))
			warmup = t;
		if (f[t] > s[t] || f[t] < s[t])
		{
			int64_t		k = t - 1;

			while (k >= 0 && !(f[k] > s[k] || f[k] < s[k]))
				k--;
			if (k >= 0 && (f[t] > s[t]) != (f[k] > s[k]))
				target[t] = f[t] > s[t] ? 1 : -1;
		}
	}
	return warmup;
}

/*
 * One case: the fused path against the reference (when it answers), and
 * bt_strategy_compute's sma_cross against it always.  expect: 1 the fused
 * path must answer (with AVX2), 0 it must decline, -1 either.
 */
static void
check_case(const char *what, const double *x, int64_t n, int pf, int ps, int expect)
{
	int8_t	   *ref = unit_alloc.realloc_fn(NULL, NULL, (size_t) (n > 0 ? n : 1));
	int8_t	   *got = unit_alloc.realloc_fn(NULL, NULL, (size_t) (n > 0 ? n : 1));
	int64_t		wref = ref_targets(x, n, pf, ps, ref),
				wgot = -1;
	bool		ok = bt_sma_cross_fused(x, n, pf, ps, got, &wgot, &unit_alloc);
	bool		avx2 = __builtin_cpu_supports("avx2");
	BtSeries	s;
	double		p[2] = {pf, ps};

	if (expect == 1)
		CHECK_MSG(ok == avx2, "%s (%d, %d): fused path answered %d", what, pf, ps, ok);
	else if (expect == 0)
		CHECK_MSG(!ok, "%s (%d, %d): fused path should decline", what, pf, ps);
	if (ok)
	{
		int64_t		bad = -1;

		for (int64_t t = 0; t < n && bad < 0; t++)
			if (got[t] != ref[t])
				bad = t;
		CHECK_MSG(bad < 0, "%s (%d, %d): target of bar %lld is %d, expected %d", what, pf, ps,
				  (long long) bad, bad >= 0 ? got[bad] : 0, bad >= 0 ? ref[bad] : 0);
		CHECK_MSG(wgot == wref, "%s (%d, %d): warm-up %lld, expected %lld", what, pf, ps,
				  (long long) wgot, (long long) wref);
	}

	memset(&s, 0, sizeof(s));
	s.n = n;
	s.close = x;
	memset(got, 0, (size_t) (n > 0 ? n : 1));
	wgot = bt_strategy_compute(bt_find_strategy("sma_cross"), &s, p, got, &unit_alloc);
	CHECK_MSG(n == 0 || memcmp(got, ref, (size_t) n) == 0,
			  "%s (%d, %d): bt_strategy_compute's targets differ", what, pf, ps);
	CHECK_MSG(wgot == wref, "%s (%d, %d): bt_strategy_compute's warm-up %lld, expected %lld",
			  what, pf, ps, (long long) wgot, (long long) wref);
}

/*
 * A random walk on a 4-decimal grid from about px: steps of sigma, now and
 * then a flat stretch (bit-equal values) of up to maxflat bars
 */
static double *
walk(int64_t n, double px, double sigma, int64_t maxflat)
{
	double	   *x = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	int64_t		flat = 0;

	for (int64_t i = 0; i < n; i++)
	{
		if (flat > 0)
			flat--;
		else
		{
			px *= 1.0 + sigma * (2.0 * sc_uniform() - 1.0);
			if (maxflat > 0 && sc_uniform() < 0.01)
				flat = (int64_t) (sc_uniform() * (double) maxflat);
		}
		x[i] = floor(px * 10000.0 + 0.5) / 10000.0;
	}
	return x;
}

static const int periods[][2] = {
	{10, 30}, {1, 2}, {2, 3}, {5, 50}, {3, 7}, {29, 30}, {50, 200}, {2, 1500}, {1, 4099}
};

void
test_sma_cross(void)
{
	const int	np = (int) (sizeof(periods) / sizeof(periods[0]));
	char		what[64];

	sc_state = 20261203;

	/* random walks of several lengths (odd ones: tails of every size) */
	{
		int64_t		ns[] = {4096, 9001, 20000, 65537, 100003};

		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
			for (int q = 0; q < np; q++)
			{
				double	   *x = walk(ns[k], 20 + 200 * sc_uniform(), 0.003, 60);

				snprintf(what, sizeof(what), "walk n=%lld", (long long) ns[k]);
				check_case(what, x, ns[k], periods[q][0], periods[q][1],
						   ns[k] - periods[q][1] >= 16 * 512 + 8 ? 1 : -1);
			}
	}

	/*
	 * wide swings (steps up to 2%, so a window of 30 stays within a factor
	 * of two and every x_in - x_out is exact): chunks whose lane ranges
	 * exceed a factor of 1.5 (the general bar loop) between chunks within
	 * it (the Sterbenz loop, Fast2Sum), and lanes of both kinds in a chunk
	 */
	{
		int64_t		ns[] = {20000, 65537};

		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
			for (int q = 0; q < np; q++)
			{
				double	   *x = walk(ns[k], 50 + 50 * sc_uniform(), 0.02, 20);
				int			sure = periods[q][1] <= 30 && ns[k] - periods[q][1] >= 16 * 512 + 8;

				snprintf(what, sizeof(what), "wide walk n=%lld", (long long) ns[k]);
				check_case(what, x, ns[k], periods[q][0], periods[q][1], sure ? 1 : -1);
			}
	}

	/*
	 * lane ranges right at the Sterbenz loop's bound: values 1.0 and 1.5
	 * (bits 2^51 apart), 1.0 and the next double above 1.5, alternating in
	 * blocks, the smallest normal and twice it
	 */
	{
		int64_t		n = 30000;
		double	   *x = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
		double		hi[] = {1.5, nextafter(1.5, 2.0), 1.25, nextafter(1.25, 1.0)};

		for (size_t k = 0; k < sizeof(hi) / sizeof(hi[0]); k++)
		{
			for (int64_t i = 0; i < n; i++)
				x[i] = (i / 7 + i / 3) % 2 ? hi[k] : 1.0;
			snprintf(what, sizeof(what), "1.0 and %.17g", hi[k]);
			check_case(what, x, n, 10, 30, 1);
			check_case(what, x, n, 2, 5, 1);
			for (int64_t i = 0; i < n; i++)
				x[i] = ldexp(x[i], -1022);
			snprintf(what, sizeof(what), "2^-1022 and %.17g 2^-1022", hi[k]);
			check_case(what, x, n, 10, 30, 1);
		}
	}

	/* NaNs at the start: 1..37 of them, and more than a window */
	for (int k = 1; k <= 37; k += 9)
	{
		int64_t		n = 30011;
		double	   *x = walk(n, 100, 0.002, 40);

		for (int i = 0; i < k; i++)
			x[i] = NAN;
		snprintf(what, sizeof(what), "%d leading NaNs", k);
		check_case(what, x, n, 10, 30, 1);
		check_case(what, x, n, 3, 17, 1);
	}

	/*
	 * long constant runs: whole lanes with the lines equal (no side), the
	 * run rule (a window of equal values is its value), touches
	 */
	{
		int64_t		n = 40000;
		double	   *x = walk(n, 50, 0.004, 0);

		for (int64_t i = 9000; i < 31000; i++)
			x[i] = 47.25;
		for (int64_t i = 35000; i < 35100; i++)
			x[i] = x[34999];
		check_case("constant middle", x, n, 10, 30, 1);
		check_case("constant middle", x, n, 1, 2, 1);
		for (int64_t i = 0; i < n; i++)
			x[i] = 3.1415;
		check_case("constant series", x, n, 10, 30, 1);
		/* a staircase: equal means for a while after each step */
		for (int64_t i = 0; i < n; i++)
			x[i] = 10.0 + 0.0001 * (double) ((i / 45) % 7);
		check_case("staircase", x, n, 10, 30, 1);
		check_case("staircase", x, n, 5, 45, 1);

		/*
		 * flat stretches at levels c whose mean fl(k c) / k is not c (four
		 * for k = 10, four for k = 30): only the run rule makes the two
		 * lines equal there
		 */
		{
			double		lv[8];
			int			n10 = 0,
						n30 = 0;

			for (int64_t k = 10001; (n10 < 4 || n30 < 4) && k < 1000000; k++)
			{
				double		c = (double) k / 10000.0;

				if (n10 < 4 && c * 10.0 / 10.0 != c)
					lv[n10++] = c;
				else if (n30 < 4 && c * 30.0 / 30.0 != c)
					lv[4 + n30++] = c;
			}
			CHECK(n10 == 4 && n30 == 4);
			x = walk(n, 1.0, 0.0005, 0);
			for (int64_t i = 0; i + 200 < n; i += 211)
				for (int64_t j = 0; j < 35 + (i % 13); j++)
					x[i + 60 + j] = lv[(i / 211) % 8];
			check_case("flat at inexact means", x, n, 10, 30, 1);
			check_case("flat at inexact means", x, n, 30, 31, 1);
		}
	}

	/* magnitudes: scaled by powers of two (same relations, exact) */
	{
		int64_t		n = 20000;
		double	   *base = walk(n, 100, 0.003, 30);
		double	   *x = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
		struct
		{
			int			e;
			int			expect;
		}			sc[] = {{960, 1}, {-1000, 1}, {-1060, 1}, {-300, 1}, {1000, 0}};

		for (size_t k = 0; k < sizeof(sc) / sizeof(sc[0]); k++)
		{
			for (int64_t i = 0; i < n; i++)
				x[i] = ldexp(base[i], sc[k].e);
			snprintf(what, sizeof(what), "scaled by 2^%d", sc[k].e);
			check_case(what, x, n, 10, 30, sc[k].expect);
		}
		/* negative prices (a spread): the same, mirrored */
		for (int64_t i = 0; i < n; i++)
			x[i] = -base[i];
		check_case("negated", x, n, 10, 30, 1);
	}

	/* where the fused path must decline, and the general path answers */
	{
		int64_t		n = 30000;
		double	   *x = walk(n, 100, 0.003, 30);

		x[17000] = NAN;
		check_case("NaN in the middle", x, n, 10, 30, 0);
		x[17000] = INFINITY;
		check_case("infinity in the middle", x, n, 10, 30, 0);
		x = walk(n, 100, 0.003, 30);
		for (int64_t i = 12345; i < n; i++)
			x[i] *= 0.3;		/* a crash: x_in - x_out not exact */
		check_case("crash by 70%", x, n, 10, 30, 0);
		x = walk(n, 100, 0.003, 30);
		x[500] = 1e-9;
		x[501] = 1e-9 * 1.5;
		x[502] = 1e-9 * 1.8;
		x[503] = 1e-9 * 1.9;
		check_case("magnitudes far apart", x, n, 10, 30, 0);
		/* each window within a few %, the whole series 2^60 apart: the guard */
		for (int64_t i = 0; i < n; i++)
			x[i] = floor(exp2((double) i / 500.0) * 10000.0) / 10000.0 + 1.0;
		check_case("exponential ramp", x, n, 10, 30, 0);
		x = walk(n, 0.01, 0.2, 0);	/* crosses zero now and then */
		for (int64_t i = 0; i < n; i++)
			x[i] -= 0.01;
		check_case("around zero", x, n, 10, 30, -1);
	}

	/* tiny series and period = n */
	for (int64_t n = 1; n <= 40; n++)
	{
		double	   *x = walk(n, 10, 0.01, 5);

		snprintf(what, sizeof(what), "n=%lld", (long long) n);
		check_case(what, x, n, 1, (int) (n > 1 ? n : 2), 0);
		if (n > 3)
			check_case(what, x, n, 2, 3, 0);
	}
	{
		int64_t		n = 9000;
		double	   *x = walk(n, 10, 0.003, 5);

		check_case("period = n", x, n, 10, (int) n, 0);
		check_case("period = n - 1", x, n, 1, (int) n - 1, 0);
	}
	unit_free_all();
}

/*
 * bt_next_gap against the plain loop: minute bars with gaps (overnight,
 * single missing bars) at every offset from every start, lim on and
 * around the spacings, series shorter than a vector
 */
void
test_next_gap(void)
{
	int64_t		n = 600;
	int64_t    *ts = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(int64_t));
	int64_t		lims[] = {0, 1, 60000000, 60000001, 120000000, 120000001, INT64_C(86400000000)};
	int64_t		bad = 0,
				calls = 0;

	sc_state = 77;
	ts[0] = INT64_C(1600000000000000);
	for (int64_t i = 1; i < n; i++)
	{
		double		u = sc_uniform();
		int64_t		step = u < 0.9 ? 60000000 : u < 0.95 ? 120000000 :
			u < 0.99 ? 61000000 : INT64_C(57600000000);

		ts[i] = ts[i - 1] + step;
	}
	for (size_t k = 0; k < sizeof(lims) / sizeof(lims[0]); k++)
		for (int64_t len = 1; len <= n; len += (len < 20 ? 1 : 37))
			for (int64_t i = 1; i <= len; i++)
			{
				int64_t		want = i;

				while (want < len && ts[want] - ts[want - 1] < lims[k])
					want++;
				calls++;
				if (bt_next_gap(ts, i, len, lims[k]) != want)
					bad++;
			}
	CHECK_MSG(bad == 0, "bt_next_gap: %lld of %lld answers differ from the plain loop",
			  (long long) bad, (long long) calls);
	CHECK(calls > 10000);
	unit_free_all();
}
