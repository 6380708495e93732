/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher background worker: serves the task queue of
 *	  pg_backtest.database_name, starting one dynamic worker per task, at
 *	  most pg_backtest.max_concurrent at once, oldest task first.
 *
 * Memory: a long-lived context holds the worker handles (they must survive
 * transactions); a scratch context is reset every loop, so the launcher does
 * not grow however many tasks it starts.  Start/CommitTransactionCommand
 * switch CurrentMemoryContext to the transaction's context and back to
 * whatever was current before (the scratch context).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/worker/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "seal.h"
#include "worker.h"

/* Handles of the workers this launcher started, by slot (long-lived memory) */
static BackgroundWorkerHandle *handles[BTPG_MAX_SLOTS];
/* The task each of those workers runs (its slot is cleared when it exits) */
static int64 handle_tasks[BTPG_MAX_SLOTS];
static TimestampTz last_slot_warning = 0;

/* Clear the launcher's latch from shared memory on exit */
static void
launcher_shmem_exit(int code, Datum arg)
{
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	if (btpg_shared->launcher_pid == MyProcPid)
	{
		btpg_shared->launcher_pid = 0;
		btpg_shared->launcher_latch = NULL;
	}
	LWLockRelease(btpg_shared->lock);
}

/* Start a transaction with SPI and a snapshot (undo with end_txn) */
static Oid	launcher_saved_user;
static int	launcher_saved_sec;

/*
 * Start a transaction with SPI and a snapshot (undo with end_txn).  Its
 * statements run as the queue tables' owner (BTPG_BOOKKEEPER), not as the
 * bootstrap superuser the launcher connects as: the database owner owns
 * those tables, and a trigger of hers must not run as a superuser.  (An
 * error aborts the transaction, which restores the user.)
 */
static void
begin_txn(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
	GetUserIdAndSecContext(&launcher_saved_user, &launcher_saved_sec);
	SetUserIdAndSecContext(BTPG_BOOKKEEPER, launcher_saved_sec | SECURITY_LOCAL_USERID_CHANGE);
}

static void
end_txn(void)
{
	SetUserIdAndSecContext(launcher_saved_user, launcher_saved_sec);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Is the extension fully created here (its task table exists)? */
static bool
queue_ready(void)
{
	bool		ready;

	begin_txn("pg_backtest: checking the extension");
	ready = OidIsValid(get_extension_oid("pg_backtest", true)) &&
		OidIsValid(get_namespace_oid("backtest", true)) &&
		OidIsValid(get_relname_relid("tasks", get_namespace_oid("backtest", true)));
	end_txn();
	return ready;
}

/*
 * Requeue (attempts < max_attempts) or fail the tasks matching `where`
 * ("status = 'running' AND ..."), sending an event for each.  Caller is in a
 * transaction with SPI connected; $1 is bound to `arg` (an int8[] or int8).
 */
static void
requeue_tasks(const char *where, Oid argtype, Datum arg, const char *why)
{
	StringInfoData sql;
	Oid			argtypes[3] = {argtype, INT4OID, TEXTOID};
	Datum		values[3] = {arg, Int32GetDatum(btpg_max_attempts), CStringGetTextDatum(why)};

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE backtest.tasks SET "
					 "status = CASE WHEN cancel_requested THEN 'cancelled' "
					 "  WHEN attempts < $2 THEN 'pending' ELSE 'failed' END, "
					 "error = CASE WHEN cancel_requested OR attempts < $2 THEN NULL "
					 "  ELSE pg_catalog.format('%%s (started %%s times; giving up)', $3, attempts) END, "
					 "message = CASE WHEN cancel_requested THEN 'cancelled; its worker exited' "
					 "  WHEN attempts < $2 "
					 "  THEN pg_catalog.format('%%s (attempt %%s of %%s)', $3, attempts, $2) "
					 "  ELSE NULL END, "
					 "finished_at = CASE WHEN cancel_requested OR attempts >= $2 THEN pg_catalog.now() END, "
					 "progress = 0, worker_pid = NULL, eta = NULL, cancel_requested = false "
					 "WHERE %s RETURNING id, status, coalesce(message, error)", where);
	if (SPI_execute_with_args(sql.data, 3, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not requeue tasks");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *status = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *msg = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		ereport(LOG,
				(errmsg("pg_backtest: task " INT64_FORMAT " %s: %s", id,
						strcmp(status, "pending") == 0 ? "requeued" : status, msg)));
		btpg_notify_task(id, status, 0, NULL, 0, 5, msg, 0, NAN,
						 strcmp(status, "failed") == 0 ?
						 psprintf(", \"error\": \"%s\"", "worker died") : NULL);
	}
}

