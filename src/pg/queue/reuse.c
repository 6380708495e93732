/*-------------------------------------------------------------------------
 *
 * reuse.c
 *	  A task worker that has finished a task takes the next one itself
 *	  (pg_backtest.tasks_per_worker bounds how many), saving a process
 *	  start per task.
 *
 * What it may take: exactly the task a dispatcher would have started next
 * in its place.  That is the oldest startable pending task of its database
 * (tasks other slots hold excepted), and only if it belongs to the role the
 * worker is connected as (run-as-owner stays exact: a worker never changes
 * role), that role can still log in, the database is not being dropped,
 * and no other database publishes an older startable task (BtpgDb.oldest:
 * that database gets the slot when this worker exits).  Otherwise the
 * worker exits and frees its slot as before.  So the queue's order (oldest
 * first, across databases) and the cap are those of one worker per task:
 * a reused worker keeps the one slot it has.
 *
 * Between tasks the worker releases the finished task's advisory lock,
 * RESETs ALL settings (the next task applies its own recorded ones when it
 * is read) and points its slot at the new task with the cancel flag clear,
 * all before it claims that task; each task runs in its own memory context
 * (task_run.c).  A dispatcher that picked the same task meanwhile sees it in
 * the slot (reserve_slot) and looks again.
 *
 * Locking: see queue.h.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/reuse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "queue.h"

/* Take (dontWait) or release the session-level advisory lock of task_id (in a transaction) */
static bool
task_lock(int64 task_id, bool take)
{
	LOCKTAG		tag;
	bool		ok = true;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (((uint64) task_id) >> 32),
						 (uint32) task_id, BTPG_TASK_LOCK_FIELD4);
	if (take)
		ok = LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
	else
		(void) LockRelease(&tag, ExclusiveLock, true);
	return ok;
}

/*
 * Move our slot to task_id (submitted at `submitted`) if that keeps the
 * queue's order: no other slot of this database has it (a dispatcher
 * reserved one for it), this database is not being dropped, and no other
 * database waits with an older startable task (that one gets the slot when
 * we exit).  The cancel flag starts clear for the new task.  Returns
 * MOVE_OK, MOVE_TAKEN (another slot has it: look again) or MOVE_STOP.
 */
#define MOVE_OK		0
#define MOVE_TAKEN	1
#define MOVE_STOP	2

static int
move_slot_to(int slot, int64 task_id, TimestampTz submitted)
{
	bool		ok = true;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (i != slot && btpg_shared->slots[i].in_use &&
			btpg_shared->slots[i].dbid == MyDatabaseId && btpg_shared->slots[i].task_id == task_id)
		{
			LWLockRelease(btpg_shared->lock);
			return MOVE_TAKEN;
		}
	for (int i = 0; i < BTPG_MAX_DBS && ok; i++)
	{
		BtpgDb	   *db = &btpg_shared->dbs[i];

		if (db->dbid == MyDatabaseId)
			ok = !btpg_db_dropping(db);
		else if (db->dbid != InvalidOid && db->has_pending && db->dispatcher_pid != 0 &&
				 (db->oldest < submitted || (db->oldest == submitted && db->dbid < MyDatabaseId)))
			ok = false;
	}
	if (ok)
	{
		btpg_shared->slots[slot].task_id = task_id;
		btpg_shared->slots[slot].cancel_requested = false;
		btpg_shared->slots[slot].assigned_at = GetCurrentTimestamp();
	}
	LWLockRelease(btpg_shared->lock);
	return ok ? MOVE_OK : MOVE_STOP;
}

/*
 * The oldest startable pending task of this database that no other slot
 * holds, if it belongs to `owner` and owner can still log in: true with
 * its id and submission time.  Caller is in a transaction with SPI.
 */
static bool
find_next_task(int slot, Oid owner, Oid ext_owner, int64 *next_id, TimestampTz *submitted)
{
	Datum		busy[BTPG_MAX_SLOTS];
	int			nbusy = 0;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		values[1];
	bool		found = false;
	HeapTuple	roletup;
	bool		canlogin;

	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (i != slot && btpg_shared->slots[i].in_use &&
			btpg_shared->slots[i].dbid == MyDatabaseId)
			busy[nbusy++] = Int64GetDatum(btpg_shared->slots[i].task_id);
	LWLockRelease(btpg_shared->lock);

	roletup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	if (!HeapTupleIsValid(roletup))
		return false;
	canlogin = ((Form_pg_authid) GETSTRUCT(roletup))->rolcanlogin;
	ReleaseSysCache(roletup);
	if (!canlogin)
		return false;

	values[0] = PointerGetDatum(construct_array(busy, nbusy, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	btpg_exec_as_owner(ext_owner, "SELECT id, pg_catalog.to_regrole(owner::pg_catalog.text)::pg_catalog.oid, "
					   "submitted_at FROM backtest.tasks "
				  "WHERE status = 'pending' AND NOT (id OPERATOR(pg_catalog.=) ANY ($1)) "
				  "AND (retry_at IS NULL OR retry_at OPERATOR(pg_catalog.<=) pg_catalog.now()) "
					   "ORDER BY id LIMIT 1",
					   1, types, values, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;

		*next_id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		/* owners are role names: a name with no role behind it is nobody's */
		found = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull)) == owner && !isnull;
		*submitted = DatumGetTimestampTz(SPI_getbinval(tup, td, 3, &isnull));
	}
	return found;
}

/*
 * btpg_take_next_task
 *		In a task worker (slot `slot`, connected as `owner`) that has just
 *		finished task prev_task: release that task's advisory lock, RESET ALL
 *		(the task's settings and whatever its queries SET are gone), and take
 *		the next task if it is ours to run: the oldest startable pending task
 *		of this database (those other slots hold excepted) belongs to owner,
 *		who can still log in, and move_slot_to agrees.  So a reused worker
 *		runs exactly the task a dispatcher would have started next, as the
 *		role it is connected as.  Takes the new task's advisory lock and
 *		points the slot at it; one transaction.  False: exit instead.
 */
bool
btpg_take_next_task(int slot, Oid owner, Oid ext_owner, int64 prev_task, int64 *next_id)
{
	int			moved = MOVE_TAKEN;
	bool		locked = false;

	CHECK_FOR_INTERRUPTS();
	btpg_begin_txn("pg_backtest: looking for the next task");
	task_lock(prev_task, false);
	ResetAllOptions();
	pgstat_report_appname("pg_backtest task");
	/* another worker that finished at the same time may take our pick */
	for (int tries = 0; tries < 4 && moved == MOVE_TAKEN; tries++)
	{
		TimestampTz submitted;

		if (!find_next_task(slot, owner, ext_owner, next_id, &submitted))
			break;
		moved = move_slot_to(slot, *next_id, submitted);
	}
	if (moved == MOVE_OK)
	{
		locked = task_lock(*next_id, true);
		if (!locked)
			elog(LOG, "pg_backtest: task " INT64_FORMAT " is run by another worker", *next_id);
	}
	btpg_end_txn();
	if (locked)
		elog(DEBUG1, "pg_backtest: task worker %d runs task " INT64_FORMAT " next", MyProcPid, *next_id);
	return locked;
}
