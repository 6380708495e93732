/*-------------------------------------------------------------------------
 *
 * bench_engine.c
 *	  Throughput of the engine alone, on in-memory arrays (no server).
 *
 * Generates a geometric random walk of OHLCV bars with a fixed-seed PRNG
 * (xoshiro256**, seeded by splitmix64; no rand()), then times
 * bt_run_metrics (what backtest_run runs: bt_run in one pass, without the
 * per-bar curves) with a strategy's defaults.  Every run allocates from a simple arena BtAlloc:
 *
 *	- "fresh arena": the arena is malloc'ed before and freed after each
 *	  repetition, like the server's per-call memory context, so page faults
 *	  on first touch are part of the time (this is the headline figure);
 *	- "reused arena": one arena reset between repetitions (pages already
 *	  mapped), i.e. compute only.
 *
 * For sma_cross it also times each stage on its own (reused arena):
 * bt_validate_series, bt_sma x2 (the indicators), the strategy's compute
 * (indicators + crossing rule), bt_simulate and bt_compute_metrics, so that
 * the split of a whole run is visible.  Times are medians of several
 * repetitions measured with clock_gettime(CLOCK_MONOTONIC).  Nothing is
 * asserted: the figures are for reading.
 *
 * Usage: bench_engine [REPS [BIG_N]]
 *	  REPS	repetitions per figure (default 7)
 *	  BIG_N	size of the large series (default 10000000; 0 skips it)
 *
 * Then the benchmark's sweep (sma_cross fast 5..50 step 5 x slow 20..200
 * step 20, 90 combinations) in one process with the default 64 MB line
 * cache, in the grid's order and in bt_sweep_order's: time and lines
 * computed.
 *
 * The last lines are machine-readable for scripts/bench.sh:
 *	  ENGINE_BARS_PER_S=<sma_cross bars/s, n = 1M, fresh arena>
 *	  ENGINE_WARM_BARS_PER_S=<the same, reused arena (warm buffers)>
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/bench/bench_engine.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bt_engine.h"
#include "bt_sweep.h"

#define MAX_REPS	64
#define SMALL_N		1000000

/* ------------------------------------------------------------------------
 * PRNG: xoshiro256** seeded with splitmix64 (fixed seed, portable)
 * ------------------------------------------------------------------------
 */
static uint64_t rng_s[4];

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void
rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng_s[i] = splitmix64(&seed);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(void)
{
	uint64_t	result = rotl(rng_s[1] * 5, 7) * 9;
	uint64_t	t = rng_s[1] << 17;

	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return result;
}

/* Uniform in [0, 1) */
static double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal (Box-Muller; one of the pair is discarded) */
static double
rng_normal(void)
{
	double		u1 = 1.0 - rng_uniform();	/* (0, 1] */
	double		u2 = rng_uniform();

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Round to 4 decimals (a tick of 0.0001, like real quotes) */
static double
round4(double x)
{
	return floor(x * 10000.0 + 0.5) / 10000.0;
}

/* ------------------------------------------------------------------------
 * Data: a geometric random walk, one bar a minute from 2020-01-01
 * ------------------------------------------------------------------------
 */
typedef struct Bars
{
	int64_t		n;
	int64_t    *ts;
	double	   *open,
			   *high,
			   *low,
			   *close,
			   *volume;
} Bars;

static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "bench_engine: out of memory (%zu bytes)\n", size);
		exit(2);
	}
	return p;
}

