/*-------------------------------------------------------------------------
 *
 * sma_cross.c
 *	  sma_cross's targets straight from the close's rolling window sums,
 *	  without materialising the two SMA lines (bt_run's scratch lines: no
 *	  one else reads them), four segments of the series at once in the
 *	  lanes of AVX2 vectors.  The same values as bt_sma + the crossing rule
 *	  (strategies.c), bit for bit, or no answer at all: the caller then
 *	  takes the general path (which is also the path of any machine
 *	  without AVX2).
 *
 * Why the values are the same.  bt_sma's mean on bar t is x_t when the
 * window's values are all bit-equal, else fl(S) / p with S the window's
 * exact sum (moving_averages.c): the sum is kept as hi + lo with error-free
 * transformations, so fl(hi + lo) = fl(S) whatever hi and lo are, and thus
 * whatever bar the sliding started from and wherever the sum was
 * renormalised.  Here each lane slides the same way over its own segment
 * (the window sum at the segment's start summed from scratch), and:
 *
 *	- d = x_in - x_out must be exact (Sterbenz): checked on every bar as
 *	  bt_sma does; a chunk where it may not be gives up the whole fast path.
 *	- lo += e is exact while |lo| stays below 2^53 quanta of the finest
 *	  value: every value is a multiple of u = the smallest ulp among them,
 *	  |lo| <= (bars since the last renormalisation + 1) * ulp(max |S|) / 2.
 *	  The guard p_slow * max|x| / min|x| <= 2^33 (min over the nonzero
 *	  |x|: zeros are multiples of anything; u >= min|x| * 2^-53), with a
 *	  renormalisation every chunk (<= 2^17 bars), keeps it exact here, and
 *	  keeps bt_sma's own loops (at most two errors a bar, 1024 bars between
 *	  renormalisations) exact as well; a series beyond it, or with a
 *	  non-finite value after its first finite one, or huge values (sums
 *	  near overflow), gives up the fast path.
 *
 * The crossing test needs only the order of the two means, not their
 * values: q = fl(fl(S) * fl(1 / p)) is within 3 ulps of fl(fl(S) / p), so
 * when the two q's differ by more than 2^-49 of their magnitude (plus a
 * subnormal's worth) their order is the means' order; otherwise (touches,
 * flat stretches) the bar's means are divided out exactly.
 *
 * The crossing rule (strategies.c) carries the sign of the last bar with
 * fast != slow: a lane starting mid-series does not know it, so its first
 * such bar is reported and settled once the lane before it is done.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sma_cross.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_kernels.h"
#include "bt_simd.h"

/* Bars per lane per chunk (at least; longer for a long slow window) */
#define CHUNK_MIN		512
/* Series shorter than this take the general path */
#define FUSED_MIN_BARS	4096

/*
 * sma_at
 *		bt_sma's value on bar t (t - p + 1 >= f): x_t over a window of
 *		bit-equal values, else its exact sum, rounded, over p.
 */
static double
sma_at(const double *x, int64_t f, int64_t t, int64_t p)
{
	double		hi = 0.0,
				lo = 0.0;
	int64_t		run = 0;

	while (run < p - 1 && t - run > f && dbits(x[t - run]) == dbits(x[t - run - 1]))
		run++;
	if (run >= p - 1)
		return x[t];
	for (int64_t i = t - p + 1; i <= t; i++)
	{
		double		e;

		two_sum(hi, x[i], &hi, &e);
		lo += e;
		if ((i - (t - p + 1)) % 1024 == 1023)
			two_sum(hi, lo, &hi, &lo);
	}
	return (hi + lo) / (double) p;
}

/* Exact sum of x[t - p .. t - 1] as *hi + *lo, renormalised */
static void
window_sum(const double *x, int64_t t, int64_t p, double *hi, double *lo)
{
	double		h = 0.0,
				l = 0.0;

	for (int64_t i = t - p; i < t; i++)
	{
		double		e;

		two_sum(h, x[i], &h, &e);
		l += e;
		if ((i - (t - p)) % 1024 == 1023)
			two_sum(h, l, &h, &l);
	}
	two_sum(h, l, hi, lo);
}

/* Bit-equal neighbours ending at bar t - 1, at most cap, bars after f */
static int64_t
run_before(const double *x, int64_t f, int64_t t, int64_t cap)
{
	int64_t		run = 0;

	while (run < cap && t - 1 - run > f && dbits(x[t - 1 - run]) == dbits(x[t - 2 - run]))
		run++;
	return run;
}

