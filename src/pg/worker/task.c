/*-------------------------------------------------------------------------
 *
 * task.c
 *	  A task worker: runs one submitted backtest as the role that submitted
 *	  it, reporting progress, and stores the results.
 *
 * Transactions: the worker runs a short transaction per step (read the task,
 * load the bars, each progress report, save the results).  The engine runs
 * between transactions; everything that must survive them (the task, the
 * bars, the engine's output) lives in the run context, a child of
 * TopMemoryContext deleted when the task ends.
 *
 * Identity: the worker connects as the task's owner, so the owner's
 * privileges and row-level security apply to the K-line read.  Writes to
 * the extension's tables run as their owner, pg_database_owner, never as a
 * superuser (SetUserIdAndSecContext, like pg_cron's bookkeeping; seal.h).
 * Before anything of the task is used, its seal is checked (seal.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/worker/task.c
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

#define TOTAL_STEPS 5

/* One task's run state (in the run context) */
typedef struct TaskRun
{
	int64		task_id;
	int			slot;
	Oid			ext_owner;		/* the role bookkeeping runs as (BTPG_BOOKKEEPER) */
	char	   *owner;			/* the task's owner, by name */
	TimestampTz launched_at;	/* when the dispatcher started this worker */
	TimestampTz started;
	TimestampTz last_report;
	double		last_progress;
	int			step;
	BtLoadSpec	spec;
	BtConfig	cfg;
	MemoryContext cxt;			/* the run context */
	char	   *grid;			/* a sweep task's grid (text), else NULL */
	BtpgSweepPlan *plan;		/* a sweep task's combinations */
} TaskRun;

static const char *const step_names[TOTAL_STEPS + 1] = {
	"starting", "loading data", "computing indicators", "simulating",
	"computing metrics", "saving results"
};

static int	my_slot = -1;

/*
 * Clear our slot on any exit (normal, ERROR exit, FATAL).  Registered
 * before the connection, so it runs after ShutdownPostgres has released the
 * task's advisory lock.
 */
static void
task_shmem_exit(int code, Datum arg)
{
	btpg_release_slot(my_slot, MyProcPid);
	btpg_test_delay_point("worker_exit");
}

/* Has backtest_cancel asked this worker to stop? */
static bool
cancel_requested(void)
{
	bool		c;

	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	c = btpg_shared->slots[my_slot].cancel_requested;
	LWLockRelease(btpg_shared->lock);
	return c;
}

