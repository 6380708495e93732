/*-------------------------------------------------------------------------
 *
 * sweep_parallel.c
 *	  The parallel executor of parameter sweeps: the calling backend (the
 *	  leader) and up to pg_backtest.sweep_workers - 1 dynamic background
 *	  workers run the combinations of one sweep over one series.  This is
 *	  the leader's side; the segment, its memory ordering and the run loop
 *	  both sides use are in sweep_shared.h and sweep_shared.c, the worker's
 *	  main in sweep_worker.c.
 *
 * The workers are registered as soon as the segment's header is written,
 * and start while the leader copies the bars and computes the order; they
 * wait for `ready` before they look at anything else.
 *
 * Small sweeps start fewer workers (sweep_process_count).  After a sweep
 * the leader does not wait for its workers to exit (that took 35-80 ms):
 * it keeps their handles, and the next sweep of the backend waits for them
 * before it registers new ones, so that their slots are free again.  If
 * no worker can be started, or the segment cannot be created, the backend
 * runs the sweep alone (with a NOTICE).  Without workers no segment is
 * made: the slots are backend-local.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#ifdef __linux__
#include <sys/statvfs.h>
#endif

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/dsm_impl.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/bgworker.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/memory.h"
#include "sweep.h"
#include "sweep_shared.h"

/*
 * A process is worth starting for this many bar-runs (bars x combinations):
 * pg_backtest.sweep_bar_runs_per_process, a developer setting (tests lower
 * it to run small inputs in parallel).
 */
static int	sweep_bar_runs_per_process = 4000000;

/*
 * Where the workers find the bars (sweep_shared.h, private bars):
 * pg_backtest.sweep_bars, a developer setting.  auto: the leader's own
 * arrays, copied by each worker, when they fit in sweep_cache_size and the
 * kernel allows it, else the segment; shared: always the segment;
 * test_unreadable (tests): private bars at addresses no worker can read,
 * so every worker leaves its share to the leader.
 */
typedef enum SweepBarsMode
{
	SWEEP_BARS_AUTO,
	SWEEP_BARS_SHARED,
	SWEEP_BARS_TEST_UNREADABLE
} SweepBarsMode;

static const struct config_enum_entry sweep_bars_options[] = {
	{"auto", SWEEP_BARS_AUTO, false},
	{"shared", SWEEP_BARS_SHARED, false},
	{"test_unreadable", SWEEP_BARS_TEST_UNREADABLE, false},
	{NULL, 0, false}
};

static int	sweep_bars_mode = SWEEP_BARS_AUTO;

/*
 * Jobs (one run per bar): bars per process = this x the setting above.
 * Measured on 1000 symbols x 10k bars of sma_cross: the engine took well
 * under a tenth of backtest_run_all, the segment copy about as much, and a
 * second process made the call slower, not faster.
 */
#define SWEEP_JOB_BARS_FACTOR	8

/* Longest wait between two looks at the workers (they also set our latch) */
#define SWEEP_WAIT_MS		100L

/*
 * The leader's worker handles, for the detach callback.  Lives in
 * TopMemoryContext: the callback may run during error cleanup, after the
 * query's memory is gone; it frees this.
 */
typedef struct SweepLeader
{
	SweepShared *sh;
	int			nhandles;
	BackgroundWorkerHandle *handles[BTPG_MAX_SWEEP_WORKERS];
} SweepLeader;


/*
 * Workers of this backend's previous sweep that may not have exited yet
 * (handles in TopMemoryContext): the next sweep waits for them.
 */
static BackgroundWorkerHandle *prev_handles[BTPG_MAX_SWEEP_WORKERS];
static int	nprev_handles = 0;

/*
 * Wait until the workers of the previous sweep have exited, so that their
 * background worker slots are free again, and forget them.  They have
 * nothing left to do, so this is short (and usually over already).
 */
