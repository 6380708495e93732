/*-------------------------------------------------------------------------
 *
 * sweep_grid.c
 *	  The plan of a sweep: its grid and params parsed from jsonb, checked
 *	  against pg_backtest.max_combinations, and its combinations expanded
 *	  (bt_grid_expand); for backtest_sweep, walk-forward and sweep tasks.
 *
 * The grid is a jsonb object.  Each key is a parameter of the strategy or
 * of the simulator, with a list of values ([5, 10, 20]; booleans and enum
 * strings for such parameters) or a range ({"from": 5, "to": 50,
 * "step": 5}); the special keys are "constraint" (a string or an array of
 * strings "<param|number> <op> <param|number>", parsed by the engine,
 * never SQL), "sample" and "seed" (random search), "sort_by" and "top".
 * Swept parameters are numbered in the order of the parameter space (the
 * strategy's parameters in definition order, then the simulator's), never
 * in jsonb key order: that order makes the combination order (the first
 * swept parameter varies slowest) and the p1..p4 result columns.
 *
 * Decisions (also in the SQL comments and the README):
 *	- a parameter both swept in the grid and set in params is an error;
 *	- the strategy's cross-parameter checks (e.g. fast < slow) and the
 *	  simulator's are applied to each combination, not to params alone:
 *	  combinations failing them (or a constraint) are skipped with a NOTICE;
 *	- rows are always sorted by the objective (default sharpe_ratio),
 *	  descending except for the columns where lower is better
 *	  (volatility_ann_pct, commissions and the two drawdown durations),
 *	  NULLs last, ties in combination order.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_grid.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/params.h"
#include "core/results.h"
#include "sweep.h"

/* ---- jsonb helpers ----------------------------------------------------------- */

/* Name of a jsonb value's type, for messages */
static const char *
jbv_type(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a container";
	}
}

/* An integer option of the grid ("sample", "seed", "top") */
static int64
grid_int_option(const char *key, JsonbValue *v, bool positive)
{
	double		d;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grid option \"%s\" must be an integer, not %s", key, jbv_type(v))));
	d = btpg_jbv_double(v);
	if (d != floor(d) || fabs(d) >= 9.2e18)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grid option \"%s\" must be an integer, not %g", key, d)));
	if (positive && d < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grid option \"%s\" must be at least 1, not %.0f", key, d)));
	return (int64) d;
}

/* ---- names, for hints ------------------------------------------------------- */

/* "fast, slow, initial_capital, ...": the parameters of a strategy's space */
static char *
param_names(const BtStrategyDef *st)
{
	StringInfoData buf;
	int			n = bt_param_space_size(st);

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", bt_param_space_def(st, i)->name);
	return buf.data;
}

/* ---- grid ---------------------------------------------------------------------- */

/* One value of a list in the grid, as the double the engine stores */
static double
grid_value(const BtParamDef *def, JsonbValue *v)
{
	static const char *const plural[] = {
		[BT_PARAM_INT] = "numbers", [BT_PARAM_NUM] = "numbers",
		[BT_PARAM_BOOL] = "booleans", [BT_PARAM_ENUM] = "strings"
	};
	double		d;
	StringInfoData choices;
	BtError		err;

	switch (btpg_jsonb_param(def, v, &d, &choices, &err))
	{
		case BTPG_VALUE_OK:
			break;
		case BTPG_VALUE_TYPE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("grid values of parameter \"%s\" must be %s, not %s",
							def->name, plural[def->type], jbv_type(v)),
					 def->type == BT_PARAM_ENUM ? errhint("Valid values are: %s.", choices.data) :
					 def->type != BT_PARAM_BOOL ?
					 errhint("Give a list of numbers, e.g. [5, 10, 20], or a range, e.g. {\"from\": 5, \"to\": 50, \"step\": 5}.") : 0));
			break;
		case BTPG_VALUE_CHOICE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value \"%.*s\" in the grid for parameter \"%s\"",
							v->val.string.len, v->val.string.val, def->name),
					 errhint("Valid values are: %s.", choices.data)));
			break;
		case BTPG_VALUE_NOT_INTEGER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("grid values of parameter \"%s\" must be integers, not %g",
							def->name, d)));
			break;
		case BTPG_VALUE_CHECK:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value in the grid: %s", err.msg),
					 err.hint[0] ? errhint("%s", err.hint) : 0));
			break;
	}
	return d;
}

