/*-------------------------------------------------------------------------
 *
 * queue.h
 *	  The asynchronous backtest subsystem: GUCs, the shared-memory slot
 *	  and database tables, the cluster launcher, the per-database
 *	  dispatchers and the task workers.  See README.md in this folder for
 *	  the task state machine.
 *
 * Locking: BtpgShared->lock (an LWLock of our own tranche) protects every
 * field of BtpgShared, its slots and its database entries.  Hold it only to
 * copy or set fields (and SetLatch), never across a transaction, a wait or
 * a signal.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/queue/queue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_QUEUE_H
#define BTPG_QUEUE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* Most tasks that may run at once (the ceiling of pg_backtest.max_concurrent) */
#define BTPG_MAX_SLOTS		64

/* Most databases with a dispatcher running or wanted at once */
#define BTPG_MAX_DBS		256

/* NOTIFY channel for progress and completion events */
#define BTPG_CHANNEL		"backtest_progress"

/*
 * Field 4 of the advisory lock tag a task worker holds (session level) on
 * (database, task id) while it runs its task: user advisory locks use 1 and
 * 2, so ours never collide with them.  Recovery requeues a running task
 * only when it can take this lock, i.e. when no live worker runs it.
 */
#define BTPG_TASK_LOCK_FIELD4	0x4254

/* A running (or starting) task worker; counts against max_concurrent */
typedef struct BtpgSlot
{
	bool		in_use;
	bool		cancel_requested;	/* set by backtest_cancel */
	Oid			dbid;			/* the task's database */
	int64		task_id;
	pid_t		pid;			/* 0 until the worker has started */
	pid_t		dispatcher_pid; /* the dispatcher that reserved the slot */
	/*
	 * When the slot was given its task, stamped under btpg_shared->lock:
	 * the task's started_at.  Slots are handed out under that lock in queue
	 * order, so started_at follows the queue even when the dispatcher that
	 * reserved a slot is slower to launch its worker than a reused worker
	 * that took a later task meanwhile.
	 */
	TimestampTz assigned_at;
} BtpgSlot;

/*
 * A database the launcher serves or was asked to serve.
 *
 * requested: set by a submission's commit (and at launcher start, to visit
 * every database once); the dispatcher clears it before each look at its
 * queue, and exits only when it is still clear once the queue is idle.
 */
typedef struct BtpgDb
{
	Oid			dbid;			/* InvalidOid: a free entry */
	bool		requested;
	pid_t		dispatcher_pid; /* 0 when no dispatcher serves it */
	Latch	   *dispatcher_latch;
	bool		has_pending;	/* the dispatcher has a startable task ... */
	TimestampTz oldest;			/* ... submitted at this time */
	pid_t		dropper_pid;	/* a backend running DROP DATABASE on it, or 0 */
	int			npending;		/* pending tasks at the dispatcher's last look (status.c) */
} BtpgDb;

typedef struct BtpgShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch; /* NULL when no launcher runs */
	BtpgSlot		slots[BTPG_MAX_SLOTS];
	BtpgDb		dbs[BTPG_MAX_DBS];
	/* a task worker could not be registered: idle dispatchers stop lingering */
	bool		worker_slots_short;
} BtpgShared;

/* GUCs */
extern int	btpg_max_concurrent;
extern int	btpg_max_attempts;
extern int	btpg_launcher_naptime;
extern int	btpg_retry_delay;
extern char *btpg_test_delay;
extern int	btpg_tasks_per_worker;
extern int	btpg_dispatcher_linger;

/* shmem.c */
extern BtpgShared *btpg_shared;
extern void btpg_define_gucs(void);
extern void btpg_shmem_init_hooks(void);
extern void btpg_register_launcher(void);
extern void btpg_require_shared(void);
extern void btpg_wake_launcher_at_commit(void);
extern BtpgDb *btpg_find_db(Oid dbid, bool create);
extern void btpg_wake_oldest_dispatcher(Oid except_db);
extern void btpg_release_slot(int slot, pid_t pid);
extern void btpg_test_delay_point(const char *point);
extern bool btpg_db_dropping(BtpgDb *db);

/* txn.c: a short transaction (SPI, snapshot); a main loop's head and recovery */
extern void btpg_begin_txn(const char *activity);
extern void btpg_end_txn(void);
extern void btpg_loop_start(MemoryContext scratch);
extern void btpg_loop_recover(MemoryContext scratch);

/*
 * dispatcher.c: called by each dispatcher once a round, between
 * transactions, with done set when it is about to exit; returns the
 * milliseconds until it wants to be called again, or -1.  Set from
 * _PG_init by a feature that reports on the queue (the system status,
 * notify/status.c), so the queue calls into no feature.
 */
typedef long (*BtpgDispatcherRoundHook) (bool done);
extern BtpgDispatcherRoundHook btpg_dispatcher_round_hook;

/* reuse.c */
extern bool btpg_take_next_task(int slot, Oid owner, Oid ext_owner, int64 prev_task,
								int64 *next_id);

/* dropdb.c */
extern void btpg_install_dropdb_hook(void);

/* launcher.c, dispatcher.c, task_run.c: background worker entry points */
extern PGDLLEXPORT void btpg_launcher_main(Datum main_arg);
extern PGDLLEXPORT void btpg_dispatcher_main(Datum main_arg);
extern PGDLLEXPORT void btpg_task_main(Datum main_arg);

/* Passed to a task worker in bgw_extra */
typedef struct BtpgTaskStart
{
	int64		task_id;
	Oid			dbid;
	Oid			owner;
	TimestampTz launched_at;	/* when the dispatcher started the worker: started_at */
} BtpgTaskStart;

/* Helpers shared by the launcher, the workers and the SQL functions (api.c) */
extern Oid	btpg_extension_owner(void);
extern int	btpg_exec_as_owner(Oid owner, const char *sql, int nargs, Oid *types,
							   Datum *values, const char *nulls);
extern int	btpg_exec_as_owner_generic(Oid owner, const char *sql, int nargs, Oid *types,
									   Datum *values, const char *nulls);
/* pg_backtest.full_payloads; the submitter's settings a task runs under */
extern void btpg_tasks_define_gucs(void);
extern void btpg_apply_task_settings(const char *settings_json);
extern void btpg_cancel_at_commit(int64 task_id);
extern char *btpg_extension_schema(void);
/* citus_task.c: on a Citus worker with the result tables distributed, refuse to queue */
extern void btpg_citus_check_submit(void);
extern void btpg_notify_task(int64 task_id, const char *status, double progress,
							 const char *step, int step_index, int total_steps,
							 const char *message, double elapsed_s, double eta_s,
							 const char *extra_json);

#endif							/* BTPG_QUEUE_H */
