/*-------------------------------------------------------------------------
 *
 * test_sweep.c
 *	  Parameter sweeps: the parameter space, constraints, range axes, grid
 *	  expansion (order, skips, sampling, limits), and sweep contexts: the
 *	  metrics of bt_sweep_run are bt_run's bit for bit for every strategy,
 *	  whatever the cache size and the order of the runs, indicator lines are
 *	  computed once, a warm context allocates nothing, and the run order of
 *	  bt_sweep_order computes fewer lines with the same metrics.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_sweep.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_sweep.h"

/* An axis over a list of values (memory from unit_alloc) */
static BtGridAxis
list_axis(int param, int n, const double *values)
{
	BtGridAxis	ax;

	ax.param = param;
	ax.nvalues = n;
	ax.values = unit_alloc.realloc_fn(NULL, NULL, (size_t) (n > 0 ? n : 1) * sizeof(double));
	memcpy(ax.values, values, (size_t) n * sizeof(double));
	return ax;
}

/* Parameter index by name (the test fails if unknown) */
static int
pidx(const BtStrategyDef *st, const char *name)
{
	int			i = bt_param_space_find(st, name);

	CHECK_MSG(i >= 0, "parameter %s not found", name);
	return i;
}

/* Parse a constraint that must be valid */
static BtConstraint
constraint(const BtStrategyDef *st, const char *text)
{
	BtConstraint c;
	BtError		err;

	memset(&c, 0, sizeof(c));
	CHECK_MSG(bt_constraint_parse(st, text, &c, &err), "constraint \"%s\": %s", text, err.msg);
	return c;
}

/* Metrics equal bit for bit; reports the first differing field's offset */
static bool
same_metrics(const BtMetrics *a, const BtMetrics *b, const char *what)
{
	if (memcmp(a, b, sizeof(*a)) == 0)
		return true;
	for (size_t off = 0; off < sizeof(*a); off += 8)
		if (memcmp((const char *) a + off, (const char *) b + off, 8) != 0)
		{
			double		x,
						y;

			memcpy(&x, (const char *) a + off, 8);
			memcpy(&y, (const char *) b + off, 8);
			fprintf(stderr, "%s: metrics differ at byte %zu: %.17g vs %.17g\n", what, off, x, y);
			break;
		}
	return false;
}

/* The metrics bt_run gives */
static BtMetrics
run_metrics(const BtSeries *s, const BtConfig *cfg)
{
	BtResult	r;
	BtError		err;

	memset(&r, 0, sizeof(r));
	CHECK_MSG(bt_run(s, cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK, "bt_run: %s", err.msg);
	return r.metrics;
}

/* The metrics bt_sweep_run gives */
static BtMetrics
sweep_metrics(BtSweepCtx *ctx, const BtConfig *cfg)
{
	BtMetrics	m;
	BtError		err;

	memset(&m, 0, sizeof(m));
	CHECK_MSG(bt_sweep_run(ctx, cfg, NULL, NULL, &m, &err) == BT_OK, "bt_sweep_run: %s", err.msg);
	return m;
}

/* ---- the parameter space --------------------------------------------------- */

static void
test_param_space(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	cfg;

	CHECK(bt_param_space_size(st) == 2 + bt_n_sim_params);
	CHECK(bt_param_space_find(st, "fast") == 0);
	CHECK(bt_param_space_find(st, "slow") == 1);
	CHECK(bt_param_space_find(st, "initial_capital") == 2);
	CHECK(bt_param_space_find(st, "pyramiding") == 2 + bt_n_sim_params - 1);
	CHECK(bt_param_space_find(st, "fats") == -1);
	CHECK(bt_param_space_def(st, 1) == &st->params[1]);
	CHECK(bt_param_space_def(st, 2) == &bt_sim_params[0].def);
	CHECK(bt_param_space_def(st, -1) == NULL);
	CHECK(bt_param_space_def(st, bt_param_space_size(st)) == NULL);

	/* get/set round trip over every field, defaults read back */
	bt_config_defaults(&cfg, st);
	for (int i = 0; i < bt_param_space_size(st); i++)
		CHECK_MSG(bt_config_get(&cfg, i) == bt_param_space_def(st, i)->def,
				  "default of %s", bt_param_space_def(st, i)->name);
	for (int i = 0; i < bt_param_space_size(st); i++)
	{
		const BtParamDef *def = bt_param_space_def(st, i);
		double		v = def->type == BT_PARAM_BOOL ? 1 - def->def :
			def->type == BT_PARAM_ENUM ? (def->def == 0 ? 1 : 0) : def->def + 1;

		bt_config_set(&cfg, i, v);
		CHECK_MSG(bt_config_get(&cfg, i) == v, "round trip of %s", def->name);
	}
	CHECK(cfg.sim.allow_short && cfg.sim.fill == BT_FILL_CLOSE && cfg.sp[1] == 31);
	CHECK(cfg.sim.stamp_duty_on == BT_STAMP_BUY);
	CHECK(isnan(bt_sim_get(&cfg.sim, bt_n_sim_params)));
}

/* ---- constraints ------------------------------------------------------------ */

static void
test_constraints(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	cfg;
	BtConstraint c;
	BtError		err;
	static const struct
	{
		const char *text;
		BtCmpOp		op;
		bool		holds;		/* with fast = 10, slow = 30 */
	}			cases[] =
	{
		{"fast < slow", BT_CMP_LT, true},
		{"fast<=slow", BT_CMP_LE, true},
		{"fast > slow", BT_CMP_GT, false},
		{" fast >= slow ", BT_CMP_GE, false},
		{"fast = slow", BT_CMP_EQ, false},
		{"fast == slow", BT_CMP_EQ, false},
		{"fast != slow", BT_CMP_NE, true},
		{"fast <> slow", BT_CMP_NE, true},
		{"fast < 10", BT_CMP_LT, false},
		{"fast <= 10", BT_CMP_LE, true},
		{"fast > 9.5", BT_CMP_GT, true},
		{"fast >= 10.5", BT_CMP_GE, false},
		{"fast = 10", BT_CMP_EQ, true},
		{"fast != 1e1", BT_CMP_NE, false},
		{"30 = slow", BT_CMP_EQ, true},
		{"stop_loss <= 0.1", BT_CMP_LE, true},
		{"fast<-5", BT_CMP_LT, false},
	};

	bt_config_defaults(&cfg, st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bool		ok = bt_constraint_parse(st, cases[i].text, &c, &err);

		CHECK_MSG(ok, "\"%s\": %s", cases[i].text, err.msg);
		if (!ok)
			continue;
		CHECK_MSG(c.op == cases[i].op, "\"%s\": operator %d", cases[i].text, (int) c.op);
		{
			/* evaluate through bt_grid_expand on a one-combination grid */
			BtGrid		g;
			BtConfig   *combos;
			int64_t		n,
						skipped;

			memset(&g, 0, sizeof(g));
			g.nconstraints = 1;
			g.constraints[0] = c;
			CHECK(bt_grid_expand(&g, &cfg, 10, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
			CHECK_MSG((n == 1) == cases[i].holds && n + skipped == 1,
					  "\"%s\": kept %lld", cases[i].text, (long long) n);
		}
	}

	/* operands: parameter against parameter, parameter against number */
	c = constraint(st, "fast < slow");
	CHECK(c.lhs.is_param && c.lhs.param == 0 && c.rhs.is_param && c.rhs.param == 1);
	c = constraint(st, "slow >= -2.5e1");
	CHECK(c.lhs.is_param && c.lhs.param == 1 && !c.rhs.is_param && c.rhs.value == -25);
	c = constraint(st, "0.05 < stop_loss");
	CHECK(!c.lhs.is_param && c.lhs.value == 0.05 && c.rhs.is_param &&
		  c.rhs.param == pidx(st, "stop_loss"));

	/* errors, with their messages */
	CHECK(!bt_constraint_parse(st, "fast << slow", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast << slow\": unknown operator \"<<\"") == 0,
			  "%s", err.msg);
	CHECK(err.code == BT_ERR_PARAM);
	CHECK(!bt_constraint_parse(st, "fats < slow", &c, &err));
	CHECK_MSG(strcmp(err.msg, "unknown parameter \"fats\" in constraint \"fats < slow\"") == 0,
			  "%s", err.msg);
	CHECK_MSG(strstr(err.hint, "fast, slow") != NULL, "hint: %s", err.hint);
	CHECK(!bt_constraint_parse(st, "fast < slwo", &c, &err));
	CHECK_MSG(strcmp(err.msg, "unknown parameter \"slwo\" in constraint \"fast < slwo\"") == 0,
			  "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast slow", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast slow\": expected an operator, found \"slow\"") == 0,
			  "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast <", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast <\": missing right operand") == 0,
			  "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"\": missing left operand") == 0, "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast\": missing operator") == 0, "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast < slow < 50", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast < slow < 50\": unexpected \"<\" after the right operand") == 0,
			  "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast =< slow", &c, &err));
	CHECK_MSG(strstr(err.msg, "unknown operator \"=<\"") != NULL, "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast < 1.2.3", &c, &err));
	CHECK_MSG(strcmp(err.msg, "invalid constraint \"fast < 1.2.3\": invalid number \"1.2.3\"") == 0,
			  "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast < 0x10", &c, &err));
	CHECK(!bt_constraint_parse(st, "fast < 10abc", &c, &err));
	CHECK(!bt_constraint_parse(st, "fast < 1e999", &c, &err));
	CHECK(!bt_constraint_parse(st, "fast < inf", &c, &err));
	CHECK_MSG(strstr(err.msg, "unknown parameter \"inf\"") != NULL, "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast < (slow)", &c, &err));
	CHECK_MSG(strstr(err.msg, "unexpected \"(slow)\" in the right operand") != NULL, "%s", err.msg);
	CHECK(!bt_constraint_parse(st, "fast; drop table x", &c, &err));
	CHECK(!bt_constraint_parse(st, "3 * 10 = slow", &c, &err));	/* no arithmetic */
	CHECK(!bt_constraint_parse(st, "fast < slow - 5", &c, &err));
	CHECK(!bt_constraint_parse(st, NULL, &c, &err));
	/* a parameter of another strategy is unknown here */
	CHECK(!bt_constraint_parse(st, "period < 10", &c, &err));
}

