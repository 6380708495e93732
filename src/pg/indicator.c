/*-------------------------------------------------------------------------
 *
 * indicator.c
 *	  Set-returning indicator functions: backtest_indicator() over a table or
 *	  view, backtest_indicator_query() over a query, both in long format (one
 *	  row per bar per output), and backtest_indicators(), which lists the
 *	  engine's indicator registry.
 *
 * Bars are loaded with btpg_load_series (SPI, so the caller's privileges and
 * row-level security apply) into a per-call memory context, the indicator is
 * computed by the engine through the registry, and the rows are written to a
 * materialize-mode tuplestore; the per-call context is deleted before
 * returning.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/indicator.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/params.h"
#include "core/timestamps.h"
#include "chart.h"

/*
 * PostgreSQL 15.0 only has SetSingleFuncCall; later 15.x minor releases and
 * 16+ have InitMaterializedSRF (same flags).
 */
#ifndef MAT_SRF_USE_EXPECTED_DESC
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

/* Output columns of backtest_indicator() and backtest_indicator_query() */
#define INDICATOR_COLS		3
/* Output columns of backtest_indicators() */
#define INDICATORS_COLS		5

/* Rows written between two interrupt checks */
#define INDICATOR_CHECK_ROWS	65536

/* Inputs in the order they are listed (the order of window-function args) */
static const struct
{
	BtInput		bit;
	const char *name;
}			indicator_inputs[] =
{
	{BT_IN_HIGH, "high"},
	{BT_IN_LOW, "low"},
	{BT_IN_CLOSE, "close"},
	{BT_IN_VOLUME, "volume"}
};

PG_FUNCTION_INFO_V1(backtest_indicator);
PG_FUNCTION_INFO_V1(backtest_indicator_query);
PG_FUNCTION_INFO_V1(backtest_indicators);

/*
 * lookup_indicator
 *		The registry entry named name, or ereport with a hint listing the
 *		valid names.
 */
static const BtIndicatorDef *
lookup_indicator(const char *name)
{
	const BtIndicatorDef *def = bt_find_indicator(name);
	StringInfoData names;

	if (def != NULL)
		return def;

	initStringInfo(&names);
	for (int i = 0; i < bt_n_indicators; i++)
		appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", bt_indicators[i]->name);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown indicator \"%s\"", name),
			 errhint("Valid indicators are: %s.", names.data)));
	pg_unreachable();
}

/*
 * parse_indicator_params
 *		Fill p[] (registry order) and cols from the params jsonb (NULL means
 *		'{}'): the indicator's own parameters plus "columns".  Unknown keys
 *		are errors whose hint lists the valid keys.
 */
static void
parse_indicator_params(Jsonb *params, const BtIndicatorDef *def, double *p,
					   BtpgColumns *cols)
{
	char	   *what = psprintf("indicator \"%s\"", def->name);
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	for (int i = 0; i < def->nparams; i++)
		p[i] = def->params[i].def;
	btpg_columns_defaults(cols);

	if (params == NULL)
		return;

	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a jsonb object"),
				 errhint("Pass parameters as an object, for example '{\"period\": 20}'.")));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);

		/* skipNested: a nested object or array comes back as jbvBinary */
		tok = JsonbIteratorNext(&it, &v, true);
		if (tok != WJB_VALUE)
			elog(ERROR, "unexpected jsonb iterator token %d", (int) tok);

		if (strcmp(key, "columns") == 0)
		{
			btpg_parse_columns(&v, cols);
			continue;
		}

		for (i = 0; i < def->nparams; i++)
			if (strcmp(key, def->params[i].name) == 0)
				break;

		if (i < def->nparams)
			p[i] = btpg_param_value(&def->params[i], &v, what);
		else
		{
			StringInfoData keys;

			initStringInfo(&keys);
			for (int j = 0; j < def->nparams; j++)
				appendStringInfo(&keys, "%s, ", def->params[j].name);
			appendStringInfoString(&keys, "columns");

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for indicator \"%s\"",
							key, def->name),
					 errhint("Valid parameters are: %s.", keys.data)));
		}
	}
}

