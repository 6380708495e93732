/*-------------------------------------------------------------------------
 *
 * dispatcher.c
 *	  A per-database dispatcher: a dynamic background worker, started by
 *	  the cluster launcher (launcher.c), that serves one database's task
 *	  queue and exits when the queue has been idle for
 *	  pg_backtest.dispatcher_linger (at once if it has started no worker).
 *
 * Each loop it recovers tasks whose worker is gone, reaps its own workers
 * and starts one dynamic task worker per pending task, oldest first, while
 * the cluster-wide slots (pg_backtest.max_concurrent, shared by every
 * database) allow and no other database has an older startable task: it
 * publishes the submission time of its oldest startable task in its
 * BtpgShared->dbs entry, and a slot goes to the oldest across databases.
 *
 * The claim: the dispatcher only reserves a slot and starts the worker; the
 * worker itself claims the task (pending -> running, attempts + 1) in its own
 * transaction, holding the task's advisory lock (BTPG_TASK_LOCK_FIELD4).
 * So a task is `running` only while a live worker holds its lock, and
 * recovery requeues a running task only when it can take that lock: no
 * task ever has two live attempts.
 *
 * Errors: a failing step is logged, its transaction aborted and the loop
 * goes on; when the extension is dropped, the dispatcher exits.
 *
 * Memory: a long-lived context holds the worker handles; a scratch context
 * is reset every loop.  Start/CommitTransactionCommand switch
 * CurrentMemoryContext to the transaction's context and back.
 *
 * Locking: see queue.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/dispatcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
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
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/bgworker.h"
#include "core/bookkeeper.h"
#include "notify/notify.h"
#include "queue.h"
#include "seal.h"

/* Called once a round (btpg_dispatcher_round_hook, queue.h); NULL: nothing */
BtpgDispatcherRoundHook btpg_dispatcher_round_hook = NULL;

/* Handles of the workers this dispatcher started, by slot (long-lived memory) */
static BackgroundWorkerHandle *handles[BTPG_MAX_SLOTS];
/* The task each of those workers runs, and its attempts when it was started */
static int64 handle_tasks[BTPG_MAX_SLOTS];
static int32 handle_attempts[BTPG_MAX_SLOTS];
static TimestampTz last_slot_warning = 0;
static BtpgDb *my_db = NULL;
/* When the next requeued task becomes startable (0: none waits) */
static TimestampTz next_retry = 0;
/* Has this dispatcher started a task worker (then it lingers when idle)? */
static bool started_a_worker = false;

/* Clear our database entry on exit; the launcher restarts us if asked */
static void
dispatcher_shmem_exit(int code, Datum arg)
{
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	if (my_db && my_db->dispatcher_pid == MyProcPid)
	{
		my_db->dispatcher_pid = 0;
		my_db->dispatcher_latch = NULL;
		my_db->has_pending = false;
		my_db->npending = 0;
		if (!my_db->requested)
			my_db->dbid = InvalidOid;
	}
	if (btpg_shared->launcher_latch)
		SetLatch(btpg_shared->launcher_latch);
	/* a slot may be free for another database now */
	btpg_wake_oldest_dispatcher(MyDatabaseId);
	LWLockRelease(btpg_shared->lock);
}

static Oid	saved_user;
static int	saved_sec;

/*
 * Start a transaction with SPI and a snapshot (undo with end_txn).  Its
 * statements run as the queue tables' owner (BTPG_BOOKKEEPER), not as the
 * bootstrap superuser the dispatcher connects as: the database owner owns
 * those tables, and a trigger of hers must not run as a superuser.  (An
 * error aborts the transaction, which restores the user.)
 */
static void
begin_txn(const char *activity)
{
	btpg_begin_txn(activity);
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(BTPG_BOOKKEEPER, saved_sec | SECURITY_LOCAL_USERID_CHANGE);
}

