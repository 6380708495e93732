/*-------------------------------------------------------------------------
 *
 * parse.c
 *	  Live streams: a stream's definition (source, strategy, parameters,
 *	  indicators) parsed and checked into a BtpgLiveStream (live.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/parse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/params.h"
#include "../chart.h"
#include "live.h"

/* ---- parsing -------------------------------------------------------------- */

/* The value of key in a jsonb object, or NULL */
static JsonbValue *
object_key(Jsonb *obj, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(&obj->root, JB_FOBJECT, &k);
}

/* Whether relid has a live (not dropped) column named name */
static bool
has_column(Oid relid, const char *name)
{
	return name != NULL && get_attnum(relid, name) != InvalidAttrNumber;
}

void
btpg_live_parse(Oid relid, const char *strategy, Jsonb *params, Jsonb *indicators,
				BtpgLiveStream *ls)
{
	JsonbValue *v;
	Jsonb	   *rest = params;
	bool		need_volume = false;
	BtError		err;

	memset(&ls->spec, 0, sizeof(ls->spec));
	ls->relid = relid;
	ls->full = false;
	ls->strategy = strategy ? pstrdup(strategy) : NULL;
	btpg_columns_defaults(&ls->cols);

	if (params != NULL && !JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a jsonb object"),
				 errhint("For example '{\"fast\": 10, \"payload\": \"full\"}'.")));
	if (params != NULL && (v = object_key(params, "payload")) != NULL)
	{
		char	   *p = v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : "";

		if (strcmp(p, "full") == 0)
			ls->full = true;
		else if (strcmp(p, "ids") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"payload\" must be \"ids\" or \"full\""),
					 errhint("\"ids\" (the default) sends stream ids, symbols and timestamps; \"full\" adds the values.")));
		rest = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(params),
												  CStringGetTextDatum("payload")));
	}

	/* the columns as named (the strategy's parsing keeps only those it reads) */
	if (params != NULL && (v = object_key(params, "columns")) != NULL)
		btpg_parse_columns(v, &ls->cols);

	if (strategy != NULL)
	{
		BtConfig	cfg;
		BtpgColumns	cols;

		ls->spec.strategy = btpg_lookup_strategy(strategy);
		btpg_parse_backtest_params(rest, ls->spec.strategy, &cfg, &cols);
		if (cols.tf_interval > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("\"timeframe\" is not supported by live streams"),
					 errhint("Write the coarser bars to a table of their own and stream that table.")));
		memcpy(ls->spec.sp, cfg.sp, sizeof(ls->spec.sp));
		ls->spec.allow_short = cfg.sim.allow_short;
	}
	else if (rest != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(&rest->root);
		JsonbIteratorToken tok;
		JsonbValue	k;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			if (k.val.string.len == 7 && strncmp(k.val.string.val, "columns", 7) == 0)
				continue;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown parameter \"%s\" for a live stream without a strategy",
							pnstrdup(k.val.string.val, k.val.string.len)),
					 errhint("Valid parameters are: columns, payload.")));
		}
	}

	/* the indicators, as a chart takes them */
	ls->nout = 0;
	if (indicators != NULL)
	{
		JsonbIterator *it;
		JsonbIteratorToken tok;
		JsonbValue	e;

		if (!JB_ROOT_IS_ARRAY(indicators) || JB_ROOT_IS_SCALAR(indicators))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("indicators must be a jsonb array"),
					 errhint("For example '[{\"name\": \"ema\", \"period\": 20}, {\"name\": \"kdj\"}]'.")));
		if (JB_ROOT_COUNT(indicators) > BT_LIVE_MAX_IND)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a live stream takes at most %d indicators, not %d",
							BT_LIVE_MAX_IND, (int) JB_ROOT_COUNT(indicators))));
		it = JsonbIteratorInit(&indicators->root);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			BtpgChartInd	ci;
			BtLiveIndSpec *is;

			if (tok != WJB_ELEM)
				continue;
			memset(&ci, 0, sizeof(ci));
			btpg_chart_parse_indicator(&e, ls->spec.nind + 1, &ci);
			is = &ls->spec.ind[ls->spec.nind++];
			is->def = ci.def;
			memcpy(is->params, ci.p, sizeof(is->params));
			need_volume |= (ci.def->inputs & BT_IN_VOLUME) != 0;
			for (int o = 0; o < ci.def->noutputs; o++)
			{
				char	   *label = ci.def->noutputs == 1 ? ci.label :
					psprintf("%s.%s", ci.label, ci.def->outputs[o]);

				for (int j = 0; j < ls->nout; j++)
					if (strcmp(ls->label[j], label) == 0)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("indicator %d repeats %s", ls->spec.nind, ci.label)));
				ls->show[ls->nout] = ci.show[o];
				ls->label[ls->nout++] = label;
			}
		}
	}
	if (!bt_live_spec_check(&ls->spec, &err))
		btpg_report(&err, NULL);

	/* the columns this stream reads */
	if (need_volume && ls->cols.name[BTCOL_VOLUME] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the stream's indicators need a volume column"),
				 errhint("Name it in \"columns\", for example {\"columns\": {\"volume\": \"qty\"}}.")));
	if (!need_volume && !has_column(relid, ls->cols.name[BTCOL_VOLUME]))
		ls->cols.name[BTCOL_VOLUME] = NULL;
	if (ls->spec.strategy == NULL || !ls->spec.strategy->needs_signal)
		ls->cols.name[BTCOL_SIGNAL] = NULL;
	for (int c = 0; c < BTCOL_COUNT; c++)
	{
		const char *name = ls->cols.name[c];
		AttrNumber	att;

		if (name == NULL)
			continue;
		att = get_attnum(relid, name);
		if (att == InvalidAttrNumber && c == BTCOL_SYMBOL)
		{
			ls->cols.name[c] = NULL;	/* one series: no symbol column */
			continue;
		}
		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("relation \"%s\" has no column \"%s\"", get_rel_name(relid), name),
					 errhint("Name the %s column with \"columns\": {\"%s\": \"...\"} in the parameters.",
							 btpg_column_keys[c], btpg_column_keys[c])));
		if (!btpg_column_type_ok(c, get_atttype(relid, att)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s\" has type %s", name,
							get_rel_name(relid), format_type_be(get_atttype(relid, att)))));
	}
}
