/*-------------------------------------------------------------------------
 *
 * sweep_shared.c
 *	  What the leader and the workers of a parallel sweep both do: lay out
 *	  the segment, map a process's view of it, and run combinations, claimed
 *	  in chunks of the blocks (sweep_shared.h describes the segment and its
 *	  memory ordering).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/sweep_shared.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/uio.h>
#endif
#include <unistd.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "core/loader.h"
#include "core/memory.h"
#include "sweep.h"
#include "sweep_shared.h"

/* ---- layout ----------------------------------------------------------- */

/* Size of the segment; fills the offsets of sh */
Size
sweep_layout(SweepShared *sh, const BtSeries *s, bool parallel, bool with_jobs)
{
	Size		off = CACHELINEALIGN(sizeof(SweepShared));
	Size		colbytes = mul_size((Size) s->n, sizeof(double));

	sh->off_slots = off;
	off = CACHELINEALIGN(add_size(off, mul_size((Size) sh->ncombos, sizeof(SweepSlot))));
	sh->off_order = 0;
	if (!with_jobs)
	{
		sh->off_order = off;
		off = CACHELINEALIGN(add_size(off, mul_size((Size) sh->ncombos, sizeof(int64))));
	}
	sh->off_jobs = 0;
	if (with_jobs)
	{
		sh->off_jobs = off;
		off = CACHELINEALIGN(add_size(off, mul_size((Size) sh->ncombos, sizeof(SweepJob))));
	}
	if (!parallel)
	{
		/* backend-local: the caller's combinations and bars are used as they are */
		sh->off_combos = sh->off_ts = 0;
		memset(sh->off_col, 0, sizeof(sh->off_col));
		return off;
	}
	sh->off_combos = off;
	off = CACHELINEALIGN(add_size(off, mul_size((Size) sh->ncombos, sizeof(BtConfig))));
	sh->off_ts = off;
	off = CACHELINEALIGN(add_size(off, mul_size((Size) s->n, sizeof(int64_t))));
	for (int c = 0; c < SWEEP_NCOLS; c++)
	{
		bool		present = c < SWEEP_COL_VOLUME ||
			(c == SWEEP_COL_VOLUME && s->volume != NULL) ||
			(c == SWEEP_COL_SIGNAL && s->signal != NULL);

		sh->off_col[c] = 0;
		if (!present)
			continue;
		sh->off_col[c] = off;
		off = CACHELINEALIGN(add_size(off, colbytes));
	}
	return off;
}

/*
 * sweep_private_bars_possible
 *		See sweep_shared.h.  Another process of our user may read our memory
 *		if Yama does not restrict ptrace (no ptrace_scope file, or 0) and we
 *		are dumpable; a read of our own memory checks that no seccomp filter
 *		or kernel build refuses the system call.
 */
bool
sweep_private_bars_possible(void)
{
#ifdef __linux__
	static int	possible = -1;

	if (possible < 0)
	{
		FILE	   *f = AllocateFile("/proc/sys/kernel/yama/ptrace_scope", "r");
		int			scope = 0;
		char		probe[16] = "pg_backtest",
					back[16] = "";
		struct iovec l = {back, sizeof(back)};
		struct iovec r = {probe, sizeof(probe)};

		if (f != NULL)
		{
			if (fscanf(f, "%d", &scope) != 1)
				scope = 1;
			FreeFile(f);
		}
		possible = scope == 0 && prctl(PR_GET_DUMPABLE) == 1 &&
			process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t) sizeof(probe) &&
			memcmp(probe, back, sizeof(probe)) == 0;
	}
	return possible == 1;
#else
	return false;
#endif
}

/*
 * sweep_copy_private_bars
 *		See sweep_shared.h.
 */
