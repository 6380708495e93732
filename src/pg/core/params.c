/*-------------------------------------------------------------------------
 *
 * params.c
 *	  Parsing of the jsonb parameters of a backtest (strategy parameters,
 *	  simulator parameters, the "columns" mapping) with PostgreSQL's jsonb
 *	  API, and the lookup of a strategy by name.
 *
 * Unknown keys and wrong jsonb types are errors that name the key; the hint
 * lists the valid keys.
 *
 * Any strategy or simulator parameter may instead be given per symbol, as
 * an object mapping symbols to values with "*" for the others, e.g.
 * "lot_size": {"0700.HK": 100, "0005.HK": 400, "*": 1}.  Every value of a
 * map is checked like a scalar (errors name the parameter and the symbol);
 * a symbol that is not listed, with no "*", gets the parameter's default.
 * Maps are parsed here and nowhere else (parse_params_core): entry points
 * that know their symbol resolve them with btpg_parse_params_symbol, those
 * that run many symbols keep them (btpg_parse_params_maps) and resolve one
 * symbol at a time (btpg_params_for_symbol); where no symbol is known (the
 * aggregate, a query source) a map is an error.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/params.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/params.h"
#include "core/timestamps.h"
#include "resample.h"
#include "bt_sweep.h"

const char *const btpg_column_keys[BTCOL_COUNT] = {
	"symbol", "ts", "open", "high", "low", "close", "volume", "signal"
};

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

	if (name && strcmp(name, "rotation") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy \"rotation\" exists only in portfolio backtests"),
				 errdetail("It ranks symbols against each other, so it needs many symbols and one account."),
				 errhint("Use backtest_portfolio() or backtest_portfolio_query().")));
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
 * btpg_jbv_double
 *		A jsonb number as a double (no overflow error: huge values become
 *		infinite, which the parameter checks then refuse).
 */
double
btpg_jbv_double(JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

/*
 * btpg_jsonb_param
 *		Convert a jsonb value to the double the engine stores for def: a
 *		boolean for a boolean parameter, one of the choices (a string) for an
 *		enum, a number (an integer for an integer parameter) otherwise,
 *		within the parameter's bounds (bt_param_check).  Returns what is
 *		wrong, or BTPG_VALUE_OK with *d set; the caller words the error
 *		(*err for BTPG_VALUE_CHECK, *choices the quoted valid values of an
 *		enum, for hints).  Every jsonb parameter value is converted here.
 */
BtpgValueProblem
btpg_jsonb_param(const BtParamDef *def, JsonbValue *v, double *d, StringInfo choices,
				 BtError *err)
{
	*d = 0;
	switch (def->type)
	{
		case BT_PARAM_BOOL:
			if (v->type != jbvBool)
				return BTPG_VALUE_TYPE;
			*d = v->val.boolean ? 1.0 : 0.0;
			return BTPG_VALUE_OK;
		case BT_PARAM_ENUM:
			{
				int			k = btpg_param_choice(def, v, choices);

				if (k >= 0)
				{
					*d = (double) k;
					return BTPG_VALUE_OK;
				}
				return v->type != jbvString ? BTPG_VALUE_TYPE : BTPG_VALUE_CHOICE;
			}
		case BT_PARAM_INT:
		case BT_PARAM_NUM:
			if (v->type != jbvNumeric)
				return BTPG_VALUE_TYPE;
			*d = btpg_jbv_double(v);
			if (def->type == BT_PARAM_INT && *d != floor(*d))
				return BTPG_VALUE_NOT_INTEGER;
			break;
	}
	if (!bt_param_check(def, *d, err))
		return BTPG_VALUE_CHECK;
	return BTPG_VALUE_OK;
}

/* The jsonb type a parameter takes, for messages */
static const char *
param_jsonb_type(const BtParamDef *def)
{
	switch (def->type)
	{
		case BT_PARAM_BOOL:
			return "a boolean";
		case BT_PARAM_ENUM:
			return "a string";
		default:
			return "a number";
	}
}

/*
 * btpg_param_value
 *		Convert a jsonb value to the double the engine stores for `def`, or
 *		raise an error naming the parameter.
 */
double
btpg_param_value(const BtParamDef *def, JsonbValue *v, const char *what)
{
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
					 errmsg("parameter \"%s\" of %s must be %s, not %s",
							def->name, what, param_jsonb_type(def), jbv_type_name(v)),
					 def->type == BT_PARAM_ENUM ? errhint("Valid values are: %s.", choices.data) : 0));
			break;
		case BTPG_VALUE_CHOICE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value \"%.*s\" for parameter \"%s\" of %s",
							v->val.string.len, v->val.string.val, def->name, what),
					 errhint("Valid values are: %s.", choices.data)));
			break;
		case BTPG_VALUE_NOT_INTEGER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" of %s must be an integer, not %g",
							def->name, what, d)));
			break;
		case BTPG_VALUE_CHECK:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid parameters for %s: %s", what, err.msg),
					 err.hint[0] ? errhint("%s", err.hint) : 0));
			break;
	}
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
btpg_columns_defaults(BtpgColumns *cols)
{
	for (int i = 0; i < BTCOL_COUNT; i++)
		cols->name[i] = btpg_column_keys[i];
	cols->tf_interval = 0;
	cols->tf_origin = btpg_ts_to_engine((TimestampTz) BTPG_RESAMPLE_ORIGIN);
	cols->tf_zone = NULL;
}

