/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  Sweep contexts: many configurations run over one series with
 *	  indicator lines computed once and buffers reused between runs.
 *
 * A sweep context keeps indicator lines in a cache bounded by cache_bytes:
 * line arrays of n doubles ("slots") are allocated from the BtAlloc until
 * the bound is reached, and recycled afterwards (least recently used line
 * first).  The lines a run uses are pinned until the run ends, so a run
 * whose own lines do not fit takes what it needs beyond the bound (that
 * memory is then recycled too: total memory is at most the larger of
 * cache_bytes and one run's lines, plus the run buffers).  Every line holds
 * exactly the values bt_run's scratch computation gives, so bt_sweep_run
 * and bt_run give the same metrics bit for bit.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sweep.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_sweep.h"

/* ------------------------------------------------------------------------
 * Sweep contexts
 * ------------------------------------------------------------------------
 */

/* A cached line: every output of one indicator with one set of parameters */
typedef struct LineEntry
{
	const BtIndicatorDef *ind;	/* NULL while the entry is free */
	double		params[BT_IND_MAX_PARAMS];
	uint64_t	hash;
	int			noutputs;
	double	   *out[BT_IND_MAX_OUTPUTS];
	uint64_t	run;			/* the last run that used it: pinned while current */
	int64_t		hnext;			/* next entry of its hash chain, or of the free list */
	int64_t		newer;			/* LRU list neighbours (-1 at the ends) */
	int64_t		older;
} LineEntry;

struct BtSweepCtx
{
	BtLines		lines;			/* the caching line provider: must be first */
	BtSeries	s;
	BtAlloc		a;
	int64_t		slot_len;		/* doubles per line array: max(n, 1) */
	int64_t		max_slots;		/* line arrays the cache may hold (cache_bytes) */
	int64_t		nslots;			/* line arrays allocated */
	double	  **free_slots;		/* allocated arrays holding no line */
	int64_t		nfree;
	int64_t		free_cap;
	LineEntry  *entries;
	int64_t		nentries;		/* entries[0..nentries-1] ever used */
	int64_t		entries_cap;
	int64_t		free_entry;		/* head of the free entries, -1 if none */
	int64_t    *buckets;		/* hash chains, nbuckets (a power of 2) */
	int64_t		nbuckets;
	int64_t		newest;			/* LRU list ends, -1 if empty */
	int64_t		oldest;
	uint64_t	run;			/* number of the current run */
	int64_t		computed;
	int64_t		reused;
	/* run buffers */
	int8_t	   *target;
	BtSimBuffers buf;
	bool		have_ppy;
	double		ppy;			/* inferred periods per year */
	bool		have_day_start;
	int64_t		day_start;		/* inferred start of the trading day */
	int64_t    *day_ends;		/* the days' last bars for buf.day_ends_start */
	int64_t		day_ends_cap;
};

/*
 * Keep in ctx->buf the last bar of each trading day for a day starting
 * day_start (the metrics' daily returns), found once for every run with
 * that day start.  s->n >= 1.
 */
static void
cache_day_ends(BtSweepCtx *ctx, int64_t day_start)
{
	const BtSeries *s = &ctx->s;
	BtDayIter	it;
	int64_t		k = 0,
				end;

	if (ctx->buf.day_ends && ctx->buf.day_ends_start == day_start)
		return;
	bt_day_iter_start(&it, s->ts, day_start);
	while ((end = bt_day_iter_next(&it, s->ts, s->n)) >= 0)
	{
		if (k == ctx->day_ends_cap)
		{
			ctx->day_ends_cap = ctx->day_ends_cap ? ctx->day_ends_cap * 2 : 1024;
			ctx->day_ends = ctx->a.realloc_fn(ctx->a.ctx, ctx->day_ends,
											  (size_t) ctx->day_ends_cap * sizeof(int64_t));
		}
		ctx->day_ends[k++] = end;
	}
	ctx->buf.day_ends = ctx->day_ends;
	ctx->buf.nday_ends = k;
	ctx->buf.day_ends_start = day_start;
}

/* Hash of a line key (+0 and -0 alike) */
static uint64_t
line_hash(const BtIndicatorDef *ind, const double *params, int np)
{
	uint64_t	h = (uint64_t) (uintptr_t) ind;

	for (int i = 0; i < np; i++)
	{
		double		v = params[i] + 0.0;
		uint64_t	bits;

		memcpy(&bits, &v, sizeof(bits));
		h ^= bits;
		h = bt_splitmix64(&h);
	}
	return h;
}

/* Unlink entry i from the LRU list */
static void
lru_unlink(BtSweepCtx *ctx, int64_t i)
{
	LineEntry  *e = &ctx->entries[i];

	if (e->newer >= 0)
		ctx->entries[e->newer].older = e->older;
	else
		ctx->newest = e->older;
	if (e->older >= 0)
		ctx->entries[e->older].newer = e->newer;
	else
		ctx->oldest = e->newer;
	e->newer = e->older = -1;
}

/* Put entry i at the newest end of the LRU list */
static void
lru_push(BtSweepCtx *ctx, int64_t i)
{
	LineEntry  *e = &ctx->entries[i];

	e->older = ctx->newest;
	e->newer = -1;
	if (ctx->newest >= 0)
		ctx->entries[ctx->newest].newer = i;
	ctx->newest = i;
	if (ctx->oldest < 0)
		ctx->oldest = i;
}

/* Insert entry i into its hash chain */
static void
hash_insert(BtSweepCtx *ctx, int64_t i)
{
	int64_t		b = (int64_t) (ctx->entries[i].hash & (uint64_t) (ctx->nbuckets - 1));

	ctx->entries[i].hnext = ctx->buckets[b];
	ctx->buckets[b] = i;
}

/* Remove entry i from its hash chain */
static void
hash_remove(BtSweepCtx *ctx, int64_t i)
{
	int64_t		b = (int64_t) (ctx->entries[i].hash & (uint64_t) (ctx->nbuckets - 1));
	int64_t    *link = &ctx->buckets[b];

	while (*link != i)
		link = &ctx->entries[*link].hnext;
	*link = ctx->entries[i].hnext;
	ctx->entries[i].hnext = -1;
}

/*
 * Make room for one more free line array in free_slots.  (Here and below,
 * sizes are updated only after the allocator returned: it may throw.)
 */
static void
grow_free_slots(BtSweepCtx *ctx)
{
	if (ctx->nslots == ctx->free_cap)
	{
		int64_t		cap = ctx->free_cap ? ctx->free_cap * 2 : 16;

		ctx->free_slots = ctx->a.realloc_fn(ctx->a.ctx, ctx->free_slots,
											(size_t) cap * sizeof(double *));
		ctx->free_cap = cap;
	}
}

/*
 * evict_one
 *		Drop the least recently used line not used by the current run,
 *		returning its arrays to the free list.  False if every line is in use.
 */
static bool
evict_one(BtSweepCtx *ctx)
{
	for (int64_t i = ctx->oldest; i >= 0; i = ctx->entries[i].newer)
	{
		LineEntry  *e = &ctx->entries[i];

		if (e->run == ctx->run)
			continue;
		lru_unlink(ctx, i);
		hash_remove(ctx, i);
		for (int j = 0; j < e->noutputs; j++)
			ctx->free_slots[ctx->nfree++] = e->out[j];
		e->ind = NULL;
		e->noutputs = 0;
		e->hnext = ctx->free_entry;
		ctx->free_entry = i;
		return true;
	}
	return false;
}

/*
 * take_slots
 *		k line arrays for a new line: free ones, else new ones while the
 *		cache is below its bound, else those of evicted lines, else (every
 *		cached line is in use by this run) new ones beyond the bound.
 */
static void
take_slots(BtSweepCtx *ctx, int k, double **out)
{
	while (ctx->nfree < k)
	{
		double	   *slot;

		if (ctx->nslots >= ctx->max_slots && evict_one(ctx))
			continue;
		grow_free_slots(ctx);
		slot = ctx->a.realloc_fn(ctx->a.ctx, NULL, (size_t) ctx->slot_len * sizeof(double));
		ctx->free_slots[ctx->nfree++] = slot;
		ctx->nslots++;
	}
	for (int j = 0; j < k; j++)
		out[j] = ctx->free_slots[--ctx->nfree];
}

/* A free entry (the entries array and the hash table grow as needed) */
static int64_t
new_entry(BtSweepCtx *ctx)
{
	int64_t		i;

	if (ctx->free_entry >= 0)
	{
		i = ctx->free_entry;
		ctx->free_entry = ctx->entries[i].hnext;
		return i;
	}
	if (ctx->nentries == ctx->entries_cap)
	{
		int64_t		cap = ctx->entries_cap ? ctx->entries_cap * 2 : 16;
		int64_t		nb = 2 * cap;	/* hash buckets: twice as many as entries */
		int64_t    *buckets;

		/* a new, larger hash table, filled below */
		buckets = ctx->a.realloc_fn(ctx->a.ctx, NULL, (size_t) nb * sizeof(int64_t));
		ctx->entries = ctx->a.realloc_fn(ctx->a.ctx, ctx->entries,
										 (size_t) cap * sizeof(LineEntry));
		ctx->entries_cap = cap;
		for (int64_t b = 0; b < nb; b++)
			buckets[b] = -1;
		ctx->buckets = buckets;
		ctx->nbuckets = nb;
		for (int64_t j = 0; j < ctx->nentries; j++)
			if (ctx->entries[j].ind != NULL)
				hash_insert(ctx, j);
	}
	return ctx->nentries++;
}

/*
 * compute_line
 *		Compute a line into out[], exactly as the indicator's compute does:
 *		with its derive hook where it has one (MACD from the cached EMA
 *		lines of its fast and slow periods, which sweeps of MACD's
 *		parameters share).
 */
static void
compute_line(BtSweepCtx *ctx, const BtIndicatorDef *ind, const double *params, double **out)
{
	if (ind->derive != NULL)
		ind->derive(&ctx->lines, params, out);
	else
		ind->compute(&ctx->s, params, out);
}

/*
 * cache_get
 *		The caching provider's get(): the line from the cache, or computed
 *		into arrays of the cache.  Pins the line for the current run.
 */
static const double *
cache_get(BtLines *self, const BtIndicatorDef *ind, const double *params, int output)
{
	BtSweepCtx *ctx = (BtSweepCtx *) self;
	int			np = ind->nparams;
	uint64_t	h = line_hash(ind, params, np);
	double	   *out[BT_IND_MAX_OUTPUTS];
	int			nout = ind->noutputs;
	int64_t		i;
	LineEntry  *e;

	if (ctx->nbuckets > 0)
		for (i = ctx->buckets[h & (uint64_t) (ctx->nbuckets - 1)]; i >= 0;
			 i = ctx->entries[i].hnext)
		{
			bool		same;

			e = &ctx->entries[i];
			same = e->hash == h && e->ind == ind;
			for (int j = 0; same && j < np; j++)
				same = e->params[j] == params[j];
			if (!same)
				continue;
			if (e->run != ctx->run)
			{
				ctx->reused++;
				e->run = ctx->run;
			}
			lru_unlink(ctx, i);
			lru_push(ctx, i);
			return e->out[output];
		}

	/* a miss: compute it into arrays of the cache, then enter it */
	take_slots(ctx, nout, out);
	compute_line(ctx, ind, params, out);
	ctx->computed++;
	i = new_entry(ctx);
	e = &ctx->entries[i];
	memset(e, 0, sizeof(*e));
	e->ind = ind;
	for (int j = 0; j < np; j++)
		e->params[j] = params[j];
	e->hash = h;
	e->noutputs = nout;
	for (int j = 0; j < nout; j++)
		e->out[j] = out[j];
	e->run = ctx->run;
	e->newer = e->older = -1;
	hash_insert(ctx, i);
	lru_push(ctx, i);
	return out[output];
}

/*
 * bt_sweep_ctx_create
 *		A sweep context over s (whose arrays must outlive it), its memory
 *		from a, its line cache bounded by cache_bytes.
 */
BtSweepCtx *
bt_sweep_ctx_create(const BtSeries *s, const BtAlloc *a, size_t cache_bytes)
{
	BtSweepCtx *ctx = a->realloc_fn(a->ctx, NULL, sizeof(BtSweepCtx));
	int64_t		len = s->n > 0 ? s->n : 1;

	memset(ctx, 0, sizeof(*ctx));
	ctx->s = *s;
	ctx->a = *a;
	ctx->lines.s = &ctx->s;
	ctx->lines.get = cache_get;
	ctx->slot_len = len;
	ctx->max_slots = (int64_t) (cache_bytes / ((size_t) len * sizeof(double)));
	ctx->free_entry = -1;
	ctx->newest = ctx->oldest = -1;
	ctx->target = a->realloc_fn(a->ctx, NULL, (size_t) len);
	ctx->buf.equity = NULL;		/* no per-bar arrays: bt_simulate_metrics_into */
	ctx->buf.position = NULL;
	ctx->buf.cash = NULL;
	ctx->buf.trades = NULL;
	ctx->buf.trades_cap = 0;
	ctx->buf.day_ends = NULL;
	return ctx;
}

/*
 * bt_sweep_run
 *		One configuration over the context's series: targets from cached
 *		lines, the simulator on the context's buffers, metrics.  The same
 *		steps, progress calls and results as bt_run.
 */
BtErrCode
bt_sweep_run(BtSweepCtx *ctx, const BtConfig *cfg,
			 BtProgressFn progress, void *progress_arg,
			 BtMetrics *out, BtError *err)
{
	const BtSeries *s = &ctx->s;
	BtSimParams sim;
	BtResult	res;
	int64_t		warmup;
	BtErrCode	rc;

	if (!bt_config_check(cfg, err))
		return BT_ERR_PARAM;
	if (cfg->strategy->needs_signal && s->signal == NULL)
	{
		bt_set_error(err, BT_ERR_PARAM, "strategy \"%s\" needs a signal column",
					 cfg->strategy->name);
		return BT_ERR_PARAM;
	}
	if (progress && progress(progress_arg, BT_STEP_INDICATORS, 0, s->n))
	{
		bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
		return BT_ERR_CANCELLED;
	}
	ctx->run++;					/* unpins the lines of the previous run */
	warmup = cfg->strategy->targets(&ctx->lines, cfg->sp, ctx->target);

	/*
	 * The inferred annualisation factor depends on the series only: infer
	 * it once (bt_compute_metrics would infer the same value each run).
	 */
	sim = cfg->sim;
	if (!(sim.periods_per_year > 0) && s->n > 0)
	{
		if (!ctx->have_ppy)
		{
			ctx->ppy = bt_infer_periods_per_year(s->ts, s->n);
			ctx->have_ppy = true;
		}
		sim.periods_per_year = ctx->ppy;
	}
	if (!sim.day_start_known && s->n > 0)
	{
		if (!ctx->have_day_start)
		{
			ctx->day_start = bt_infer_day_start(s->ts, s->n);
			ctx->have_day_start = true;
		}
		sim.day_start = ctx->day_start;
		sim.day_start_known = true;
	}

	/* the signal strategy's exposures; the ATR of sizing "risk", from the cached lines */
	ctx->buf.exposure = cfg->strategy->needs_signal ? s->signal : NULL;
	ctx->buf.atr = NULL;
	if (sim.sizing == BT_SIZING_RISK && sim.risk_atr > 0)
	{
		double		period = sim.risk_atr_period;

		ctx->buf.atr = ctx->lines.get(&ctx->lines, &bt_ind_atr, &period, 1);
	}
	if (s->n > 0)
		cache_day_ends(ctx, bt_metrics_day_start(s, &sim));
	/* simulation and metrics in one pass: a sweep keeps no equity curve */
	rc = bt_simulate_metrics_into(s, ctx->target, warmup, &sim, &ctx->a, progress,
								  progress_arg, &ctx->buf, &res, err);
	if (rc != BT_OK)
		return rc;
	*out = res.metrics;
	return BT_OK;
}

/*
 * bt_sweep_ctx_stats
 *		Lines computed, and lines reused by a later run, so far.
 */
void
bt_sweep_ctx_stats(const BtSweepCtx *ctx, int64_t *computed, int64_t *reused)
{
	if (computed)
		*computed = ctx->computed;
	if (reused)
		*reused = ctx->reused;
}
