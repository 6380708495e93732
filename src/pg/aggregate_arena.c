/*-------------------------------------------------------------------------
 *
 * aggregate_arena.c
 *	  Where the backtest() aggregate's states keep their smaller arrays, and
 *	  where its final function's engine runs take their memory: an arena per
 *	  aggregate context, of anonymous mappings outside that context (and so
 *	  outside a hash aggregate's count of its hash table; aggregate.c says
 *	  why).
 *
 * An arena's blocks are anonymous mappings (one list per aggregate
 * context), carved into power-of-two chunks for the states' arrays (a chunk
 * a group outgrows goes to a free list for the next group that grows), or
 * used by a bump allocator for the final function's scratch, rewound after
 * each group.  The blocks come from and go back to the backend's kept pages
 * (bigalloc.c, pg_backtest.keep_memory), given back by a reset callback of
 * the aggregate context (reset or deleted, which an error does too).
 *
 * Accounting against pg_backtest.max_memory: the scratch blocks with the
 * backend's other big arrays (btpg_memory_in_use), the bars of every live
 * state through btpg_agg_arena_bars_bytes (a hash aggregate holds all its
 * groups at once).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate_arena.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "utils/memutils.h"

#include "aggregate_arena.h"
#include "core/memory.h"

#define AGG_MIN_CHUNK	((size_t) 8 * 1024)
#define AGG_NCLASSES	7			/* 8 kB .. 512 kB */
#define AGG_FIRST_BLOCK ((size_t) 256 * 1024)
#define AGG_MAX_BLOCK	((size_t) 8 * 1024 * 1024)
#define AGG_HUGE		((size_t) 2 * 1024 * 1024)

/* A block of an arena: an anonymous mapping, this header first */
typedef struct AggBlock
{
	struct AggBlock *next;
	size_t		size;			/* of the mapping, header included */
	bool		scratch;		/* the final's, counted in agg_mapped */
} AggBlock;

#define AGG_BLOCK_HDR	MAXALIGN(sizeof(AggBlock))

/*
 * Bytes the arrays of every live aggregate state of this backend take: a
 * hash aggregate holds all its groups at once, so pg_backtest.max_memory
 * bounds their sum (not only one group's).
 */
static size_t agg_bytes;

/*
 * Bytes of the arenas' scratch blocks (the final's engine runs), counted
 * against pg_backtest.max_memory with the backend's other big arrays; the
 * blocks of the bars are bounded through agg_bytes
 */
static size_t agg_mapped;

/* An arena (aggregate_arena.h: opaque outside this file) */
struct BtpgAggArena
{
	MemoryContext owner;		/* the aggregate context it serves */
	AggBlock   *blocks;			/* every block, unmapped with the owner */
	size_t		next_block;		/* size of the next block of bars (doubling) */
	size_t		next_scratch;	/* size of the next scratch block (doubling) */
	char	   *cur;			/* free space of the current block */
	size_t		left;
	void	   *freelist[AGG_NCLASSES]; /* chunks, linked through their first word */
	size_t		bytes;			/* of the states' arrays, counted in agg_bytes */
	MemoryContextCallback cb;	/* on owner: uncounts, unlinks */
	BtpgAggArena *next;
	/* the final function's scratch: blocks rewound after each group */
	char	  **scratch;
	int			nscratch;
	int			scratch_cap;
	int			scratch_block;	/* current block; -1 = none yet */
	size_t		scratch_used;	/* in it */
};

/* The live arenas of this backend (few: one per running backtest() node) */
static BtpgAggArena *agg_arenas;

/* Reset callback of an arena's owner: give back its blocks */
static void
agg_arena_release(void *arg)
{
	BtpgAggArena *a = (BtpgAggArena *) arg;

	while (a->blocks)
	{
		AggBlock   *b = a->blocks;

		a->blocks = b->next;
		if (b->scratch)
			agg_mapped -= Min(agg_mapped, b->size);
		btpg_pages_put(b, b->size);
	}

	for (BtpgAggArena **pp = &agg_arenas; *pp; pp = &(*pp)->next)
		if (*pp == a)
		{
			*pp = a->next;
			break;
		}
	agg_bytes -= Min(agg_bytes, a->bytes);
	a->bytes = 0;
}