/* A string option's value (ereport naming the key otherwise) */
static char *
string_option(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"%s\" must be a string", key),
				 errhint("For example: \"timeframe\": \"1 hour\", \"timeframe_origin\": \"2000-01-03 09:30\", \"timeframe_time_zone\": \"America/New_York\".")));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * The reader's parameters, parsed by timeframe_option (keep the two in
 * step); backtest_parameters() lists them after the simulator's.
 */
const BtpgReaderParam btpg_reader_params[] = {
	{"timeframe", "interval", "null",
	 "run on the bars resampled to this fixed interval, e.g. \"1 hour\" (none: the bars as read)"},
	{"timeframe_origin", "timestamp", "\"2000-01-03 00:00:00\"",
	 "where the resampled buckets start: a wall-clock time in timeframe_time_zone"},
	{"timeframe_time_zone", "string", "\"UTC\"",
	 "the time zone on whose wall clock the resampled buckets are counted"},
};
const int	btpg_n_reader_params = lengthof(btpg_reader_params);

/*
 * timeframe_option
 *		Apply "timeframe", "timeframe_origin" or "timeframe_time_zone" to
 *		cols; false if key is none of them.
 */
static bool
timeframe_option(const char *key, JsonbValue *v, BtpgColumns *cols)
{
	if (strcmp(key, "timeframe") == 0)
	{
		Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
															   CStringGetDatum(string_option(key, v)),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));

		cols->tf_interval = btpg_resample_interval(iv);
		return true;
	}
	if (strcmp(key, "timeframe_origin") == 0)
	{
		Timestamp	t = DatumGetTimestamp(DirectFunctionCall3(timestamp_in,
															  CStringGetDatum(string_option(key, v)),
															  ObjectIdGetDatum(InvalidOid),
															  Int32GetDatum(-1)));

		cols->tf_origin = btpg_ts_to_engine((TimestampTz) t);
		return true;
	}
	if (strcmp(key, "timeframe_time_zone") == 0)
	{
		char	   *tz = string_option(key, v);

		/* an unknown zone is an error now */
		(void) DirectFunctionCall2(timestamptz_zone, PointerGetDatum(cstring_to_text(tz)),
								   TimestampTzGetDatum(0));
		cols->tf_zone = tz;
		return true;
	}
	return false;
}

/*
 * btpg_parse_columns
 *		Apply a "columns" object to cols.  Values are column names (strings);
 *		symbol and volume may be null ("this source has no such column").
 */
void
btpg_parse_columns(JsonbValue *obj, BtpgColumns *cols)
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
	appendStringInfoString(&buf, "columns, timeframe, timeframe_origin, timeframe_time_zone");
	return buf.data;
}

/* ---- per-symbol maps ------------------------------------------------------ */

/* The values of one parameter given per symbol */
typedef struct SymbolValues
{
	int			param;			/* index in the parameter space */
	int			nsyms;
	char	  **syms;			/* sorted by strcmp */
	double	   *vals;			/* vals[i] is the value of syms[i] */
	bool		has_star;		/* "*" was given: star is the value for the others */
	double		star;
} SymbolValues;

