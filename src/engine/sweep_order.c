/*-------------------------------------------------------------------------
 *
 * sweep_order.c
 *	  The order in which a process runs a sweep's combinations, so that its
 *	  line cache (sweep.c) computes each indicator line as few times as
 *	  possible.
 *
 * The grid lists combinations with the first axis varying slowest: for
 * sma_cross over fast 5..50 x slow 20..200, fast=5 with every slow, then
 * fast=10 with every slow...  When a row's lines do not fit in the cache
 * (1M bars: 64 MB hold 8 lines, a row needs 11), least-recently-used
 * eviction drops each slow line just before the next row needs it, and
 * every run computes its slow line again: 100 lines for 90 combinations
 * where 18 are distinct.  bt_sweep_order finds an order greedily: next, the
 * combination that shares a line with the last one and needs the fewest
 * lines the (simulated) cache does not hold; that order computes 42 lines
 * in the example above.  Only the order of the runs changes: each
 * combination's metrics do not depend on what ran before (sweep.c), so the
 * results are the same bit for bit.
 *
 * A combination's lines are found by running its strategy's targets on a
 * one-bar series with a line provider that records what it is asked for
 * (the lines depend on the parameters only, not on the bars).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sweep_order.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_sweep.h"

/* Lines of one combination that the order looks at (more are ignored) */
#define ORDER_MAX_LINES		8

/* A distinct line: indicator and parameters */
typedef struct OrderLine
{
	const BtIndicatorDef *ind;
	double		params[BT_IND_MAX_PARAMS];
	uint64_t	hash;
	int			weight;			/* line arrays it takes in the cache */
} OrderLine;

/* The recording line provider */
typedef struct Recorder
{
	BtLines		lines;			/* must be first */
	double		dummy[BT_IND_MAX_OUTPUTS][1];
	const BtIndicatorDef *ind[ORDER_MAX_LINES];
	double		params[ORDER_MAX_LINES][BT_IND_MAX_PARAMS];
	int			n;
} Recorder;

static const double *
record_get(BtLines *self, const BtIndicatorDef *ind, const double *params, int output)
{
	Recorder   *r = (Recorder *) self;

	if (r->n < ORDER_MAX_LINES)
	{
		r->ind[r->n] = ind;
		memset(r->params[r->n], 0, sizeof(r->params[r->n]));
		memcpy(r->params[r->n], params, (size_t) ind->nparams * sizeof(double));
		r->n++;
	}
	return r->dummy[output];
}

static uint64_t
key_hash(const BtIndicatorDef *ind, const double *params)
{
	uint64_t	h = (uint64_t) (uintptr_t) ind;

	for (int i = 0; i < BT_IND_MAX_PARAMS; i++)
	{
		double		v = params[i] + 0.0;	/* +0 and -0 alike */
		uint64_t	bits;

		memcpy(&bits, &v, sizeof(bits));
		h ^= bits;
		h = bt_splitmix64(&h);
	}
	return h;
}

/* The simulated cache: an LRU list of line ids with weights */
typedef struct SimCache
{
	int64_t    *newer;
	int64_t    *older;
	uint8_t    *in;
	int64_t		newest;
	int64_t		oldest;
	int64_t		used;
	int64_t		cap;
} SimCache;

static void
sim_unlink(SimCache *c, int64_t l)
{
	if (c->newer[l] >= 0)
		c->older[c->newer[l]] = c->older[l];
	else
		c->newest = c->older[l];
	if (c->older[l] >= 0)
		c->newer[c->older[l]] = c->newer[l];
	else
		c->oldest = c->newer[l];
	c->newer[l] = c->older[l] = -1;
}

static void
sim_push(SimCache *c, int64_t l)
{
	c->older[l] = c->newest;
	c->newer[l] = -1;
	if (c->newest >= 0)
		c->newer[c->newest] = l;
	c->newest = l;
	if (c->oldest < 0)
		c->oldest = l;
}

/*
 * Use the lines ids[0..k-1] of one run, as cache_get does: hits move to the
 * newest end, misses evict the oldest lines not used by this run.
 */
