/*-------------------------------------------------------------------------
 *
 * param_space.c
 *	  The parameter space: one index space over a strategy's parameters
 *	  (in definition order) followed by the simulator's, which plain
 *	  backtests (params parsing), constraints and grids address parameters
 *	  by; and getting and setting a configuration's values by that index.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/param_space.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

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
	return &bt_sim_params[index - st->nparams].def;
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
		if (strcmp(bt_sim_params[i].def.name, name) == 0)
			return st->nparams + i;
	return -1;
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