/* Every per-symbol map of a params object */
struct BtpgParamMaps
{
	const BtStrategyDef *st;
	int			nmaps;
	SymbolValues *maps;			/* one per mapped parameter, in jsonb key order */
};

/* One (symbol, value) pair while a map is parsed */
typedef struct SymVal
{
	char	   *sym;
	double		val;
} SymVal;

static int
symval_cmp(const void *a, const void *b)
{
	return strcmp(((const SymVal *) a)->sym, ((const SymVal *) b)->sym);
}

/* What messages call the value of one symbol: strategy "x" for symbol "y" */
static char *
what_symbol(const BtStrategyDef *st, const char *sym)
{
	return psprintf("strategy \"%s\" for symbol \"%s\"", st->name, sym);
}

/*
 * Parse the jsonb object v (the value of parameter `param`) as a per-symbol
 * map into sv.  Each value is checked like a scalar of the parameter.
 */
static void
parse_symbol_map(const BtStrategyDef *st, int param, JsonbValue *v, SymbolValues *sv)
{
	const BtParamDef *def = bt_param_space_def(st, param);
	JsonbIterator *it;
	JsonbValue	kv;
	JsonbIteratorToken tok;
	SymVal	   *pairs;
	int			n = 0;
	int			cap = 16;

	memset(sv, 0, sizeof(*sv));
	sv->param = param;
	pairs = palloc(sizeof(SymVal) * cap);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
	{
		char	   *sym;
		double		d;

		if (tok != WJB_KEY)
			continue;
		sym = jbv_cstring(&kv);
		tok = JsonbIteratorNext(&it, &kv, true);
		d = btpg_param_value(def, &kv, what_symbol(st, sym));
		if (strcmp(sym, "*") == 0)
		{
			sv->has_star = true;
			sv->star = d;
			continue;
		}
		if (n == cap)
		{
			cap *= 2;
			pairs = repalloc_huge(pairs, sizeof(SymVal) * cap);
		}
		pairs[n].sym = sym;
		pairs[n].val = d;
		n++;
	}
	/* jsonb keeps one of duplicate keys, so the symbols are distinct */
	qsort(pairs, n, sizeof(SymVal), symval_cmp);
	sv->nsyms = n;
	sv->syms = palloc(sizeof(char *) * Max(n, 1));
	sv->vals = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		sv->syms[i] = pairs[i].sym;
		sv->vals[i] = pairs[i].val;
	}
	pfree(pairs);
}

/*
 * The value of a map for symbol sym: its own, else "*", else the parameter's
 * default.
 */
static double
symbol_value(const BtStrategyDef *st, const SymbolValues *sv, const char *sym)
{
	int			lo = 0;
	int			hi = sv->nsyms - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(sym, sv->syms[mid]);

		if (c == 0)
			return sv->vals[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	if (sv->has_star)
		return sv->star;
	return bt_param_space_def(st, sv->param)->def;
}

/* Error: a per-symbol map where no symbol is known */
static void
map_without_symbol(const BtStrategyDef *st, int param)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("parameter \"%s\" of strategy \"%s\" is given per symbol, but this call has no symbol",
					bt_param_space_def(st, param)->name, st->name),
			 errhint("Per-symbol values work in backtest_run with a symbol and in backtest_run_all; elsewhere give one value (in the backtest() aggregate, e.g. one built per group with jsonb_build_object()).")));
}

/*
 * Parse params (NULL = '{}') into cfg and cols.  Per-symbol maps go to
 * *maps (the parameter keeps its default in cfg); with maps NULL, a map is
 * an error.  swept as for btpg_parse_params_ex.  Checks nothing across
 * parameters.
 */
static void
parse_params_core(Jsonb *params, const BtStrategyDef *st, const bool *swept,
				  BtConfig *cfg, BtpgColumns *cols, BtpgParamMaps **maps)
{
	char	   *what = psprintf("strategy \"%s\"", st->name);
	BtpgParamMaps *pm = NULL;

	bt_config_defaults(cfg, st);
	btpg_columns_defaults(cols);
	if (!st->needs_signal)
		cols->name[BTCOL_SIGNAL] = NULL;
	if (!st->needs_volume)
		cols->name[BTCOL_VOLUME] = NULL;
	if (maps)
		*maps = NULL;

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
			if (timeframe_option(key, &v, cols))
				continue;
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
			if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
			{
				/* a per-symbol map */
				if (maps == NULL)
					map_without_symbol(st, param);
				if (pm == NULL)
				{
					pm = palloc0(sizeof(BtpgParamMaps));
					pm->st = st;
					pm->maps = palloc(sizeof(SymbolValues) * bt_param_space_size(st));
				}
				parse_symbol_map(st, param, &v, &pm->maps[pm->nmaps++]);
				continue;
			}
			bt_config_set(cfg, param, btpg_param_value(bt_param_space_def(st, param), &v, what));
		}
	}
	if (st->needs_volume && cols->name[BTCOL_VOLUME] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a volume column", what)));
	if (maps)
		*maps = pm;
}

