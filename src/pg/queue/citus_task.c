/*-------------------------------------------------------------------------
 *
 * citus_task.c
 *	  The queue on Citus: a backtest task whose source is distributed by
 *	  symbol (backtest_citus_distribute ran for it) runs on the worker
 *	  holding the symbol's shard.  The coordinator's task worker stays the
 *	  one that claims, reports and records the task; its work is the
 *	  delegated calls backtest_run, backtest_trades and backtest_equity,
 *	  which Citus sends whole to that worker (force_delegation), where they
 *	  read the shard directly.  Their rows come back and are stored in the
 *	  distributed result tables, in the transaction that completes the task,
 *	  as one node's task worker stores its engine's output.  NOTIFY does not
 *	  cross nodes, so the progress events are the coordinator's: the claim,
 *	  one per delegated call, and the outcome.
 *
 *	  Nothing here runs unless the citus extension is installed in the
 *	  task's database: one node's queue is unchanged.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/citus_task.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "queue.h"
#include "task.h"

/* The rows of one delegated call (task_kind.h) */
typedef BtpgDelegatedRows CitusRows;

/* Is Citus installed in this database?  Caller is in a transaction. */
static bool
citus_installed(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/*
 * btpg_citus_node_lost
 *		Does a delegated call's error say that the node running it went
 *		away, rather than that the work failed?  A connection exception (the
 *		node's backend was killed, the connection dropped, the node is still
 *		in recovery) or the node's backend terminated by its administrator or
 *		a crash of another of its processes.
 */
bool
btpg_citus_node_lost(const ErrorData *edata)
{
	return ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_CONNECTION_EXCEPTION ||
		edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
		edata->sqlerrcode == ERRCODE_CRASH_SHUTDOWN ||
		edata->sqlerrcode == ERRCODE_CANNOT_CONNECT_NOW;
}

/*
 * btpg_citus_check_submit
 *		Refuse a submission on a Citus worker once the result tables are
 *		distributed (backtest.citus_check_submit).  Caller has SPI connected.
 */
void
btpg_citus_check_submit(void)
{
	if (!citus_installed())
		return;
	if (SPI_execute("SELECT backtest.citus_check_submit()", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check where tasks are queued");
}

/*
 * btpg_citus_task_node
 *		Where the task runs on Citus: the worker holding its symbol's shard
 *		("host:port", in the run context), or NULL to run it here as on one
 *		node (no Citus, not a backtest or a kind with execute_on, such as a
 *		sweep, of a source table, or a source not
 *		distributed by symbol colocated with the distributed backtest_run).
 *		Opens and ends its own transaction.
 */
char *
btpg_citus_task_node(TaskRun *run)
{
	Oid			types[2] = {REGCLASSOID, TEXTOID};
	Datum		values[2];
	char	   *node = NULL;

	if ((strcmp(run->kind->name, "backtest") != 0 && run->kind->execute_on == NULL) ||
		!OidIsValid(run->spec.relid) || run->spec.symbol == NULL)
		return NULL;
	values[0] = ObjectIdGetDatum(run->spec.relid);
	values[1] = CStringGetTextDatum(run->spec.symbol);
	btpg_begin_txn("pg_backtest: finding the node of the task's symbol");
	if (!citus_installed())
	{
		btpg_end_txn();
		return NULL;
	}
	if (SPI_execute_with_args("SELECT backtest.citus_task_node($1, $2)", 2, types, values, NULL,
							  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the node of task " INT64_FORMAT, run->task_id);
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			node = MemoryContextStrdup(run->cxt, TextDatumGetCString(d));
	}
	btpg_end_txn();
	return node;
}

/* Stop here if backtest_cancel asked us to */
static void
check_cancel(void)
{
	if (btpg_task_cancel_requested())
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("backtest cancelled")));
}

/*
 * btpg_task_delegated_call
 *		See queue/task_kind.h.  The call is parameterised: Citus delegates it
 *		to the node of the symbol with the parameters as constants;
 *		privileges and row-level security apply there.
 */
BtpgDelegatedRows
btpg_task_delegated_call(TaskRun *run, const char *fn, const char *cols, int nextra,
						 const Oid *extra_types, const Datum *extra_values)
{
	Oid			types[6 + BTPG_MAX_DELEGATED_EXTRA] = {REGCLASSOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[6 + BTPG_MAX_DELEGATED_EXTRA];
	char		nulls[6 + BTPG_MAX_DELEGATED_EXTRA + 1];
	CitusRows	out;
	MemoryContext old;
	StringInfoData sql;

	Assert(nextra >= 0 && nextra <= BTPG_MAX_DELEGATED_EXTRA);
	memset(nulls, ' ', sizeof(nulls));
	nulls[6 + nextra] = '\0';
	values[0] = ObjectIdGetDatum(run->spec.relid);
	values[1] = CStringGetTextDatum(run->spec.symbol);
	values[2] = CStringGetTextDatum(run->strategy);
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(run->params));
	values[4] = TimestampTzGetDatum(run->spec.start_ts);
	if (!run->spec.has_start)
		nulls[4] = 'n';
	values[5] = TimestampTzGetDatum(run->spec.end_ts);
	if (!run->spec.has_end)
		nulls[5] = 'n';
	for (int i = 0; i < nextra; i++)
	{
		types[6 + i] = extra_types[i];
		values[6 + i] = extra_values[i];
	}
	btpg_begin_txn(psprintf("pg_backtest: %s on the node of the symbol", fn));
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s.%s($1, $2, $3, $4, $5, $6", cols,
					 quote_identifier(btpg_extension_schema()), fn);
	for (int i = 0; i < nextra; i++)
		appendStringInfo(&sql, ", $%d", 7 + i);
	appendStringInfoChar(&sql, ')');
	if (SPI_execute_with_args(sql.data, 6 + nextra, types, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "%s of task " INT64_FORMAT " failed", fn, run->task_id);
	old = MemoryContextSwitchTo(run->cxt);
	out.td = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	out.n = (int64) SPI_processed;
	out.rows = palloc_extended(sizeof(HeapTuple) * Max(out.n, 1), MCXT_ALLOC_HUGE);
	for (int64 r = 0; r < out.n; r++)
		out.rows[r] = heap_copytuple(SPI_tuptable->vals[r]);
	MemoryContextSwitchTo(old);
	btpg_end_txn();
	return out;
}

/* btpg_task_delegated_rows_free: see queue/task_kind.h */
void
btpg_task_delegated_rows_free(BtpgDelegatedRows *rows)
{
	for (int64 r = 0; r < rows->n; r++)
		heap_freetuple(rows->rows[r]);
	pfree(rows->rows);
	FreeTupleDesc(rows->td);
	rows->rows = NULL;
	rows->td = NULL;
	rows->n = 0;
}

/* fn(the task's six arguments) on the node of the symbol */
static CitusRows
delegated_call(TaskRun *run, const char *fn, const char *cols)
{
	return btpg_task_delegated_call(run, fn, cols, 0, NULL, NULL);
}

/* ", c1, c2, ...": the quoted names of td's columns */
static char *
column_names(TupleDesc td)
{
	StringInfoData names;

	initStringInfo(&names);
	for (int c = 0; c < td->natts; c++)
		appendStringInfo(&names, ", %s", quote_identifier(NameStr(TupleDescAttr(td, c)->attname)));
	return names.data;
}

/* Row r of a delegated call's rows (btpg_task_insert_rows_into) */
static void
fetched_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	const CitusRows *rows = (const CitusRows *) arg;

	heap_deform_tuple(rows->rows[r], rows->td, values, nulls);
}

/* The metrics row into backtest.results, its columns by name */
static void
save_metrics(TaskRun *run, const CitusRows *m)
{
	int			n = m->td->natts;
	Datum	   *values = palloc(sizeof(Datum) * (2 + n));
	bool	   *isnull = palloc(sizeof(bool) * (2 + n));
	char	   *nulls = palloc(2 + n + 1);
	Oid		   *types = palloc(sizeof(Oid) * (2 + n));
	StringInfoData sql;

	if (m->n != 1)
		elog(ERROR, "backtest_run of task " INT64_FORMAT " returned " INT64_FORMAT " rows",
			 run->task_id, m->n);
	values[0] = Int64GetDatum(run->task_id);
	types[0] = INT8OID;
	values[1] = CStringGetTextDatum(run->owner);
	types[1] = TEXTOID;
	isnull[0] = isnull[1] = false;
	heap_deform_tuple(m->rows[0], m->td, values + 2, isnull + 2);
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO backtest.results (task_id, owner%s) VALUES ($1, $2",
					 column_names(m->td));
	for (int c = 0; c < n; c++)
	{
		types[2 + c] = TupleDescAttr(m->td, c)->atttypid;
		appendStringInfo(&sql, ", $%d", 3 + c);
	}
	appendStringInfoChar(&sql, ')');
	for (int c = 0; c < 2 + n; c++)
		nulls[c] = isnull[c] ? 'n' : ' ';
	nulls[2 + n] = '\0';
	btpg_task_exec(run, sql.data, 2 + n, types, values, nulls);
}

/* The equity rows (ts, close, position, equity, cash) as one row of arrays */
static void
save_equity(TaskRun *run, const CitusRows *e)
{
	Datum		arrays[5];
	Oid			types[5];

	for (int c = 0; c < 5; c++)
	{
		Oid			et = TupleDescAttr(e->td, c)->atttypid;
		Datum	   *elems = palloc_extended(sizeof(Datum) * Max(e->n, 1), MCXT_ALLOC_HUGE);
		int16		typlen;
		bool		typbyval;
		char		typalign;

		for (int64 r = 0; r < e->n; r++)
		{
			bool		isnull;

			elems[r] = heap_getattr(e->rows[r], c + 1, e->td, &isnull);
			if (isnull)
				elog(ERROR, "backtest_equity of task " INT64_FORMAT " returned a NULL", run->task_id);
		}
		get_typlenbyvalalign(et, &typlen, &typbyval, &typalign);
		arrays[c] = PointerGetDatum(construct_array(elems, (int) e->n, et, typlen, typbyval, typalign));
		types[c] = get_array_type(et);
	}
	btpg_task_insert_arrays(run, "backtest.equity_curves", "ts, close, \"position\", equity, cash",
							5, types, arrays);
}

/* Store the three calls' rows and complete the task (in the caller's transaction) */
static void
save_results(TaskRun *run, const CitusRows *metrics, const CitusRows *trades,
			 const CitusRows *equity, const char *where)
{
	int64		ntrades = 0;
	int			att = SPI_fnumber(metrics->td, "trades_count");
	bool		isnull = true;

	save_metrics(run, metrics);
	if (att > 0)
	{
		Datum		d = heap_getattr(metrics->rows[0], att, metrics->td, &isnull);

		if (!isnull)
			ntrades = DatumGetInt64(d);
	}
	if (trades->n > 0)
	{
		Oid		   *types = palloc(sizeof(Oid) * trades->td->natts);

		for (int c = 0; c < trades->td->natts; c++)
			types[c] = TupleDescAttr(trades->td, c)->atttypid;
		btpg_task_insert_rows_into(run, "backtest.trades", column_names(trades->td),
								   trades->td->natts, types, trades->n, fetched_row, (void *) trades);
	}
	save_equity(run, equity);
	btpg_task_complete(run, psprintf(INT64_FORMAT " bars, " INT64_FORMAT " trades, %s",
									 equity->n, ntrades, where),
					   NULL);
}

/*
 * btpg_citus_run_task
 *		Run the claimed backtest task run on node (btpg_citus_task_node) and
 *		complete it: three delegated calls, a progress event after each, then
 *		the results, trades and equity curve stored and the task completed in
 *		one transaction.  Errors propagate (the caller fails or cancels the
 *		task); a cancel interrupts the delegated call on the worker.
 */
void
btpg_citus_run_task(TaskRun *run, const char *node)
{
	CitusRows	metrics,
				trades,
				equity;
	char	   *where = psprintf("on %s", node);

	btpg_task_report(run, 3, 10.0, psprintf("running %s", where), true);
	metrics = delegated_call(run, "backtest_run", "*");
	check_cancel();
	btpg_task_report(run, 3, 40.0, psprintf("metrics computed %s", where), true);
	trades = delegated_call(run, "backtest_trades", "*");
	check_cancel();
	btpg_task_report(run, 3, 60.0, psprintf(INT64_FORMAT " trades computed %s", trades.n, where), true);
	equity = delegated_call(run, "backtest_equity", "ts, close, \"position\", equity, cash");
	check_cancel();
	btpg_task_report(run, 5, 85.0, psprintf(INT64_FORMAT " bars computed %s", equity.n, where), true);

	/* (as btpg_bookkeeper(): Citus connects to the nodes as the current user) */
	btpg_begin_txn("pg_backtest: saving results");
	save_results(run, &metrics, &trades, &equity, where);
	btpg_end_txn();
}
