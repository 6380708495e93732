/*-------------------------------------------------------------------------
 *
 * dropdb.c
 *	  DROP DATABASE of a database with queued tasks (or a lingering
 *	  dispatcher): a ProcessUtility hook that sends that database's
 *	  dispatcher away first.  CREATE DATABASE ... TEMPLATE, ALTER DATABASE
 *	  ... RENAME TO and ... SET TABLESPACE, which also need the database to
 *	  themselves, get the same treatment (their database is requested again
 *	  afterwards, as after a failed drop).
 *
 * A dispatcher stays connected to its database while tasks there wait for
 * a cluster-wide slot, and DROP DATABASE refuses a database other sessions
 * are connected to (after waiting 5 s).  So before the drop runs, the hook
 * marks the database's BtpgShared->dbs entry as being dropped (dropper_pid)
 * and sets its dispatcher's latch: the dispatcher exits at its next look,
 * the launcher starts none while the mark stands, and no task worker takes
 * another task of that database (reuse.c, move_slot_to).  A running task
 * still blocks the drop, as any session does (cancel it first).  If the
 * drop fails, the mark is cleared and the database requested again, so its
 * dispatcher comes back for the pending tasks; if it succeeds they are
 * gone with the database, and so is its entry.  A mark left by a backend
 * that died is ignored (btpg_db_dropping checks that it lives).
 *
 * Only the database's owner (or a superuser) gets this far: for anyone
 * else DROP DATABASE fails with its own error and the queue is untouched.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/dropdb.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/acl.h"

#include "queue.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * The database a utility command needs no other session connected to, or
 * NULL: DROP DATABASE, CREATE DATABASE ... TEMPLATE, ALTER DATABASE ...
 * RENAME TO and ALTER DATABASE ... SET TABLESPACE.
 */
static const char *
database_needed_alone(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return ((DropdbStmt *) parsetree)->dbname;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) parsetree)->options)
			{
				DefElem    *opt = lfirst_node(DefElem, lc);

				if (strcmp(opt->defname, "template") == 0 && opt->arg)
					return defGetString(opt);
			}
			return NULL;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				return ((RenameStmt *) parsetree)->subname;
			return NULL;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
				if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
					return ((AlterDatabaseStmt *) parsetree)->dbname;
			return NULL;
		default:
			return NULL;
	}
}

/* Mark dbid as being dropped by us and send its dispatcher away */
static void
mark_dropping(Oid dbid)
{
	BtpgDb	   *db;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	db = btpg_find_db(dbid, false);
	if (db)
	{
		db->dropper_pid = MyProcPid;
		db->has_pending = false;
		if (db->dispatcher_latch)
			SetLatch(db->dispatcher_latch);
	}
	LWLockRelease(btpg_shared->lock);
}

/*
 * After the drop: on success forget the database's entry; on failure (or
 * after another command than a drop) clear the mark and ask the launcher
 * for a dispatcher again (its tasks are still there).
 */
static void
unmark_dropping(Oid dbid, bool dropped)
{
	BtpgDb	   *db;

	LWLockAcquire(btpg_shared->lock, LW_EXCLUSIVE);
	db = btpg_find_db(dbid, !dropped);
	if (db && dropped)
	{
		if (db->dispatcher_pid == 0)
			db->dbid = InvalidOid;
		else
			db->dropper_pid = 0;
	}
	else if (db)
	{
		db->dropper_pid = 0;
		db->requested = true;
		if (db->dispatcher_latch)
			SetLatch(db->dispatcher_latch);
		else if (btpg_shared->launcher_latch)
			SetLatch(btpg_shared->launcher_latch);
	}
	LWLockRelease(btpg_shared->lock);
}

static void
btpg_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			dbid = InvalidOid;
	bool		dropping;

	if (btpg_shared != NULL)
	{
		const char *dbname = database_needed_alone(parsetree);

		if (dbname)
			dbid = get_database_oid(dbname, true);
		if (!OidIsValid(dbid) || dbid == MyDatabaseId ||
			!pg_database_ownercheck(dbid, GetUserId()))
			dbid = InvalidOid;	/* the command decides, with its own error */
		else
			mark_dropping(dbid);
	}
	dropping = IsA(parsetree, DropdbStmt);
	if (!OidIsValid(dbid))
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
		return;
	}
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		unmark_dropping(dbid, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	unmark_dropping(dbid, dropping);
}

/*
 * btpg_install_dropdb_hook
 *		Install the ProcessUtility hook; from _PG_init while preloading.
 */
void
btpg_install_dropdb_hook(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = btpg_process_utility;
}
