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
 * A 1-D array of n values of elemsize (4 or 8) bytes without nulls
 * (float8, timestamptz, int4), built in one copy: the equity curve's arrays
 * hold millions of elements, and construct_md_array's per-element loop
 * cost more than the insert.
 */
static Datum
make_array_raw(const void *data, int64 n, int elemsize, Oid type)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * elemsize;
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
	memcpy(ARR_DATA_PTR(a), data, (Size) n * elemsize);
	return PointerGetDatum(a);
}

static Datum
make_array8(const void *data, int64 n, Oid type)
{
	return make_array_raw(data, n, 8, type);
}

/*
 * The columns of backtest.<table> other than task_id, owner and those
 * named in skip (NULL-terminated), in table order: their quoted names
 * (", "-separated, each after a ", ") into names, their types into types
 * (up to max); returns their number.  Inserts name their columns, so a
 * column another feature adds elsewhere in the table changes nothing here.
 * Caller has SPI connected, in the run's transaction.
 */
static int
table_columns(TaskRun *run, const char *table, const char *const *skip, StringInfo names,
			  Oid *types, int max)
{
	TupleDesc	td;
	int			n = 0;

	btpg_task_exec(run, psprintf("SELECT * FROM backtest.%s LIMIT 0", table), 0, NULL, NULL, NULL);
	td = SPI_tuptable->tupdesc;
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		const char *name = NameStr(att->attname);
		bool		skipped = strcmp(name, "task_id") == 0 || strcmp(name, "owner") == 0;

		for (int k = 0; skip && skip[k] && !skipped; k++)
			skipped = strcmp(name, skip[k]) == 0;
		if (att->attisdropped || skipped)
			continue;
		if (n == max)
			elog(ERROR, "backtest.%s has more columns than expected: reinstall the extension", table);
		appendStringInfo(names, ", %s", quote_identifier(name));
		types[n++] = att->atttypid;
	}
	return n;
}

/* backtest.results' columns that are a portfolio's, after the metrics */
static const char *const pf_result_columns[BTPG_PF_EXTRA_NATTS + 1] = {
	"n_symbols", "max_positions_held", "avg_positions_held", "turnover", "entries_skipped",
	"alpha", "beta", "benchmark_return_pct", NULL
};

/*
 * The results row: the metrics, and for a portfolio (pf non-NULL) its
 * columns.
 */
