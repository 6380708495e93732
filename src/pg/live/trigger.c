/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The statement-level triggers a live stream puts on its table
 *	  (backtest.live_trigger): each statement's new bars advance the state
 *	  of every stream of the table, symbol by symbol, in the writing
 *	  transaction, and send NOTIFY backtest_chart (once per statement and
 *	  symbol, cut into payloads below 8000 bytes) and NOTIFY backtest_signal
 *	  (each bar on which the strategy's target position changes).
 *
 * Per symbol, a statement is one of:
 *	- an INSERT of bars all after the last one: pushed in time order;
 *	- an UPDATE of the last bar alone, its time unchanged (a forming
 *	  candle): pushed onto the state as it was before that bar;
 *	- an UPDATE that changes no column the stream reads: nothing;
 *	- anything else (a bar older than the last, other updates, a DELETE, a
 *	  symbol without a state yet): the state is rebuilt from the table, read
 *	  as the stream's owner; a NOTICE says so, except for a new symbol.
 * A TRUNCATE drops the states; the next bars rebuild them.
 *
 * The state rows are locked (FOR UPDATE) before they are read, so two
 * transactions writing the same symbol advance its state one after the
 * other.  Everything happens in the writing transaction: a rollback leaves
 * the states as they were and sends nothing (NOTIFY is sent at commit).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/live/trigger.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "core/bookkeeper.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/timestamps.h"
#include "../notify/notify.h"
#include "live.h"

PG_FUNCTION_INFO_V1(backtest_live_trigger);

/* One row of a transition table, as a stream reads it */
typedef struct LiveRow
{
	char	   *sym;			/* NULL: the source has no symbol column */
	BtLiveBar	bar;
} LiveRow;

/* One bar to report */
typedef struct LiveEvent
{
	BtLiveBar	bar;
	BtLiveStep	step;
	double	   *out;			/* the outputs; NULL unless the payload is full */
} LiveEvent;

typedef struct LiveEvents
{
	const BtpgLiveStream *ls;
	bool		full;			/* "payload": "full": keep each bar's values */
	LiveEvent  *ev;
	int64		n;
	int64		cap;
	/* rebuilds report the bars of these rows only (sorted by ts) */
	const LiveRow *rows;
	int64		nrows;
} LiveEvents;

/*
 * The parsed streams of each streamed table, kept between statements, so
 * that a statement reads no catalog of ours but the states.  A stream's row
 * never changes, and starting or stopping one invalidates its table's
 * relcache entry in every backend (CacheInvalidateRelcacheByRelid, sent at
 * commit, and seen before the next write to the table: a write takes a
 * lock the start or stop held).  Any relcache invalidation marks the cache
 * stale; the next trigger call outside any other empties it, so no pointer
 * into it is ever left dangling.
 */
typedef struct RelStreams
{
	Oid			relid;			/* hash key */
	int			n;
	BtpgLiveStream *ls;			/* n, in id order */
} RelStreams;

static HTAB *stream_cache = NULL;
static MemoryContext stream_cache_cxt = NULL;
static bool stream_cache_stale = false;
static int	trigger_depth = 0;

/* Relcache invalidation callback */
static void
stream_cache_inval(Datum arg, Oid relid)
{
	stream_cache_stale = true;
}

/* Error context: the stream being parsed or advanced */
static void live_context(void *arg);

/*
 * rel_streams
 *		The streams of table relid, read and parsed now if they are not
 *		cached (as the bookkeeper: every owner's).
 */
static RelStreams *
rel_streams(Oid relid)
{
	static SPIPlanPtr streams_plan = NULL;
	RelStreams *rs;
	bool		found;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	SPITupleTable *tt;
	MemoryContext old;

	if (stream_cache_cxt == NULL)
	{
		stream_cache_cxt = AllocSetContextCreate(TopMemoryContext, "backtest live streams",
												 ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(stream_cache_inval, (Datum) 0);
	}
	if (stream_cache_stale && trigger_depth == 1)
	{
		MemoryContextReset(stream_cache_cxt);
		stream_cache = NULL;
		stream_cache_stale = false;
	}
	if (stream_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RelStreams);
		ctl.hcxt = stream_cache_cxt;
		stream_cache = hash_create("backtest live streams", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	rs = hash_search(stream_cache, &relid, HASH_FIND, NULL);
	if (rs != NULL)
		return rs;

	values[0] = ObjectIdGetDatum(relid);
	btpg_live_exec(&streams_plan,
				   "SELECT id, owner, symbol, strategy, params, indicators FROM backtest.live_streams "
				   "WHERE source OPERATOR(pg_catalog.=) $1 ORDER BY id",
				   1, types, values, NULL, true, BTPG_BOOKKEEPER);
	tt = SPI_tuptable;
	old = MemoryContextSwitchTo(stream_cache_cxt);
	{
		int			n = (int) SPI_processed;
		BtpgLiveStream *ls = palloc0(sizeof(BtpgLiveStream) * Max(n, 1));

		for (int k = 0; k < n; k++)
		{
			HeapTuple	tup = tt->vals[k];
			ErrorContextCallback errcb;
			bool		isnull;
			Datum		d;
			char	   *strategy;

			ls[k].id = DatumGetInt64(SPI_getbinval(tup, tt->tupdesc, 1, &isnull));
			errcb.previous = error_context_stack;
			errcb.callback = live_context;
			errcb.arg = &ls[k].id;
			error_context_stack = &errcb;
			ls[k].owner_name = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, tt->tupdesc, 2, &isnull))));
			d = SPI_getbinval(tup, tt->tupdesc, 3, &isnull);
			ls[k].symbol = isnull ? NULL : TextDatumGetCString(d);
			d = SPI_getbinval(tup, tt->tupdesc, 4, &isnull);
			strategy = isnull ? NULL : TextDatumGetCString(d);
			btpg_live_parse(relid, strategy,
							DatumGetJsonbP(SPI_getbinval(tup, tt->tupdesc, 5, &isnull)),
							DatumGetJsonbP(SPI_getbinval(tup, tt->tupdesc, 6, &isnull)), &ls[k]);
			error_context_stack = errcb.previous;
		}
		MemoryContextSwitchTo(old);
		rs = hash_search(stream_cache, &relid, HASH_ENTER, &found);
		rs->n = n;
		rs->ls = ls;
	}
	return rs;
}

