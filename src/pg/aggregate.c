/*-------------------------------------------------------------------------
 *
 * aggregate.c
 *	  The aggregate form of a backtest, so it composes with GROUP BY:
 *
 *	  SELECT symbol, (backtest(ts, open, high, low, close, volume,
 *							   'sma_cross', '{}' ORDER BY ts)).*
 *	  FROM klines GROUP BY symbol;
 *
 *	  Its final function runs a group's bars through btpg_run_arrays, the
 *	  core of backtest_arrays() (backtest_arrays.c).
 *
 * The aggregate state collects the bars in columnar arrays in the
 * aggregate's memory context, in whatever order they come: ORDER BY ts is
 * not needed (it only adds a sort).  The transition notes whether the rows
 * came in time order; the final function sorts in C only when they did not,
 * then runs the engine in a child context that it deletes.  Combine,
 * serialize and deserialize functions let PostgreSQL run the aggregate as a
 * partial aggregate in parallel workers (or per partition / shard).
 *
 * ts may be timestamptz, timestamp or date (one aggregate per type): a
 * timestamp without time zone is its wall-clock value read as UTC and a
 * date is midnight UTC, so results never depend on the session TimeZone.
 *
 * The strategy and params must be the same on every row of a group: a
 * constant argument is checked once; a column is compared per row (length
 * and bytes, then jsonb equality only when the bytes differ).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "aggregate_arena.h"
#include "backtest_arrays.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/memory.h"
#include "core/params.h"
#include "core/timestamps.h"

PG_FUNCTION_INFO_V1(backtest_agg_sfunc);
PG_FUNCTION_INFO_V1(backtest_agg_final);
PG_FUNCTION_INFO_V1(backtest_agg_combine);
PG_FUNCTION_INFO_V1(backtest_agg_serialize);
PG_FUNCTION_INFO_V1(backtest_agg_deserialize);

/* How the ts argument is read (see the README: naive values are UTC) */
typedef enum AggTsKind
{
	AGG_TS_TSTZ = 0,			/* timestamptz: the instant */
	AGG_TS_NAIVE,				/* timestamp: its wall-clock value read as UTC */
	AGG_TS_DATE					/* date: midnight UTC */
} AggTsKind;

/*
 * A run of a state's bars: columnar arrays of cap bars after this header
 * (ts, then each column), n of them filled.  A state's bars are a list of
 * chunks, so a growing group never copies its bars, nor leaves smaller
 * arrays behind (see BTPG_AGG_MAP_BYTES).
 */
typedef struct AggChunk
{
	struct AggChunk *next;
	int64		n;
	int64		cap;
	int64_t    *ts;
	double	   *col[6];			/* open, high, low, close, volume, signal */
} AggChunk;

#define AGG_CHUNK_HDR	MAXALIGN(sizeof(AggChunk))

/* Chunk sizes of the transition: doubling from the first to the last */
#define AGG_CHUNK_FIRST ((size_t) 8 * 1024)
#define AGG_CHUNK_LAST	((size_t) 256 * 1024)

/*
 * The aggregate's transition state.  Rows may arrive in any order: sorted
 * stays true while every ts is >= the previous one, and the final function
 * sorts (in C, a copy) only when it is false.  The chunks live in cxt (the
 * aggregate context of the call that created the state).
 */
typedef struct AggState
{
	int64		n;				/* bars, over all chunks */
	AggChunk   *head;
	AggChunk   *tail;			/* where the next bar goes */
	size_t		next_chunk;		/* bytes of the next chunk of the transition */
	int64_t		last_ts;		/* of the last bar appended */
	int			ncols;			/* 5, or 6 with a signal */
	bool		has_signal;
	bool		sorted;
	bool		strategy_const; /* the argument is a constant: no per-row check */
	bool		params_const;
	int8		tskind;			/* AggTsKind */
	MemoryContext cxt;
	BtAlloc		alloc;			/* the big chunks: mappings owned by cxt (bigalloc.c) */
	BtpgAggArena *arena;		/* the smaller chunks (aggregate_arena.c) */
	char	   *strategy;
	Jsonb	   *params;			/* NULL = '{}' */
} AggState;

