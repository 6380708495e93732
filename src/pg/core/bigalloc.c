/*-------------------------------------------------------------------------
 *
 * bigalloc.c
 *	  The engine's allocator in the server: small blocks from a memory
 *	  context, big arrays (the bars, indicator lines, the equity curve) from
 *	  anonymous mappings that belong to that memory context.
 *
 * Why not palloc for everything: a backtest over a million bars needs tens of
 * megabytes of arrays, which glibc hands back to the kernel after each call;
 * the next call then page-faults every 4 kB page in again, which measured as
 * most of backtest_run's time in a VM.  Mappings here ask for transparent
 * huge pages (MADV_HUGEPAGE, where the kernel offers them), so a megabyte
 * costs one fault instead of 256, and they grow with mremap, which moves
 * page tables instead of copying the data.
 *
 * Arena mode (btpg_alloc_init_arena): the small requests too come from
 * mappings, 2 MB slabs cut front to back (a 16-byte header keeps each
 * piece's size, for realloc), never given back one by one.  A portfolio
 * over 100 symbols asks for a thousand 20 kB arrays per call; as palloc'd
 * chunks glibc hands them back to the kernel at the end of the call and the
 * next call faults each of their pages in again (about 1,700 faults, a
 * quarter of the call's time in a VM); in slabs they cost a fault per huge
 * page.  For allocators whose callers do not free piece by piece (the
 * engine never does).  pg_backtest.max_memory counts the pieces, not the
 * slabs' unused ends.
 *
 * Kept pages (pg_backtest.keep_memory): a mapping given back is not unmapped
 * but marked MADV_FREE and kept, up to that many bytes per backend, for the
 * next call's mappings to take (best fit, aligned to a huge page).  Memory
 * unmapped and touched again costs a page fault and a zeroed page per page;
 * in a VM whose host takes idle free memory back (free page reporting) the
 * first touch of such memory measured 870 ms per 512 MB, against 4 ms for
 * kept MADV_FREE pages.  The kernel may still reclaim kept pages under
 * memory pressure (they then read as zeros), so keeping them takes nothing
 * the machine needs; they are not counted in pg_backtest.max_memory.  The
 * aggregate's arenas (aggregate_arena.c) take and give back the same way.
 *
 * Lifetime: every mapping is registered with the memory context given to
 * btpg_alloc_init; a reset callback gives them all back when that context is
 * reset or deleted, which also happens when an error aborts the call.  So
 * nothing outlives a run, as with palloc.
 *
 * Limit: the mappings bypass PostgreSQL's memory accounting, so they are
 * counted here (bytes mapped now, by every allocator of this backend) and
 * capped by pg_backtest.max_memory (superuser-only; default a quarter of
 * physical memory): a mapping or growth that would exceed it is an ERROR
 * before anything is mapped.  The loader and the aggregate check the same
 * limit as rows arrive, with messages that say how many rows were read.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/bigalloc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/memory.h"

/* Allocations at least this big get their own mapping */
#define BIG_BLOCK	(512 * 1024)

/* Header at the start of each mapping; the data follows, max-aligned */
typedef struct BigBlock
{
	struct BigBlock *next;
	struct BigBlock *prev;
	size_t		mapsize;
	size_t		charged;		/* bytes counted in big_mapped (a slab: its pieces) */
	uint64		magic;
} BigBlock;

#define BIG_MAGIC	UINT64CONST(0x62746269676d6170)
#define BIG_HDR		TYPEALIGN(64, sizeof(BigBlock))	/* data cache-line aligned */

typedef struct BigAllocState
{
	MemoryContext cxt;
	BigBlock   *head;
	MemoryContextCallback cb;
	bool		arena;			/* small requests from slabs, not palloc */
	BigBlock   *slab;			/* the current slab, NULL = none yet */
	char	   *cur;			/* its free space: cur..end */
	char	   *end;
} BigAllocState;

int			btpg_max_memory_kb;
int			btpg_keep_memory_kb;