/* ---- range axes --------------------------------------------------------------- */

static void
test_ranges(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	int			sl = pidx(st, "stop_loss");
	BtGridAxis	ax;
	BtError		err;

	/* 0.1 steps reach their end exactly, with decimal values */
	CHECK(bt_grid_range(st, sl, 0.1, 0.5, 0.1, &unit_alloc, &ax, &err));
	CHECK_MSG(ax.nvalues == 5, "%lld values", (long long) ax.nvalues);
	CHECK(ax.param == sl);
	CHECK(ax.values[0] == 0.1 && ax.values[1] == 0.2 && ax.values[2] == 0.3 &&
		  ax.values[3] == 0.4 && ax.values[4] == 0.5);
	CHECK(bt_grid_range(st, sl, 0, 0.9, 0.1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 10 && ax.values[9] == 0.9 && ax.values[3] == 0.3 && ax.values[7] == 0.7);
	CHECK(bt_grid_range(st, pidx(st, "commission"), 0.0001, 0.001, 0.0001, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 10 && ax.values[9] == 0.001 && ax.values[2] == 0.0003);
	/* a step that does not divide the span stops before `to` */
	CHECK(bt_grid_range(st, sl, 0.1, 0.45, 0.1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 4 && ax.values[3] == 0.4);
	/* from == to: one value */
	CHECK(bt_grid_range(st, sl, 0.25, 0.25, 1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 1 && ax.values[0] == 0.25);

	/* integer parameters */
	CHECK(bt_grid_range(st, 0, 5, 20, 5, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 4 && ax.values[0] == 5 && ax.values[3] == 20);
	CHECK(bt_grid_range(st, 1, 10, 100, 7, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 13 && ax.values[12] == 94);
	CHECK(!bt_grid_range(st, 0, 5, 20, 2.5, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"fast\"") != NULL && strstr(err.msg, "7.5") != NULL &&
			  strstr(err.msg, "integer") != NULL, "%s", err.msg);
	CHECK(err.code == BT_ERR_PARAM);
	CHECK(!bt_grid_range(st, 1, 10.5, 20, 1, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"slow\"") != NULL, "%s", err.msg);

	/* bad ranges */
	CHECK(!bt_grid_range(st, 0, 5, 20, 0, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"fast\"") && strstr(err.msg, "positive step"), "%s", err.msg);
	CHECK(!bt_grid_range(st, 0, 5, 20, -1, &unit_alloc, &ax, &err));
	CHECK(!bt_grid_range(st, 0, 20, 5, 1, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"fast\"") && strstr(err.msg, "empty"), "%s", err.msg);
	CHECK(!bt_grid_range(st, 0, 5, NAN, 1, &unit_alloc, &ax, &err));
	CHECK(!bt_grid_range(st, 0, 5, 20, INFINITY, &unit_alloc, &ax, &err));
	/* out of the parameter's bounds (fast >= 1, stop_loss <= 1) */
	CHECK(!bt_grid_range(st, 0, 0, 10, 1, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"fast\"") && strstr(err.msg, "out of range"), "%s", err.msg);
	CHECK(!bt_grid_range(st, sl, 0.5, 1.5, 0.5, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"stop_loss\""), "%s", err.msg);
	/* too many values */
	CHECK(bt_grid_range(st, 1, 1, BT_GRID_MAX_VALUES, 1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == BT_GRID_MAX_VALUES);
	CHECK(!bt_grid_range(st, 1, 1, BT_GRID_MAX_VALUES + 1, 1, &unit_alloc, &ax, &err));
	CHECK_MSG(strstr(err.msg, "\"slow\"") && strstr(err.msg, "more than"), "%s", err.msg);
	CHECK(!bt_grid_range(st, sl, 0, 1, 1e-300, &unit_alloc, &ax, &err));
	/* booleans and enums */
	CHECK(bt_grid_range(st, pidx(st, "allow_short"), 0, 1, 1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 2 && ax.values[0] == 0 && ax.values[1] == 1);
	CHECK(!bt_grid_range(st, pidx(st, "allow_short"), 0, 1, 0.5, &unit_alloc, &ax, &err));
	CHECK(bt_grid_range(st, pidx(st, "stamp_duty_on"), 0, 2, 1, &unit_alloc, &ax, &err));
	CHECK(ax.nvalues == 3);
	CHECK(!bt_grid_range(st, pidx(st, "stamp_duty_on"), 0, 3, 1, &unit_alloc, &ax, &err));
	/* an unknown parameter number */
	CHECK(!bt_grid_range(st, 99, 0, 1, 1, &unit_alloc, &ax, &err));
}

/* ---- grid expansion ----------------------------------------------------------- */

static void
test_expand(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				skipped;
	double		fasts[] = {5, 10},
				slows[] = {20, 30, 40};

	bt_config_defaults(&base, st);
	base.sim.commission = 0.001;

	/* first axis slowest; every other parameter from the base */
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	g.axes[0] = list_axis(0, 2, fasts);
	g.axes[1] = list_axis(1, 3, slows);
	CHECK(bt_grid_size(&g) == 6);
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(n == 6 && skipped == 0);
	for (int i = 0; i < 6 && n == 6; i++)
	{
		CHECK_MSG(combos[i].sp[0] == fasts[i / 3] && combos[i].sp[1] == slows[i % 3],
				  "combination %d: %g/%g", i, combos[i].sp[0], combos[i].sp[1]);
		CHECK(combos[i].strategy == st && combos[i].sim.commission == 0.001);
	}

	/* the other axis order: slow slowest */
	g.axes[0] = list_axis(1, 3, slows);
	g.axes[1] = list_axis(0, 2, fasts);
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(n == 6 && combos[0].sp[1] == 20 && combos[0].sp[0] == 5 &&
		  combos[1].sp[1] == 20 && combos[1].sp[0] == 10 && combos[5].sp[1] == 40);

	/* three axes, one of them the simulator's, values in the order given */
	{
		double		sls[] = {0.1, 0, 0.05};
		int			sl = pidx(st, "stop_loss");

		g.naxes = 3;
		g.axes[0] = list_axis(0, 2, fasts);
		g.axes[1] = list_axis(sl, 3, sls);
		g.axes[2] = list_axis(1, 3, slows);
		CHECK(bt_grid_size(&g) == 18);
		CHECK(bt_grid_expand(&g, &base, 18, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK(n == 18 && skipped == 0);
		CHECK(combos[0].sim.stop_loss == 0.1 && combos[3].sim.stop_loss == 0 &&
			  combos[6].sim.stop_loss == 0.05 && combos[9].sim.stop_loss == 0.1);
		CHECK(combos[4].sp[1] == 30 && combos[9].sp[0] == 10 && combos[17].sp[1] == 40);
		/* a constraint on the simulator's parameter */
		g.nconstraints = 1;
		g.constraints[0] = constraint(st, "stop_loss > 0");
		CHECK(bt_grid_expand(&g, &base, 18, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK(n == 12 && skipped == 6);
		for (int64_t i = 0; i < n; i++)
			CHECK(combos[i].sim.stop_loss > 0);
		g.nconstraints = 0;
	}

	/* no axes: the base alone; an empty axis: nothing */
	g.naxes = 0;
	CHECK(bt_grid_size(&g) == 1);
	CHECK(bt_grid_expand(&g, &base, 1, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(n == 1 && skipped == 0 && memcmp(&combos[0], &base, sizeof(base)) == 0);
	g.naxes = 2;
	g.axes[0] = list_axis(0, 2, fasts);
	g.axes[1] = list_axis(1, 0, slows);
	CHECK(bt_grid_size(&g) == 0);
	CHECK(bt_grid_expand(&g, &base, 1, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(n == 0 && combos == NULL);

	/* the strategy's own check skips fast >= slow; constraints too */
	{
		double		v[] = {10, 20, 30};

		g.naxes = 2;
		g.axes[0] = list_axis(0, 3, v);
		g.axes[1] = list_axis(1, 3, v);
		CHECK(bt_grid_expand(&g, &base, 9, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK_MSG(n == 3 && skipped == 6, "kept %lld, skipped %lld", (long long) n, (long long) skipped);
		CHECK(n == 3 && combos[0].sp[0] == 10 && combos[0].sp[1] == 20 &&
			  combos[1].sp[0] == 10 && combos[1].sp[1] == 30 &&
			  combos[2].sp[0] == 20 && combos[2].sp[1] == 30);
		g.nconstraints = 2;
		g.constraints[0] = constraint(st, "slow != 20");
		g.constraints[1] = constraint(st, "fast <= 10");
		CHECK(bt_grid_expand(&g, &base, 9, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK(n == 1 && skipped == 8 && combos[0].sp[0] == 10 && combos[0].sp[1] == 30);
		/* everything skipped: OK with no combination */
		g.constraints[1] = constraint(st, "fast > 100");
		CHECK(bt_grid_expand(&g, &base, 9, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK(n == 0 && skipped == 9);
		g.nconstraints = 0;
	}

	/* listed values out of a parameter's bounds are skipped, not errors */
	{
		double		f[] = {0, 5, 1.5};
		double		sls[] = {0.1, 2};

		g.naxes = 2;
		g.axes[0] = list_axis(0, 3, f);
		g.axes[1] = list_axis(pidx(st, "stop_loss"), 2, sls);
		CHECK(bt_grid_expand(&g, &base, 6, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
		CHECK(n == 1 && skipped == 5 && combos[0].sp[0] == 5 && combos[0].sim.stop_loss == 0.1);
	}

	/* structural errors */
	g.naxes = 2;
	g.axes[0] = list_axis(0, 2, fasts);
	g.axes[1] = list_axis(0, 2, fasts);
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
	CHECK_MSG(strstr(err.msg, "\"fast\" is swept more than once") != NULL, "%s", err.msg);
	g.axes[1] = list_axis(bt_param_space_size(st), 2, fasts);
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
	g.naxes = BT_GRID_MAX_AXES + 1;
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
	g.naxes = 1;
	g.sample = -1;
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
}

/* ---- sampling ------------------------------------------------------------------ */

/* A 20 x 20 sma_cross grid (fast 1..20, slow 2..40 step 2): 300 kept of 400 */
static void
big_grid(BtGrid *g, const BtStrategyDef *st)
{
	BtError		err;

	memset(g, 0, sizeof(*g));
	g->naxes = 2;
	CHECK(bt_grid_range(st, 0, 1, 20, 1, &unit_alloc, &g->axes[0], &err));
	CHECK(bt_grid_range(st, 1, 2, 40, 2, &unit_alloc, &g->axes[1], &err));
}

/* Index of a combination of big_grid in combination order */
static int64_t
big_index(const BtConfig *c)
{
	return ((int64_t) c->sp[0] - 1) * 20 + ((int64_t) c->sp[1] / 2 - 1);
}

static void
test_sampling(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *all,
			   *a1,
			   *a2,
			   *b;
	BtGrid		g;
	BtError		err;
	int64_t		nall,
				n1,
				n2,
				nb,
				skipped;
	int			diff = 0;

	bt_config_defaults(&base, st);
	big_grid(&g, st);
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &all, &nall, &skipped, &err) == BT_OK);
	/* fast < slow: for fast f, the slows 2..40 above f: 20 + 2 * (19 + ... + 11) + 10 */
	CHECK_MSG(nall == 300 && skipped == 100, "kept %lld", (long long) nall);

	g.sample = 50;
	g.seed = 42;
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &a1, &n1, &skipped, &err) == BT_OK);
	CHECK(n1 == 50 && skipped == 100);
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &a2, &n2, &skipped, &err) == BT_OK);
	CHECK(n2 == 50 && memcmp(a1, a2, 50 * sizeof(BtConfig)) == 0);	/* deterministic */
	for (int64_t i = 0; i < n1; i++)
	{
		BtError		e;

		CHECK(bt_config_check(&a1[i], &e));
		/* strictly increasing: distinct, in combination order */
		if (i > 0)
			CHECK_MSG(big_index(&a1[i]) > big_index(&a1[i - 1]), "sample %lld out of order",
					  (long long) i);
	}
	g.seed = 43;
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &b, &nb, &skipped, &err) == BT_OK);
	CHECK(nb == 50);
	for (int64_t i = 0; i < 50 && nb == 50; i++)
		diff += a1[i].sp[0] != b[i].sp[0] || a1[i].sp[1] != b[i].sp[1];
	CHECK_MSG(diff > 0, "seeds 42 and 43 gave the same sample");

	/* a sample as large as the kept set, or larger: all of them, in order */
	g.sample = 300;
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &b, &nb, &skipped, &err) == BT_OK);
	CHECK(nb == 300 && memcmp(b, all, 300 * sizeof(BtConfig)) == 0);
	g.sample = 1000;
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &b, &nb, &skipped, &err) == BT_OK);
	CHECK(nb == 300 && skipped == 100 && memcmp(b, all, 300 * sizeof(BtConfig)) == 0);
	/* a sample of 1 */
	g.sample = 1;
	CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &b, &nb, &skipped, &err) == BT_OK);
	CHECK(nb == 1 && bt_config_check(&b[0], &err));

	/*
	 * Uniform: over 2000 seeds, a sample of 10 of 300 includes each
	 * combination 2000 * 10 / 300 = 67 times on average (standard
	 * deviation about 8); check every count lies within a generous 25..130.
	 */
	{
		int			counts[400];
		int			lo = 1 << 30,
					hi = 0;

		memset(counts, 0, sizeof(counts));
		g.sample = 10;
		for (uint64_t seed = 1; seed <= 2000; seed++)
		{
			g.seed = seed * UINT64_C(0x100000001);
			CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &b, &nb, &skipped, &err) == BT_OK);
			for (int64_t i = 0; i < nb; i++)
				counts[big_index(&b[i])]++;
			if (seed % 200 == 0)
			{
				/* free the samples, and the axes with them */
				unit_free_all();
				big_grid(&g, st);
				g.sample = 10;
			}
		}
		g.sample = 0;
		CHECK(bt_grid_expand(&g, &base, 1000, &unit_alloc, &all, &nall, &skipped, &err) == BT_OK);
		for (int64_t i = 0; i < nall; i++)
		{
			int			c = counts[big_index(&all[i])];

			lo = c < lo ? c : lo;
			hi = c > hi ? c : hi;
		}
		CHECK_MSG(lo >= 25 && hi <= 130, "sample counts range %d..%d", lo, hi);
	}
}

/* ---- limits --------------------------------------------------------------------- */

static void
test_limits(void)
{
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				skipped;

	bt_config_defaults(&base, st);
	big_grid(&g, st);

	/* without sampling, the raw product counts (400), not the kept (290) */
	CHECK(bt_grid_expand(&g, &base, 400, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(bt_grid_expand(&g, &base, 399, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
	CHECK_MSG(strstr(err.msg, "400") && strstr(err.msg, "399"), "%s", err.msg);
	CHECK(err.hint[0] != '\0' && err.code == BT_ERR_PARAM);

	/* with sampling, the sample counts against max_combos */
	g.sample = 100;
	CHECK(bt_grid_expand(&g, &base, 100, &unit_alloc, &combos, &n, &skipped, &err) == BT_OK);
	CHECK(n == 100);
	CHECK(bt_grid_expand(&g, &base, 99, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
	CHECK_MSG(strstr(err.msg, "100") && strstr(err.msg, "99"), "%s", err.msg);

	/* ... and the raw product against BT_GRID_MAX_ENUMERATE: 100000 x 101 */
	{
		BtGrid		h;

		memset(&h, 0, sizeof(h));
		h.naxes = 2;
		CHECK(bt_grid_range(st, 0, 1, 100000, 1, &unit_alloc, &h.axes[0], &err));
		CHECK(bt_grid_range(st, 1, 1, 101, 1, &unit_alloc, &h.axes[1], &err));
		CHECK(bt_grid_size(&h) == INT64_C(10100000));
		h.sample = 10;
		CHECK(bt_grid_expand(&h, &base, 1000, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
		CHECK_MSG(strstr(err.msg, "10100000") && strstr(err.msg, "10000000"), "%s", err.msg);
		h.sample = 0;
		CHECK(bt_grid_expand(&h, &base, 1000000, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);

		/* overflow: 8 axes of 100000 values */
		h.naxes = BT_GRID_MAX_AXES;
		for (int i = 0; i < h.naxes; i++)
		{
			h.axes[i].param = i == 0 ? 0 : i == 1 ? 1 : 2 + i;
			h.axes[i].nvalues = 100000;
			h.axes[i].values = h.axes[0].values;
		}
		CHECK(bt_grid_size(&h) == -1);
		CHECK(bt_grid_expand(&h, &base, INT64_MAX, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
		CHECK_MSG(strstr(err.msg, "more than") != NULL, "%s", err.msg);
		h.sample = 5;
		CHECK(bt_grid_expand(&h, &base, INT64_MAX, &unit_alloc, &combos, &n, &skipped, &err) == BT_ERR_PARAM);
		/* an empty axis makes the product 0, not an overflow */
		h.axes[5].nvalues = 0;
		CHECK(bt_grid_size(&h) == 0);
	}
}

/* ---- sweep contexts ------------------------------------------------------------ */

/* Configurations exercising the simulator: costs, stops, shorts, close fills */
static int
sim_variants(BtSimParams *v)
{
	int			k = 0;

	bt_sim_defaults(&v[k++]);
	bt_sim_defaults(&v[k]);
	v[k].commission = 0.001;
	v[k].commission_min = 5;
	v[k].commission_fixed = 1;
	v[k].stamp_duty = 0.001;
	v[k].stamp_duty_on = BT_STAMP_BOTH;
	v[k].slippage_bps = 5;
	v[k].lot_size = 10;
	k++;
	bt_sim_defaults(&v[k]);
	v[k].allow_short = true;
	v[k].stop_loss = 0.03;
	v[k].take_profit = 0.08;
	v[k].fill = BT_FILL_CLOSE;
	v[k].size = 0.5;
	k++;
	bt_sim_defaults(&v[k]);
	v[k].allow_short = true;
	v[k].trailing_stop = 0.05;
	v[k].fractional = true;
	v[k].risk_free_rate = 0.02;
	v[k].periods_per_year = 365;
	v[k].commission = 0.0005;
	k++;
	/* issue 15: sizing by ATR risk, leverage, margin calls, borrow fees */
	bt_sim_defaults(&v[k]);
	v[k].allow_short = true;
	v[k].sizing = BT_SIZING_RISK;
	v[k].risk_fraction = 0.05;
	v[k].risk_atr = 1.5;
	v[k].risk_atr_period = 7;
	v[k].leverage = 3;
	v[k].maintenance_margin = 0.3;
	v[k].borrow_rate = 0.1;
	k++;
	bt_sim_defaults(&v[k]);
	v[k].sizing = BT_SIZING_VALUE;
	v[k].order_value = 3000;
	v[k].commission_per_share = 0.02;
	v[k].commission_min = 1;
	v[k].commission_max = 3;
	v[k].spread = 0.1;
	v[k].spread_unit = BT_SPREAD_PRICE;
	k++;
	return k;
}

/* bt_sweep_run gives bt_run's metrics for every strategy and simulator variant */
static void
test_sweep_equals_run(void)
{
	BtSeries	s = unit_sample_series();
	BtSweepCtx *ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 64 << 20);
	BtSimParams vars[8];
	int			nvars = sim_variants(vars);
	int			runs = 0;

	for (int si = 0; si < bt_n_strategies; si++)
	{
		const BtStrategyDef *st = &bt_strategies[si];

		if (st->needs_signal)
			continue;
		for (int v = 0; v < nvars; v++)
			for (int alt = 0; alt < 2; alt++)
			{
				BtConfig	cfg;
				BtError		err;
				char		what[128];

				bt_config_defaults(&cfg, st);
				cfg.sim = vars[v];
				if (alt)
				{
					/* other parameters: shorter periods, the booleans on */
					for (int i = 0; i < st->nparams; i++)
						if (st->params[i].type == BT_PARAM_INT)
							cfg.sp[i] = floor(st->params[i].def * 0.7);
						else if (st->params[i].type == BT_PARAM_BOOL)
							cfg.sp[i] = 1;
				}
				if (!bt_config_check(&cfg, &err))
				{
					CHECK_MSG(false, "%s: %s", st->name, err.msg);
					continue;
				}
				snprintf(what, sizeof(what), "%s, variant %d%s", st->name, v, alt ? ", alt" : "");
				{
					BtMetrics	m1 = run_metrics(&s, &cfg);
					BtMetrics	m2 = sweep_metrics(ctx, &cfg);

					CHECK_MSG(same_metrics(&m2, &m1, what), "%s", what);
					/* and again, from the cache */
					m2 = sweep_metrics(ctx, &cfg);
					CHECK_MSG(same_metrics(&m2, &m1, what), "%s (cached)", what);
				}
				runs++;
			}
		unit_free_all();
		/* the context's memory was freed: a new one */
		ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 64 << 20);
	}
	CHECK(runs == 8 * nvars * 2);

	/*
	 * tiny series: 0, 1 and 3 bars (not 2: bt_infer_periods_per_year's
	 * sort reads before its array for a single spacing, in metrics.c)
	 */
	for (int n = 0; n <= 3; n += n == 1 ? 2 : 1)
	{
		BtSeries	t = s;
		BtConfig	cfg;
		BtMetrics	m1,
					m2;

		t.n = n;
		ctx = bt_sweep_ctx_create(&t, &unit_alloc, 0);
		bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
		m1 = run_metrics(&t, &cfg);
		m2 = sweep_metrics(ctx, &cfg);
		CHECK_MSG(same_metrics(&m2, &m1, "tiny"), "%d bars", n);
		bt_config_defaults(&cfg, bt_find_strategy("buy_and_hold"));
		m1 = run_metrics(&t, &cfg);
		m2 = sweep_metrics(ctx, &cfg);
		CHECK_MSG(same_metrics(&m2, &m1, "tiny"), "%d bars, buy_and_hold", n);
	}

	/* the signal strategy, with a signal column */
	{
		BtSeries	t = s;
		double	   *sig = unit_alloc.realloc_fn(NULL, NULL, (size_t) s.n * sizeof(double));
		BtConfig	cfg;
		BtMetrics	m1,
					m2;
		BtError		err;

		for (int64_t i = 0; i < s.n; i++)
			sig[i] = i % 37 == 0 ? 1 : i % 23 == 0 ? -1 : i % 51 == 0 ? 0 : NAN;
		t.signal = sig;
		bt_config_defaults(&cfg, bt_find_strategy("signal"));
		cfg.sim.allow_short = true;
		ctx = bt_sweep_ctx_create(&t, &unit_alloc, 0);
		m1 = run_metrics(&t, &cfg);
		m2 = sweep_metrics(ctx, &cfg);
		CHECK(same_metrics(&m2, &m1, "signal"));
		/* without a signal column: an error, not a crash */
		ctx = bt_sweep_ctx_create(&s, &unit_alloc, 0);
		CHECK(bt_sweep_run(ctx, &cfg, NULL, NULL, &m2, &err) == BT_ERR_PARAM);
		/* an invalid configuration is rejected */
		bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
		cfg.sp[0] = 50;
		CHECK(bt_sweep_run(ctx, &cfg, NULL, NULL, &m2, &err) == BT_ERR_PARAM);
		CHECK(strstr(err.msg, "fast") != NULL);
	}

	/*
	 * the sample's prices on a 24/5 FX calendar (hourly, Sunday 22:00 to
	 * Friday 22:00 UTC): the sweep infers the trading day once, as bt_run
	 * infers it per run (22:00 UTC)
	 */
	{
		BtSeries	t = s;
		int64_t    *ts = unit_alloc.realloc_fn(NULL, NULL, (size_t) s.n * sizeof(int64_t));
		const int64_t hour = INT64_C(3600000000);
		BtConfig	cfg;
		BtMetrics	m1,
					m2;

		for (int64_t i = 0; i < s.n; i++)
			ts[i] = (INT64_C(16439) + 7 * (i / 120)) * BT_USECS_PER_DAY + 22 * hour +
				(i % 120) * hour;	/* 2015-01-04, a Sunday */
		t.ts = ts;
		CHECK(bt_infer_day_start(ts, s.n) == -2 * hour);
		bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
		cfg.sim.fractional = true;
		ctx = bt_sweep_ctx_create(&t, &unit_alloc, 0);
		for (int k = 0; k < 2; k++)
		{
			m1 = run_metrics(&t, &cfg);
			m2 = sweep_metrics(ctx, &cfg);
			CHECK(same_metrics(&m2, &m1, "fx"));
			CHECK(m1.periods_per_year == 252 && !isnan(m1.volatility_ann_pct));
			cfg.sp[0] = 5;
		}
	}
}

/* Expand a grid that must be valid */
static BtConfig *
expand(const BtGrid *g, const BtConfig *base, int64_t *n)
{
	BtConfig   *combos = NULL;
	int64_t		skipped;
	BtError		err;

	CHECK_MSG(bt_grid_expand(g, base, 1000000, &unit_alloc, &combos, n, &skipped, &err) == BT_OK,
			  "%s", err.msg);
	return combos;
}

/* Lines are computed once per indicator and parameters */
static void
test_cache_counts(void)
{
	BtSeries	s = unit_sample_series();
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				computed,
				reused;
	BtSweepCtx *ctx;
	int			mismatches = 0;

	/* 5 x 6 sma_cross: fast 2..10 step 2, slow 20..45 step 5: 11 lines, not 60 */
	bt_config_defaults(&base, st);
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	CHECK(bt_grid_range(st, 0, 2, 10, 2, &unit_alloc, &g.axes[0], &err));
	CHECK(bt_grid_range(st, 1, 20, 45, 5, &unit_alloc, &g.axes[1], &err));
	combos = expand(&g, &base, &n);
	CHECK(n == 30);
	ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 16 << 20);
	for (int64_t i = 0; i < n; i++)
	{
		BtMetrics	m = sweep_metrics(ctx, &combos[i]);
		BtMetrics	r = run_metrics(&s, &combos[i]);

		mismatches += !same_metrics(&m, &r, "5x6");
	}
	CHECK(mismatches == 0);
	bt_sweep_ctx_stats(ctx, &computed, &reused);
	CHECK_MSG(computed == 11 && reused == 49, "computed %lld, reused %lld",
			  (long long) computed, (long long) reused);

	/* a second pass computes nothing */
	for (int64_t i = 0; i < n; i++)
		(void) sweep_metrics(ctx, &combos[i]);
	bt_sweep_ctx_stats(ctx, &computed, &reused);
	CHECK(computed == 11 && reused == 49 + 60);

	/* 20 x 20: 40 lines (the cache's tables grow), each computed once */
	bt_config_defaults(&base, st);
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	CHECK(bt_grid_range(st, 0, 1, 20, 1, &unit_alloc, &g.axes[0], &err));
	CHECK(bt_grid_range(st, 1, 21, 40, 1, &unit_alloc, &g.axes[1], &err));
	combos = expand(&g, &base, &n);
	CHECK(n == 400);
	ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 64 << 20);
	mismatches = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int64_t i = 0; i < n; i += pass == 0 ? 1 : 13)
		{
			BtMetrics	m = sweep_metrics(ctx, &combos[i]);

			if (pass == 1)
			{
				BtMetrics	r = run_metrics(&s, &combos[i]);

				mismatches += !same_metrics(&m, &r, "20x20");
			}
		}
	CHECK(mismatches == 0);
	bt_sweep_ctx_stats(ctx, &computed, &reused);
	CHECK_MSG(computed == 40 && reused == 2 * 400 - 40 + 2 * ((400 + 12) / 13),
			  "computed %lld, reused %lld", (long long) computed, (long long) reused);

	/* macd_cross: the MACD lines share the EMA lines of their periods */
	{
		const BtStrategyDef *mst = bt_find_strategy("macd_cross");
		double		f[] = {8, 12},
					sl[] = {21, 26, 30},
					sg[] = {5, 9};

		bt_config_defaults(&base, mst);
		memset(&g, 0, sizeof(g));
		g.naxes = 3;
		g.axes[0] = list_axis(0, 2, f);
		g.axes[1] = list_axis(1, 3, sl);
		g.axes[2] = list_axis(2, 2, sg);
		combos = expand(&g, &base, &n);
		CHECK(n == 12);
		ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 64 << 20);
		mismatches = 0;
		for (int64_t i = 0; i < n; i++)
		{
			BtMetrics	m = sweep_metrics(ctx, &combos[i]);
			BtMetrics	r = run_metrics(&s, &combos[i]);

			mismatches += !same_metrics(&m, &r, "macd");
		}
		CHECK(mismatches == 0);
		/* 5 EMA lines (8, 12, 21, 26, 30) and 12 MACD lines */
		bt_sweep_ctx_stats(ctx, &computed, &reused);
		CHECK_MSG(computed == 5 + 12, "computed %lld", (long long) computed);
		/* each MACD line uses 2 EMA lines: 24 uses, 5 of them computing */
		CHECK_MSG(reused == 12 * 2 - 5, "reused %lld", (long long) reused);
	}

	/* rsi: sweeping the thresholds reuses one RSI line */
	{
		const BtStrategyDef *rst = bt_find_strategy("rsi");
		double		lo[] = {20, 25, 30},
					hi[] = {70, 75, 80};

		bt_config_defaults(&base, rst);
		memset(&g, 0, sizeof(g));
		g.naxes = 2;
		g.axes[0] = list_axis(1, 3, lo);
		g.axes[1] = list_axis(2, 3, hi);
		combos = expand(&g, &base, &n);
		ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 64 << 20);
		for (int64_t i = 0; i < n; i++)
		{
			BtMetrics	m = sweep_metrics(ctx, &combos[i]);
			BtMetrics	r = run_metrics(&s, &combos[i]);

			CHECK(same_metrics(&m, &r, "rsi"));
		}
		bt_sweep_ctx_stats(ctx, &computed, &reused);
		CHECK(computed == 1 && reused == 8);
	}
}

/* A tiny cache evicts lines yet gives the same metrics */
static void
test_cache_eviction(void)
{
	BtSeries	s = unit_sample_series();
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				computed,
				reused;
	BtMetrics  *ref;
	size_t		line = (size_t) s.n * sizeof(double);
	size_t		sizes[] = {0, line, 3 * line, 3 * line + line / 2, 7 * line};

	bt_config_defaults(&base, st);
	base.sim.commission = 0.001;
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	CHECK(bt_grid_range(st, 0, 3, 15, 3, &unit_alloc, &g.axes[0], &err));
	CHECK(bt_grid_range(st, 1, 20, 50, 6, &unit_alloc, &g.axes[1], &err));
	combos = expand(&g, &base, &n);
	CHECK(n == 30);
	ref = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
	for (int64_t i = 0; i < n; i++)
		ref[i] = run_metrics(&s, &combos[i]);

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
	{
		BtSweepCtx *ctx = bt_sweep_ctx_create(&s, &unit_alloc, sizes[k]);
		int			mismatches = 0;

		for (int pass = 0; pass < 2; pass++)
			for (int64_t i = 0; i < n; i++)
			{
				/* forwards, then backwards */
				int64_t		c = pass == 0 ? i : n - 1 - i;
				BtMetrics	m = sweep_metrics(ctx, &combos[c]);

				mismatches += !same_metrics(&m, &ref[c], "eviction");
			}
		CHECK_MSG(mismatches == 0, "cache of %zu bytes: %d mismatches", sizes[k], mismatches);
		bt_sweep_ctx_stats(ctx, &computed, &reused);
		/* 60 runs, 120 line uses; 11 distinct lines */
		CHECK(computed + reused <= 120 && computed >= 11);
		if (sizes[k] < 11 * line)
			CHECK_MSG(computed > 11, "cache of %zu bytes computed only %lld", sizes[k],
					  (long long) computed);
		if (sizes[k] == 0)
		{
			/*
			 * No room: only the lines of the previous run survive, in the
			 * two arrays the first run needed.  Forwards, fast changes every
			 * 6th run and slow every run: slow always misses, fast misses 5
			 * times; backwards the first run hits both.
			 */
			CHECK_MSG(computed == 30 + 5 + 29 + 4, "computed %lld", (long long) computed);
		}
	}

	/*
	 * An 8-line cache holds the slow lines and two fast ones, all a change
	 * of row needs: only the fast lines are recomputed (LRU drops the
	 * previous row's fast line).  (With 7 lines, LRU would cycle through
	 * the slow lines and miss them all.)
	 */
	{
		BtSweepCtx *small = bt_sweep_ctx_create(&s, &unit_alloc, 2 * line);
		BtSweepCtx *big = bt_sweep_ctx_create(&s, &unit_alloc, 8 * line);
		int64_t		c_small,
					c_big;

		for (int pass = 0; pass < 2; pass++)
			for (int64_t i = 0; i < n; i++)
			{
				(void) sweep_metrics(small, &combos[i]);
				(void) sweep_metrics(big, &combos[i]);
			}
		bt_sweep_ctx_stats(small, &c_small, NULL);
		bt_sweep_ctx_stats(big, &c_big, NULL);
		CHECK_MSG(c_big < c_small, "big cache %lld, small %lld", (long long) c_big, (long long) c_small);
		CHECK_MSG(c_big == 11 + 5, "big cache computed %lld", (long long) c_big);
	}
}

/* The same metrics per combination in any order of the runs */
static void
test_order_independence(void)
{
	BtSeries	s = unit_sample_series();
	const char *names[] = {"sma_cross", "bollinger", "kdj"};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
	{
		const BtStrategyDef *st = bt_find_strategy(names[k]);
		BtConfig	base,
				   *combos;
		BtGrid		g;
		BtError		err;
		int64_t		n;
		BtMetrics  *fwd;
		int64_t	   *order;
		uint64_t	rng = 12345;
		int			mismatches = 0;
		BtSweepCtx *c1 = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 256 << 20);
		BtSweepCtx *c2 = bt_sweep_ctx_create(&s, &unit_alloc, 3 * (size_t) s.n * sizeof(double));

		bt_config_defaults(&base, st);
		base.sim.allow_short = true;
		memset(&g, 0, sizeof(g));
		g.naxes = 2;
		if (k == 0)
		{
			CHECK(bt_grid_range(st, 0, 5, 25, 5, &unit_alloc, &g.axes[0], &err));
			CHECK(bt_grid_range(st, 1, 20, 60, 10, &unit_alloc, &g.axes[1], &err));
		}
		else if (k == 1)
		{
			CHECK(bt_grid_range(st, 0, 10, 30, 5, &unit_alloc, &g.axes[0], &err));
			CHECK(bt_grid_range(st, 1, 1.5, 2.5, 0.5, &unit_alloc, &g.axes[1], &err));
		}
		else
		{
			CHECK(bt_grid_range(st, 0, 5, 13, 4, &unit_alloc, &g.axes[0], &err));
			CHECK(bt_grid_range(st, 3, 0, 1, 1, &unit_alloc, &g.axes[1], &err));
		}
		combos = expand(&g, &base, &n);
		CHECK(n > 5);
		fwd = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
		order = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(int64_t));
		for (int64_t i = 0; i < n; i++)
		{
			fwd[i] = sweep_metrics(c1, &combos[i]);
			order[i] = i;
		}
		/* a shuffled order (Fisher-Yates with an xorshift), on a fresh and small context */
		for (int64_t i = n - 1; i > 0; i--)
		{
			int64_t		j,
						t;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			j = (int64_t) (rng % (uint64_t) (i + 1));
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int64_t i = 0; i < n; i++)
		{
			BtMetrics	m = sweep_metrics(c2, &combos[order[i]]);

			mismatches += !same_metrics(&m, &fwd[order[i]], names[k]);
		}
		/* and each one alone, on a fresh context, as another process would */
		for (int64_t i = 0; i < n; i += 3)
		{
			BtSweepCtx *c3 = bt_sweep_ctx_create(&s, &unit_alloc, 0);
			BtMetrics	m = sweep_metrics(c3, &combos[i]);

			mismatches += !same_metrics(&m, &fwd[i], names[k]);
		}
		CHECK_MSG(mismatches == 0, "%s: %d mismatches", names[k], mismatches);
		unit_free_all();
	}
}

/* ---- allocation and progress --------------------------------------------------- */

static int64_t nallocs;

/* unit_alloc, counting calls */
static void *
counting_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	nallocs++;
	return unit_alloc.realloc_fn(NULL, ptr, size);
}

static int	progress_calls;
static int	cancel_at;

/* Counts calls; cancels at call number cancel_at (0 = never) */
static int
progress_fn(void *arg, BtStep step, int64_t done, int64_t total)
{
	(void) arg;
	(void) step;
	(void) done;
	(void) total;
	return ++progress_calls == cancel_at;
}

static void
test_no_alloc_and_progress(void)
{
	BtSeries	s = unit_sample_series();
	BtAlloc		counting = {counting_realloc, NULL};
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n;
	BtSweepCtx *ctx;
	BtMetrics	m;

	bt_config_defaults(&base, st);
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	CHECK(bt_grid_range(st, 0, 2, 10, 2, &unit_alloc, &g.axes[0], &err));
	CHECK(bt_grid_range(st, 1, 20, 45, 5, &unit_alloc, &g.axes[1], &err));
	combos = expand(&g, &base, &n);

	/* with room for every line: after one pass, no allocation at all */
	ctx = bt_sweep_ctx_create(&s, &counting, (size_t) 64 << 20);
	for (int64_t i = 0; i < n; i++)
		(void) sweep_metrics(ctx, &combos[i]);
	nallocs = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int64_t i = 0; i < n; i++)
			(void) sweep_metrics(ctx, &combos[i]);
	CHECK_MSG(nallocs == 0, "%lld allocations in steady state", (long long) nallocs);

	/* with room for 2 lines: lines recomputed, but into recycled arrays */
	ctx = bt_sweep_ctx_create(&s, &counting, 2 * (size_t) s.n * sizeof(double));
	for (int64_t i = 0; i < n; i++)
		(void) sweep_metrics(ctx, &combos[i]);
	nallocs = 0;
	for (int64_t i = n; i-- > 0;)
		(void) sweep_metrics(ctx, &combos[i]);
	CHECK_MSG(nallocs == 0, "%lld allocations with evictions", (long long) nallocs);

	/* progress: called as bt_run calls it; a cancel stops the run cleanly */
	{
		int			run_calls;
		BtResult	r;

		progress_calls = 0;
		cancel_at = 0;
		CHECK(bt_run(&s, &combos[0], &unit_alloc, progress_fn, NULL, &r, &err) == BT_OK);
		run_calls = progress_calls;
		progress_calls = 0;
		CHECK(bt_sweep_run(ctx, &combos[0], progress_fn, NULL, &m, &err) == BT_OK);
		CHECK_MSG(progress_calls == run_calls && run_calls >= 3, "%d calls, bt_run %d",
				  progress_calls, run_calls);
		for (int at = 1; at <= run_calls; at++)
		{
			progress_calls = 0;
			cancel_at = at;
			CHECK(bt_sweep_run(ctx, &combos[at % n], progress_fn, NULL, &m, &err) == BT_ERR_CANCELLED);
			CHECK(err.code == BT_ERR_CANCELLED);
		}
		cancel_at = 0;
		/* the context still gives the right answers */
		for (int64_t i = 0; i < n; i += 7)
		{
			BtMetrics	r2 = run_metrics(&s, &combos[i]);

			m = sweep_metrics(ctx, &combos[i]);
			CHECK(same_metrics(&m, &r2, "after cancel"));
		}
	}
}

/* Is order[0..n-1] a permutation of 0..n-1? */
static bool
is_permutation(const int64_t *order, int64_t n)
{
	uint8_t    *seen = unit_alloc.realloc_fn(NULL, NULL, (size_t) (n > 0 ? n : 1));

	memset(seen, 0, (size_t) n);
	for (int64_t i = 0; i < n; i++)
	{
		if (order[i] < 0 || order[i] >= n || seen[order[i]])
			return false;
		seen[order[i]] = 1;
	}
	return true;
}

/*
 * Lines computed running combos in `order` (NULL: grid order) on a fresh
 * context with a cache of `arrays` line arrays; each combination's metrics
 * go to out[i] (i the combination, not the step).
 */
static int64_t
computed_in_order(const BtSeries *s, const BtConfig *combos, int64_t n, const int64_t *order,
				  int64_t arrays, BtMetrics *out)
{
	BtSweepCtx *ctx = bt_sweep_ctx_create(s, &unit_alloc,
										  (size_t) arrays * (size_t) s->n * sizeof(double));
	int64_t		computed;

	for (int64_t k = 0; k < n; k++)
	{
		int64_t		i = order ? order[k] : k;

		out[i] = sweep_metrics(ctx, &combos[i]);
	}
	bt_sweep_ctx_stats(ctx, &computed, NULL);
	return computed;
}

/*
 * bt_sweep_order: a permutation that computes fewer lines than the grid's
 * order when the lines do not fit, the identity when they do, and the same
 * metrics per combination.
 */
static void
test_sweep_order(void)
{
	BtSeries	s = unit_sample_series();
	const BtStrategyDef *st = bt_find_strategy("sma_cross");
	BtConfig	base,
			   *combos;
	BtGrid		g;
	BtError		err;
	int64_t		n,
				grid,
				ordered;
	int64_t    *order;
	BtMetrics  *m_grid,
			   *m_ord;
	int			mismatches = 0;

	/*
	 * The benchmark's grid: fast 5..50 step 5 x slow 20..200 step 20, 90
	 * combinations (fast < slow), 18 distinct lines (20 and 40 are both).
	 * An 8-line cache in grid order: a row (fast=5 and its 10 slow lines)
	 * needs 11 lines, so LRU drops every slow line just before the next
	 * row uses it: 10 fast lines + 90 slow ones computed.  The greedy order
	 * computes 34 (what a simulation of the cache gave: each row keeps 6
	 * or 7 slow lines of the previous one).
	 */
	bt_config_defaults(&base, st);
	memset(&g, 0, sizeof(g));
	g.naxes = 2;
	CHECK(bt_grid_range(st, 0, 5, 50, 5, &unit_alloc, &g.axes[0], &err));
	CHECK(bt_grid_range(st, 1, 20, 200, 20, &unit_alloc, &g.axes[1], &err));
	combos = expand(&g, &base, &n);
	CHECK(n == 90);
	order = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(int64_t));
	m_grid = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
	m_ord = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
	bt_sweep_order(st, combos, n, 8, &unit_alloc, order);
	CHECK(is_permutation(order, n));
	grid = computed_in_order(&s, combos, n, NULL, 8, m_grid);
	ordered = computed_in_order(&s, combos, n, order, 8, m_ord);
	for (int64_t i = 0; i < n; i++)
		mismatches += !same_metrics(&m_grid[i], &m_ord[i], "order");
	CHECK(mismatches == 0);
	CHECK_MSG(grid == 100, "grid order computed %lld lines", (long long) grid);
	CHECK_MSG(ordered == 34, "ordered: %lld lines", (long long) ordered);

	/* 18 lines fit in 18 arrays: the grid's order is kept */
	bt_sweep_order(st, combos, n, 18, &unit_alloc, order);
	for (int64_t i = 0; i < n; i++)
		mismatches += order[i] != i;
	CHECK(mismatches == 0);

	/* a cache of nothing (each run keeps only its own lines): fewer still */
	bt_sweep_order(st, combos, n, 0, &unit_alloc, order);
	CHECK(is_permutation(order, n));
	grid = computed_in_order(&s, combos, n, NULL, 0, m_grid);
	ordered = computed_in_order(&s, combos, n, order, 0, m_ord);
	CHECK_MSG(ordered < grid, "cache 0: ordered %lld, grid %lld", (long long) ordered, (long long) grid);

	/* macd_cross: three axes, MACD lines of 3 arrays derived from EMA lines: same metrics */
	{
		const BtStrategyDef *mst = bt_find_strategy("macd_cross");

		bt_config_defaults(&base, mst);
		memset(&g, 0, sizeof(g));
		g.naxes = 3;
		CHECK(bt_grid_range(mst, 0, 4, 16, 4, &unit_alloc, &g.axes[0], &err));
		CHECK(bt_grid_range(mst, 1, 20, 40, 5, &unit_alloc, &g.axes[1], &err));
		CHECK(bt_grid_range(mst, 2, 5, 9, 2, &unit_alloc, &g.axes[2], &err));
		combos = expand(&g, &base, &n);
		CHECK(n == 4 * 5 * 3);
		order = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(int64_t));
		m_grid = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
		m_ord = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(BtMetrics));
		bt_sweep_order(mst, combos, n, 12, &unit_alloc, order);
		CHECK(is_permutation(order, n));
		grid = computed_in_order(&s, combos, n, NULL, 12, m_grid);
		ordered = computed_in_order(&s, combos, n, order, 12, m_ord);
		mismatches = 0;
		for (int64_t i = 0; i < n; i++)
			mismatches += !same_metrics(&m_grid[i], &m_ord[i], "macd order");
		CHECK(mismatches == 0);
		CHECK_MSG(ordered <= grid, "macd: ordered %lld, grid %lld", (long long) ordered, (long long) grid);
	}
}

void
test_sweep(void)
{
	test_param_space();
	test_constraints();
	test_ranges();
	test_expand();
	test_sampling();
	test_limits();
	unit_free_all();
	test_sweep_equals_run();
	unit_free_all();
	test_cache_counts();
	unit_free_all();
	test_cache_eviction();
	unit_free_all();
	test_order_independence();
	test_no_alloc_and_progress();
	unit_free_all();
	test_sweep_order();
}