static void
bars_generate(Bars *b, int64_t n, uint64_t seed)
{
	double		px = 100.0;		/* unrounded walk */
	double		prev_close;

	rng_seed(seed);
	b->n = n;
	b->ts = xmalloc((size_t) n * sizeof(int64_t));
	b->open = xmalloc((size_t) n * sizeof(double));
	b->high = xmalloc((size_t) n * sizeof(double));
	b->low = xmalloc((size_t) n * sizeof(double));
	b->close = xmalloc((size_t) n * sizeof(double));
	b->volume = xmalloc((size_t) n * sizeof(double));
	prev_close = round4(px);
	for (int64_t i = 0; i < n; i++)
	{
		double		o = prev_close;
		double		c;
		double		hi,
					lo;

		px *= exp(0.001 * rng_normal());
		c = round4(px);
		hi = o > c ? o : c;
		lo = o < c ? o : c;
		b->ts[i] = INT64_C(1577836800000000) + i * INT64_C(60000000);
		b->open[i] = o;
		b->close[i] = c;
		b->high[i] = round4(hi * (1.0 + 0.0005 * rng_uniform()));
		b->low[i] = round4(lo * (1.0 - 0.0005 * rng_uniform()));
		b->volume[i] = floor(1000.0 + 9000.0 * rng_uniform());
		prev_close = c;
	}
}

static void
bars_free(Bars *b)
{
	free(b->ts);
	free(b->open);
	free(b->high);
	free(b->low);
	free(b->close);
	free(b->volume);
}

static BtSeries
bars_series(const Bars *b)
{
	BtSeries	s;

	memset(&s, 0, sizeof(s));
	s.n = b->n;
	s.ts = b->ts;
	s.open = b->open;
	s.high = b->high;
	s.low = b->low;
	s.close = b->close;
	s.volume = b->volume;
	return s;
}

/* ------------------------------------------------------------------------
 * Arena allocator: bump allocation in one malloc'ed block; growing the last
 * block is done in place; anything that does not fit goes to malloc'ed
 * overflow blocks (counted, freed with the arena).
 * ------------------------------------------------------------------------
 */
typedef struct Overflow
{
	struct Overflow *next;
	double		align[];		/* payload (with its size header) follows */
} Overflow;

typedef struct Arena
{
	char	   *base;
	size_t		cap;
	size_t		used;
	size_t		last;			/* offset of the last block's payload */
	size_t		high_water;
	Overflow   *overflow;
	int			noverflow;
} Arena;

#define HDR		16				/* size header, keeps payloads 16-aligned */

static size_t
align16(size_t x)
{
	return (x + 15) & ~(size_t) 15;
}

static void
arena_init(Arena *ar, size_t cap)
{
	memset(ar, 0, sizeof(*ar));
	ar->base = xmalloc(cap);
	ar->cap = cap;
}

static void
arena_reset(Arena *ar)
{
	while (ar->overflow)
	{
		Overflow   *o = ar->overflow;

		ar->overflow = o->next;
		free(o);
	}
	if (ar->used > ar->high_water)
		ar->high_water = ar->used;
	ar->used = 0;
	ar->last = 0;
}

static void
arena_free(Arena *ar)
{
	arena_reset(ar);
	free(ar->base);
	ar->base = NULL;
}

static void *
arena_realloc(void *ctx, void *ptr, size_t size)
{
	Arena	   *ar = (Arena *) ctx;
	size_t		oldsize = 0;
	char	   *p;

	size = align16(size > 0 ? size : 1);
	if (ptr != NULL)
	{
		oldsize = *(size_t *) ((char *) ptr - HDR);
		if (size <= oldsize)
			return ptr;
		/* the last arena block grows in place */
		if ((char *) ptr == ar->base + ar->last && ar->last + size <= ar->cap)
		{
			*(size_t *) ((char *) ptr - HDR) = size;
			ar->used = ar->last + size;
			return ptr;
		}
	}
	if (ar->used + HDR + size <= ar->cap)
	{
		p = ar->base + ar->used + HDR;
		ar->last = ar->used + HDR;
		ar->used += HDR + size;
	}
	else
	{
		Overflow   *o = xmalloc(sizeof(Overflow) + HDR + size);

		o->next = ar->overflow;
		ar->overflow = o;
		ar->noverflow++;
		p = (char *) o->align + HDR;
	}
	*(size_t *) (p - HDR) = size;
	if (ptr != NULL)
		memcpy(p, ptr, oldsize);
	return p;
}