/* Bytes one bar of an aggregate state takes */
#define AGG_BAR_BYTES(ncols)	(sizeof(int64_t) + (ncols) * sizeof(double))

/*
 * Where a state's arrays live.  Not in the aggregate's memory context: a
 * hash aggregate counts that context (and its children) as its hash table,
 * so a few groups of bars fill work_mem and every later group's rows spill
 * to disk and are read again, batch after batch, however much memory the
 * machine has (1000 groups of 10k bars: 174 batches, 2.5x slower).  The
 * bars of every group must be held until the final function anyway;
 * pg_backtest.max_memory bounds them all (btpg_agg_arena_bars_bytes).
 *
 * So a state's bars are a list of chunks (AggChunk: columnar arrays of a
 * run of bars), chunk sizes doubling from 8 kB to 256 kB: a growing group
 * appends a chunk, never copies its bars, and leaves no outgrown array
 * behind.  (With one array per column, doubled and copied, the groups of a
 * table written minute by minute grow in lockstep, so no later group took
 * an outgrown array from the free list: 1000 groups of 10k bars mapped and
 * zeroed 1.5 GB for 480 MB of bars, and page zeroing was 40% of the
 * query's time.)  A chunk of at least BTPG_AGG_MAP_BYTES (a deserialized
 * state's, all its bars in one) is a mapping of the state's allocator
 * (bigalloc.c: huge pages), a smaller one a chunk of the aggregate's arena
 * (aggregate_arena.c): anonymous mappings (one list per aggregate context)
 * carved into power-of-two chunks.  No system call per chunk: malloc'd or
 * palloc'd arrays of this size are blocks of their own, and their frees
 * measured as munmap/brk with a TLB flush each.  The final function runs
 * the engine on a state's one chunk in place, else on a copy of its chunks
 * in the scratch below.
 * The final function's engine runs take their memory from the same arena,
 * rewound after each group, so they fault no page after the first group.
 * The mappings belong to the aggregate context (unmapped by bigalloc's reset
 * callback when it is reset or deleted, which an error does too) and are
 * outside the hash table's count: only the small BtpgAggArena struct is in
 * it.
 */

/*
 * A new chunk of at least cap bars at the tail of st, within
 * pg_backtest.max_memory: a chunk of the arena below BTPG_AGG_MAP_BYTES, a
 * mapping of the state's allocator from there (huge pages).  Caller is in
 * any context; the chunk belongs to st->cxt.
 */
static AggChunk *
agg_add_chunk(AggState *st, int64 cap)
{
	size_t		bar = AGG_BAR_BYTES(st->ncols);
	size_t		size = AGG_CHUNK_HDR + (size_t) cap * bar;
	AggChunk   *ch;
	char	   *p;

	if (st->arena == NULL)
		st->arena = btpg_agg_arena(st->cxt);
	btpg_memory_limit_check(btpg_agg_arena_bars_bytes(), size,
							"The bars of the backtest() groups held at once");
	if (size >= BTPG_AGG_MAP_BYTES)
		ch = st->alloc.realloc_fn(st->alloc.ctx, NULL, size);
	else
	{
		/* the whole chunk of its size class: fill it */
		size = btpg_agg_arena_chunk_size(size);
		ch = btpg_agg_arena_alloc(st->arena, size);
		cap = (int64) ((size - AGG_CHUNK_HDR) / bar);
	}
	btpg_agg_arena_count(st->arena, size);
	ch->next = NULL;
	ch->n = 0;
	ch->cap = cap;
	p = (char *) ch + AGG_CHUNK_HDR;
	ch->ts = (int64_t *) p;
	p += sizeof(int64_t) * cap;
	for (int c = 0; c < st->ncols; c++)
	{
		ch->col[c] = (double *) p;
		p += sizeof(double) * cap;
	}
	if (st->tail)
		st->tail->next = ch;
	else
		st->head = ch;
	st->tail = ch;
	return ch;
}