/* Error context: the stream being advanced */
static void
live_context(void *arg)
{
	errcontext("live stream " INT64_FORMAT, *(const int64 *) arg);
}

static int
row_cmp(const void *a, const void *b)
{
	const LiveRow *x = a,
			   *y = b;
	int			c = strcmp(x->sym ? x->sym : "", y->sym ? y->sym : "");

	if (c != 0)
		return c;
	return x->bar.ts < y->bar.ts ? -1 : x->bar.ts > y->bar.ts;
}

/*
 * A number column of a row whose attributes are all deformed (NULL: NaN,
 * which the engine refuses for prices)
 */
static inline double
row_num(TupleTableSlot *slot, int att, Oid typid)
{
	if (att <= 0 || slot->tts_isnull[att - 1])
		return NAN;
	if (typid == FLOAT8OID)
		return DatumGetFloat8(slot->tts_values[att - 1]);
	return btpg_datum_to_double(slot->tts_values[att - 1], typid);
}

/*
 * read_rows
 *		The rows of a transition table as ls reads them (its symbol's, or
 *		all but those with a NULL symbol), sorted by (symbol, ts).
 */
static LiveRow *
read_rows(Tuplestorestate *store, Relation rel, const BtpgLiveStream *ls, int64 *n)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			att[BTCOL_COUNT];
	Oid			typ[BTCOL_COUNT];
	TupleTableSlot *slot;
	LiveRow    *rows;
	int64		cap = 64;
	Oid			symout = InvalidOid;
	bool		symvarlena;
	int16		symlen = 0;
	bool		symbyval = false;
	char	   *prevsym = NULL;
	Datum		prevd = (Datum) 0;

	*n = 0;
	if (store == NULL)
		return NULL;
	for (int c = 0; c < BTCOL_COUNT; c++)
	{
		att[c] = 0;
		typ[c] = InvalidOid;
		if (ls->cols.name[c] == NULL)
			continue;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(desc, i);

			if (!a->attisdropped && strcmp(NameStr(a->attname), ls->cols.name[c]) == 0)
			{
				att[c] = i + 1;
				typ[c] = a->atttypid;
			}
		}
	}
	if (att[BTCOL_SYMBOL] > 0)
	{
		getTypeOutputInfo(typ[BTCOL_SYMBOL], &symout, &symvarlena);
		get_typlenbyval(typ[BTCOL_SYMBOL], &symlen, &symbyval);
	}

	rows = palloc(sizeof(LiveRow) * cap);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot))
	{
		LiveRow		r;
		bool		isnull;
		Datum		d;

		r.sym = NULL;
		slot_getallattrs(slot);
		if (att[BTCOL_SYMBOL] > 0)
		{
			d = slot->tts_values[att[BTCOL_SYMBOL] - 1];
			isnull = slot->tts_isnull[att[BTCOL_SYMBOL] - 1];
			if (isnull)
				continue;
			/* rows mostly come symbol by symbol: convert each run's symbol once */
			if (prevsym == NULL || !datumIsEqual(d, prevd, symbyval, symlen))
			{
				prevsym = OidOutputFunctionCall(symout, d);
				prevd = datumCopy(d, symbyval, symlen);
			}
			r.sym = prevsym;
			if (ls->symbol != NULL && strcmp(r.sym, ls->symbol) != 0)
				continue;
		}
		d = slot->tts_values[att[BTCOL_TS] - 1];
		if (slot->tts_isnull[att[BTCOL_TS] - 1])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("live stream " INT64_FORMAT ": a bar has a NULL \"%s\"", ls->id,
							ls->cols.name[BTCOL_TS])));
		r.bar.ts = btpg_ts_to_engine(btpg_datum_to_tstz(d, typ[BTCOL_TS]));
		r.bar.open = row_num(slot, att[BTCOL_OPEN], typ[BTCOL_OPEN]);
		r.bar.high = row_num(slot, att[BTCOL_HIGH], typ[BTCOL_HIGH]);
		r.bar.low = row_num(slot, att[BTCOL_LOW], typ[BTCOL_LOW]);
		r.bar.close = row_num(slot, att[BTCOL_CLOSE], typ[BTCOL_CLOSE]);
		r.bar.volume = row_num(slot, att[BTCOL_VOLUME], typ[BTCOL_VOLUME]);
		r.bar.signal = row_num(slot, att[BTCOL_SIGNAL], typ[BTCOL_SIGNAL]);
		/* as the loader: NULL keeps, a NaN is an error */
		if (isnan(r.bar.signal) && att[BTCOL_SIGNAL] > 0 && !slot->tts_isnull[att[BTCOL_SIGNAL] - 1])
			btpg_signal_nan_error(btpg_ts_from_engine(r.bar.ts));
		if (*n == cap)
		{
			cap *= 2;
			rows = repalloc_huge(rows, sizeof(LiveRow) * cap);
		}
		rows[(*n)++] = r;
	}
	ExecDropSingleTupleTableSlot(slot);
	qsort(rows, *n, sizeof(LiveRow), row_cmp);
	return rows;
}