/*
 * The crossing rule on one bar of sign s (1 fast above, -1 below, 0
 * neither), the last nonzero sign being *last (0 none): the target.
 */
static inline int8_t
cross_step(int s, int *last)
{
	int8_t		t = BT_KEEP;

	if (s == 0)
		return t;
	if (*last == -s)
		t = (int8_t) s;
	*last = s;
	return t;
}

/* |x| and min nonzero |x| of x[i..j), into *mx and *mn (bit patterns) */
static void
range_bits(const double *x, int64_t i, int64_t j, uint64_t *mx, uint64_t *mn)
{
	for (int64_t k = i; k < j; k++)
	{
		uint64_t	a = dbits(x[k]) & ~(UINT64_C(1) << 63);

		if (a > *mx)
			*mx = a;
		if (a != 0 && a < *mn)
			*mn = a;
	}
}

#ifdef BT_SIMD_X86

#define SHUF			BT_SHUF

/* Lanes of a where m is set, else b's */
#define SEL(m, a, b)	((v4df) (((v4di) (a) & (m)) | ((v4di) (b) & ~(m))))
#define SELI(m, a, b)	(((a) & (m)) | ((b) & ~(m)))

#define MASK4			BT_MASK4

/*
 * The state of the four lanes.  The crossing rule's last sign is kept as
 * two masks: whether a bar above (below) would be a cross, i.e. the last
 * sign is -1 (1) or not known yet (the lane started mid-series; both set).
 */
typedef struct Lanes
{
	v4df		hf,
				lf,
				hs,
				ls;				/* fast and slow window sums, hi + lo */
	v4di		run;			/* bit-equal neighbours ending at the last bar */
	v4di		canup,
				candn;			/* the crossing rule's state */
	v4di		inexact;		/* some x_in - x_out may have rounded */
	v4di		mx,
				mn;				/* max |x|, min nonzero |x| (bits) */
} Lanes;

/*
 * The bar loop of chunk_avx2 over the transposed rows B (len bars, pad rows
 * before them).  With sterbenz, every lane's rows of this chunk are
 * positive normal values within a factor of 1.5 of each other (chunk_avx2
 * checked it), so that:
 *
 *	- every x_in - x_out is exact (Sterbenz), and the check of each bar is
 *	  skipped: it would find nothing;
 *	- |d| <= min / 2 <= |hi|, since the window sum S >= min and |lo| is far
 *	  below S / 2 (at most ~2^18 errors of 2^-52 |hi| since the last
 *	  renormalisation): TwoSum(hi, d) is then Fast2Sum(hi, d), which gives
 *	  the same sum and the same (exact) error in three operations, not six.
 *
 * So both variants compute the same values bit for bit.
 */
