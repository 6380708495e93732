/*-------------------------------------------------------------------------
 *
 * task_save.c
 *	  The outcomes of a task worker's task: a backtest's results (metrics,
 *	  trades, the equity curve as one row of arrays), a sweep's rows, and
 *	  the failed or cancelled outcome after an error.  Each in one
 *	  transaction, written as the tables' owner (pg_database_owner) through
 *	  btpg_task_exec; task.c runs the task and calls these.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/worker/task_save.c
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

#include "../pg_backtest.h"
#include "../run.h"
#include "../sweep.h"
#include "seal.h"
#include "worker.h"

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

/*
 * A 1-D array of n 8-byte values without nulls (float8 or timestamptz),
 * built in one copy: the equity curve's arrays hold millions of elements,
 * and construct_md_array's per-element loop cost more than the insert.
 */
static Datum
make_array8(const void *data, int64 n, Oid type)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * 8;
	ArrayType  *a;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(type));
	a = (ArrayType *) palloc_extended(nbytes, MCXT_ALLOC_HUGE);
	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = type;
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), data, (Size) n * 8);
	return PointerGetDatum(a);
}

/*
 * Store the results (one results row, the trades in one INSERT ... unnest,
 * the equity curve as one row of arrays) and mark the task completed, in one
 * transaction as the extension owner.
 */