static void
sweep_wait_previous_workers(void)
{
	for (;;)
	{
		bool		all_stopped = true;

		for (int i = 0; i < nprev_handles && all_stopped; i++)
		{
			pid_t		pid;
			BgwHandleStatus st = GetBackgroundWorkerPid(prev_handles[i], &pid);

			if (st != BGWH_STOPPED && st != BGWH_POSTMASTER_DIED)
				all_stopped = false;
		}
		if (all_stopped)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	for (int i = 0; i < nprev_handles; i++)
		pfree(prev_handles[i]);
	nprev_handles = 0;
}

/*
 * on_dsm_detach callback of the leader (success, error or cancel): tell
 * the workers to stop, withdraw the workers that have not started yet (so
 * they do not take a slot for nothing), and free the handles.
 */
static void
sweep_leader_detach(dsm_segment *seg, Datum arg)
{
	SweepLeader *ld = (SweepLeader *) DatumGetPointer(arg);

	pg_atomic_write_u32(&ld->sh->abort, 1);
	for (int i = 0; i < ld->nhandles; i++)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(ld->handles[i], &pid) == BGWH_NOT_YET_STARTED)
			TerminateBackgroundWorker(ld->handles[i]);
		pfree(ld->handles[i]);
	}
	pfree(ld);
}

/*
 * Is there room for a segment of `size` bytes?  With POSIX shared memory on
 * Linux the segment lives in /dev/shm, often small in containers (64 MB in
 * Docker by default); creating too big a segment would fail with an error
 * after the data was read, so check first and run serially instead.
 */
static bool
sweep_dsm_space_ok(Size size, uint64 *avail)
{
#ifdef __linux__
	struct statvfs sv;

	if (dynamic_shared_memory_type != DSM_IMPL_POSIX || statvfs("/dev/shm", &sv) != 0)
		return true;
	*avail = (uint64) sv.f_bavail * (uint64) sv.f_frsize;
	return *avail >= (uint64) size;
#else
	return true;
#endif
}


/* Start up to n workers on seg; returns how many were registered */
static int
sweep_start_workers(dsm_segment *seg, SweepLeader *ld, int n)
{
	BackgroundWorker worker;
	MemoryContext old;

	btpg_bgworker_init(&worker, "btpg_sweep_worker_main",
					   psprintf("pg_backtest sweep worker for PID %d", MyProcPid),
					   "pg_backtest sweep worker");
	/* no database: the bars and the configurations are in the segment */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));

	old = MemoryContextSwitchTo(TopMemoryContext);
	while (ld->nhandles < n)
	{
		BackgroundWorkerHandle *h;

		if (!RegisterDynamicBackgroundWorker(&worker, &h))
			break;
		ld->handles[ld->nhandles++] = h;
	}
	MemoryContextSwitchTo(old);
	return ld->nhandles;
}

/*
 * Wait until every combination is done or no worker is attached any more
 * (the caller's own claim must have failed already: no new claim can
 * succeed).  Workers set our latch when they detach; postmaster's
 * bgw_notify_pid signal wakes us too.
 */
static void
sweep_wait_workers(SweepShared *sh)
{
	for (;;)
	{
		pg_memory_barrier();
		if (pg_atomic_read_u64(&sh->ndone) >= (uint64) sh->ncombos ||
			pg_atomic_read_u32(&sh->nactive) == 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 SWEEP_WAIT_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	pg_memory_barrier();
}

/*
 * After a successful sweep: stop the workers that have not started, and
 * hand the handles to sweep_wait_previous_workers: the next sweep of this
 * backend waits until they have exited before it starts workers of its own
 * (otherwise it could find their slots still taken).  Workers that have
 * started have finished or are about to: nothing is left to claim, and
 * abort makes a late one leave at once.
 */
static void
sweep_finish_workers(SweepLeader *ld)
{
	pg_atomic_write_u32(&ld->sh->abort, 1);
	for (int i = 0; i < ld->nhandles; i++)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(ld->handles[i], &pid) == BGWH_NOT_YET_STARTED)
			TerminateBackgroundWorker(ld->handles[i]);
		prev_handles[nprev_handles++] = ld->handles[i];
	}
	ld->nhandles = 0;
}

/*
 * The run order of a sweep into order[0..ncombos-1], for a line cache of
 * cache_bytes over nbars bars: the grid's order is cut into sh->nblocks
 * contiguous blocks (one per process: neighbouring rows of the grid, which
 * share lines) and each block is ordered by bt_sweep_order on its own, so
 * that every process's share computes few lines (ordering the whole grid
 * and then cutting it left the last block the leftovers: 13 and 25 lines
 * for the two halves of the benchmark's sweep).
 */
