/*-------------------------------------------------------------------------
 *
 * params.c
 *	  Parsing of the jsonb parameters of a backtest (strategy parameters,
 *	  simulator parameters, the "columns" mapping) with PostgreSQL's jsonb
 *	  API, and the translation of engine errors into ereport.
 *
 * Unknown keys and wrong jsonb types are errors that name the key; the hint
 * lists the valid keys.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/params.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "pg_backtest.h"
#include "bt_sweep.h"

const char *const btpg_column_keys[BTCOL_COUNT] = {
	"symbol", "ts", "open", "high", "low", "close", "volume", "signal"
};

/* ---- errors ------------------------------------------------------------ */

/*
 * btpg_report
 *		ereport(ERROR) for an engine error.  Data errors name the bar's
 *		timestamp.
 */
void
btpg_report(const BtError *err, const int64_t *ts)
{
	int			code;

	switch (err->code)
	{
		case BT_ERR_DATA:
			code = ERRCODE_DATA_EXCEPTION;
			break;
		case BT_ERR_CANCELLED:
			code = ERRCODE_QUERY_CANCELED;
			break;
		default:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}
	if (err->code == BT_ERR_DATA && ts && err->bar >= 0)
	{
		TimestampTz t = btpg_ts_from_engine(ts[err->bar]);

		ereport(ERROR,
				(errcode(code),
				 errmsg("invalid bar at %s: %s", timestamptz_to_str(t), err->msg),
				 err->detail[0] ? errdetail("%s", err->detail) : 0,
				 err->hint[0] ? errhint("%s", err->hint) : 0));
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", err->msg),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 err->hint[0] ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/* ---- strategies ---------------------------------------------------------- */

/* Comma-separated list of the strategies' names, for hints */
static char *
strategy_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < bt_n_strategies; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", bt_strategies[i].name);
	return buf.data;
}

/*
 * btpg_lookup_strategy
 *		The named strategy, or an error whose hint lists the valid ones.
 */
const BtStrategyDef *
btpg_lookup_strategy(const char *name)
{
	const BtStrategyDef *st = name ? bt_find_strategy(name) : NULL;

	if (st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown strategy \"%s\"", name ? name : "(null)"),
				 errhint("Valid strategies are: %s.", strategy_names())));
	return st;
}

/* ---- values ------------------------------------------------------------ */

/* Name of a jsonb value's type, for messages */
static const char *
jbv_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvArray:
			return "array";
		case jbvObject:
		case jbvBinary:
			return "object or array";
		default:
			return "unknown";
	}
}

/*
 * btpg_param_choice
 *		The index of jsonb string v among the choices of enum parameter def,
 *		or -1 (also when v is not a string).  choices gets the quoted list of
 *		valid values, for hints.
 */
int
btpg_param_choice(const BtParamDef *def, JsonbValue *v, StringInfo choices)
{
	int			found = -1;

	initStringInfo(choices);
	for (int i = 0; i < BT_MAX_CHOICES && def->choices[i]; i++)
	{
		if (found < 0 && v->type == jbvString &&
			strlen(def->choices[i]) == (size_t) v->val.string.len &&
			strncmp(def->choices[i], v->val.string.val, v->val.string.len) == 0)
			found = i;
		appendStringInfo(choices, "%s\"%s\"", i ? ", " : "", def->choices[i]);
	}
	return found;
}

/*
 * btpg_param_value
 *		Convert a jsonb value to the double the engine stores for `def`, or
 *		raise an error naming the parameter.
 */
