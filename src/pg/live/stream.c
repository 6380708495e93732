/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  Live streams: backtest_live_start, backtest_live_stop and
 *	  backtest_live_bars, and what they share with the source's triggers
 *	  (trigger.c) is in parse.c (a stream's definition), state.c (replaying
 *	  bars through the engine's state, saving states) and payload.c.
 *
 * Starting a stream needs SELECT and TRIGGER on the source.  It locks the
 * source in SHARE ROW EXCLUSIVE mode (no writes until the stream's
 * transaction ends, the mode CREATE TRIGGER takes), reads every bar already
 * there as the caller, writes the stream and its symbols' states as the
 * bookkeeper and, if the source has none yet, creates its triggers as the
 * caller.  Stopping a stream takes the same lock before deleting the
 * stream, so a trigger that has locked a state row never waits behind it;
 * the last stream of a source removes the triggers.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/stream.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "core/bookkeeper.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/timestamps.h"
#include "../chart.h"
#include "live.h"

#ifndef MAT_SRF_USE_EXPECTED_DESC
#define InitMaterializedSRF(fcinfo, flags) SetSingleFuncCall(fcinfo, flags)
#endif

/* Columns of backtest_live_bars() */
#define LIVE_BARS_COLS	10

PG_FUNCTION_INFO_V1(backtest_live_start);
PG_FUNCTION_INFO_V1(backtest_live_stop);
PG_FUNCTION_INFO_V1(backtest_live_bars);

/* ---- triggers ---------------------------------------------------------------------------- */

static const struct
{
	const char *name;
	const char *clause;
}			live_triggers[] =
{
	{BTPG_LIVE_TRIGGER_INSERT, "AFTER INSERT ON %s REFERENCING NEW TABLE AS backtest_live_new"},
	{BTPG_LIVE_TRIGGER_UPDATE, "AFTER UPDATE ON %s REFERENCING OLD TABLE AS backtest_live_old NEW TABLE AS backtest_live_new"},
	{BTPG_LIVE_TRIGGER_DELETE, "AFTER DELETE ON %s REFERENCING OLD TABLE AS backtest_live_old"},
	{BTPG_LIVE_TRIGGER_TRUNCATE, "AFTER TRUNCATE ON %s"},
};

/* Create the source's missing triggers, as the caller (CREATE TRIGGER checks the privilege) */
static void
install_triggers(Oid relid)
{
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												 get_rel_name(relid));

	for (int i = 0; i < lengthof(live_triggers); i++)
	{
		StringInfoData sql;
		int			rc;

		if (OidIsValid(get_trigger_oid(relid, live_triggers[i].name, true)))
			continue;
		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE TRIGGER %s ", live_triggers[i].name);
		appendStringInfo(&sql, live_triggers[i].clause, rel);
		appendStringInfoString(&sql, " FOR EACH STATEMENT EXECUTE FUNCTION backtest.live_trigger()");
		rc = SPI_execute(sql.data, false, 0);
		if (rc != SPI_OK_UTILITY)
			elog(ERROR, "creating trigger %s failed: %s", live_triggers[i].name,
				 SPI_result_code_string(rc));
	}
}

/* Remove the source's triggers (the caller has locked the source) */
static void
remove_triggers(Oid relid)
{
	for (int i = 0; i < lengthof(live_triggers); i++)
	{
		ObjectAddress obj;

		obj.classId = TriggerRelationId;
		obj.objectId = get_trigger_oid(relid, live_triggers[i].name, true);
		obj.objectSubId = 0;
		if (OidIsValid(obj.objectId))
			performDeletion(&obj, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	}
}

/* ---- the SQL functions --------------------------------------------------------------------- */

/*
 * find_stream
 *		The row (source, symbol, strategy, params, indicators) of stream id
 *		in SPI_tuptable, read as the caller: another role's stream (row-level
 *		security) "does not exist".  Caller is connected to SPI.
 */
static void
find_stream(int64 id)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	btpg_live_exec(&plan,
				   "SELECT source, symbol, strategy, params, indicators FROM backtest.live_streams "
				   "WHERE id OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, true, InvalidOid);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("live stream " INT64_FORMAT " does not exist", id),
				 errhint("backtest_live_streams() lists your streams.")));
}

/* Save the state of one symbol's bars (read by the caller) */
static void
start_symbol(const BtpgLiveStream *ls, const char *symbol, const BtSeries *s)
{
	BtLiveState *prev;
	BtLiveState *st = btpg_live_replay(ls, s, &prev, NULL, NULL);

	btpg_live_save(ls->id, symbol, st, prev, false);
}

/*
 * backtest_live_start(source regclass, symbol text, strategy text, params
 *					   jsonb, indicators jsonb) -> bigint
 *		Start a live stream (see the file header); returns its id.
 */
