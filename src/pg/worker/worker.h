/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The asynchronous backtest subsystem: GUCs, the shared-memory slot
 *	  table, the launcher and the task workers.  See README.md in this
 *	  folder for the task state machine.
 *
 * Locking: BtShared->lock (an LWLock of our own tranche) protects every
 * field of BtShared and its slots.  Hold it only to copy or set fields,
 * never across a transaction, a wait or a signal.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/worker/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_WORKER_H
#define BTPG_WORKER_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/lwlock.h"

/* Most tasks that may run at once (the ceiling of pg_backtest.max_concurrent) */
#define BTPG_MAX_SLOTS		64

/* NOTIFY channel for progress and completion events */
#define BTPG_CHANNEL		"backtest_progress"

/* A running (or starting) task worker */
typedef struct BtSlot
{
	bool		in_use;
	bool		cancel_requested;	/* set by backtest_cancel */
	int64		task_id;
	pid_t		pid;			/* 0 until the worker has started */
} BtSlot;

typedef struct BtShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch; /* NULL when no launcher runs */
	BtSlot		slots[BTPG_MAX_SLOTS];
} BtShared;

/* GUCs */
extern char *btpg_database_name;
extern int	btpg_max_concurrent;
extern int	btpg_max_attempts;
extern int	btpg_launcher_naptime;

/* shmem.c */
extern BtShared *btpg_shared;
extern void btpg_define_gucs(void);
extern void btpg_define_postmaster_gucs(void);
extern void btpg_shmem_init_hooks(void);
extern void btpg_register_launcher(void);
extern void btpg_require_shared(void);
extern void btpg_wake_launcher_at_commit(void);

/* launcher.c, task.c: background worker entry points */
extern PGDLLEXPORT void btpg_launcher_main(Datum main_arg);
extern PGDLLEXPORT void btpg_task_main(Datum main_arg);

/* Passed to a task worker in bgw_extra */
typedef struct BtTaskStart
{
	int64		task_id;
	Oid			dbid;
	Oid			owner;
} BtTaskStart;

/* Helpers shared by the launcher, the workers and the SQL functions (tasks.c) */
extern Oid	btpg_extension_owner(void);
extern int	btpg_exec_as_owner(Oid owner, const char *sql, int nargs, Oid *types,
							   Datum *values, const char *nulls);
extern void btpg_cancel_at_commit(int64 task_id);
extern char *btpg_extension_schema(void);
extern void btpg_notify_task(int64 task_id, const char *status, double progress,
							 const char *step, int step_index, int total_steps,
							 const char *message, double elapsed_s, double eta_s,
							 const char *extra_json);

#endif							/* BTPG_WORKER_H */