__attribute__((target("avx2"), always_inline))
static inline void
chunk_bars(Lanes *L, int64_t len, int64_t pad, int64_t pf, int64_t ps,
		   const v4df *restrict B, uint8_t *restrict ev, const bool sterbenz)
{
	const v4di	two = {INT64_C(1) << 52, INT64_C(1) << 52, INT64_C(1) << 52, INT64_C(1) << 52};
	const v4du	two2 = {UINT64_C(1) << 53, UINT64_C(1) << 53, UINT64_C(1) << 53, UINT64_C(1) << 53};
	const v4di	absm = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	const v4di	one = {1, 1, 1, 1};
	const v4di	pf2 = {pf - 2, pf - 2, pf - 2, pf - 2};
	const v4di	ps2 = {ps - 2, ps - 2, ps - 2, ps - 2};
	const double rf1 = 1.0 / (double) pf,
				rs1 = 1.0 / (double) ps;
	const v4df	rf = {rf1, rf1, rf1, rf1};
	const v4df	rs = {rs1, rs1, rs1, rs1};
	const double m1 = 0x1p-49,
				m0 = 0x1p-1000;
	const v4df	rel = {m1, m1, m1, m1};
	const v4df	tiny = {m0, m0, m0, m0};
	v4df		hf = L->hf,
				lf = L->lf,
				hs = L->hs,
				ls = L->ls;
	v4di		run = L->run,
				canup = L->canup,
				candn = L->candn,
				inexact = L->inexact;

	for (int64_t i = 0; i < len; i++)
	{
		v4df		xin = B[i + pad];
		v4df		xof = B[i + pad - pf];
		v4df		xos = B[i + pad - ps];
		v4di		bin = (v4di) xin;
		v4df		df = xin - xof,
					ds = xin - xos;
		v4df		sf,
					ss,
					bf,
					bs,
					af,
					as,
					qf,
					qs,
					diff,
					mag;
		v4di		rnf,
					rns,
					gt,
					lt;

		/* the exactness of d, as bt_sma checks it */
		if (!sterbenz)
		{
			inexact |= (v4di) ((v4du) (bin - (v4di) xof + two) > two2);
			inexact |= (v4di) ((v4du) (bin - (v4di) xos + two) > two2);
		}
		run = (run + one) & (v4di) (bin == (v4di) B[i + pad - 1]);

		/* TwoSum(hi, d) (Fast2Sum where it is the same); lo += its error */
		sf = hf + df;
		ss = hs + ds;
		if (sterbenz)
		{
			lf += df - (sf - hf);
			ls += ds - (ss - hs);
		}
		else
		{
			bf = sf - hf;
			bs = ss - hs;
			lf += (hf - (sf - bf)) + (df - bf);
			ls += (hs - (ss - bs)) + (ds - bs);
		}
		hf = sf;
		hs = ss;

		af = hf + lf;
		as = hs + ls;
		rnf = run > pf2;
		rns = run > ps2;
		qf = SEL(rnf, xin, af * rf);
		qs = SEL(rns, xin, as * rs);
		diff = qf - qs;
		mag = (v4df) ((v4di) qf & absm) + (v4df) ((v4di) qs & absm);
		mag = mag * rel + tiny;
		gt = diff > mag;
		lt = diff < -mag;
		if (MASK4(gt | lt) != 15)
		{
			/* too close to tell: the means themselves */
			const v4df	dpf = {(double) pf, (double) pf, (double) pf, (double) pf};
			const v4df	dps = {(double) ps, (double) ps, (double) ps, (double) ps};
			v4df		vf = SEL(rnf, xin, af / dpf);
			v4df		vs = SEL(rns, xin, as / dps);

			gt = vf > vs;
			lt = vf < vs;
		}
		ev[i] = (uint8_t) (MASK4(gt & canup) | (MASK4(lt & candn) << 4));
		canup = (canup | lt) & ~gt;
		candn = (candn | gt) & ~lt;
	}
	/* renormalise */
	{
		v4df		s = hf + lf,
					bb = s - hf;

		lf = (hf - (s - bb)) + (lf - bb);
		hf = s;
		s = hs + ls;
		bb = s - hs;
		ls = (hs - (s - bb)) + (ls - bb);
		hs = s;
	}
	L->hf = hf;
	L->lf = lf;
	L->hs = hs;
	L->ls = ls;
	L->run = run;
	L->canup = canup;
	L->candn = candn;
	L->inexact = inexact;
}

/*
 * chunk_avx2
 *		Bars [b_j + c, b_j + c + len) of lane j (len a multiple of 4): rows
 *		of B (aligned, len + pad rows) hold x[b_j + c - pad + r] in lane j;
 *		ev[i] gets the crosses of row i: bit j up, bit 4 + j down, for lane
 *		j (a lane's first bar on a side, when it started not knowing the
 *		last sign, counts as a cross: the caller settles it).
 */
