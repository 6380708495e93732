/*-------------------------------------------------------------------------
 *
 * task_save.c
 *	  The outcomes of a task worker's task: a backtest's results (metrics,
 *	  trades, the equity curve as one row of arrays), the row inserter and
 *	  completion every kind's save uses (task_kind.h), and the failed or
 *	  cancelled outcome after an error.  Each outcome in one transaction,
 *	  written as the tables' owner (pg_database_owner) through
 *	  btpg_task_exec.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/task_save.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/toast_internals.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/results.h"
#include "core/timestamps.h"
#include "seal.h"
#include "queue.h"

#include "task.h"
/* Build a 1-D array of n Datums of a by-value or text element type */
static Datum
make_array(Datum *elems, bool *nulls, int64 n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {(int) n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	if (n == 0)
		return PointerGetDatum(construct_empty_array(type));
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type,
											  typlen, typbyval, typalign));
}

/*
 * btpg_task_insert_arrays
 *		One row (task id, owner, then the ncols arrays of the columns named
 *		by columns, "c1, c2, ...") into table, planned
 *		generically: the parameters are read where they are, not copied
 *		into the plan.  Caller is in a task transaction.
 */
void
btpg_task_insert_arrays(TaskRun *run, const char *table, const char *columns, int ncols,
						const Oid *types, Datum *values)
{
	Datum	   *args = palloc(sizeof(Datum) * (2 + ncols));
	Oid		   *argtypes = palloc(sizeof(Oid) * (2 + ncols));
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (task_id, owner, %s) VALUES ($1, $2", table, columns);
	args[0] = Int64GetDatum(run->task_id);
	argtypes[0] = INT8OID;
	args[1] = CStringGetTextDatum(run->owner);
	argtypes[1] = TEXTOID;
	for (int c = 0; c < ncols; c++)
	{
		args[2 + c] = values[c];
		argtypes[2 + c] = types[c];
		appendStringInfo(&sql, ", $%d", 3 + c);
	}
	appendStringInfoChar(&sql, ')');
	btpg_exec_as_owner_generic(run->ext_owner, sql.data, 2 + ncols, argtypes, args, NULL);
}

/*
 * btpg_task_curve_init
 *		Start building the arrays of one row of table (schema-qualified).
 */
void
btpg_task_curve_init(BtpgTaskCurve *c, const char *table)
{
	c->relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
								NoLock, false);
	c->scratch = NULL;
	c->scratch_size = 0;
}

/*
 * btpg_task_curve_array
 *		The array of column `column` (task_kind.h).  A 3,000,000-bar curve
 *		is five 24 MB arrays; built one by one and handed to the INSERT as
 *		they are, each is copied into a fresh 120 MB row before the toaster
 *		compresses it, and on a VM where a page fault on fresh memory costs
 *		16-22 us (the development VM) those copies were most of the save.
 *		So an array the toaster would compress anyway is compressed here:
 *		its column's storage is EXTENDED and the array alone exceeds the
 *		largest toast_tuple_target there can be (the toaster tries to
 *		compress every such value of a row, with the column's method; same
 *		method, same bytes).  The row is then formed from the compressed
 *		sizes, the toaster only moves the values out of line, and the next
 *		array is built in the same buffer.  An array that does not shrink
 *		is handed over as built (the toaster tries it again and stores it
 *		uncompressed, as before).
 */
