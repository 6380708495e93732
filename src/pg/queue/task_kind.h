/*-------------------------------------------------------------------------
 *
 * task_kind.h
 *	  What the task queue offers the features: submitting a task, and task
 *	  kinds, the table through which a feature (a sweep, ...) runs its
 *	  tasks in a task worker without the queue knowing the feature.
 *
 * A task kind is named by backtest.tasks.kind.  The queue runs every task
 * the same way: it claims the task, checks its seal and applies the
 * submitter's settings (task_run.c), then calls the kind's plan to parse
 * what the task runs, loads the bars, calls execute, reports "saving
 * results" and calls save.  The "backtest" kind is the queue's own
 * (task_run.c); a feature defines its kind and registers it from _PG_init,
 * so the queue depends on no feature and a feature depends on the queue
 * only through this header.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/task_kind.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_TASK_KIND_H
#define BTPG_TASK_KIND_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bt_engine.h"
#include "core/columns.h"

/* A task worker's run of one task (the queue's, task.h) */
typedef struct TaskRun TaskRun;

/*
 * What a task's row says it runs, for a kind that plans the task itself
 * (BtpgTaskKind.plan_task): read after the seal was checked and the
 * submitter's settings applied, in the run context.
 */
typedef struct BtpgTaskRow
{
	const char *strategy;		/* its name, not looked up */
	Jsonb	   *params;
	Jsonb	   *grid;			/* NULL: none */
	ArrayType  *symbols;		/* backtest.tasks.symbols; NULL: none */
	Oid			relid;			/* the source, resolved; InvalidOid for a query */
	const char *query;
	bool		has_start;
	TimestampTz start_ts;
	bool		has_end;
	TimestampTz end_ts;
} BtpgTaskRow;

typedef struct BtpgTaskKind
{
	const char *name;			/* its backtest.tasks.kind */

	/*
	 * Parse the task's params (and grid: NULL for a task without one) for
	 * strategy st: the base configuration into *cfg, the source's columns
	 * into *cols.  Returns the kind's state for execute and save.  Called
	 * in the run context (which lives as long as the task), in the claim's
	 * transaction; errors fail the task.
	 */
	void	   *(*plan) (const BtStrategyDef *st, Jsonb *params, Jsonb *grid,
						 BtConfig *cfg, BtpgColumns *cols);

	/*
	 * Run the task on its loaded series s, outside any transaction (start
	 * short ones with btpg_begin_txn to report progress), checking
	 * btpg_task_cancel_requested.  Called in the run context.
	 */
	void		(*execute) (TaskRun *run, void *state, const BtSeries *s);

	/*
	 * Store the outcome and complete the task (btpg_task_complete), in a
	 * transaction of its own.  Called in the run context.
	 */
	void		(*save) (TaskRun *run, void *state, const BtSeries *s);

	/*
	 * Optional, instead of plan: plan the task from its row, for a kind whose
	 * strategy is no single-symbol one or whose data is not one series (a
	 * portfolio).  Same context and transaction as plan.
	 */
	void	   *(*plan_task) (TaskRun *run, const BtpgTaskRow *row);

	/*
	 * Optional, with plan_task: load the task's data as the task's owner,
	 * in the loading transaction, in the run context, instead of the one
	 * series the queue reads; returns the bars read (for the progress
	 * message).  execute and save then get an empty series.
	 */
	int64		(*load) (TaskRun *run, void *state);

	/*
	 * Optional: on Citus, when the task's source is distributed by symbol
	 * (backtest_citus_distribute ran for it), run the work on node
	 * ("host:port"), the worker holding the symbol's shard, through
	 * btpg_task_delegated_call, instead of loading the bars and calling
	 * execute here; save follows with an empty series.  Same context and
	 * transactions as execute.
	 */
	void		(*execute_on) (TaskRun *run, void *state, const char *node);
} BtpgTaskKind;

/* Most kinds that may be registered (the queue's own included) */
#define BTPG_MAX_TASK_KINDS	8

/* Register a task kind; from _PG_init (the task workers run it too) */
extern void btpg_register_task_kind(const BtpgTaskKind *kind);

/* The registered kind called name, or NULL */
extern const BtpgTaskKind *btpg_find_task_kind(const char *name);

/* ---- for a kind's callbacks (task_run.c, task_save.c) --------------------- */

/* A transaction with SPI connected and a snapshot pushed, and its end (txn.c) */
extern void btpg_begin_txn(const char *activity);
extern void btpg_end_txn(void);

/* Most extra arguments of btpg_task_delegated_call */
#define BTPG_MAX_DELEGATED_EXTRA	4

/* The rows of a delegated call, copied into the run context */
typedef struct BtpgDelegatedRows
{
	TupleDesc	td;
	HeapTuple  *rows;
	int64		n;
} BtpgDelegatedRows;

/*
 * Call fn(source, symbol, strategy, params, start_ts, end_ts, extra...) of
 * the extension as the task's owner, in a transaction of its own, selecting
 * cols: Citus delegates it to the node holding the symbol (citus_task.c).
 * nextra more arguments of the given types follow the six.
 */
extern BtpgDelegatedRows btpg_task_delegated_call(TaskRun *run, const char *fn, const char *cols,
												  int nextra, const Oid *types,
												  const Datum *values);