void
btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res, Oid owner)
{
	Datum		mvalues[2 + BTPG_METRICS_NATTS];
	bool		mnulls[2 + BTPG_METRICS_NATTS];
	char		cnulls[2 + BTPG_METRICS_NATTS];
	Oid			mtypes[2 + BTPG_METRICS_NATTS];
	StringInfoData sql;
	const BtMetrics *m = &res->metrics;
	int64		n = res->n;
	int64		nt = res->ntrades;

	btpg_task_begin_txn("pg_backtest: saving results");

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
		mtypes[i + 2] = btpg_metric_type(i);
	for (int i = 0; i < 2 + BTPG_METRICS_NATTS; i++)
		cnulls[i] = mnulls[i] ? 'n' : ' ';
	btpg_task_exec(run, sql.data, 2 + BTPG_METRICS_NATTS, mtypes, mvalues, cnulls);

	/* trades: one array per column, one INSERT */
	if (nt > 0)
	{
		Datum	   *cols[BTPG_TRADES_NATTS];
		Datum		avalues[2 + BTPG_TRADES_NATTS];
		Oid			atypes[2 + BTPG_TRADES_NATTS];
		Datum		row[BTPG_TRADES_NATTS];
		bool		rnulls[BTPG_TRADES_NATTS];

		for (int c = 0; c < BTPG_TRADES_NATTS; c++)
			cols[c] = palloc(sizeof(Datum) * nt);
		for (int64 k = 0; k < nt; k++)
		{
			btpg_trade_values(&res->trades[k], k, row, rnulls);
			for (int c = 0; c < BTPG_TRADES_NATTS; c++)
				cols[c][k] = row[c];
		}
		avalues[0] = Int64GetDatum(run->task_id);
		avalues[1] = CStringGetTextDatum(run->owner);
		atypes[0] = INT8OID;
		atypes[1] = TEXTOID;
		resetStringInfo(&sql);
		appendStringInfoString(&sql, "INSERT INTO backtest.trades SELECT $1, $2, u.* FROM ROWS FROM (");
		for (int c = 0; c < BTPG_TRADES_NATTS; c++)
		{
			avalues[c + 2] = make_array(cols[c], NULL, nt, btpg_trade_types[c]);
			atypes[c + 2] = get_array_type(btpg_trade_types[c]);
			appendStringInfo(&sql, "%spg_catalog.unnest($%d)", c ? ", " : "", c + 3);
		}
		appendStringInfoString(&sql, ") AS u");
		btpg_task_exec(run, sql.data, 2 + BTPG_TRADES_NATTS, atypes, avalues, NULL);
	}

	/* the equity curve: one row of arrays (backtest.equity unnests it) */
	{
		TimestampTz *ts = palloc_extended(sizeof(TimestampTz) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
		double	   *dd = palloc_extended(sizeof(double) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
		Datum		evalues[8];
		Oid			etypes[8] = {INT8OID, TEXTOID, 1185, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
		double		peak = -INFINITY;

		for (int64 i = 0; i < n; i++)
		{
			double		e = res->equity[i];

			if (e > peak)
				peak = e;
			ts[i] = btpg_ts_from_engine(s->ts[i]);
			dd[i] = peak > 0 ? (e / peak - 1.0) * 100.0 : 0.0;
		}
		evalues[0] = Int64GetDatum(run->task_id);
		evalues[1] = CStringGetTextDatum(run->owner);
		evalues[2] = make_array8(ts, n, TIMESTAMPTZOID);
		evalues[3] = make_array8(s->close, n, FLOAT8OID);
		evalues[4] = make_array8(res->position, n, FLOAT8OID);
		evalues[5] = make_array8(res->equity, n, FLOAT8OID);
		evalues[6] = make_array8(dd, n, FLOAT8OID);
		evalues[7] = make_array8(res->cash, n, FLOAT8OID);
		btpg_exec_as_owner_generic(run->ext_owner,
								   "INSERT INTO backtest.equity_curves VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
								   8, etypes, evalues, NULL);
	}

	/* completed, with the summary in the final event */
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		values[2];
		char	   *msg = psprintf(INT64_FORMAT " bars, " INT64_FORMAT " trades", n, m->trades_count);
		StringInfoData extra;
		double		el;

		values[0] = Int64GetDatum(run->task_id);
		values[1] = CStringGetTextDatum(msg);
		/* the real clock: after the inserts above, not at the transaction's start */
		btpg_task_exec(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
					  "current_step = 'done', step_index = 5, message = $2, "
					  "finished_at = pg_catalog.clock_timestamp(), "
					  "elapsed = pg_catalog.clock_timestamp() - started_at, "
					  "eta = '0', worker_pid = NULL WHERE id = $1 "
					  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
					  2, types, values, NULL);
		el = btpg_task_returned_elapsed();
		initStringInfo(&extra);
		appendStringInfoString(&extra, ", \"total_return\": ");
		appendStringInfoString(&extra, isfinite(m->return_pct) ? psprintf("%.10g", m->return_pct) : "null");
		appendStringInfoString(&extra, ", \"sharpe_ratio\": ");
		appendStringInfoString(&extra, isfinite(m->sharpe_ratio) ? psprintf("%.10g", m->sharpe_ratio) : "null");
		appendStringInfoString(&extra, ", \"max_drawdown\": ");
		appendStringInfoString(&extra, isfinite(m->max_drawdown_pct) ? psprintf("%.10g", m->max_drawdown_pct) : "null");
		appendStringInfo(&extra, ", \"trades_count\": " INT64_FORMAT, m->trades_count);
		btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
						 msg, isfinite(el) ? el : btpg_task_elapsed(run), 0, extra.data);
	}
	btpg_task_end_txn();
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
	btpg_task_begin_txn("pg_backtest: recording the outcome");
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
	btpg_task_end_txn();
}

/*
 * A sweep task: run the combinations in batches (each in a short
 * transaction, with the sweep's own parallel workers), reporting progress as
 * combinations done / total between batches, then store the rows in
 * backtest.sweep_results in one INSERT and complete the task with the best
 * row's summary.  Runs in the run context.
 */
void
btpg_task_run_sweep(TaskRun *run, const BtSeries *s, Oid owner)
{
	BtpgSweepPlan *plan = run->plan;
	int64		n = plan->ncombos;
	int64		batch = Max(1, (n + 19) / 20);
	BtMetrics  *metrics = palloc_extended(sizeof(BtMetrics) * Max(n, 1), MCXT_ALLOC_HUGE);
	int64	   *order;
	int64		nrows;
	MemoryContext old = MemoryContextSwitchTo(run->cxt);

	for (int64 from = 0; from < n; from += batch)
	{
		int64		cnt = Min(batch, n - from);

		CHECK_FOR_INTERRUPTS();
		if (btpg_task_cancel_requested())
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("sweep cancelled")));
		btpg_task_begin_txn("pg_backtest: sweeping");
		MemoryContextSwitchTo(run->cxt);
		btpg_sweep_execute(s, plan->st, plan->combos + from, cnt, NULL, metrics + from);
		btpg_task_end_txn();
		MemoryContextSwitchTo(run->cxt);
		btpg_task_report(run, 3, 30.0 + 55.0 * (double) (from + cnt) / (double) n,
			   psprintf(INT64_FORMAT " of " INT64_FORMAT " combinations", from + cnt, n),
			   from + cnt == n);
	}
	nrows = btpg_sweep_order(plan, metrics, &order);
	btpg_task_report(run, 5, 85.0, NULL, true);

	btpg_task_begin_txn("pg_backtest: saving sweep results");
	MemoryContextSwitchTo(run->cxt);
	{
		/* one array per column, one INSERT ... SELECT FROM ROWS FROM (unnest ...) */
		int			ncols = BTPG_SWEEP_NATTS;
		Datum	  **cols = palloc(sizeof(Datum *) * ncols);
		bool	  **cnulls = palloc(sizeof(bool *) * ncols);
		Datum		row[BTPG_SWEEP_NATTS];
		bool		rnulls[BTPG_SWEEP_NATTS];
		Oid			types[BTPG_SWEEP_NATTS];
		Datum	   *ranks = palloc(sizeof(Datum) * Max(nrows, 1));
		Datum		args[3 + BTPG_SWEEP_NATTS];
		Oid			argtypes[3 + BTPG_SWEEP_NATTS];
		StringInfoData sql;
		SPIPlanPtr	tplan;

		/* the column types, from backtest_sweep's result type */
		tplan = SPI_prepare("SELECT * FROM backtest.sweep_results LIMIT 0", 0, NULL);
		if (tplan == NULL || SPI_execute_plan(tplan, NULL, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_tuptable->tupdesc->natts != 3 + ncols)
			elog(ERROR, "backtest.sweep_results does not have the expected columns");
		for (int c = 0; c < ncols; c++)
			types[c] = TupleDescAttr(SPI_tuptable->tupdesc, 3 + c)->atttypid;
		for (int c = 0; c < ncols; c++)
		{
			cols[c] = palloc(sizeof(Datum) * Max(nrows, 1));
			cnulls[c] = palloc(sizeof(bool) * Max(nrows, 1));
		}
		for (int64 r = 0; r < nrows; r++)
		{
			btpg_sweep_row(plan, order[r], &metrics[order[r]], row, rnulls);
			for (int c = 0; c < ncols; c++)
			{
				cols[c][r] = row[c];
				cnulls[c][r] = rnulls[c];
			}
			ranks[r] = Int32GetDatum((int32) (r + 1));
		}
		initStringInfo(&sql);
		appendStringInfoString(&sql, "INSERT INTO backtest.sweep_results SELECT $1, $2, u.* FROM ROWS FROM "
							   "(pg_catalog.unnest($3)");
		args[0] = Int64GetDatum(run->task_id);
		argtypes[0] = INT8OID;
		args[1] = CStringGetTextDatum(run->owner);
		argtypes[1] = TEXTOID;
		args[2] = make_array(ranks, NULL, nrows, INT4OID);
		argtypes[2] = INT4ARRAYOID;
		for (int c = 0; c < ncols; c++)
		{
			args[3 + c] = make_array(cols[c], cnulls[c], nrows, types[c]);
			argtypes[3 + c] = get_array_type(types[c]);
			appendStringInfo(&sql, ", pg_catalog.unnest($%d)", 4 + c);
		}
		appendStringInfoString(&sql, ") AS u");
		btpg_task_exec(run, sql.data, 3 + ncols, argtypes, args, NULL);
	}
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		values[2];
		char	   *msg = psprintf(INT64_FORMAT " combinations, " INT64_FORMAT " rows", n, nrows);
		StringInfoData extra;
		const BtMetrics *best = nrows > 0 ? &metrics[order[0]] : NULL;
		double		el;

		values[0] = Int64GetDatum(run->task_id);
		values[1] = CStringGetTextDatum(msg);
		/* the real clock: after the inserts above, not at the transaction's start */
		btpg_task_exec(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
					  "current_step = 'done', step_index = 5, message = $2, "
					  "finished_at = pg_catalog.clock_timestamp(), "
					  "elapsed = pg_catalog.clock_timestamp() - started_at, "
					  "eta = '0', worker_pid = NULL WHERE id = $1 "
					  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
					  2, types, values, NULL);
		el = btpg_task_returned_elapsed();
		initStringInfo(&extra);
		appendStringInfo(&extra, ", \"combinations\": " INT64_FORMAT, n);
		if (best)
		{
			appendStringInfo(&extra, ", \"total_return\": %s",
							 isfinite(best->return_pct) ? psprintf("%.10g", best->return_pct) : "null");
			appendStringInfo(&extra, ", \"sharpe_ratio\": %s",
							 isfinite(best->sharpe_ratio) ? psprintf("%.10g", best->sharpe_ratio) : "null");
			appendStringInfo(&extra, ", \"max_drawdown\": %s",
							 isfinite(best->max_drawdown_pct) ? psprintf("%.10g", best->max_drawdown_pct) : "null");
			appendStringInfo(&extra, ", \"trades_count\": " INT64_FORMAT, best->trades_count);
		}
		btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
						 msg, isfinite(el) ? el : btpg_task_elapsed(run), 0, extra.data);
	}
	btpg_task_end_txn();
	MemoryContextSwitchTo(old);
}