bool
sweep_copy_private_bars(SweepView *v, const BtAlloc *a)
{
#ifdef __linux__
	SweepShared *sh = v->sh;
	size_t		bytes = (size_t) sh->nbars * sizeof(double);	/* ts: int64, the same size */

	for (int c = 0; c <= SWEEP_NCOLS; c++)
	{
		char	   *buf;
		size_t		done = 0;

		if (sh->bars_addr[c] == 0)
			continue;
		buf = a->realloc_fn(a->ctx, NULL, Max(bytes, 1));
		while (done < bytes)
		{
			struct iovec l = {buf + done, bytes - done};
			struct iovec r = {(void *) (uintptr_t) (sh->bars_addr[c] + done), bytes - done};
			ssize_t		got = process_vm_readv((pid_t) sh->bars_pid, &l, 1, &r, 1, 0);

			if (got <= 0)
				return false;
			done += (size_t) got;
		}
		if (c == 0)
			v->s.ts = (const int64_t *) buf;
		else
			*sweep_series_col(&v->s, c - 1) = (const double *) buf;
	}

	/*
	 * The leader checked these bars before it published them; check the
	 * copy too, so that a copy taken while an aborting leader freed and
	 * reused that memory (it frees before it sets abort) never reaches the
	 * engine (a job's slice at a time: the jobs' series are not one series)
	 */
	for (int64 i = 0; i < (v->jobs ? sh->ncombos : 1); i++)
	{
		BtSeries	js = v->jobs ? btpg_series_slice(&v->s, v->jobs[i].from, v->jobs[i].n) : v->s;
		BtError		err;

		if (!bt_validate_series(&js, v->st->needs_volume, &err))
		{
			errno = EFAULT;
			return false;
		}
	}
	return true;
#else
	errno = ENOSYS;
	return false;
#endif
}

/* A column of the bars in the segment, or NULL if absent */
static inline const double *
sweep_col(SweepShared *sh, int c)
{
	return sh->off_col[c] ? (const double *) ((char *) sh + sh->off_col[c]) : NULL;
}

/* Fill a process's view of a segment (parallel mode) */
void
sweep_view_init(SweepView *v, SweepShared *sh, bool is_leader)
{
	v->sh = sh;
	v->slots = (SweepSlot *) ((char *) sh + sh->off_slots);
	v->combos = (const BtConfig *) ((char *) sh + sh->off_combos);
	v->st = &bt_strategies[sh->strategy_index];
	v->jobs = sh->off_jobs ? (const SweepJob *) ((char *) sh + sh->off_jobs) : NULL;
	v->order = sh->off_order ? (const int64 *) ((char *) sh + sh->off_order) : NULL;
	v->jobcxt = NULL;
	v->proc = 0;
	v->is_leader = is_leader;
	v->nrun = 0;
	memset(&v->s, 0, sizeof(v->s));
	v->s.n = sh->nbars;
	v->s.ts = (const int64_t *) ((char *) sh + sh->off_ts);
	v->s.open = sweep_col(sh, SWEEP_COL_OPEN);
	v->s.high = sweep_col(sh, SWEEP_COL_HIGH);
	v->s.low = sweep_col(sh, SWEEP_COL_LOW);
	v->s.close = sweep_col(sh, SWEEP_COL_CLOSE);
	v->s.volume = sweep_col(sh, SWEEP_COL_VOLUME);
	v->s.signal = sweep_col(sh, SWEEP_COL_SIGNAL);
}

/* ---- running combinations ---------------------------------------------- */

/*
 * Engine progress callback.  The leader honours cancel and
 * statement_timeout (CHECK_FOR_INTERRUPTS may throw); a worker honours
 * SIGTERM the same way and stops when the leader has left.
 */
static int
sweep_progress(void *arg, BtStep step, int64_t done, int64_t total)
{
	SweepView  *v = (SweepView *) arg;

	CHECK_FOR_INTERRUPTS();
	return !v->is_leader && pg_atomic_read_u32(&v->sh->abort) != 0;
}

/*
 * Run combination i: on the whole series with the process's context ctx,
 * or (jobs) on its slice with a context of its own, in v->jobcxt.
 */