/* Transaction with SPI and a snapshot; as_owner runs it as the extension owner */
static void
begin_txn(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_txn(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Execute sql with args as the tables' owner (search_path pinned) */
static int
exec_as_owner(TaskRun *run, const char *sql, int nargs, Oid *types, Datum *values,
			  const char *nulls)
{
	return btpg_exec_as_owner(run->ext_owner, sql, nargs, types, values, nulls);
}

/* Seconds since the task started */
static double
elapsed_s(TaskRun *run)
{
	return (double) (GetCurrentTimestamp() - run->started) / 1e6;
}

/*
 * The task's elapsed seconds as the row says (the UPDATE just run returned
 * extract(epoch FROM elapsed) in column 1), or NAN.
 */
static double
returned_elapsed(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_processed != 1 || SPI_tuptable == NULL)
		return NAN;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NAN : DatumGetFloat8(d);
}

/*
 * Commit a progress report to the task row and NOTIFY.  Throttled: at most
 * every 100 ms and only when progress moved 1% or more, unless `force` or
 * the step changed (a new step is always reported, so the row never sits on
 * a step that is over).  Times are the real clock (clock_timestamp(), not the
 * transaction's start), and the event's elapsed_s is the row's elapsed.
 */
static void
report(TaskRun *run, int step, double progress, const char *message, bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	double		el,
				eta;
	Oid			types[5] = {INT8OID, FLOAT8OID, TEXTOID, INT4OID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = "     ";
	MemoryContext old;

	if (!force && step == run->step &&
		(now - run->last_report < 100000 || progress - run->last_progress < 1.0))
		return;
	old = MemoryContextSwitchTo(run->cxt);
	values[0] = Int64GetDatum(run->task_id);
	values[1] = Float8GetDatum(progress);
	values[2] = CStringGetTextDatum(step_names[step]);
	values[3] = Int32GetDatum(step);
	values[4] = message ? CStringGetTextDatum(message) : (Datum) 0;
	if (!message)
		nulls[4] = 'n';

	begin_txn("pg_backtest: reporting progress");
	exec_as_owner(run,
				  "UPDATE backtest.tasks SET progress = $2, current_step = $3, step_index = $4, "
				  "message = $5, elapsed = pg_catalog.clock_timestamp() - started_at, "
				  "eta = CASE WHEN $2 > 0 THEN (pg_catalog.clock_timestamp() - started_at) "
				  "* ((100 - $2) / $2) END "
				  "WHERE id = $1 AND status = 'running' "
				  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				  5, types, values, nulls);
	el = returned_elapsed();
	if (!isfinite(el))
		el = elapsed_s(run);
	eta = progress > 0 ? el / progress * (100.0 - progress) : NAN;
	btpg_notify_task(run->task_id, "running", progress, step_names[step], step, TOTAL_STEPS,
					 message, el, eta, NULL);
	end_txn();
	MemoryContextSwitchTo(old);
	run->last_report = now;
	run->last_progress = progress;
	run->step = step;
}

/* Engine progress callback: cancel flag, interrupts, throttled reports */
static int
task_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	TaskRun    *run = (TaskRun *) arg;
	double		frac = total > 0 ? (double) done / (double) total : 0;

	CHECK_FOR_INTERRUPTS();
	if (cancel_requested())
		return 1;
	switch (step)
	{
		case BT_STEP_INDICATORS:
			report(run, 2, 30.0, NULL, false);
			break;
		case BT_STEP_SIMULATE:
			report(run, 3, 40.0 + 40.0 * frac, NULL, false);
			break;
		case BT_STEP_METRICS:
			report(run, 4, 80.0, NULL, false);
			break;
	}
	return 0;
}

/*
 * Run the task under the settings of the session that submitted it
 * (search_path, TimeZone, ...: see btpg_apply_task_settings), so it computes
 * what backtest_run computes in that session.  Called by read_task right
 * after the row is read, before anything is parsed or loaded; the settings
 * last for the worker's session (bookkeeping pins its own search_path).
 */
static void
apply_task_context(const char *settings_json)
{
	btpg_apply_task_settings(settings_json);
}

/*
 * Make the claim just committed durable before any of the task's work runs.
 * The claim commits asynchronously and the WAL is flushed here, after the
 * commit: a synchronous commit would wait for the flush while it holds the
 * cluster-wide lock a transaction that sent NOTIFY takes at commit, so every
 * other worker's progress report would queue behind each claim's fsync.
 */
static void
flush_claim(void)
{
	XLogFlush(XactLastCommitEnd);
}

/*
 * Claim the task and read it into run: in one transaction, as the extension
 * owner, pending -> running with one more attempt, committed durably before
 * any of the task's work starts.  The caller holds the task's advisory lock,
 * so the task is running only while this worker lives.  Returns false when
 * there is nothing to do (cancelled, or no longer pending).
 */
static bool
read_task(TaskRun *run, MemoryContext runcxt)
{
	Oid			types[3] = {INT8OID, INT4OID, TIMESTAMPTZOID};
	Datum		values[3] = {Int64GetDatum(run->task_id), Int32GetDatum(MyProcPid),
	TimestampTzGetDatum(run->launched_at)};
	HeapTuple	tup;
	TupleDesc	td;
	bool		isnull;
	bool		ok = false;
	MemoryContext old;

	/* started_at is when the dispatcher started us: in queue order */
	begin_txn("pg_backtest: claiming the task");
	exec_as_owner(run,
				  "UPDATE backtest.tasks SET status = 'running', attempts = attempts + 1, "
				  "started_at = $3, finished_at = NULL, progress = 0, "
				  "current_step = 'starting', step_index = 0, message = NULL, error = NULL, "
				  "elapsed = '0', eta = NULL, retry_at = NULL, worker_pid = $2 "
				  "WHERE id OPERATOR(pg_catalog.=) $1 AND status = 'pending' AND NOT cancel_requested "
				  "RETURNING source, query, symbol, strategy, params::text, start_ts, end_ts, "
				  "grid::text, settings::text, owner::text, database::text, kind",
				  3, types, values, NULL);
	if (SPI_processed == 1)
	{
		char	   *strategy;
		char	   *params;
		Datum		d;
		BtpgSealFields seal;
		char	   *problem;

		/*
		 * This commit must be durable: the attempt is counted before any of
		 * the task's own work can crash the server, so a task that keeps
		 * killing its worker ends failed after max_attempts instead of
		 * looping.  flush_claim waits for it after the commit.
		 */

		tup = SPI_tuptable->vals[0];
		td = SPI_tuptable->tupdesc;
		old = MemoryContextSwitchTo(runcxt);
		memset(&run->spec, 0, sizeof(run->spec));
		memset(&seal, 0, sizeof(seal));
		seal.id = run->task_id;
		seal.source = SPI_getvalue(tup, td, 1);
		seal.query = run->spec.query = SPI_getvalue(tup, td, 2);
		seal.symbol = run->spec.symbol = SPI_getvalue(tup, td, 3);
		seal.strategy = strategy = SPI_getvalue(tup, td, 4);
		seal.params = params = SPI_getvalue(tup, td, 5);
		d = SPI_getbinval(tup, td, 6, &isnull);
		seal.has_start = run->spec.has_start = !isnull;
		if (!isnull)
			seal.start_ts = run->spec.start_ts = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, td, 7, &isnull);
		seal.has_end = run->spec.has_end = !isnull;
		if (!isnull)
			seal.end_ts = run->spec.end_ts = DatumGetTimestampTz(d);
		seal.grid = SPI_getvalue(tup, td, 8);
		seal.settings = SPI_getvalue(tup, td, 9);
		seal.owner = run->owner = SPI_getvalue(tup, td, 10);
		seal.database = SPI_getvalue(tup, td, 11);
		seal.kind = SPI_getvalue(tup, td, 12);
		MemoryContextSwitchTo(old);

		/*
		 * Nothing of the task is used before its seal is checked: the
		 * database owner may have edited the row (what runs, as whom), or
		 * it was restored from another installation.
		 */
		if ((problem = btpg_seal_problem(&seal)) != NULL)
		{
			/* fail it in the claim's transaction: the claim must not be lost */
			Oid			ftypes[2] = {INT8OID, TEXTOID};
			Datum		fvalues[2] = {Int64GetDatum(run->task_id), CStringGetTextDatum(problem)};

			exec_as_owner(run, "UPDATE backtest.tasks SET status = 'failed', error = $2, "
						  "finished_at = pg_catalog.clock_timestamp(), "
						  "elapsed = pg_catalog.clock_timestamp() - started_at, eta = NULL, worker_pid = NULL "
						  "WHERE id OPERATOR(pg_catalog.=) $1 AND status = 'running'",
						  2, ftypes, fvalues, NULL);
			ereport(LOG,
					(errmsg("pg_backtest: task " INT64_FORMAT " failed: %s", run->task_id, problem)));
			btpg_notify_task(run->task_id, "failed", 0, NULL, 0, TOTAL_STEPS, NULL, 0, NAN, NULL);
			end_txn();
			return false;
		}
		apply_task_context(seal.settings);
		old = MemoryContextSwitchTo(runcxt);
		/* the source by its qualified name, under the submitter's settings */
		if (seal.source)
			run->spec.relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(seal.source)),
											   NoLock, false);
		run->grid = SPI_getvalue(tup, td, 8);
		{
			const BtStrategyDef *st = btpg_lookup_strategy(strategy);
			Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(params)));

			if (run->grid)
			{
				/* a sweep: the grid's parameters are checked per combination */
				BtAlloc		a;

				btpg_alloc_init(&a, runcxt);
				run->plan = palloc0(sizeof(BtpgSweepPlan));
				btpg_sweep_plan(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(run->grid))),
								jb, st, &a, run->plan, &run->spec.cols);
				run->cfg = run->plan->base;
			}
			else
				btpg_parse_backtest_params(jb, st, &run->cfg, &run->spec.cols);
			run->spec.need_volume = run->spec.cols.name[BTCOL_VOLUME] != NULL;
			run->spec.need_signal = st->needs_signal;
		}
		MemoryContextSwitchTo(old);
		ok = true;
	}
	if (ok)
		btpg_notify_task(run->task_id, "running", 0, "starting", 0, TOTAL_STEPS,
						 "worker starting", 0, NAN, NULL);
	else
		elog(DEBUG1, "pg_backtest: task " INT64_FORMAT " is no longer pending", run->task_id);
	end_txn();
	if (ok)
		flush_claim();
	return ok;
}

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
static void
save_results(TaskRun *run, const BtSeries *s, const BtResult *res, Oid owner)
{
	Datum		mvalues[2 + BTPG_METRICS_NATTS];
	bool		mnulls[2 + BTPG_METRICS_NATTS];
	char		cnulls[2 + BTPG_METRICS_NATTS];
	Oid			mtypes[2 + BTPG_METRICS_NATTS];
	StringInfoData sql;
	const BtMetrics *m = &res->metrics;
	int64		n = res->n;
	int64		nt = res->ntrades;

	begin_txn("pg_backtest: saving results");

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
	{
		/* by position in backtest_metrics: see btpg_metrics_values */
		static const Oid types[BTPG_METRICS_NATTS] = {
			TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, INT8OID, INT8OID,
			FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
			FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
			INTERVALOID, INTERVALOID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
			FLOAT8OID, INTERVALOID, INTERVALOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
			FLOAT8OID, FLOAT8OID
		};

		mtypes[i + 2] = types[i];
	}
	for (int i = 0; i < 2 + BTPG_METRICS_NATTS; i++)
		cnulls[i] = mnulls[i] ? 'n' : ' ';
	exec_as_owner(run, sql.data, 2 + BTPG_METRICS_NATTS, mtypes, mvalues, cnulls);

	/* trades: 13 arrays, one INSERT */
	if (nt > 0)
	{
		static const Oid ttypes[BTPG_TRADES_NATTS] = {
			INT4OID, TEXTOID, TIMESTAMPTZOID, FLOAT8OID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID,
			FLOAT8OID, FLOAT8OID, INT4OID, TEXTOID, BOOLOID, FLOAT8OID
		};
		static const Oid tarrtypes[BTPG_TRADES_NATTS] = {
			INT4ARRAYOID, TEXTARRAYOID, 1185 /* timestamptz[] */ , FLOAT8ARRAYOID, 1185,
			FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT4ARRAYOID,
			TEXTARRAYOID, 1000 /* bool[] */ , FLOAT8ARRAYOID
		};
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
			avalues[c + 2] = make_array(cols[c], NULL, nt, ttypes[c]);
			atypes[c + 2] = tarrtypes[c];
			appendStringInfo(&sql, "%spg_catalog.unnest($%d)", c ? ", " : "", c + 3);
		}
		appendStringInfoString(&sql, ") AS u");
		exec_as_owner(run, sql.data, 2 + BTPG_TRADES_NATTS, atypes, avalues, NULL);
	}

	/* the equity curve: one row of arrays (backtest.equity unnests it) */
	{
		TimestampTz *ts = palloc_extended(sizeof(TimestampTz) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
		double	   *dd = palloc_extended(sizeof(double) * (n > 0 ? n : 1), MCXT_ALLOC_HUGE);
		Datum		evalues[7];
		Oid			etypes[7] = {INT8OID, TEXTOID, 1185, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID};
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
		btpg_exec_as_owner_generic(run->ext_owner,
								   "INSERT INTO backtest.equity_curves VALUES ($1, $2, $3, $4, $5, $6, $7)",
								   7, etypes, evalues, NULL);
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
		exec_as_owner(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
					  "current_step = 'done', step_index = 5, message = $2, "
					  "finished_at = pg_catalog.clock_timestamp(), "
					  "elapsed = pg_catalog.clock_timestamp() - started_at, "
					  "eta = '0', worker_pid = NULL WHERE id = $1 "
					  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
					  2, types, values, NULL);
		el = returned_elapsed();
		initStringInfo(&extra);
		appendStringInfoString(&extra, ", \"total_return\": ");
		appendStringInfoString(&extra, isfinite(m->return_pct) ? psprintf("%.10g", m->return_pct) : "null");
		appendStringInfoString(&extra, ", \"sharpe_ratio\": ");
		appendStringInfoString(&extra, isfinite(m->sharpe_ratio) ? psprintf("%.10g", m->sharpe_ratio) : "null");
		appendStringInfoString(&extra, ", \"max_drawdown\": ");
		appendStringInfoString(&extra, isfinite(m->max_drawdown_pct) ? psprintf("%.10g", m->max_drawdown_pct) : "null");
		appendStringInfo(&extra, ", \"trades_count\": " INT64_FORMAT, m->trades_count);
		btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
						 msg, isfinite(el) ? el : elapsed_s(run), 0, extra.data);
	}
	end_txn();
}

