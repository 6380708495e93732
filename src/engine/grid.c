/*-------------------------------------------------------------------------
 *
 * grid.c
 *	  Parameter grids: range axes, the size of a grid, and its expansion
 *	  into configurations (constraints, the strategy's own checks, seeded
 *	  random sampling).
 *
 * Grid expansion is a pure function of the grid, the base configuration and
 * the seed: every process expanding the same grid gets the same
 * combinations in the same order, so the work can be shared among any
 * number of processes.  Sampling uses its own PRNG (splitmix64), never
 * rand().
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/grid.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_sweep.h"

/* ------------------------------------------------------------------------
 * Grids
 * ------------------------------------------------------------------------
 */

/*
 * round15
 *		x rounded to 15 significant decimal digits, so that a range stepping
 *		by 0.1 gives 0.3, not 0.30000000000000004 (values exactly
 *		representable with 15 digits, such as integers, are unchanged).
 */
static double
round15(double x)
{
	char		buf[40];

	if (x == 0 || !isfinite(x))
		return x;
	snprintf(buf, sizeof(buf), "%.15g", x);
	return strtod(buf, NULL);
}

/*
 * bt_grid_range
 *		Fill axis with the values from + k * step, k = 0 .. floor((to - from)
 *		/ step + 1e-9), each rounded to 15 significant digits and checked
 *		against the parameter's definition.
 */
bool
bt_grid_range(const BtStrategyDef *st, int param, double from, double to,
			  double step, const BtAlloc *a, BtGridAxis *axis, BtError *err)
{
	const BtParamDef *def = bt_param_space_def(st, param);
	double		span;
	int64_t		count;

	memset(axis, 0, sizeof(*axis));
	if (def == NULL)
	{
		bt_set_error(err, BT_ERR_PARAM, "no parameter number %d for strategy \"%s\"",
					 param, st->name);
		return false;
	}
	if (!isfinite(from) || !isfinite(to) || !isfinite(step))
	{
		bt_set_error(err, BT_ERR_PARAM, "range of parameter \"%s\" must have finite bounds and step",
					 def->name);
		return false;
	}
	if (step <= 0)
	{
		bt_set_error(err, BT_ERR_PARAM, "range of parameter \"%s\" must have a positive step",
					 def->name);
		return false;
	}
	if (from > to)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "range of parameter \"%s\" is empty: from (%.15g) is greater than to (%.15g)",
					 def->name, from, to);
		return false;
	}
	span = (to - from) / step + 1e-9;
	if (!(span < (double) BT_GRID_MAX_VALUES))
	{
		bt_set_error(err, BT_ERR_PARAM, "range of parameter \"%s\" has more than %d values",
					 def->name, BT_GRID_MAX_VALUES);
		snprintf(err->hint, sizeof(err->hint), "Use a larger step or a narrower range.");
		return false;
	}
	count = (int64_t) floor(span) + 1;

	axis->values = a->realloc_fn(a->ctx, NULL, (size_t) count * sizeof(double));
	for (int64_t k = 0; k < count; k++)
	{
		double		v = round15(from + (double) k * step);

		if (def->type == BT_PARAM_INT && v != floor(v))
		{
			bt_set_error(err, BT_ERR_PARAM,
						 "range of parameter \"%s\" gives %.15g, but the parameter is an integer",
						 def->name, v);
			snprintf(err->hint, sizeof(err->hint),
					 "Use an integral start and step for \"%s\".", def->name);
			return false;
		}
		if (def->type == BT_PARAM_BOOL && v != 0 && v != 1)
		{
			bt_set_error(err, BT_ERR_PARAM,
						 "range of parameter \"%s\" gives %.15g, but the parameter is a boolean",
						 def->name, v);
			return false;
		}
		if (!bt_param_check(def, v, err))
			return false;
		axis->values[k] = v;
	}
	axis->param = param;
	axis->nvalues = count;
	return true;
}

/*
 * bt_grid_size
 *		Product of the axis sizes (1 without axes, 0 if an axis is empty),
 *		or -1 if it does not fit in an int64.
 */
int64_t
bt_grid_size(const BtGrid *g)
{
	int64_t		total = 1;

	for (int i = 0; i < g->naxes; i++)
		if (g->axes[i].nvalues <= 0)
			return 0;
	for (int i = 0; i < g->naxes; i++)
	{
		int64_t		v = g->axes[i].nvalues;

		if (total > INT64_MAX / v)
			return -1;
		total *= v;
	}
	return total;
}

/* A uniform integer in [0, bound), bound > 0, without modulo bias */
static uint64_t
rand_below(uint64_t *state, uint64_t bound)
{
	uint64_t	threshold = (0 - bound) % bound;	/* 2^64 mod bound */

	for (;;)
	{
		uint64_t	r = bt_splitmix64(state);

		if (r >= threshold)
			return r % bound;
	}
}


