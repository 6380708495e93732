/*-------------------------------------------------------------------------
 *
 * task.h
 *	  What the two halves of a task worker share: the run state, its
 *	  transactions and bookkeeping, progress reports (task.c) and the saving
 *	  of outcomes (task_save.c).  Private to src/pg/worker.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/worker/task.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_TASK_H
#define BTPG_TASK_H

#include "postgres.h"

#include "../pg_backtest.h"
#include "../portfolio.h"
#include "../sweep.h"

#define TOTAL_STEPS 5

/* One task's run state (in the run context) */
typedef struct TaskRun
{
	int64		task_id;
	int			slot;
	Oid			ext_owner;		/* the role bookkeeping runs as (BTPG_BOOKKEEPER) */
	char	   *owner;			/* the task's owner, by name */
	TimestampTz launched_at;	/* when the dispatcher started this worker */
	TimestampTz started;
	TimestampTz last_report;
	double		last_progress;
	int			step;
	BtLoadSpec	spec;
	BtConfig	cfg;
	MemoryContext cxt;			/* the run context */
	char	   *grid;			/* a sweep task's grid (text), else NULL */
	BtpgSweepPlan *plan;		/* a sweep task's combinations */
	BtpgPortfolio *pf;			/* a portfolio task, prepared; else NULL */
} TaskRun;

/* "starting", "loading data", ... "saving results", by step index */
extern const char *const btpg_task_step_names[TOTAL_STEPS + 1];

/* task.c: transactions, bookkeeping and progress of the current task */
extern void btpg_task_begin_txn(const char *activity);
extern void btpg_task_end_txn(void);
extern int	btpg_task_exec(TaskRun *run, const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls);
extern double btpg_task_elapsed(TaskRun *run);
extern double btpg_task_returned_elapsed(void);
extern bool btpg_task_cancel_requested(void);
extern void btpg_task_report(TaskRun *run, int step, double progress, const char *message,
							 bool force);

/* task_save.c: outcomes */
extern void btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res,
								   Oid owner);
extern void btpg_task_finish_with_error(TaskRun *run, ErrorData *edata, bool cancelled);
extern void btpg_task_run_sweep(TaskRun *run, const BtSeries *s, Oid owner);
extern void btpg_task_run_portfolio(TaskRun *run, BtProgressFn progress, Oid owner);

#endif							/* BTPG_TASK_H */