/*
 * btpg_agg_arena
 *		The arena of aggregate context owner (made on first use, in owner)
 */
BtpgAggArena *
btpg_agg_arena(MemoryContext owner)
{
	BtpgAggArena *a;

	for (a = agg_arenas; a; a = a->next)
		if (a->owner == owner)
			return a;
	a = MemoryContextAllocZero(owner, sizeof(BtpgAggArena));
	a->owner = owner;
	a->next_block = AGG_FIRST_BLOCK;
	a->next_scratch = AGG_FIRST_BLOCK;
	a->scratch_block = -1;
	a->cb.func = agg_arena_release;
	a->cb.arg = a;
	MemoryContextRegisterResetCallback(owner, &a->cb);
	a->next = agg_arenas;
	agg_arenas = a;
	return a;
}

/*
 * A new block of at least size bytes, after the header, for the bars or
 * (scratch) the final's runs: the block sizes of each kind double from
 * AGG_FIRST_BLOCK to AGG_MAX_BLOCK; huge pages from 2 MB
 */
static char *
agg_block(BtpgAggArena *a, size_t size, bool scratch, size_t *got)
{
	size_t	   *next = scratch ? &a->next_scratch : &a->next_block;
	size_t		ms = Max(*next, size + AGG_BLOCK_HDR);
	AggBlock   *b;

	ms = TYPEALIGN(8192, ms);
	if (scratch)
		btpg_memory_limit_check(btpg_memory_in_use() + agg_mapped, ms,
								"The arrays of this backend's backtests");
	b = btpg_pages_get(ms, ms >= AGG_HUGE ? AGG_HUGE : 8192);
	if (b == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on a request of size %zu for the bars of a backtest() group.", ms)));
#ifdef MADV_HUGEPAGE
	if (ms >= AGG_HUGE)
		(void) madvise(b, ms, MADV_HUGEPAGE);
#endif
	if (scratch)
		agg_mapped += ms;
	b->size = ms;
	b->scratch = scratch;
	b->next = a->blocks;
	a->blocks = b;
	if (*next < AGG_MAX_BLOCK)
		*next *= 2;
	*got = ms - AGG_BLOCK_HDR;
	return (char *) b + AGG_BLOCK_HDR;
}

/* Size class of a chunk of at least size bytes (size < BTPG_AGG_MAP_BYTES) */
static int
agg_class(size_t size)
{
	int			c = 0;

	while ((AGG_MIN_CHUNK << c) < size)
		c++;
	return c;
}

/* A chunk of class c */
static void *
agg_chunk_alloc(BtpgAggArena *a, int c)
{
	size_t		size = AGG_MIN_CHUNK << c;
	void	   *p = a->freelist[c];

	if (p != NULL)
	{
		a->freelist[c] = *(void **) p;
		return p;
	}
	if (a->left < size)
		a->cur = agg_block(a, size, false, &a->left);
	p = a->cur;
	a->cur += size;
	a->left -= size;
	return p;
}

/* Give back a chunk of class c */
static void
agg_chunk_free(BtpgAggArena *a, void *p, int c)
{
	*(void **) p = a->freelist[c];
	a->freelist[c] = p;
}

/*
 * BtAlloc callback of the final function's scratch (ctx: the arena): a bump
 * allocator over blocks kept between groups (btpg_agg_arena_rewind); a
 * block is a block of the arena (so also gone with the owner); a request
 * bigger than the next block's size gets a block its size.
 * Growth copies (the engine grows few arrays, by doubling); each allocation
 * has its size in the 16 bytes before it.
 */
static void *
agg_scratch_realloc(void *ctx, void *ptr, size_t size)
{
	BtpgAggArena *a = (BtpgAggArena *) ctx;
	size_t		need = MAXALIGN(size) + 16;
	size_t		bsize;
	char	   *p;

	if (ptr != NULL && *(size_t *) ((char *) ptr - 16) >= size)
		return ptr;
	for (;;)
	{
		if (a->scratch_block >= 0)
		{
			char	   *blk = a->scratch[a->scratch_block];

			bsize = *(size_t *) blk;
			if (a->scratch_used + need <= bsize)
				break;
		}
		if (a->scratch_block + 1 < a->nscratch)
		{
			a->scratch_block++;
			a->scratch_used = 16;
			continue;
		}
		/* a new block */
		if (a->nscratch == a->scratch_cap)
		{
			a->scratch_cap = Max(8, a->scratch_cap * 2);
			a->scratch = a->scratch ?
				repalloc(a->scratch, sizeof(char *) * a->scratch_cap) :
				MemoryContextAlloc(a->owner, sizeof(char *) * a->scratch_cap);
		}
		p = agg_block(a, need + 16, true, &bsize);
		*(size_t *) p = bsize;
		a->scratch[a->nscratch++] = p;
		a->scratch_block = a->nscratch - 1;
		a->scratch_used = 16;
	}
	p = a->scratch[a->scratch_block] + a->scratch_used + 16;
	*(size_t *) (p - 16) = MAXALIGN(size);
	a->scratch_used += need;
	if (ptr != NULL)
		memcpy(p, ptr, *(size_t *) ((char *) ptr - 16));
	return p;
}

/*
 * btpg_agg_arena_rewind
 *		The scratch is free again (after a group's engine run)
 */
void
btpg_agg_arena_rewind(BtpgAggArena *a)
{
	a->scratch_block = a->nscratch > 0 ? 0 : -1;
	a->scratch_used = 16;
}

/*
 * btpg_agg_arena_chunk_size
 *		Bytes of the chunk btpg_agg_arena_alloc gives for size bytes
 *		(< BTPG_AGG_MAP_BYTES): its size class, all of it usable
 */
size_t
btpg_agg_arena_chunk_size(size_t size)
{
	return AGG_MIN_CHUNK << agg_class(size);
}

/*
 * btpg_agg_arena_alloc
 *		A chunk for size bytes (size < BTPG_AGG_MAP_BYTES) from arena a
 */
void *
btpg_agg_arena_alloc(BtpgAggArena *a, size_t size)
{
	return agg_chunk_alloc(a, agg_class(size));
}

/*
 * btpg_agg_arena_free
 *		Give back chunk p, allocated for size bytes, to arena a's free list
 */
void
btpg_agg_arena_free(BtpgAggArena *a, void *p, size_t size)
{
	agg_chunk_free(a, p, agg_class(size));
}

/*
 * btpg_agg_arena_bars_bytes
 *		Bytes the bars of every live aggregate state of this backend take
 *		(what pg_backtest.max_memory bounds for them)
 */
size_t
btpg_agg_arena_bars_bytes(void)
{
	return agg_bytes;
}

/*
 * btpg_agg_arena_count
 *		Count bytes more of a state's bars, on arena a (uncounted when its
 *		owner is reset or deleted)
 */
void
btpg_agg_arena_count(BtpgAggArena *a, size_t bytes)
{
	agg_bytes += bytes;
	a->bytes += bytes;
}

/*
 * btpg_agg_arena_uncount
 *		Uncount bytes of a state's bars freed early (never below zero)
 */
void
btpg_agg_arena_uncount(BtpgAggArena *a, size_t bytes)
{
	agg_bytes -= Min(agg_bytes, bytes);
	a->bytes -= Min(a->bytes, bytes);
}

/*
 * btpg_agg_arena_scratch
 *		Set *scratch to the BtAlloc of arena a's scratch (the final
 *		function's sort and engine run), free again after
 *		btpg_agg_arena_rewind
 */
void
btpg_agg_arena_scratch(BtpgAggArena *a, BtAlloc *scratch)
{
	scratch->realloc_fn = agg_scratch_realloc;
	scratch->ctx = a;
}