/*
 * check_grid
 *		Structural checks of a grid: axes on distinct, existing parameters
 *		with values, constraints on existing parameters, sample >= 0.
 */
static bool
check_grid(const BtGrid *g, const BtStrategyDef *st, BtError *err)
{
	int			space = bt_param_space_size(st);

	if (g->naxes < 0 || g->naxes > BT_GRID_MAX_AXES)
	{
		bt_set_error(err, BT_ERR_PARAM, "a parameter grid has at most %d swept parameters",
					 BT_GRID_MAX_AXES);
		return false;
	}
	for (int i = 0; i < g->naxes; i++)
	{
		const BtGridAxis *ax = &g->axes[i];

		if (ax->param < 0 || ax->param >= space)
		{
			bt_set_error(err, BT_ERR_PARAM, "no parameter number %d for strategy \"%s\"",
						 ax->param, st->name);
			return false;
		}
		if (ax->nvalues < 0 || ax->nvalues > BT_GRID_MAX_VALUES ||
			(ax->nvalues > 0 && ax->values == NULL))
		{
			bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" has an invalid list of values",
						 bt_param_space_def(st, ax->param)->name);
			if (ax->nvalues > BT_GRID_MAX_VALUES)
				snprintf(err->hint, sizeof(err->hint), "A swept parameter has at most %d values.",
						 BT_GRID_MAX_VALUES);
			return false;
		}
		for (int j = 0; j < i; j++)
			if (g->axes[j].param == ax->param)
			{
				bt_set_error(err, BT_ERR_PARAM, "parameter \"%s\" is swept more than once",
							 bt_param_space_def(st, ax->param)->name);
				return false;
			}
	}
	if (g->nconstraints < 0 || g->nconstraints > BT_GRID_MAX_CONSTRAINTS)
	{
		bt_set_error(err, BT_ERR_PARAM, "a parameter grid has at most %d constraints",
					 BT_GRID_MAX_CONSTRAINTS);
		return false;
	}
	for (int i = 0; i < g->nconstraints; i++)
	{
		const BtConstraint *c = &g->constraints[i];

		if ((c->lhs.is_param && (c->lhs.param < 0 || c->lhs.param >= space)) ||
			(c->rhs.is_param && (c->rhs.param < 0 || c->rhs.param >= space)) ||
			(int) c->op < (int) BT_CMP_LT || (int) c->op > (int) BT_CMP_NE)
		{
			bt_set_error(err, BT_ERR_PARAM, "constraint %d of the parameter grid is invalid", i + 1);
			return false;
		}
	}
	if (g->sample < 0)
	{
		bt_set_error(err, BT_ERR_PARAM, "the sample size must not be negative");
		return false;
	}
	return true;
}

/* State of the enumeration of a grid's combinations */
typedef struct GridWalk
{
	const BtGrid *g;
	BtConfig	cfg;			/* the current combination */
	int64_t		digit[BT_GRID_MAX_AXES];
	bool	   *valid[BT_GRID_MAX_AXES];	/* per value: passes bt_param_check */
} GridWalk;

/* Set the current combination from the digits of axes from..naxes-1 */
static void
walk_set(GridWalk *w, int from)
{
	for (int i = from; i < w->g->naxes; i++)
		bt_config_set(&w->cfg, w->g->axes[i].param, w->g->axes[i].values[w->digit[i]]);
}

/* Set the current combination to combination number c */
static void
walk_seek(GridWalk *w, int64_t c)
{
	for (int i = w->g->naxes - 1; i >= 0; i--)
	{
		w->digit[i] = c % w->g->axes[i].nvalues;
		c /= w->g->axes[i].nvalues;
	}
	walk_set(w, 0);
}

/* Advance to the next combination (the last axis varies fastest) */
static void
walk_next(GridWalk *w)
{
	int			i = w->g->naxes - 1;

	while (i >= 0 && ++w->digit[i] == w->g->axes[i].nvalues)
	{
		w->digit[i] = 0;
		i--;
	}
	walk_set(w, i < 0 ? 0 : i);
}

/*
 * walk_keep
 *		Is the current combination kept: every swept value valid for its
 *		parameter, every constraint satisfied, and bt_config_check passed?
 */
static bool
walk_keep(const GridWalk *w)
{
	BtError		e;

	for (int i = 0; i < w->g->naxes; i++)
		if (!w->valid[i][w->digit[i]])
			return false;
	for (int i = 0; i < w->g->nconstraints; i++)
		if (!bt_constraint_holds(&w->g->constraints[i], &w->cfg))
			return false;
	return bt_config_check(&w->cfg, &e);
}

