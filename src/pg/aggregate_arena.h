/*-------------------------------------------------------------------------
 *
 * aggregate_arena.h
 *	  The backtest() aggregate's arena (aggregate_arena.c): chunks for the
 *	  states' smaller arrays, the final function's scratch, and the count
 *	  of the bars every live state holds.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate_arena.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_AGGREGATE_ARENA_H
#define BTPG_AGGREGATE_ARENA_H

#include "postgres.h"

#include "utils/palloc.h"

#include "bt_engine.h"

/*
 * A chunk of bars of at least this many bytes is a mapping of the state's
 * own allocator (bigalloc.c), a smaller one a chunk of the arena
 */
#define BTPG_AGG_MAP_BYTES	((size_t) 512 * 1024)

typedef struct BtpgAggArena BtpgAggArena;

/* The arena of aggregate context owner (made on first use, in owner) */
extern BtpgAggArena *btpg_agg_arena(MemoryContext owner);

/* Chunks: a chunk of size bytes (< BTPG_AGG_MAP_BYTES), and back */
extern void *btpg_agg_arena_alloc(BtpgAggArena *a, size_t size);
extern void btpg_agg_arena_free(BtpgAggArena *a, void *p, size_t size);

/* Bytes of the chunk given for size bytes (all usable) */
extern size_t btpg_agg_arena_chunk_size(size_t size);

/*
 * The bars of every live state of this backend, in bytes, and a state's
 * bars counted or uncounted on its arena (uncounted anyway with the owner)
 */
extern size_t btpg_agg_arena_bars_bytes(void);
extern void btpg_agg_arena_count(BtpgAggArena *a, size_t bytes);
extern void btpg_agg_arena_uncount(BtpgAggArena *a, size_t bytes);

/*
 * The final function's scratch allocator, within pg_backtest.max_memory
 * with the backend's other big arrays, and its rewind after each group
 */
extern void btpg_agg_arena_scratch(BtpgAggArena *a, BtAlloc *scratch);
extern void btpg_agg_arena_rewind(BtpgAggArena *a);

#endif							/* BTPG_AGGREGATE_ARENA_H */
