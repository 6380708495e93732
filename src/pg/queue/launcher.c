/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The cluster launcher: one static background worker, connected to no
 *	  database, that starts a per-database dispatcher (dispatcher.c) for
 *	  every database with queued work.
 *
 * A database asks for a dispatcher through its entry in BtpgShared->dbs:
 * a submission's commit sets `requested` and the launcher's latch (unless a
 * dispatcher already serves the database, whose latch is set instead).  At
 * start the launcher marks every database that accepts connections, so
 * each is visited once: its dispatcher recovers tasks left pending or
 * running before a restart, or exits at once where the extension is not
 * installed.  A dispatcher exits when its queue has been idle for
 * pg_backtest.dispatcher_linger, and the DROP DATABASE hook (dropdb.c)
 * sends a lingering one away, so no idle connection blocks DROP DATABASE.
 *
 * Errors: a failing step is logged, its transaction aborted and the loop
 * goes on; the launcher never dies of an SQL error.
 *
 * Memory: a long-lived context holds the dispatchers' handles; a scratch
 * context is reset every loop.  Start/CommitTransactionCommand switch
 * CurrentMemoryContext to the transaction's context and back.
 *
 * Locking: see queue.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/bgworker.h"
#include "queue.h"

/* Handles of the dispatchers this launcher started, by BtpgShared->dbs index */
static BackgroundWorkerHandle *handles[BTPG_MAX_DBS];
/* The database each of those dispatchers serves (entries may be reused) */
static Oid	handle_db[BTPG_MAX_DBS];
static TimestampTz last_start[BTPG_MAX_DBS];
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

/*
 * Mark every database that accepts connections (templates excluded) as
 * requested, so each gets one visit.  Reads pg_database, a shared catalog,
 * which needs no database connection.
 */
static void
request_all_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			n = 0;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database d = (Form_pg_database) GETSTRUCT(tup);
		BtpgDb	   *db;

		if (!d->datallowconn || d->datistemplate)
			continue;
		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		db = btpg_find_db(d->oid, true);
		if (db)
		{
			db->requested = true;
			n++;
		}
		LWLockRelease(btpg_shared->lock);
		if (db == NULL)
			ereport(WARNING,
					(errmsg("pg_backtest: more than %d databases; database \"%s\" is not visited at start",
							BTPG_MAX_DBS, NameStr(d->datname)),
					 errdetail("Its tasks run after its next submission.")));
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	elog(DEBUG1, "pg_backtest launcher: visiting %d databases", n);
}

/* Does database dbid still exist and accept connections? */
static bool
database_usable(Oid dbid)
{
	HeapTuple	tup;
	bool		ok = false;

	StartTransactionCommand();
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (HeapTupleIsValid(tup))
	{
		ok = ((Form_pg_database) GETSTRUCT(tup))->datallowconn;
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return ok;
}

/*
 * Forget the dispatchers that have stopped.  An entry nobody asked for
 * again is freed; one still requested is started again by
 * start_dispatchers, unless its database is gone.
 */
static void
reap_dispatchers(void)
{
	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		pid_t		pid;
		BtpgDb	   *db = &btpg_shared->dbs[i];
		bool		requested;
		Oid			dbid;

		if (handles[i] == NULL ||
			GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = NULL;

		LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
		dbid = db->dbid;
		requested = false;
		if (dbid == handle_db[i])
		{
			/* it may have died before it could clear its entry */
			if (db->dispatcher_pid != 0 && kill(db->dispatcher_pid, 0) != 0)
			{
				db->dispatcher_pid = 0;
				db->dispatcher_latch = NULL;
				db->has_pending = false;
			}
			requested = db->requested;
			if (!requested && db->dispatcher_pid == 0)
				db->dbid = InvalidOid;
		}
		LWLockRelease(btpg_shared->lock);

		if (requested && OidIsValid(dbid) && !database_usable(dbid))
		{
			LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
			if (db->dbid == dbid && db->dispatcher_pid == 0)
				db->dbid = InvalidOid;
			LWLockRelease(btpg_shared->lock);
		}
	}
}

/*
 * Free what processes that are gone left behind: entries of dispatchers of
 * a previous launcher that died without clearing them, and slots reserved
 * by a dispatcher that is gone for a worker that never started.
 */
static void
free_stale_entries(void)
{
	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];

		if (db->dbid != InvalidOid && handles[i] == NULL && db->dispatcher_pid != 0 &&
			kill(db->dispatcher_pid, 0) != 0)
		{
			db->dispatcher_pid = 0;
			db->dispatcher_latch = NULL;
			db->has_pending = false;
			if (!db->requested)
				db->dbid = InvalidOid;
		}
	}
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
	{
		BtpgSlot	   *s = &btpg_shared->slots[i];

		if (s->in_use && s->pid == 0 && s->dispatcher_pid != 0 &&
			kill(s->dispatcher_pid, 0) != 0)
			s->in_use = false;
	}
	LWLockRelease(btpg_shared->lock);
}