BtErrCode
sweep_run_one(SweepView *v, BtSweepCtx *ctx, int64 i, BtMetrics *m, BtError *err)
{
	BtConfig	cfg = v->combos[i];
	BtSeries	js;
	BtAlloc		a;
	BtErrCode	rc;
	MemoryContext old;

	cfg.strategy = v->st;
	if (v->jobs == NULL)
		return bt_sweep_run(ctx, &cfg, sweep_progress, v, m, err);

	js = btpg_series_slice(&v->s, v->jobs[i].from, v->jobs[i].n);
	old = MemoryContextSwitchTo(v->jobcxt);
	btpg_alloc_init(&a, v->jobcxt);
	rc = bt_sweep_run(bt_sweep_ctx_create(&js, &a, 0), &cfg, sweep_progress, v, m, err);
	MemoryContextSwitchTo(old);
	MemoryContextReset(v->jobcxt);
	return rc;
}

/*
 * Run the combinations of positions [from, to) of the run order that are
 * not marked done yet and mark them.  Returns false if a worker was told to
 * stop (the leader either finishes or throws).
 */
bool
sweep_run_range(SweepView *v, BtSweepCtx *ctx, int64 from, int64 to)
{
	for (int64 k = from; k < to; k++)
	{
		int64		i = v->order ? v->order[k] : k;
		SweepSlot  *slot = &v->slots[i];
		BtMetrics	m;
		BtError		err;
		BtErrCode	rc;

		CHECK_FOR_INTERRUPTS();
		if (!v->is_leader && pg_atomic_read_u32(&v->sh->abort) != 0)
			return false;
		if (pg_atomic_read_u32(&slot->done) != 0)
			continue;
		rc = sweep_run_one(v, ctx, i, &m, &err);
		if (rc == BT_ERR_CANCELLED && !v->is_leader)
			return false;
		if (rc != BT_OK)
			memset(&m, 0, sizeof(m));
		slot->status = (int32) rc;
		slot->metrics = m;
		pg_write_barrier();
		pg_atomic_write_u32(&slot->done, 1);
		pg_atomic_fetch_add_u64(&v->sh->ndone, 1);
		v->nrun++;
	}
	return true;
}

/* Set every block's work counter to its start */
void
sweep_blocks_init(SweepShared *sh)
{
	for (int b = 0; b < BTPG_MAX_SWEEP_WORKERS; b++)
		pg_atomic_init_u64(&sh->block_next[b],
						   b < sh->nblocks ? (uint64) sweep_block_start(sh, b) : 0);
}

/*
 * Claim and run chunks until none is left, of our own block first, then of
 * the next ones; false if told to stop
 */
bool
sweep_run_chunks(SweepView *v, BtSweepCtx *ctx)
{
	SweepShared *sh = v->sh;

	for (int k = 0; k < sh->nblocks; k++)
	{
		int			b = (v->proc + k) % sh->nblocks;
		int64		end = sweep_block_start(sh, b + 1);

		for (;;)
		{
			uint64		from = pg_atomic_fetch_add_u64(&sh->block_next[b], (uint64) sh->chunk);

			if (from >= (uint64) end)
				break;
			if (!sweep_run_range(v, ctx, (int64) from, Min((int64) from + sh->chunk, end)))
				return false;
		}
	}
	return true;
}
/*
 * Fault in the page tables of a mapping of the segment in one system call
 * (MADV_POPULATE_WRITE / _READ, Linux 5.14 and later) instead of one page
 * fault per 4 kB page: on a VM where a fault costs ~15 us, filling 40 MB of
 * bars took 150 ms with faults and 40 ms after this.  Only an
 * optimisation: where the kernel lacks it, madvise fails and the pages
 * fault in as they are touched.
 */
void
sweep_prefault(void *addr, Size size, bool write)
{
#if defined(MADV_POPULATE_WRITE) && defined(MADV_POPULATE_READ)
	(void) madvise(addr, size, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#endif
}
