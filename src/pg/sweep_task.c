/*-------------------------------------------------------------------------
 *
 * sweep_task.c
 *	  Sweeps through the task queue: backtest_submit_sweep(), and the
 *	  "sweep" task kind a task worker runs them with (registered from
 *	  _PG_init; see queue/task_kind.h).
 *
 * A sweep task is planned like backtest_sweep() (btpg_sweep_plan, with the
 * same errors), its combinations are run in batches, each in a short
 * transaction with the sweep's own parallel workers, reporting progress as
 * combinations done / total between batches, and its rows go to
 * backtest.sweep_results in one INSERT; the completed event carries the
 * best row's summary.  Only this file of the sweeps knows the queue.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_task.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "queue/task_kind.h"
#include "sweep.h"

PG_FUNCTION_INFO_V1(backtest_submit_sweep);

/* A sweep task's state: its combinations, then their metrics */
typedef struct SweepTask
{
	BtpgSweepPlan plan;
	BtMetrics  *metrics;		/* by combination, once executed */
	char	   *grid;			/* the grid as text (delegated batches on Citus) */
} SweepTask;

/* Parse the grid and params and expand the combinations (BtpgTaskKind.plan) */
static void *
sweep_task_plan(const BtStrategyDef *st, Jsonb *params, Jsonb *grid, BtConfig *cfg,
				BtpgColumns *cols)
{
	SweepTask  *t = palloc0(sizeof(SweepTask));
	BtAlloc		a;

	if (grid == NULL)
		elog(ERROR, "a sweep task has no grid");
	/* the grid's parameters are checked per combination */
	btpg_alloc_init(&a, CurrentMemoryContext);
	btpg_sweep_plan(grid, params, st, &a, &t->plan, cols);
	t->grid = JsonbToCString(NULL, &grid->root, VARSIZE(grid));
	*cfg = t->plan.base;
	return t;
}

/* Combinations per batch: about a twentieth, so progress moves by 5% */
static int64
sweep_batch_size(int64 n)
{
	return Max(1, (n + 19) / 20);
}

/*
 * Run the combinations in batches of about a twentieth, each in a short
 * transaction, reporting progress between them (BtpgTaskKind.execute)
 */
static void
sweep_task_execute(TaskRun *run, void *state, const BtSeries *s)
{
	SweepTask  *t = state;
	BtpgSweepPlan *plan = &t->plan;
	MemoryContext cxt = CurrentMemoryContext;
	int64		n = plan->ncombos;
	int64		batch = sweep_batch_size(n);

	t->metrics = palloc_extended(sizeof(BtMetrics) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (int64 from = 0; from < n; from += batch)
	{
		int64		cnt = Min(batch, n - from);

		CHECK_FOR_INTERRUPTS();
		if (btpg_task_cancel_requested())
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("sweep cancelled")));
		btpg_begin_txn("pg_backtest: sweeping");
		MemoryContextSwitchTo(cxt);
		btpg_sweep_execute(s, plan->st, plan->combos + from, cnt, NULL, t->metrics + from);
		btpg_end_txn();
		MemoryContextSwitchTo(cxt);
		btpg_task_report(run, 3, 30.0 + 55.0 * (double) (from + cnt) / (double) n,
						 psprintf(INT64_FORMAT " of " INT64_FORMAT " combinations", from + cnt, n),
						 from + cnt == n);
	}
}

/*
 * A combination's metrics as backtest_sweep_batch returns them: the
 * engine's struct, bit for bit, after a header that a node of another
 * build refuses (the nodes of a Citus cluster run the same version).
 */
typedef struct SweepBatchMetrics
{
	uint32		magic;
	uint32		size;			/* sizeof(BtMetrics) */
	BtMetrics	m;
} SweepBatchMetrics;

#define SWEEP_BATCH_MAGIC	0x62747377	/* "btsw" */

/*
 * The node answered a batch with what is not its rows (what: "metrics this
 * server cannot read", "combination 3 twice", ...): a node of another build,
 * or a function there that is not ours.  Nothing is stored.
 */
static void sweep_batch_refused(const char *node, const char *what) pg_attribute_noreturn();

static void
sweep_batch_refused(const char *node, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the node %s returned %s", node, what),
			 errdetail("A sweep batch returns each of its combinations once, as backtest_sweep_batch of this build computes it."),
			 errhint("Install the same pg_backtest build on every node of the cluster.")));
}

/*
 * Run the combinations on the Citus node holding the symbol, in the same
 * batches as execute, one delegated backtest_sweep_batch call each
 * (BtpgTaskKind.execute_on); each batch's metrics come back bit for bit.
 */