/*
 * indicator_run
 *		Shared body of backtest_indicator and backtest_indicator_query: spec
 *		has the source (relid or query) and filters filled in; this parses
 *		params into it, loads, computes and fills the SRF's tuplestore.
 */
static void
indicator_run(FunctionCallInfo fcinfo, BtpgLoadSpec *spec, const char *indicator,
			  Jsonb *params)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const BtIndicatorDef *def;
	double		p[BT_IND_MAX_PARAMS];
	MemoryContext callcxt;
	MemoryContext oldcxt;
	BtSeries	s;
	double	   *out[BT_IND_MAX_OUTPUTS];
	Datum		names[BT_IND_MAX_OUTPUTS];

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != INDICATOR_COLS)
		elog(ERROR, "backtest indicator functions must return %d columns",
			 INDICATOR_COLS);

	def = lookup_indicator(indicator);
	parse_indicator_params(params, def, p, &spec->cols);

	/* Load only what the indicator reads */
	if (!(def->inputs & BT_IN_VOLUME))
		spec->cols.name[BTCOL_VOLUME] = NULL;
	else if (spec->cols.name[BTCOL_VOLUME] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("indicator \"%s\" needs a volume column", def->name),
				 errhint("Name it in \"columns\", for example {\"columns\": {\"volume\": \"qty\"}}.")));
	spec->cols.name[BTCOL_SIGNAL] = NULL;
	spec->need_volume = (def->inputs & BT_IN_VOLUME) != 0;
	spec->need_signal = false;

	callcxt = AllocSetContextCreate(CurrentMemoryContext,
									"backtest_indicator",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(callcxt);

	btpg_load_series(spec, &s);

	if (s.n > 0)
	{
		for (int o = 0; o < def->noutputs; o++)
		{
			out[o] = MemoryContextAllocHuge(callcxt, s.n * sizeof(double));
			names[o] = PointerGetDatum(cstring_to_text(def->outputs[o]));
		}

		CHECK_FOR_INTERRUPTS();
		def->compute(&s, p, out);

		for (int64 t = 0; t < s.n; t++)
		{
			Datum		values[INDICATOR_COLS];
			bool		nulls[INDICATOR_COLS] = {false, false, false};

			if (t % INDICATOR_CHECK_ROWS == 0)
				CHECK_FOR_INTERRUPTS();

			values[0] = TimestampTzGetDatum(btpg_ts_from_engine(s.ts[t]));
			for (int o = 0; o < def->noutputs; o++)
			{
				double		v = out[o][t];

				values[1] = names[o];
				nulls[2] = isnan(v);
				values[2] = Float8GetDatum(nulls[2] ? 0.0 : v);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
									 values, nulls);
			}
		}
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(callcxt);
}

/*
 * require_arg
 *		ereport if argument argno (named name) is NULL.
 */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/*
 * backtest_indicator(source regclass, symbol text, indicator text,
 *					  params jsonb, start_ts timestamptz, end_ts timestamptz)
 *		One row (ts, output, value) per bar and output of the indicator over
 *		the bars of symbol (all rows when symbol is NULL) in source, between
 *		start_ts and end_ts inclusive (NULL = unbounded).  value is NULL on
 *		warm-up rows.
 */
Datum
backtest_indicator(PG_FUNCTION_ARGS)
{
	BtpgLoadSpec	spec;

	require_arg(fcinfo, 0, "source");
	require_arg(fcinfo, 2, "indicator");

	memset(&spec, 0, sizeof(spec));
	spec.relid = PG_GETARG_OID(0);
	spec.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	/* unchecked: start after end reads no bars */
	btpg_args_time_range(fcinfo, 4, 5, false, &spec);

	indicator_run(fcinfo, &spec, text_to_cstring(PG_GETARG_TEXT_PP(2)),
				  PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));
	return (Datum) 0;
}

/*
 * backtest_indicator_query(query text, indicator text, params jsonb)
 *		Like backtest_indicator, over the rows of a query, which must return
 *		one series in ts order.
 */