/* Arena size for a run over n bars: room for 24 arrays of n doubles */
static size_t
arena_size(int64_t n)
{
	return (size_t) n * 24 * sizeof(double) + ((size_t) 1 << 20);
}

/* ------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------
 */
static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static double
median(double *x, int n)
{
	qsort(x, (size_t) n, sizeof(double), cmp_double);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/*
 * Cost of the first touch of freshly malloc'ed memory, in microseconds per
 * 4 KiB page (the page faults that a fresh arena, or a fresh memory context
 * in the server, pays).  Median of 5 rounds over 32 MiB.
 */
static double
page_touch_cost(void)
{
	const size_t size = (size_t) 32 << 20;
	double		t[5];

	for (int r = 0; r < 5; r++)
	{
		volatile char *p = xmalloc(size);
		double		t0 = now_sec();

		for (size_t i = 0; i < size; i += 4096)
			p[i] = 1;
		t[r] = (now_sec() - t0) * 1e6 / (double) (size / 4096);
		free((void *) p);
	}
	return median(t, 5);
}

/* The server's progress callback only checks for interrupts: a no-op here */
static int
progress_noop(void *arg, BtStep step, int64_t done, int64_t total)
{
	(void) arg;
	(void) step;
	(void) done;
	(void) total;
	return 0;
}

/* Sink for results, so that no work can be optimised away */
static volatile double sink;

static const BtStrategyDef *
strategy(const char *name)
{
	const BtStrategyDef *st = bt_find_strategy(name);

	if (st == NULL)
	{
		fprintf(stderr, "bench_engine: unknown strategy \"%s\"\n", name);
		exit(2);
	}
	return st;
}

/*
 * Whole runs time bt_run_metrics (what backtest_run runs: metrics and
 * trades, no equity curve) unless this is false (bt_run, with the curves)
 */
static bool metrics_only = true;

/* The name of the whole run timed */
#define RUN_NAME	(metrics_only ? "bt_run_metrics" : "bt_run")

/* One whole run in arena ar; returns seconds and fills res */
static double
time_run(const BtSeries *s, const BtConfig *cfg, Arena *ar, BtResult *res)
{
	BtAlloc		a = {arena_realloc, ar};
	BtError		err;
	double		t0,
				t1;

	t0 = now_sec();
	if ((metrics_only ? bt_run_metrics : bt_run) (s, cfg, &a, progress_noop, NULL, res,
												  &err) != BT_OK)
	{
		fprintf(stderr, "bench_engine: bt_run failed: %s\n", err.msg);
		exit(2);
	}
	t1 = now_sec();
	sink += res->metrics.equity_final;
	return t1 - t0;
}

/*
 * Median seconds of a whole bt_run with the named strategy's defaults.
 * fresh: malloc/free the arena around each repetition; else reuse one.
 */
static double
bench_run(const BtSeries *s, const char *name, int reps, bool fresh,
		  BtMetrics *m_out, int *overflows, size_t *bytes)
{
	BtConfig	cfg;
	BtResult	res;
	Arena		ar;
	double		t[MAX_REPS];

	bt_config_defaults(&cfg, strategy(name));
	*overflows = 0;
	*bytes = 0;
	if (!fresh)
	{
		arena_init(&ar, arena_size(s->n));
		time_run(s, &cfg, &ar, &res);	/* warm-up: map the pages */
		arena_reset(&ar);
	}
	for (int r = 0; r < reps; r++)
	{
		if (fresh)
			arena_init(&ar, arena_size(s->n));
		t[r] = time_run(s, &cfg, &ar, &res);
		*m_out = res.metrics;
		*overflows += ar.noverflow;
		if (ar.used > *bytes)
			*bytes = ar.used;
		if (fresh)
			arena_free(&ar);
		else
			arena_reset(&ar);
	}
	if (!fresh)
		arena_free(&ar);
	return median(t, reps);
}

/* Print one figure line */
static void
print_line(const char *what, int64_t n, double sec)
{
	printf("  %-44s n=%-9lld %9.3f ms  %8.1f M bars/s\n",
		   what, (long long) n, sec * 1e3, (double) n / sec / 1e6);
}

/* Whole runs (fresh and reused arena) for one strategy on s */
static double
bench_strategy(const BtSeries *s, const char *name, int reps, bool both)
{
	BtMetrics	m;
	int			ovf;
	size_t		bytes;
	char		what[96];
	double		fresh;

	fresh = bench_run(s, name, reps, true, &m, &ovf, &bytes);
	snprintf(what, sizeof(what), "%s %s, fresh arena", name, RUN_NAME);
	print_line(what, s->n, fresh);
	if (both)
	{
		double		reused = bench_run(s, name, reps, false, &m, &ovf, &bytes);

		snprintf(what, sizeof(what), "%s %s, reused arena", name, RUN_NAME);
		print_line(what, s->n, reused);
	}
	printf("  %-44s trades=%lld equity_final=%.2f allocated=%.1f MB%s\n", "",
		   (long long) m.trades_count, m.equity_final, (double) bytes / 1048576.0,
		   ovf ? "  (arena overflowed: some blocks were malloc'ed)" : "");
	return fresh;
}

/*
 * Per-stage split of an sma_cross run, each stage timed alone (reused
 * arena, pages mapped): validation, the two SMAs, the strategy (SMAs +
 * crossing rule), the simulator, the metrics.
 */
static void
bench_stages(const BtSeries *s, int reps)
{
	BtConfig	cfg;
	Arena		ar;
	BtAlloc		a = {arena_realloc, &ar};
	double		t_val[MAX_REPS],
				t_sma[MAX_REPS],
				t_strat[MAX_REPS],
				t_sim[MAX_REPS],
				t_met[MAX_REPS],
				t_whole[MAX_REPS],
				t_curves[MAX_REPS];
	double		m_whole,
				m_curves,
				m_val,
				m_sma,
				m_strat,
				m_sim,
				m_met;
	int64_t		n = s->n;

	bt_config_defaults(&cfg, strategy("sma_cross"));
	arena_init(&ar, arena_size(n));

	for (int r = -1; r < reps; r++)	/* r = -1: warm-up, not recorded */
	{
		BtError		err;
		BtResult	res;
		double	   *fast,
				   *slow;
		int8_t	   *target;
		int64_t		warmup;
		double		t0,
					t1,
					t2,
					t3,
					t4,
					t5,
					t6,
					t7;

		arena_reset(&ar);
		fast = arena_realloc(&ar, NULL, (size_t) n * sizeof(double));
		slow = arena_realloc(&ar, NULL, (size_t) n * sizeof(double));
		target = arena_realloc(&ar, NULL, (size_t) n);
		if (r < 0)
		{
			/* map every page the stages will touch */
			memset(ar.base, 0, ar.cap);
		}

		t0 = now_sec();
		if (!bt_validate_series(s, false, &err))
		{
			fprintf(stderr, "bench_engine: invalid series: %s\n", err.msg);
			exit(2);
		}
		t1 = now_sec();
		bt_sma(s->close, n, (int) cfg.sp[0], fast);
		bt_sma(s->close, n, (int) cfg.sp[1], slow);
		t2 = now_sec();
		sink += fast[n - 1] + slow[n - 1];
		warmup = bt_strategy_compute(cfg.strategy, s, cfg.sp, target, &a);
		t3 = now_sec();
		if (bt_simulate(s, target, warmup, &cfg.sim, &a, progress_noop, NULL,
						&res, &err) != BT_OK)
		{
			fprintf(stderr, "bench_engine: bt_simulate failed: %s\n", err.msg);
			exit(2);
		}
		t4 = now_sec();
		bt_compute_metrics(s, warmup, &cfg.sim, &res);
		t5 = now_sec();
		sink += res.metrics.equity_final;

		/* the whole run, in the same round (same arena, pages mapped) */
		arena_reset(&ar);
		t6 = time_run(s, &cfg, &ar, &res);
		/* and bt_run, with the curves */
		arena_reset(&ar);
		metrics_only = !metrics_only;
		t7 = time_run(s, &cfg, &ar, &res);
		metrics_only = !metrics_only;
		if (r >= 0)
		{
			t_val[r] = t1 - t0;
			t_sma[r] = t2 - t1;
			t_strat[r] = t3 - t2;
			t_sim[r] = t4 - t3;
			t_met[r] = t5 - t4;
			t_whole[r] = t6;
			t_curves[r] = t7;
		}
	}
	arena_free(&ar);

	m_val = median(t_val, reps);
	m_sma = median(t_sma, reps);
	m_strat = median(t_strat, reps);
	m_sim = median(t_sim, reps);
	m_met = median(t_met, reps);
	m_whole = median(t_whole, reps);
	m_curves = median(t_curves, reps);

	printf("  per-stage split, sma_cross (fast=%d, slow=%d), n=%lld, each stage timed alone,\n"
		   "  interleaved with whole runs (reused arena; %% of the whole run's median):\n",
		   (int) cfg.sp[0], (int) cfg.sp[1], (long long) n);
	printf("    %-40s %9.3f ms  (100.0%%)\n", "whole bt_run_metrics (one pass)", m_whole * 1e3);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n", "whole bt_run (with the per-bar curves)",
		   m_curves * 1e3, 100.0 * m_curves / m_whole);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n",
		   "bt_sma x2 (indicators alone)", m_sma * 1e3, 100.0 * m_sma / m_whole);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n",
		   "strategy compute (SMAs + crossing)", m_strat * 1e3, 100.0 * m_strat / m_whole);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n",
		   "bt_simulate", m_sim * 1e3, 100.0 * m_sim / m_whole);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n",
		   "bt_compute_metrics", m_met * 1e3, 100.0 * m_met / m_whole);
	printf("    %-40s %9.3f ms  (%5.1f%%)\n",
		   "sum of bt_run's three stages", (m_strat + m_sim + m_met) * 1e3,
		   100.0 * (m_strat + m_sim + m_met) / m_whole);
	printf("    %-40s %9.3f ms  (not part of bt_run; the server runs it per call)\n",
		   "bt_validate_series", m_val * 1e3);
}