Datum
btpg_task_curve_array(BtpgTaskCurve *c, const char *column, const void *data, int64 n,
					  Oid elemtype)
{
	int			elemsize = elemtype == INT4OID ? 4 : 8;
	Size		nbytes = btpg_array_raw_size(n, elemsize);
	AttrNumber	attnum = get_attnum(c->relid, column);
	HeapTuple	tup;
	char		storage;
	char		cmethod;
	ArrayType  *a;

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of %s is missing: reinstall the extension", column,
			 get_rel_name(c->relid));
	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(c->relid), Int16GetDatum(attnum));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u", attnum, c->relid);
	storage = ((Form_pg_attribute) GETSTRUCT(tup))->attstorage;
	cmethod = ((Form_pg_attribute) GETSTRUCT(tup))->attcompression;
	ReleaseSysCache(tup);
	if (n == 0)
		return PointerGetDatum(construct_empty_array(elemtype));

	if (c->scratch != NULL && c->scratch_size < nbytes)
	{
		pfree(c->scratch);
		c->scratch = NULL;
	}
	if (c->scratch == NULL)
	{
		c->scratch = palloc_extended(nbytes, MCXT_ALLOC_HUGE);
		c->scratch_size = nbytes;
	}
	a = btpg_array_raw_header(c->scratch, n, elemsize, elemtype);
	if (elemtype == TIMESTAMPTZOID)
	{
		const int64_t *from = (const int64_t *) data;
		TimestampTz *to = (TimestampTz *) ARR_DATA_PTR(a);

		for (int64 i = 0; i < n; i++)
			to[i] = btpg_ts_from_engine(from[i]);
	}
	else
		memcpy(ARR_DATA_PTR(a), data, (Size) n * elemsize);

	if (storage == TYPSTORAGE_EXTENDED && nbytes > TOAST_TUPLE_TARGET_MAIN)
	{
		Datum		z = toast_compress_datum(PointerGetDatum(a), cmethod);

		if (DatumGetPointer(z) != NULL)
			return z;			/* the buffer is free for the next array */
	}
	c->scratch = NULL;			/* the array keeps it */
	return PointerGetDatum(a);
}

/*
 * btpg_task_save_curve
 *		One curve row (task_kind.h); the column list is the columns' names,
 *		quoted, and each array's type that of its elements' arrays.
 */
void
btpg_task_save_curve(TaskRun *run, const char *table, const BtpgTaskCurveColumn *cols, int ncols,
					 int64 n)
{
	BtpgTaskCurve curve;
	Datum	   *values = palloc(sizeof(Datum) * ncols);
	Oid		   *types = palloc(sizeof(Oid) * ncols);
	StringInfoData names;

	btpg_task_curve_init(&curve, table);
	initStringInfo(&names);
	for (int c = 0; c < ncols; c++)
	{
		values[c] = btpg_task_curve_array(&curve, cols[c].name, cols[c].data, n, cols[c].elemtype);
		types[c] = get_array_type(cols[c].elemtype);
		appendStringInfo(&names, "%s%s", c > 0 ? ", " : "", quote_identifier(cols[c].name));
	}
	btpg_task_insert_arrays(run, table, names.data, ncols, types, values);
}

/*
 * btpg_task_table_columns
 *		The columns of table after task_id and owner, other than those named
 *		in skip (NULL-terminated, or NULL), in table order: the first max of
 *		them, quoted, into names (each after ", ") and their types into
 *		types; returns how many there are in all.  Inserts that name their
 *		columns so are not shifted by a column another feature appends.
 *		Caller is in a task transaction.
 */
int
btpg_task_table_columns(const char *table, const char *const *skip, StringInfo names,
						Oid *types, int max)
{
	SPIPlanPtr	plan = SPI_prepare(psprintf("SELECT * FROM %s LIMIT 0", table), 0, NULL);
	TupleDesc	td;
	int			n = 0;

	if (plan == NULL || SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the columns of %s", table);
	td = SPI_tuptable->tupdesc;
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		const char *name = NameStr(att->attname);
		bool		skipped = att->attisdropped || strcmp(name, "task_id") == 0 ||
			strcmp(name, "owner") == 0;

		for (int k = 0; skip && skip[k] && !skipped; k++)
			skipped = strcmp(name, skip[k]) == 0;
		if (skipped)
			continue;
		if (n < max)
		{
			appendStringInfo(names, ", %s", quote_identifier(name));
			types[n] = att->atttypid;
		}
		n++;
	}
	SPI_freeplan(plan);
	return n;
}