static void
end_txn(void)
{
	SetUserIdAndSecContext(saved_user, saved_sec);
	btpg_end_txn();
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
 * The role a task's owner name names, as a column of a query on
 * backtest.tasks: NULL when no role has that name (it was dropped, or the
 * tasks were restored into a cluster without it).
 */
#define OWNER_OID "(SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) tasks.owner)"

/*
 * Why no worker can run a task as role `roleid` (the role named `name`), or
 * NULL if one can: no role has that name, or it cannot log in.  Caller is
 * in a transaction.
 */
static char *
role_problem(Oid roleid, const char *name)
{
	HeapTuple	tup;
	char	   *why = NULL;

	if (!OidIsValid(roleid))
		return psprintf("role \"%s\" does not exist, so the task cannot run", name ? name : "");
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	if (!HeapTupleIsValid(tup))
		return psprintf("role \"%s\" does not exist, so the task cannot run", name ? name : "");
	if (!((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin)
		why = psprintf("role \"%s\" cannot log in, so no background worker can run the task as it",
					   NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));
	ReleaseSysCache(tup);
	return why;
}

/*
 * Try to take the advisory lock a live worker of task_id holds, for the rest
 * of the transaction.  True means no live worker runs the task.
 */
static bool
task_lock_free(int64 task_id)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (((uint64) task_id) >> 32),
						 (uint32) task_id, BTPG_TASK_LOCK_FIELD4);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Fail task_id (pending or running) at once with `why`, sending an event.
 * Caller is in a transaction with SPI connected.
 */
static void
fail_task(int64 task_id, const char *why)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(task_id), CStringGetTextDatum(why)};

	if (SPI_execute_with_args("UPDATE backtest.tasks SET status = 'failed', error = $2, message = NULL, "
							  "finished_at = pg_catalog.now(), "
							  "elapsed = pg_catalog.now() OPERATOR(pg_catalog.-) coalesce(started_at, pg_catalog.now()), "
							  "progress = 0, worker_pid = NULL, eta = NULL, retry_at = NULL, "
							  "cancel_requested = false "
							  "WHERE id OPERATOR(pg_catalog.=) $1 AND status IN ('pending', 'running')",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not fail task " INT64_FORMAT, task_id);
	if (SPI_processed == 0)
		return;
	ereport(LOG, (errmsg("pg_backtest: task " INT64_FORMAT " failed: %s", task_id, why)));
	btpg_notify_task(task_id, "failed", 0, NULL, 0, 5, NULL, 0, NAN, NULL);
}

/*
 * A task whose last attempt ended without an outcome: requeue it (with a
 * delay that doubles with every attempt) while attempts < max_attempts, else
 * fail it; cancel it if that was asked.  `why` says what happened.  Caller is
 * in a transaction with SPI connected and has made sure no live worker runs
 * the task (task_lock_free, or the worker never claimed it).
 */
static void
retry_task(int64 task_id, const char *why)
{
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, FLOAT8OID};
	Datum		values[4] = {Int64GetDatum(task_id), Int32GetDatum(btpg_max_attempts),
	CStringGetTextDatum(why), Float8GetDatum(btpg_retry_delay / 1000.0)};
	char	   *status;
	char	   *msg;

	if (SPI_execute_with_args("UPDATE backtest.tasks SET "
							  "status = CASE WHEN cancel_requested THEN 'cancelled' "
							  "  WHEN attempts < $2 THEN 'pending' ELSE 'failed' END, "
							  "error = CASE WHEN cancel_requested OR attempts < $2 THEN NULL "
							  "  ELSE pg_catalog.format('%s (started %s times; giving up)', $3, attempts) END, "
							  "message = CASE WHEN cancel_requested THEN 'cancelled; its worker exited' "
							  "  WHEN attempts < $2 "
							  "  THEN pg_catalog.format('%s (attempt %s of %s; retrying)', $3, attempts, $2) "
							  "  ELSE NULL END, "
							  "retry_at = CASE WHEN NOT cancel_requested AND attempts < $2 "
							  "  THEN pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => "
							  "    $4 OPERATOR(pg_catalog.*) pg_catalog.power(2, LEAST(GREATEST(attempts, 1), 7) OPERATOR(pg_catalog.-) 1)) END, "
							  "finished_at = CASE WHEN cancel_requested OR attempts >= $2 THEN pg_catalog.now() END, "
							  "progress = 0, worker_pid = NULL, eta = NULL, cancel_requested = false "
							  "WHERE id OPERATOR(pg_catalog.=) $1 AND status IN ('pending', 'running') "
							  "RETURNING status, coalesce(message, error), owner, "
							  "pg_catalog.jsonb_build_object('task_id', id, 'status', status, 'reason', $3, "
							  "  'attempt', attempts, 'max_attempts', $2)",
							  4, types, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not requeue task " INT64_FORMAT, task_id);
	if (SPI_processed == 0)
		return;
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	msg = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	ereport(LOG,
			(errmsg("pg_backtest: task " INT64_FORMAT " %s: %s", task_id,
					strcmp(status, "pending") == 0 ? "requeued" : status, msg)));
	/*
	 * A requeue is no outcome (the task trigger records none), but its owner
	 * must know that the run started over: a system notification, in this
	 * transaction.  A failure or a cancel records its own, by the trigger.
	 */
	if (strcmp(status, "pending") == 0)
	{
		char	   *owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		char	   *meta = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

		(void) btpg_notification_add_for(owner, "system",
										 psprintf("task " INT64_FORMAT " requeued", task_id),
										 psprintf("task " INT64_FORMAT ": %s", task_id, msg),
										 "high", meta,
										 psprintf("SELECT * FROM %s.backtest_status(" INT64_FORMAT ")",
												  btpg_extension_schema(), task_id));
	}
	btpg_notify_task(task_id, status, 0, NULL, 0, 5, NULL, 0, NAN, NULL);
}

/*
 * Requeue or fail the running tasks (all, or only task_id if > 0) whose
 * worker is gone: those whose advisory lock is free.  A task whose owner can
 * no longer log in is failed at once with that cause.
 */
static void
recover_tasks(int64 task_id, const char *why)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(task_id)};
	int64	   *ids;
	Oid		   *owners;
	char	  **names;
	uint64		n;

	begin_txn("pg_backtest: recovering tasks");
	if (SPI_execute_with_args("SELECT id, " OWNER_OID ", owner FROM backtest.tasks WHERE status = 'running' "
							  "AND ($1 OPERATOR(pg_catalog.<=) 0 OR id OPERATOR(pg_catalog.=) $1) ORDER BY id",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the running tasks");
	n = SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	owners = palloc(sizeof(Oid) * Max(n, 1));
	names = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		owners[i] = isnull ? InvalidOid : DatumGetObjectId(d);
		names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
	}
	for (uint64 i = 0; i < n; i++)
	{
		char	   *cause;

		/* a live worker holds the lock: not ours to touch */
		if (!task_lock_free(ids[i]))
			continue;
		cause = role_problem(owners[i], names[i]);
		if (cause)
			fail_task(ids[i], cause);
		else
			retry_task(ids[i], why);
	}
	end_txn();
}

/*
 * Forget the workers that have stopped and settle their tasks: one that
 * never claimed its task (it could not start or connect) counts as an
 * attempt; one that left its task running exited without an outcome.
 */
static void
reap_workers(void)
{
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		pid_t		pid;
		int64		task_id = handle_tasks[i];
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(task_id)};

		if (handles[i] == NULL || GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = NULL;
		/* the worker frees its own slot; this one never got that far */
		btpg_release_slot(i, 0);

		begin_txn("pg_backtest: reaping a worker");
		if (SPI_execute_with_args("SELECT status, attempts, " OWNER_OID ", owner FROM backtest.tasks "
								  "WHERE id OPERATOR(pg_catalog.=) $1",
								  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read task " INT64_FORMAT, task_id);
		if (SPI_processed == 1)
		{
			bool		isnull;
			char	   *status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			int32		attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
			Oid			owner = isnull ? InvalidOid : DatumGetObjectId(d);
			char	   *cause = role_problem(owner, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4));

			if (strcmp(status, "pending") == 0 && attempts == handle_attempts[i] &&
				task_lock_free(task_id))
			{
				/* (a lock held: a worker of a previous dispatcher is claiming it) */
				/* never claimed: count the failed start as an attempt */
				if (cause)
					fail_task(task_id, cause);
				else
				{
					if (SPI_execute_with_args("UPDATE backtest.tasks SET attempts = attempts + 1 "
											  "WHERE id OPERATOR(pg_catalog.=) $1 AND status = 'pending'",
											  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
						elog(ERROR, "could not count the attempt of task " INT64_FORMAT, task_id);
					retry_task(task_id, "its worker could not start (see the server log)");
				}
			}
			else if (strcmp(status, "running") == 0 && task_lock_free(task_id))
			{
				if (cause)
					fail_task(task_id, cause);
				else
					retry_task(task_id, "the worker exited before finishing "
							   "(terminated, or a fatal error: see the server log)");
			}
		}
		end_txn();
	}
}

/*
 * Publish whether this database has a startable task and when the oldest
 * was submitted; wake the next database in line when we have none.
 */
static void
publish_oldest(bool has, TimestampTz oldest)
{
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	my_db->has_pending = has;
	my_db->oldest = oldest;
	if (!has)
		btpg_wake_oldest_dispatcher(MyDatabaseId);
	LWLockRelease(btpg_shared->lock);
}

/* Is DROP DATABASE waiting for this database (dropdb.c)? */
static bool
dropping(void)
{
	bool		d;

	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	d = btpg_db_dropping(my_db);
	LWLockRelease(btpg_shared->lock);
	return d;
}

/*
 * Is task_id already in a slot of this database (a reused worker took it
 * as its next task), or is this database being dropped (dropdb.c)?
 * Caller holds btpg_shared->lock.
 */
static bool
slot_taken_or_dropping(int64 task_id)
{
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (btpg_shared->slots[i].in_use && btpg_shared->slots[i].dbid == MyDatabaseId &&
			btpg_shared->slots[i].task_id == task_id)
			return true;
	return btpg_db_dropping(my_db);
}

/*
 * Reserve a free slot for task_id if the cluster-wide cap allows and no
 * other database has an older startable task (that one is woken instead).
 * Returns the slot, -1, or -2 when another worker runs the task already or
 * the database is being dropped.
 */
static int
reserve_slot(int64 task_id, TimestampTz oldest)
{
	int			used = 0;
	int			free_slot = -1;
	bool		yield = false;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		if (btpg_shared->slots[i].in_use)
			used++;
		else if (free_slot < 0 && handles[i] == NULL)
			free_slot = i;
	}
	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];

		if (db != my_db && db->dbid != InvalidOid && db->has_pending && db->dispatcher_pid != 0 &&
			(db->oldest < oldest || (db->oldest == oldest && db->dbid < MyDatabaseId)))
			yield = true;
	}
	if (slot_taken_or_dropping(task_id))
	{
		LWLockRelease(btpg_shared->lock);
		return -2;
	}
	if (used >= btpg_max_concurrent || free_slot < 0 || yield)
	{
		if (yield && used < btpg_max_concurrent)
			btpg_wake_oldest_dispatcher(MyDatabaseId);
		LWLockRelease(btpg_shared->lock);
		return -1;
	}
	btpg_shared->slots[free_slot].in_use = true;
	btpg_shared->slots[free_slot].cancel_requested = false;
	btpg_shared->slots[free_slot].dbid = MyDatabaseId;
	btpg_shared->slots[free_slot].task_id = task_id;
	btpg_shared->slots[free_slot].pid = 0;
	btpg_shared->slots[free_slot].dispatcher_pid = MyProcPid;
	btpg_shared->slots[free_slot].assigned_at = GetCurrentTimestamp();
	LWLockRelease(btpg_shared->lock);
	return free_slot;
}

