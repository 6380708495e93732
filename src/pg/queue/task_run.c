/*-------------------------------------------------------------------------
 *
 * task_run.c
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
 * What a task runs is its kind's (task_kind.h): the "backtest" kind is
 * defined and the kinds' table kept here; a feature registers its own (the
 * sweep's is sweep_task.c).  The saving of outcomes (results, failures) is
 * in task_save.c; task.h has what the two share.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/task_run.c
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

#include "core/bookkeeper.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "seal.h"
#include "queue.h"

#include "task.h"

const char *const btpg_task_step_names[TOTAL_STEPS + 1] = {
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
bool
btpg_task_cancel_requested(void)
{
	bool		c;

	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	c = btpg_shared->slots[my_slot].cancel_requested;
	LWLockRelease(btpg_shared->lock);
	return c;
}

/* Execute sql with args as the tables' owner (search_path pinned) */
int
btpg_task_exec(TaskRun *run, const char *sql, int nargs, Oid *types, Datum *values,
			  const char *nulls)
{
	return btpg_exec_as_owner(run->ext_owner, sql, nargs, types, values, nulls);
}

/* Seconds since the task started */
double
btpg_task_elapsed(TaskRun *run)
{
	return (double) (GetCurrentTimestamp() - run->started) / 1e6;
}

/*
 * The task's elapsed seconds as the row says (the UPDATE just run returned
 * extract(epoch FROM elapsed) in column 1), or NAN.
 */
double
btpg_task_returned_elapsed(void)
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
void
btpg_task_report(TaskRun *run, int step, double progress, const char *message, bool force)
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
	values[2] = CStringGetTextDatum(btpg_task_step_names[step]);
	values[3] = Int32GetDatum(step);
	values[4] = message ? CStringGetTextDatum(message) : (Datum) 0;
	if (!message)
		nulls[4] = 'n';

	btpg_begin_txn("pg_backtest: reporting progress");
	btpg_task_exec(run,
				  "UPDATE backtest.tasks SET progress = $2, current_step = $3, step_index = $4, "
				  "message = $5, elapsed = pg_catalog.clock_timestamp() - started_at, "
				  "eta = CASE WHEN $2 > 0 THEN (pg_catalog.clock_timestamp() - started_at) "
				  "* ((100 - $2) / $2) END "
				  "WHERE id = $1 AND status = 'running' "
				  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				  5, types, values, nulls);
	el = btpg_task_returned_elapsed();
	if (!isfinite(el))
		el = btpg_task_elapsed(run);
	eta = progress > 0 ? el / progress * (100.0 - progress) : NAN;
	btpg_notify_task(run->task_id, "running", progress, btpg_task_step_names[step], step, TOTAL_STEPS,
					 message, el, eta, NULL);
	btpg_end_txn();
	MemoryContextSwitchTo(old);
	run->last_report = now;
	run->last_progress = progress;
	run->step = step;
}