/* Row r of a backtest's trades (btpg_task_insert_rows): trade r */
static void
trade_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	btpg_trade_values(&((const BtTrade *) arg)[r], r, values, nulls);
}

/*
 * btpg_task_insert_rows
 *		Insert nrows rows into table, whose columns are the task's id, its
 *		owner, then ncols columns that row_fn fills for each row r, in one
 *		INSERT ... SELECT unnest(...), ... of one array per column.
 *		types: the element types of those ncols columns, or NULL to read
 *		them from the table.  Caller is in a task transaction, in a context
 *		that lives until it ends.
 */
void
btpg_task_insert_rows(TaskRun *run, const char *table, int ncols, const Oid *types, int64 nrows,
					  BtpgTaskRowFn row_fn, void *arg)
{
	btpg_task_insert_rows_into(run, table, NULL, ncols, types, nrows, row_fn, arg);
}

/*
 * btpg_task_insert_rows_into
 *		btpg_task_insert_rows into the columns named by columns (", c1, c2,
 *		...", after task_id and owner; types must then be given), or NULL:
 *		the table's columns in order.
 */
void
btpg_task_insert_rows_into(TaskRun *run, const char *table, const char *columns, int ncols,
						   const Oid *types, int64 nrows, BtpgTaskRowFn row_fn, void *arg)
{
	Datum	  **cols = palloc(sizeof(Datum *) * ncols);
	bool	  **cnulls = palloc(sizeof(bool *) * ncols);
	Datum	   *row = palloc(sizeof(Datum) * ncols);
	bool	   *rnulls = palloc(sizeof(bool) * ncols);
	Oid		   *etypes = palloc(sizeof(Oid) * ncols);
	Datum	   *args = palloc(sizeof(Datum) * (2 + ncols));
	Oid		   *argtypes = palloc(sizeof(Oid) * (2 + ncols));
	StringInfoData sql;

	if (columns && types == NULL)
		elog(ERROR, "btpg_task_insert_rows_into: named columns need their types");
	if (types == NULL)
	{
		/* the column types, from the table */
		char	   *q = psprintf("SELECT * FROM %s LIMIT 0", table);
		SPIPlanPtr	tplan = SPI_prepare(q, 0, NULL);

		if (tplan == NULL || SPI_execute_plan(tplan, NULL, NULL, true, 0) != SPI_OK_SELECT ||
			SPI_tuptable->tupdesc->natts != 2 + ncols)
			elog(ERROR, "%s does not have the expected columns", table);
		for (int c = 0; c < ncols; c++)
			etypes[c] = TupleDescAttr(SPI_tuptable->tupdesc, 2 + c)->atttypid;
	}
	else
		memcpy(etypes, types, sizeof(Oid) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		cols[c] = palloc_extended(sizeof(Datum) * Max(nrows, 1), MCXT_ALLOC_HUGE);
		cnulls[c] = palloc_extended(sizeof(bool) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	}
	for (int64 r = 0; r < nrows; r++)
	{
		row_fn(arg, r, row, rnulls);
		for (int c = 0; c < ncols; c++)
		{
			cols[c][r] = row[c];
			cnulls[c][r] = rnulls[c];
		}
	}
	/*
	 * The unnests in the target list, which runs them in lockstep and
	 * streams the rows (ROWS FROM materialized them all in a tuplestore
	 * first); the arrays are of equal length: the same rows.  (A custom
	 * plan: Citus cannot plan this INSERT ... SELECT into a distributed
	 * table from a generic one.)
	 */
	initStringInfo(&sql);
	if (columns)
		appendStringInfo(&sql, "INSERT INTO %s (task_id, owner%s) SELECT $1, $2", table, columns);
	else
		appendStringInfo(&sql, "INSERT INTO %s SELECT $1, $2", table);
	args[0] = Int64GetDatum(run->task_id);
	argtypes[0] = INT8OID;
	args[1] = CStringGetTextDatum(run->owner);
	argtypes[1] = TEXTOID;
	for (int c = 0; c < ncols; c++)
	{
		args[2 + c] = make_array(cols[c], cnulls[c], nrows, etypes[c]);
		argtypes[2 + c] = get_array_type(etypes[c]);
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", 3 + c);
	}
	btpg_task_exec(run, sql.data, 2 + ncols, argtypes, args, NULL);
}

/* Append "key": %.10g or null */
static void
append_json_num(StringInfo buf, const char *key, double v)
{
	appendStringInfo(buf, ", \"%s\": %s", key, isfinite(v) ? psprintf("%.10g", v) : "null");
}

/*
 * btpg_task_summary_json
 *		Append the summary of a run a completed event carries (with
 *		pg_backtest.full_payloads): ", \"total_return\": ..., \"sharpe_ratio\":
 *		..., \"max_drawdown\": ..., \"trades_count\": n".
 */
void
btpg_task_summary_json(StringInfo buf, const BtMetrics *m)
{
	append_json_num(buf, "total_return", m->return_pct);
	append_json_num(buf, "sharpe_ratio", m->sharpe_ratio);
	append_json_num(buf, "max_drawdown", m->max_drawdown_pct);
	appendStringInfo(buf, ", \"trades_count\": " INT64_FORMAT, m->trades_count);
}

/*
 * btpg_task_complete
 *		Mark the task completed with message msg and send the final event,
 *		extra_json (", \"k\": v, ...") appended to its payload.  Caller is in
 *		the transaction that stored the results; the times are the real
 *		clock, after those inserts, not the transaction's start.
 */
void
btpg_task_complete(TaskRun *run, const char *msg, const char *extra_json)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	double		el;

	values[0] = Int64GetDatum(run->task_id);
	values[1] = CStringGetTextDatum(msg);
	btpg_task_exec(run, "UPDATE backtest.tasks SET status = 'completed', progress = 100, "
				   "current_step = 'done', step_index = 5, message = $2, "
				   "finished_at = pg_catalog.clock_timestamp(), "
				   "elapsed = pg_catalog.clock_timestamp() - started_at, "
				   "eta = '0', worker_pid = NULL WHERE id = $1 "
				   "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				   2, types, values, NULL);
	el = btpg_task_returned_elapsed();
	btpg_notify_task(run->task_id, "completed", 100, "done", TOTAL_STEPS, TOTAL_STEPS,
					 msg, isfinite(el) ? el : btpg_task_elapsed(run), 0, extra_json);
}

/*
 * Store the results (one results row, the trades in one INSERT ... unnest,
 * the equity curve as one row of arrays) and mark the task completed, in one
 * transaction as the extension owner.
 */
void
btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res)
{
	Datum		mvalues[2 + BTPG_METRICS_NATTS];
	bool		mnulls[2 + BTPG_METRICS_NATTS];
	char		cnulls[2 + BTPG_METRICS_NATTS];
	Oid			mtypes[2 + BTPG_METRICS_NATTS];
	StringInfoData sql;
	const BtMetrics *m = &res->metrics;
	int64		n = res->n;
	int64		nt = res->ntrades;

	btpg_begin_txn("pg_backtest: saving results");

	/* metrics: task_id, owner, then the backtest_metrics columns */
	mvalues[0] = Int64GetDatum(run->task_id);
	mvalues[1] = CStringGetTextDatum(run->owner);
	btpg_metrics_values(m, mvalues + 2, mnulls + 2);
	mnulls[0] = mnulls[1] = false;
	initStringInfo(&sql);
	/* by name: portfolio columns sit between the metrics of 0.4.0 and later ones */
	appendStringInfo(&sql, "INSERT INTO backtest.results (task_id, owner, %s) SELECT $1, $2",
					 btpg_metric_columns(""));
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
		appendStringInfo(&sql, ", $%d", i + 3);
	mtypes[0] = INT8OID;
	mtypes[1] = TEXTOID;
	for (int i = 0; i < BTPG_METRICS_NATTS; i++)
		mtypes[i + 2] = btpg_metric_type(&bt_metric_defs[i]);
	for (int i = 0; i < 2 + BTPG_METRICS_NATTS; i++)
		cnulls[i] = mnulls[i] ? 'n' : ' ';
	btpg_task_exec(run, sql.data, 2 + BTPG_METRICS_NATTS, mtypes, mvalues, cnulls);

	/* trades: one array per column, one INSERT (a portfolio's symbol stays NULL) */
	if (nt > 0)
	{
		static const char *const skip[] = {"symbol", NULL};
		Oid			ttypes[BTPG_TRADES_NATTS];
		StringInfoData names;

		initStringInfo(&names);
		if (btpg_task_table_columns("backtest.trades", skip, &names, ttypes, BTPG_TRADES_NATTS)
			!= BTPG_TRADES_NATTS)
			elog(ERROR, "backtest.trades does not have the columns of backtest_trades: reinstall the extension");
		btpg_task_insert_rows_into(run, "backtest.trades", names.data, BTPG_TRADES_NATTS, ttypes, nt,
								   trade_row, (void *) res->trades);
	}

	/* the equity curve: one row of arrays (backtest.equity unnests it) */
	{
		/* (the drawdown is derived from equity by backtest.equity: not stored) */
		const BtpgTaskCurveColumn cols[] = {
			{"ts", s->ts, TIMESTAMPTZOID},
			{"close", s->close, FLOAT8OID},
			{"position", res->position, FLOAT8OID},
			{"equity", res->equity, FLOAT8OID},
			{"cash", res->cash, FLOAT8OID},
		};

		btpg_task_save_curve(run, "backtest.equity_curves", cols, lengthof(cols), n);
	}

	/* completed, with the summary in the final event */
	{
		StringInfoData extra;

		initStringInfo(&extra);
		btpg_task_summary_json(&extra, m);
		btpg_task_complete(run, psprintf(INT64_FORMAT " bars, " INT64_FORMAT " trades",
										 n, m->trades_count),
						   extra.data);
	}
	btpg_end_txn();
}