/*
 * Append to ids the tasks the slots of this database hold (reused workers
 * move their slot to their next task before claiming it); returns the new
 * count.
 */
static int
add_slot_tasks(Datum *ids, int n)
{
	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (btpg_shared->slots[i].in_use && btpg_shared->slots[i].dbid == MyDatabaseId)
			ids[n++] = Int64GetDatum(btpg_shared->slots[i].task_id);
	LWLockRelease(btpg_shared->lock);
	return n;
}

/*
 * How many ms more an idle dispatcher stays (idle since idle_since;
 * pg_backtest.dispatcher_linger): none if it has not started a worker yet
 * (the launcher's visit at server start, a DROP EXTENSION), nor while a task
 * worker could not be registered for want of a background worker slot (a
 * lingering dispatcher holds one).
 */
static long
linger_left(TimestampTz idle_since, TimestampTz now)
{
	bool		short_of_slots;
	long		secs;
	int			usecs;

	if (!started_a_worker || btpg_dispatcher_linger <= 0)
		return 0;
	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	short_of_slots = btpg_shared->worker_slots_short;
	LWLockRelease(btpg_shared->lock);
	if (short_of_slots)
		return 0;
	TimestampDifference(now, TimestampTzPlusMilliseconds(idle_since, btpg_dispatcher_linger),
						&secs, &usecs);
	return secs * 1000 + (usecs + 999) / 1000;
}

