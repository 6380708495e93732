/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  The notification centre: backtest.notifications rows with their
 *	  NOTIFY backtest_notifications, the C API other features record
 *	  notifications with (notify.h), the trigger that records a task's
 *	  outcome, per-role preferences (backtest_notification_settings) and
 *	  the cleanup of old notifications (backtest_cleanup_notifications).
 *
 * Users have no write privilege on backtest.notifications but read_at of
 * their own rows: everything else is written here as the tables' owner
 * (BTPG_BOOKKEEPER, pg_database_owner, never a superuser), with search_path
 * pinned (btpg_exec_as_owner).  NOTIFY has no access control, so the
 * payload carries the new row's id and kind only; a client reads the row,
 * under row-level security.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/notify/notify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/bookkeeper.h"
#include "queue/queue.h"
#include "notify.h"

PG_FUNCTION_INFO_V1(backtest_tasks_notify);
PG_FUNCTION_INFO_V1(backtest_notification_settings);
PG_FUNCTION_INFO_V1(backtest_cleanup_notifications);

/* pg_backtest.max_notifications: most notifications cleanup keeps per role */
int			btpg_max_notifications = 1000;

/* The kinds and priorities, in the order preferences list them */
static const char *const notification_kinds[] = {
	"task_completed", "task_failed", "task_cancelled", "sweep_completed", "signal", "system"
};
static const char *const notification_priorities[] = {"low", "normal", "high", "urgent"};

/*
 * btpg_notify_define_gucs
 *		Define the notification centre's and the system status's settings;
 *		from _PG_init.
 */
void
btpg_notify_define_gucs(void)
{
	DefineCustomIntVariable("pg_backtest.max_notifications",
							"Most notifications backtest_cleanup keeps per role.",
							"Beyond it the oldest are removed, read or not.",
							&btpg_max_notifications, 1000, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.status_interval",
							"Shortest time between two backtest_system_status events of a database.",
							"Dispatchers send one when the cluster's task counts changed; 0 turns "
							"the events off.",
							&btpg_status_interval, 5000, 0, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Index of s in list, or -1 */
static int
find_name(const char *const *list, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* "a, b, c" of a list, for hints */
static char *
list_names(const char *const *list, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", list[i]);
	return buf.data;
}

/* The kind's index; an error naming an unknown one */
static int
check_kind(const char *kind)
{
	int			k = find_name(notification_kinds, lengthof(notification_kinds), kind);

	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown notification kind \"%s\"", kind),
				 errhint("The kinds are %s.",
						 list_names(notification_kinds, lengthof(notification_kinds)))));
	return k;
}

/* The priority's rank (0 = low); an error naming an unknown one */
static int
check_priority(const char *priority)
{
	int			p = find_name(notification_priorities, lengthof(notification_priorities), priority);

	if (p < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown notification priority \"%s\"", priority),
				 errhint("The priorities are %s.",
						 list_names(notification_priorities, lengthof(notification_priorities)))));
	return p;
}

/*
 * Does the role named owner want notifications of this kind and priority?
 * (No settings row: every kind, every priority.)  Caller has SPI connected.
 */
static bool
wanted(const char *owner, const char *kind, int prio)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(owner)};
	bool		isnull;
	Datum		d;

	(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
							  "SELECT s.kinds, s.min_priority FROM backtest.notification_settings s "
							  "WHERE s.owner OPERATOR(pg_catalog.=) $1::pg_catalog.name",
							  1, types, values, NULL);
	if (SPI_processed == 0)
		return true;
	if (check_priority(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)) > prio)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n;
		bool		found = false;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
		for (int i = 0; i < n && !found; i++)
			found = !enulls[i] && strcmp(TextDatumGetCString(elems[i]), kind) == 0;
		if (!found)
			return false;
	}
	return true;
}

