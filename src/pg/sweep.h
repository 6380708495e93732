/*-------------------------------------------------------------------------
 *
 * sweep.h
 *	  Parameter sweeps in the server: the settings, and the parallel
 *	  executor shared by backtest_sweep() and backtest_sweep_query()
 *	  (sweep.c) and the sweep workers (sweep_parallel.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_SWEEP_H
#define BTPG_SWEEP_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bt_sweep.h"
#include "pg_backtest.h"

/* Most processes (the backend included) a sweep may use */
#define BTPG_MAX_SWEEP_WORKERS	64

/* GUCs (defined by btpg_sweep_define_gucs) */
extern int	btpg_sweep_workers;
extern int	btpg_max_combinations;
extern int	btpg_sweep_cache_kb;

/* Define pg_backtest.sweep_workers, .max_combinations, .sweep_cache_size */
extern void btpg_sweep_define_gucs(void);
/* Define pg_backtest.sweep_bar_runs_per_process (sweep_parallel.c) */
extern void btpg_sweep_parallel_define_gucs(void);

/*
 * Run every configuration of combos[0..ncombos-1] on the series s and store
 * the metrics of combination i in metrics[i].  Uses this backend and up to
 * pg_backtest.sweep_workers - 1 background workers; the metrics do not
 * depend on how many there are.  combos[i].strategy must be st (a member of
 * bt_strategies).  If series_cxt is not NULL it holds the series only and
 * is deleted as soon as the series is no longer needed (after it has been
 * copied to shared memory), which lowers the backend's peak memory.
 * Engine errors are reported with ereport, for the first failing
 * combination in combination order.  Allocates in CurrentMemoryContext.
 */
extern void btpg_sweep_execute(const BtSeries *s, const BtStrategyDef *st,
							   const BtConfig *combos, int64 ncombos,
							   MemoryContext series_cxt, BtMetrics *metrics);

/*
 * A job of btpg_sweep_execute_jobs: one configuration on a slice of the
 * series, bars [from, from + n).  name (may be NULL) names the job in the
 * context of an error it raises.
 */
typedef struct BtpgSweepJob
{
	int64		from;
	int64		n;
	const char *name;
} BtpgSweepJob;

/*
 * btpg_sweep_execute with one job per configuration: combos[i] runs on the
 * slice jobs[i] of s (each slice must have passed bt_validate_series), e.g.
 * one symbol each for backtest_run_all.  The same processes, segment and
 * settings as a sweep; metrics[i] is the result of job i.
 */
extern void btpg_sweep_execute_jobs(const BtSeries *s, const BtStrategyDef *st,
									const BtConfig *combos, const BtpgSweepJob *jobs,
									int64 njobs, MemoryContext series_cxt,
									BtMetrics *metrics);

/* Entry point of a sweep worker; main_arg is the dsm_handle of the sweep */
extern PGDLLEXPORT void btpg_sweep_worker_main(Datum main_arg);

/* Columns of backtest_sweep() and backtest.sweep_results (without rank) */
#define BTPG_SWEEP_NATTS	(2 + 2 * 4 + BT_N_METRICS)

/* A parsed, expanded sweep (for the task queue's sweep tasks, sweep_task.c) */
typedef struct BtpgSweepPlan
{
	const BtStrategyDef *st;
	void	   *spec;			/* the parsed grid and options (sweep.c) */
	BtConfig	base;
	BtConfig   *combos;
	int64		ncombos;
	int64		nskipped;
} BtpgSweepPlan;

extern void btpg_sweep_plan(Jsonb *grid, Jsonb *params, const BtStrategyDef *st,
							const BtAlloc *a, BtpgSweepPlan *plan, BtColumns *cols);
extern int64 btpg_sweep_order(const BtpgSweepPlan *plan, const BtMetrics *metrics, int64 **order);
extern void btpg_sweep_row(const BtpgSweepPlan *plan, int64 k, const BtMetrics *m,
						   Datum *values, bool *nulls);

/* sweep_task.c: register the "sweep" task kind with the queue (from _PG_init) */
extern void btpg_sweep_register_task_kind(void);

#endif							/* BTPG_SWEEP_H */
