/*-------------------------------------------------------------------------
 *
 * status.c
 *	  System status: backtest_system_status() (the queue's counts, cluster
 *	  wide and in this database, free slots, live streams, the host's load
 *	  and the pool's memory) and the dispatchers' NOTIFY
 *	  backtest_system_status with the cluster-wide counts.
 *
 * The cluster-wide counts come from shared memory: running tasks are the
 * worker slots in use, pending tasks the sum of what each database's
 * dispatcher counted at its last look at its queue (BtpgDb.npending; a
 * database without a dispatcher has none).  NOTIFY reaches only the
 * sessions of the sender's database and the launcher is connected to none,
 * so each dispatcher sends the events in its own database: when the counts
 * differ from what it sent last, at most once per
 * pg_backtest.status_interval, and once more when it exits (its queue is
 * idle) if they changed.
 *
 * Locking: reads BtpgShared under its LWLock (queue/queue.h), copying the fields
 * out before anything else is done.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/notify/status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/bookkeeper.h"
#include "queue/queue.h"
#include "notify.h"

PG_FUNCTION_INFO_V1(backtest_system_status);

/* pg_backtest.status_interval (ms; 0: no events) */
int			btpg_status_interval = 5000;

/* The cluster-wide counts, as in the event */
typedef struct StatusCounts
{
	int			pending;
	int			running;
	int			free_slots;
	int			max_concurrent;
} StatusCounts;

/* What this process (a dispatcher) sent last, and when */
static StatusCounts last_sent;
static bool sent_any = false;
static TimestampTz last_sent_at = 0;

/*
 * The cluster-wide counts and the pids of the pool's processes (launcher,
 * dispatchers, task workers; pids may be NULL).  Caller: btpg_shared set.
 */
static void
read_counts(StatusCounts *c, pid_t *pids, int *npids)
{
	int			n = 0;

	memset(c, 0, sizeof(*c));
	LWLockAcquire(btpg_shared->lock, LW_SHARED);
	if (pids && btpg_shared->launcher_pid != 0)
		pids[n++] = btpg_shared->launcher_pid;
	for (int i = 0; i < BTPG_MAX_SLOTS; i++)
		if (btpg_shared->slots[i].in_use)
		{
			c->running++;
			if (pids && btpg_shared->slots[i].pid != 0)
				pids[n++] = btpg_shared->slots[i].pid;
		}
	for (int i = 0; i < BTPG_MAX_DBS; i++)
		if (btpg_shared->dbs[i].dbid != InvalidOid)
		{
			c->pending += btpg_shared->dbs[i].npending;
			if (pids && btpg_shared->dbs[i].dispatcher_pid != 0)
				pids[n++] = btpg_shared->dbs[i].dispatcher_pid;
		}
	LWLockRelease(btpg_shared->lock);
	c->max_concurrent = btpg_max_concurrent;
	c->free_slots = Max(0, btpg_max_concurrent - c->running);
	if (npids)
		*npids = n;
}

/*
 * The resident memory of process pid without the shared memory it maps
 * (RssAnon + RssFile of /proc/pid/status, bytes), or -1 when unreadable
 * (not Linux, or the process is gone).
 */