/* Record a bar to report */
static void
add_event(LiveEvents *le, const BtLiveBar *bar, const double *out, const BtLiveStep *step)
{
	LiveEvent  *e;

	if (le->n == le->cap)
	{
		le->cap = le->cap ? le->cap * 2 : 16;
		le->ev = le->ev ? repalloc_huge(le->ev, sizeof(LiveEvent) * le->cap) :
			palloc(sizeof(LiveEvent) * le->cap);
	}
	e = &le->ev[le->n++];
	e->bar = *bar;
	e->step = *step;
	e->out = NULL;
	if (le->full)				/* only full payloads send the values */
	{
		e->out = palloc(sizeof(double) * Max(le->ls->nout, 1));
		memcpy(e->out, out, sizeof(double) * le->ls->nout);
	}
}

/* Replay callback of a rebuild: report the bars of the statement's rows */
static void
rebuild_bar(void *arg, const BtSeries *s, int64 t, const double *out, const BtLiveStep *step)
{
	LiveEvents *le = (LiveEvents *) arg;
	int64		lo = 0,
				hi = le->nrows;

	while (lo < hi)
	{
		int64		m = lo + (hi - lo) / 2;

		if (le->rows[m].bar.ts < s->ts[t])
			lo = m + 1;
		else
			hi = m;
	}
	if (lo < le->nrows && le->rows[lo].bar.ts == s->ts[t])
	{
		BtLiveBar	b = btpg_live_bar(s, t);

		add_event(le, &b, out, step);
	}
}

