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

#include "bt_sweep.h"

/* Most processes (the backend included) a sweep may use */
#define BTPG_MAX_SWEEP_WORKERS	64

/* GUCs (defined by btpg_sweep_define_gucs) */
extern int	btpg_sweep_workers;
extern int	btpg_max_combinations;
extern int	btpg_sweep_cache_kb;

/* Define pg_backtest.sweep_workers, .max_combinations, .sweep_cache_size */
extern void btpg_sweep_define_gucs(void);

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

/* Entry point of a sweep worker; main_arg is the dsm_handle of the sweep */
extern PGDLLEXPORT void btpg_sweep_worker_main(Datum main_arg);

#endif							/* BTPG_SWEEP_H */