/*
 * The benchmark's sweep on one sweep context (64 MB cache) in the grid's
 * order (ordered = false) or bt_sweep_order's; returns seconds, sets the
 * lines computed.  The metrics of every combination are summed into sink.
 */
static double
bench_sweep_once(const BtSeries *s, bool ordered, int64_t *computed)
{
	const BtStrategyDef *st = strategy("sma_cross");
	Arena		ar;
	BtAlloc		a = {arena_realloc, &ar};
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				skipped;
	int64_t    *order;
	BtSweepCtx *ctx;
	double		t0,
				t1;

	arena_init(&ar, arena_size(s->n) + ((size_t) 64 << 20));
	bt_config_defaults(&base, st);
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	if (!bt_grid_range(st, 0, 5, 50, 5, &a, &g.axes[0], &err) ||
		!bt_grid_range(st, 1, 20, 200, 20, &a, &g.axes[1], &err) ||
		bt_grid_expand(&g, &base, 1000, &a, &combos, &n, &skipped, &err) != BT_OK)
	{
		fprintf(stderr, "bench_engine: grid: %s\n", err.msg);
		exit(2);
	}
	order = a.realloc_fn(a.ctx, NULL, (size_t) n * sizeof(int64_t));
	t0 = now_sec();
	ctx = bt_sweep_ctx_create(s, &a, (size_t) 64 << 20);
	if (ordered)
		bt_sweep_order(st, combos, n, (int64_t) (((size_t) 64 << 20) / ((size_t) s->n * sizeof(double))),
					   &a, order);
	else
		for (int64_t i = 0; i < n; i++)
			order[i] = i;
	for (int64_t k = 0; k < n; k++)
	{
		BtMetrics	m;

		if (bt_sweep_run(ctx, &combos[order[k]], NULL, NULL, &m, &err) != BT_OK)
		{
			fprintf(stderr, "bench_engine: sweep run: %s\n", err.msg);
			exit(2);
		}
		sink += m.equity_final;
	}
	t1 = now_sec();
	bt_sweep_ctx_stats(ctx, computed, NULL);
	arena_free(&ar);
	return t1 - t0;
}