/* After an error: mark the task failed or cancelled in a new transaction */
static void
finish_with_error(TaskRun *run, ErrorData *edata, bool cancelled)
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
	begin_txn("pg_backtest: recording the outcome");
	exec_as_owner(run, "UPDATE backtest.tasks SET status = $2, "
				  "error = CASE WHEN $2 = 'failed' THEN $3 END, "
				  "message = CASE WHEN $2 = 'cancelled' THEN $3 END, "
				  "finished_at = pg_catalog.clock_timestamp(), "
				  "elapsed = pg_catalog.clock_timestamp() - started_at, "
				  "eta = NULL, worker_pid = NULL WHERE id = $1 AND status = 'running' "
				  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				  3, types, values, NULL);
	el = returned_elapsed();
	initStringInfo(&extra);
	if (!cancelled)
	{
		const char *emsg = edata->message ? edata->message : "unknown error";

		/* cut on a character boundary: the payload must stay valid text */
		appendStringInfoString(&extra, ", \"error\": ");
		escape_json(&extra, pnstrdup(emsg, pg_mbcliplen(emsg, strlen(emsg), 1000)));
	}
	btpg_notify_task(run->task_id, status, run->last_progress, step_names[run->step], run->step,
					 TOTAL_STEPS, cancelled ? "cancelled while running" : NULL,
					 isfinite(el) ? el : elapsed_s(run), NAN, extra.data);
	end_txn();
}