/* After an error: mark the task failed or cancelled in a new transaction */
void
btpg_task_finish_with_error(TaskRun *run, ErrorData *edata, bool cancelled)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	const char *status = cancelled ? "cancelled" : "failed";
	StringInfoData extra;
	double		el;

	values[0] = Int64GetDatum(run->task_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = CStringGetTextDatum(cancelled ? "cancelled while running" :
									edata->message ? edata->message : "unknown error");
	btpg_begin_txn("pg_backtest: recording the outcome");
	btpg_task_exec(run, "UPDATE backtest.tasks SET status = $2, "
				  "error = CASE WHEN $2 = 'failed' THEN $3 END, "
				  "message = CASE WHEN $2 = 'cancelled' THEN $3 END, "
				  "finished_at = pg_catalog.clock_timestamp(), "
				  "elapsed = pg_catalog.clock_timestamp() - started_at, "
				  "eta = NULL, worker_pid = NULL WHERE id = $1 AND status = 'running' "
				  "RETURNING EXTRACT(epoch FROM elapsed)::pg_catalog.float8",
				  3, types, values, NULL);
	el = btpg_task_returned_elapsed();
	initStringInfo(&extra);
	if (!cancelled)
	{
		const char *emsg = edata->message ? edata->message : "unknown error";

		/* cut on a character boundary: the payload must stay valid text */
		appendStringInfoString(&extra, ", \"error\": ");
		escape_json(&extra, pnstrdup(emsg, pg_mbcliplen(emsg, strlen(emsg), 1000)));
	}
	btpg_notify_task(run->task_id, status, run->last_progress, btpg_task_step_names[run->step], run->step,
					 TOTAL_STEPS, cancelled ? "cancelled while running" : NULL,
					 isfinite(el) ? el : btpg_task_elapsed(run), NAN, extra.data);
	btpg_end_txn();
}