static void
sweep_fill_order(const SweepShared *sh, const BtStrategyDef *st, const BtConfig *combos,
				 int64 *order)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest sweep order",
											  ALLOCSET_DEFAULT_SIZES);
	int64		cache_arrays = (int64) (sh->cache_bytes / ((Size) Max(sh->nbars, 1) * sizeof(double)));

	for (int b = 0; b < sh->nblocks; b++)
	{
		int64		from = sweep_block_start(sh, b);
		int64		n = sweep_block_start(sh, b + 1) - from;
		BtAlloc		a;

		btpg_alloc_init(&a, cxt);
		bt_sweep_order(st, combos + from, n, cache_arrays, &a, order + from);
		for (int64 k = from; k < from + n; k++)
			order[k] += from;
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
}

/*
 * Processes for a sweep: pg_backtest.sweep_workers, but no more than one
 * per sweep_bar_runs_per_process bar-runs (bars x combinations).  A worker
 * costs about 15 ms to start and to exit on a small VM (measured), what
 * the engine needs for about 2 million bar-runs; below a few times that, a
 * worker's share is done sooner by the processes already running.
 * Deterministic (no timing), so a sweep always uses the same number of
 * processes.
 */
static int
sweep_process_count(int64 nbars, int64 ncombos)
{
	double		bar_runs = (double) Max(nbars, 1) * (double) ncombos;
	double		by_work = floor(bar_runs / (double) sweep_bar_runs_per_process);

	return (int) Max(1.0, Min((double) btpg_sweep_workers, by_work));
}

/* Combinations per claim: small enough to balance, big enough to share lines */
static int
sweep_chunk_size(int64 ncombos, int nprocs)
{
	int64		c = ncombos / ((int64) nprocs * 8);

	return (int) Max(1, Min(c, 16));
}

/*
 * btpg_sweep_parallel_define_gucs
 *		Define pg_backtest.sweep_bar_runs_per_process (developer option).
 */
