/*-------------------------------------------------------------------------
 *
 * bookkeeper.h
 *	  The role pg_backtest's bookkeeping writes run as.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/bookkeeper.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_BOOKKEEPER_H
#define BTPG_CORE_BOOKKEEPER_H

#include "postgres.h"

#include "catalog/pg_authid.h"

/*
 * The role bookkeeping writes to backtest.* run as (the queue's tasks and
 * seals, the live streams' state): the tables' owner, pg_database_owner,
 * never a superuser, so a trigger or default the database owner attaches
 * to the tables runs with the database owner's rights at most.
 */
#define BTPG_BOOKKEEPER		ROLE_PG_DATABASE_OWNER

/*
 * The role the rows of the result tables (backtest.results, trades, ...) are
 * written and read as: BTPG_BOOKKEEPER, or on Citus, where those tables are
 * distributed, the database's owner (bookkeeper.c).  Caller is in a
 * transaction.
 */
extern Oid	btpg_bookkeeper(void);

#endif							/* BTPG_CORE_BOOKKEEPER_H */