/* Whether two bars hold the same values (of the columns the stream reads) */
static bool
same_bar(const BtLiveBar *a, const BtLiveBar *b)
{
	return memcmp(a, b, sizeof(BtLiveBar)) == 0;
}

/* ---- notifications ---------------------------------------------------------- */

/* The start of every payload of a stream's symbol: {"stream": 1, "symbol": "X" */
static void
payload_head(StringInfo buf, const BtpgLiveStream *ls, const char *sym)
{
	resetStringInfo(buf);
	appendStringInfo(buf, "{\"stream\": " INT64_FORMAT ", \"symbol\": ", ls->id);
	if (sym)
		escape_json(buf, sym);
	else
		appendStringInfoString(buf, "null");
}

/* Append the timestamp of a bar as a JSON string */
static void
json_ts(StringInfo buf, int64_t ts)
{
	char		t[64];

	btpg_live_format_ts(ts, t, sizeof t);
	appendStringInfo(buf, "\"%s\"", t);
}

/* One bar of a full chart payload */
static void
full_bar(StringInfo buf, const BtpgLiveStream *ls, const LiveEvent *e)
{
	appendStringInfoString(buf, "{\"ts\": ");
	json_ts(buf, e->bar.ts);
	appendStringInfoString(buf, ", \"open\": ");
	btpg_live_json_num(buf, e->bar.open);
	appendStringInfoString(buf, ", \"high\": ");
	btpg_live_json_num(buf, e->bar.high);
	appendStringInfoString(buf, ", \"low\": ");
	btpg_live_json_num(buf, e->bar.low);
	appendStringInfoString(buf, ", \"close\": ");
	btpg_live_json_num(buf, e->bar.close);
	if (ls->cols.name[BTCOL_VOLUME] != NULL)
	{
		appendStringInfoString(buf, ", \"volume\": ");
		btpg_live_json_num(buf, e->bar.volume);
	}
	for (int o = 0; o < ls->nout; o++)
	{
		if (!ls->show[o])
			continue;
		appendStringInfoString(buf, ", ");
		escape_json(buf, ls->label[o]);
		appendStringInfoString(buf, ": ");
		btpg_live_json_num(buf, e->out[o]);
	}
	if (ls->spec.strategy != NULL)
		appendStringInfo(buf, ", \"position\": %d", e->step.position);
	appendStringInfoChar(buf, '}');
}

/*
 * notify_chart
 *		NOTIFY backtest_chart for one symbol's bars: as few payloads as fit
 *		below BTPG_LIVE_PAYLOAD_MAX, each the head, "rebuilt" when the state
 *		was rebuilt, and the bars ("ts": [...] or, full, "bars": [...]).
 */
static void
notify_chart(const LiveEvents *le, const char *sym, bool full, bool rebuilt)
{
	StringInfoData head,
				msg,
				item;
	int64		i = 0;

	if (le->n == 0 && !rebuilt)
		return;
	initStringInfo(&head);
	initStringInfo(&msg);
	initStringInfo(&item);
	payload_head(&head, le->ls, sym);
	if (rebuilt)
		appendStringInfoString(&head, ", \"rebuilt\": true");
	appendStringInfoString(&head, full ? ", \"bars\": [" : ", \"ts\": [");
	do
	{
		int			k = 0;

		resetStringInfo(&msg);
		appendBinaryStringInfo(&msg, head.data, head.len);
		for (; i < le->n; i++)
		{
			resetStringInfo(&item);
			if (full)
				full_bar(&item, le->ls, &le->ev[i]);
			else
				json_ts(&item, le->ev[i].bar.ts);
			if (k > 0 && msg.len + 2 + item.len + 2 > BTPG_LIVE_PAYLOAD_MAX)
				break;
			if (k++ > 0)
				appendStringInfoString(&msg, ", ");
			appendBinaryStringInfo(&msg, item.data, item.len);
		}
		appendStringInfoString(&msg, "]}");
		if (msg.len > BTPG_LIVE_PAYLOAD_MAX)
			elog(ERROR, "live stream " INT64_FORMAT ": a bar does not fit in a payload",
				 le->ls->id);
		Async_Notify(BTPG_LIVE_CHART_CHANNEL, msg.data);
	} while (i < le->n);
}