/* Bytes mapped now by every allocator of this backend */
static size_t big_mapped;

/*
 * btpg_memory_define_gucs
 *		Define pg_backtest.max_memory.  The default is a quarter of physical
 *		memory (at least 64 MB), so one call cannot take the whole machine.
 */
void
btpg_memory_define_gucs(void)
{
	long		pages = sysconf(_SC_PHYS_PAGES);
	long		pagesize = sysconf(_SC_PAGESIZE);
	double		kb = (pages > 0 && pagesize > 0) ? (double) pages * pagesize / 1024.0 / 4 : 4.0 * 1024 * 1024;
	int			def;

	if (kb < 64 * 1024)
		kb = 64 * 1024;
	if (kb > MAX_KILOBYTES)
		kb = MAX_KILOBYTES;
	def = (int) kb;
	btpg_max_memory_kb = def;
	DefineCustomIntVariable("pg_backtest.max_memory",
							"Most memory one backtest call may use for its bars and result arrays.",
							"Bars (about 40-56 bytes each), indicator lines and the equity curve of "
							"backtest_run*, the backtest() aggregate (per group), sweeps (with their "
							"shared segment), walk-forward and indicators.  These arrays are "
							"outside PostgreSQL's memory accounting, so this bounds them.  The "
							"default is a quarter of physical memory.  Only superusers may "
							"change it.",
							&btpg_max_memory_kb, def, 1024, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);

	/* keep at most 1 GB, and at most a sixteenth of physical memory */
	kb = (pages > 0 && pagesize > 0) ? (double) pages * pagesize / 1024.0 / 16 : 256.0 * 1024;
	if (kb > 1024.0 * 1024)
		kb = 1024.0 * 1024;
	btpg_keep_memory_kb = (int) kb;
	DefineCustomIntVariable("pg_backtest.keep_memory",
							"Most freed array memory a backend keeps for its next backtests.",
							"Memory of big arrays freed at the end of a call is marked reclaimable "
							"(MADV_FREE) and kept up to this size, so the next call does not fault "
							"in fresh pages; the kernel may still take it back under memory "
							"pressure.  0 unmaps at once.  The default is 1 GB or a sixteenth of "
							"physical memory, whichever is less.  Only superusers may change it.",
							&btpg_keep_memory_kb, (int) kb, 0, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}

/*
 * btpg_memory_in_use
 *		See core/memory.h.
 */
size_t
btpg_memory_in_use(void)
{
	return big_mapped;
}

/* Bytes as "12 MB" / "640 kB" for messages */
static char *
mem_str(size_t bytes)
{
	if (bytes >= (size_t) 10 * 1024 * 1024)
		return psprintf("%zu MB", bytes / (1024 * 1024));
	return psprintf("%zu kB", (bytes + 1023) / 1024);
}

/*
 * btpg_memory_limit_check
 *		See core/memory.h.
 */
void
btpg_memory_limit_check(size_t used, size_t more, const char *what)
{
	size_t		limit = (size_t) btpg_max_memory_kb * 1024;

	if (used + more <= limit && used + more >= used)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("backtest memory would exceed pg_backtest.max_memory (%s)", mem_str(limit)),
			 errdetail("%s would take %s.", what, mem_str(used + more)),
			 errhint("Narrow start_ts/end_ts, or ask a superuser to raise pg_backtest.max_memory.")));
}


/* ---- kept pages ------------------------------------------------------------ */

#define HUGE_PAGE	((size_t) 2 * 1024 * 1024)
#define KEEP_SLOTS	32

/*
 * A kept range of pages: MADV_FREE'd, still mapped, page-aligned.  Only
 * its resident pages count against pg_backtest.keep_memory: a big array's
 * mapping is reserved bigger than it grew, and the untouched rest costs
 * nothing but address space.
 */
typedef struct KeptRange
{
	char	   *addr;
	size_t		len;
	size_t		resident;		/* bytes of it in memory when it was kept */
	uint64		stamp;			/* when it was kept: the oldest goes first */
} KeptRange;

