/*-------------------------------------------------------------------------
 *
 * task_save.c
 *	  The outcomes of a task worker's task: a backtest's results (metrics,
 *	  trades, the equity curve as one row of arrays), the row inserter and
 *	  completion every kind's save uses, and the failed or cancelled
 *	  outcome after an error.  Each in one
 *	  transaction, written as the tables' owner (pg_database_owner) through
 *	  btpg_task_exec; task_run.c runs the task and calls these.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/task_save.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/results.h"
#include "core/timestamps.h"
#include "seal.h"
#include "queue.h"

#include "task.h"
/* Build a 1-D array of n Datums of a by-value or text element type */
static Datum
make_array(Datum *elems, bool *nulls, int64 n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {(int) n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	if (n == 0)
		return PointerGetDatum(construct_empty_array(type));
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type,
											  typlen, typbyval, typalign));
}

/* Row r of a backtest's trades (btpg_task_insert_rows): trade r */
static void
trade_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	btpg_trade_values(&((const BtTrade *) arg)[r], r, values, nulls);
}

/*
 * btpg_task_insert_rows
 *		Insert nrows rows into table, whose columns are the task's id, its
 *		owner, then ncols columns that row_fn fills for each row r, in one
 *		INSERT ... SELECT FROM ROWS FROM (unnest(...)) of one array per
 *		column.  types: the element types of those ncols columns, or NULL to
 *		read them from the table.  Caller is in a task transaction, in a
 *		context that lives until it ends.
 */