/* A list axis: every element of the array, in the order given */
static void
grid_list(const BtParamDef *def, JsonbContainer *arr, BtGridAxis *axis)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = JsonContainerSize(arr);

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the grid gives no value for parameter \"%s\"", def->name),
				 errhint("List at least one value, e.g. [5, 10, 20].")));
	if (n > BT_GRID_MAX_VALUES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the grid gives %d values for parameter \"%s\", more than %d",
						n, def->name, BT_GRID_MAX_VALUES)));
	axis->values = palloc(sizeof(double) * n);
	axis->nvalues = 0;
	it = JsonbIteratorInit(arr);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			axis->values[axis->nvalues++] = grid_value(def, &v);
}

/* The hint for a parameter that cannot take a range: its list of values */
static int
hint_list_values(const BtParamDef *def)
{
	if (def->type == BT_PARAM_BOOL)
		return errhint("List its values instead: [false, true].");
	return errhint("List its values instead, e.g. [\"%s\", \"%s\"].",
				   def->choices[0], def->choices[1] ? def->choices[1] : def->choices[0]);
}

/* A range axis: {"from": a, "to": b, "step": s} */
static void
grid_range(const BtStrategyDef *st, int param, JsonbContainer *obj, const BtAlloc *a,
		   BtGridAxis *axis)
{
	const BtParamDef *def = bt_param_space_def(st, param);
	static const char *const keys[3] = {"from", "to", "step"};
	double		val[3];
	BtError		err;

	if (def->type != BT_PARAM_INT && def->type != BT_PARAM_NUM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"%s\" cannot be swept over a range", def->name),
				 hint_list_values(def)));
	for (int k = 0; k < 3; k++)
	{
		JsonbValue *v = getKeyJsonValueFromContainer(obj, keys[k], strlen(keys[k]), NULL);

		if (v == NULL || JsonContainerSize(obj) != 3)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the range of parameter \"%s\" must have exactly the keys \"from\", \"to\" and \"step\"",
							def->name),
					 errhint("For example: {\"%s\": {\"from\": 5, \"to\": 50, \"step\": 5}}.",
							 def->name)));
		if (v->type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" of the range of parameter \"%s\" must be a number, not %s",
							keys[k], def->name, jbv_type(v))));
		val[k] = btpg_jbv_double(v);
	}
	if (!(val[2] > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the step of the range of parameter \"%s\" must be positive, not %g",
						def->name, val[2])));
	if (val[0] > val[1])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the range of parameter \"%s\" is empty: \"from\" (%g) is greater than \"to\" (%g)",
						def->name, val[0], val[1]),
				 errhint("Ranges count upwards: swap \"from\" and \"to\".")));
	if (!bt_grid_range(st, param, val[0], val[1], val[2], a, axis, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", err.msg),
				 errdetail("The grid sweeps \"%s\" from %g to %g by %g.",
						   def->name, val[0], val[1], val[2]),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
}

/* The "constraint" option: one string, or an array of strings */
static void
grid_constraints(const BtStrategyDef *st, JsonbValue *v, BtGrid *g)
{
	JsonbValue	one;
	JsonbIterator *it = NULL;
	JsonbIteratorToken tok;
	bool		single = v->type == jbvString;

	if (!single && !(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("grid option \"constraint\" must be a string or an array of strings, not %s",
						jbv_type(v)),
				 errhint("For example: {\"constraint\": \"fast < slow\"}.")));
	if (!single)
		it = JsonbIteratorInit(v->val.binary.data);
	for (;;)
	{
		char	   *text;
		BtError		err;

		if (single)
			one = *v;
		else
		{
			while ((tok = JsonbIteratorNext(&it, &one, true)) != WJB_DONE && tok != WJB_ELEM)
				;
			if (tok == WJB_DONE)
				break;
			if (one.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("each constraint must be a string, not %s", jbv_type(&one)),
						 errhint("For example: {\"constraint\": [\"fast < slow\", \"slow <= 200\"]}.")));
		}
		if (g->nconstraints >= BT_GRID_MAX_CONSTRAINTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the grid has more than %d constraints", BT_GRID_MAX_CONSTRAINTS)));
		text = pnstrdup(one.val.string.val, one.val.string.len);
		if (!bt_constraint_parse(st, text, &g->constraints[g->nconstraints], &err))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", err.msg),
					 err.hint[0] ? errhint("%s", err.hint) :
					 errhint("A constraint is \"<parameter or number> <operator> <parameter or number>\", "
							 "e.g. \"fast < slow\"; the operators are <, <=, >, >=, =, != and <>.")));
		g->nconstraints++;
		if (single)
			break;
	}
}

