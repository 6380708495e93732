/*-------------------------------------------------------------------------
 *
 * sweep.h
 *	  Parameter sweeps in the server: the settings (sweep.c), the parallel
 *	  executor shared by the sweeps, walk-forward, backtest_run_all and
 *	  sweep tasks (the leader sweep_parallel.c, the sweep workers
 *	  sweep_worker.c, and what both run, sweep_shared.c), and a sweep's
 *	  plan and rows (sweep_grid.c, sweep_rows.c).
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

#include "core/columns.h"
#include "core/results.h"
#include "bt_sweep.h"

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

/*
 * A sweep whose bars are loaded straight into its shared segment:
 * btpg_sweep_presize is the loader's BtpgPresizeFn (core/loader.h), with a
 * BtpgSweepPre whose st, combos and ncombos are set (the rest zero); it
 * sizes the segment from the planner's estimate, starts the workers (they
 * start while the bars load) and hands the loader the segment's columns;
 * for bars that will stay in the backend (private bars, sweep_shared.h) it
 * makes the segment without them, starts the workers and lets the loader
 * read into backend memory (returns false).  btpg_sweep_execute_pre is then
 * btpg_sweep_execute over the loaded series: it uses the segment if the
 * bars landed in it (or may stay private) and the estimate gave the same
 * number of processes, else drops it and copies as usual.
 */
typedef struct BtpgSweepPre
{
	const BtStrategyDef *st;
	int64		ncombos;
	void	   *seg;			/* dsm_segment *; NULL: none */
	void	   *ld;				/* the leader's worker handles */
	int			nprocs;
	int			nstarted;
	int64		cap;			/* bars the segment holds */
	bool		private_bars;	/* the segment holds none: they stay in the backend */
} BtpgSweepPre;

extern bool btpg_sweep_presize(void *arg, double est_rows, const bool *present,
							   int64 *cap, int64_t **ts, double **col);
extern void btpg_sweep_execute_pre(const BtSeries *s, const BtConfig *combos,
								   BtpgSweepPre *pre, MemoryContext series_cxt,
								   BtMetrics *metrics);

/* Entry point of a sweep worker (sweep_worker.c); main_arg is the sweep's dsm_handle */
extern PGDLLEXPORT void btpg_sweep_worker_main(Datum main_arg);

/* Swept parameters with their own typed result columns (p1 .. p4) */
#define BTPG_SWEEP_PCOLS	4
/*
 * Columns of backtest_sweep() and backtest.sweep_results (without rank):
 * combo_no, params, p1_name, p1, ..., p4_name, p4, then the metrics
 */
#define BTPG_SWEEP_NATTS	(2 + 2 * BTPG_SWEEP_PCOLS + BTPG_METRICS_NATTS)

/* A parsed grid plus the options that are not the engine's business */
typedef struct BtpgSweepSpec
{
	BtGrid		grid;
	bool	   *swept;			/* by parameter space index */
	BtObjective objective;		/* sort_by (bt_sweep.h) */
	int64		top;			/* 0 = every row */
} BtpgSweepSpec;

/* A parsed, expanded sweep: backtest_sweep's, walk-forward's, a sweep task's */
typedef struct BtpgSweepPlan
{
	const BtStrategyDef *st;
	BtpgSweepSpec spec;			/* the parsed grid and options */
	BtConfig	base;
	BtConfig   *combos;			/* after btpg_sweep_expand */
	int64		ncombos;
	int64		nskipped;
} BtpgSweepPlan;

/* Parse and check (btpg_sweep_parse), then expand (btpg_sweep_expand), or both */
extern void btpg_sweep_parse(Jsonb *grid, Jsonb *params, const BtStrategyDef *st,
							 const BtAlloc *a, BtpgSweepPlan *plan, BtpgColumns *cols);
extern void btpg_sweep_expand(BtpgSweepPlan *plan, const BtAlloc *a);
extern void btpg_sweep_plan(Jsonb *grid, Jsonb *params, const BtStrategyDef *st,
							const BtAlloc *a, BtpgSweepPlan *plan, BtpgColumns *cols);
/* The combinations in result order, cut to top; returns how many */
extern int64 btpg_sweep_order(const BtpgSweepPlan *plan, const BtMetrics *metrics, int64 **order);
/* The backtest_sweep row of combination k, or only its parameter columns */
extern void btpg_sweep_row(const BtpgSweepPlan *plan, int64 k, const BtMetrics *m,
						   Datum *values, bool *nulls);
extern void btpg_sweep_params(const BtpgSweepPlan *plan, int64 k, Datum *values, bool *nulls);

/* sweep_task.c: register the "sweep" task kind with the queue (from _PG_init) */
extern void btpg_sweep_register_task_kind(void);

#endif							/* BTPG_SWEEP_H */
