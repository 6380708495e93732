/*-------------------------------------------------------------------------
 *
 * sweep_shared.h
 *	  The segment of a parallel sweep and a process's view of it, shared by
 *	  the leader (sweep_parallel.c) and the sweep workers (sweep_worker.c);
 *	  the run loop over its combination blocks is in sweep_shared.c.
 *
 * The leader puts everything the workers need into one dynamic shared
 * memory segment:
 *
 *	  SweepShared	header: sizes, offsets, the work counter, flags
 *	  SweepSlot[]	one per combination: done flag, status, metrics
 *	  int64[]		the run order: position k runs combination order[k]
 *	  BtConfig[]	the combinations (strategy pointer cleared)
 *	  SweepJob[]	jobs only: the slice of the bars of each configuration
 *	  bars			ts, open, high, low, close[, volume][, signal]
 *
 * The arrays are shared, not copied per worker, with one exception,
 * private bars: when the bars fit in a process's line cache
 * (pg_backtest.sweep_cache_size) and the kernel lets a process of the
 * same user read another's memory (Linux, no Yama ptrace restriction, the
 * backend dumpable: sweep_private_bars_possible), the bars stay in the
 * leader's own memory and each worker copies them into its own with one
 * process_vm_readv per array (bars_pid, bars_addr).  On this project's
 * VMs a 4 kB page of shared memory costs each process about 12 us the
 * first time it touches it (40 MB of bars: ~70 ms for the leader to fill
 * and again for each worker to read), a copy between private
 * huge-page-backed arrays ~5 ms.  A worker that cannot copy them (a
 * kernel that refuses after all) leaves its share to the others.  The segment holds no
 * pointers (the library may be mapped at a different address in each
 * process): arrays are found by offset from the segment's start, and the
 * strategy by its index in bt_strategies.  Workers need no database
 * connection (BGWORKER_SHMEM_ACCESS only) and read nothing but the segment.
 *
 * The grid's order is cut into one contiguous block per process planned,
 * and each block is ordered by bt_sweep_order (consecutive combinations
 * then share indicator lines, which each process's BtSweepCtx computes once
 * and keeps while its cache has room).  Process p claims chunks of its own
 * block first, by an atomic counter per block, then helps with the others' (the
 * leader is process 0 and takes chunks too).  So each process runs a run
 * of neighbouring combinations instead of every other chunk of the whole
 * order.  Each combination's result goes to its own slot, so the results,
 * and their order, do not depend on which process ran what, nor on the
 * order of the runs.
 *
 * Locking and memory ordering: there are no locks.
 *	- ready: written 1 by the leader after everything else in the segment,
 *	  behind pg_write_barrier; workers read it, then pg_read_barrier.
 *	- block_next[b] (work counter of block b): pg_atomic_fetch_add_u64
 *	  claims positions [k, k + chunk); a claim at or beyond the block's end
 *	  means no work is left in it, for good.
 *	- a slot is written only by the process that claimed it (or, after all
 *	  workers have left, by the leader): metrics and status first, then
 *	  pg_write_barrier, then done = 1, then ndone += 1 (a full barrier).
 *	- nactive counts attached workers: a worker increments it before its
 *	  first claim and decrements it when it detaches (also when it dies of
 *	  an error: the decrement is an on_dsm_detach callback), then sets the
 *	  leader's latch.  Once the leader's own claim failed, nactive = 0 means
 *	  no process will ever write a slot again: the leader then runs any
 *	  combination not marked done itself (a worker died mid-chunk).
 *	- abort: set by the leader when the sweep is over and whenever it
 *	  detaches (on error or cancel too: an on_dsm_detach callback); workers
 *	  test it between combinations and in the engine's progress callback,
 *	  and stop.
 *
 * Jobs (btpg_sweep_execute_jobs, e.g. one per symbol for backtest_run_all)
 * are the same thing with one difference: configuration i runs on its own
 * slice of the bars, with a sweep context of its own made for that run in a
 * scratch memory context that is reset after it (lines are not shared
 * between series).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_shared.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_SWEEP_SHARED_H
#define BTPG_SWEEP_SHARED_H

#include "postgres.h"

#include "port/atomics.h"

#include "sweep.h"

#define SWEEP_MAGIC			0x62747377	/* "btsw" */

/* Columns of bars after ts, in this order in SweepShared.off_col */
#define SWEEP_COL_OPEN		0
#define SWEEP_COL_HIGH		1
#define SWEEP_COL_LOW		2
#define SWEEP_COL_CLOSE		3
#define SWEEP_COL_VOLUME	4
#define SWEEP_COL_SIGNAL	5
#define SWEEP_NCOLS			6

