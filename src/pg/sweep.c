/*-------------------------------------------------------------------------
 *
 * sweep.c
 *	  Parameter sweeps: the SQL functions backtest_sweep() (table source)
 *	  and backtest_sweep_query() (query source), the parsing of the grid,
 *	  and the result rows; plus the sweep settings, backtest_walk_forward()
 *	  (its arithmetic is the engine's, walkforward.c) and the plan of a
 *	  queued sweep (its task kind and backtest_submit_sweep() are in
 *	  sweep_task.c).
 *
 * A call reads the K-lines once (btpg_load_series, which validates them),
 * expands the grid into combinations with the engine (bt_grid_expand), runs
 * them in this backend and in background workers (sweep_parallel.c), then
 * sorts the rows by the objective and returns them, materialized.
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
 * Settings: pg_backtest.sweep_workers (processes per sweep, default the
 * number of online CPUs), pg_backtest.max_combinations (default 10000) and
 * pg_backtest.sweep_cache_size (indicator lines kept per process, default
 * 64MB), all PGC_SUSET: they protect the server from a user's sweep.  A
 * queued sweep runs under the max_combinations its submit was checked with
 * (recorded in the task's settings).
 *
 * Each call allocates in its own memory context, deleted at the end; on
 * error the transaction's cleanup frees it.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "common/shortest_dec.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pg_backtest.h"
#include "run.h"
#include "sweep.h"
#include "bt_walkforward.h"

PG_FUNCTION_INFO_V1(backtest_sweep);
PG_FUNCTION_INFO_V1(backtest_sweep_query);

/* Swept parameters with their own typed result columns (p1 .. p4) */
#define SWEEP_PCOLS			4
/* combo_no, params, p1_name, p1, ..., p4_name, p4, then the metrics */
#define SWEEP_NATTS			(2 + 2 * SWEEP_PCOLS + BTPG_METRICS_NATTS)

/* GUCs */
int			btpg_sweep_workers = 1;
int			btpg_max_combinations = 10000;
int			btpg_sweep_cache_kb = 65536;

/* Sorting and sort_by are driven by the engine's metric table */
StaticAssertDecl(BT_N_METRICS == BTPG_METRICS_NATTS,
				 "bt_metric_defs must list the columns of backtest_metrics");

/* A parsed grid plus the options that are not the engine's business */
typedef struct SweepSpec
{
	BtGrid		grid;
	bool	   *swept;			/* by parameter space index */
	BtObjective objective;		/* sort_by */
	int64		top;			/* 0 = every row */
} SweepSpec;

/* ---- settings ------------------------------------------------------------ */

/*
 * btpg_sweep_define_gucs
 *		Define the runtime settings of sweeps; called from _PG_init.
 */