int64
btpg_notification_add_for(const char *owner, const char *kind, const char *title,
						  const char *message, const char *priority,
						  const char *metadata_json, const char *action)
{
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			prio;
	int64		id = 0;
	bool		isnull;

	check_kind(kind);
	if (priority == NULL)
		priority = "normal";
	prio = check_priority(priority);
	if (title == NULL)
		elog(ERROR, "a notification needs a title");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (wanted(owner, kind, prio))
	{
		values[0] = CStringGetTextDatum(owner);
		values[1] = CStringGetTextDatum(kind);
		values[2] = CStringGetTextDatum(title);
		values[3] = message ? CStringGetTextDatum(message) : (Datum) 0;
		nulls[3] = message ? ' ' : 'n';
		values[4] = CStringGetTextDatum(priority);
		values[5] = CStringGetTextDatum(metadata_json ? metadata_json : "{}");
		values[6] = action ? CStringGetTextDatum(action) : (Datum) 0;
		nulls[6] = action ? ' ' : 'n';
		if (btpg_exec_as_owner(BTPG_BOOKKEEPER,
							   "INSERT INTO backtest.notifications "
							   "(owner, kind, title, message, priority, metadata, action) "
							   "VALUES ($1::pg_catalog.name, $2, $3, $4, $5, $6::pg_catalog.jsonb, $7) "
							   "RETURNING id",
							   7, types, values, nulls) != SPI_OK_INSERT_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "could not record the notification");
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	/* an identifier and the kind only: NOTIFY reaches every role */
	if (id != 0)
		Async_Notify(BTPG_NOTIFICATIONS_CHANNEL,
					 psprintf("{\"id\": " INT64_FORMAT ", \"kind\": \"%s\"}", id, kind));
	return id;
}

int64
btpg_notification_add(const char *kind, const char *title, const char *message,
					  const char *priority, const char *metadata_json, const char *action)
{
	return btpg_notification_add_for(GetUserNameFromId(GetUserId(), false), kind, title,
									 message, priority, metadata_json, action);
}

/* ---- a task's outcome ---------------------------------------------------- */

/* A column of the trigger's new row as text (NULL for SQL NULL) */
static char *
new_column(TriggerData *td, const char *name)
{
	TupleDesc	desc = td->tg_relation->rd_att;
	int			col = SPI_fnumber(desc, name);

	if (col <= 0)
		elog(ERROR, "backtest.tasks has no column \"%s\"", name);
	return SPI_getvalue(td->tg_newtuple ? td->tg_newtuple : td->tg_trigtuple, desc, col);
}

/* Append , "key": <number or null> (a float8 column of the current SPI row) */
static void
json_metric(StringInfo buf, const char *key, int col, double *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	double		v = isnull ? NAN : DatumGetFloat8(d);

	appendStringInfo(buf, ", \"%s\": ", key);
	if (isfinite(v))
		appendStringInfo(buf, "%.17g", v);
	else
		appendStringInfoString(buf, "null");
	*out = v;
}

/* Append , "key": "escaped" (or null) */
static void
json_text(StringInfo buf, const char *key, const char *s)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (s)
		escape_json(buf, s);
	else
		appendStringInfoString(buf, "null");
}

/* "12.34" or "n/a" */
static char *
fmt_num(double v, int digits)
{
	return isfinite(v) ? psprintf("%.*f", digits, v) : pstrdup("n/a");
}

/*
 * The summary of a completed task from its stored results (inserted
 * earlier in the completing transaction): appended to the metadata, and
 * the message.  Caller has SPI connected; the message is in SPI's context.
 */
static char *
completed_summary(int64 task_id, bool sweep, StringInfo meta, char **n_symbols)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(task_id)};
	double		ret,
				sharpe,
				dd;

	if (!sweep)
	{
		(void) btpg_exec_as_owner(btpg_bookkeeper(),
								  "SELECT r.trades_count, r.return_pct, r.sharpe_ratio, "
								  "r.max_drawdown_pct, r.equity_final, r.n_symbols FROM backtest.results r "
								  "WHERE r.task_id OPERATOR(pg_catalog.=) $1",
								  1, types, values, NULL);
		if (SPI_processed != 1)
			return pstrdup("no results stored");
		{
			char	   *trades = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			double		eq;

			*n_symbols = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6);
			appendStringInfo(meta, ", \"trades_count\": %s", trades ? trades : "null");
			json_metric(meta, "return_pct", 2, &ret);
			json_metric(meta, "sharpe_ratio", 3, &sharpe);
			json_metric(meta, "max_drawdown_pct", 4, &dd);
			json_metric(meta, "equity_final", 5, &eq);
			return psprintf("%s trades, return %s%%, Sharpe %s, max drawdown %s%%",
							trades ? trades : "n/a", fmt_num(ret, 2), fmt_num(sharpe, 3),
							fmt_num(dd, 2));
		}
	}
	(void) btpg_exec_as_owner(btpg_bookkeeper(),
							  "SELECT (SELECT pg_catalog.count(*) FROM backtest.sweep_results c "
							  "        WHERE c.task_id OPERATOR(pg_catalog.=) $1), "
							  "s.params::pg_catalog.text, s.trades_count, s.return_pct, s.sharpe_ratio "
							  "FROM (SELECT 1) one LEFT JOIN backtest.sweep_results s "
							  "ON s.task_id OPERATOR(pg_catalog.=) $1 AND s.rank OPERATOR(pg_catalog.=) 1",
							  1, types, values, NULL);
	{
		char	   *rows = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *params = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		char	   *trades = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		appendStringInfo(meta, ", \"rows\": %s, \"best_params\": %s", rows,
						 params ? params : "null");
		appendStringInfo(meta, ", \"trades_count\": %s", trades ? trades : "null");
		json_metric(meta, "return_pct", 4, &ret);
		json_metric(meta, "sharpe_ratio", 5, &sharpe);
		if (params == NULL)
			return psprintf("%s rows", rows);
		return psprintf("%s rows; best %s: return %s%%, Sharpe %s", rows, params,
						fmt_num(ret, 2), fmt_num(sharpe, 3));
	}
}