__attribute__((target("avx2")))
static void
chunk_avx2(Lanes *L, const double *x, const int64_t *b, int64_t c, int64_t len,
		   int64_t pad, int64_t pf, int64_t ps, v4df *restrict B, uint8_t *restrict ev)
{
	const v4di	absm = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	const v4di	zero = {0, 0, 0, 0};
	/* the smallest normal, and the span of a factor of 1.5 at most (bits) */
	const int64_t norm = INT64_C(1) << 52,
				span = INT64_C(1) << 51;
	const double *x0 = x + b[0] + c - pad,
			   *x1 = x + b[1] + c - pad,
			   *x2 = x + b[2] + c - pad,
			   *x3 = x + b[3] + c - pad;
	v4di		cmx = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN},
				cmn = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	bool		sterbenz = true;

	/* transpose (row r of B = x_j[r]), and each lane's range of bits */
	for (int64_t r = 0; r < len + pad; r += 4)
	{
		v4df		r0 = *(const v4df_u *) (x0 + r),
					r1 = *(const v4df_u *) (x1 + r),
					r2 = *(const v4df_u *) (x2 + r),
					r3 = *(const v4df_u *) (x3 + r);
		v4df		t0 = SHUF(r0, r1, 0, 4, 2, 6),
					t1 = SHUF(r0, r1, 1, 5, 3, 7),
					t2 = SHUF(r2, r3, 0, 4, 2, 6),
					t3 = SHUF(r2, r3, 1, 5, 3, 7);
		v4di		a0 = (v4di) SHUF(t0, t2, 0, 1, 4, 5),
					a1 = (v4di) SHUF(t1, t3, 0, 1, 4, 5),
					a2 = (v4di) SHUF(t0, t2, 2, 3, 6, 7),
					a3 = (v4di) SHUF(t1, t3, 2, 3, 6, 7);

		B[r] = (v4df) a0;
		B[r + 1] = (v4df) a1;
		B[r + 2] = (v4df) a2;
		B[r + 3] = (v4df) a3;
		cmx = SELI(a0 > cmx, a0, cmx);
		cmx = SELI(a1 > cmx, a1, cmx);
		cmx = SELI(a2 > cmx, a2, cmx);
		cmx = SELI(a3 > cmx, a3, cmx);
		cmn = SELI(a0 < cmn, a0, cmn);
		cmn = SELI(a1 < cmn, a1, cmn);
		cmn = SELI(a2 < cmn, a2, cmn);
		cmn = SELI(a3 < cmn, a3, cmn);
	}
	for (int j = 0; j < 4; j++)
		if (!(cmn[j] >= norm && cmx[j] - cmn[j] <= span))
			sterbenz = false;

	/* the guard's range: |x| and the smallest nonzero |x| */
	if (sterbenz)
	{
		/* positive values: the bits are |x|'s, none zero */
		L->mx = SELI(cmx > L->mx, cmx, L->mx);
		L->mn = SELI(cmn < L->mn, cmn, L->mn);
		chunk_bars(L, len, pad, pf, ps, B, ev, true);
	}
	else
	{
		v4di		mx = L->mx,
					mn = L->mn;

		for (int64_t r = 0; r < len + pad; r++)
		{
			v4di		a = (v4di) B[r] & absm;

			mx = SELI(a > mx, a, mx);
			mn = SELI((a < mn) & (a != zero), a, mn);
		}
		L->mx = mx;
		L->mn = mn;
		chunk_bars(L, len, pad, pf, ps, B, ev, false);
	}
}

/* Lane j's last sign from its crossing state (2: none since its start) */
static int
lane_last(const Lanes *L, int j)
{
	if (L->canup[j] && L->candn[j])
		return 2;
	return L->canup[j] ? -1 : L->candn[j] ? 1 : 0;
}

#endif							/* BT_SIMD_X86 */

/*
 * bt_sma_cross_fused
 *		sma_cross's targets (and warm-up bar) over x: what bt_sma(x, fast),
 *		bt_sma(x, slow) and the crossing rule give, bit for bit, without
 *		the lines.  Returns false, with target[] undefined, when it cannot
 *		vouch for that (no AVX2, a short series, a non-finite value after
 *		the first finite one, values too far apart in magnitude, a window
 *		difference that may round): the caller then computes the lines.
 *		1 <= fast < slow; scratch memory from a.
 */