/*
 * Parse the grid into spec.  Axes end up in parameter space order.
 * Range values come from the allocator a.
 */
static void
parse_grid(Jsonb *grid, const BtStrategyDef *st, const BtAlloc *a, BtpgSweepSpec *spec)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	BtGrid	   *g = &spec->grid;

	memset(g, 0, sizeof(*g));
	spec->swept = palloc0(sizeof(bool) * bt_param_space_size(st));
	bt_objective_metric(&spec->objective, bt_metric_index("sharpe_ratio"));
	spec->top = 0;

	if (!JB_ROOT_IS_OBJECT(grid) || JB_ROOT_IS_SCALAR(grid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the grid must be a jsonb object"),
				 errhint("For example: '{\"fast\": [5, 10, 20], \"slow\": {\"from\": 20, \"to\": 100, \"step\": 20}}'.")));

	it = JsonbIteratorInit(&grid->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			param;
		BtGridAxis *axis;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);

		if (strcmp(key, "constraint") == 0)
		{
			grid_constraints(st, &v, g);
			continue;
		}
		if (strcmp(key, "sample") == 0)
		{
			g->sample = grid_int_option(key, &v, true);
			continue;
		}
		if (strcmp(key, "seed") == 0)
		{
			g->seed = (uint64_t) grid_int_option(key, &v, false);
			continue;
		}
		if (strcmp(key, "top") == 0)
		{
			spec->top = grid_int_option(key, &v, true);
			continue;
		}
		if (strcmp(key, "sort_by") == 0)
		{
			char	   *col;
			BtError		err;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("grid option \"sort_by\" must be a string, not %s", jbv_type(&v))));
			col = pnstrdup(v.val.string.val, v.val.string.len);
			if (!bt_objective_parse(col, &spec->objective, &err))
			{
				/* an unknown name: list the columns (too long for the engine's hint) */
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s", err.msg),
						 spec->objective.unknown_metric ?
						 errhint("Sort by a column of backtest_metrics, or arithmetic over them: %s.",
								 btpg_metric_columns("")) :
						 err.hint[0] ? errhint("%s", err.hint) : 0));
			}
			continue;
		}

		param = bt_param_space_find(st, key);
		if (param < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" in the grid for strategy \"%s\"", key, st->name),
					 errhint("Valid parameters are: %s; the options are constraint, sample, seed, sort_by and top.",
							 param_names(st))));
		if (g->naxes >= BT_GRID_MAX_AXES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the grid sweeps more than %d parameters", BT_GRID_MAX_AXES)));
		axis = &g->axes[g->naxes];
		memset(axis, 0, sizeof(*axis));
		if (v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data))
			grid_list(bt_param_space_def(st, param), v.val.binary.data, axis);
		else if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
			grid_range(st, param, v.val.binary.data, a, axis);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the grid value of parameter \"%s\" must be an array of values or a range object, not %s",
							key, jbv_type(&v)),
					 errhint("For example: {\"%s\": [5, 10, 20]} or {\"%s\": {\"from\": 5, \"to\": 50, \"step\": 5}}.",
							 key, key)));
		axis->param = param;
		spec->swept[param] = true;
		g->naxes++;
	}

	if (g->naxes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the grid sweeps no parameter"),
				 errhint("Give at least one parameter with a list or a range of values, e.g. '{\"fast\": [5, 10, 20]}'.")));

	/* parameter space order (insertion sort: at most BT_GRID_MAX_AXES) */
	for (int i = 1; i < g->naxes; i++)
	{
		BtGridAxis	x = g->axes[i];
		int			j = i;

		for (; j > 0 && g->axes[j - 1].param > x.param; j--)
			g->axes[j] = g->axes[j - 1];
		g->axes[j] = x;
	}
}

/* ---- params ---------------------------------------------------------------- */

/*
 * Parse params (NULL = '{}') into the base configuration and the column
 * mapping, like btpg_parse_backtest_params but with the cross-parameter
 * checks left to each combination (params may hold slow = 5 while the
 * grid sweeps fast over [2, 3]: the default fast = 10 must not fail).
 * Only the checks no swept parameter takes part in are run here.  A
 * parameter in both the grid and params is an error.
 */