/*
 * What a portfolio task ran: "<strategy> on <n> symbols" (n: the results
 * row's n_symbols when given, else the task's symbols), or "on every symbol
 * of <source>" when the task names none.  Appends "n_symbols" to meta.
 */
static char *
portfolio_what(TriggerData *td, const char *strategy, const char *source,
			   const char *n_symbols, StringInfo meta)
{
	TupleDesc	desc = td->tg_relation->rd_att;
	int			col = SPI_fnumber(desc, "symbols");
	bool		isnull = true;
	Datum		d;
	char	   *n = NULL;

	if (col <= 0)
		elog(ERROR, "backtest.tasks has no column \"symbols\"");
	d = heap_getattr(td->tg_newtuple ? td->tg_newtuple : td->tg_trigtuple, col, desc, &isnull);
	if (n_symbols)
		n = pstrdup(n_symbols);
	else if (!isnull)
	{
		ArrayType  *a = DatumGetArrayTypeP(d);

		n = psprintf("%d", ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)));
	}
	appendStringInfo(meta, ", \"n_symbols\": %s", n ? n : "null");
	if (n == NULL)
		return psprintf("%s on every symbol of %s", strategy ? strategy : "?",
						source ? source : "a query");
	return psprintf("%s on %s symbol%s", strategy ? strategy : "?", n,
					strcmp(n, "1") == 0 ? "" : "s");
}

/*
 * backtest_tasks_notify() returns trigger
 *		AFTER UPDATE OF status on backtest.tasks, for a row that just
 *		reached an outcome: record its owner's notification in this
 *		transaction (task_completed, sweep_completed, task_failed or
 *		task_cancelled) with the result summary or the error.
 */
Datum
backtest_tasks_notify(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	char	   *id_s,
			   *owner,
			   *status,
			   *task_kind,
			   *strategy,
			   *symbol,
			   *source,
			   *what,
			   *message;
	int64		task_id;
	bool		sweep,
				portfolio;
	const char *kind,
			   *priority,
			   *noun;
	StringInfoData meta;
	char	   *action;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		elog(ERROR, "backtest_tasks_notify: not called as an AFTER UPDATE trigger");

	id_s = new_column(td, "id");
	owner = new_column(td, "owner");
	status = new_column(td, "status");
	task_kind = new_column(td, "kind");
	strategy = new_column(td, "strategy");
	symbol = new_column(td, "symbol");
	source = new_column(td, "source");
	task_id = DatumGetInt64(DirectFunctionCall1(int8in, CStringGetDatum(id_s)));
	sweep = task_kind && strcmp(task_kind, "sweep") == 0;
	portfolio = task_kind && strcmp(task_kind, "portfolio") == 0;
	noun = sweep ? "Sweep" : portfolio ? "Portfolio" : "Backtest";
	what = psprintf("%s on %s", strategy ? strategy : "?",
					symbol ? symbol : source ? source : "a query");

	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"task_id\": " INT64_FORMAT, task_id);
	json_text(&meta, "task_kind", task_kind);
	json_text(&meta, "status", status);
	json_text(&meta, "strategy", strategy);
	json_text(&meta, "symbol", symbol);
	json_text(&meta, "source", source);

	if (strcmp(status, "completed") == 0)
	{
		MemoryContext outer = CurrentMemoryContext;

		kind = sweep ? "sweep_completed" : "task_completed";
		priority = "normal";
		action = sweep ?
			psprintf("SELECT * FROM backtest.sweep_results WHERE task_id = " INT64_FORMAT " ORDER BY rank",
					 task_id) :
			psprintf("SELECT * FROM backtest.results WHERE task_id = " INT64_FORMAT, task_id);
		/* meta grows in outer (where it was allocated); the summary is copied out */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		{
			char	   *n_symbols = NULL;
			char	   *summary = completed_summary(task_id, sweep, &meta, &n_symbols);

			if (portfolio)
				what = portfolio_what(td, strategy, source, n_symbols, &meta);
			message = MemoryContextStrdup(outer, psprintf("%s: %s", what, summary));
		}
		SPI_finish();
	}
	else
	{
		bool		failed = strcmp(status, "failed") == 0;
		char	   *why = new_column(td, failed ? "error" : "message");

		kind = failed ? "task_failed" : "task_cancelled";
		priority = failed ? "high" : "low";
		if (failed)
			json_text(&meta, "error", why);
		if (portfolio)
			what = portfolio_what(td, strategy, source, NULL, &meta);
		message = why ? psprintf("%s: %s", what, why) : what;
		action = psprintf("SELECT * FROM %s.backtest_status(" INT64_FORMAT ")",
						  btpg_extension_schema(), task_id);
	}
	appendStringInfoChar(&meta, '}');

	(void) btpg_notification_add_for(owner, kind,
									 psprintf("%s %s %s", noun, id_s, status),
									 message, priority, meta.data, action);
	return PointerGetDatum(NULL);
}

