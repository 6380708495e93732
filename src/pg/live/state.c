/*-------------------------------------------------------------------------
 *
 * state.c
 *	  Live streams: replaying bars through the engine's state, and the
 *	  states saved, loaded and checked (live.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"

#include "core/bookkeeper.h"
#include "core/columns.h"
#include "core/loader.h"
#include "core/timestamps.h"
#include "live.h"

/* ---- replaying bars ---------------------------------------------------------- */

BtLiveBar
btpg_live_bar(const BtSeries *s, int64 t)
{
	BtLiveBar	b;

	b.ts = s->ts[t];
	b.open = s->open[t];
	b.high = s->high[t];
	b.low = s->low[t];
	b.close = s->close[t];
	b.volume = s->volume ? s->volume[t] : NAN;
	b.signal = s->signal ? s->signal[t] : NAN;
	return b;
}

void
btpg_live_push_error(const BtpgLiveStream *ls, const char *symbol, const BtLiveBar *bar,
					 const BtError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("live stream " INT64_FORMAT ": invalid bar at %s%s%s%s: %s", ls->id,
					timestamptz_to_str(btpg_ts_from_engine(bar->ts)),
					symbol ? " (symbol \"" : "", symbol ? symbol : "", symbol ? "\")" : "",
					err->msg),
			 err->detail[0] ? errdetail("%s", err->detail) : 0,
			 errhint("Fix the bar, or stop the stream with backtest_live_stop(" INT64_FORMAT ").",
					 ls->id)));
	pg_unreachable();
}

BtLiveState *
btpg_live_replay(const BtpgLiveStream *ls, const BtSeries *s, BtLiveState **prev,
				 BtpgLiveBarFn fn, void *arg)
{
	size_t		bytes = bt_live_state_bytes(&ls->spec);
	BtLiveState *st = palloc(bytes);
	BtLiveState *before = palloc(bytes);
	double	   *out = palloc(sizeof(double) * Max(ls->nout, 1));

	bt_live_init(&ls->spec, st);
	for (int64 t = 0; t < s->n; t++)
	{
		BtLiveBar	b = btpg_live_bar(s, t);
		BtLiveStep	step;
		BtError		err;

		if ((t & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		memcpy(before, st, bytes);
		if (!bt_live_push(st, &b, out, &step, &err))
			btpg_live_push_error(ls, NULL, &b, &err);
		if (fn)
			fn(arg, s, t, out, &step);
	}
	*prev = s->n > 0 ? before : NULL;
	return st;
}

/* ---- states ---------------------------------------------------------------------- */

bytea *
btpg_live_state_bytea(const BtLiveState *st)
{
	size_t		size = bt_live_state_size(st);
	bytea	   *b = palloc(VARHDRSZ + size);

	SET_VARSIZE(b, VARHDRSZ + size);
	memcpy(VARDATA(b), st, size);
	return b;
}

BtLiveState *
btpg_live_state_from(bytea *b, const BtpgLiveStream *ls)
{
	size_t		len = VARSIZE_ANY_EXHDR(b);
	BtLiveState *st = palloc(Max(len, 1));	/* palloc: MAXALIGNed */

	memcpy(st, VARDATA_ANY(b), len);
	if (!bt_live_state_valid(st, len, &ls->spec))
		return NULL;
	return st;
}

int
btpg_live_exec(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls, bool read_only, Oid as_user)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (OidIsValid(as_user))
		SetUserIdAndSecContext(as_user, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_plan(*plan, values, nulls, read_only, 0);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "pg_backtest live stream bookkeeping failed: %s", SPI_result_code_string(rc));
	return rc;
}

void
btpg_live_save(int64 stream, const char *symbol, const BtLiveState *st, const BtLiveState *prev,
			   bool exists)
{
	static SPIPlanPtr insert_plan = NULL,
				update_plan = NULL;
	Oid			types[7] = {INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT2OID, BYTEAOID, BYTEAOID};
	Datum		values[7];
	char		nulls[7] = "       ";
	int64		nbars = bt_live_nbars(st);

	values[0] = Int64GetDatum(stream);
	values[1] = CStringGetTextDatum(symbol ? symbol : "");
	values[2] = Int64GetDatum(nbars);
	if (nbars > 0)
		values[3] = TimestampTzGetDatum(btpg_ts_from_engine(bt_live_last_ts(st)));
	else
		nulls[3] = 'n';
	values[4] = Int16GetDatum((int16) bt_live_position(st));
	values[5] = PointerGetDatum(btpg_live_state_bytea(st));
	if (prev)
		values[6] = PointerGetDatum(btpg_live_state_bytea(prev));
	else
		nulls[6] = 'n';
	if (exists)
		btpg_live_exec(&update_plan,
					   "UPDATE backtest.live_state SET bars = $3, last_ts = $4, position = $5, "
					   "state = $6, prev_state = $7 "
					   "WHERE stream OPERATOR(pg_catalog.=) $1 AND symbol OPERATOR(pg_catalog.=) $2",
					   7, types, values, nulls, false, BTPG_BOOKKEEPER);
	else
		btpg_live_exec(&insert_plan,
					   "INSERT INTO backtest.live_state (stream, symbol, bars, last_ts, position, state, prev_state) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7)",
					   7, types, values, nulls, false, BTPG_BOOKKEEPER);
	if (SPI_processed != 1)
		elog(ERROR, "saving the state of live stream " INT64_FORMAT " failed", stream);
}

void
btpg_live_load(const BtpgLiveStream *ls, const char *symbol, Oid as_user, BtSeries *s)
{
	BtpgLoadSpec	spec;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;

	memset(&spec, 0, sizeof(spec));
	spec.relid = ls->relid;
	spec.symbol = symbol;
	spec.cols = ls->cols;
	spec.need_volume = ls->cols.name[BTCOL_VOLUME] != NULL;
	spec.need_signal = ls->cols.name[BTCOL_SIGNAL] != NULL;
	/*
	 * As as_user, with search_path pinned: a trigger's rebuild reads as the
	 * stream's owner in the writer's session, whose search_path must not
	 * choose the types and functions the query resolves.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (OidIsValid(as_user))
		SetUserIdAndSecContext(as_user, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	btpg_load_series(&spec, s);
	AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
}