/*
 * add_signal_notification
 *		A 'signal' row in the notification centre for the stream's owner
 *		(row-level security keeps it theirs, so it may name the values):
 *		title "SYNTH: flat -> long", the strategy, close and time in the
 *		message, all of it in the metadata, and the query that shows the bar.
 */
static void
add_signal_notification(const BtpgLiveStream *ls, const char *sym, const LiveEvent *e)
{
	static const char *const pos[] = {"short", "flat", "long"};
	const char *from = pos[e->step.prev_position + 1];
	const char *to = pos[e->step.position + 1];
	StringInfoData title,
				message,
				meta;
	char		ts[64];

	btpg_live_format_ts(e->bar.ts, ts, sizeof ts);
	initStringInfo(&title);
	appendStringInfo(&title, "%s%s%s -> %s", sym ? sym : "", sym ? ": " : "", from, to);
	initStringInfo(&message);
	appendStringInfo(&message, "Live stream " INT64_FORMAT " (%s on %s): %s at close ", ls->id,
					 ls->spec.strategy->name, get_rel_name(ls->relid), to);
	btpg_live_json_num(&message, e->bar.close);
	appendStringInfo(&message, " on the bar of %s.", ts);
	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"stream\": " INT64_FORMAT ", \"symbol\": ", ls->id);
	if (sym)
		escape_json(&meta, sym);
	else
		appendStringInfoString(&meta, "null");
	appendStringInfo(&meta, ", \"ts\": \"%s\", \"strategy\": \"%s\", \"from\": %d, \"to\": %d, \"close\": ",
					 ts, ls->spec.strategy->name, e->step.prev_position, e->step.position);
	btpg_live_json_num(&meta, e->bar.close);
	appendStringInfoChar(&meta, '}');
	btpg_notification_add_for(ls->owner_name, "signal", title.data, message.data, "normal", meta.data,
							  psprintf("SELECT * FROM backtest_live_bars(" INT64_FORMAT ", '%s')",
									   ls->id, ts));
}

/* NOTIFY backtest_signal for each bar on which the target position changed */
static void
notify_signals(const LiveEvents *le, const char *sym, bool full)
{
	StringInfoData msg;

	if (le->ls->spec.strategy == NULL)
		return;
	initStringInfo(&msg);
	for (int64 i = 0; i < le->n; i++)
	{
		const LiveEvent *e = &le->ev[i];

		if (e->step.position == e->step.prev_position)
			continue;
		payload_head(&msg, le->ls, sym);
		appendStringInfoString(&msg, ", \"ts\": ");
		json_ts(&msg, e->bar.ts);
		if (full)
		{
			appendStringInfoString(&msg, ", \"strategy\": ");
			escape_json(&msg, le->ls->spec.strategy->name);
			appendStringInfo(&msg, ", \"from\": %d, \"to\": %d, \"close\": ",
							 e->step.prev_position, e->step.position);
			btpg_live_json_num(&msg, e->bar.close);
		}
		appendStringInfoChar(&msg, '}');
		Async_Notify(BTPG_LIVE_SIGNAL_CHANNEL, msg.data);
		add_signal_notification(le->ls, sym, e);
	}
}

/* ---- one symbol ------------------------------------------------------------------ */

/*
 * advance_symbol
 *		Apply one statement's rows of one symbol (nrows new ones, nold old
 *		ones, each sorted by ts) to the stream's state of that symbol, save
 *		it and notify (see the file header).
 */