/* Check a whole configuration; `what` names it in the message */
static void
check_config(const BtConfig *cfg, const char *what)
{
	BtError		err;

	if (!bt_config_check(cfg, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for %s: %s", what, err.msg),
				 err.hint[0] ? errhint("%s", err.hint) : 0));
}

/*
 * btpg_parse_params_maps
 *		Parse params keeping the per-symbol maps (*maps, NULL if there are
 *		none): cfg gets every scalar value, mapped parameters keep their
 *		defaults there.  Nothing is checked across parameters: resolve a
 *		symbol with btpg_params_for_symbol.
 */
void
btpg_parse_params_maps(Jsonb *params, const BtStrategyDef *st, BtConfig *cfg,
					   BtpgColumns *cols, BtpgParamMaps **maps)
{
	parse_params_core(params, st, NULL, cfg, cols, maps);
}

/*
 * btpg_params_for_symbol
 *		cfg = base with the per-symbol values of sym applied (maps may be
 *		NULL), then checked as a whole; errors name the symbol when maps
 *		are present.
 */
void
btpg_params_for_symbol(const BtpgParamMaps *maps, const BtConfig *base, const char *sym,
					   BtConfig *cfg)
{
	*cfg = *base;
	if (maps == NULL)
	{
		check_config(cfg, psprintf("strategy \"%s\"", base->strategy->name));
		return;
	}
	for (int i = 0; i < maps->nmaps; i++)
		bt_config_set(cfg, maps->maps[i].param,
					  symbol_value(maps->st, &maps->maps[i], sym));
	check_config(cfg, what_symbol(maps->st, sym));
}

/*
 * btpg_parse_params_symbol
 *		btpg_parse_params_ex for one symbol: per-symbol maps resolve to sym's
 *		values (sym NULL: this call has no symbol, a map is an error).
 */
void
btpg_parse_params_symbol(Jsonb *params, const BtStrategyDef *st, const bool *swept,
						 bool check, const char *sym, BtConfig *cfg, BtpgColumns *cols)
{
	BtpgParamMaps *maps = NULL;
	BtConfig	base;

	parse_params_core(params, st, swept, &base, cols, &maps);
	if (maps != NULL && sym == NULL)
		map_without_symbol(st, maps->maps[0].param);
	*cfg = base;
	if (maps != NULL)
		for (int i = 0; i < maps->nmaps; i++)
			bt_config_set(cfg, maps->maps[i].param, symbol_value(st, &maps->maps[i], sym));
	if (check)
		check_config(cfg, maps ? what_symbol(st, sym) : psprintf("strategy \"%s\"", st->name));
}

/*
 * btpg_parse_params_ex
 *		Parse params (NULL = '{}') into cfg and cols: the strategy's and the
 *		simulator's parameters (one index space, see bt_sweep.h) and
 *		"columns".  swept, if not NULL, flags parameters a sweep's grid sets
 *		(index space): naming one in params is an error.  With check, the
 *		whole configuration is then checked (a sweep checks per combination).
 *		No symbol is known: a per-symbol map is an error.
 */
void
btpg_parse_params_ex(Jsonb *params, const BtStrategyDef *st, const bool *swept, bool check,
					 BtConfig *cfg, BtpgColumns *cols)
{
	btpg_parse_params_symbol(params, st, swept, check, NULL, cfg, cols);
}

/*
 * btpg_parse_backtest_params
 *		Parse params (NULL = '{}') into cfg and cols, then check the whole
 *		configuration.
 */
void
btpg_parse_backtest_params(Jsonb *params, const BtStrategyDef *st,
						   BtConfig *cfg, BtpgColumns *cols)
{
	btpg_parse_params_ex(params, st, NULL, true, cfg, cols);
}