/*
 * Start a dispatcher for each requested database that has none (each takes
 * a background worker slot; those of idle databases exit at once).  No cap:
 * a database without a dispatcher could not compete for the cluster-wide
 * slots.  A database whose dispatcher just stopped is started again after
 * naptime at the earliest.
 */
static void
start_dispatchers(MemoryContext longlived)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < BTPG_MAX_DBS; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];
		Oid			dbid;
		bool		want;
		BackgroundWorker worker;
		BackgroundWorkerHandle *handle;
		MemoryContext old;

		if (handles[i] != NULL)
			continue;
		LWLockAcquire(btpg_shared->lock, LW_SHARED);
		dbid = db->dbid;
		want = dbid != InvalidOid && db->requested && db->dispatcher_pid == 0 &&
			!btpg_db_dropping(db);
		LWLockRelease(btpg_shared->lock);
		if (!want ||
			!TimestampDifferenceExceeds(last_start[i], now, btpg_launcher_naptime))
			continue;

		btpg_bgworker_init(&worker, "btpg_dispatcher_main",
						   psprintf("pg_backtest dispatcher for database %u", dbid),
						   "pg_backtest dispatcher");
		worker.bgw_main_arg = ObjectIdGetDatum(dbid);

		old = MemoryContextSwitchTo(longlived);
		if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		{
			MemoryContextSwitchTo(old);
			if (TimestampDifferenceExceeds(last_slot_warning, now, 60000))
			{
				ereport(WARNING,
						(errmsg("pg_backtest: no background worker slot free for the dispatcher of database %u",
								dbid),
						 errdetail("Its tasks stay pending; the launcher tries again."),
						 errhint("Raise max_worker_processes (now %d) and restart the server.",
								 max_worker_processes)));
				last_slot_warning = now;
			}
			return;
		}
		MemoryContextSwitchTo(old);
		handles[i] = handle;
		handle_db[i] = dbid;
		last_start[i] = now;
	}
}

/*
 * btpg_launcher_main
 *		Entry point of the cluster launcher.
 */
void
btpg_launcher_main(Datum main_arg)
{
	MemoryContext longlived,
				scratch;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: the launcher reads only shared catalogs */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_backtest launcher");

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	btpg_shared->launcher_pid = MyProcPid;
	btpg_shared->launcher_latch = MyLatch;
	LWLockRelease(btpg_shared->lock);
	before_shmem_exit(launcher_shmem_exit, (Datum) 0);

	longlived = AllocSetContextCreate(TopMemoryContext, "pg_backtest launcher",
									  ALLOCSET_DEFAULT_SIZES);
	scratch = AllocSetContextCreate(longlived, "pg_backtest launcher loop",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scratch);
	request_all_databases();
	ereport(LOG, (errmsg("pg_backtest launcher started")));

	for (;;)
	{
		btpg_loop_start(scratch);

		PG_TRY();
		{
			reap_dispatchers();
			free_stale_entries();
			start_dispatchers(longlived);
		}
		PG_CATCH();
		{
			/* log, clean up and go on: the queue must not stop */
			btpg_loop_recover(scratch);
		}
		PG_END_TRY();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 btpg_launcher_naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