Datum
backtest_live_start(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr insert_plan = NULL;
	BtpgLiveStream ls;
	Oid			relid;
	char		relkind;
	Oid			types[6] = {NAMEOID, OIDOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		values[6];
	char		nulls[6] = "      ";
	Jsonb	   *params = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	Jsonb	   *indicators = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	bool		isnull;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be null")));
	relid = PG_GETARG_OID(0);
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("a live stream needs a table, and \"%s\" is not one", get_rel_name(relid)),
				 errhint("Streams follow the table through triggers: stream the table a view reads.")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(relid, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to start a live stream on table \"%s\"", get_rel_name(relid)),
				 errhint("A live stream needs the SELECT and TRIGGER privileges on its table.")));

	memset(&ls, 0, sizeof(ls));
	ls.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	btpg_live_parse(relid, PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
					params, indicators, &ls);
	if (ls.symbol != NULL && ls.cols.name[BTCOL_SYMBOL] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation \"%s\" has no symbol column", get_rel_name(relid)),
				 errhint("Pass symbol NULL to stream the whole table as one series, or name the column with \"columns\": {\"symbol\": \"...\"}.")));
	if (ls.full && !superuser() && !btpg_live_public_readable(relid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"payload\": \"full\" needs a table that every role may read"),
				 errdetail("NOTIFY reaches every role of the database, and PUBLIC may not read every row of \"%s\".",
						   get_rel_name(relid)),
				 errhint("Leave \"payload\" out: events then carry the stream, symbol and timestamps, and backtest_live_bars() returns the values.")));

	/*
	 * No writes to the table from now until this transaction ends; the bars
	 * are read with a snapshot taken after the lock (in READ COMMITTED), so
	 * none committed before it is missed and every later one fires the
	 * triggers.
	 */
	LockRelationOid(relid, ShareRowExclusiveLock);
	PushActiveSnapshot(GetTransactionSnapshot());

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetDatum(GetUserNameFromId(GetUserId(), false));
	values[1] = ObjectIdGetDatum(relid);
	values[2] = ls.symbol ? CStringGetTextDatum(ls.symbol) : (Datum) 0;
	nulls[2] = ls.symbol ? ' ' : 'n';
	values[3] = ls.strategy ? CStringGetTextDatum(ls.strategy) : (Datum) 0;
	nulls[3] = ls.strategy ? ' ' : 'n';
	values[4] = params ? JsonbPGetDatum(params) : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	values[5] = indicators ? JsonbPGetDatum(indicators) : DirectFunctionCall1(jsonb_in, CStringGetDatum("[]"));
	if (btpg_live_exec(&insert_plan,
					   "INSERT INTO backtest.live_streams (owner, source, symbol, strategy, params, indicators) "
					   "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
					   6, types, values, nulls, false, BTPG_BOOKKEEPER) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "inserting the live stream failed");
	ls.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* the bars already there, read as the caller */
	if (ls.symbol != NULL || ls.cols.name[BTCOL_SYMBOL] == NULL)
	{
		BtSeries	s;

		btpg_live_load(&ls, ls.symbol, InvalidOid, &s);
		start_symbol(&ls, ls.symbol, &s);
	}
	else
	{
		BtpgLoadSpec	spec;
		BtSeries	all;
		BtpgSymGroup *groups;
		int32		ngroups;

		memset(&spec, 0, sizeof(spec));
		spec.relid = relid;
		spec.cols = ls.cols;
		spec.need_volume = ls.cols.name[BTCOL_VOLUME] != NULL;
		spec.need_signal = ls.cols.name[BTCOL_SIGNAL] != NULL;
		ngroups = btpg_read_grouped(&spec, "backtest_live_start", CurrentMemoryContext, &all, &groups);
		for (int32 g = 0; g < ngroups; g++)
		{
			BtSeries	s = btpg_series_slice(&all, groups[g].from, groups[g].n);
			BtError		err;

			if (!bt_validate_series(&s, s.volume != NULL, &err))
				btpg_report(&err, s.ts);
			start_symbol(&ls, groups[g].name, &s);
		}
	}

	install_triggers(relid);
	/* every backend re-reads the table's streams (trigger.c) */
	CacheInvalidateRelcacheByRelid(relid);
	PopActiveSnapshot();
	SPI_finish();
	PG_RETURN_INT64(ls.id);
}

/*
 * backtest_live_stop(stream bigint) -> boolean
 *		Stop a stream of mine (or any, for backtest_admin): true; the last
 *		stream of a table removes its triggers.
 */