/* Room for one more bar at the tail of st (chunks doubling up to AGG_CHUNK_LAST) */
static AggChunk *
agg_grow(AggState *st)
{
	size_t		size = st->next_chunk ? st->next_chunk : AGG_CHUNK_FIRST;

	if (size < AGG_CHUNK_LAST)
		st->next_chunk = size * 2;
	else
		st->next_chunk = size;
	return agg_add_chunk(st, (int64) ((size - AGG_CHUNK_HDR) / AGG_BAR_BYTES(st->ncols)));
}

/*
 * Append n bars of arrays ts and col[] to st (a copy), as one chunk at its
 * tail; notes whether they keep st in time order
 */
static void
agg_append(AggState *st, int64 n, const int64_t *ts, double *const *col, bool sorted)
{
	AggChunk   *ch;

	if (n <= 0)
		return;
	ch = agg_add_chunk(st, n);
	memcpy(ch->ts, ts, sizeof(int64_t) * n);
	for (int c = 0; c < st->ncols; c++)
		memcpy(ch->col[c], col[c], sizeof(double) * n);
	ch->n = n;
	if (!sorted || (st->n > 0 && ts[0] < st->last_ts))
		st->sorted = false;
	st->last_ts = ts[n - 1];
	st->n += n;
}

/* Is aggregate argument argno (0-based, as in the Aggref) a constant? */
static bool
agg_arg_is_const(FunctionCallInfo fcinfo, int argno)
{
	Aggref	   *ag = AggGetAggref(fcinfo);
	TargetEntry *tle;

	if (ag == NULL || argno >= list_length(ag->args))
		return false;
	tle = (TargetEntry *) list_nth(ag->args, argno);
	return IsA(tle->expr, Const);
}

/* jsonb as text for messages ('{}' for NULL) */
static char *
jsonb_text(Jsonb *j)
{
	return j ? JsonbToCString(NULL, &j->root, VARSIZE(j)) : pstrdup("{}");
}

/* Error: a group's rows name different strategies or params */
static void
agg_mixed_error(const char *what, const char *got, const char *first) pg_attribute_noreturn();

static void
agg_mixed_error(const char *what, const char *got, const char *first)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("backtest() got %s %s in a group whose first row has %s", what, got, first),
			 errdetail("One backtest() call runs one strategy with one set of params."),
			 errhint("Give every row of a group the same strategy and params, e.g. GROUP BY them too.")));
}

/* Same jsonb?  Byte-equal first (the usual case), then jsonb equality. */
static bool
agg_params_equal(Jsonb *a, Jsonb *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0)
		return true;
	return DatumGetBool(DirectFunctionCall2(jsonb_eq, PointerGetDatum(a), PointerGetDatum(b)));
}

/*
 * Check this row's strategy and params against the group's (non-constant
 * arguments only).  Costs a length test and a memcmp per row; the packed
 * forms are read in place (no detoast copy unless compressed or external).
 */
static void
agg_check_same(FunctionCallInfo fcinfo, AggState *st, int sarg)
{
	if (!st->strategy_const)
	{
		struct varlena *v;

		if (PG_ARGISNULL(sarg))
			agg_mixed_error("strategy", "NULL", quote_literal_cstr(st->strategy));
		v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(PG_GETARG_DATUM(sarg)));
		if (VARSIZE_ANY_EXHDR(v) != strlen(st->strategy) ||
			memcmp(VARDATA_ANY(v), st->strategy, VARSIZE_ANY_EXHDR(v)) != 0)
			agg_mixed_error("strategy", quote_literal_cstr(text_to_cstring((text *) v)),
							quote_literal_cstr(st->strategy));
	}
	if (!st->params_const)
	{
		struct varlena *v;
		bool		same;

		if (PG_ARGISNULL(sarg + 1))
			same = st->params == NULL;
		else if (st->params == NULL)
			same = false;
		else
		{
			v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(PG_GETARG_DATUM(sarg + 1)));
			same = VARSIZE_ANY_EXHDR(v) == VARSIZE(st->params) - VARHDRSZ &&
				memcmp(VARDATA_ANY(v), VARDATA(st->params), VARSIZE_ANY_EXHDR(v)) == 0;
			if (!same)
				same = agg_params_equal(st->params, PG_GETARG_JSONB_P(sarg + 1));
		}
		if (!same)
			agg_mixed_error("params",
							PG_ARGISNULL(sarg + 1) ? "NULL" : jsonb_text(PG_GETARG_JSONB_P(sarg + 1)),
							jsonb_text(st->params));
	}
}

