/*-------------------------------------------------------------------------
 *
 * task.h
 *	  What the two halves of a task worker share: the run state, its
 *	  transactions and bookkeeping, progress reports (task_run.c) and the saving
 *	  of outcomes (task_save.c).  Private to src/pg/queue.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/task.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_TASK_H
#define BTPG_TASK_H

#include "postgres.h"

#include "core/loader.h"
#include "task_kind.h"

#define TOTAL_STEPS 5

/* One task's run state (in the run context) */
struct TaskRun
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
	BtpgLoadSpec	spec;
	BtConfig	cfg;
	MemoryContext cxt;			/* the run context */
	const BtpgTaskKind *kind;	/* what the task is (backtest.tasks.kind) */
	void	   *kind_state;		/* the kind's plan */
	char	   *strategy;		/* the task's strategy and params, as in its row */
	char	   *params;
};

/* "starting", "loading data", ... "saving results", by step index */
extern const char *const btpg_task_step_names[TOTAL_STEPS + 1];

/*
 * task_run.c: bookkeeping of the current task (and, in task_kind.h, its
 * transactions, progress and cancel flag)
 */
extern int	btpg_task_exec(TaskRun *run, const char *sql, int nargs, Oid *types,
						   Datum *values, const char *nulls);
extern double btpg_task_elapsed(TaskRun *run);
extern double btpg_task_returned_elapsed(void);

/* task_save.c: outcomes (and, in task_kind.h, the helpers of every kind's save) */
extern void btpg_task_save_results(TaskRun *run, const BtSeries *s, const BtResult *res);
extern void btpg_task_finish_with_error(TaskRun *run, ErrorData *edata, bool cancelled);

/* citus_task.c: a task on Citus runs on the node holding its symbol */
extern char *btpg_citus_task_node(TaskRun *run);
extern void btpg_citus_run_task(TaskRun *run, const char *node);
extern bool btpg_citus_node_lost(const ErrorData *edata);

#endif							/* BTPG_TASK_H */