/*
 * Requeue or fail tasks left running by a worker that no longer exists.
 *
 * At launcher start (at_start): after a crash restart shared memory is new,
 * so every running row is stale; after a launcher restart, workers started
 * by the previous launcher still hold their slots, and a slot whose worker
 * never started or is gone is freed.
 *
 * Later (periodically): a worker started by a previous launcher has no
 * handle here, so if it exits without recording an outcome (FATAL after it
 * cleared its slot) only this notices: a running task with no slot in use is
 * orphaned.  A worker updates its row before it clears its slot, and the
 * UPDATE rechecks the row, so a task that just finished is never touched.
 */
static void
recover_stale_tasks(bool at_start)
{
	Datum		live[BTPG_MAX_SLOTS];
	int			nlive = 0;
	ArrayType  *arr;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		BtSlot	   *s = &btpg_shared->slots[i];

		if (!s->in_use)
			continue;
		/* a slot whose worker is gone (or, at start, never started) is stale */
		if (handles[i] == NULL &&
			((at_start && s->pid == 0) || (s->pid != 0 && kill(s->pid, 0) != 0)))
		{
			s->in_use = false;
			continue;
		}
		live[nlive++] = Int64GetDatum(s->task_id);
	}
	LWLockRelease(btpg_shared->lock);

	begin_txn("pg_backtest: recovering tasks");
	arr = construct_array(live, nlive, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	requeue_tasks("status = 'running' AND NOT (id = ANY ($1))", INT8ARRAYOID,
				  PointerGetDatum(arr), "the worker died before finishing");
	end_txn();
}

/*
 * Free the slots of workers that have stopped; a task still marked running
 * by a worker that stopped (it could not connect, or died of FATAL) is
 * requeued or failed.
 */
static void
reap_workers(void)
{
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		pid_t		pid;

		if (handles[i] == NULL)
			continue;
		if (GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = NULL;
		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		/* the worker did not clear its slot: it never got that far */
		if (btpg_shared->slots[i].in_use)
			btpg_shared->slots[i].in_use = false;
		LWLockRelease(btpg_shared->lock);

		/*
		 * The worker is gone.  If its task is still running, it exited
		 * without recording an outcome (it could not connect, or died of
		 * FATAL after clearing its slot in its exit callback).
		 */
		begin_txn("pg_backtest: reaping a worker");
		requeue_tasks("status = 'running' AND id = $1", INT8OID, Int64GetDatum(handle_tasks[i]),
					  "the worker exited before finishing");
		end_txn();
	}
}

/* Number of slots in use, and the index of a free one (-1 if none) */
static int
slots_in_use(int *free_slot)
{
	int			used = 0;

	*free_slot = -1;
	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		if (btpg_shared->slots[i].in_use)
			used++;
		else if (*free_slot < 0 && handles[i] == NULL)
			*free_slot = i;
	}
	LWLockRelease(btpg_shared->lock);
	return used;
}

/*
 * Start a worker for the oldest pending task, if any.  Returns false when
 * there is nothing (more) to start now.
 */