void
btpg_task_insert_rows(TaskRun *run, const char *table, int ncols, const Oid *types, int64 nrows,
					  BtpgTaskRowFn row_fn, void *arg)
{
	Datum	  **cols = palloc(sizeof(Datum *) * ncols);
	bool	  **cnulls = palloc(sizeof(bool *) * ncols);
	Datum	   *row = palloc(sizeof(Datum) * ncols);
	bool	   *rnulls = palloc(sizeof(bool) * ncols);
	Oid		   *etypes = palloc(sizeof(Oid) * ncols);
	Datum	   *args = palloc(sizeof(Datum) * (2 + ncols));
	Oid		   *argtypes = palloc(sizeof(Oid) * (2 + ncols));
	StringInfoData sql;

	if (types == NULL)
	{
		/* the column types, from the table */
		char	   *q = psprintf("SELECT * FROM %s LIMIT 0", table);
		SPIPlanPtr	tplan = SPI_prepare(q, 0, NULL);

		if (tplan == NULL || SPI_execute_plan(tplan, NULL, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_tuptable->tupdesc->natts != 2 + ncols)
			elog(ERROR, "%s does not have the expected columns", table);
		for (int c = 0; c < ncols; c++)
			etypes[c] = TupleDescAttr(SPI_tuptable->tupdesc, 2 + c)->atttypid;
	}
	else
		memcpy(etypes, types, sizeof(Oid) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		cols[c] = palloc_extended(sizeof(Datum) * Max(nrows, 1), MCXT_ALLOC_HUGE);
		cnulls[c] = palloc_extended(sizeof(bool) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	}
	for (int64 r = 0; r < nrows; r++)
	{
		row_fn(arg, r, row, rnulls);
		for (int c = 0; c < ncols; c++)
		{
			cols[c][r] = row[c];
			cnulls[c][r] = rnulls[c];
		}
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s SELECT $1, $2, u.* FROM ROWS FROM (", table);
	args[0] = Int64GetDatum(run->task_id);
	argtypes[0] = INT8OID;
	args[1] = CStringGetTextDatum(run->owner);
	argtypes[1] = TEXTOID;
	for (int c = 0; c < ncols; c++)
	{
		args[2 + c] = make_array(cols[c], cnulls[c], nrows, etypes[c]);
		argtypes[2 + c] = get_array_type(etypes[c]);
		appendStringInfo(&sql, "%spg_catalog.unnest($%d)", c ? ", " : "", 3 + c);
	}
	appendStringInfoString(&sql, ") AS u");
	btpg_task_exec(run, sql.data, 2 + ncols, argtypes, args, NULL);
}

/* Append "key": %.10g or null */
static void
append_json_num(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": %s", key, isfinite(v) ? psprintf("%.10g", v) : "null");
}

/*
 * btpg_task_summary_json
 *		Append the summary of a run a completed event carries (with
 *		pg_backtest.full_payloads): ", \"total_return\": ..., \"sharpe_ratio\":
 *		..., \"max_drawdown\": ..., \"trades_count\": n".
 */
void
btpg_task_summary_json(StringInfo buf, const BtMetrics *m)
{
	append_json_num(buf, "total_return", m->return_pct);
	append_json_num(buf, "sharpe_ratio", m->sharpe_ratio);
	append_json_num(buf, "max_drawdown", m->max_drawdown_pct);
	appendStringInfo(buf, ", \"trades_count\": " INT64_FORMAT, m->trades_count);
}

/*
 * btpg_task_complete
 *		Mark the task completed with message msg and send the final event,
 *		extra_json (", \"k\": v, ...") appended to its payload.  Caller is in
 *		the transaction that stored the results; the times are the real
 *		clock, after those inserts, not the transaction's start.
 */
void
btpg_task_complete(TaskRun *run, const char *msg, const char *extra_json)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	double		el;

	values[0] = Int64GetDatum(run->task_id);
	values[1] = CStringGetTextDatum(msg);
	btpg_task_exec(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
				   "current_step = 'done', step_index = 5, message = $2, "
				   "finished_at = pg_catalog.clock_timestamp(), "
				   "elapsed = pg_catalog.clock_timestamp() - started_at, "
				   "eta = '0', worker_pid = NULL WHERE id = $1 "
				   "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				   2, types, values, NULL);
	el = btpg_task_returned_elapsed();
	btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
					 msg, isfinite(el) ? el : btpg_task_elapsed(run), 0, extra_json);
}

/*
 * Store the results (one results row, the trades in one INSERT ... unnest,
 * the equity curve as one row of arrays) and mark the task completed, in one
 * transaction as the extension owner.
 */
void
btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res)
{
	Datum		mvalues[2 + BTPG_METRICS_NATTS];
	bool		mnulls[2 + BTPG_METRICS_NATTS];
	char		cnulls[2 + BTPG_METRICS_NATTS];
	Oid			mtypes[2 + BTPG_METRICS_NATTS];
	StringInfoData sql;
	const BtMetrics *m = &res->metrics;
	int64		n = res->n;
	int64		nt = res->ntrades;

	btpg_begin_txn("pg_backtest: saving results");

	/* metrics: task_id, owner, then the backtest_metrics columns */
	mvalues[0] = Int64GetDatum(run->task_id);
	mvalues[1] = CStringGetTextDatum(run->owner);
	btpg_metrics_values(m, mvalues + 2, mnulls + 2);
	mnulls[0] = mnulls[1] = false;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "INSERT INTO backtest.results SELECT $1, $2");
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
		appendStringInfo(&sql, ", $%d", i + 3);
	mtypes[0] = INT8OID;
	mtypes[1] = TEXTOID;
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
		mtypes[i + 2] = btpg_metric_type(&bt_metric_defs[i]);
	for (int i = 0; i < 2 + BTPG_METRICS_NATTS; i++)
		cnulls[i] = mnulls[i] ? 'n' : ' ';
	btpg_task_exec(run, sql.data, 2 + BTPG_METRICS_NATTS, mtypes, mvalues, cnulls);

	/* trades: one array per column, one INSERT */
	if (nt > 0)
		btpg_task_insert_rows(run, "backtest.trades", BTPG_TRADES_NATTS, btpg_trade_types, nt,
							  trade_row, (void *) res->trades);

	/* the equity curve: one row of arrays (backtest.equity unnests it) */
	{
		TimestampTz *ts = palloc_extended(sizeof(TimestampTz) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
		Datum		evalues[7];
		Oid			etypes[7] = {INT8OID, TEXTOID, 1185, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID};

		/* (the drawdown is derived from equity by backtest.equity: not stored) */
		for (int64 i = 0; i < n; i++)
			ts[i] = btpg_ts_from_engine(s->ts[i]);
		evalues[0] = Int64GetDatum(run->task_id);
		evalues[1] = CStringGetTextDatum(run->owner);
		evalues[2] = btpg_make_array8(ts, n, TIMESTAMPTZOID);
		evalues[3] = btpg_make_array8(s->close, n, FLOAT8OID);
		evalues[4] = btpg_make_array8(res->position, n, FLOAT8OID);
		evalues[5] = btpg_make_array8(res->equity, n, FLOAT8OID);
		evalues[6] = btpg_make_array8(res->cash, n, FLOAT8OID);
		btpg_exec_as_owner_generic(run->ext_owner,
								   "INSERT INTO backtest.equity_curves (task_id, owner, ts, close, \"position\", equity, cash) "
								   "VALUES ($1, $2, $3, $4, $5, $6, $7)",
								   7, etypes, evalues, NULL);
	}

	/* completed, with the summary in the final event */
	{
		StringInfoData extra;

		initStringInfo(&extra);
		btpg_task_summary_json(&extra, m);
		btpg_task_complete(run, psprintf(INT64_FORMAT " bars, " INT64_FORMAT " trades",
										 n, m->trades_count),
						   extra.data);
	}
	btpg_end_txn();
}

/* After an error: mark the task failed or cancelled in a new transaction */
void
btpg_task_finish_with_error(TaskRun *run, ErrorData *edata, bool cancelled)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	const char *status = cancelled ? "cancelled" : "failed";
	StringInfoData extra;
	double		el;

	values[0] = Int64GetDatum(run->task_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = CStringGetTextDatum(cancelled ? "cancelled while running" :
									edata->message ? edata->message : "unknown error");
	btpg_begin_txn("pg_backtest: recording the outcome");
	btpg_task_exec(run, "UPDATE backtest.tasks SET status = $2, "
				  "error = CASE WHEN $2 = 'failed' THEN $3 END, "
				  "message = CASE WHEN $2 = 'cancelled' THEN $3 END, "
				  "finished_at = pg_catalog.clock_timestamp(), "
				  "elapsed = pg_catalog.clock_timestamp() - started_at, "
				  "eta = NULL, worker_pid = NULL WHERE id = $1 AND status = 'running' "
				  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				  3, types, values, NULL);
	el = btpg_task_returned_elapsed();
	initStringInfo(&extra);
	if (!cancelled)
	{
		const char *emsg = edata->message ? edata->message : "unknown error";

		/* cut on a character boundary: the payload must stay valid text */
		appendStringInfoString(&extra, ", \"error\": ");
		escape_json(&extra, pnstrdup(emsg, pg_mbcliplen(emsg, strlen(emsg), 1000)));
	}
	btpg_notify_task(run->task_id, status, run->last_progress, btpg_task_step_names[run->step], run->step,
					 TOTAL_STEPS, cancelled ? "cancelled while running" : NULL,
					 isfinite(el) ? el : btpg_task_elapsed(run), NAN, extra.data);
	btpg_end_txn();
}
