/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  Task seals: the database owner owns the queue's tables (so that she
 *	  can dump and restore them) and could edit a queued task, its query,
 *	  parameters or owner, to make a worker run something else or as
 *	  someone else.  At submit, a SHA-256 digest of the fields that decide
 *	  what runs and as whom is written into backtest.task_seals, a table
 *	  only the extension owner (a superuser) can write and that pg_dump
 *	  leaves out; a worker recomputes the digest before it runs the task and
 *	  fails the task when it differs or is missing.  No secret is needed:
 *	  the seal's integrity is the table's write protection.  A task restored
 *	  from a dump has no seal here and fails until a superuser vouches for
 *	  it with backtest_reseal().
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/seal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/bookkeeper.h"
#include "seal.h"
#include "queue.h"

PG_FUNCTION_INFO_V1(backtest_reseal);
PG_FUNCTION_INFO_V1(backtest_tasks_wake);

/* Feed one field: 'N' for NULL, else 'S', its length (8 bytes) and bytes */
static void
seal_field(pg_cryptohash_ctx *ctx, const char *s)
{
	uint8		tag = s ? 'S' : 'N';
	uint64		len = s ? strlen(s) : 0;
	uint8		lenbuf[8];

	for (int i = 0; i < 8; i++)
		lenbuf[i] = (uint8) (len >> (8 * i));
	if (pg_cryptohash_update(ctx, &tag, 1) < 0 ||
		(s && (pg_cryptohash_update(ctx, lenbuf, 8) < 0 ||
			   pg_cryptohash_update(ctx, (const uint8 *) s, len) < 0)))
		elog(ERROR, "could not compute a task seal: %s", pg_cryptohash_error(ctx));
}

/* The digest of a task's sealed fields (PG_SHA256_DIGEST_LENGTH bytes) */
static void
seal_digest(const BtpgSealFields *f, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not compute a task seal: %s", pg_cryptohash_error(ctx));
	seal_field(ctx, "pg_backtest task seal 1");
	seal_field(ctx, psprintf(INT64_FORMAT, f->id));
	seal_field(ctx, f->owner);
	seal_field(ctx, f->database);
	seal_field(ctx, f->kind);
	seal_field(ctx, f->source);
	seal_field(ctx, f->query);
	seal_field(ctx, f->symbol);
	seal_field(ctx, f->strategy);
	seal_field(ctx, f->params);
	seal_field(ctx, f->grid);
	seal_field(ctx, f->has_start ? psprintf(INT64_FORMAT, (int64) f->start_ts) : NULL);
	seal_field(ctx, f->has_end ? psprintf(INT64_FORMAT, (int64) f->end_ts) : NULL);
	seal_field(ctx, f->settings);
	/*
	 * Fields added since 0.4.0 are fed only when set, so the seals of tasks
	 * queued before an upgrade still match; a set field after them cannot be
	 * taken for an unset one (each field carries its length).
	 */
	if (f->symbols)
		seal_field(ctx, f->symbols);
	if (pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute a task seal: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* A bytea of n bytes */
static bytea *
to_bytea(const uint8 *data, int n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), data, n);
	return b;
}

/*
 * btpg_seal_store
 *		Write (or replace) the seal of task f->id, as the extension owner.
 *		Caller has SPI connected; the task row is inserted already.
 */
void
btpg_seal_store(const BtpgSealFields *f)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	Oid			types[2] = {INT8OID, BYTEAOID};
	Datum		values[2];

	seal_digest(f, digest);
	values[0] = Int64GetDatum(f->id);
	values[1] = PointerGetDatum(to_bytea(digest, sizeof(digest)));
	(void) btpg_exec_as_owner(btpg_extension_owner(),
							  "INSERT INTO backtest.task_seals (task_id, digest) VALUES ($1, $2) "
							  "ON CONFLICT (task_id) DO UPDATE SET digest = EXCLUDED.digest",
							  2, types, values, NULL);
}

/*
 * btpg_seal_problem
 *		Why task f->id must not run, or NULL: it carries no seal of this
 *		installation, its fields do not give the seal it carries, or the
 *		current user is not the role the task names.  Caller has SPI
 *		connected (SPI_tuptable is replaced).
 */