/* Engine progress callback: cancel flag, interrupts, throttled reports */
int
btpg_task_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	TaskRun    *run = (TaskRun *) arg;
	double		frac = total > 0 ? (double) done / (double) total : 0;

	CHECK_FOR_INTERRUPTS();
	if (btpg_task_cancel_requested())
		return 1;
	switch (step)
	{
		case BT_STEP_INDICATORS:
			btpg_task_report(run, 2, 30.0, NULL, false);
			break;
		case BT_STEP_SIMULATE:
			btpg_task_report(run, 3, 40.0 + 40.0 * frac, NULL, false);
			break;
		case BT_STEP_METRICS:
			btpg_task_report(run, 4, 80.0, NULL, false);
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
	btpg_begin_txn("pg_backtest: claiming the task");
	btpg_task_exec(run,
				  "UPDATE backtest.tasks SET status = 'running', attempts = attempts + 1, "
				  "started_at = $3, finished_at = NULL, progress = 0, "
				  "current_step = 'starting', step_index = 0, message = NULL, error = NULL, "
				  "elapsed = '0', eta = NULL, retry_at = NULL, worker_pid = $2 "
				  "WHERE id OPERATOR(pg_catalog.=) $1 AND status = 'pending' AND NOT cancel_requested "
				  "RETURNING source, query, symbol, strategy, params::text, start_ts, end_ts, "
				  "grid::text, settings::text, owner::text, database::text, kind, "
				  "symbols, symbols::text",
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
		seal.symbols = SPI_getvalue(tup, td, 14);
		run->strategy = strategy;
		run->params = params;
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

			btpg_task_exec(run, "UPDATE backtest.tasks SET status = 'failed', error = $2, "
						  "finished_at = pg_catalog.clock_timestamp(), "
						  "elapsed = pg_catalog.clock_timestamp() - started_at, eta = NULL, worker_pid = NULL "
						  "WHERE id OPERATOR(pg_catalog.=) $1 AND status = 'running'",
						  2, ftypes, fvalues, NULL);
			ereport(LOG,
					(errmsg("pg_backtest: task " INT64_FORMAT " failed: %s", run->task_id, problem)));
			btpg_notify_task(run->task_id, "failed", 0, NULL, 0, TOTAL_STEPS, NULL, 0, NAN, NULL);
			btpg_end_txn();
			return false;
		}
		apply_task_context(seal.settings);
		old = MemoryContextSwitchTo(runcxt);
		/* the source by its qualified name, under the submitter's settings */
		if (seal.source)
			run->spec.relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(seal.source)),
											   NoLock, false);
		run->kind = btpg_find_task_kind(seal.kind);
		if (run->kind == NULL)
			elog(ERROR, "task " INT64_FORMAT " is of the unknown kind \"%s\"",
				 run->task_id, seal.kind);
		if (run->kind->plan_task)
		{
			BtpgTaskRow row;

			memset(&row, 0, sizeof(row));
			row.strategy = strategy;
			row.params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(params)));
			if (seal.grid)
				row.grid = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(seal.grid)));
			d = SPI_getbinval(tup, td, 13, &isnull);
			row.symbols = isnull ? NULL : DatumGetArrayTypePCopy(d);
			row.relid = run->spec.relid;
			row.query = run->spec.query;
			row.has_start = run->spec.has_start;
			row.start_ts = run->spec.start_ts;
			row.has_end = run->spec.has_end;
			row.end_ts = run->spec.end_ts;
			run->kind_state = run->kind->plan_task(run, &row);
		}
		else
		{
			const BtStrategyDef *st = btpg_lookup_strategy(strategy);
			Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(params)));
			Jsonb	   *grid = NULL;

			if (seal.grid)
				grid = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(seal.grid)));
			run->kind_state = run->kind->plan(st, jb, grid, &run->cfg, &run->spec.cols);
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
	btpg_end_txn();
	if (ok)
		flush_claim();
	return ok;
}


/* ---- task kinds --------------------------------------------------------- */

/* A backtest task: its configuration, then its result */
static void *
backtest_plan(const BtStrategyDef *st, Jsonb *params, Jsonb *grid, BtConfig *cfg,
			  BtpgColumns *cols)
{
	btpg_parse_backtest_params(params, st, cfg, cols);
	return palloc0(sizeof(BtResult));
}

/* Run the engine, outside any transaction, with progress and cancel */
static void
backtest_execute(TaskRun *run, void *state, const BtSeries *s)
{
	BtAlloc		a;
	BtError		err;

	btpg_alloc_init(&a, CurrentMemoryContext);
	if (bt_run(s, &run->cfg, &a, btpg_task_progress, run, (BtResult *) state, &err) != BT_OK)
	{
		if (err.code == BT_ERR_CANCELLED)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("backtest cancelled")));
		btpg_report(&err, s->ts);
	}
	/* the trades are stored with their excursions */
	bt_trade_excursions(s, &run->cfg.sim, ((BtResult *) state)->trades,
						((BtResult *) state)->ntrades);
}

static void
backtest_save(TaskRun *run, void *state, const BtSeries *s)
{
	btpg_task_save_results(run, s, (const BtResult *) state);
}

/* The queue's own kind: backtest_submit's */
static const BtpgTaskKind backtest_kind = {
	"backtest", backtest_plan, backtest_execute, backtest_save
};

/* The registered kinds; backtest_kind is always there */
static const BtpgTaskKind *task_kinds[BTPG_MAX_TASK_KINDS] = {&backtest_kind};
static int	n_task_kinds = 1;

/*
 * btpg_register_task_kind
 *		Add a kind (a feature's, from _PG_init).  kind must stay valid for
 *		the life of the process; a name registered twice is an error.
 */
void
btpg_register_task_kind(const BtpgTaskKind *kind)
{
	if (btpg_find_task_kind(kind->name) != NULL)
		elog(ERROR, "task kind \"%s\" is already registered", kind->name);
	if (n_task_kinds >= BTPG_MAX_TASK_KINDS)
		elog(ERROR, "too many task kinds");
	task_kinds[n_task_kinds++] = kind;
}