/* A new, empty state in cxt (its arrays: see BTPG_AGG_MAP_BYTES) */
static AggState *
agg_new_state(MemoryContext cxt, bool has_signal)
{
	AggState   *st = MemoryContextAllocZero(cxt, sizeof(AggState));

	st->cxt = cxt;
	btpg_alloc_init(&st->alloc, cxt);
	st->has_signal = has_signal;
	st->ncols = has_signal ? 6 : 5;
	st->sorted = true;
	return st;
}

/*
 * backtest_agg_sfunc(state, ts, open, high, low, close, volume, [signal,]
 *					  strategy, params)
 *		Append one bar.  NULL prices are an error naming the bar (a NULL
 *		signal means "keep").  ts may be timestamptz, timestamp or date.
 *		Rows may come in any order.  No allocation per row (arrays double).
 */
Datum
backtest_agg_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	AggState   *st;
	bool		with_signal = PG_NARGS() == 10;
	int			sarg = with_signal ? 8 : 7;
	AggChunk   *ch;
	int64		i;
	int64_t		t,
				e;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "backtest_agg_sfunc called in non-aggregate context");

	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);
		Oid			tstype = get_fn_expr_argtype(fcinfo->flinfo, 1);

		st = agg_new_state(aggcxt, with_signal);
		st->tskind = tstype == TIMESTAMPOID ? AGG_TS_NAIVE :
			tstype == DATEOID ? AGG_TS_DATE : AGG_TS_TSTZ;
		if (PG_ARGISNULL(sarg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the strategy must not be NULL")));
		st->strategy = text_to_cstring(PG_GETARG_TEXT_PP(sarg));
		/* fail fast on an unknown strategy, before reading every row */
		(void) btpg_lookup_strategy(st->strategy);
		st->params = PG_ARGISNULL(sarg + 1) ? NULL :
			(Jsonb *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(sarg + 1));
		st->strategy_const = agg_arg_is_const(fcinfo, sarg - 1);
		st->params_const = agg_arg_is_const(fcinfo, sarg);
		MemoryContextSwitchTo(old);
	}
	else
	{
		st = (AggState *) PG_GETARG_POINTER(0);
		if (!(st->strategy_const && st->params_const))
			agg_check_same(fcinfo, st, sarg);
	}

	ch = st->tail;
	if (ch == NULL || ch->n == ch->cap)
		ch = agg_grow(st);
	i = ch->n;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backtest() got a NULL timestamp")));
	if (st->tskind == AGG_TS_DATE)
	{
		DateADT		d = PG_GETARG_DATEADT(1);

		if (DATE_NOT_FINITE(d))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("backtest() got an infinite timestamp")));
		t = (int64_t) d * USECS_PER_DAY;
	}
	else
	{
		/* a naive timestamp's value is its wall clock read as UTC */
		t = PG_GETARG_INT64(1);
		if (TIMESTAMP_NOT_FINITE(t))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("backtest() got an infinite timestamp")));
	}
	e = btpg_ts_to_engine(t);
	ch->ts[i] = e;
	if (st->n > 0 && e < st->last_ts)
		st->sorted = false;
	st->last_ts = e;
	for (int c = 0; c < st->ncols; c++)
	{
		static const char *const names[] = {"open", "high", "low", "close", "volume", "signal"};

		if (PG_ARGISNULL(c + 2))
		{
			if (c >= 4)
			{
				/* NULL volume: only an error for strategies that read volume */
				ch->col[c][i] = NAN;
				continue;
			}
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("invalid bar at %s: %s is NULL", timestamptz_to_str(t), names[c])));
		}
		ch->col[c][i] = PG_GETARG_FLOAT8(c + 2);
		if (c == 5 && isnan(ch->col[c][i]))
			btpg_signal_nan_error(t);	/* NaN is not NULL ("keep") */
	}
	ch->n++;
	st->n++;
	PG_RETURN_POINTER(st);
}

