/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  Parameter sweeps: the parameter space of a strategy plus the
 *	  simulator, constraints, grid expansion (lists, ranges, seeded random
 *	  sampling) and sweep contexts, which run many configurations over one
 *	  series with indicator lines computed once and buffers reused.
 *
 * Grid expansion is a pure function of the grid, the base configuration and
 * the seed: every process expanding the same grid gets the same
 * combinations in the same order, so the work can be shared among any
 * number of processes.  Sampling uses its own PRNG (splitmix64), never
 * rand().
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_sweep.h"

/* ------------------------------------------------------------------------
 * The parameter space
 * ------------------------------------------------------------------------
 */

/*
 * bt_param_space_size
 *		Parameters of the strategy followed by the simulator's.
 */
int
bt_param_space_size(const BtStrategyDef *st)
{
	return st->nparams + bt_n_sim_params;
}

/*
 * bt_param_space_def
 *		Definition of parameter `index` of the space, or NULL if out of range.
 */
const BtParamDef *
bt_param_space_def(const BtStrategyDef *st, int index)
{
	if (index < 0 || index >= bt_param_space_size(st))
		return NULL;
	if (index < st->nparams)
		return &st->params[index];
	return &bt_sim_params[index - st->nparams];
}

/*
 * bt_param_space_find
 *		Index of the parameter called `name` (the strategy's first), or -1.
 */
int
bt_param_space_find(const BtStrategyDef *st, const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < st->nparams; i++)
		if (strcmp(st->params[i].name, name) == 0)
			return i;
	for (int i = 0; i < bt_n_sim_params; i++)
		if (strcmp(bt_sim_params[i].name, name) == 0)
			return st->nparams + i;
	return -1;
}

/*
 * bt_sim_get
 *		The idx-th simulator field (bt_sim_params order) as a double: bools
 *		0/1, enums their index.  The inverse of bt_sim_set; NaN if idx is
 *		out of range.
 */
double
bt_sim_get(const BtSimParams *sim, int idx)
{
	switch (idx)
	{
		case 0: return sim->initial_capital;
		case 1: return sim->size;
		case 2: return sim->lot_size;
		case 3: return sim->fractional ? 1.0 : 0.0;
		case 4: return sim->allow_short ? 1.0 : 0.0;
		case 5: return (double) sim->fill;
		case 6: return sim->commission;
		case 7: return sim->commission_min;
		case 8: return sim->commission_fixed;
		case 9: return sim->stamp_duty;
		case 10: return (double) sim->stamp_duty_on;
		case 11: return sim->slippage_bps;
		case 12: return sim->stop_loss;
		case 13: return sim->take_profit;
		case 14: return sim->trailing_stop;
		case 15: return sim->periods_per_year;
		case 16: return sim->risk_free_rate;
		default: return NAN;
	}
}

/*
 * bt_config_get
 *		Value of parameter `index` of the space in cfg (NaN if out of range).
 */
double
bt_config_get(const BtConfig *cfg, int index)
{
	int			np = cfg->strategy->nparams;

	if (index >= 0 && index < np)
		return cfg->sp[index];
	return bt_sim_get(&cfg->sim, index - np);
}

/*
 * bt_config_set
 *		Set parameter `index` of the space in cfg (ignored if out of range).
 */
void
bt_config_set(BtConfig *cfg, int index, double value)
{
	int			np = cfg->strategy->nparams;

	if (index < 0)
		return;
	if (index < np)
		cfg->sp[index] = value;
	else
		bt_sim_set(&cfg->sim, index - np, value);
}

/* ------------------------------------------------------------------------
 * Constraints
 * ------------------------------------------------------------------------
 */

/* Character classes of the constraint syntax (ASCII; no locale) */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool
is_op_char(char c)
{
	return c == '<' || c == '>' || c == '=' || c == '!';
}

static bool
is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* Length of the token starting at p: a run of non-space characters */
static int
token_len(const char *p)
{
	int			len = 0;

	while (p[len] != '\0' && !is_space(p[len]) && len < 64)
		len++;
	return len;
}

/*
 * parse_operand
 *		An operand at *pp (after spaces): a parameter name or a number.
 *		Advances *pp past it.  `which` is "left" or "right", for messages.
 */