/*
 * bt_grid_expand
 *		Expand a grid into configurations (see bt_sweep.h).  Sampling draws a
 *		uniform subset of the kept combinations with reservoir sampling
 *		(Algorithm R) driven by splitmix64 from g->seed, then sorts it back
 *		into combination order.
 */
BtErrCode
bt_grid_expand(const BtGrid *g, const BtConfig *base, int64_t max_combos,
			   const BtAlloc *a, BtConfig **combos, int64_t *ncombos,
			   int64_t *nskipped, BtError *err)
{
	const BtStrategyDef *st = base->strategy;
	int64_t		raw;
	int64_t		kept = 0;
	GridWalk	w;
	BtConfig   *out = NULL;

	*combos = NULL;
	*ncombos = 0;
	*nskipped = 0;
	if (!check_grid(g, st, err))
		return BT_ERR_PARAM;

	raw = bt_grid_size(g);
	if (raw < 0)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "the parameter grid has more than %lld combinations",
					 (long long) INT64_MAX);
		snprintf(err->hint, sizeof(err->hint),
				 "Narrow the ranges or lists of values.");
		return BT_ERR_PARAM;
	}
	if (g->sample == 0 && raw > max_combos)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "the parameter grid has %lld combinations, more than the limit of %lld",
					 (long long) raw, (long long) max_combos);
		snprintf(err->hint, sizeof(err->hint),
				 "Narrow the ranges or lists of values, or run a random sample of at most %lld combinations.",
				 (long long) max_combos);
		return BT_ERR_PARAM;
	}
	if (g->sample > 0 && g->sample > max_combos)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "a sample of %lld combinations is more than the limit of %lld",
					 (long long) g->sample, (long long) max_combos);
		snprintf(err->hint, sizeof(err->hint),
				 "Sample at most %lld combinations.", (long long) max_combos);
		return BT_ERR_PARAM;
	}
	if (g->sample > 0 && raw > BT_GRID_MAX_ENUMERATE)
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "the parameter grid has %lld combinations, more than the %lld a sample can be drawn from",
					 (long long) raw, (long long) BT_GRID_MAX_ENUMERATE);
		snprintf(err->hint, sizeof(err->hint),
				 "Narrow the ranges or lists of values: a sample is drawn from the combinations that satisfy the constraints, so every combination is enumerated.");
		return BT_ERR_PARAM;
	}
	if (raw == 0)
		return BT_OK;

	/* each swept value checked once against its parameter's definition */
	memset(&w, 0, sizeof(w));
	w.g = g;
	w.cfg = *base;
	for (int i = 0; i < g->naxes; i++)
	{
		const BtParamDef *def = bt_param_space_def(st, g->axes[i].param);
		BtError		e;

		w.valid[i] = a->realloc_fn(a->ctx, NULL, (size_t) g->axes[i].nvalues * sizeof(bool));
		for (int64_t k = 0; k < g->axes[i].nvalues; k++)
			w.valid[i][k] = bt_param_check(def, g->axes[i].values[k], &e);
	}
	walk_seek(&w, 0);

	if (g->sample == 0)
	{
		int64_t		cap = 0;

		for (int64_t c = 0; c < raw; c++, walk_next(&w))
		{
			if (!walk_keep(&w))
				continue;
			if (kept == cap)
			{
				cap = cap ? (cap * 2 < raw ? cap * 2 : raw) : (raw < 64 ? raw : 64);
				out = a->realloc_fn(a->ctx, out, (size_t) cap * sizeof(BtConfig));
			}
			out[kept++] = w.cfg;
		}
		*nskipped = raw - kept;
		*ncombos = kept;
		*combos = kept > 0 ? out : NULL;
		return BT_OK;
	}
	else
	{
		int64_t		sample = g->sample;
		int64_t	   *res = a->realloc_fn(a->ctx, NULL,
										(size_t) (sample < raw ? sample : raw) * sizeof(int64_t));
		uint64_t	rng = g->seed;
		int64_t		nres;

		for (int64_t c = 0; c < raw; c++, walk_next(&w))
		{
			if (!walk_keep(&w))
				continue;
			if (kept < sample)
				res[kept] = c;
			else
			{
				uint64_t	j = rand_below(&rng, (uint64_t) kept + 1);

				if (j < (uint64_t) sample)
					res[j] = c;
			}
			kept++;
		}
		nres = kept < sample ? kept : sample;
		*nskipped = raw - kept;
		if (nres == 0)
			return BT_OK;
		bt_sort_i64(res, nres);
		out = a->realloc_fn(a->ctx, NULL, (size_t) nres * sizeof(BtConfig));
		for (int64_t k = 0; k < nres; k++)
		{
			walk_seek(&w, res[k]);
			out[k] = w.cfg;
		}
		*ncombos = nres;
		*combos = out;
		return BT_OK;
	}
}