/* btpg_find_task_kind: the kind called name, or NULL */
const BtpgTaskKind *
btpg_find_task_kind(const char *name)
{
	for (int i = 0; i < n_task_kinds; i++)
		if (strcmp(task_kinds[i]->name, name) == 0)
			return task_kinds[i];
	return NULL;
}

/* Run the task: read, load, simulate, save; errors mark it failed/cancelled */
static void
run_task(TaskRun *run)
{
	MemoryContext runcxt = AllocSetContextCreate(TopMemoryContext, "pg_backtest task",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext caller = MemoryContextSwitchTo(runcxt);
	MemoryContext old;
	volatile bool delegated = false;

	/* everything of this task in runcxt, gone with it at the end */
	run->cxt = runcxt;
	PG_TRY();
	{
		BtSeries	s;
		int64		nbars;
		char	   *node;

		/* (no return inside PG_TRY: the error handler stack must be popped) */
		if (!read_task(run, runcxt))
			goto done;
		btpg_test_delay_point("after_claim");
		/* on Citus, a backtest or a sweep runs on the node holding its symbol */
		if ((node = btpg_citus_task_node(run)) != NULL)
		{
			delegated = true;
			old = MemoryContextSwitchTo(runcxt);
			if (run->kind->execute_on)
			{
				run->kind->execute_on(run, run->kind_state, node);
				MemoryContextSwitchTo(runcxt);
				btpg_task_report(run, 5, 85.0, NULL, true);
				MemoryContextSwitchTo(runcxt);
				memset(&s, 0, sizeof(s));
				run->kind->save(run, run->kind_state, &s);
			}
			else
				btpg_citus_run_task(run, node);
			MemoryContextSwitchTo(old);
		}
		else
		{
			btpg_task_report(run, 1, 0.0, NULL, true);

			/* load the bars as the owner (privileges and RLS apply) */
			btpg_begin_txn("pg_backtest: loading data");
			old = MemoryContextSwitchTo(runcxt);
			if (run->kind->load)
			{
				memset(&s, 0, sizeof(s));
				nbars = run->kind->load(run, run->kind_state);
			}
			else
			{
				btpg_load_series(&run->spec, &s);
				nbars = s.n;
			}
			MemoryContextSwitchTo(old);
			btpg_end_txn();
			btpg_task_report(run, 1, 30.0, psprintf(INT64_FORMAT " bars loaded", nbars), false);

			old = MemoryContextSwitchTo(runcxt);
			run->kind->execute(run, run->kind_state, &s);
			MemoryContextSwitchTo(runcxt);
			btpg_task_report(run, 5, 85.0, NULL, true);
			MemoryContextSwitchTo(runcxt);
			run->kind->save(run, run->kind_state, &s);
			MemoryContextSwitchTo(old);
		}
done:
		;
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
		cancelled = btpg_task_cancel_requested();

		/*
		 * The Citus node doing the task's work went away (its process was
		 * killed, it restarted): that is no outcome of the task, as when a
		 * task worker dies on one node.  Exit leaving the task running; the
		 * dispatcher requeues it (up to pg_backtest.max_attempts) once our
		 * lock on it is gone.
		 */
		if (delegated && !cancelled && btpg_citus_node_lost(edata))
			ereport(FATAL,
					(errcode(edata->sqlerrcode),
					 errmsg("pg_backtest: task " INT64_FORMAT " lost the Citus node it ran on: %s",
							run->task_id, edata->message),
					 errdetail("The task is left without an outcome, to be requeued.")));
		ereport(LOG,
				(errmsg("pg_backtest: task " INT64_FORMAT " %s: %s", run->task_id,
						cancelled ? "cancelled" : "failed", edata->message)));
		btpg_task_finish_with_error(run, edata, cancelled);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
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
	if (my_slot < 0 || ((volatile BtpgSlot *) &btpg_shared->slots[my_slot])->cancel_requested)
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
	/* stamped when reuse.c moved the slot, under the lock: queue order */
	run->launched_at = btpg_shared->slots[my_slot].assigned_at;
	run->started = GetCurrentTimestamp();
	run->last_progress = -100;
	return true;
}

/*
 * btpg_task_main
 *		Entry point of a task worker; main_arg is its slot, bgw_extra a
 *		BtpgTaskStart.
 */
void
btpg_task_main(Datum main_arg)
{
	BtpgTaskStart start;
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
	StartTransactionCommand();
	run.ext_owner = btpg_bookkeeper();
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
		run_task(&run);
		if (served >= btpg_tasks_per_worker || !take_next_task(&run, start.owner))
			break;
	}
	proc_exit(0);
}