/* (ts, row) pairs for sorting a state's bars */
typedef struct AggTsRow
{
	int64_t		ts;
	int64		row;
} AggTsRow;

#define ST_SORT sort_agg_tsrow
#define ST_ELEMENT_TYPE AggTsRow
#define ST_COMPARE(a, b) ((a)->ts < (b)->ts ? -1 : (a)->ts > (b)->ts ? 1 : \
						  (a)->row < (b)->row ? -1 : (a)->row > (b)->row ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Put n bars (ts and col[0..ncols-1], arrays of the final's scratch) in ts
 * order, in place (stable: duplicates stay next to each other and
 * validation then reports them as with ORDER BY ts).  The scratch arrays
 * come from scratch (the final's, rewound after the run).
 */
static void
agg_sort(int64 n, int64_t *ts, double **col, int ncols, const BtAlloc *scratch)
{
	AggTsRow   *pairs;
	double	   *tmp;

	btpg_memory_limit_check((size_t) n * AGG_BAR_BYTES(ncols),
							(size_t) n * (sizeof(AggTsRow) + sizeof(double)),
							"Sorting the bars of one backtest() group");
	pairs = scratch->realloc_fn(scratch->ctx, NULL, sizeof(AggTsRow) * n);
	tmp = scratch->realloc_fn(scratch->ctx, NULL, sizeof(double) * n);
	for (int64 i = 0; i < n; i++)
	{
		pairs[i].ts = ts[i];
		pairs[i].row = i;
	}
	sort_agg_tsrow(pairs, n);
	for (int c = 0; c < ncols; c++)
	{
		double	   *cc = col[c];

		for (int64 i = 0; i < n; i++)
			tmp[i] = cc[pairs[i].row];
		memcpy(cc, tmp, sizeof(double) * n);
	}
	for (int64 i = 0; i < n; i++)
		ts[i] = pairs[i].ts;
}

/*
 * Set ts and col[] to a state's bars as whole arrays: its one chunk's, or a
 * copy of every chunk's in order into scratch (the final's)
 */
static void
agg_flatten(AggState *st, const BtAlloc *scratch, int64_t **ts, double **col)
{
	int64		at = 0;

	if (st->head != NULL && st->head->next == NULL)
	{
		*ts = st->head->ts;
		for (int c = 0; c < st->ncols; c++)
			col[c] = st->head->col[c];
		return;
	}
	btpg_memory_limit_check(btpg_agg_arena_bars_bytes(), (size_t) st->n * AGG_BAR_BYTES(st->ncols),
							"The bars of one backtest() group");
	*ts = scratch->realloc_fn(scratch->ctx, NULL, sizeof(int64_t) * Max(st->n, 1));
	for (int c = 0; c < st->ncols; c++)
		col[c] = scratch->realloc_fn(scratch->ctx, NULL, sizeof(double) * Max(st->n, 1));
	for (AggChunk *ch = st->head; ch; ch = ch->next)
	{
		memcpy(*ts + at, ch->ts, sizeof(int64_t) * ch->n);
		for (int c = 0; c < st->ncols; c++)
			memcpy(col[c] + at, ch->col[c], sizeof(double) * ch->n);
		at += ch->n;
	}
}

/*
 * backtest_agg_final(state)
 *		Run the backtest on the collected bars, sorting them first if they
 *		came out of order.  The state is left as it is (the run reads its
 *		one chunk in place, else a copy in the scratch that the sort
 *		permutes): later transitions of a window aggregate still work.
 */
Datum
backtest_agg_final(PG_FUNCTION_ARGS)
{
	AggState   *st;
	BtAlloc		scratch;
	int64_t    *ts;
	double	   *col[6] = {0};
	Datum		d;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();		/* no rows */
	st = (AggState *) PG_GETARG_POINTER(0);
	if (st->arena == NULL)
		st->arena = btpg_agg_arena(st->cxt);
	btpg_agg_arena_scratch(st->arena, &scratch);
	if (!st->sorted)
	{
		/* sorting a copy: force one, even of a single chunk */
		AggChunk   *one = st->head;
		int64_t    *t2;
		double	   *c2[6] = {0};

		agg_flatten(st, &scratch, &ts, col);
		if (one != NULL && one->next == NULL)
		{
			t2 = scratch.realloc_fn(scratch.ctx, NULL, sizeof(int64_t) * st->n);
			memcpy(t2, ts, sizeof(int64_t) * st->n);
			ts = t2;
			for (int c = 0; c < st->ncols; c++)
			{
				c2[c] = scratch.realloc_fn(scratch.ctx, NULL, sizeof(double) * st->n);
				memcpy(c2[c], col[c], sizeof(double) * st->n);
				col[c] = c2[c];
			}
		}
		agg_sort(st->n, ts, col, st->ncols, &scratch);
	}
	else
		agg_flatten(st, &scratch, &ts, col);
	d = btpg_run_arrays(fcinfo, st->n, ts, col, st->has_signal, st->strategy, st->params,
				   &scratch);
	btpg_agg_arena_rewind(st->arena);
	return d;
}

/*
 * backtest_agg_combine(state1, state2)
 *		Merge two partial states (parallel workers, partitions): appends
 *		state2's bars to state1: a state of this aggregate's context (a
 *		deserialized one) gives its chunks over, another is copied, never
 *		adopted.  Not strict: either may be NULL.
 */
Datum
backtest_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	AggState   *s1;
	AggState   *s2;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "backtest_agg_combine called in non-aggregate context");
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	s2 = (AggState *) PG_GETARG_POINTER(1);
	if (PG_ARGISNULL(0))
	{
		MemoryContext old;

		if (s2->cxt == aggcxt)
			PG_RETURN_POINTER(s2);	/* a deserialized state: ours to keep */
		old = MemoryContextSwitchTo(aggcxt);
		s1 = agg_new_state(aggcxt, s2->has_signal);
		s1->tskind = s2->tskind;
		s1->strategy = pstrdup(s2->strategy);
		s1->params = s2->params ? (Jsonb *) PG_DETOAST_DATUM_COPY(PointerGetDatum(s2->params)) : NULL;
		MemoryContextSwitchTo(old);
	}
	else
		s1 = (AggState *) PG_GETARG_POINTER(0);

	if (strcmp(s1->strategy, s2->strategy) != 0)
		agg_mixed_error("strategy", quote_literal_cstr(s2->strategy),
						quote_literal_cstr(s1->strategy));
	if (!agg_params_equal(s1->params, s2->params))
		agg_mixed_error("params", jsonb_text(s2->params), jsonb_text(s1->params));
	if (s1->ncols != s2->ncols)
		elog(ERROR, "backtest_agg_combine: states of different aggregates");

	if (s2->n > 0 && s2 != s1)
	{
		if (!s2->sorted || (s1->n > 0 && s2->head->ts[0] < s1->last_ts))
			s1->sorted = false;
		if (s2->cxt == aggcxt)
		{
			/*
			 * a deserialized state (of this context, as s1): its chunks move
			 * over as they are, counted as they were; s2 is left empty
			 */
			if (s1->tail)
				s1->tail->next = s2->head;
			else
				s1->head = s2->head;
			s1->tail = s2->tail;
			s1->n += s2->n;
			s1->last_ts = s2->last_ts;
			s2->head = s2->tail = NULL;
			s2->n = 0;
		}
		else
			for (AggChunk *ch = s2->head; ch; ch = ch->next)
				agg_append(s1, ch->n, ch->ts, ch->col, true);
	}
	PG_RETURN_POINTER(s1);
}