/*
 * Record whether the last task worker could be registered; when not, wake
 * the other dispatchers so that lingering ones give their slot back.
 */
static void
note_worker_slots(bool registered)
{
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	if (registered)
		btpg_shared->worker_slots_short = false;
	else if (!btpg_shared->worker_slots_short)
	{
		btpg_shared->worker_slots_short = true;
		for (int i = 0; i < BTPG_MAX_DBS; i++)
			if (&btpg_shared->dbs[i] != my_db && btpg_shared->dbs[i].dispatcher_latch)
				SetLatch(btpg_shared->dbs[i].dispatcher_latch);
	}
	LWLockRelease(btpg_shared->lock);
}

/*
 * Start a worker for the oldest startable pending task, if the slots allow.
 * Returns false when there is nothing (more) to start now.
 */
static bool
launch_one(MemoryContext longlived)
{
	Datum		started[2 * BTPG_MAX_SLOTS];
	int			nstarted = 0;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1];
	int64		task_id;
	Oid			owner;
	int32		attempts;
	TimestampTz submitted;
	bool		isnull;
	char	   *cause;
	int			slot;
	BackgroundWorker worker;
	BtpgTaskStart start;
	BackgroundWorkerHandle *handle;
	MemoryContext old;

	/* tasks our live workers are about to claim are not startable */
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (handles[i] != NULL)
			started[nstarted++] = Int64GetDatum(handle_tasks[i]);
	nstarted = add_slot_tasks(started, nstarted);
	values[0] = PointerGetDatum(construct_array(started, nstarted, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	begin_txn("pg_backtest: looking at the queue");
	if (SPI_execute_with_args("SELECT id, " OWNER_OID ", attempts, submitted_at, owner FROM backtest.tasks "
							  "WHERE status = 'pending' AND NOT (id OPERATOR(pg_catalog.=) ANY ($1)) "
							  "AND (retry_at IS NULL OR retry_at OPERATOR(pg_catalog.<=) pg_catalog.now()) "
							  "ORDER BY id LIMIT 1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the queue");
	if (SPI_processed == 0)
	{
		/* nothing startable now; when does a requeued task become startable? */
		if (SPI_execute("SELECT min(retry_at) FROM backtest.tasks WHERE status = 'pending' "
						"AND retry_at OPERATOR(pg_catalog.>) pg_catalog.now()", false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the queue");
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			next_retry = isnull ? 0 : DatumGetTimestampTz(d);
		}
		end_txn();
		publish_oldest(false, 0);
		return false;
	}
	task_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		owner = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	attempts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	submitted = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));

	/* don't start what cannot succeed: fail it with the cause */
	cause = role_problem(owner, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5));
	if (cause)
	{
		fail_task(task_id, cause);
		end_txn();
		return true;
	}
	end_txn();

	publish_oldest(true, submitted);
	slot = reserve_slot(task_id, submitted);
	if (slot == -2)
		return !dropping();	/* taken meanwhile: look again */
	if (slot < 0)
		return false;

	btpg_bgworker_init(&worker, "btpg_task_main",
					   psprintf("pg_backtest task " INT64_FORMAT, task_id), "pg_backtest task");
	worker.bgw_main_arg = Int32GetDatum(slot);
	start.task_id = task_id;
	start.dbid = MyDatabaseId;
	start.owner = owner;
	btpg_test_delay_point("after_reserve");
	/* our reserved slot: only we write it until its worker starts */
	start.launched_at = btpg_shared->slots[slot].assigned_at;
	memcpy(worker.bgw_extra, &start, sizeof(start));

	old = MemoryContextSwitchTo(longlived);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		MemoryContextSwitchTo(old);
		btpg_release_slot(slot, 0);		/* the task stays pending */
		note_worker_slots(false);
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
	note_worker_slots(true);
	started_a_worker = true;
	handles[slot] = handle;
	handle_tasks[slot] = task_id;
	handle_attempts[slot] = attempts;
	return true;
}