static KeptRange kept[KEEP_SLOTS];
static int	nkept;
static size_t kept_bytes;
static uint64 kept_clock;

static void
kept_remove(int i)
{
	kept_bytes -= kept[i].resident;
	kept[i] = kept[--nkept];
}

/* Unmap the kept range kept longest */
static void
evict_oldest(void)
{
	int			old = 0;

	for (int i = 1; i < nkept; i++)
		if (kept[i].stamp < kept[old].stamp)
			old = i;
	munmap(kept[old].addr, kept[old].len);
	kept_remove(old);
}

/* Bytes of addr..addr+len in memory (mincore); len when it cannot tell */
static size_t
resident_bytes(char *addr, size_t len)
{
	static unsigned char vec[4096];
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		n = 0;

	for (size_t off = 0; off < len; off += sizeof(vec) * page)
	{
		size_t		chunk = Min(len - off, sizeof(vec) * page);
		size_t		pages = (chunk + page - 1) / page;

		if (mincore(addr + off, chunk, vec) != 0)
			return len;
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	}
	return n * page;
}

/* Keep a range already MADV_FREE'd, or unmap it when no slot is free */
static void
kept_insert(char *addr, size_t len)
{
	if (len == 0)
		return;
	if (nkept == KEEP_SLOTS)
		evict_oldest();		/* it makes room */
	kept[nkept].addr = addr;
	kept[nkept].len = len;
	kept[nkept].resident = resident_bytes(addr, len);
	kept[nkept].stamp = ++kept_clock;
	kept_bytes += kept[nkept].resident;
	nkept++;
}

/*
 * Unmap the oldest kept ranges until at most limit bytes of them are
 * resident, oldest first (a range over the limit by itself goes too)
 */
static void
kept_trim(size_t limit)
{
	while (nkept > 0 && kept_bytes > limit)
		evict_oldest();
}

/* Keep addr..addr+len (MADV_FREE'd), joined with its kept neighbours */
static void
keep_range(char *addr, size_t len)
{
	bool		merged;

	if (len == 0)
		return;
	/* join the neighbours, so a big request can take what small ones gave */
	do
	{
		merged = false;
		for (int i = 0; i < nkept; i++)
			if (kept[i].addr + kept[i].len == addr || addr + len == kept[i].addr)
			{
				if (kept[i].addr < addr)
					addr = kept[i].addr;
				len += kept[i].len;
				kept_remove(i);
				merged = true;
				break;
			}
	} while (merged);
	kept_insert(addr, len);
}

/*
 * btpg_pages_put
 *		See core/memory.h.
 */
void
btpg_pages_put(void *ptr, size_t len)
{
	size_t		limit = (size_t) btpg_keep_memory_kb * 1024;
	char	   *addr = ptr;

#ifdef MADV_FREE
	if (limit == 0 || madvise(addr, len, MADV_FREE) != 0)
#endif
	{
		munmap(addr, len);
		return;
	}
#ifdef MADV_HUGEPAGE
	/* one set of flags on every kept page, so taking a part splits nothing */
	(void) madvise(addr, len, MADV_HUGEPAGE);
#endif
	/*
	 * Keep the runs of pages in memory; unmap the runs of 2 MB or more that
	 * are not (a mapping reserved bigger than its array grew), so that what
	 * is kept is warm wherever the next call takes from it
	 */
	{
		static unsigned char vec[4096];
		size_t		page = (size_t) sysconf(_SC_PAGESIZE);
		char	   *run = addr;		/* start of the current run */
		bool		in = true;		/* is it a run of resident pages? */

		for (size_t off = 0; off < len; off += sizeof(vec) * page)
		{
			size_t		chunk = Min(len - off, sizeof(vec) * page);
			size_t		pages = (chunk + page - 1) / page;

			if (mincore(addr + off, chunk, vec) != 0)
				memset(vec, 1, pages);
			for (size_t i = 0; i < pages; i++)
			{
				char	   *pg = addr + off + i * page;
				bool		r = (vec[i] & 1) != 0;

				if (r == in)
					continue;
				if (in)
				{
					keep_range(run, pg - run);
					run = pg;
					in = false;
				}
				else if (pg - run >= (ptrdiff_t) HUGE_PAGE)
				{
					munmap(run, pg - run);
					run = pg;
					in = true;
				}
				else
					in = true;	/* a short gap stays in the resident run */
			}
		}
		if (in || addr + len - run < (ptrdiff_t) HUGE_PAGE)
			keep_range(run, addr + len - run);
		else
			munmap(run, addr + len - run);
	}
	kept_trim(limit);
}