static bool
parse_operand(const BtStrategyDef *st, const char *text, const char **pp, const char *which,
			  BtOperand *o, BtError *err)
{
	const char *p = *pp;

	while (is_space(*p))
		p++;
	if (*p == '\0')
	{
		bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": missing %s operand",
					 text, which);
		snprintf(err->hint, sizeof(err->hint),
				 "Write a constraint as \"<operand> <operator> <operand>\", e.g. \"fast < slow\".");
		return false;
	}
	if (is_ident_start(*p))
	{
		char		name[64];
		int			len = 0;
		int			idx;

		while (is_ident_char(p[len]))
			len++;
		if (len >= (int) sizeof(name))
			idx = -1;
		else
		{
			memcpy(name, p, (size_t) len);
			name[len] = '\0';
			idx = bt_param_space_find(st, name);
		}
		if (idx < 0)
		{
			int			off;

			bt_set_error(err, BT_ERR_PARAM, "unknown parameter \"%.*s\" in constraint \"%.100s\"",
						 len < 64 ? len : 64, p, text);
			off = snprintf(err->hint, sizeof(err->hint),
						   "Constraints compare numbers and parameters of the simulator or of strategy \"%s\"",
						   st->name);
			for (int i = 0; i < st->nparams && off > 0 && off < (int) sizeof(err->hint); i++)
				off += snprintf(err->hint + off, sizeof(err->hint) - (size_t) off, "%s%s",
								i == 0 ? ": " : ", ", st->params[i].name);
			if (off > 0 && off < (int) sizeof(err->hint))
				snprintf(err->hint + off, sizeof(err->hint) - (size_t) off, ".");
			return false;
		}
		o->is_param = true;
		o->param = idx;
		o->value = 0;
		*pp = p + len;
		return true;
	}
	if (is_number_char(*p))
	{
		char	   *end;
		double		v = strtod(p, &end);
		bool		ok = end > p && isfinite(v) && !is_ident_char(*end) && *end != '.';

		for (const char *q = p; ok && q < end; q++)
			ok = is_number_char(*q);	/* decimal only: no hex, inf or nan */
		if (!ok)
		{
			bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": invalid number \"%.*s\"",
						 text, token_len(p), p);
			return false;
		}
		o->is_param = false;
		o->param = -1;
		o->value = v;
		*pp = end;
		return true;
	}
	bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": unexpected \"%.*s\" in the %s operand",
				 text, token_len(p), p, which);
	snprintf(err->hint, sizeof(err->hint),
			 "An operand is a parameter name or a number.");
	return false;
}

/*
 * bt_constraint_parse
 *		Parse "<operand> <op> <operand>" (see bt_sweep.h).
 */
bool
bt_constraint_parse(const BtStrategyDef *st, const char *text, BtConstraint *out,
					BtError *err)
{
	static const struct
	{
		const char *text;
		BtCmpOp		op;
	}			ops[] =
	{
		{"<", BT_CMP_LT}, {"<=", BT_CMP_LE}, {">", BT_CMP_GT}, {">=", BT_CMP_GE},
		{"=", BT_CMP_EQ}, {"==", BT_CMP_EQ}, {"!=", BT_CMP_NE}, {"<>", BT_CMP_NE}
	};
	const char *p;
	int			oplen = 0;
	bool		found = false;

	if (text == NULL)
		text = "";
	p = text;
	if (!parse_operand(st, text, &p, "left", &out->lhs, err))
		return false;

	while (is_space(*p))
		p++;
	while (is_op_char(p[oplen]))
		oplen++;
	if (oplen == 0)
	{
		if (*p == '\0')
			bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": missing operator", text);
		else
			bt_set_error(err, BT_ERR_PARAM,
						 "invalid constraint \"%.100s\": expected an operator, found \"%.*s\"",
						 text, token_len(p), p);
		snprintf(err->hint, sizeof(err->hint),
				 "The operators are <, <=, >, >=, = (or ==) and != (or <>).");
		return false;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((int) strlen(ops[i].text) == oplen && strncmp(ops[i].text, p, (size_t) oplen) == 0)
		{
			out->op = ops[i].op;
			found = true;
			break;
		}
	if (!found)
	{
		bt_set_error(err, BT_ERR_PARAM, "invalid constraint \"%.100s\": unknown operator \"%.*s\"",
					 text, oplen < 16 ? oplen : 16, p);
		snprintf(err->hint, sizeof(err->hint),
				 "The operators are <, <=, >, >=, = (or ==) and != (or <>).");
		return false;
	}
	p += oplen;

	if (!parse_operand(st, text, &p, "right", &out->rhs, err))
		return false;
	while (is_space(*p))
		p++;
	if (*p != '\0')
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "invalid constraint \"%.100s\": unexpected \"%.*s\" after the right operand",
					 text, token_len(p), p);
		snprintf(err->hint, sizeof(err->hint),
				 "A constraint compares two operands, e.g. \"fast < slow\"; give several constraints separately.");
		return false;
	}
	return true;
}

/* Value of an operand in a configuration */
static inline double
operand_value(const BtOperand *o, const BtConfig *cfg)
{
	return o->is_param ? bt_config_get(cfg, o->param) : o->value;
}

/* Does cfg satisfy constraint c? */
static bool
constraint_holds(const BtConstraint *c, const BtConfig *cfg)
{
	double		l = operand_value(&c->lhs, cfg);
	double		r = operand_value(&c->rhs, cfg);

	switch (c->op)
	{
		case BT_CMP_LT: return l < r;
		case BT_CMP_LE: return l <= r;
		case BT_CMP_GT: return l > r;
		case BT_CMP_GE: return l >= r;
		case BT_CMP_EQ: return l == r;
		case BT_CMP_NE: return l != r;
	}
	return false;
}

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