static void
advance_symbol(const BtpgLiveStream *ls, const char *sym, const LiveRow *rows, int64 nrows,
			   const LiveRow *old, int64 nold, TriggerEvent event, bool full)
{
	static SPIPlanPtr state_plan = NULL;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	BtLiveState *st = NULL,
			   *prev = NULL;
	LiveEvents	le;
	bool		rebuild = true;
	bool		found;
	const char *why = NULL;
	size_t		bytes = bt_live_state_bytes(&ls->spec);
	double	   *out = palloc(sizeof(double) * Max(ls->nout, 1));

	memset(&le, 0, sizeof(le));
	le.ls = ls;
	le.full = full;
	le.rows = rows;
	le.nrows = nrows;

	values[0] = Int64GetDatum(ls->id);
	values[1] = CStringGetTextDatum(sym ? sym : "");
	btpg_live_exec(&state_plan,
				   "SELECT state, prev_state FROM backtest.live_state "
				   "WHERE stream OPERATOR(pg_catalog.=) $1 AND symbol OPERATOR(pg_catalog.=) $2 FOR UPDATE",
				   2, types, values, NULL, false, BTPG_BOOKKEEPER);
	found = SPI_processed == 1;
	if (found)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		st = btpg_live_state_from(DatumGetByteaPP(d), ls);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		prev = (st && !isnull) ? btpg_live_state_from(DatumGetByteaPP(d), ls) : NULL;
		if (st == NULL)
			why = "its saved state does not match this version of pg_backtest";
	}

	if (st == NULL)
		;
	else if (TRIGGER_FIRED_BY_INSERT(event))
	{
		rebuild = false;
		for (int64 i = 0; i < nrows && !rebuild; i++)
			if ((i == 0 && bt_live_nbars(st) > 0 && rows[0].bar.ts <= bt_live_last_ts(st)) ||
				(i > 0 && rows[i].bar.ts <= rows[i - 1].bar.ts))
				rebuild = true;
		if (rebuild)
			why = "a bar not after the last one was inserted";
	}
	else if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		bool		same = nrows == nold;

		for (int64 i = 0; i < nrows && same; i++)
			same = same_bar(&rows[i].bar, &old[i].bar);
		if (same)
			return;				/* no column the stream reads changed */
		if (nrows == 1 && nold == 1 && prev != NULL && bt_live_nbars(st) > 0 &&
			old[0].bar.ts == bt_live_last_ts(st) && rows[0].bar.ts == old[0].bar.ts)
		{
			/* the forming candle: redo the last bar from the state before it */
			memcpy(st, prev, bytes);
			rebuild = false;
		}
		else
			why = "bars other than the last one were updated";
	}
	else
		why = "bars were deleted";

	if (!rebuild)
	{
		for (int64 i = 0; i < nrows; i++)
		{
			BtLiveStep	step;
			BtError		err;

			/* the state before the last bar is kept (for a forming candle) */
			if (TRIGGER_FIRED_BY_INSERT(event) && i == nrows - 1)
			{
				if (prev == NULL)
					prev = palloc(bytes);
				memcpy(prev, st, bytes);
			}
			if (!bt_live_push(st, &rows[i].bar, out, &step, &err))
				btpg_live_push_error(ls, sym, &rows[i].bar, &err);
			add_event(&le, &rows[i].bar, out, &step);
		}
	}
	else
	{
		BtSeries	s;

		if (why != NULL)
		{
			StringInfoData meta;

			ereport(NOTICE,
					(errmsg("live stream " INT64_FORMAT " rebuilt its state%s%s%s from the table",
							ls->id, sym ? " of symbol \"" : "", sym ? sym : "", sym ? "\"" : ""),
					 errdetail("The state was rebuilt because %s.", why)));
			/* the stream's owner is told too (a system notification, low) */
			initStringInfo(&meta);
			appendStringInfo(&meta, "{\"stream\": " INT64_FORMAT ", \"symbol\": ", ls->id);
			if (sym)
				escape_json(&meta, sym);
			else
				appendStringInfoString(&meta, "null");
			appendStringInfo(&meta, ", \"reason\": \"%s\"}", why);
			btpg_notification_add_for(ls->owner_name, "system",
									  psprintf("live stream " INT64_FORMAT " rebuilt", ls->id),
									  psprintf("Live stream " INT64_FORMAT " rebuilt its state%s%s from the table: %s.",
											   ls->id, sym ? " of " : "", sym ? sym : "", why),
									  "low", meta.data, NULL);
		}
		/* read the table as this statement left it (the loader reads read-only) */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		btpg_live_load(ls, sym, ls->owner, &s);
		PopActiveSnapshot();
		st = btpg_live_replay(ls, &s, &prev, rebuild_bar, &le);
	}
	if (!rebuild && nrows == 0)
		return;
	btpg_live_save(ls->id, sym, st, prev, found);
	notify_chart(&le, sym, full, rebuild && why != NULL);
	notify_signals(&le, sym, full);
}