/*
 * btpg_pages_get
 *		See core/memory.h.
 */
void *
btpg_pages_get(size_t len, size_t align)
{
	size_t		limit = (size_t) btpg_keep_memory_kb * 1024;
	int			best = -1;
	char	   *p;
	char	   *a;

	if (kept_bytes > limit)		/* the limit was lowered */
		kept_trim(limit);
	for (int i = 0; i < nkept; i++)
	{
		char	   *s = (char *) TYPEALIGN(align, kept[i].addr);

		if (s + len <= kept[i].addr + kept[i].len &&
			(best < 0 || kept[i].len < kept[best].len))
			best = i;
	}
	if (best >= 0)
	{
		char	   *start = kept[best].addr;
		char	   *end = start + kept[best].len;

		a = (char *) TYPEALIGN(align, start);
		kept_remove(best);
		kept_insert(start, a - start);
		kept_insert(a + len, end - (a + len));
		return a;
	}

	if (align <= (size_t) sysconf(_SC_PAGESIZE))
	{
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* map len + align and unmap the unaligned head and tail */
	p = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *) TYPEALIGN(align, p);
	if (a > p)
		munmap(p, a - p);
	if (a + len < p + len + align)
		munmap(a + len, (p + len + align) - (a + len));
	return a;
}

/*
 * Move the pages of src..src+len to dst (both page-aligned, dst mapped)
 * without copying: mremap moves page tables, but only within one mapping
 * (VMA), and kept ranges joined from several calls may span more than one,
 * so a range it refuses is split in halves at huge-page boundaries, and a
 * piece it still refuses is copied (and its pages kept).
 */
static void
move_mapping(char *src, size_t len, char *dst)
{
	size_t		half;

	if (mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst) != MAP_FAILED)
		return;
	half = (len / 2) & ~(HUGE_PAGE - 1);
	if (half == 0 || half == len)
	{
		memcpy(dst, src, len);
		btpg_pages_put(src, len);
		return;
	}
	move_mapping(src, half, dst);
	move_mapping(src + half, len - half, dst + half);
}

/* Reset callback: give back every mapping of the context */
static void
big_release(void *arg)
{
	BigAllocState *st = (BigAllocState *) arg;

	while (st->head)
	{
		BigBlock   *b = st->head;

		st->head = b->next;
		big_mapped -= Min(big_mapped, b->charged);
		btpg_pages_put(b, b->mapsize);
	}
}