void
btpg_sweep_parallel_define_gucs(void)
{
	DefineCustomIntVariable("pg_backtest.sweep_bar_runs_per_process",
							"Bar-runs (bars x combinations) that justify one more process in a sweep or backtest_run_all.",
							"A developer option: tests lower it so that small inputs use the workers.",
							&sweep_bar_runs_per_process, 4000000, 1, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_backtest.sweep_bars",
							 "Where the workers of a sweep or backtest_run_all find the bars.",
							 "A developer option: auto (a copy of the backend's own when that is "
							 "possible and they fit in sweep_cache_size), shared (the shared "
							 "segment), test_unreadable (tests: no worker can read them).",
							 &sweep_bars_mode, SWEEP_BARS_AUTO, sweep_bars_options,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
}

/*
 * Do the workers copy the bars (n of them, with volume and signal columns
 * if present) from the leader's memory instead of reading them from the
 * segment (sweep_shared.h, private bars)?
 */
static bool
sweep_use_private_bars(int64 n, bool volume, bool signal)
{
	double		bytes = (double) n * sizeof(double) * (5 + (volume ? 1 : 0) + (signal ? 1 : 0));

	if (sweep_bars_mode == SWEEP_BARS_TEST_UNREADABLE)
		return true;
	return sweep_bars_mode == SWEEP_BARS_AUTO &&
		bytes <= (double) btpg_sweep_cache_kb * 1024.0 && sweep_private_bars_possible();
}

/* Error context of a failing job: its name */
static void
sweep_job_context(void *arg)
{
	errcontext("%s", (const char *) arg);
}

/*
 * The header of a sweep of ncombos over nbars (jobs: one run per bar) in
 * *hdr; returns the processes to use
 */
static int
sweep_plan_header(SweepShared *hdr, const BtStrategyDef *st, int64 nbars, int64 ncombos,
				  bool jobs)
{
	int			nprocs;
	int			nchunks;

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = SWEEP_MAGIC;
	hdr->strategy_index = (int32) (st - bt_strategies);
	if (hdr->strategy_index < 0 || hdr->strategy_index >= bt_n_strategies)
		elog(ERROR, "strategy \"%s\" is not in bt_strategies", st->name);
	hdr->leader_pgprocno = MyProc->pgprocno;
	hdr->nbars = nbars;
	hdr->ncombos = ncombos;
	hdr->cache_bytes = (Size) btpg_sweep_cache_kb * 1024;
	/*
	 * Jobs run each bar once, so copying the bars into the segment costs
	 * about what running them does (a cheap strategy): a process must get
	 * SWEEP_JOB_BARS_FACTOR times a sweep's share of bars to be worth it.
	 */
	nprocs = jobs ? sweep_process_count(nbars / SWEEP_JOB_BARS_FACTOR, 1) :
		sweep_process_count(nbars, ncombos);
	hdr->chunk = sweep_chunk_size(ncombos, nprocs);
	nchunks = (int) Min((ncombos + hdr->chunk - 1) / hdr->chunk, (int64) BTPG_MAX_SWEEP_WORKERS);
	nprocs = Min(nprocs, nchunks);
	/* a block of the run order per process (jobs share no lines: one block) */
	hdr->nblocks = jobs ? 1 : nprocs;
	return nprocs;
}

/*
 * The header at sh: a copy of hdr with the counters zero, the blocks of
 * combinations set up; ready: the data is there already (a serial sweep's)
 */
static void
sweep_header_init(SweepShared *sh, const SweepShared *hdr, bool ready)
{
	memcpy(sh, hdr, sizeof(*hdr));
	pg_atomic_init_u32(&sh->ready, ready ? 1 : 0);
	pg_atomic_init_u32(&sh->nprocs_seen, 1);
	pg_atomic_init_u64(&sh->ndone, 0);
	pg_atomic_init_u32(&sh->nactive, 0);
	pg_atomic_init_u32(&sh->abort, 0);
	sweep_blocks_init(sh);
}

/*
 * Write the header hdr into the new segment seg of size bytes and start
 * nprocs - 1 workers on it (they start while we fill the rest); returns
 * how many were registered, and the handles in *ldp
 */
static int
sweep_segment_start(dsm_segment *seg, const SweepShared *hdr, int nprocs, Size size,
					SweepLeader **ldp)
{
	char	   *base = dsm_segment_address(seg);
	SweepShared *sh = (SweepShared *) base;
	SweepLeader *ld;
	int			nstarted;

	ld = MemoryContextAllocZero(TopMemoryContext, sizeof(SweepLeader));
	ld->sh = sh;
	on_dsm_detach(seg, sweep_leader_detach, PointerGetDatum(ld));

	sweep_header_init(sh, hdr, false);
	pg_write_barrier();
	sweep_wait_previous_workers();
	nstarted = sweep_start_workers(seg, ld, nprocs - 1);
	sweep_prefault(base, size, true);
	*ldp = ld;
	return nstarted;
}

/*
 * btpg_sweep_presize
 *		See sweep.h.  The segment holds the estimate plus a tenth (and 1024
 *		bars): ANALYZE's sample may fall short of the rows by a little.
 */
bool
btpg_sweep_presize(void *arg, double est_rows, const bool *present,
				   int64 *cap, int64_t **ts, double **col)
{
	BtpgSweepPre *pre = (BtpgSweepPre *) arg;
	SweepShared hdr;
	BtSeries	shape;
	dsm_segment *seg;
	SweepLeader *ld;
	uint64		avail = 0;
	Size		size;
	int			nprocs;
	char	   *base;
	bool		private_bars;

	if (pre->ncombos <= 0 || pre->seg != NULL || !(est_rows >= 1) || est_rows > 1e12)
		return false;
	nprocs = sweep_plan_header(&hdr, pre->st, (int64) est_rows, pre->ncombos, false);
	if (nprocs <= 1)
		return false;
	memset(&shape, 0, sizeof(shape));
	shape.n = (int64) (est_rows * 1.1) + 1024;
	/*
	 * Bars that will stay in the backend's memory (private bars) are loaded
	 * there: the segment is made without them, only to start the workers now
	 */
	private_bars = sweep_use_private_bars(shape.n, present[BTCOL_VOLUME], present[BTCOL_SIGNAL]);
	if (private_bars)
		shape.n = 0;
	/* only where the layout takes them: non-NULL marks a present column */
	shape.volume = present[BTCOL_VOLUME] ? (const double *) &shape : NULL;
	shape.signal = present[BTCOL_SIGNAL] ? (const double *) &shape : NULL;
	size = sweep_layout(&hdr, &shape, true, false);
	if (btpg_memory_in_use() + size > (Size) btpg_max_memory_kb * 1024 ||
		!sweep_dsm_space_ok(size, &avail) ||
		(seg = dsm_create(size, DSM_CREATE_NULL_IF_MAXSEGMENTS)) == NULL)
		return false;			/* the usual path says why, if it fails too */
	pre->nstarted = sweep_segment_start(seg, &hdr, nprocs, size, &ld);
	pre->seg = seg;
	pre->ld = ld;
	pre->nprocs = nprocs;
	pre->cap = shape.n;
	pre->private_bars = private_bars;
	if (private_bars)
		return false;
	base = dsm_segment_address(seg);
	*cap = shape.n;
	*ts = (int64_t *) (base + hdr.off_ts);
	for (int c = 0; c < SWEEP_NCOLS; c++)
		if (hdr.off_col[c])
			col[BTCOL_OPEN + c] = (double *) (base + hdr.off_col[c]);
	return true;
}

static void sweep_execute(const BtSeries *s, const BtStrategyDef *st,
						  const BtConfig *combos, const BtpgSweepJob *jobs, int64 ncombos,
						  MemoryContext series_cxt, BtMetrics *metrics, BtpgSweepPre *pre);

/*
 * btpg_sweep_execute_pre
 *		See sweep.h.
 */
void
btpg_sweep_execute_pre(const BtSeries *s, const BtConfig *combos, BtpgSweepPre *pre,
					   MemoryContext series_cxt, BtMetrics *metrics)
{
	sweep_execute(s, pre->st, combos, NULL, pre->ncombos, series_cxt, metrics, pre);
}

/*
 * btpg_sweep_execute
 *		See sweep.h.
 */
void
btpg_sweep_execute(const BtSeries *s, const BtStrategyDef *st,
				   const BtConfig *combos, int64 ncombos,
				   MemoryContext series_cxt, BtMetrics *metrics)
{
	sweep_execute(s, st, combos, NULL, ncombos, series_cxt, metrics, NULL);
}

/*
 * btpg_sweep_execute_jobs
 *		See sweep.h; jobs NULL is btpg_sweep_execute.
 */
void
btpg_sweep_execute_jobs(const BtSeries *s, const BtStrategyDef *st,
						const BtConfig *combos, const BtpgSweepJob *jobs, int64 ncombos,
						MemoryContext series_cxt, BtMetrics *metrics)
{
	sweep_execute(s, st, combos, jobs, ncombos, series_cxt, metrics, NULL);
}

/* The three above; pre (may be NULL): a segment the bars were loaded into */
static void
sweep_execute(const BtSeries *s, const BtStrategyDef *st,
			  const BtConfig *combos, const BtpgSweepJob *jobs, int64 ncombos,
			  MemoryContext series_cxt, BtMetrics *metrics, BtpgSweepPre *pre)
{
	SweepShared hdr;
	SweepShared *sh;
	SweepView	v;
	dsm_segment *seg = NULL;
	SweepLeader *ld = NULL;
	MemoryContext cxt;
	BtAlloc		a;
	BtSweepCtx *ctx;
	Size		size;
	int			nprocs;
	int			nstarted = 0;
	bool		private_bars = false;

	if (ncombos <= 0)
	{
		if (pre && pre->seg)
		{
			sweep_finish_workers((SweepLeader *) pre->ld);
			dsm_detach((dsm_segment *) pre->seg);
			pre->seg = NULL;
		}
		if (series_cxt)
			MemoryContextDelete(series_cxt);
		return;
	}

	nprocs = sweep_plan_header(&hdr, st, s->n, ncombos, jobs != NULL);

	/* ---- the segment the bars were loaded into, if it fits them ---- */
	if (pre && pre->seg)
	{
		SweepShared *psh = (SweepShared *) dsm_segment_address((dsm_segment *) pre->seg);

		if (!jobs && nprocs == pre->nprocs &&
			(pre->private_bars ?
			 sweep_use_private_bars(s->n, s->volume != NULL, s->signal != NULL) :
			 s->n <= pre->cap) &&
			(s->volume != NULL) == (psh->off_col[SWEEP_COL_VOLUME] != 0) &&
			(s->signal != NULL) == (psh->off_col[SWEEP_COL_SIGNAL] != 0))
		{
			seg = (dsm_segment *) pre->seg;
			private_bars = pre->private_bars;
			ld = (SweepLeader *) pre->ld;
			nstarted = pre->nstarted;
			psh->nbars = s->n;
			size = dsm_segment_map_length(seg);
		}
		else
		{
			/* as after a sweep: the next segment's workers wait for these */
			sweep_finish_workers((SweepLeader *) pre->ld);
			dsm_detach((dsm_segment *) pre->seg);
		}
		pre->seg = NULL;
	}

	/* ---- parallel: a segment with everything, then the workers ---- */
	if (seg == NULL && nprocs > 1)
	{
		uint64		avail = 0;
		BtSeries	shape = *s;

		/* private bars: a segment without them (they stay in s's arrays) */
		private_bars = sweep_use_private_bars(s->n, s->volume != NULL, s->signal != NULL);
		if (private_bars)
			shape.n = 0;
		size = sweep_layout(&hdr, &shape, true, jobs != NULL);
		btpg_memory_limit_check(btpg_memory_in_use(), size, "The shared segment of a parallel sweep");
		if (!sweep_dsm_space_ok(size, &avail))
		{
			ereport(NOTICE,
					(errmsg("not enough shared memory for a parallel sweep: running it in this backend only"),
					 errdetail("The sweep needs %zu bytes of dynamic shared memory; /dev/shm has %llu bytes free.",
							   size, (unsigned long long) avail),
					 errhint("Enlarge /dev/shm (e.g. docker run --shm-size), or set pg_backtest.sweep_workers = 1.")));
			nprocs = 1;
		}
		else if ((seg = dsm_create(size, DSM_CREATE_NULL_IF_MAXSEGMENTS)) == NULL)
		{
			ereport(NOTICE,
					(errmsg("too many dynamic shared memory segments for a parallel sweep: running it in this backend only"),
					 errhint("Retry when fewer parallel queries run, or set pg_backtest.sweep_workers = 1.")));
			nprocs = 1;
		}
		else
			nstarted = sweep_segment_start(seg, &hdr, nprocs, size, &ld);
	}

	if (seg != NULL)
	{
		char	   *base = dsm_segment_address(seg);
		BtSeries	src = *s;	/* (sweep_series_col takes a mutable series) */

		sh = (SweepShared *) base;
		for (int64 i = 0; i < ncombos; i++)
		{
			SweepSlot  *slot = &((SweepSlot *) (base + sh->off_slots))[i];
			BtConfig   *c = &((BtConfig *) (base + sh->off_combos))[i];

			pg_atomic_init_u32(&slot->done, 0);
			slot->status = BT_OK;
			*c = combos[i];
			c->strategy = NULL; /* no pointers in shared memory */
			if (jobs)
			{
				SweepJob   *j = &((SweepJob *) (base + sh->off_jobs))[i];

				j->from = jobs[i].from;
				j->n = jobs[i].n;
			}
		}
		if (private_bars)
		{
			/* the workers copy s's arrays, which live until the sweep ends */
			bool		unreadable = sweep_bars_mode == SWEEP_BARS_TEST_UNREADABLE;

			sh->bars_pid = (int32) MyProcPid;
			sh->bars_addr[0] = unreadable ? 1 : (uint64) (uintptr_t) s->ts;
			for (int c = 0; c < SWEEP_NCOLS; c++)
			{
				const double *col = *sweep_series_col(&src, c);

				sh->bars_addr[1 + c] = col == NULL ? 0 : unreadable ? 1 : (uint64) (uintptr_t) col;
			}
		}
		else
		{
			/* (the loader may have put the bars there already: btpg_sweep_presize) */
			if ((const char *) s->ts != base + sh->off_ts)
				memcpy(base + sh->off_ts, s->ts, sizeof(int64_t) * s->n);
			for (int c = 0; c < SWEEP_NCOLS; c++)
			{
				const double *col = *sweep_series_col(&src, c);

				if (sh->off_col[c] && (const char *) col != base + sh->off_col[c])
					memcpy(base + sh->off_col[c], col, sizeof(double) * s->n);
			}
			/* the bars live in the segment now: free the backend's copy */
			if (series_cxt)
			{
				MemoryContextDelete(series_cxt);
				series_cxt = NULL;
			}
		}
		if (!jobs)
			sweep_fill_order(sh, st, combos, (int64 *) (base + sh->off_order));
		sweep_view_init(&v, sh, true);
		if (private_bars)
			v.s = *s;
		pg_write_barrier();
		pg_atomic_write_u32(&sh->ready, 1);

		if (nstarted < nprocs - 1)
			ereport(NOTICE,
					(errmsg("started %d of the %d sweep workers wanted", ld->nhandles, nprocs - 1),
					 errdetail("No background worker slot was free for the others; the sweep runs in %d processes.",
							   ld->nhandles + 1),
					 errhint("Raise max_worker_processes (now %d), or lower pg_backtest.sweep_workers.",
							 max_worker_processes)));
	}
	else
	{
		/* ---- serial: a backend-local header and slots, the caller's data ---- */
		size = sweep_layout(&hdr, s, false, jobs != NULL);
		sh = (SweepShared *) palloc0(size);
		hdr.nblocks = 1;
		sweep_header_init(sh, &hdr, true);
		v.sh = sh;
		v.slots = (SweepSlot *) ((char *) sh + sh->off_slots);
		for (int64 i = 0; i < ncombos; i++)
			pg_atomic_init_u32(&v.slots[i].done, 0);
		v.combos = combos;
		v.st = st;
		v.s = *s;
		v.jobs = NULL;
		v.order = NULL;
		v.jobcxt = NULL;
		v.proc = 0;
		if (jobs)
		{
			SweepJob   *j = (SweepJob *) ((char *) sh + sh->off_jobs);

			for (int64 i = 0; i < ncombos; i++)
			{
				j[i].from = jobs[i].from;
				j[i].n = jobs[i].n;
			}
			v.jobs = j;
		}
		else
		{
			int64	   *order = (int64 *) ((char *) sh + sh->off_order);

			sweep_fill_order(sh, st, combos, order);
			v.order = order;
		}
		v.is_leader = true;
		v.nrun = 0;
	}

	/* ---- the leader works too ---- */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest sweep leader",
								ALLOCSET_DEFAULT_SIZES);
	btpg_alloc_init(&a, cxt);
	ctx = NULL;
	if (v.jobs)
		v.jobcxt = AllocSetContextCreate(cxt, "pg_backtest sweep job", ALLOCSET_DEFAULT_SIZES);
	else
		ctx = bt_sweep_ctx_create(&v.s, &a, sh->cache_bytes);
	(void) sweep_run_chunks(&v, ctx);
	if (seg != NULL)
	{
		sweep_wait_workers(sh);
		/* a worker that died (or was stopped) mid-chunk: finish its part */
		if (pg_atomic_read_u64(&sh->ndone) < (uint64) ncombos)
			(void) sweep_run_range(&v, ctx, 0, ncombos);
	}

	/* results, in combination order; the first failure is reported */
	for (int64 i = 0; i < ncombos; i++)
	{
		SweepSlot  *slot = &v.slots[i];

		if (slot->status != BT_OK)
		{
			BtError		err;
			ErrorContextCallback errcb;

			/* rerun here to get the message (the engine is deterministic) */
			errcb.previous = error_context_stack;
			errcb.callback = sweep_job_context;
			errcb.arg = (void *) (jobs && jobs[i].name ? jobs[i].name : NULL);
			if (errcb.arg)
				error_context_stack = &errcb;
			if (sweep_run_one(&v, ctx, i, &metrics[i], &err) != BT_OK)
				btpg_report(&err, v.s.ts + (jobs ? jobs[i].from : 0));
			if (errcb.arg)
				error_context_stack = errcb.previous;
			continue;
		}
		metrics[i] = slot->metrics;
	}

	elog(DEBUG1, "pg_backtest sweep: " INT64_FORMAT " combinations over " INT64_FORMAT
		 " bars in %d processes of %d wanted, chunks of %d",
		 ncombos, sh->nbars, ld ? ld->nhandles + 1 : 1, nprocs, sh->chunk);
	elog(DEBUG2, "pg_backtest sweep: " INT64_FORMAT " combinations run by the backend, "
		 INT64_FORMAT " by workers; %zu bytes of shared memory",
		 v.nrun, ncombos - v.nrun, seg != NULL ? size : (Size) 0);

	MemoryContextDelete(cxt);
	if (seg != NULL)
	{
		sweep_finish_workers(ld);
		dsm_detach(seg);		/* runs sweep_leader_detach, which frees ld */
	}
	else
		pfree(sh);
	if (series_cxt)
		MemoryContextDelete(series_cxt);
}