Datum
backtest_live_stop(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr delete_plan = NULL,
				count_plan = NULL;
	int64		id = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	Oid			relid;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(id);
	find_stream(id);
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* first the table (see the file header), then the stream */
	if (get_rel_name(relid) != NULL)
		LockRelationOid(relid, ShareRowExclusiveLock);
	btpg_live_exec(&delete_plan,
				   "DELETE FROM backtest.live_streams WHERE id OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, false, BTPG_BOOKKEEPER);
	if (get_rel_name(relid) != NULL)
	{
		Oid			otypes[1] = {OIDOID};
		Datum		ovalues[1];

		ovalues[0] = ObjectIdGetDatum(relid);
		btpg_live_exec(&count_plan,
					   "SELECT 1 FROM backtest.live_streams WHERE source OPERATOR(pg_catalog.=) $1 LIMIT 1",
					   1, otypes, ovalues, NULL, false, BTPG_BOOKKEEPER);	/* sees the delete */
		if (SPI_processed == 0)
			remove_triggers(relid);
		CacheInvalidateRelcacheByRelid(relid);
	}
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/* backtest_live_bars: the rows of one symbol from since on */
typedef struct BarsOut
{
	ReturnSetInfo *rsinfo;
	const BtpgLiveStream *ls;
	const char *symbol;
	bool		has_since;
	int64_t		since;
} BarsOut;

static void
bars_row(void *arg, const BtSeries *s, int64 t, const double *out, const BtLiveStep *step)
{
	BarsOut    *bo = (BarsOut *) arg;
	Datum		values[LIVE_BARS_COLS];
	bool		nulls[LIVE_BARS_COLS] = {false};
	StringInfoData js;

	if (bo->has_since && s->ts[t] < bo->since)
		return;
	values[0] = bo->symbol ? CStringGetTextDatum(bo->symbol) : (Datum) 0;
	nulls[0] = bo->symbol == NULL;
	values[1] = TimestampTzGetDatum(btpg_ts_from_engine(s->ts[t]));
	values[2] = Float8GetDatum(s->open[t]);
	values[3] = Float8GetDatum(s->high[t]);
	values[4] = Float8GetDatum(s->low[t]);
	values[5] = Float8GetDatum(s->close[t]);
	values[6] = s->volume ? Float8GetDatum(s->volume[t]) : (Datum) 0;
	nulls[6] = s->volume == NULL;
	initStringInfo(&js);
	appendStringInfoChar(&js, '{');
	for (int o = 0, k = 0; o < bo->ls->nout; o++)
	{
		if (!bo->ls->show[o])
			continue;
		if (k++ > 0)
			appendStringInfoString(&js, ", ");
		escape_json(&js, bo->ls->label[o]);
		appendStringInfoString(&js, ": ");
		btpg_live_json_num(&js, out[o]);
	}
	appendStringInfoChar(&js, '}');
	values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data));
	values[8] = Int16GetDatum(step->target);
	nulls[8] = step->target == BT_KEEP || bo->ls->spec.strategy == NULL;
	values[9] = Int16GetDatum(step->position);
	nulls[9] = bo->ls->spec.strategy == NULL;
	tuplestore_putvalues(bo->rsinfo->setResult, bo->rsinfo->setDesc, values, nulls);
	pfree(js.data);
}

/*
 * backtest_live_bars(stream bigint, since_ts timestamptz) -> setof
 *		The stream's bars from since_ts on (NULL: all), with its indicator
 *		values, the strategy's target and position, computed from the table
 *		as the caller reads it (privileges and row-level security apply).
 */
Datum
backtest_live_bars(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr symbols_plan = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		id = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	BtpgLiveStream ls;
	BarsOut		bo;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	char	  **symbols;
	int			nsym = 1;
	char	   *strategy;
	Oid			relid;
	Jsonb	   *params,
			   *indicators;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != LIVE_BARS_COLS)
		elog(ERROR, "backtest_live_bars must return %d columns", LIVE_BARS_COLS);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(id);
	find_stream(id);
	tup = SPI_copytuple(SPI_tuptable->vals[0]);
	desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	memset(&ls, 0, sizeof(ls));
	ls.id = id;
	d = SPI_getbinval(tup, desc, 2, &isnull);
	ls.symbol = isnull ? NULL : TextDatumGetCString(d);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	strategy = isnull ? NULL : TextDatumGetCString(d);
	relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	params = DatumGetJsonbP(SPI_getbinval(tup, desc, 4, &isnull));
	indicators = DatumGetJsonbP(SPI_getbinval(tup, desc, 5, &isnull));
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of live stream " INT64_FORMAT " was dropped", id)));
	btpg_live_parse(relid, strategy, params, indicators, &ls);

	symbols = palloc(sizeof(char *));
	symbols[0] = ls.symbol;
	if (ls.symbol == NULL && ls.cols.name[BTCOL_SYMBOL] != NULL)
	{
		btpg_live_exec(&symbols_plan,
					   "SELECT symbol FROM backtest.live_state WHERE stream OPERATOR(pg_catalog.=) $1 "
					   "ORDER BY symbol COLLATE \"C\"",
					   1, types, values, NULL, true, InvalidOid);
		nsym = (int) SPI_processed;
		symbols = palloc(sizeof(char *) * Max(nsym, 1));
		for (int i = 0; i < nsym; i++)
			symbols[i] = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
	}

	bo.rsinfo = rsinfo;
	bo.ls = &ls;
	bo.has_since = !PG_ARGISNULL(1);
	bo.since = bo.has_since ? btpg_ts_to_engine(PG_GETARG_TIMESTAMPTZ(1)) : 0;
	for (int i = 0; i < nsym; i++)
	{
		BtSeries	s;
		BtLiveState *prev;

		bo.symbol = symbols[i];
		btpg_live_load(&ls, symbols[i], InvalidOid, &s);
		(void) btpg_live_replay(&ls, &s, &prev, bars_row, &bo);
	}
	SPI_finish();
	return (Datum) 0;
}