void
btpg_sweep_define_gucs(void)
{
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			def_workers = (int) Max(1, Min(ncpu, 8));

	btpg_sweep_workers = def_workers;
	DefineCustomIntVariable("pg_backtest.sweep_workers",
							"Processes that run the combinations of a parameter sweep.",
							"The backend itself plus this many minus one background workers; "
							"small sweeps use fewer (one process per 4 million bars x "
							"combinations at most).  The default is the number of online CPUs, "
							"at most 8.  Workers take max_worker_processes slots while the sweep "
							"runs, so only superusers may change it.",
							&btpg_sweep_workers, def_workers, 1, BTPG_MAX_SWEEP_WORKERS,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.max_combinations",
							"Most combinations one parameter sweep may run.",
							"A grid with more combinations (or a larger \"sample\") is an error.  "
							"It protects the server, so only superusers may change it.",
							&btpg_max_combinations, 10000, 1, (int) BT_GRID_MAX_ENUMERATE,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.sweep_cache_size",
							"Memory each process of a sweep may use to keep indicator lines.",
							"Lines shared by combinations (the SMA(10) of every combination with "
							"fast = 10) are computed once and kept up to this size, least "
							"recently used first out.  Only superusers may change it.",
							&btpg_sweep_cache_kb, 65536, 0, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

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

/* A jsonb number as a double (no overflow error: huge values become inf) */
static double
jbv_double(JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
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
	d = jbv_double(v);
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
	double		d = 0;
	BtError		err;

	switch (def->type)
	{
		case BT_PARAM_BOOL:
			if (v->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("grid values of parameter \"%s\" must be booleans, not %s",
								def->name, jbv_type(v))));
			return v->val.boolean ? 1.0 : 0.0;
		case BT_PARAM_ENUM:
			{
				StringInfoData choices;
				int			k = btpg_param_choice(def, v, &choices);

				if (k >= 0)
					return (double) k;
				if (v->type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("grid values of parameter \"%s\" must be strings, not %s",
									def->name, jbv_type(v)),
							 errhint("Valid values are: %s.", choices.data)));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value \"%.*s\" in the grid for parameter \"%s\"",
								v->val.string.len, v->val.string.val, def->name),
						 errhint("Valid values are: %s.", choices.data)));
			}
			break;
		case BT_PARAM_INT:
		case BT_PARAM_NUM:
			if (v->type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("grid values of parameter \"%s\" must be numbers, not %s",
								def->name, jbv_type(v)),
						 errhint("Give a list of numbers, e.g. [5, 10, 20], or a range, e.g. {\"from\": 5, \"to\": 50, \"step\": 5}.")));
			d = jbv_double(v);
			if (def->type == BT_PARAM_INT && isfinite(d) && d != floor(d))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("grid values of parameter \"%s\" must be integers, not %g",
								def->name, d)));
			break;
	}
	if (!bt_param_check(def, d, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value in the grid: %s", err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
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
		val[k] = jbv_double(v);
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
parse_grid(Jsonb *grid, const BtStrategyDef *st, const BtAlloc *a, SweepSpec *spec)
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
parse_params(Jsonb *params, const BtStrategyDef *st, const SweepSpec *spec,
			 BtConfig *cfg, BtColumns *cols)
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

/* ---- rows ------------------------------------------------------------------------ */

typedef struct SortItem
{
	double		key;			/* NaN = NULL */
	int64		combo;
} SortItem;

/* qsort_arg comparator: by key (NULLs last), then by combination */
static int
sort_item_cmp(const void *pa, const void *pb, void *arg)
{
	const SortItem *a = pa;
	const SortItem *b = pb;
	bool		lower_better = *(const bool *) arg;
	bool		anull = isnan(a->key);
	bool		bnull = isnan(b->key);

	if (anull != bnull)
		return anull ? 1 : -1;
	if (!anull && a->key != b->key)
	{
		if (lower_better)
			return a->key < b->key ? -1 : 1;
		return a->key > b->key ? -1 : 1;
	}
	return a->combo < b->combo ? -1 : (a->combo > b->combo ? 1 : 0);
}

/* A parameter value as a JSON scalar */
static void
append_param_json(StringInfo buf, const BtParamDef *def, double x)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	switch (def->type)
	{
		case BT_PARAM_BOOL:
			appendStringInfoString(buf, x != 0 ? "true" : "false");
			break;
		case BT_PARAM_ENUM:
			escape_json(buf, def->choices[(int) x]);
			break;
		default:
			double_to_shortest_decimal_buf(x, num);
			appendStringInfoString(buf, num);
			break;
	}
}

/* Fill the first 2 + 2 * SWEEP_PCOLS columns of the row of combination k */
static void
param_values(const BtStrategyDef *st, const BtGrid *g, const BtConfig *cfg, int64 k,
			 Datum *values, bool *nulls)
{
	StringInfoData js;

	initStringInfo(&js);
	appendStringInfoChar(&js, '{');
	for (int i = 0; i < g->naxes; i++)
	{
		const BtParamDef *def = bt_param_space_def(st, g->axes[i].param);
		double		x = bt_config_get(cfg, g->axes[i].param);

		if (i > 0)
			appendStringInfoString(&js, ", ");
		escape_json(&js, def->name);
		appendStringInfoString(&js, ": ");
		append_param_json(&js, def, x);
	}
	appendStringInfoChar(&js, '}');

	values[0] = Int32GetDatum((int32) (k + 1));
	nulls[0] = false;
	values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data));
	nulls[1] = false;
	for (int i = 0; i < SWEEP_PCOLS; i++)
	{
		bool		used = i < g->naxes;

		nulls[2 + 2 * i] = nulls[3 + 2 * i] = !used;
		if (!used)
			continue;
		values[2 + 2 * i] = CStringGetTextDatum(bt_param_space_def(st, g->axes[i].param)->name);
		values[3 + 2 * i] = Float8GetDatum(bt_config_get(cfg, g->axes[i].param));
	}
}