double
btpg_param_value(const BtParamDef *def, JsonbValue *v, const char *what)
{
	double		d = 0;
	BtError		err;

	switch (def->type)
	{
		case BT_PARAM_BOOL:
			if (v->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" of %s must be a boolean, not %s",
								def->name, what, jbv_type_name(v))));
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
							 errmsg("parameter \"%s\" of %s must be a string, not %s",
									def->name, what, jbv_type_name(v)),
							 errhint("Valid values are: %s.", choices.data)));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value \"%.*s\" for parameter \"%s\" of %s",
								v->val.string.len, v->val.string.val, def->name, what),
						 errhint("Valid values are: %s.", choices.data)));
			}
			break;
		case BT_PARAM_INT:
		case BT_PARAM_NUM:
			if (v->type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" of %s must be a number, not %s",
								def->name, what, jbv_type_name(v))));
			d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												   NumericGetDatum(v->val.numeric)));
			if (def->type == BT_PARAM_INT && d != floor(d))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" of %s must be an integer, not %g",
								def->name, what, d)));
			break;
	}
	if (!bt_param_check(def, d, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for %s: %s", what, err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
	return d;
}

/* A jsonb string value as a NUL-terminated palloc'd string */
static char *
jbv_cstring(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* ---- columns ------------------------------------------------------------- */

/*
 * btpg_columns_defaults
 *		The default column names: symbol, ts, open, high, low, close,
 *		volume, signal.
 */
void
btpg_columns_defaults(BtColumns *cols)
{
	for (int i = 0; i < BTCOL_COUNT; i++)
		cols->name[i] = btpg_column_keys[i];
}

/*
 * btpg_parse_columns
 *		Apply a "columns" object to cols.  Values are column names (strings);
 *		symbol and volume may be null ("this source has no such column").
 */
void
btpg_parse_columns(JsonbValue *obj, BtColumns *cols)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"columns\" must be an object, not %s", jbv_type_name(obj)),
				 errhint("For example: {\"columns\": {\"ts\": \"bar_time\", \"close\": \"px_last\"}}.")));

	it = JsonbIteratorInit(obj->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			col = -1;

		if (tok != WJB_KEY)
			continue;
		key = jbv_cstring(&v);
		tok = JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < BTCOL_COUNT; i++)
			if (strcmp(key, btpg_column_keys[i]) == 0)
				col = i;
		if (col < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in parameter \"columns\"", key),
					 errhint("Valid keys are: symbol, ts, open, high, low, close, volume, signal.")));
		if (v.type == jbvNull && (col == BTCOL_SYMBOL || col == BTCOL_VOLUME))
			cols->name[col] = NULL;
		else if (v.type != jbvString || v.val.string.len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column name for \"%s\" must be a non-empty string, not %s",
							key, jbv_type_name(&v))));
		else
			cols->name[col] = jbv_cstring(&v);
	}
}

/* ---- backtest parameters --------------------------------------------------- */

/* Hint text listing the keys a strategy accepts */
static char *
valid_keys(const BtStrategyDef *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < st->nparams; i++)
		appendStringInfo(&buf, "%s, ", st->params[i].name);
	for (int i = 0; i < bt_n_sim_params; i++)
		appendStringInfo(&buf, "%s, ", bt_sim_params[i].def.name);
	appendStringInfoString(&buf, "columns");
	return buf.data;
}

/*
 * btpg_parse_params_ex
 *		Parse params (NULL = '{}') into cfg and cols: the strategy's and the
 *		simulator's parameters (one index space, see bt_sweep.h) and
 *		"columns".  swept, if not NULL, flags parameters a sweep's grid sets
 *		(index space): naming one in params is an error.  With check, the
 *		whole configuration is then checked (a sweep checks per combination).
 */
void
btpg_parse_params_ex(Jsonb *params, const BtStrategyDef *st, const bool *swept, bool check,
					 BtConfig *cfg, BtColumns *cols)
{
	char	   *what = psprintf("strategy \"%s\"", st->name);
	BtError		err;

	bt_config_defaults(cfg, st);
	btpg_columns_defaults(cols);
	if (!st->needs_signal)
		cols->name[BTCOL_SIGNAL] = NULL;
	if (!st->needs_volume)
		cols->name[BTCOL_VOLUME] = NULL;

	if (params != NULL)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;

		if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backtest parameters must be a jsonb object"),
					 errhint("For example: '{\"fast\": 5, \"slow\": 20, \"commission\": 0.001}'.")));

		it = JsonbIteratorInit(&params->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *key;
			int			param;

			if (tok != WJB_KEY)
				continue;
			key = jbv_cstring(&v);
			tok = JsonbIteratorNext(&it, &v, true);

			if (strcmp(key, "columns") == 0)
			{
				bool		keep_volume = cols->name[BTCOL_VOLUME] != NULL;
				bool		keep_signal = cols->name[BTCOL_SIGNAL] != NULL;

				btpg_parse_columns(&v, cols);
				/* only the columns the strategy needs are read */
				if (!keep_volume)
					cols->name[BTCOL_VOLUME] = NULL;
				if (!keep_signal)
					cols->name[BTCOL_SIGNAL] = NULL;
				continue;
			}
			param = bt_param_space_find(st, key);
			if (param < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown parameter \"%s\" for %s", key, what),
						 errhint("Valid parameters are: %s.", valid_keys(st))));
			if (swept && swept[param])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" is both swept in the grid and set in params", key),
						 errhint("Remove it from params: the grid gives its values.")));
			bt_config_set(cfg, param, btpg_param_value(bt_param_space_def(st, param), &v, what));
		}
	}
	if (st->needs_volume && cols->name[BTCOL_VOLUME] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a volume column", what)));
	if (check && !bt_config_check(cfg, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for %s: %s", what, err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
}

/*
 * btpg_parse_backtest_params
 *		Parse params (NULL = '{}') into cfg and cols, then check the whole
 *		configuration.
 */
void
btpg_parse_backtest_params(Jsonb *params, const BtStrategyDef *st,
						   BtConfig *cfg, BtColumns *cols)
{
	btpg_parse_params_ex(params, st, NULL, true, cfg, cols);
}