char *
btpg_seal_problem(const BtpgSealFields *f)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(f->id)};
	bool		isnull;
	bytea	   *stored;
	const char *me = GetUserNameFromId(GetUserId(), false);

	(void) btpg_exec_as_owner(btpg_extension_owner(),
							  "SELECT s.digest FROM backtest.task_seals s "
							  "WHERE s.task_id OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL);
	if (SPI_processed == 0)
		return psprintf("task " INT64_FORMAT " was restored from another installation (or queued before "
						"pg_backtest 0.4.0), so it will not run; resubmit it (or a superuser who has "
						"checked it runs backtest_reseal(" INT64_FORMAT "))", f->id, f->id);
	stored = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	seal_digest(f, digest);
	if (isnull || VARSIZE_ANY_EXHDR(stored) != sizeof(digest) ||
		memcmp(VARDATA_ANY(stored), digest, sizeof(digest)) != 0)
		return psprintf("task " INT64_FORMAT " was changed after it was submitted (its seal does not "
						"match), so it will not run; resubmit it", f->id);
	if (f->owner == NULL || strcmp(f->owner, me) != 0)
		return psprintf("task " INT64_FORMAT " belongs to role \"%s\", not to \"%s\" that its worker runs as",
						f->id, f->owner ? f->owner : "", me);
	return NULL;
}

/*
 * backtest_reseal(task_id bigint) returns boolean
 *		Superuser only: seal a pending (or running) task as it is now, e.g.
 *		one restored from a dump, after checking it; false when the task is
 *		not pending or running.
 */
Datum
backtest_reseal(PG_FUNCTION_ARGS)
{
	int64		task_id = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(task_id)};
	BtpgSealFields f;
	HeapTuple	tup;
	TupleDesc	td;
	bool		isnull;
	Datum		d;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to reseal task " INT64_FORMAT, task_id),
				 errhint("Only a superuser can vouch for a task.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
							  "SELECT t.id, t.owner::pg_catalog.text, t.database::pg_catalog.text, t.kind, "
							  "t.source, t.query, t.symbol, t.strategy, t.params::pg_catalog.text, "
							  "t.grid::pg_catalog.text, t.start_ts, t.end_ts, t.settings::pg_catalog.text, "
							  "t.symbols::pg_catalog.text "
							  "FROM backtest.tasks t WHERE t.id OPERATOR(pg_catalog.=) $1 "
							  "AND t.status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'running'])",
							  1, types, values, NULL);
	if (SPI_processed != 1)
	{
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	memset(&f, 0, sizeof(f));
	f.id = task_id;
	f.owner = SPI_getvalue(tup, td, 2);
	f.database = SPI_getvalue(tup, td, 3);
	f.kind = SPI_getvalue(tup, td, 4);
	f.source = SPI_getvalue(tup, td, 5);
	f.query = SPI_getvalue(tup, td, 6);
	f.symbol = SPI_getvalue(tup, td, 7);
	f.strategy = SPI_getvalue(tup, td, 8);
	f.params = SPI_getvalue(tup, td, 9);
	f.grid = SPI_getvalue(tup, td, 10);
	d = SPI_getbinval(tup, td, 11, &isnull);
	f.has_start = !isnull;
	if (!isnull)
		f.start_ts = DatumGetTimestampTz(d);
	d = SPI_getbinval(tup, td, 12, &isnull);
	f.has_end = !isnull;
	if (!isnull)
		f.end_ts = DatumGetTimestampTz(d);
	f.settings = SPI_getvalue(tup, td, 13);
	f.symbols = SPI_getvalue(tup, td, 14);
	btpg_seal_store(&f);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * backtest_tasks_wake() returns trigger
 *		After a pending row arrives in backtest.tasks other than by a submit
 *		(pg_restore copies them in), have the database's dispatcher look at
 *		the queue at commit, so restored tasks are settled (they fail: no
 *		seal here) rather than left pending until the next submit.
 */
Datum
backtest_tasks_wake(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "backtest_tasks_wake: not called by the trigger manager");
	if (btpg_shared != NULL)
		btpg_wake_launcher_at_commit();
	return PointerGetDatum(NULL);
}