/* Has this database's queue nothing pending or running, and no worker of ours? */
static bool
queue_idle(void)
{
	bool		idle = true;
	Datum		ids[BTPG_MAX_SLOTS];
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1];

	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (handles[i] != NULL)
			idle = false;
	/*
	 * Counted even while workers run: the system status publishes the
	 * pending tasks, less those a slot holds (counted as running there).
	 */
	values[0] = PointerGetDatum(construct_array(ids, add_slot_tasks(ids, 0), INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	begin_txn("pg_backtest: checking the queue");
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) FILTER (WHERE status = 'pending' "
							  "  AND NOT (id OPERATOR(pg_catalog.=) ANY ($1)))::pg_catalog.int4, "
							  "pg_catalog.count(*)::pg_catalog.int4 "
							  "FROM backtest.tasks WHERE status IN ('pending', 'running')",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the queue");
	{
		bool		isnull;
		int			npending = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 1, &isnull));

		if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
										&isnull)) != 0)
			idle = false;
		/* for the system status (status.c) */
		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		my_db->npending = npending;
		LWLockRelease(btpg_shared->lock);
	}
	end_txn();
	return idle;
}

/*
 * btpg_dispatcher_main
 *		Entry point of a dispatcher; main_arg is its database's OID.
 */
void
btpg_dispatcher_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	MemoryContext longlived,
				scratch;
	TimestampTz last_recovery = 0;
	TimestampTz idle_since = 0;
	bool		other = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("pg_backtest dispatcher");

	/*
	 * The dispatcher runs as the bootstrap superuser: never resolve a name
	 * through a search_path a database owner could set (ALTER DATABASE).
	 * Requeues need not wait for the WAL flush (a crash requeues anyway);
	 * attempts are counted durably by the workers' claims.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	my_db = btpg_find_db(dbid, true);
	if (my_db && my_db->dispatcher_pid != 0 && my_db->dispatcher_pid != MyProcPid &&
		kill(my_db->dispatcher_pid, 0) == 0)
		other = true;
	else if (my_db)
	{
		my_db->dispatcher_pid = MyProcPid;
		my_db->dispatcher_latch = MyLatch;
		my_db->has_pending = false;
	}
	LWLockRelease(btpg_shared->lock);
	if (my_db == NULL || other)
		proc_exit(0);			/* another dispatcher serves it (or no room) */
	before_shmem_exit(dispatcher_shmem_exit, (Datum) 0);

	longlived = AllocSetContextCreate(TopMemoryContext, "pg_backtest dispatcher",
									  ALLOCSET_DEFAULT_SIZES);
	scratch = AllocSetContextCreate(longlived, "pg_backtest dispatcher loop",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		bool		done = false;
		long		timeout = btpg_launcher_naptime;
		long		status_wait = -1;

		btpg_loop_start(scratch);

		PG_TRY();
		{
			/* a submission from now on sets it again */
			LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
			my_db->requested = false;
			LWLockRelease(btpg_shared->lock);

			if (dropping())
			{
				ereport(DEBUG1,
						(errmsg("pg_backtest dispatcher: database %u is being dropped; exiting",
								dbid)));
				done = true;
			}
			else if (!queue_ready())
			{
				ereport(DEBUG1,
						(errmsg("pg_backtest dispatcher: extension not installed in database %u; exiting",
								dbid)));
				done = true;
			}
			else
			{
				reap_workers();
				if (last_recovery == 0 ||
					TimestampDifferenceExceeds(last_recovery, GetCurrentTimestamp(), 1000))
				{
					recover_tasks(0, "the worker died before finishing");
					last_recovery = GetCurrentTimestamp();
				}
				while (launch_one(longlived))
					CHECK_FOR_INTERRUPTS();
				if (!queue_idle())
					idle_since = 0;
				else
				{
					TimestampTz now = GetCurrentTimestamp();
					long		left;

					if (idle_since == 0)
						idle_since = now;
					left = linger_left(idle_since, now);
					LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
					if (!my_db->requested && left <= 0)
					{
						/* from now on submissions go to the launcher */
						my_db->dispatcher_pid = 0;
						my_db->dispatcher_latch = NULL;
						my_db->has_pending = false;
						done = true;
					}
					LWLockRelease(btpg_shared->lock);
					if (left > 0)
						timeout = Min(timeout, left);
				}
				/* the cluster's counts to this database's listeners */
				status_wait = btpg_dispatcher_round_hook ? btpg_dispatcher_round_hook(done) : -1;
			}
		}
		PG_CATCH();
		{
			/* log, clean up and go on: the queue must not stop */
			btpg_loop_recover(scratch);
		}
		PG_END_TRY();
		if (done)
			break;

		if (status_wait >= 0)
			timeout = Min(timeout, status_wait);
		if (next_retry != 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), next_retry, &secs, &usecs);
			timeout = Min(timeout, secs * 1000 + usecs / 1000 + 1);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(timeout, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	/* leave the entry to the launcher if a submission came in meanwhile */
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	if (my_db->dispatcher_pid == MyProcPid || my_db->dispatcher_pid == 0)
	{
		my_db->dispatcher_pid = 0;
		my_db->dispatcher_latch = NULL;
		my_db->npending = 0;
		if (!my_db->requested)
			my_db->dbid = InvalidOid;
	}
	if (btpg_shared->launcher_latch)
		SetLatch(btpg_shared->launcher_latch);
	LWLockRelease(btpg_shared->lock);
	my_db = NULL;
	proc_exit(0);
}