/*
 * The serialized state: this header, the strategy name, the params (a whole
 * jsonb varlena, when has_params), then ts[n] and each column[n], each part
 * starting MAXALIGNed.  Native byte order: states travel between processes
 * of one server (or nodes of one architecture).
 */
typedef struct AggWire
{
	int32		vl_len_;
	int32		magic;
	int64		n;
	int32		ncols;
	int32		strategy_len;
	int32		params_len;		/* 0 = NULL params */
	bool		has_signal;
	bool		sorted;
	int8		tskind;
} AggWire;

#define AGG_WIRE_MAGIC	0x62746167	/* "btag" */

/*
 * backtest_agg_serialize(state) returns bytea
 *		For partial aggregation across processes.  A state is at most 1 GB
 *		serialized (about 20 million bars): bigger is an error hinting at a
 *		serial plan.
 */
Datum
backtest_agg_serialize(PG_FUNCTION_ARGS)
{
	AggState   *st;
	Size		hdr,
				slen,
				plen,
				arrays,
				total;
	char	   *buf;
	AggWire    *w;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "backtest_agg_serialize called in non-aggregate context");
	st = (AggState *) PG_GETARG_POINTER(0);
	slen = strlen(st->strategy);
	plen = st->params ? VARSIZE(st->params) : 0;
	hdr = MAXALIGN(sizeof(AggWire)) + MAXALIGN(slen) + MAXALIGN(plen);
	arrays = (Size) st->n * AGG_BAR_BYTES(st->ncols);
	total = hdr + arrays;
	if (total > MaxAllocSize || st->n > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a backtest() group of %lld bars is too big to pass between parallel workers",
						(long long) st->n),
				 errhint("Run the query with SET max_parallel_workers_per_gather = 0.")));
	buf = palloc(total);
	w = (AggWire *) buf;
	memset(w, 0, sizeof(AggWire));
	SET_VARSIZE(w, total);
	w->magic = AGG_WIRE_MAGIC;
	w->n = st->n;
	w->ncols = st->ncols;
	w->strategy_len = (int32) slen;
	w->params_len = (int32) plen;
	w->has_signal = st->has_signal;
	w->sorted = st->sorted;
	w->tskind = st->tskind;
	buf += MAXALIGN(sizeof(AggWire));
	memcpy(buf, st->strategy, slen);
	buf += MAXALIGN(slen);
	if (plen)
		memcpy(buf, st->params, plen);
	buf += MAXALIGN(plen);
	for (AggChunk *ch = st->head; ch; ch = ch->next)
	{
		memcpy(buf, ch->ts, sizeof(int64_t) * ch->n);
		buf += sizeof(int64_t) * ch->n;
	}
	for (int c = 0; c < st->ncols; c++)
		for (AggChunk *ch = st->head; ch; ch = ch->next)
		{
			memcpy(buf, ch->col[c], sizeof(double) * ch->n);
			buf += sizeof(double) * ch->n;
		}
	PG_RETURN_BYTEA_P((bytea *) w);
}

