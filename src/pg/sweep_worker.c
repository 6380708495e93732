/*-------------------------------------------------------------------------
 *
 * sweep_worker.c
 *	  A sweep worker: the dynamic background worker that runs combinations
 *	  of the leader's sweep from the segment (sweep_shared.h).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/memory.h"
#include "sweep.h"
#include "sweep_shared.h"

/* Longest wait of a worker for the leader to fill the segment, between looks */
#define SWEEP_READY_WAIT_MS	1L

/*
 * on_dsm_detach callback of a worker (normal exit or error): leave, and
 * wake the leader, which may be waiting for the last worker.
 */
static void
sweep_worker_detach(dsm_segment *seg, Datum arg)
{
	SweepShared *sh = (SweepShared *) DatumGetPointer(arg);

	pg_atomic_fetch_sub_u32(&sh->nactive, 1);
	SetLatch(&GetPGProcByNumber(sh->leader_pgprocno)->procLatch);
}

/* Has the leader left (abort), after what we read before? */
static bool
sweep_worker_leader_left(SweepShared *sh)
{
	pg_read_barrier();
	return pg_atomic_read_u32(&sh->abort) != 0;
}

/*
 * btpg_sweep_worker_main
 *		A sweep worker: attach to the segment, run chunks of combinations
 *		until none is left or the leader has gone, detach, exit.  An error
 *		here ends the process (there is no transaction to abort); the leader
 *		then runs the combinations this worker claimed but did not finish.
 */
void
btpg_sweep_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	SweepShared *sh;
	SweepView	v;
	MemoryContext cxt;
	BtAlloc		a;
	BtSweepCtx *ctx;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pg_backtest sweep worker");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		proc_exit(0);			/* the sweep ended before we started */
	sh = (SweepShared *) dsm_segment_address(seg);
	if (sh->magic != SWEEP_MAGIC || sh->strategy_index < 0 ||
		sh->strategy_index >= bt_n_strategies)
		elog(ERROR, "pg_backtest sweep worker: bad shared memory segment");

	/* register first, so that the count goes down whenever we leave */
	on_dsm_detach(seg, sweep_worker_detach, PointerGetDatum(sh));
	pg_atomic_fetch_add_u32(&sh->nactive, 1);

	/* the leader may still be copying the bars */
	while (pg_atomic_read_u32(&sh->ready) == 0 && pg_atomic_read_u32(&sh->abort) == 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 SWEEP_READY_WAIT_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	pg_read_barrier();

	if (pg_atomic_read_u32(&sh->abort) == 0)
	{
		cxt = AllocSetContextCreate(TopMemoryContext, "pg_backtest sweep worker",
									ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(cxt);
		sweep_prefault(sh, dsm_segment_map_length(seg), false);
		sweep_view_init(&v, sh, false);
		btpg_alloc_init(&a, cxt);
		if (sh->bars_pid != 0 && !sweep_copy_private_bars(&v, &a))
		{
			/* the others run our share */
			elog(DEBUG1, "pg_backtest sweep worker: could not copy the bars from process %d: %m",
				 (int) sh->bars_pid);
		}
		else if (sweep_worker_leader_left(sh))
		{
			/*
			 * The leader sets abort before it frees its bars: a copy made
			 * while they were going away is not used
			 */
		}
		else
		{
			v.proc = (int) (pg_atomic_fetch_add_u32(&sh->nprocs_seen, 1) % (uint32) sh->nblocks);
			ctx = NULL;
			if (v.jobs)
				v.jobcxt = AllocSetContextCreate(cxt, "pg_backtest sweep job",
												 ALLOCSET_DEFAULT_SIZES);
			else
				ctx = bt_sweep_ctx_create(&v.s, &a, sh->cache_bytes);
			(void) sweep_run_chunks(&v, ctx);
		}
	}
	dsm_detach(seg);
	proc_exit(0);
}