/* splitmix64: the next value of the sequence of *state */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A uniform integer in [0, bound), bound > 0, without modulo bias */
static uint64_t
rand_below(uint64_t *state, uint64_t bound)
{
	uint64_t	threshold = (0 - bound) % bound;	/* 2^64 mod bound */

	for (;;)
	{
		uint64_t	r = splitmix64(state);

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
		if (!constraint_holds(&w->g->constraints[i], &w->cfg))
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

/* ------------------------------------------------------------------------
 * Sweep contexts
 * ------------------------------------------------------------------------
 */

/* A cached line: every output of one indicator with one set of parameters */
typedef struct LineEntry
{
	int			kind;			/* BtLineKind, or -1 while the entry is free */
	double		params[BT_LINE_MAX_PARAMS];
	uint64_t	hash;
	int			noutputs;
	double	   *out[BT_LINE_MAX_OUTPUTS];
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
};

/* Hash of a line key (+0 and -0 alike) */
static uint64_t
line_hash(int kind, const double *params, int np)
{
	uint64_t	h = (uint64_t) kind + 1;

	for (int i = 0; i < np; i++)
	{
		double		v = params[i] + 0.0;
		uint64_t	bits;

		memcpy(&bits, &v, sizeof(bits));
		h ^= bits;
		h = splitmix64(&h);
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
		e->kind = -1;
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
			if (ctx->entries[j].kind >= 0)
				hash_insert(ctx, j);
	}
	return ctx->nentries++;
}

/*
 * compute_line
 *		Compute a line into out[], exactly as bt_line_compute does.  MACD
 *		is built from the cached EMA lines of its fast and slow periods (the
 *		same operations as bt_macd, so the same values), which sweeps of
 *		MACD's parameters share.
 */
static void
compute_line(BtSweepCtx *ctx, BtLineKind kind, const double *params, double **out)
{
	const BtSeries *s = &ctx->s;

	if (kind == BT_LINE_MACD && s->n > 0 && s->close != NULL &&
		(int) params[0] > 0 && (int) params[1] > 0 && (int) params[2] > 0)
	{
		double		pf[BT_LINE_MAX_PARAMS] = {params[0], 0, 0};
		double		ps[BT_LINE_MAX_PARAMS] = {params[1], 0, 0};
		const double *fast = ctx->lines.get(&ctx->lines, BT_LINE_EMA, pf, 0);
		const double *slow = ctx->lines.get(&ctx->lines, BT_LINE_EMA, ps, 0);
		double	   *macd = out[BT_MACD_OUT_MACD],
				   *sig = out[BT_MACD_OUT_SIGNAL],
				   *hist = out[BT_MACD_OUT_HIST];

		for (int64_t t = 0; t < s->n; t++)
			macd[t] = fast[t] - slow[t];
		bt_ema(macd, s->n, (int) params[2], sig);
		for (int64_t t = 0; t < s->n; t++)
			hist[t] = macd[t] - sig[t];
		return;
	}
	bt_line_compute(s, kind, params, out);
}

/*
 * cache_get
 *		The caching provider's get(): the line from the cache, or computed
 *		into arrays of the cache.  Pins the line for the current run.
 */
static const double *
cache_get(BtLines *self, BtLineKind kind, const double *params, int output)
{
	BtSweepCtx *ctx = (BtSweepCtx *) self;
	int			np = bt_line_nparams(kind);
	uint64_t	h = line_hash((int) kind, params, np);
	double	   *out[BT_LINE_MAX_OUTPUTS];
	int			nout = bt_line_noutputs(kind);
	int64_t		i;
	LineEntry  *e;

	if (ctx->nbuckets > 0)
		for (i = ctx->buckets[h & (uint64_t) (ctx->nbuckets - 1)]; i >= 0;
			 i = ctx->entries[i].hnext)
		{
			bool		same;

			e = &ctx->entries[i];
			same = e->hash == h && e->kind == (int) kind;
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
	compute_line(ctx, kind, params, out);
	ctx->computed++;
	i = new_entry(ctx);
	e = &ctx->entries[i];
	memset(e, 0, sizeof(*e));
	e->kind = (int) kind;
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
	ctx->buf.equity = a->realloc_fn(a->ctx, NULL, (size_t) len * sizeof(double));
	ctx->buf.position = a->realloc_fn(a->ctx, NULL, (size_t) len * sizeof(double));
	ctx->buf.trades = NULL;
	ctx->buf.trades_cap = 0;
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
	warmup = bt_strategy_targets(cfg->strategy, cfg->sp, ctx->target, &ctx->lines, &ctx->a);

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

	rc = bt_simulate_into(s, ctx->target, warmup, &sim, &ctx->a, progress, progress_arg,
						  &ctx->buf, &res, err);
	if (rc != BT_OK)
		return rc;
	if (progress && progress(progress_arg, BT_STEP_METRICS, 0, s->n))
	{
		bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
		return BT_ERR_CANCELLED;
	}
	bt_compute_metrics(s, warmup, &sim, &res);
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