static void
sim_run(SimCache *c, const OrderLine *lines, const int64_t *ids, int k)
{
	for (int j = 0; j < k; j++)
	{
		int64_t		l = ids[j];

		if (c->in[l])
		{
			sim_unlink(c, l);
			sim_push(c, l);
			continue;
		}
		while (c->used + lines[l].weight > c->cap)
		{
			int64_t		v = c->oldest;
			bool		mine = false;

			for (; v >= 0; v = c->newer[v])
			{
				mine = false;
				for (int q = 0; q < k; q++)
					mine = mine || ids[q] == v;
				if (!mine)
					break;
			}
			if (v < 0)
				break;			/* every cached line is this run's */
			sim_unlink(c, v);
			c->in[v] = 0;
			c->used -= lines[v].weight;
		}
		c->in[l] = 1;
		c->used += lines[l].weight;
		sim_push(c, l);
	}
}

/*
 * bt_sweep_order
 *		See bt_sweep.h.
 */
void
bt_sweep_order(const BtStrategyDef *st, const BtConfig *combos, int64_t n,
			   int64_t cache_arrays, const BtAlloc *a, int64_t *order)
{
	const BtAlloc *al = a;
	int64_t    *cl;				/* n x ORDER_MAX_LINES line ids */
	int8_t	   *ncl;			/* lines per combination */
	OrderLine  *lines;
	int64_t		nlines = 0;
	int64_t    *table;
	int64_t		tsize = 16;
	int64_t		total_weight = 0;
	int64_t    *ustart;			/* users of line l: ulist[ustart[l] .. + ucount[l]] */
	int64_t    *ucount;
	int64_t    *ulist;			/* combination * ORDER_MAX_LINES + its k */
	int64_t    *upos;			/* where combination i's k-th entry is in ulist */
	uint8_t    *visited;
	SimCache	c;
	int64_t		last = -1;
	int64_t		next_unvisited = 0;
	BtSeries	one;
	int64_t		ts1 = 0;
	double		px1 = 1.0;
	int8_t		target1;
	Recorder	r;

	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	if (n < 3)
		return;

	while (tsize < 2 * n * ORDER_MAX_LINES)
		tsize *= 2;
	cl = al->realloc_fn(al->ctx, NULL, (size_t) n * ORDER_MAX_LINES * sizeof(int64_t));
	ncl = al->realloc_fn(al->ctx, NULL, (size_t) n);
	lines = al->realloc_fn(al->ctx, NULL, (size_t) n * ORDER_MAX_LINES * sizeof(OrderLine));
	table = al->realloc_fn(al->ctx, NULL, (size_t) tsize * sizeof(int64_t));
	for (int64_t t = 0; t < tsize; t++)
		table[t] = -1;

	/* ---- each combination's lines, interned ---- */
	memset(&one, 0, sizeof(one));
	one.n = 1;
	one.ts = &ts1;
	one.open = one.high = one.low = one.close = one.volume = one.signal = &px1;
	for (int64_t i = 0; i < n; i++)
	{
		memset(&r, 0, sizeof(r));
		r.lines.s = &one;
		r.lines.get = record_get;
		(void) st->targets(&r.lines, combos[i].sp, &target1);
		ncl[i] = 0;
		for (int j = 0; j < r.n; j++)
		{
			uint64_t	h = key_hash(r.ind[j], r.params[j]);
			int64_t		t = (int64_t) (h & (uint64_t) (tsize - 1));
			int64_t		id;
			bool		dup = false;

			while ((id = table[t]) >= 0 &&
				   !(lines[id].hash == h && lines[id].ind == r.ind[j] &&
					 memcmp(lines[id].params, r.params[j], sizeof(lines[id].params)) == 0))
				t = (t + 1) & (tsize - 1);
			if (id < 0)
			{
				id = nlines++;
				lines[id].ind = r.ind[j];
				memcpy(lines[id].params, r.params[j], sizeof(lines[id].params));
				lines[id].hash = h;
				lines[id].weight = r.ind[j]->noutputs;
				total_weight += lines[id].weight;
				table[t] = id;
			}
			for (int q = 0; q < ncl[i]; q++)
				dup = dup || cl[i * ORDER_MAX_LINES + q] == id;
			if (!dup)
				cl[i * ORDER_MAX_LINES + ncl[i]++] = id;
		}
	}
	/* everything fits: the grid's order computes each line once */
	if (total_weight <= cache_arrays || nlines == 0)
		return;

	/* ---- the combinations using each line ---- */
	ustart = al->realloc_fn(al->ctx, NULL, (size_t) nlines * sizeof(int64_t));
	ucount = al->realloc_fn(al->ctx, NULL, (size_t) nlines * sizeof(int64_t));
	ulist = al->realloc_fn(al->ctx, NULL, (size_t) n * ORDER_MAX_LINES * sizeof(int64_t));
	upos = al->realloc_fn(al->ctx, NULL, (size_t) n * ORDER_MAX_LINES * sizeof(int64_t));
	visited = al->realloc_fn(al->ctx, NULL, (size_t) n);
	memset(ucount, 0, (size_t) nlines * sizeof(int64_t));
	memset(visited, 0, (size_t) n);
	for (int64_t i = 0; i < n; i++)
		for (int j = 0; j < ncl[i]; j++)
			ucount[cl[i * ORDER_MAX_LINES + j]]++;
	for (int64_t l = 0, off = 0; l < nlines; l++)
	{
		ustart[l] = off;
		off += ucount[l];
		ucount[l] = 0;
	}
	for (int64_t i = 0; i < n; i++)
		for (int j = 0; j < ncl[i]; j++)
		{
			int64_t		l = cl[i * ORDER_MAX_LINES + j];
			int64_t		p = ustart[l] + ucount[l]++;

			ulist[p] = i * ORDER_MAX_LINES + j;
			upos[i * ORDER_MAX_LINES + j] = p;
		}

	c.newer = al->realloc_fn(al->ctx, NULL, (size_t) nlines * sizeof(int64_t));
	c.older = al->realloc_fn(al->ctx, NULL, (size_t) nlines * sizeof(int64_t));
	c.in = al->realloc_fn(al->ctx, NULL, (size_t) nlines);
	memset(c.in, 0, (size_t) nlines);
	for (int64_t l = 0; l < nlines; l++)
		c.newer[l] = c.older[l] = -1;
	c.newest = c.oldest = -1;
	c.used = 0;
	c.cap = cache_arrays > 0 ? cache_arrays : 1;

	/* ---- greedy: next, a neighbour of the last run needing fewest new lines ---- */
	for (int64_t step = 0; step < n; step++)
	{
		int64_t		best = -1;
		int			best_miss = ORDER_MAX_LINES + 1;

		/* candidates: unvisited users of the last run's lines, else of any cached line */
		for (int pass = 0; pass < 2 && best < 0; pass++)
		{
			int64_t		lv = c.newest;
			int			j = 0;

			for (;;)
			{
				int64_t		l;

				if (pass == 0)
				{
					if (last < 0 || j >= ncl[last])
						break;
					l = cl[last * ORDER_MAX_LINES + j++];
				}
				else
				{
					if (lv < 0)
						break;
					l = lv;
					lv = c.older[lv];
				}
				for (int64_t p = ustart[l]; p < ustart[l] + ucount[l] && best_miss > 0; p++)
				{
					int64_t		i = ulist[p] / ORDER_MAX_LINES;
					int			miss = 0;

					for (int q = 0; q < ncl[i]; q++)
						miss += !c.in[cl[i * ORDER_MAX_LINES + q]];
					if (miss < best_miss || (miss == best_miss && i < best))
					{
						best = i;
						best_miss = miss;
					}
				}
				if (best_miss == 0 || (pass == 1 && best >= 0))
					break;
			}
		}
		if (best < 0)
		{
			while (visited[next_unvisited])
				next_unvisited++;
			best = next_unvisited;
		}

		/* run it: off the users lists, into the simulated cache */
		order[step] = best;
		visited[best] = 1;
		for (int j = 0; j < ncl[best]; j++)
		{
			int64_t		l = cl[best * ORDER_MAX_LINES + j];
			int64_t		p = upos[best * ORDER_MAX_LINES + j];
			int64_t		lastp = ustart[l] + --ucount[l];

			ulist[p] = ulist[lastp];
			upos[ulist[p]] = p;
		}
		sim_run(&c, lines, &cl[best * ORDER_MAX_LINES], ncl[best]);
		last = best;
	}
}