/* ---- preferences ----------------------------------------------------------- */

/*
 * backtest_notification_settings(kinds text[], min_priority text)
 *		returns TABLE (kinds text[], min_priority text)
 *		Set which notifications are recorded and sent for the current role:
 *		kinds (NULL: all; '{}': none), the lowest priority (NULL: low).
 *		Returns what is stored: the kinds without duplicates, in the order
 *		of the kinds' list.
 */
Datum
backtest_notification_settings(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		chosen[lengthof(notification_kinds)] = {false};
	Datum		kept[lengthof(notification_kinds)];
	int			nkept = 0;
	const char *min_priority = "low";
	Oid			types[3] = {TEXTOID, TEXTARRAYOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	if (!PG_ARGISNULL(0))
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (enulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("kinds must not contain NULL"),
						 errhint("Pass NULL instead of an array for every kind.")));
			chosen[check_kind(TextDatumGetCString(elems[i]))] = true;
		}
		for (int k = 0; k < lengthof(notification_kinds); k++)
			if (chosen[k])
				kept[nkept++] = CStringGetTextDatum(notification_kinds[k]);
	}
	if (!PG_ARGISNULL(1))
	{
		min_priority = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_priority(min_priority);
	}

	values[0] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	if (PG_ARGISNULL(0))
		nulls[1] = 'n';
	else
		values[1] = PointerGetDatum(construct_array(kept, nkept, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = CStringGetTextDatum(min_priority);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
							  "INSERT INTO backtest.notification_settings AS s (owner, kinds, min_priority) "
							  "VALUES ($1::pg_catalog.name, $2, $3) ON CONFLICT (owner) DO UPDATE "
							  "SET kinds = EXCLUDED.kinds, min_priority = EXCLUDED.min_priority, "
							  "updated_at = pg_catalog.now()",
							  3, types, values, nulls);
	SPI_finish();

	InitMaterializedSRF(fcinfo, 0);
	out[0] = values[1];
	outnulls[0] = nulls[1] == 'n';
	out[1] = values[2];
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	return (Datum) 0;
}

/* ---- cleanup --------------------------------------------------------------- */

/*
 * backtest_cleanup_notifications(ttl interval) returns integer
 *		Delete the notifications read more than ttl ago and, per role, all
 *		but the newest pg_backtest.max_notifications; returns how many were
 *		deleted.  EXECUTE is revoked from PUBLIC (it deletes every role's
 *		rows); backtest_cleanup calls it.
 */
Datum
backtest_cleanup_notifications(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {INTERVALOID, INT4OID};
	Datum		values[2];
	Interval	zero;
	bool		isnull;
	int64		removed;

	memset(&zero, 0, sizeof(zero));
	if (PG_ARGISNULL(0) ||
		DatumGetBool(DirectFunctionCall2(interval_lt, PG_GETARG_DATUM(0), IntervalPGetDatum(&zero))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be a non-negative interval, not %s",
						PG_ARGISNULL(0) ? "NULL" :
						DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(0))))));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = Int32GetDatum(btpg_max_notifications);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
							  "WITH ranked AS ("
							  "  SELECT n.id, n.read_at, pg_catalog.row_number() OVER "
							  "         (PARTITION BY n.owner ORDER BY n.id DESC) AS rank "
							  "  FROM backtest.notifications n"
							  "), gone AS ("
							  "  DELETE FROM backtest.notifications n USING ranked r "
							  "  WHERE n.id OPERATOR(pg_catalog.=) r.id "
							  "    AND (r.read_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1) "
							  "         OR r.rank OPERATOR(pg_catalog.>) $2) "
							  "  RETURNING 1"
							  ") SELECT pg_catalog.count(*) FROM gone",
							  2, types, values, NULL);
	removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT32((int32) removed);
}
