/*-------------------------------------------------------------------------
 *
 * sweep_rows.c
 *	  The rows of a sweep: the combinations in result order (by the
 *	  objective, NULLs last, ties in combination order, cut to top) and the
 *	  backtest_sweep row of a combination (its parameters, then its metrics).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/results.h"
#include "sweep.h"

#define SWEEP_PCOLS			BTPG_SWEEP_PCOLS

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

/*
 * btpg_sweep_order
 *		The combinations in result order (by the plan's sort_by, NULLs last,
 *		ties in combination order), cut to its top; returns how many.
 */
int64
btpg_sweep_order(const BtpgSweepPlan *plan, const BtMetrics *metrics, int64 **order)
{
	const BtpgSweepSpec *spec = &plan->spec;
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
 * btpg_sweep_params
 *		The first 2 + 2 * 4 columns of combination k's backtest_sweep row:
 *		combo_no, params (jsonb), p1_name, p1, ..., p4_name, p4.
 */
void
btpg_sweep_params(const BtpgSweepPlan *plan, int64 k, Datum *values, bool *nulls)
{
	param_values(plan->st, &plan->spec.grid, &plan->combos[k], k, values, nulls);
}

/*
 * btpg_sweep_row
 *		The backtest_sweep row (BTPG_SWEEP_NATTS columns) of combination k.
 */
void
btpg_sweep_row(const BtpgSweepPlan *plan, int64 k, const BtMetrics *m, Datum *values, bool *nulls)
{
	btpg_sweep_params(plan, k, values, nulls);
	btpg_metrics_values(m, values + 2 + 2 * SWEEP_PCOLS, nulls + 2 + 2 * SWEEP_PCOLS);
}