static void
save_metrics(TaskRun *run, const BtMetrics *m, const BtPfResult *pf)
{
	enum
	{
		NCOLS = BTPG_METRICS_NATTS + BTPG_PF_EXTRA_NATTS
	};
	Datum		values[2 + NCOLS];
	bool		bnulls[2 + NCOLS];
	char		nulls[2 + NCOLS];
	Oid			types[2 + NCOLS];
	StringInfoData cols;
	StringInfoData sql;
	int			ncols;

	initStringInfo(&cols);
	if (table_columns(run, "results", pf_result_columns, &cols, types + 2, BTPG_METRICS_NATTS)
		!= BTPG_METRICS_NATTS)
		elog(ERROR, "backtest.results does not have the metrics columns: reinstall the extension");
	ncols = BTPG_METRICS_NATTS;
	values[0] = Int64GetDatum(run->task_id);
	values[1] = CStringGetTextDatum(run->owner);
	types[0] = INT8OID;
	types[1] = TEXTOID;
	bnulls[0] = bnulls[1] = false;
	btpg_metrics_values(m, values + 2, bnulls + 2);
	if (pf)
	{
		static const Oid pftypes[BTPG_PF_EXTRA_NATTS] = {
			INT4OID, INT4OID, FLOAT8OID, FLOAT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID
		};

		btpg_portfolio_values(pf, values + 2 + ncols, bnulls + 2 + ncols);
		for (int i = 0; i < BTPG_PF_EXTRA_NATTS; i++)
		{
			appendStringInfo(&cols, ", %s", pf_result_columns[i]);
			types[2 + ncols + i] = pftypes[i];
		}
		ncols += BTPG_PF_EXTRA_NATTS;
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO backtest.results (task_id, owner%s) VALUES ($1, $2", cols.data);
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&sql, ", $%d", i + 3);
	appendStringInfoChar(&sql, ')');
	for (int i = 0; i < 2 + ncols; i++)
		nulls[i] = bnulls[i] ? 'n' : ' ';
	btpg_task_exec(run, sql.data, 2 + ncols, types, values, nulls);
}

/*
 * The trades in one INSERT ... unnest: nt trades at first, first + stride,
 * ...; with symbols (a portfolio), each trade's symbol and number (nos).
 */
static void
save_trades(TaskRun *run, int64 nt, const BtTrade *first, size_t stride,
			const char *const *symbols, const int64 *nos)
{
	static const char *const skip[] = {"symbol", NULL};
	Oid			types[BTPG_TRADES_NATTS];
	Datum	   *cols[BTPG_TRADES_NATTS];
	Datum		avalues[3 + BTPG_TRADES_NATTS];
	Oid			atypes[3 + BTPG_TRADES_NATTS];
	Datum		row[BTPG_TRADES_NATTS];
	bool		rnulls[BTPG_TRADES_NATTS];
	StringInfoData names;
	StringInfoData sql;
	int			arg0;

	if (nt == 0)
		return;
	initStringInfo(&names);
	if (table_columns(run, "trades", skip, &names, types, BTPG_TRADES_NATTS) != BTPG_TRADES_NATTS)
		elog(ERROR, "backtest.trades does not have the trade columns: reinstall the extension");
	for (int c = 0; c < BTPG_TRADES_NATTS; c++)
		cols[c] = palloc(sizeof(Datum) * nt);
	for (int64 k = 0; k < nt; k++)
	{
		const BtTrade *t = (const BtTrade *) ((const char *) first + (size_t) k * stride);

		btpg_trade_values(t, nos ? nos[k] : k, row, rnulls);
		for (int c = 0; c < BTPG_TRADES_NATTS; c++)
			cols[c][k] = row[c];
	}
	avalues[0] = Int64GetDatum(run->task_id);
	avalues[1] = CStringGetTextDatum(run->owner);
	atypes[0] = INT8OID;
	atypes[1] = TEXTOID;
	arg0 = 2;
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO backtest.trades (task_id, owner%s%s) SELECT $1, $2, u.* FROM ROWS FROM (",
					 symbols ? ", symbol" : "", names.data);
	if (symbols)
	{
		Datum	   *sd = palloc(sizeof(Datum) * nt);

		for (int64 k = 0; k < nt; k++)
			sd[k] = CStringGetTextDatum(symbols[k]);
		avalues[2] = make_array(sd, NULL, nt, TEXTOID);
		atypes[2] = TEXTARRAYOID;
		appendStringInfoString(&sql, "pg_catalog.unnest($3), ");
		arg0 = 3;
	}
	for (int c = 0; c < BTPG_TRADES_NATTS; c++)
	{
		avalues[arg0 + c] = make_array(cols[c], NULL, nt, types[c]);
		atypes[arg0 + c] = get_array_type(types[c]);
		appendStringInfo(&sql, "%spg_catalog.unnest($%d)", c ? ", " : "", arg0 + c + 1);
	}
	appendStringInfoString(&sql, ") AS u");
	btpg_task_exec(run, sql.data, arg0 + BTPG_TRADES_NATTS, atypes, avalues, NULL);
}

/* Drawdown in percent from the running peak of equity[0..n-1] (huge palloc) */
static double *
drawdowns(const double *equity, int64 n)
{
	double	   *dd = palloc_extended(sizeof(double) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
	double		peak = -INFINITY;

	for (int64 i = 0; i < n; i++)
	{
		if (equity[i] > peak)
			peak = equity[i];
		dd[i] = peak > 0 ? (equity[i] / peak - 1.0) * 100.0 : 0.0;
	}
	return dd;
}

/* Timestamps of the engine as timestamptz (huge palloc) */
static TimestampTz *
timestamps(const int64_t *ts, int64 n)
{
	TimestampTz *out = palloc_extended(sizeof(TimestampTz) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);

	for (int64 i = 0; i < n; i++)
		out[i] = btpg_ts_from_engine(ts[i]);
	return out;
}

/*
 * Mark the task completed with message msg; the final event carries extra
 * (a JSON fragment ", \"k\": v, ...") and the summary of m (if given).
 */
static void
complete_task(TaskRun *run, const char *msg, const BtMetrics *m, const char *extra_json)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
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
	appendStringInfoString(&extra, extra_json);
	if (m)
	{
		appendStringInfo(&extra, ", \"total_return\": %s",
						 isfinite(m->return_pct) ? psprintf("%.10g", m->return_pct) : "null");
		appendStringInfo(&extra, ", \"sharpe_ratio\": %s",
						 isfinite(m->sharpe_ratio) ? psprintf("%.10g", m->sharpe_ratio) : "null");
		appendStringInfo(&extra, ", \"max_drawdown\": %s",
						 isfinite(m->max_drawdown_pct) ? psprintf("%.10g", m->max_drawdown_pct) : "null");
		appendStringInfo(&extra, ", \"trades_count\": " INT64_FORMAT, m->trades_count);
	}
	btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
					 msg, isfinite(el) ? el : btpg_task_elapsed(run), 0, extra.data);
}

/*
 * Store the results (one results row, the trades in one INSERT ... unnest,
 * the equity curve as one row of arrays) and mark the task completed, in one
 * transaction as the extension owner.
 */
