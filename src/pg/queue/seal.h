/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  Task seals and the bookkeeping role (see seal.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/seal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_SEAL_H
#define BTPG_SEAL_H

#include "postgres.h"

#include "catalog/pg_authid.h"
#include "datatype/timestamp.h"

/*
 * The role bookkeeping writes to backtest.* run as: the tables' owner,
 * pg_database_owner, never a superuser, so a trigger or default the
 * database owner attaches to the tables runs with the database owner's
 * rights at most.
 */
#define BTPG_BOOKKEEPER		ROLE_PG_DATABASE_OWNER

/* What a seal covers: the fields that decide what runs and as whom */
typedef struct BtpgSealFields
{
	int64		id;
	const char *owner;			/* role name */
	const char *database;
	const char *kind;
	const char *source;			/* qualified name, or NULL */
	const char *query;
	const char *symbol;
	const char *strategy;
	const char *params;			/* jsonb text output */
	const char *grid;
	bool		has_start;
	TimestampTz start_ts;
	bool		has_end;
	TimestampTz end_ts;
	const char *settings;
} BtpgSealFields;

extern void btpg_seal_store(const BtpgSealFields *f);
extern char *btpg_seal_problem(const BtpgSealFields *f);

#endif							/* BTPG_SEAL_H */