static int64
private_rss(pid_t pid)
{
	char		path[64];
	char		line[256];
	FILE	   *f;
	int64		kb = 0;
	int			found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	f = AllocateFile(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
	{
		long long	v;

		if (sscanf(line, "RssAnon: %lld kB", &v) == 1 || sscanf(line, "RssFile: %lld kB", &v) == 1)
		{
			kb += v;
			found++;
		}
	}
	FreeFile(f);
	return found == 2 ? kb * 1024 : -1;
}

/*
 * backtest_system_status() returns one row: the cluster's pending and
 * running tasks, this database's, max_concurrent and free slots, live
 * streams, the load average, and the pool's processes and memory.
 */
Datum
backtest_system_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		v[13];
	bool		nulls[13];
	double		load[3];
	bool		isnull;

	memset(nulls, 0, sizeof(nulls));
	if (btpg_shared != NULL)
	{
		StatusCounts c;
		pid_t		pids[1 + BTPG_MAX_SLOTS + BTPG_MAX_DBS];
		int			npids;
		int64		mem = 0;
		int			readable = 0;

		read_counts(&c, pids, &npids);
		v[0] = Int32GetDatum(c.pending);
		v[1] = Int32GetDatum(c.running);
		v[4] = Int32GetDatum(c.max_concurrent);
		v[5] = Int32GetDatum(c.free_slots);
		for (int i = 0; i < npids; i++)
		{
			int64		m = private_rss(pids[i]);

			if (m >= 0)
			{
				mem += m;
				readable++;
			}
		}
		v[10] = Int32GetDatum(npids);
		v[11] = Int64GetDatum(mem);
		nulls[11] = npids > 0 && readable == 0;
	}
	else
		nulls[0] = nulls[1] = nulls[4] = nulls[5] = nulls[10] = nulls[11] = true;

	/* this database: every role's tasks, counted as the tables' owner */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
							  "SELECT pg_catalog.count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'pending')::pg_catalog.int4, "
							  "pg_catalog.count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'running')::pg_catalog.int4 "
							  "FROM backtest.tasks t "
							  "WHERE t.status OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'running'])",
							  0, NULL, NULL, NULL);
	v[2] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	v[3] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	/* live streams, where that feature's table exists */
	nulls[6] = true;
	if (OidIsValid(get_relname_relid("live_streams", get_namespace_oid("backtest", false))))
	{
		(void) btpg_exec_as_owner(BTPG_BOOKKEEPER,
								  "SELECT pg_catalog.count(*) FROM backtest.live_streams",
								  0, NULL, NULL, NULL);
		v[6] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		nulls[6] = false;
	}
	SPI_finish();

	if (getloadavg(load, 3) == 3)
		for (int i = 0; i < 3; i++)
			v[7 + i] = Float8GetDatum(load[i]);
	else
		nulls[7] = nulls[8] = nulls[9] = true;
	v[12] = TimestampTzGetDatum(GetCurrentTimestamp());

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "backtest_system_status: return type must be a row type");
	if (desc->natts != lengthof(v))
		elog(ERROR, "backtest_system_status: the SQL declaration has %d columns, not %d",
			 desc->natts, (int) lengthof(v));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), v, nulls)));
}

/*
 * btpg_status_maybe_notify
 *		In a dispatcher, between transactions: send NOTIFY
 *		backtest_system_status with the cluster-wide counts when they differ
 *		from those this dispatcher sent last and status_interval has passed
 *		since then (force: whatever the interval, for the dispatcher's exit).
 *		Returns the milliseconds until a changed status may be sent, for the
 *		dispatcher's sleep, or -1 when nothing waits.
 */
long
btpg_status_maybe_notify(bool force)
{
	StatusCounts c;
	TimestampTz now = GetCurrentTimestamp();

	if (btpg_status_interval <= 0 || btpg_shared == NULL)
		return -1;
	read_counts(&c, NULL, NULL);
	if (sent_any && memcmp(&c, &last_sent, sizeof(c)) == 0)
		return -1;
	if (!force && sent_any &&
		!TimestampDifferenceExceeds(last_sent_at, now, btpg_status_interval))
	{
		long		secs;
		int			usecs;

		TimestampDifference(now, TimestampTzPlusMilliseconds(last_sent_at, btpg_status_interval),
							&secs, &usecs);
		return secs * 1000 + usecs / 1000 + 1;
	}
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	Async_Notify(BTPG_STATUS_CHANNEL,
				 psprintf("{\"pending\": %d, \"running\": %d, \"free_slots\": %d, \"max_concurrent\": %d}",
						  c.pending, c.running, c.free_slots, c.max_concurrent));
	CommitTransactionCommand();
	last_sent = c;
	last_sent_at = now;
	sent_any = true;
	return -1;
}