/* Free the rows of a delegated call (for callers that make many) */
extern void btpg_task_delegated_rows_free(BtpgDelegatedRows *rows);

/* Has backtest_cancel asked this worker to stop? */
extern bool btpg_task_cancel_requested(void);

/*
 * Commit a progress report (step: an index of the steps, 0 "starting" ..
 * 5 "saving results"; progress in percent) to the task row and NOTIFY;
 * throttled unless force or the step changed.
 */
extern void btpg_task_report(TaskRun *run, int step, double progress, const char *message,
							 bool force);

/*
 * The engine's progress callback of a task (progress_arg: the run): honours
 * backtest_cancel (returns 1) and reports the engine's steps.
 */
extern int	btpg_task_progress(void *arg, BtStep step, int64_t done, int64_t total);

/* Fills row r (values/nulls) of btpg_task_insert_rows */
typedef void (*BtpgTaskRowFn) (void *arg, int64 r, Datum *values, bool *nulls);

/*
 * Insert nrows rows into table (task id, owner, then the ncols columns
 * row_fn fills) in one statement, as the tables' owner; types: the element
 * types of the ncols columns, or NULL to read them from the table.
 */
extern void btpg_task_insert_rows(TaskRun *run, const char *table, int ncols, const Oid *types,
								  int64 nrows, BtpgTaskRowFn row_fn, void *arg);
/* The same into the named columns (", c1, c2, ..." after task_id, owner); NULL: in order */
extern void btpg_task_insert_rows_into(TaskRun *run, const char *table, const char *columns,
									   int ncols, const Oid *types, int64 nrows,
									   BtpgTaskRowFn row_fn, void *arg);

/*
 * The columns of table after task_id and owner, but those in skip
 * (NULL-terminated): the first max into names (", c1, c2, ...") and types;
 * returns how many there are.
 */
extern int	btpg_task_table_columns(const char *table, const char *const *skip, StringInfo names,
									Oid *types, int max);

/*
 * Insert one row of arrays (an equity curve: task id, owner, then the
 * ncols arrays values[] of the array types types[] into the columns named
 * by columns, "c1, c2, ...") into table, with a generic plan (the arrays
 * are large).
 */
extern void btpg_task_insert_arrays(TaskRun *run, const char *table, const char *columns,
									int ncols, const Oid *types, Datum *values);

/*
 * The arrays of one curve row (btpg_task_insert_arrays) built as stored:
 * btpg_task_curve_array builds the array of column `column` of the table
 * given to btpg_task_curve_init from n values at data (elemtype FLOAT8OID
 * or TIMESTAMPTZOID, 8 bytes: the engine's timestamps, converted; INT4OID,
 * 4 bytes), already compressed with the column's method when the toaster
 * would compress it anyway, in a scratch buffer the next array reuses.
 * Caller is in a task transaction; the arrays live until it ends.
 */
typedef struct BtpgTaskCurve
{
	Oid			relid;			/* the table of the columns */
	void	   *scratch;		/* a buffer free for the next array, or NULL */
	Size		scratch_size;
} BtpgTaskCurve;

extern void btpg_task_curve_init(BtpgTaskCurve *c, const char *table);
extern Datum btpg_task_curve_array(BtpgTaskCurve *c, const char *column, const void *data,
								   int64 n, Oid elemtype);

/* One column of a curve row: its name, n values at data of type elemtype */
typedef struct BtpgTaskCurveColumn
{
	const char *name;
	const void *data;
	Oid			elemtype;		/* as btpg_task_curve_array takes it */
} BtpgTaskCurveColumn;

/*
 * Insert one curve row into table: the ncols columns' arrays of n values
 * each, built by btpg_task_curve_array in the order given (one scratch
 * buffer), in one btpg_task_insert_arrays.  Caller is in a task transaction.
 */
extern void btpg_task_save_curve(TaskRun *run, const char *table, const BtpgTaskCurveColumn *cols,
								 int ncols, int64 n);

/* Append a run's summary to a completed event's extra JSON */
extern void btpg_task_summary_json(StringInfo buf, const BtMetrics *m);

/* Mark the task completed with message msg; extra_json goes into the event */
extern void btpg_task_complete(TaskRun *run, const char *msg, const char *extra_json);

/* ---- submitting (api.c) -------------------------------------------------- */

/*
 * Queue a task after its input was validated: a backtest when grid is
 * NULL, else a sweep.  Returns its id; the launcher is woken at commit.
 */
extern int64 btpg_insert_task(Oid relid, const char *query, const char *symbol,
							  const char *strategy, Jsonb *params, bool has_start,
							  TimestampTz start_ts, bool has_end, TimestampTz end_ts, Jsonb *grid);

/*
 * Queue a task of a registered kind other than "backtest" and "sweep",
 * whose plan_task reads it: its source (relid) or query, strategy name,
 * params, symbols (a text[], NULL: none; sealed) and time range.
 */
extern int64 btpg_insert_task_of(const char *kind, Oid relid, const char *query,
								 const char *strategy, Jsonb *params, ArrayType *symbols,
								 bool has_start, TimestampTz start_ts, bool has_end,
								 TimestampTz end_ts);

#endif							/* BTPG_TASK_KIND_H */