/*
 * backtest_agg_deserialize(bytea, internal) returns internal
 *		The state back, allocated in the aggregate's context (so combine may
 *		adopt it).
 */
Datum
backtest_agg_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext old;
	bytea	   *b = PG_GETARG_BYTEA_P(0);
	AggWire    *w = (AggWire *) b;
	const char *p;
	AggState   *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "backtest_agg_deserialize called in non-aggregate context");
	if (VARSIZE(b) < sizeof(AggWire) || w->magic != AGG_WIRE_MAGIC ||
		(w->ncols != 5 && w->ncols != 6) || w->n < 0 ||
		VARSIZE(b) != MAXALIGN(sizeof(AggWire)) + MAXALIGN(w->strategy_len) +
		MAXALIGN(w->params_len) + (Size) w->n * AGG_BAR_BYTES(w->ncols))
		elog(ERROR, "backtest_agg_deserialize: malformed state");
	old = MemoryContextSwitchTo(aggcxt);
	st = agg_new_state(aggcxt, w->has_signal);
	st->tskind = w->tskind;
	p = (const char *) b + MAXALIGN(sizeof(AggWire));
	st->strategy = pnstrdup(p, w->strategy_len);
	p += MAXALIGN(w->strategy_len);
	if (w->params_len)
	{
		st->params = palloc(w->params_len);
		memcpy(st->params, p, w->params_len);
	}
	p += MAXALIGN(w->params_len);
	MemoryContextSwitchTo(old);
	if (w->n > 0)
	{
		const int64_t *ts = (const int64_t *) p;
		double	   *col[6] = {0};

		p += sizeof(int64_t) * w->n;
		for (int c = 0; c < st->ncols; c++)
		{
			col[c] = (double *) p;
			p += sizeof(double) * w->n;
		}
		agg_append(st, w->n, ts, col, w->sorted);
	}
	PG_RETURN_POINTER(st);
}