bool
bt_sma_cross_fused(const double *x, int64_t n, int fast, int slow, int8_t *target,
				   int64_t *warmup, const BtAlloc *a)
{
#ifdef BT_SIMD_X86
	const int64_t pf = fast,
				ps = slow;
	int64_t		f,
				t0,
				b0,
				m,
				pad,
				chunk;
	int64_t		b[4];
	int64_t		first_bar[4] = {-1, -1, -1, -1};
	int			first_sign[4] = {0, 0, 0, 0};
	int			last = 0;
	uint64_t	mx = 0,
				mn = UINT64_MAX;
	Lanes		L;
	void	   *mem;
	v4df	   *B;
	uint8_t    *ev;

	if (!(fast >= 1 && fast < slow) || x == NULL || n < FUSED_MIN_BARS)
		return false;
	if (!__builtin_cpu_supports("avx2"))
		return false;
	f = first_defined(x, n);
	if (n - f < ps + 16 * CHUNK_MIN)
		return false;

	t0 = f + ps - 1;			/* the first bar with both means */
	pad = (ps + 1 + 3) & ~INT64_C(3);	/* rows of B before a chunk's first */
	b0 = f + pad;
	m = (n - b0) / 16 * 4;		/* bars per lane, a multiple of 4 */
	chunk = ps > CHUNK_MIN ? (ps + 3) & ~INT64_C(3) : CHUNK_MIN;
	for (int j = 0; j < 4; j++)
		b[j] = b0 + j * m;

	mem = a->realloc_fn(a->ctx, NULL, (size_t) (chunk + pad) * sizeof(v4df) + 32 +
						(size_t) chunk + 8);
	B = (v4df *) (((uintptr_t) mem + 31) & ~(uintptr_t) 31);
	ev = (uint8_t *) (B + chunk + pad);

	memset(target, BT_KEEP, (size_t) n);

	/* the first bars, up to lane 0's start, from scratch */
	range_bits(x, f, b0, &mx, &mn);
	for (int64_t t = t0; t < b0; t++)
	{
		double		vf = sma_at(x, f, t, pf),
					vs = sma_at(x, f, t, ps);

		target[t] = cross_step(vf > vs ? 1 : vf < vs ? -1 : 0, &last);
	}

	/* each lane's window sums ending before its first bar */
	for (int j = 0; j < 4; j++)
	{
		double		h,
					l;

		window_sum(x, b[j], pf, &h, &l);
		L.hf[j] = h;
		L.lf[j] = l;
		window_sum(x, b[j], ps, &h, &l);
		L.hs[j] = h;
		L.ls[j] = l;
		L.run[j] = run_before(x, f, b[j], ps - 1);
		L.canup[j] = j == 0 ? -(long long) (last < 0) : -1;
		L.candn[j] = j == 0 ? -(long long) (last > 0) : -1;
		L.inexact[j] = 0;
		L.mx[j] = 0;
		L.mn[j] = (long long) (UINT64_MAX >> 1);
	}

	for (int64_t c = 0; c < m; c += chunk)
	{
		int64_t		len = m - c < chunk ? m - c : chunk;

		chunk_avx2(&L, x, b, c, len, pad, pf, ps, B, ev);
		if (L.inexact[0] | L.inexact[1] | L.inexact[2] | L.inexact[3])
			return false;
		memset(ev + len, 0, 8);
		for (int64_t i = 0; i < len; i += 8)
		{
			uint64_t	w;

			memcpy(&w, ev + i, 8);
			while (w != 0)
			{
				int			bit = __builtin_ctzll(w);
				int			j = bit & 3;
				int			s = bit & 4 ? -1 : 1;
				int64_t		t = b[j] + c + i + (bit >> 3);

				target[t] = (int8_t) s;
				if (first_bar[j] < 0)
				{
					first_bar[j] = t;
					first_sign[j] = s;
				}
				w &= w - 1;
			}
		}
	}

	/*
	 * each lane's first cross counted when it did not know the last sign:
	 * a cross only if the lanes before end on the other side
	 */
	last = lane_last(&L, 0);	/* lane 0 started knowing it */
	for (int j = 1; j < 4; j++)
	{
		if (first_bar[j] >= 0 && last != -first_sign[j])
			target[first_bar[j]] = BT_KEEP;
		if (first_bar[j] >= 0)
			last = lane_last(&L, j);
	}

	/* the last bars, sliding on from lane 3 (exact differences) */
	{
		double		hf = L.hf[3],
					lf = L.lf[3],
					hs = L.hs[3],
					ls = L.ls[3];
		int64_t		run = L.run[3];
		int64_t		t = b[3] + m;

		range_bits(x, t, n, &mx, &mn);
		for (; t < n; t++)
		{
			double		d,
						ed,
						e,
						vf,
						vs;

			two_sum(x[t], -x[t - pf], &d, &ed);
			two_sum(hf, d, &hf, &e);
			lf += e + ed;
			two_sum(x[t], -x[t - ps], &d, &ed);
			two_sum(hs, d, &hs, &e);
			ls += e + ed;
			run = dbits(x[t]) == dbits(x[t - 1]) ? run + 1 : 0;
			vf = run >= pf - 1 ? x[t] : (hf + lf) / (double) pf;
			vs = run >= ps - 1 ? x[t] : (hs + ls) / (double) ps;
			target[t] = cross_step(vf > vs ? 1 : vf < vs ? -1 : 0, &last);
		}
	}

	/* the guard (see the file header) */
	for (int j = 0; j < 4; j++)
	{
		if ((uint64_t) L.mx[j] > mx)
			mx = (uint64_t) L.mx[j];
		if ((uint64_t) L.mn[j] < mn)
			mn = (uint64_t) L.mn[j];
	}
	{
		double		dmx,
					dmn;

		memcpy(&dmx, &mx, 8);
		if (!(dmx < 0x1p990))	/* also non-finite: their bits are larger */
			return false;
		if (mn < (UINT64_MAX >> 1))
		{
			memcpy(&dmn, &mn, 8);
			if (dmx / dmn * (double) ps > 0x1p33)
				return false;
		}
	}
	*warmup = t0;
	return true;
#else
	(void) x;
	(void) n;
	(void) fast;
	(void) slow;
	(void) target;
	(void) warmup;
	(void) a;
	return false;
#endif
}
