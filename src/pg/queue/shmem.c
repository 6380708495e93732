/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  GUCs, shared memory and launcher registration of the worker pool;
 *	  the shared-memory helpers the launcher, the dispatchers, the workers
 *	  and the submitting backends share (database entries, slots, wakeups).
 *
 * Locking: see queue.h (one LWLock protects BtpgShared).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "core/bgworker.h"
#include "queue.h"

int			btpg_max_concurrent = 3;
int			btpg_max_attempts = 3;
int			btpg_launcher_naptime = 1000;
int			btpg_retry_delay = 1000;
char	   *btpg_test_delay = NULL;
int			btpg_tasks_per_worker = 100;
int			btpg_dispatcher_linger = 10000;

BtpgShared   *btpg_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool wake_registered = false;
static bool wake_pending = false;

/* Running tasks to stop when the current transaction commits */
#define MAX_PENDING_CANCELS 64
static int64 pending_cancels[MAX_PENDING_CANCELS];
static int	npending_cancels = 0;

/*
 * btpg_define_gucs
 *		Define the runtime pg_backtest.* settings (always, preloaded or not).
 */
void
btpg_define_gucs(void)
{
	DefineCustomIntVariable("pg_backtest.max_concurrent",
							"Most backtest tasks that run at once.",
							"Further tasks wait, oldest first.  Each running task uses one "
							"background worker slot (max_worker_processes).",
							&btpg_max_concurrent, 3, 1, BTPG_MAX_SLOTS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.max_attempts",
							"Times a task is started before a dying worker marks it failed.",
							"A task whose worker died (crash, kill -9, immediate shutdown) is "
							"requeued until it has been started this many times.",
							&btpg_max_attempts, 3, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.launcher_naptime",
							"Longest time the launcher sleeps between looks at the queue.",
							"Submissions wake it at once; this bounds retries when worker slots "
							"were short.",
							&btpg_launcher_naptime, 1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.retry_delay",
							"Wait before a task whose worker died is started again.",
							"The wait doubles with every attempt (at most 64 times this).",
							&btpg_retry_delay, 1000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_backtest.test_delay",
							   "For tests only: delay a task worker at a named point.",
							   "A value \"point:milliseconds\" makes task workers sleep that long "
							   "at the point (worker_start, after_claim, worker_exit).  Empty: off.",
							   &btpg_test_delay, "",
							   PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.tasks_per_worker",
							"Most tasks one task worker runs before it exits.",
							"A worker that finishes a task runs the next pending task of the same "
							"owner and database if it is the oldest startable one in the cluster, "
							"saving a process start; 1 starts a worker per task.",
							&btpg_tasks_per_worker, 100, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_backtest.dispatcher_linger",
							"How long a database's dispatcher stays after its queue went idle.",
							"A submission within that time starts its worker at once instead of "
							"first starting a dispatcher.  A lingering dispatcher holds one "
							"background worker slot and a connection to its database (DROP "
							"DATABASE still sends it away); 0 makes it exit as soon as the "
							"queue is idle.",
							&btpg_dispatcher_linger, 10000, 0, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/*
 * btpg_test_delay_point
 *		Sleep if pg_backtest.test_delay names this point (a test hook that
 *		makes races deterministic; never set in production).
 */
void
btpg_test_delay_point(const char *point)
{
	size_t		len = strlen(point);
	long		ms;

	if (btpg_test_delay == NULL || strncmp(btpg_test_delay, point, len) != 0 ||
		btpg_test_delay[len] != ':')
		return;
	ms = strtol(btpg_test_delay + len + 1, NULL, 10);
	if (ms <= 0)
		return;
	elog(LOG, "pg_backtest: test delay at %s: %ld ms", point, ms);
	pg_usleep(ms * 1000L);
}

/* Request our shared memory and LWLock tranche (PG15 shmem_request_hook) */
static void
btpg_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(BtpgShared)));
	RequestNamedLWLockTranche("pg_backtest", 1);
}