static bool
launch_one(MemoryContext longlived)
{
	int			slot;
	int64		task_id;
	Oid			owner;
	bool		isnull;
	BackgroundWorker worker;
	BtTaskStart start;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	if (slots_in_use(&slot) >= btpg_max_concurrent || slot < 0)
		return false;

	begin_txn("pg_backtest: starting a task");

	/*
	 * The oldest pending task, locked until this transaction ends, with the
	 * role its owner's name names (a dump restored without that role has
	 * none: the task fails, and the next one is tried).
	 */
	if (SPI_execute("SELECT t.id, r.oid, t.owner FROM backtest.tasks t "
					"LEFT JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) t.owner "
					"WHERE t.status OPERATOR(pg_catalog.=) 'pending' "
					"ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the queue");
	if (SPI_processed == 0)
	{
		end_txn();
		return false;
	}
	task_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
	{
		char	   *msg = psprintf("role \"%s\" does not exist, so the task cannot run",
								   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
		Oid			ftypes[2] = {INT8OID, TEXTOID};
		Datum		fvalues[2] = {Int64GetDatum(task_id), CStringGetTextDatum(msg)};

		if (SPI_execute_with_args("UPDATE backtest.tasks SET status = 'failed', error = $2, "
								  "finished_at = pg_catalog.now(), eta = NULL WHERE id = $1",
								  2, ftypes, fvalues, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not fail task " INT64_FORMAT, task_id);
		ereport(LOG, (errmsg("pg_backtest: task " INT64_FORMAT " failed: %s", task_id, msg)));
		btpg_notify_task(task_id, "failed", 0, NULL, 0, 5, NULL, 0, NAN, NULL);
		end_txn();
		return true;
	}

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	btpg_shared->slots[slot].in_use = true;
	btpg_shared->slots[slot].task_id = task_id;
	btpg_shared->slots[slot].pid = 0;
	btpg_shared->slots[slot].cancel_requested = false;
	LWLockRelease(btpg_shared->lock);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_backtest");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "btpg_task_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_backtest task " INT64_FORMAT, task_id);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pg_backtest task");
	worker.bgw_main_arg = Int32GetDatum(slot);
	worker.bgw_notify_pid = MyProcPid;
	start.task_id = task_id;
	start.dbid = MyDatabaseId;
	start.owner = owner;
	memcpy(worker.bgw_extra, &start, sizeof(start));

	old = MemoryContextSwitchTo(longlived);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		MemoryContextSwitchTo(old);
		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		btpg_shared->slots[slot].in_use = false;
		LWLockRelease(btpg_shared->lock);
		end_txn();				/* the task stays pending */
		if (TimestampDifferenceExceeds(last_slot_warning, GetCurrentTimestamp(), 60000))
		{
			ereport(WARNING,
					(errmsg("pg_backtest: no background worker slot free to run task " INT64_FORMAT,
							task_id),
					 errdetail("The task stays pending and starts when a slot frees up."),
					 errhint("Raise max_worker_processes (now %d) to at least pg_backtest.max_concurrent "
							 "plus the other background workers, and restart the server.",
							 max_worker_processes)));
			last_slot_warning = GetCurrentTimestamp();
		}
		return false;
	}
	MemoryContextSwitchTo(old);
	handles[slot] = handle;
	handle_tasks[slot] = task_id;

	/* claim it: running, one more attempt; the worker waits on our row lock */
	values[0] = Int64GetDatum(task_id);
	if (SPI_execute_with_args("UPDATE backtest.tasks SET status = 'running', attempts = attempts + 1, "
							  "started_at = pg_catalog.now(), finished_at = NULL, progress = 0, "
							  "current_step = 'starting', step_index = 0, message = NULL, error = NULL, "
							  "elapsed = '0', eta = NULL, worker_pid = NULL WHERE id = $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not claim task " INT64_FORMAT, task_id);
	btpg_notify_task(task_id, "running", 0, "starting", 0, 5, "worker starting", 0, NAN, NULL);
	end_txn();
	return true;
}

/*
 * btpg_launcher_main
 *		Entry point of the launcher.
 */
void
btpg_launcher_main(Datum main_arg)
{
	MemoryContext longlived,
				scratch;
	bool		recovered = false;
	TimestampTz last_recovery = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(btpg_database_name, NULL, 0);
	pgstat_report_appname("pg_backtest launcher");

	/*
	 * The launcher runs as the bootstrap superuser: never resolve a name
	 * through a search_path a database owner could set (ALTER DATABASE).
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * Claims and requeues need not wait for the WAL flush: if the server
	 * crashes before they are durable, startup recovery requeues the task
	 * anyway.  Waiting would put an fsync between a submission and its
	 * "running" event.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	btpg_shared->launcher_pid = MyProcPid;
	btpg_shared->launcher_latch = MyLatch;
	LWLockRelease(btpg_shared->lock);
	before_shmem_exit(launcher_shmem_exit, (Datum) 0);

	longlived = AllocSetContextCreate(TopMemoryContext, "pg_backtest launcher",
									  ALLOCSET_DEFAULT_SIZES);
	scratch = AllocSetContextCreate(longlived, "pg_backtest launcher loop",
									ALLOCSET_DEFAULT_SIZES);
	ereport(LOG,
			(errmsg("pg_backtest launcher started for database \"%s\"", btpg_database_name)));

	for (;;)
	{
		MemoryContextSwitchTo(scratch);
		MemoryContextReset(scratch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		reap_workers();
		if (queue_ready())
		{
			if (!recovered ||
				TimestampDifferenceExceeds(last_recovery, GetCurrentTimestamp(), 1000))
			{
				recover_stale_tasks(!recovered);
				recovered = true;
				last_recovery = GetCurrentTimestamp();
			}
			while (launch_one(longlived))
				CHECK_FOR_INTERRUPTS();
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 btpg_launcher_naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