static void
sweep_task_execute_on(TaskRun *run, void *state, const char *node)
{
	SweepTask  *t = state;
	int64		n = t->plan.ncombos;
	int64		batch = sweep_batch_size(n);
	Oid			types[3] = {JSONBOID, INT8OID, INT8OID};
	Datum		values[3];

	btpg_task_report(run, 3, 10.0, psprintf("running on %s", node), true);
	t->metrics = palloc_extended(sizeof(BtMetrics) * Max(n, 1), MCXT_ALLOC_HUGE);
	/* the grid, parsed once for every batch (this context outlives them) */
	values[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(t->grid));
	for (int64 from = 0; from < n; from += batch)
	{
		int64		cnt = Min(batch, n - from);
		BtpgDelegatedRows rows;
		bool	   *seen;

		CHECK_FOR_INTERRUPTS();
		if (btpg_task_cancel_requested())
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("sweep cancelled")));
		values[1] = Int64GetDatum(from);
		values[2] = Int64GetDatum(cnt);
		rows = btpg_task_delegated_call(run, "backtest_sweep_batch", "combo, metrics", 3, types, values);
		if (rows.n != cnt)
			sweep_batch_refused(node, psprintf(INT64_FORMAT " rows for " INT64_FORMAT " combinations",
											   rows.n, cnt));
		/* each combination of the batch exactly once: none left unset */
		seen = palloc0(sizeof(bool) * cnt);
		for (int64 r = 0; r < rows.n; r++)
		{
			Datum		d[2];
			bool		isnull[2];
			bytea	   *b;
			const SweepBatchMetrics *bm;
			int64		k;

			heap_deform_tuple(rows.rows[r], rows.td, d, isnull);
			if (isnull[0] || isnull[1])
				sweep_batch_refused(node, "a NULL");
			k = DatumGetInt64(d[0]);
			b = DatumGetByteaPP(d[1]);
			bm = (const SweepBatchMetrics *) VARDATA_ANY(b);
			if (k < from || k >= from + cnt || VARSIZE_ANY_EXHDR(b) != sizeof(SweepBatchMetrics) ||
				bm->magic != SWEEP_BATCH_MAGIC || bm->size != sizeof(BtMetrics))
				sweep_batch_refused(node, "metrics this server cannot read");
			if (seen[k - from])
				sweep_batch_refused(node, psprintf("combination " INT64_FORMAT " twice", k));
			seen[k - from] = true;
			memcpy(&t->metrics[k], &bm->m, sizeof(BtMetrics));
		}
		pfree(seen);
		/* the batch's rows are copied out: free them, not keep every batch's */
		btpg_task_delegated_rows_free(&rows);
		btpg_task_report(run, 3, 10.0 + 75.0 * (double) (from + cnt) / (double) n,
						 psprintf(INT64_FORMAT " of " INT64_FORMAT " combinations on %s", from + cnt, n, node),
						 from + cnt == n);
	}
}

/*
 * backtest_sweep_batch(source, symbol, strategy, params, start_ts, end_ts,
 *						grid, combo_from, combo_count)
 *		The shard-level step of a sweep task on Citus: combinations
 *		combo_from .. combo_from + combo_count - 1 of the grid's expansion
 *		(as backtest_sweep expands it), run on the symbol's bars read here,
 *		one row each: (combo, metrics as SweepBatchMetrics).  Distributed
 *		by backtest_citus_distribute like the other symbol-scoped functions,
 *		so a call runs on the node holding the symbol and reads its shard.
 */
PG_FUNCTION_INFO_V1(backtest_sweep_batch);