/*
 * A sweep task: run the combinations in batches (each in a short
 * transaction, with the sweep's own parallel workers), reporting progress as
 * combinations done / total between batches, then store the rows in
 * backtest.sweep_results in one INSERT and complete the task with the best
 * row's summary.  Runs in the run context.
 */
static void
run_sweep(TaskRun *run, const BtSeries *s, Oid owner)
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
		if (cancel_requested())
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("sweep cancelled")));
		begin_txn("pg_backtest: sweeping");
		MemoryContextSwitchTo(run->cxt);
		btpg_sweep_execute(s, plan->st, plan->combos + from, cnt, NULL, metrics + from);
		end_txn();
		MemoryContextSwitchTo(run->cxt);
		report(run, 3, 30.0 + 55.0 * (double) (from + cnt) / (double) n,
			   psprintf(INT64_FORMAT " of " INT64_FORMAT " combinations", from + cnt, n),
			   from + cnt == n);
	}
	nrows = btpg_sweep_order(plan, metrics, &order);
	report(run, 5, 85.0, NULL, true);

	begin_txn("pg_backtest: saving sweep results");
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
		exec_as_owner(run, sql.data, 3 + ncols, argtypes, args, NULL);
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
		exec_as_owner(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
					  "current_step = 'done', step_index = 5, message = $2, "
					  "finished_at = pg_catalog.clock_timestamp(), "
					  "elapsed = pg_catalog.clock_timestamp() - started_at, "
					  "eta = '0', worker_pid = NULL WHERE id = $1 "
					  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
					  2, types, values, NULL);
		el = returned_elapsed();
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
						 msg, isfinite(el) ? el : elapsed_s(run), 0, extra.data);
	}
	end_txn();
	MemoryContextSwitchTo(old);
}