void
btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res, Oid owner)
{
	int64		n = res->n;

	btpg_task_begin_txn("pg_backtest: saving results");
	save_metrics(run, &res->metrics, NULL);
	save_trades(run, res->ntrades, res->trades, sizeof(BtTrade), NULL, NULL);

	/* the equity curve: one row of arrays (backtest.equity unnests it) */
	{
		Datum		evalues[7];
		Oid			etypes[7] = {INT8OID, TEXTOID, 1185, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID};

		evalues[0] = Int64GetDatum(run->task_id);
		evalues[1] = CStringGetTextDatum(run->owner);
		evalues[2] = make_array8(timestamps(s->ts, n), n, TIMESTAMPTZOID);
		evalues[3] = make_array8(s->close, n, FLOAT8OID);
		evalues[4] = make_array8(res->position, n, FLOAT8OID);
		evalues[5] = make_array8(res->equity, n, FLOAT8OID);
		evalues[6] = make_array8(drawdowns(res->equity, n), n, FLOAT8OID);
		btpg_exec_as_owner_generic(run->ext_owner,
								   "INSERT INTO backtest.equity_curves VALUES ($1, $2, $3, $4, $5, $6, $7)",
								   7, etypes, evalues, NULL);
	}
	complete_task(run, psprintf(INT64_FORMAT " bars, " INT64_FORMAT " trades", n, res->metrics.trades_count),
				  &res->metrics, "");
	btpg_task_end_txn();
}

/*
 * Store a portfolio task's results (the results row with the portfolio's
 * columns, the trades with their symbols, the account curve in
 * backtest.portfolio_equity_curves) and complete it, in one transaction.
 */
static void
save_portfolio(TaskRun *run)
{
	const BtpgPortfolio *pf = run->pf;
	const BtPfResult *r = &pf->res;
	int64		n = r->n;
	int64		nt = r->ntrades;
	const char **symbols = palloc(sizeof(char *) * Max(nt, 1));
	int64	   *nos = palloc(sizeof(int64) * Max(nt, 1));

	/* trades numbered per symbol, as backtest_portfolio_trades numbers them */
	for (int64 k = 0; k < nt; k++)
	{
		symbols[k] = pf->syms[r->trades[k].sym].name;
		nos[k] = k > 0 && r->trades[k].sym == r->trades[k - 1].sym ? nos[k - 1] + 1 : 0;
	}
	btpg_task_begin_txn("pg_backtest: saving results");
	save_metrics(run, &r->metrics, r);
	if (nt > 0)
		save_trades(run, nt, &r->trades[0].t, sizeof(BtPfTrade), symbols, nos);
	{
		Datum		evalues[8];
		Oid			etypes[8] = {INT8OID, TEXTOID, 1185, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT4ARRAYOID};

		evalues[0] = Int64GetDatum(run->task_id);
		evalues[1] = CStringGetTextDatum(run->owner);
		evalues[2] = make_array8(timestamps(r->ts, n), n, TIMESTAMPTZOID);
		evalues[3] = make_array8(r->cash, n, FLOAT8OID);
		evalues[4] = make_array8(r->value, n, FLOAT8OID);
		evalues[5] = make_array8(r->equity, n, FLOAT8OID);
		evalues[6] = make_array8(drawdowns(r->equity, n), n, FLOAT8OID);
		evalues[7] = make_array_raw(r->open_positions, n, sizeof(int32), INT4OID);
		btpg_exec_as_owner_generic(run->ext_owner,
								   "INSERT INTO backtest.portfolio_equity_curves (task_id, owner, ts, cash, "
								   "positions_value, equity, drawdown_pct, open_positions) "
								   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
								   8, etypes, evalues, NULL);
	}
	complete_task(run, psprintf("%d symbols, " INT64_FORMAT " timestamps, " INT64_FORMAT " trades",
								pf->nsym, n, r->metrics.trades_count), &r->metrics, "");
	btpg_task_end_txn();
}

/*
 * btpg_task_run_portfolio
 *		A portfolio task (prepared by read_task): load every symbol as the
 *		owner, run the engine outside any transaction with the progress
 *		callback, save.  Runs in the run context; errors propagate (the
 *		caller marks the task failed or cancelled).
 */
void
btpg_task_run_portfolio(TaskRun *run, BtProgressFn progress, Oid owner)
{
	MemoryContext old;
	int64		bars = 0;

	btpg_task_begin_txn("pg_backtest: loading data");
	old = MemoryContextSwitchTo(run->cxt);
	btpg_portfolio_load(run->pf);
	MemoryContextSwitchTo(old);
	btpg_task_end_txn();
	for (int i = 0; i < run->pf->nsym; i++)
		bars += run->pf->syms[i].s.n;
	btpg_task_report(run, 1, 30.0,
					 psprintf("%d symbols, " INT64_FORMAT " bars loaded", run->pf->nsym, bars), false);

	old = MemoryContextSwitchTo(run->cxt);
	btpg_portfolio_execute(run->pf, progress, run);
	MemoryContextSwitchTo(old);
	btpg_task_report(run, 5, 85.0, NULL, false);
	old = MemoryContextSwitchTo(run->cxt);
	save_portfolio(run);
	MemoryContextSwitchTo(old);
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
	complete_task(run, psprintf(INT64_FORMAT " combinations, " INT64_FORMAT " rows", n, nrows),
				  nrows > 0 ? &metrics[order[0]] : NULL,
				  psprintf(", \"combinations\": " INT64_FORMAT, n));
	btpg_task_end_txn();
	MemoryContextSwitchTo(old);
}