/* The benchmark's sweep in both orders, medians of reps */
static void
bench_sweep(const BtSeries *s, int reps)
{
	double		t_grid[MAX_REPS],
				t_ord[MAX_REPS];
	int64_t		c_grid = 0,
				c_ord = 0;

	for (int r = 0; r < reps; r++)
	{
		t_grid[r] = bench_sweep_once(s, false, &c_grid);
		t_ord[r] = bench_sweep_once(s, true, &c_ord);
	}
	printf("  sweep sma_cross 90 combinations, one process, 64 MB line cache, median of %d reps:\n", reps);
	printf("    %-40s %9.3f ms  %lld lines computed\n", "grid order", median(t_grid, reps) * 1e3,
		   (long long) c_grid);
	printf("    %-40s %9.3f ms  %lld lines computed\n", "bt_sweep_order", median(t_ord, reps) * 1e3,
		   (long long) c_ord);
	printf("ENGINE_SWEEP_GRID_MS=%.3f\nENGINE_SWEEP_ORDERED_MS=%.3f\n",
		   median(t_grid, reps) * 1e3, median(t_ord, reps) * 1e3);
}

int
main(int argc, char **argv)
{
	int			reps = argc > 1 ? atoi(argv[1]) : 7;
	long long	big_n = argc > 2 ? atoll(argv[2]) : 10000000LL;
	const char *others[] = {"ema_cross", "rsi", "kdj", "macd_cross"};
	Bars		b;
	BtSeries	s;
	double		fresh,
				reused;
	BtMetrics	m;
	int			ovf;
	size_t		bytes;
	double		t0;

	if (reps < 1 || reps > MAX_REPS || big_n < 0)
	{
		fprintf(stderr, "usage: bench_engine [REPS (1-%d) [BIG_N]]\n", MAX_REPS);
		return 2;
	}

	t0 = now_sec();
	bars_generate(&b, SMALL_N, 42);
	s = bars_series(&b);
	printf("engine benchmark: geometric random walk (seed 42, sigma 0.1%%/bar, 1-minute bars), "
		   "median of %d reps\n", reps);
	printf("  (data generated in %.0f ms; first touch of fresh malloc'ed memory here: %.2f us per 4 KiB page)\n",
		   (now_sec() - t0) * 1e3, page_touch_cost());

	fresh = bench_strategy(&s, "sma_cross", reps, false);
	reused = bench_run(&s, "sma_cross", reps, false, &m, &ovf, &bytes);
	print_line("sma_cross bt_run_metrics, reused arena", s.n, reused);
	bench_stages(&s, reps);

	printf("  other strategies (defaults), for information:\n");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		bench_strategy(&s, others[i], reps, true);
	bench_sweep(&s, reps < 3 ? reps : 3);
	bars_free(&b);

	if (big_n > 0)
	{
		int			big_reps = reps < 5 ? reps : 5;

		t0 = now_sec();
		bars_generate(&b, (int64_t) big_n, 42);
		s = bars_series(&b);
		printf("  large series (data generated in %.0f ms), median of %d reps:\n",
			   (now_sec() - t0) * 1e3, big_reps);
		bench_strategy(&s, "sma_cross", big_reps, true);
		bars_free(&b);
	}

	printf("ENGINE_BARS_PER_S=%.0f\n", (double) SMALL_N / fresh);
	printf("ENGINE_WARM_BARS_PER_S=%.0f\n", (double) SMALL_N / reused);
	printf("ENGINE_MS=%.3f\n", fresh * 1e3);
	return sink == 12345.678 ? 1 : 0;
}
