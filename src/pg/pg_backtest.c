/*-------------------------------------------------------------------------
 *
 * pg_backtest.c
 *	  Module entry point (_PG_init) and the discoverability functions
 *	  backtest_strategies() and backtest_parameters().
 *
 * The library works both loaded on demand (CREATE EXTENSION) and preloaded
 * through shared_preload_libraries.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/pg_backtest.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "miscadmin.h"

#include "aggregate_plan.h"
#include "core/memory.h"
#include "portfolio.h"
#include "sweep.h"
#include "notify/notify.h"
#include "queue/queue.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(backtest_strategies);
PG_FUNCTION_INFO_V1(backtest_parameters);

void		_PG_init(void);

/*
 * _PG_init
 *		Module load: define the GUCs; when preloaded, also request shared
 *		memory and register the cluster launcher (not during binary
 *		upgrade).  There is no PGC_POSTMASTER setting any more: the launcher
 *		serves every database that has the extension.
 */
void
_PG_init(void)
{
	btpg_define_gucs();
	btpg_sweep_define_gucs();
	btpg_memory_define_gucs();
	btpg_sweep_parallel_define_gucs();
	btpg_tasks_define_gucs();
	btpg_notify_define_gucs();
	btpg_aggregate_plan_init();

	/* the features' task kinds (the queue knows no feature) */
	btpg_sweep_register_task_kind();
	btpg_portfolio_register_task_kind();
	/* the system status' events, sent by the dispatchers */
	btpg_dispatcher_round_hook = btpg_status_maybe_notify;

	/*
	 * Reserve the prefix only once every setting is defined: it removes the
	 * placeholders of settings not defined yet (with their configured
	 * values).
	 */
	MarkGUCPrefixReserved("pg_backtest");

	if (!process_shared_preload_libraries_in_progress)
		return;
	btpg_shmem_init_hooks();
	if (!IsBinaryUpgrade)
		btpg_register_launcher();
}

/* A parameter's default as jsonb text */
static char *
param_default_json(const BtParamDef *p)
{
	switch (p->type)
	{
		case BT_PARAM_BOOL:
			return pstrdup(p->def != 0 ? "true" : "false");
		case BT_PARAM_ENUM:
			return psprintf("\"%s\"", p->choices[(int) p->def]);
		default:
			return psprintf("%.15g", p->def);
	}
}

static const char *
param_type_name(const BtParamDef *p)
{
	switch (p->type)
	{
		case BT_PARAM_INT:
			return "integer";
		case BT_PARAM_NUM:
			return "number";
		case BT_PARAM_BOOL:
			return "boolean";
		case BT_PARAM_ENUM:
			return "string";
	}
	return "unknown";
}

/*
 * backtest_strategies()
 *		name, parameters (jsonb: name -> default), description.
 */
Datum
backtest_strategies(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	SetSingleFuncCall(fcinfo, 0);
	for (int i = 0; i < bt_n_strategies; i++)
	{
		const BtStrategyDef *st = &bt_strategies[i];
		StringInfoData js;
		Datum		values[3];
		bool		nulls[3] = {0};

		initStringInfo(&js);
		appendStringInfoChar(&js, '{');
		for (int k = 0; k < st->nparams; k++)
		{
			appendStringInfo(&js, "%s", k ? ", " : "");
			escape_json(&js, st->params[k].name);
			appendStringInfo(&js, ": %s", param_default_json(&st->params[k]));
		}
		appendStringInfoChar(&js, '}');
		values[0] = CStringGetTextDatum(st->name);
		values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data));
		values[2] = CStringGetTextDatum(st->description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* One backtest_parameters() row */
static void
put_param(ReturnSetInfo *rsinfo, const char *scope, const BtParamDef *p)
{
	Datum		values[7];
	bool		nulls[7] = {0};
	bool		ranged = p->type == BT_PARAM_INT || p->type == BT_PARAM_NUM;

	values[0] = CStringGetTextDatum(scope);
	values[1] = CStringGetTextDatum(p->name);
	values[2] = CStringGetTextDatum(param_type_name(p));
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(param_default_json(p)));
	if (ranged)
	{
		values[4] = Float8GetDatum(p->min);
		values[5] = Float8GetDatum(p->max);
	}
	else
		nulls[4] = nulls[5] = true;
	values[6] = CStringGetTextDatum(p->doc);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * backtest_parameters()
 *		Every parameter a backtest accepts: each strategy's own, then the
 *		simulator's and the reader's (scope "*", valid for every strategy).
 */
Datum
backtest_parameters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	SetSingleFuncCall(fcinfo, 0);
	for (int i = 0; i < bt_n_strategies; i++)
		for (int k = 0; k < bt_strategies[i].nparams; k++)
			put_param(rsinfo, bt_strategies[i].name, &bt_strategies[i].params[k]);
	for (int k = 0; k < bt_n_sim_params; k++)
		put_param(rsinfo, "*", &bt_sim_params[k].def);
	for (int k = 0; k < btpg_n_reader_params; k++)
	{
		const BtpgReaderParam *p = &btpg_reader_params[k];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, true, true, false};

		values[0] = CStringGetTextDatum("*");
		values[1] = CStringGetTextDatum(p->name);
		values[2] = CStringGetTextDatum(p->type);
		values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(p->default_json));
		values[4] = values[5] = (Datum) 0;
		values[6] = CStringGetTextDatum(p->doc);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