Datum
backtest_indicator_query(PG_FUNCTION_ARGS)
{
	BtpgLoadSpec	spec;

	require_arg(fcinfo, 0, "query");
	require_arg(fcinfo, 1, "indicator");

	memset(&spec, 0, sizeof(spec));
	spec.relid = InvalidOid;
	spec.query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec.symbol = NULL;

	indicator_run(fcinfo, &spec, text_to_cstring(PG_GETARG_TEXT_PP(1)),
				  PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));
	return (Datum) 0;
}

/*
 * param_default_jsonb
 *		The default of a parameter definition as a jsonb scalar.
 */
static void
param_default_jsonb(const BtParamDef *pd, JsonbValue *v)
{
	switch (pd->type)
	{
		case BT_PARAM_INT:
		case BT_PARAM_NUM:
			v->type = jbvNumeric;
			v->val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																 Float8GetDatum(pd->def)));
			break;
		case BT_PARAM_BOOL:
			v->type = jbvBool;
			v->val.boolean = pd->def != 0;
			break;
		case BT_PARAM_ENUM:
			v->type = jbvString;
			v->val.string.val = (char *) pd->choices[(int) pd->def];
			v->val.string.len = strlen(v->val.string.val);
			break;
	}
}

/*
 * backtest_indicators()
 *		The registry: name, inputs, parameters (name -> default), outputs and
 *		description of every indicator.
 */
Datum
backtest_indicators(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != INDICATORS_COLS)
		elog(ERROR, "backtest_indicators must return %d columns", INDICATORS_COLS);

	for (int i = 0; i < bt_n_indicators; i++)
	{
		const BtIndicatorDef *def = bt_indicators[i];
		Datum		values[INDICATORS_COLS];
		bool		nulls[INDICATORS_COLS] = {false, false, false, false, false};
		Datum		elems[Max(BT_IND_MAX_OUTPUTS, lengthof(indicator_inputs))];
		int			nelems = 0;
		JsonbParseState *state = NULL;
		JsonbValue *obj;

		values[0] = CStringGetTextDatum(def->name);

		for (int k = 0; k < lengthof(indicator_inputs); k++)
			if (def->inputs & indicator_inputs[k].bit)
				elems[nelems++] = CStringGetTextDatum(indicator_inputs[k].name);
		values[1] = PointerGetDatum(construct_array(elems, nelems, TEXTOID,
													-1, false, TYPALIGN_INT));

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		for (int k = 0; k < def->nparams; k++)
		{
			JsonbValue	key;
			JsonbValue	val;

			key.type = jbvString;
			key.val.string.val = (char *) def->params[k].name;
			key.val.string.len = strlen(def->params[k].name);
			pushJsonbValue(&state, WJB_KEY, &key);
			param_default_jsonb(&def->params[k], &val);
			pushJsonbValue(&state, WJB_VALUE, &val);
		}
		obj = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		values[2] = JsonbPGetDatum(JsonbValueToJsonb(obj));

		for (int k = 0; k < def->noutputs; k++)
			elems[k] = CStringGetTextDatum(def->outputs[k]);
		values[3] = PointerGetDatum(construct_array(elems, def->noutputs, TEXTOID,
													-1, false, TYPALIGN_INT));

		if (def->description != NULL)
			values[4] = CStringGetTextDatum(def->description);
		else
			nulls[4] = true;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	return (Datum) 0;
}

/*
 * btpg_lookup_indicator, btpg_parse_indicator_params
 *		The registry lookup and parameter parsing of backtest_indicator, for
 *		the chart's indicator overlays (chart_data.c), so both accept exactly
 *		the same names and parameters.
 */
const BtIndicatorDef *
btpg_lookup_indicator(const char *name)
{
	return lookup_indicator(name);
}

void
btpg_parse_indicator_params(Jsonb *params, const BtIndicatorDef *def, double *p,
							BtpgColumns *cols)
{
	parse_indicator_params(params, def, p, cols);
}