/* ---- the SQL functions ------------------------------------------------------ */

/*
 * Common body of backtest_sweep and backtest_sweep_query: parse, load,
 * expand, run, sort, emit.
 */
static Datum
sweep_common(FunctionCallInfo fcinfo, bool query_source)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			a = query_source ? 1 : 2;	/* index of the strategy argument */
	MemoryContext cxt;
	MemoryContext loadcxt;
	MemoryContext old;
	BtAlloc		alloc;
	const BtStrategyDef *st;
	SweepSpec	spec;
	BtConfig	base;
	BtLoadSpec	load;
	BtSeries	s;
	BtConfig   *combos = NULL;
	int64		ncombos = 0;
	int64		nskipped = 0;
	int64		nrows;
	int64		nbars;
	int64		short_data = 0;
	BtMetrics  *metrics;
	SortItem   *order;
	BtError		err;
	bool		lower_better;
	Datum		values[SWEEP_NATTS];
	bool		nulls[SWEEP_NATTS];

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != SWEEP_NATTS)
		elog(ERROR, "backtest_sweep returns %d columns, expected %d: reinstall the extension",
			 rsinfo->setDesc->natts, SWEEP_NATTS);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest sweep",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	btpg_alloc_init(&alloc, cxt);

	/* ---- arguments ---- */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source must not be NULL")));
	if (PG_ARGISNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL"),
				 errhint("See SELECT * FROM backtest_strategies().")));
	if (PG_ARGISNULL(a + 1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the grid must not be NULL"),
				 errhint("For example: '{\"fast\": [5, 10, 20], \"slow\": {\"from\": 20, \"to\": 100, \"step\": 20}}'.")));
	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(a)));
	parse_grid(PG_GETARG_JSONB_P(a + 1), st, &alloc, &spec);
	memset(&load, 0, sizeof(load));
	parse_params(PG_ARGISNULL(a + 2) ? NULL : PG_GETARG_JSONB_P(a + 2), st, &spec,
				 &base, &load.cols);
	check_combinations(&spec.grid);

	/* ---- the combinations (before reading any data: errors come early) ---- */
	if (bt_grid_expand(&spec.grid, &base, btpg_max_combinations, &alloc,
					   &combos, &ncombos, &nskipped, &err) != BT_OK)
		btpg_report(&err, NULL);

	/* ---- the bars: read and validated once ---- */
	load.need_volume = load.cols.name[BTCOL_VOLUME] != NULL;
	load.need_signal = st->needs_signal;
	if (query_source)
		load.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	else
	{
		load.relid = PG_GETARG_OID(0);
		load.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (!PG_ARGISNULL(5))
		{
			load.has_start = true;
			load.start_ts = PG_GETARG_TIMESTAMPTZ(5);
		}
		if (!PG_ARGISNULL(6))
		{
			load.has_end = true;
			load.end_ts = PG_GETARG_TIMESTAMPTZ(6);
		}
		if (load.has_start && load.has_end && load.start_ts > load.end_ts)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("start_ts is after end_ts")));
	}
	loadcxt = AllocSetContextCreate(cxt, "pg_backtest sweep bars", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loadcxt);
	btpg_load_series(&load, &s);
	MemoryContextSwitchTo(cxt);
	nbars = s.n;

	if (nskipped > 0)
	{
		int64		raw = bt_grid_size(&spec.grid);

		if (ncombos == 0)
			ereport(NOTICE,
					(errmsg("every combination of the grid was skipped"),
					 errdetail("All " INT64_FORMAT " combinations fail a constraint or the parameter checks of strategy \"%s\".",
							   nskipped, st->name),
					 errhint("Check the constraints and the values of the swept parameters.")));
		else if (spec.grid.sample > 0)
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " combinations of the grid skipped before sampling", nskipped),
					 errdetail("They fail a constraint or the parameter checks of strategy \"%s\".",
							   st->name)));
		else
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " of the grid's " INT64_FORMAT " combinations skipped",
							nskipped, raw),
					 errdetail("They fail a constraint or the parameter checks of strategy \"%s\".",
							   st->name)));
	}

	/* ---- run ---- */
	metrics = palloc_extended(sizeof(BtMetrics) * Max(ncombos, 1), MCXT_ALLOC_HUGE);
	btpg_sweep_execute(&s, st, combos, ncombos, loadcxt, metrics);
	/* s's arrays are gone with loadcxt */

	if (ncombos > 0 && nbars == 0)
		ereport(NOTICE,
				(errmsg("no bars to backtest: the source returned no rows"),
				 errhint("Check the symbol, the time range and the source.")));
	else
	{
		for (int64 i = 0; i < ncombos; i++)
			if (metrics[i].warmup_bars >= nbars)
				short_data++;
		if (short_data > 0)
			ereport(NOTICE,
					(errmsg(INT64_FORMAT " of " INT64_FORMAT " combinations need more bars than the " INT64_FORMAT " the source returned",
							short_data, ncombos, nbars),
					 errdetail("Their indicators never become defined, so they made no trades."),
					 errhint("Use a longer time range or shorter indicator windows.")));
		/* one NOTICE for the whole sweep, not one per combination */
		{
			int64		unfilled = 0,
						first = -1;

			for (int64 i = 0; i < ncombos; i++)
				if (metrics[i].trades_count == 0 && metrics[i].open_trades == 0 &&
					metrics[i].entries_unfilled > 0)
				{
					if (unfilled++ == 0)
						first = i;
				}
			if (unfilled > 0)
				ereport(NOTICE,
						(errmsg(INT64_FORMAT " of " INT64_FORMAT " combinations made no trade: no entry could be filled",
								unfilled, ncombos),
						 errdetail("Not even one lot with its costs fit in the cash: at %g the smallest order cost %g against %g available.",
								   metrics[first].unfilled_price, metrics[first].unfilled_cost,
								   metrics[first].unfilled_cash),
						 errhint("Raise initial_capital, lower lot_size, or set \"fractional\": true.")));
		}
	}

	/* ---- sort by the objective, cut to top ---- */
	lower_better = spec.objective.lower_is_better;
	order = palloc_extended(sizeof(SortItem) * Max(ncombos, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < ncombos; i++)
	{
		order[i].key = bt_objective_value(&spec.objective, &metrics[i]);
		order[i].combo = i;
	}
	qsort_arg(order, ncombos, sizeof(SortItem), sort_item_cmp, &lower_better);
	nrows = spec.top > 0 ? Min(spec.top, ncombos) : ncombos;

	/* ---- rows ---- */
	for (int64 r = 0; r < nrows; r++)
	{
		int64		k = order[r].combo;

		param_values(st, &spec.grid, &combos[k], k, values, nulls);
		btpg_metrics_values(&metrics[k], values + 2 + 2 * SWEEP_PCOLS,
							nulls + 2 + 2 * SWEEP_PCOLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((r & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/*
 * backtest_sweep(source regclass, symbol text, strategy text, grid jsonb,
 *				  params jsonb, start_ts timestamptz, end_ts timestamptz)
 *		One row per combination of the grid over the K-lines of a table.
 */
Datum
backtest_sweep(PG_FUNCTION_ARGS)
{
	return sweep_common(fcinfo, false);
}

/*
 * backtest_sweep_query(query text, strategy text, grid jsonb, params jsonb)
 *		The same over the rows of a query (in ts order).
 */
Datum
backtest_sweep_query(PG_FUNCTION_ARGS)
{
	return sweep_common(fcinfo, true);
}

/* ---- walk-forward --------------------------------------------------------- */

PG_FUNCTION_INFO_V1(backtest_walk_forward);

#define WF_NATTS 16

/* The two lengths of a walk-forward, for the engine's shift function */
typedef struct WfLengths
{
	Interval   *in_sample;
	Interval   *out_of_sample;
} WfLengths;

/* Error unless an interval argument is positive */
static void
check_interval(Interval *iv, const char *name)
{
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", name)));
}

/*
 * wf_shift
 *		BtWfShiftFn: t + or - a length, in calendar terms (session time
 *		zone); errors on overflow like timestamptz + interval.
 */
static int64_t
wf_shift(void *arg, int64_t t, BtWfLength len, int sign)
{
	WfLengths  *l = arg;
	Interval   *iv = len == BT_WF_IN_SAMPLE ? l->in_sample : l->out_of_sample;
	Datum		d = TimestampTzGetDatum(btpg_ts_from_engine(t));

	CHECK_FOR_INTERRUPTS();
	d = DirectFunctionCall2(sign > 0 ? timestamptz_pl_interval : timestamptz_mi_interval,
							d, IntervalPGetDatum(iv));
	return btpg_ts_to_engine(DatumGetTimestampTz(d));
}

/* Set values[col] to x, or nulls[col] when x is not finite */
static inline void
wf_float(Datum *values, bool *nulls, int col, double x)
{
	nulls[col] = !isfinite(x);
	values[col] = Float8GetDatum(x);
}

/*
 * backtest_walk_forward(source, symbol, strategy, grid, params, in_sample,
 *						 out_of_sample, anchored, start_ts, end_ts)
 *		Split the range into in-sample / out-of-sample windows (rolling, or
 *		anchored at the start; windows without bars left out, at most
 *		BT_WF_MAX_WINDOWS), pick the best combination of the grid in sample
 *		by the grid's objective (sort_by, default sharpe_ratio), run it out
 *		of sample, and return one row per window plus a last row with the
 *		metrics of the stitched out-of-sample equity curve.  The arithmetic
 *		is the engine's (walkforward.c); this runs the sweeps and builds the
 *		rows.
 */
Datum
backtest_walk_forward(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt,
				old;
	BtAlloc		alloc;
	const BtStrategyDef *st;
	SweepSpec	spec;
	BtConfig	base;
	BtLoadSpec	load;
	BtSeries	s;
	BtConfig   *combos = NULL;
	int64		ncombos = 0,
				nskipped = 0;
	BtError		err;
	WfLengths	lengths;
	BtWfSpec	wf;
	BtWfWindow *windows;
	int64		nwin;
	BtWfStitch	stitch;

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != WF_NATTS)
		elog(ERROR, "backtest_walk_forward returns %d columns, expected %d",
			 rsinfo->setDesc->natts, WF_NATTS);
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i == 0 ? 0 : i + 1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s must not be NULL",
							i == 0 ? "source" : i == 1 ? "strategy" : i == 2 ? "grid" : "params")));
	if (PG_ARGISNULL(5) || PG_ARGISNULL(6) || PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("in_sample, out_of_sample and anchored must not be NULL")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest walk-forward",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	btpg_alloc_init(&alloc, cxt);

	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	parse_grid(PG_GETARG_JSONB_P(3), st, &alloc, &spec);
	memset(&load, 0, sizeof(load));
	parse_params(PG_GETARG_JSONB_P(4), st, &spec, &base, &load.cols);
	check_combinations(&spec.grid);
	lengths.in_sample = PG_GETARG_INTERVAL_P(5);
	lengths.out_of_sample = PG_GETARG_INTERVAL_P(6);
	check_interval(lengths.in_sample, "in_sample");
	check_interval(lengths.out_of_sample, "out_of_sample");
	memset(&wf, 0, sizeof(wf));
	wf.anchored = PG_GETARG_BOOL(7);
	wf.shift = wf_shift;
	wf.shift_arg = &lengths;
	/* no calendar part: stretches without bars can be crossed in one step */
	if (lengths.out_of_sample->month == 0 && lengths.out_of_sample->day == 0)
		wf.oos_usecs = lengths.out_of_sample->time;
	wf.max_windows = BT_WF_MAX_WINDOWS;
	if (bt_grid_expand(&spec.grid, &base, btpg_max_combinations, &alloc,
					   &combos, &ncombos, &nskipped, &err) != BT_OK)
		btpg_report(&err, NULL);
	if (ncombos == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every combination of the grid was skipped"),
				 errhint("Check the constraints and the values of the swept parameters.")));

	load.need_volume = load.cols.name[BTCOL_VOLUME] != NULL;
	load.need_signal = st->needs_signal;
	load.relid = PG_GETARG_OID(0);
	load.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	load.has_start = !PG_ARGISNULL(8);
	if (load.has_start)
		load.start_ts = PG_GETARG_TIMESTAMPTZ(8);
	load.has_end = !PG_ARGISNULL(9);
	if (load.has_end)
		load.end_ts = PG_GETARG_TIMESTAMPTZ(9);
	btpg_load_series(&load, &s);

	/* every window laid out (and counted) before any sweep runs */
	if (bt_wf_windows(s.ts, s.n, &wf, &alloc, &windows, &nwin, &err) != BT_OK)
		btpg_report(&err, NULL);
	bt_wf_stitch_init(&stitch, s.n, base.sim.initial_capital, &alloc);

	for (int64 w = 0; w < nwin; w++)
	{
		const BtWfWindow *win = &windows[w];
		BtSeries	is = bt_series_slice(&s, win->i_is, win->i_oos - win->i_is);
		BtMetrics  *metrics;
		int64		best;
		double		best_key;
		Datum		values[WF_NATTS];
		bool		nulls[WF_NATTS];

		CHECK_FOR_INTERRUPTS();
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum((int32) (w + 1));
		values[1] = CStringGetTextDatum("window");
		values[2] = TimestampTzGetDatum(btpg_ts_from_engine(win->is_start));
		values[3] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_start));
		values[4] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_start));
		values[5] = TimestampTzGetDatum(btpg_ts_from_engine(win->oos_end));
		values[8] = Int64GetDatum(win->i_oos - win->i_is);
		values[9] = Int64GetDatum(win->i_end - win->i_oos);

		/* in sample: every combination, the best by the objective */
		metrics = palloc_extended(sizeof(BtMetrics) * ncombos, MCXT_ALLOC_HUGE);
		btpg_sweep_execute(&is, st, combos, ncombos, NULL, metrics);
		best = bt_best_by_objective(metrics, ncombos, &spec.objective, &best_key);
		if (best < 0)
		{
			/* nothing defined in sample: no trading out of sample */
			nulls[6] = nulls[7] = true;
			for (int c = 10; c < WF_NATTS; c++)
				nulls[c] = true;
			bt_wf_stitch_flat(&stitch, &s, win->i_oos, win->i_end);
		}
		else
		{
			BtResult	r;
			Datum		pv[2 + 2 * SWEEP_PCOLS];
			bool		pn[2 + 2 * SWEEP_PCOLS];
			double		scale = bt_wf_stitch_scale(&stitch);

			param_values(st, &spec.grid, &combos[best], best, pv, pn);
			values[6] = pv[1];
			values[7] = Float8GetDatum(best_key);
			if (bt_wf_run_out_of_sample(&s, &combos[best], win, &alloc, &r, &err) != BT_OK)
				btpg_report(&err, s.ts);
			values[10] = Int64GetDatum(r.metrics.trades_count);
			values[11] = Float8GetDatum(r.metrics.return_pct);
			wf_float(values, nulls, 12, r.metrics.sharpe_ratio);
			wf_float(values, nulls, 13, r.metrics.max_drawdown_pct);
			wf_float(values, nulls, 14, r.metrics.win_rate_pct);
			values[15] = Float8GetDatum(r.metrics.equity_final * scale);
			/* this window's curve continues from the previous capital */
			bt_wf_stitch_add(&stitch, &s, win->i_oos, &r);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(metrics);
	}

	/* the stitched out-of-sample row */
	if (nwin > 0)
	{
		BtResult	r;
		Datum		values[WF_NATTS];
		bool		nulls[WF_NATTS];

		bt_wf_stitch_result(&stitch, &base.sim, &r);
		memset(nulls, 0, sizeof(nulls));
		nulls[0] = true;
		values[1] = CStringGetTextDatum("stitched");
		nulls[2] = nulls[3] = true;
		values[4] = TimestampTzGetDatum(btpg_ts_from_engine(stitch.ts[0]));
		values[5] = TimestampTzGetDatum(btpg_ts_from_engine(stitch.ts[stitch.n - 1]));
		nulls[6] = nulls[7] = nulls[8] = true;
		values[9] = Int64GetDatum(stitch.n);
		values[10] = Int64GetDatum(r.metrics.trades_count);
		values[11] = Float8GetDatum(r.metrics.return_pct);
		wf_float(values, nulls, 12, r.metrics.sharpe_ratio);
		wf_float(values, nulls, 13, r.metrics.max_drawdown_pct);
		wf_float(values, nulls, 14, r.metrics.win_rate_pct);
		values[15] = Float8GetDatum(r.metrics.equity_final);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	else
		ereport(NOTICE,
				(errmsg("no walk-forward window fits in the data"),
				 errhint("The range must be longer than in_sample; shorten in_sample or widen the range.")));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* ---- a sweep's plan, for the task queue's sweep tasks (sweep_task.c) ------ */

/*
 * btpg_sweep_plan
 *		Parse a sweep's grid and params for strategy st and expand its
 *		combinations (errors as backtest_sweep's).  Allocates in
 *		CurrentMemoryContext and from a.
 */
void
btpg_sweep_plan(Jsonb *grid, Jsonb *params, const BtStrategyDef *st, const BtAlloc *a,
				BtpgSweepPlan *plan, BtColumns *cols)
{
	SweepSpec  *spec = palloc0(sizeof(SweepSpec));
	BtError		err;

	memset(plan, 0, sizeof(*plan));
	plan->st = st;
	plan->spec = spec;
	parse_grid(grid, st, a, spec);
	parse_params(params, st, spec, &plan->base, cols);
	check_combinations(&spec->grid);
	if (bt_grid_expand(&spec->grid, &plan->base, btpg_max_combinations, a,
					   &plan->combos, &plan->ncombos, &plan->nskipped, &err) != BT_OK)
		btpg_report(&err, NULL);
}

/*
 * btpg_sweep_order
 *		The combinations in result order (by the plan's sort_by, NULLs last,
 *		ties in combination order), cut to its top; returns how many.
 */
int64
btpg_sweep_order(const BtpgSweepPlan *plan, const BtMetrics *metrics, int64 **order)
{
	const SweepSpec *spec = (const SweepSpec *) plan->spec;
	bool		lower_better = spec->objective.lower_is_better;
	SortItem   *items = palloc_extended(sizeof(SortItem) * Max(plan->ncombos, 1), MCXT_ALLOC_HUGE);
	int64		nrows;

	for (int64 i = 0; i < plan->ncombos; i++)
	{
		items[i].key = bt_objective_value(&spec->objective, &metrics[i]);
		items[i].combo = i;
	}
	qsort_arg(items, plan->ncombos, sizeof(SortItem), sort_item_cmp, &lower_better);
	nrows = spec->top > 0 ? Min(spec->top, plan->ncombos) : plan->ncombos;
	*order = palloc_extended(sizeof(int64) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < nrows; r++)
		(*order)[r] = items[r].combo;
	pfree(items);
	return nrows;
}

/*
 * btpg_sweep_row
 *		The backtest_sweep row (BTPG_SWEEP_NATTS columns) of combination k.
 */
void
btpg_sweep_row(const BtpgSweepPlan *plan, int64 k, const BtMetrics *m, Datum *values, bool *nulls)
{
	const SweepSpec *spec = (const SweepSpec *) plan->spec;

	param_values(plan->st, &spec->grid, &plan->combos[k], k, values, nulls);
	btpg_metrics_values(m, values + 2 + 2 * SWEEP_PCOLS, nulls + 2 + 2 * SWEEP_PCOLS);
}

StaticAssertDecl(BTPG_SWEEP_NATTS == SWEEP_NATTS, "sweep.h and sweep.c disagree on the sweep columns");
