/*-------------------------------------------------------------------------
 *
 * read_plan.h
 *	  How the loader reads one symbol of a table source (read_plan.c): the
 *	  local Citus shard, and whether to go through the symbol index.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/read_plan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_READ_PLAN_H
#define BTPG_CORE_READ_PLAN_H

#include "postgres.h"

#include "access/attnum.h"

/*
 * The local shard holding symbol's rows when relid is a Citus table
 * hash-distributed by column symcol (NULL: none) and this node has an
 * active placement of it, if the caller may SELECT relid; else InvalidOid.
 * Connects to SPI itself.
 */
extern Oid	btpg_citus_local_shard(Oid relid, const char *symcol, const char *symbol);

/*
 * Whether to read symbol's rows of relid with enable_seqscan off, through
 * an index leading with its symbol column attnum (InvalidAttrNumber: no).
 */
extern bool btpg_symbol_via_index(Oid relid, AttrNumber attnum, const char *symbol);

#endif							/* BTPG_CORE_READ_PLAN_H */