/* Create or attach to BtpgShared */
static void
btpg_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	btpg_shared = ShmemInitStruct("pg_backtest", sizeof(BtpgShared), &found);
	if (!found)
	{
		memset(btpg_shared, 0, sizeof(BtpgShared));
		btpg_shared->lock = &(GetNamedLWLockTranche("pg_backtest"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * btpg_shmem_init_hooks
 *		Install the shmem hooks; call from _PG_init while preloading.
 */
void
btpg_shmem_init_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = btpg_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = btpg_shmem_startup;
	btpg_install_dropdb_hook();
}

/*
 * btpg_register_launcher
 *		Register the launcher background worker; call from _PG_init while
 *		preloading (not during binary upgrade).
 */
void
btpg_register_launcher(void)
{
	BackgroundWorker worker;

	btpg_bgworker_init(&worker, "btpg_launcher_main", "pg_backtest launcher",
					   "pg_backtest launcher");
	worker.bgw_restart_time = 5;	/* seconds */
	worker.bgw_notify_pid = 0;	/* a static worker */
	RegisterBackgroundWorker(&worker);
}

/*
 * btpg_require_shared
 *		Error unless the library was preloaded (the worker pool needs it).
 */
void
btpg_require_shared(void)
{
	if (btpg_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_backtest must be loaded via shared_preload_libraries to run tasks in the background"),
				 errhint("Add pg_backtest to shared_preload_libraries and restart the server; "
						 "backtest_run() works without it.")));
}

/*
 * Tell the workers of the tasks cancelled in this transaction to stop: set
 * their slots' flags and interrupt them (SIGINT cancels a query or an engine
 * chunk in progress; the worker then records the task as cancelled).
 */
static void
signal_pending_cancels(void)
{
	pid_t		pids[MAX_PENDING_CANCELS];
	int			npids = 0;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	for (int k = 0; k < npending_cancels; k++)
		for (int i = 0; i < BTPG_MAX_SLOTS; i++)
			if (btpg_shared->slots[i].in_use && btpg_shared->slots[i].dbid == MyDatabaseId &&
				btpg_shared->slots[i].task_id == pending_cancels[k])
			{
				btpg_shared->slots[i].cancel_requested = true;
				if (btpg_shared->slots[i].pid > 0)
					pids[npids++] = btpg_shared->slots[i].pid;
			}
	LWLockRelease(btpg_shared->lock);
	for (int k = 0; k < npids; k++)
		kill(pids[k], SIGINT);
}

/*
 * At commit: wake the launcher for new tasks, and stop the workers of
 * cancelled ones; a rolled-back submit or cancel does nothing.
 */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	if (npending_cancels > 0)
	{
		if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) && btpg_shared)
			signal_pending_cancels();
		if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
			event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
			npending_cancels = 0;
	}
	if (!wake_pending)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		BtpgDb	   *db;

		/*
		 * Tell this database's dispatcher, or the launcher if none serves
		 * it (the launcher then starts one).  The row is visible to new
		 * snapshots by now.
		 */
		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		db = btpg_find_db(MyDatabaseId, true);
		if (db)
			db->requested = true;
		if (db && db->dispatcher_pid != 0 && db->dispatcher_latch)
			SetLatch(db->dispatcher_latch);
		else if (btpg_shared->launcher_latch)
			SetLatch(btpg_shared->launcher_latch);
		LWLockRelease(btpg_shared->lock);
		if (db == NULL)
			ereport(WARNING,
					(errmsg("pg_backtest: more than %d databases have queued tasks at once",
							BTPG_MAX_DBS),
					 errdetail("The task stays pending until a later submission in this database.")));
		wake_pending = false;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_pending = false;
}

/*
 * btpg_wake_launcher_at_commit
 *		Arrange for the launcher to be woken when the current transaction
 *		commits (so it sees the new row at once, with no polling delay).
 */
void
btpg_wake_launcher_at_commit(void)
{
	if (!wake_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		wake_registered = true;
	}
	wake_pending = true;
}

/*
 * btpg_cancel_at_commit
 *		Stop the worker running task_id when the current transaction commits
 *		(the row's cancel_requested is set in the same transaction).
 */
void
btpg_cancel_at_commit(int64 task_id)
{
	if (!wake_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		wake_registered = true;
	}
	if (npending_cancels < MAX_PENDING_CANCELS)
		pending_cancels[npending_cancels++] = task_id;
	else
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many running tasks cancelled in one transaction"),
				 errhint("Cancel at most %d running tasks per transaction.", MAX_PENDING_CANCELS)));
}

/*
 * btpg_find_db
 *		The entry of database dbid; with create, a free entry is taken for it
 *		(NULL when the table is full).  Caller holds btpg_shared->lock
 *		(exclusively if create).
 */
BtpgDb *
btpg_find_db(Oid dbid, bool create)
{
	BtpgDb	   *free_entry = NULL;

	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];

		if (db->dbid == dbid)
			return db;
		if (free_entry == NULL && db->dbid == InvalidOid)
			free_entry = db;
	}
	if (!create || free_entry == NULL)
		return NULL;
	memset(free_entry, 0, sizeof(BtpgDb));
	free_entry->dbid = dbid;
	return free_entry;
}

/*
 * btpg_wake_oldest_dispatcher
 *		Set the latch of the dispatcher whose startable task is oldest (not
 *		that of except_db): a slot is free and it is next.  Caller holds
 *		btpg_shared->lock.
 */
void
btpg_wake_oldest_dispatcher(Oid except_db)
{
	BtpgDb	   *best = NULL;

	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];

		if (db->dbid == InvalidOid || db->dbid == except_db || !db->has_pending ||
			db->dispatcher_pid == 0 || db->dispatcher_latch == NULL)
			continue;
		if (best == NULL || db->oldest < best->oldest ||
			(db->oldest == best->oldest && db->dbid < best->dbid))
			best = db;
	}
	if (best)
		SetLatch(best->dispatcher_latch);
}

/*
 * btpg_release_slot
 *		Free slot `slot` if process `pid` holds it (a worker's exit, or a
 *		dispatcher freeing its own reservation for a worker that never
 *		started, pid 0),
 *		and wake the dispatcher that is next in line for it.
 */
void
btpg_release_slot(int slot, pid_t pid)
{
	BtpgSlot	   *s;

	if (slot < 0 || slot >= BTPG_MAX_SLOTS)
		return;
	s = &btpg_shared->slots[slot];
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	/* pid 0: only the reservation this dispatcher made (not another's) */
	if (s->in_use && s->pid == pid && (pid != 0 || s->dispatcher_pid == MyProcPid))
	{
		s->in_use = false;
		s->pid = 0;
		s->task_id = 0;
		s->dbid = InvalidOid;
		btpg_wake_oldest_dispatcher(InvalidOid);
	}
	LWLockRelease(btpg_shared->lock);
}

/*
 * btpg_db_dropping
 *		Is a backend running DROP DATABASE on db's database (and alive)?
 *		Then no dispatcher may start for it and no worker may take another of
 *		its tasks.  Caller holds btpg_shared->lock.
 */
bool
btpg_db_dropping(BtpgDb *db)
{
	return db != NULL && db->dropper_pid != 0 && kill(db->dropper_pid, 0) == 0;
}
