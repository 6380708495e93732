/*-------------------------------------------------------------------------
 *
 * memory.h
 *	  The engine's allocator over memory contexts, and pg_backtest.max_memory
 *	  (bigalloc.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/memory.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_MEMORY_H
#define BTPG_CORE_MEMORY_H

#include "postgres.h"

#include "utils/memutils.h"

#include "bt_engine.h"

/* A BtAlloc that pallocs (huge allowed) in the given memory context */
extern void btpg_alloc_init(BtAlloc *a, MemoryContext cxt);

/*
 * The same, with the small allocations cut from 2 MB mappings too (fewer page
 * faults for many small arrays); btpg_alloc_free then frees only the big ones
 */
extern void btpg_alloc_init_arena(BtAlloc *a, MemoryContext cxt);

/* Free one allocation of such an allocator early (NULL is a no-op) */
extern void btpg_alloc_free(BtAlloc *a, void *ptr);

/* pg_backtest.max_memory, in kB (bigalloc.c) */
extern int	btpg_max_memory_kb;
extern void btpg_memory_define_gucs(void);

/* pg_backtest.keep_memory, in kB (bigalloc.c) */
extern int	btpg_keep_memory_kb;

/*
 * len bytes (a multiple of the page size) of anonymous memory aligned to
 * align (a power of two), taken from this backend's kept pages or newly
 * mapped; NULL when mmap fails.  Its contents are undefined.
 */
extern void *btpg_pages_get(size_t len, size_t align);

/*
 * Give back len bytes from btpg_pages_get: kept (MADV_FREE) for the next
 * btpg_pages_get while pg_backtest.keep_memory allows, else unmapped
 */
extern void btpg_pages_put(void *ptr, size_t len);

/* Bytes the big arrays of this backend's backtests take now (bigalloc.c) */
extern size_t btpg_memory_in_use(void);

/*
 * ERROR (PROGRAM_LIMIT_EXCEEDED, naming pg_backtest.max_memory) unless
 * used + more bytes fit within the limit; what names what would take them
 * (a sentence subject: "Reading relation \"k\" (...)").
 */
extern void btpg_memory_limit_check(size_t used, size_t more, const char *what);

#endif							/* BTPG_CORE_MEMORY_H */
