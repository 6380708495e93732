/*-------------------------------------------------------------------------
 *
 * bookkeeper.c
 *	  The role the result rows of tasks are written and read as
 *	  (bookkeeper.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/bookkeeper.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/syscache.h"

#include "core/bookkeeper.h"

/*
 * btpg_bookkeeper
 *		BTPG_BOOKKEEPER, but with Citus installed in this database its
 *		owner (datdba): Citus opens its connections to the other nodes as
 *		the current user, and pg_database_owner, a group, cannot log in.
 *		The database's owner is the member pg_database_owner stands for: it
 *		has the same rights on the tables, and a trigger only it (or a
 *		superuser) can attach runs with no more than its own rights.  Caller
 *		is in a transaction.
 */
Oid
btpg_bookkeeper(void)
{
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return BTPG_BOOKKEEPER;
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
	owner = ((Form_pg_database) GETSTRUCT(tup))->datdba;
	ReleaseSysCache(tup);
	return owner;
}