/* Run the task: read, load, simulate, save; errors mark it failed/cancelled */
static void
run_task(TaskRun *run, Oid owner)
{
	MemoryContext runcxt = AllocSetContextCreate(TopMemoryContext, "pg_backtest task",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;

	run->cxt = runcxt;
	PG_TRY();
	{
		BtSeries	s;
		BtResult	res;
		BtAlloc		a;
		BtError		err;

		if (!read_task(run, runcxt))
		{
			MemoryContextDelete(runcxt);
			return;
		}
		btpg_test_delay_point("after_claim");
		report(run, 1, 0.0, NULL, true);

		/* load the bars as the owner (privileges and RLS apply) */
		begin_txn("pg_backtest: loading data");
		old = MemoryContextSwitchTo(runcxt);
		btpg_load_series(&run->spec, &s);
		MemoryContextSwitchTo(old);
		end_txn();
		report(run, 1, 30.0, psprintf(INT64_FORMAT " bars loaded", (int64) s.n), false);

		if (run->plan)
		{
			run_sweep(run, &s, owner);
			MemoryContextDelete(runcxt);
			return;
		}

		/* the engine, outside any transaction */
		btpg_alloc_init(&a, runcxt);
		if (bt_run(&s, &run->cfg, &a, task_progress, run, &res, &err) != BT_OK)
		{
			if (err.code == BT_ERR_CANCELLED)
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("backtest cancelled")));
			btpg_report(&err, s.ts);
		}
		report(run, 5, 85.0, NULL, false);
		old = MemoryContextSwitchTo(runcxt);
		save_results(run, &s, &res, owner);
		MemoryContextSwitchTo(old);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		cancelled;

		MemoryContextSwitchTo(runcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* a second cancel signal must not interrupt the bookkeeping below */
		QueryCancelPending = false;
		cancelled = cancel_requested();
		ereport(LOG,
				(errmsg("pg_backtest: task " INT64_FORMAT " %s: %s", run->task_id,
						cancelled ? "cancelled" : "failed", edata->message)));
		finish_with_error(run, edata, cancelled);
	}
	PG_END_TRY();
	MemoryContextDelete(runcxt);
}