/* ---- the trigger ------------------------------------------------------------------ */

/* A TRUNCATE: the stream's states go; the next bars rebuild them */
static void
truncate_states(int64 stream)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(stream);
	btpg_live_exec(&plan, "DELETE FROM backtest.live_state WHERE stream OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, false, BTPG_BOOKKEEPER);
}

/* One stream's part of a statement */
static void
advance_stream(BtpgLiveStream *ls, TriggerData *td)
{
	TriggerEvent event = td->tg_event;
	LiveRow    *rows,
			   *old;
	int64		nrows,
				nold;
	int64		i = 0,
				j = 0;
	bool		full;

	if (!OidIsValid(ls->owner) ||
		pg_class_aclcheck(ls->relid, ls->owner, ACL_SELECT) != ACLCHECK_OK)
	{
		ereport(WARNING,
				(errmsg("live stream " INT64_FORMAT " skipped: its owner \"%s\" may not read \"%s\"",
						ls->id, ls->owner_name, get_rel_name(ls->relid)),
				 errhint("Grant the role SELECT on the table again, or stop the stream with backtest_live_stop(" INT64_FORMAT ").",
						 ls->id)));
		return;
	}
	if (TRIGGER_FIRED_BY_TRUNCATE(event))
	{
		truncate_states(ls->id);
		return;
	}
	full = ls->full && (superuser_arg(ls->owner) || btpg_live_public_readable(ls->relid));

	rows = read_rows(td->tg_newtable, td->tg_relation, ls, &nrows);
	old = read_rows(td->tg_oldtable, td->tg_relation, ls, &nold);

	/* symbol by symbol, in the order of both sorted lists */
	while (i < nrows || j < nold)
	{
		const char *sym;
		int64		i1 = i,
					j1 = j;

		if (i < nrows && (j >= nold || strcmp(rows[i].sym ? rows[i].sym : "",
											  old[j].sym ? old[j].sym : "") <= 0))
			sym = rows[i].sym;
		else
			sym = old[j].sym;
		while (i1 < nrows && strcmp(rows[i1].sym ? rows[i1].sym : "", sym ? sym : "") == 0)
			i1++;
		while (j1 < nold && strcmp(old[j1].sym ? old[j1].sym : "", sym ? sym : "") == 0)
			j1++;
		advance_symbol(ls, sym, rows + i, i1 - i, old + j, j1 - j, event, full);
		i = i1;
		j = j1;
	}
}

/*
 * backtest.live_trigger()
 *		The AFTER ... FOR EACH STATEMENT trigger of a streamed table.
 */
Datum
backtest_live_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	MemoryContext cxt,
				oldcxt;
	Oid			relid;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("backtest.live_trigger() must be an AFTER ... FOR EACH STATEMENT trigger")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "backtest live trigger",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	relid = RelationGetRelid(td->tg_relation);
	trigger_depth++;
	PG_TRY();
	{
		RelStreams *rs = rel_streams(relid);

		for (int k = 0; k < rs->n; k++)
		{
			BtpgLiveStream ls = rs->ls[k];
			ErrorContextCallback errcb;

			errcb.previous = error_context_stack;
			errcb.callback = live_context;
			errcb.arg = &ls.id;
			error_context_stack = &errcb;
			ls.owner = get_role_oid(ls.owner_name, true);
			advance_stream(&ls, td);
			error_context_stack = errcb.previous;
		}
	}
	PG_FINALLY();
	{
		trigger_depth--;
	}
	PG_END_TRY();

	SPI_finish();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return PointerGetDatum(NULL);
}