static void
parse_params(Jsonb *params, const BtStrategyDef *st, const BtpgSweepSpec *spec,
			 BtConfig *cfg, BtpgColumns *cols)
{
	char	   *what = psprintf("strategy \"%s\"", st->name);
	bool		strat_swept = false;
	bool		sim_swept = false;
	BtError		err;

	btpg_parse_params_ex(params, st, spec->swept, false, cfg, cols);

	/* the checks no swept parameter takes part in can be made now */
	for (int i = 0; i < spec->grid.naxes; i++)
	{
		if (spec->grid.axes[i].param < st->nparams)
			strat_swept = true;
		else
			sim_swept = true;
	}
	if (!strat_swept && st->check && !st->check(cfg->sp, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for %s: %s", what, err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	if (!sim_swept && !bt_sim_check(&cfg->sim, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for %s: %s", what, err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
}

/* ---- limits ------------------------------------------------------------------ */

/* Check the number of combinations against pg_backtest.max_combinations */
static void
check_combinations(const BtGrid *g)
{
	int64		raw = bt_grid_size(g);

	if (g->sample > 0)
	{
		if (g->sample > btpg_max_combinations)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a sample of " INT64_FORMAT " combinations is more than pg_backtest.max_combinations (%d)",
							g->sample, btpg_max_combinations),
					 errhint("Take a smaller sample, or have a superuser raise pg_backtest.max_combinations.")));
		if (raw < 0 || raw > BT_GRID_MAX_ENUMERATE)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the grid has too many combinations to sample from"),
					 raw < 0 ? errdetail("Their number overflows a 64-bit integer.") :
					 errdetail("It has " INT64_FORMAT " combinations; a random search enumerates at most " INT64_FORMAT ".",
							   raw, (int64) BT_GRID_MAX_ENUMERATE),
					 errhint("Narrow the grid: use fewer values or coarser steps.")));
		return;
	}
	if (raw < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the grid has too many combinations"),
				 errdetail("Their number overflows a 64-bit integer."),
				 errhint("Narrow the grid, or use \"sample\" for a random search.")));
	if (raw > btpg_max_combinations)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the grid has " INT64_FORMAT " combinations, more than pg_backtest.max_combinations (%d)",
						raw, btpg_max_combinations),
				 errhint("Narrow the grid, use \"sample\" for a random search, or have a superuser raise pg_backtest.max_combinations.")));
}

/* ---- the plan ---------------------------------------------------------------- */

/*
 * btpg_sweep_parse
 *		Parse a sweep's grid and params (NULL = '{}') for strategy st into
 *		plan (and the source's columns into cols), and check the number of
 *		combinations against pg_backtest.max_combinations; errors as
 *		backtest_sweep's.  Allocates in CurrentMemoryContext and from a.
 */
void
btpg_sweep_parse(Jsonb *grid, Jsonb *params, const BtStrategyDef *st, const BtAlloc *a,
				 BtpgSweepPlan *plan, BtpgColumns *cols)
{
	memset(plan, 0, sizeof(*plan));
	plan->st = st;
	parse_grid(grid, st, a, &plan->spec);
	parse_params(params, st, &plan->spec, &plan->base, cols);
	check_combinations(&plan->spec.grid);
}

/*
 * btpg_sweep_expand
 *		Expand a parsed plan's combinations (those failing a constraint or
 *		the parameter checks skipped and counted in nskipped) from a.
 */
void
btpg_sweep_expand(BtpgSweepPlan *plan, const BtAlloc *a)
{
	BtError		err;

	if (bt_grid_expand(&plan->spec.grid, &plan->base, btpg_max_combinations, a,
					   &plan->combos, &plan->ncombos, &plan->nskipped, &err) != BT_OK)
		btpg_report(&err, NULL);
}

/*
 * btpg_sweep_plan
 *		btpg_sweep_parse, then btpg_sweep_expand.
 */
void
btpg_sweep_plan(Jsonb *grid, Jsonb *params, const BtStrategyDef *st, const BtAlloc *a,
				BtpgSweepPlan *plan, BtpgColumns *cols)
{
	btpg_sweep_parse(grid, params, st, a, plan, cols);
	btpg_sweep_expand(plan, a);
}