/* Round a request up to whole huge pages, header included */
static size_t
map_size(size_t size)
{
	return (size + BIG_HDR + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/*
 * ms bytes aligned to a huge page (so the kernel can back all of it with
 * transparent huge pages), kept pages first
 */
static void *
map_aligned(size_t ms, size_t request)
{
	char	   *a = btpg_pages_get(ms, HUGE_PAGE);

	if (a == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on a request of size %zu for a backtest.", request)));
#ifdef MADV_HUGEPAGE
	(void) madvise(a, ms, MADV_HUGEPAGE);
#endif
	return a;
}

/* Is ptr the data of one of our mappings? (few per run: a list walk) */
static BigBlock *
find_block(BigAllocState *st, void *ptr)
{
	for (BigBlock *b = st->head; b; b = b->next)
		if ((char *) b + BIG_HDR == (char *) ptr)
			return b;
	return NULL;
}

/*
 * A new mapping of at least size bytes, linked into the list; counted against
 * pg_backtest.max_memory unless it is a slab (whose pieces are counted)
 */
static void *
map_block(BigAllocState *st, size_t size, bool slab)
{
	size_t		ms = map_size(size);
	BigBlock   *b;

	if (!slab)
		btpg_memory_limit_check(big_mapped, ms, "The arrays of this backend's backtests");
	b = map_aligned(ms, size);
	b->charged = slab ? 0 : ms;
	big_mapped += b->charged;
	b->mapsize = ms;
	b->magic = BIG_MAGIC;
	b->prev = NULL;
	b->next = st->head;
	if (st->head)
		st->head->prev = b;
	st->head = b;
	return (char *) b + BIG_HDR;
}

static void *
big_map(BigAllocState *st, size_t size)
{
	return map_block(st, size, false);
}

/*
 * Take the pages of dst..dst+len out of the way before a move onto them
 * (which would free them): move them to new address space and keep them
 * there.  Only where one mremap can (dst within one mapping); otherwise they
 * go, which costs page faults later, not correctness.
 */
static void
evacuate(char *dst, size_t len)
{
	char	   *t = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED)
		return;
	if (mremap(dst, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, t) == MAP_FAILED)
	{
		munmap(t, len);
		return;
	}
	btpg_pages_put(t, len);
}

/*
 * Grow a mapping: take a bigger aligned range (at least double, so growth
 * by doubling stays cheap) and move the pages there (move_mapping: no copy
 * but where the kernel refuses); the pages the move replaces are kept
 * (evacuate).  Relinks the list.
 */
static void *
big_remap(BigAllocState *st, BigBlock *b, size_t size)
{
	size_t		ms = map_size(size);
	size_t		old;
	BigBlock   *nb;

	if (ms <= b->mapsize)
		return (char *) b + BIG_HDR;
	if (ms < 2 * b->mapsize)
		ms = 2 * b->mapsize;
	btpg_memory_limit_check(big_mapped, ms - b->mapsize, "The arrays of this backend's backtests");
	nb = map_aligned(ms, size);
	old = b->mapsize;
	if (btpg_keep_memory_kb > 0)
		evacuate((char *) nb, old);
	move_mapping((char *) b, old, (char *) nb);
	big_mapped += ms - nb->charged;
	nb->charged = ms;
	nb->mapsize = ms;
	if (nb->prev)
		nb->prev->next = nb;
	else
		st->head = nb;
	if (nb->next)
		nb->next->prev = nb;
	return (char *) nb + BIG_HDR;
}

/* ---- arena mode: small requests from 2 MB slabs ---------------------------- */

/* A slab is one huge page, its BigBlock header included */
#define SLAB_SIZE	(HUGE_PAGE - BIG_HDR)

/* Header of a piece of a slab; pieces and their data are 16-byte aligned */
typedef struct ArenaPiece
{
	size_t		size;			/* bytes asked for */
	size_t		pad;
} ArenaPiece;

#define PIECE_ROUND(n)	TYPEALIGN(16, (n))

StaticAssertDecl(sizeof(ArenaPiece) == 16, "arena piece header must keep 16-byte alignment");
StaticAssertDecl(BIG_HDR % 16 == 0, "slab data must start 16-byte aligned");

/* Count bytes of the current slab against pg_backtest.max_memory */
static void
arena_charge(BigAllocState *st, size_t bytes)
{
	btpg_memory_limit_check(big_mapped, bytes, "The arrays of this backend's backtests");
	big_mapped += bytes;
	st->slab->charged += bytes;
}

/* A new piece of size bytes (< BIG_BLOCK) from the current slab or a new one */
static void *
arena_alloc(BigAllocState *st, size_t size)
{
	size_t		need = sizeof(ArenaPiece) + PIECE_ROUND(size);
	ArenaPiece *p;

	if (st->slab == NULL || (size_t) (st->end - st->cur) < need)
	{
		/* the limit first: no mapping for a piece that would not fit it */
		btpg_memory_limit_check(big_mapped, need, "The arrays of this backend's backtests");
		st->cur = map_block(st, SLAB_SIZE, true);
		st->slab = (BigBlock *) (st->cur - BIG_HDR);
		st->end = st->cur + SLAB_SIZE;
	}
	arena_charge(st, need);
	p = (ArenaPiece *) st->cur;
	p->size = size;
	st->cur += need;
	return p + 1;
}

/* Grow a piece: in place when it is the slab's last and the slab has room */
static void *
arena_realloc(BigAllocState *st, void *ptr, size_t size)
{
	ArenaPiece *p = (ArenaPiece *) ptr - 1;
	void	   *np;

	if (size <= p->size)
		return ptr;
	if (size < BIG_BLOCK && (char *) ptr + PIECE_ROUND(p->size) == st->cur &&
		(size_t) (st->end - (char *) ptr) >= PIECE_ROUND(size))
	{
		arena_charge(st, PIECE_ROUND(size) - PIECE_ROUND(p->size));
		st->cur = (char *) ptr + PIECE_ROUND(size);
		p->size = size;
		return ptr;
	}
	np = size >= BIG_BLOCK ? big_map(st, size) : arena_alloc(st, size);
	memcpy(np, ptr, p->size);
	return np;
}

/* BtAlloc callback */
static void *
btpg_realloc(void *ctx, void *ptr, size_t size)
{
	BigAllocState *st = (BigAllocState *) ctx;
	BigBlock   *b;

	if (size == 0)
		size = 1;
	if (ptr == NULL)
		return size >= BIG_BLOCK ? big_map(st, size) :
			st->arena ? arena_alloc(st, size) : MemoryContextAllocHuge(st->cxt, size);
	if ((b = find_block(st, ptr)) != NULL)
		return big_remap(st, b, size);
	if (st->arena)
		return arena_realloc(st, ptr, size);
	if (size < BIG_BLOCK)
		return repalloc_huge(ptr, size);
	/* a small block outgrows the context: move it to a mapping */
	{
		void	   *np = big_map(st, size);

		memcpy(np, ptr, GetMemoryChunkSpace(ptr) < size ? GetMemoryChunkSpace(ptr) : size);
		pfree(ptr);
		return np;
	}
}

/*
 * btpg_alloc_free
 *		Give back one allocation of a (from btpg_alloc_init) before its
 *		context goes: a mapping is given back (kept or unmapped), a small block pfree'd (a piece
 *		of an arena's slab stays until the context goes).
 */
void
btpg_alloc_free(BtAlloc *a, void *ptr)
{
	BigAllocState *st = (BigAllocState *) a->ctx;
	BigBlock   *b;

	if (ptr == NULL)
		return;
	if ((b = find_block(st, ptr)) == NULL)
	{
		if (!st->arena)
			pfree(ptr);
		return;
	}
	if (b->prev)
		b->prev->next = b->next;
	else
		st->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	big_mapped -= Min(big_mapped, b->charged);
	btpg_pages_put(b, b->mapsize);
}

/*
 * btpg_alloc_init
 *		An allocator for the engine and the loader whose memory belongs to
 *		cxt: resetting or deleting cxt frees everything, even after an error.
 */
static void
alloc_init(BtAlloc *a, MemoryContext cxt, bool arena)
{
	BigAllocState *st = MemoryContextAllocZero(cxt, sizeof(BigAllocState));

	st->cxt = cxt;
	st->arena = arena;
	st->cb.func = big_release;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(cxt, &st->cb);
	a->realloc_fn = btpg_realloc;
	a->ctx = st;
}

void
btpg_alloc_init(BtAlloc *a, MemoryContext cxt)
{
	alloc_init(a, cxt, false);
}

/*
 * btpg_alloc_init_arena
 *		The same, in arena mode (see the file header): for callers that make
 *		many small allocations and free none of them before cxt goes.
 */
void
btpg_alloc_init_arena(BtAlloc *a, MemoryContext cxt)
{
	alloc_init(a, cxt, true);
}