/*
 * SIGINT: backtest_cancel sets our slot's cancel flag, then signals us.  A
 * worker that runs several tasks acts on the signal only while the flag is
 * set: the flag is cleared (under the lock) when the slot moves on to the
 * next task, so a late signal meant for the previous task cannot cancel
 * this one.  (pg_cancel_backend therefore does nothing to a task worker;
 * backtest_cancel or pg_terminate_backend stop it.)
 */
static void
task_sigint(SIGNAL_ARGS)
{
	if (my_slot < 0 || ((volatile BtSlot *) &btpg_shared->slots[my_slot])->cancel_requested)
		StatementCancelHandler(postgres_signal_arg);
}

/*
 * After a task: take the next one if it is ours to run (reuse.c) and reset
 * the run state for it.  Returns false when this worker should exit.
 */
static bool
take_next_task(TaskRun *run, Oid owner)
{
	int64		next_id;
	Oid			ext_owner = run->ext_owner;

	if (!btpg_take_next_task(my_slot, owner, ext_owner, run->task_id, &next_id))
		return false;
	memset(run, 0, sizeof(*run));
	run->ext_owner = ext_owner;
	run->task_id = next_id;
	run->slot = my_slot;
	run->started = run->launched_at = GetCurrentTimestamp();
	run->last_progress = -100;
	return true;
}

/*
 * btpg_task_main
 *		Entry point of a task worker; main_arg is its slot, bgw_extra a
 *		BtTaskStart.
 */
void
btpg_task_main(Datum main_arg)
{
	BtTaskStart start;
	TaskRun		run;
	bool		ok_slot = true;
	LOCKTAG		tag;

	memcpy(&start, MyBgworkerEntry->bgw_extra, sizeof(start));
	my_slot = DatumGetInt32(main_arg);

	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, task_sigint);
	BackgroundWorkerUnblockSignals();

	/* publish our pid so backtest_cancel can signal us */
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	if (btpg_shared->slots[my_slot].in_use && btpg_shared->slots[my_slot].pid == 0 &&
		btpg_shared->slots[my_slot].task_id == start.task_id &&
		btpg_shared->slots[my_slot].dbid == start.dbid)
		btpg_shared->slots[my_slot].pid = MyProcPid;
	else
		ok_slot = false;
	LWLockRelease(btpg_shared->lock);
	if (!ok_slot)
		proc_exit(0);			/* the slot was freed meanwhile: not ours */
	before_shmem_exit(task_shmem_exit, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(start.dbid, start.owner, 0);
	pgstat_report_appname("pg_backtest task");

	/*
	 * Progress reports and the final bookkeeping need not wait for the WAL
	 * flush: a task whose completion is lost in a crash is requeued and run
	 * again (README: crash safety), and each of a task's several short
	 * transactions would otherwise wait for an fsync.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	memset(&run, 0, sizeof(run));
	run.task_id = start.task_id;
	run.slot = my_slot;
	run.started = GetCurrentTimestamp();
	run.launched_at = start.launched_at;
	run.last_progress = -100;

	btpg_test_delay_point("worker_start");

	/*
	 * The task's advisory lock, held (session level) until this process
	 * exits: while we hold it, recovery leaves the task alone.  If another
	 * live worker holds it, this task is not ours to run.
	 */
	/* bookkeeping runs as the tables' owner, not as a superuser (seal.h) */
	run.ext_owner = BTPG_BOOKKEEPER;
	StartTransactionCommand();
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (((uint64) start.task_id) >> 32),
						 (uint32) start.task_id, BTPG_TASK_LOCK_FIELD4);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		CommitTransactionCommand();
		elog(LOG, "pg_backtest: task " INT64_FORMAT " is run by another worker", start.task_id);
		proc_exit(0);
	}
	CommitTransactionCommand();

	/* the task, then (reuse) the next ones of the same owner, while allowed */
	for (int served = 1;; served++)
	{
		run_task(&run, start.owner);
		if (served >= btpg_tasks_per_worker || !take_next_task(&run, start.owner))
			break;
	}
	proc_exit(0);
}