Datum
backtest_sweep_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const BtStrategyDef *st;
	BtpgLoadSpec load;
	BtpgSweepPlan plan;
	BtAlloc		alloc;
	BtSeries	s;
	BtMetrics  *metrics;
	int64		from,
				cnt;
	MemoryContext cxt;
	MemoryContext old;

	SetSingleFuncCall(fcinfo, 0);
	btpg_args_require_source(fcinfo);
	for (int i = 6; i < 9; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" of backtest_sweep_batch must not be NULL",
							i == 6 ? "grid" : i == 7 ? "combo_from" : "combo_count")));
	st = btpg_args_strategy(fcinfo, 2);
	from = PG_GETARG_INT64(7);
	cnt = PG_GETARG_INT64(8);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest sweep batch",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	btpg_alloc_init(&alloc, cxt);
	memset(&load, 0, sizeof(load));
	btpg_sweep_plan(PG_GETARG_JSONB_P(6), PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), st,
					&alloc, &plan, &load.cols);
	/* (from + cnt is never formed: both may be near INT64_MAX) */
	if (from < 0 || cnt < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s " INT64_FORMAT " is negative", from < 0 ? "combo_from" : "combo_count",
						from < 0 ? from : cnt),
				 errhint("Combinations are numbered from 0.")));
	if (from > plan.ncombos || cnt > plan.ncombos - from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("combo_from " INT64_FORMAT " and combo_count " INT64_FORMAT
						" go past the grid's " INT64_FORMAT " combinations", from, cnt, plan.ncombos),
				 errhint("combo_from + combo_count must be at most " INT64_FORMAT ".", plan.ncombos)));
	load.need_volume = load.cols.name[BTCOL_VOLUME] != NULL;
	load.need_signal = st->needs_signal;
	btpg_args_table_source(fcinfo, 1, 4, 5, &load);
	btpg_load_series(&load, &s);
	metrics = palloc_extended(sizeof(BtMetrics) * Max(cnt, 1), MCXT_ALLOC_HUGE);
	btpg_sweep_execute(&s, st, plan.combos + from, cnt, NULL, metrics);
	for (int64 k = 0; k < cnt; k++)
	{
		bytea	   *b = palloc(VARHDRSZ + sizeof(SweepBatchMetrics));
		SweepBatchMetrics *bm = (SweepBatchMetrics *) VARDATA(b);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		SET_VARSIZE(b, VARHDRSZ + sizeof(SweepBatchMetrics));
		memset(bm, 0, sizeof(*bm));
		bm->magic = SWEEP_BATCH_MAGIC;
		bm->size = sizeof(BtMetrics);
		bm->m = metrics[k];
		values[0] = Int64GetDatum(from + k);
		values[1] = PointerGetDatum(b);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* The rows of a sweep task, in result order (btpg_task_insert_rows) */
typedef struct SweepRows
{
	const BtpgSweepPlan *plan;
	const BtMetrics *metrics;
	const int64 *order;
} SweepRows;

/* Row r: its rank, then the backtest_sweep row of the r-th combination */
static void
sweep_row(void *arg, int64 r, Datum *values, bool *nulls)
{
	const SweepRows *rows = arg;
	int64		k = rows->order[r];

	values[0] = Int32GetDatum((int32) (r + 1));
	nulls[0] = false;
	btpg_sweep_row(rows->plan, k, &rows->metrics[k], values + 1, nulls + 1);
}

/*
 * Store the rows in result order in backtest.sweep_results and complete
 * the task with the best row's summary (BtpgTaskKind.save)
 */
static void
sweep_task_save(TaskRun *run, void *state, const BtSeries *s)
{
	SweepTask  *t = state;
	MemoryContext cxt = CurrentMemoryContext;
	int64		n = t->plan.ncombos;
	int64	   *order;
	int64		nrows = btpg_sweep_order(&t->plan, t->metrics, &order);

	btpg_begin_txn("pg_backtest: saving sweep results");
	MemoryContextSwitchTo(cxt);
	{
		SweepRows	rows = {&t->plan, t->metrics, order};

		/* rank, then the backtest_sweep columns */
		btpg_task_insert_rows(run, "backtest.sweep_results", 1 + BTPG_SWEEP_NATTS, NULL, nrows,
							  sweep_row, &rows);
	}
	{
		StringInfoData extra;

		initStringInfo(&extra);
		appendStringInfo(&extra, ", \"combinations\": " INT64_FORMAT, n);
		if (nrows > 0)
			btpg_task_summary_json(&extra, &t->metrics[order[0]]);
		btpg_task_complete(run, psprintf(INT64_FORMAT " combinations, " INT64_FORMAT " rows", n, nrows),
						   extra.data);
	}
	btpg_end_txn();
	MemoryContextSwitchTo(cxt);
}

static const BtpgTaskKind sweep_task_kind = {
	.name = "sweep",
	.plan = sweep_task_plan,
	.execute = sweep_task_execute,
	.save = sweep_task_save,
	.execute_on = sweep_task_execute_on,
};

/*
 * btpg_sweep_register_task_kind
 *		Register the "sweep" task kind with the queue; from _PG_init.
 */
void
btpg_sweep_register_task_kind(void)
{
	btpg_register_task_kind(&sweep_task_kind);
}

/*
 * backtest_submit_sweep(source, symbol, strategy, grid, params, start_ts,
 *						 end_ts) returns bigint
 *		Validate like backtest_sweep and queue the sweep as a task.
 */
Datum
backtest_submit_sweep(PG_FUNCTION_ARGS)
{
	BtpgLoadSpec	load;
	BtpgSweepPlan plan;
	BtAlloc		alloc;
	const BtStrategyDef *st;
	Jsonb	   *params;

	for (int i = 0; i < 4; i++)
		if (i != 1 && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s must not be NULL",
							i == 0 ? "source" : i == 2 ? "strategy" : "grid")));
	btpg_alloc_init(&alloc, CurrentMemoryContext);
	st = btpg_lookup_strategy(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	params = PG_ARGISNULL(4) ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"))) :
		PG_GETARG_JSONB_P(4);
	memset(&load, 0, sizeof(load));
	btpg_sweep_plan(PG_GETARG_JSONB_P(3), params, st, &alloc, &plan, &load.cols);
	if (plan.ncombos == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every combination of the grid is skipped"),
				 errhint("Check the constraints and the values of the swept parameters.")));
	btpg_args_table_source(fcinfo, 1, 5, 6, &load);
	btpg_validate_source(&load);
	PG_RETURN_INT64(btpg_insert_task(load.relid, NULL, load.symbol, st->name, params,
									 load.has_start, load.start_ts, load.has_end, load.end_ts,
									 PG_GETARG_JSONB_P(3)));
}