/* Jobs only: the bars of configuration i are [from, from + n) */
typedef struct SweepJob
{
	int64		from;
	int64		n;
} SweepJob;

/* The result of one combination */
typedef struct SweepSlot
{
	pg_atomic_uint32 done;		/* 1 once status and metrics are written */
	int32		status;			/* BtErrCode of the run */
	BtMetrics	metrics;
} SweepSlot;

/* Header of the segment (or, without workers, of a backend-local block) */
typedef struct SweepShared
{
	uint32		magic;
	int32		strategy_index; /* into bt_strategies */
	int32		leader_pgprocno;	/* whose latch workers set */
	int32		chunk;			/* combinations per claim */
	int64		nbars;
	int64		ncombos;
	Size		cache_bytes;	/* each process's indicator line cache */
	Size		off_ts;
	Size		off_col[SWEEP_NCOLS];	/* 0 = column absent */
	Size		off_combos;
	Size		off_slots;
	Size		off_order;		/* 0 = combination k runs at position k */
	Size		off_jobs;		/* jobs only; 0 = every combination on every bar */
	int32		nblocks;		/* the positions cut in this many blocks */
	pg_atomic_uint32 ready;		/* the leader has filled the segment */
	pg_atomic_uint32 nprocs_seen;	/* process numbers given out (the leader is 0) */
	pg_atomic_uint64 ndone;		/* slots marked done */
	pg_atomic_uint32 nactive;	/* workers attached */
	pg_atomic_uint32 abort;		/* the leader has left: stop */
	pg_atomic_uint64 block_next[BTPG_MAX_SWEEP_WORKERS];	/* first position not yet claimed */
	/*
	 * Private bars: not 0, the bars are not in the segment but in the
	 * memory of process bars_pid (the leader) at bars_addr: ts, then the
	 * columns in SWEEP_COL_ order (0 = absent)
	 */
	int32		bars_pid;
	uint64		bars_addr[1 + SWEEP_NCOLS];
} SweepShared;

/* One process's view of a sweep (backend-local pointers) */
typedef struct SweepView
{
	SweepShared *sh;
	SweepSlot  *slots;
	const BtConfig *combos;		/* strategy pointers not valid in DSM */
	const BtStrategyDef *st;
	BtSeries	s;
	const SweepJob *jobs;		/* NULL unless jobs */
	const int64 *order;			/* NULL: the identity */
	MemoryContext jobcxt;		/* jobs: scratch of one run, reset after it */
	int			proc;			/* this process's number: its block first */
	bool		is_leader;
	int64		nrun;			/* combinations this process ran */
} SweepView;

/* Column c (SWEEP_COL_) of a series */
static inline const double **
sweep_series_col(BtSeries *s, int c)
{
	switch (c)
	{
		case SWEEP_COL_OPEN:
			return &s->open;
		case SWEEP_COL_HIGH:
			return &s->high;
		case SWEEP_COL_LOW:
			return &s->low;
		case SWEEP_COL_CLOSE:
			return &s->close;
		case SWEEP_COL_VOLUME:
			return &s->volume;
		default:
			return &s->signal;
	}
}

/* First position of block b (b = nblocks: the end) */
static inline int64
sweep_block_start(const SweepShared *sh, int b)
{
	return sh->ncombos * b / sh->nblocks;
}

/* sweep_shared.c: the layout, a process's view, running combinations */
extern Size sweep_layout(SweepShared *sh, const BtSeries *s, bool parallel, bool with_jobs);

/*
 * May the workers of this backend copy bars from its memory (see private
 * bars above)?  Checked once per backend.
 */
extern bool sweep_private_bars_possible(void);

/*
 * A worker's copy of the leader's private bars into arrays from a, put in
 * v->s and checked with bt_validate_series; false (errno set) if the kernel
 * refused or the copy is not a valid series
 */
extern bool sweep_copy_private_bars(SweepView *v, const BtAlloc *a);
extern void sweep_view_init(SweepView *v, SweepShared *sh, bool is_leader);
extern BtErrCode sweep_run_one(SweepView *v, BtSweepCtx *ctx, int64 i, BtMetrics *m,
							   BtError *err);
extern bool sweep_run_range(SweepView *v, BtSweepCtx *ctx, int64 from, int64 to);
extern void sweep_blocks_init(SweepShared *sh);
extern bool sweep_run_chunks(SweepView *v, BtSweepCtx *ctx);
extern void sweep_prefault(void *addr, Size size, bool write);

#endif							/* BTPG_SWEEP_SHARED_H */
