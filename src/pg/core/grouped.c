/*-------------------------------------------------------------------------
 *
 * grouped.c
 *	  Reading the bars of many symbols in one read, ordered by
 *	  (symbol, ts): backtest_run_all's and the portfolio's reader.
 *
 * The source is read once (btpg_load_grouped: a table with no ORDER BY,
 * filtered by the symbols given; a query as written) and the symbols are
 * numbered as the rows arrive (a hash table, with a shortcut for a row of
 * the same symbol as the one before).  Then the rows are put in
 * (symbol, ts) order: a stable counting sort by symbol, symbols in byte
 * order (strcmp), then a sort by ts of each symbol that is not already in
 * time order; when the rows arrived in that order (a table written symbol
 * by symbol) nothing is copied.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/grouped.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/loader.h"
#include "core/memory.h"

/* ---- numbering the symbols while the rows arrive --------------------------- */

typedef struct SymEntry
{
	const char *name;			/* NUL-terminated, in the call's context */
	uint32		hash;
	int32		group;
	char		status;			/* simplehash */
} SymEntry;

#define SH_PREFIX		symtab
#define SH_ELEMENT_TYPE SymEntry
#define SH_KEY_TYPE		const char *
#define SH_KEY			name
#define SH_HASH_KEY(tb, key) hash_bytes((const unsigned char *) (key), strlen(key))
#define SH_EQUAL(tb, a, b) (strcmp(a, b) == 0)
#define SH_SCOPE		static inline
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/* State of the row hook (btpg_load_grouped) and of the grouping */
typedef struct Grouper
{
	MemoryContext cxt;			/* names, the table, the arrays */
	BtAlloc		big;			/* group_of and the permutation: huge-page
								 * mappings of cxt (bigalloc.c), not palloc,
								 * whose 4 kB pages each fault in anew */
	symtab_hash *tab;
	int32	   *group_of;		/* per row; -1 = NULL symbol */
	int64		cap;
	int32		ngroups;
	int32		gcap;
	char	  **names;			/* by group number (order of first appearance) */
	int64	   *counts;			/* rows per group */
	int32		last;			/* group of the previous row, -1 = none */
	int			last_len;
	int64		nnull;			/* rows with a NULL symbol */
	Oid			outtype;		/* symbol type whose output function is cached */
	FmgrInfo	outfn;
	StringInfoData buf;
	const char *current;		/* symbol of the row being read (error context) */
	const char *fname;			/* function named in the error context */
} Grouper;

/* The text form of a symbol datum: *p, *len (not NUL-terminated for text) */
static void
symbol_text(Grouper *g, Datum d, Oid typid, const char **p, int *len)
{
	if (typid == TEXTOID || typid == VARCHAROID)
	{
		text	   *t = DatumGetTextPP(d);

		*p = VARDATA_ANY(t);
		*len = VARSIZE_ANY_EXHDR(t);
		return;
	}
	if (g->outtype != typid)
	{
		Oid			fn;
		bool		isvarlena;

		getTypeOutputInfo(typid, &fn, &isvarlena);
		fmgr_info_cxt(fn, &g->outfn, g->cxt);
		g->outtype = typid;
	}
	*p = OutputFunctionCall(&g->outfn, d);
	*len = strlen(*p);
}

/* Row hook: the group of row `row` */
static void
group_row(void *arg, int64 row, Datum d, bool isnull, Oid typid)
{
	Grouper    *g = (Grouper *) arg;
	const char *p;
	int			len;
	int32		grp;

	if (row >= g->cap)
	{
		g->cap = Max(g->cap * 2, 4096);
		g->group_of = g->big.realloc_fn(g->big.ctx, g->group_of, sizeof(int32) * g->cap);
	}
	if (isnull)
	{
		g->group_of[row] = -1;
		g->nnull++;
		g->current = NULL;
		return;
	}
	symbol_text(g, d, typid, &p, &len);
	if (g->last >= 0 && len == g->last_len && memcmp(p, g->names[g->last], len) == 0)
		grp = g->last;
	else
	{
		SymEntry   *e;
		bool		found;

		resetStringInfo(&g->buf);
		appendBinaryStringInfo(&g->buf, p, len);
		e = symtab_insert(g->tab, g->buf.data, &found);
		if (!found)
		{
			MemoryContext old = MemoryContextSwitchTo(g->cxt);

			if (g->ngroups == INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many symbols")));
			if (g->ngroups == g->gcap)
			{
				g->gcap = Max(g->gcap * 2, 64);
				g->names = g->names ? repalloc_huge(g->names, sizeof(char *) * g->gcap) :
					palloc(sizeof(char *) * g->gcap);
				g->counts = g->counts ? repalloc_huge(g->counts, sizeof(int64) * g->gcap) :
					palloc(sizeof(int64) * g->gcap);
			}
			e->name = pstrdup(g->buf.data);
			e->group = g->ngroups;
			g->names[g->ngroups] = (char *) e->name;
			g->counts[g->ngroups] = 0;
			g->ngroups++;
			MemoryContextSwitchTo(old);
		}
		grp = e->group;
		g->last = grp;
		g->last_len = len;
	}
	g->group_of[row] = grp;
	g->counts[grp]++;
	g->current = g->names[grp];
}

/* Error context while reading: the symbol of the row being read */
static void
reading_context(void *arg)
{
	Grouper    *g = (Grouper *) arg;

	if (g->current)
		errcontext("%s, symbol \"%s\"", g->fname, g->current);
}

/* ---- putting the rows in (symbol, ts) order --------------------------------- */

/*
 * btpg_sort_ts_rows
 *		See core/loader.h: sorts one symbol's rows by time here, and a table
 *		source read out of order in the loader.
 */
#define ST_SORT btpg_sort_ts_rows
#define ST_ELEMENT_TYPE BtpgTsRow
#define ST_COMPARE(a, b) ((a)->ts < (b)->ts ? -1 : (a)->ts > (b)->ts ? 1 : \
						  (a)->row < (b)->row ? -1 : (a)->row > (b)->row ? 1 : 0)
#define ST_SCOPE extern
#define ST_DEFINE
#include "lib/sort_template.h"

static int
name_cmp(const void *a, const void *b, void *arg)
{
	char	  **names = (char **) arg;

	return strcmp(names[*(const int32 *) a], names[*(const int32 *) b]);
}

/* One symbol's bars in the ordered series: BtpgSymGroup (core/loader.h) */
typedef BtpgSymGroup SymGroup;

/*
 * Put column *col in permutation order through the scratch array *scratch
 * (of at least n elements): afterwards *col is the ordered column and
 * *scratch the old one, the scratch of the next column.  8-byte elements
 * (double or int64_t).
 */
static void
gather(void **col, void **scratch, const int64 *perm, int64 n)
{
	const uint64 *src = *col;
	uint64	   *dst = *scratch;

	if (src == NULL)
		return;
	for (int64 k = 0; k < n; k++)
		dst[k] = src[perm[k]];
	*scratch = (void *) src;
	*col = dst;
}

/*
 * Order the rows of `in` (numbered by g) by (symbol, ts) into *out; fills
 * groups[] in symbol order.  Rows with a NULL symbol are dropped.  in's
 * arrays are reused (one scratch column is allocated in series_cxt, the
 * context of in's arrays), so *out's arrays belong to series_cxt too.
 */
static void
order_rows(Grouper *g, const BtSeries *in, MemoryContext series_cxt, BtSeries *out,
		   SymGroup *groups)
{
	int32	   *rank = palloc(sizeof(int32) * Max(g->ngroups, 1));
	int32	   *byrank = palloc(sizeof(int32) * Max(g->ngroups, 1));
	int64	   *next = palloc(sizeof(int64) * Max(g->ngroups, 1));
	int64	   *perm;
	int64		n = 0;
	bool		identity = true;

	/* symbols in byte order */
	for (int32 i = 0; i < g->ngroups; i++)
		byrank[i] = i;
	qsort_arg(byrank, g->ngroups, sizeof(int32), name_cmp, g->names);
	for (int32 r = 0; r < g->ngroups; r++)
	{
		rank[byrank[r]] = r;
		groups[r].name = g->names[byrank[r]];
		groups[r].from = n;
		groups[r].n = g->counts[byrank[r]];
		next[r] = n;
		n += groups[r].n;
	}

	/* stable counting sort by symbol */
	perm = g->big.realloc_fn(g->big.ctx, NULL, sizeof(int64) * Max(n, 1));
	for (int64 i = 0; i < in->n; i++)
	{
		int32		grp = g->group_of[i];
		int64		k;

		if (grp < 0)
		{
			identity = false;
			continue;
		}
		k = next[rank[grp]]++;
		perm[k] = i;
		if (k != i)
			identity = false;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* then each symbol by time, where it is not in time order already */
	for (int32 r = 0; r < g->ngroups; r++)
	{
		int64	   *p = perm + groups[r].from;
		int64		m = groups[r].n;
		bool		sorted = true;
		BtpgTsRow  *pairs;

		for (int64 k = 1; k < m && sorted; k++)
			sorted = in->ts[p[k - 1]] <= in->ts[p[k]];
		if (sorted)
			continue;
		identity = false;
		pairs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(BtpgTsRow) * m);
		for (int64 k = 0; k < m; k++)
		{
			pairs[k].ts = in->ts[p[k]];
			pairs[k].row = p[k];
		}
		btpg_sort_ts_rows(pairs, m);
		for (int64 k = 0; k < m; k++)
			p[k] = pairs[k].row;
		pfree(pairs);
		CHECK_FOR_INTERRUPTS();
	}

	if (identity && n == in->n)
	{
		*out = *in;
		btpg_alloc_free(&g->big, perm);
		return;
	}
	{
		BtAlloc		a;
		void	   *scratch;
		void	   *cols[7];

		/* one new column, not six: fewer fresh pages for the kernel to clear */
		btpg_alloc_init(&a, series_cxt);
		scratch = a.realloc_fn(a.ctx, NULL, sizeof(double) * Max(n, 1));
		cols[0] = (void *) in->ts;
		cols[1] = (void *) in->open;
		cols[2] = (void *) in->high;
		cols[3] = (void *) in->low;
		cols[4] = (void *) in->close;
		cols[5] = (void *) in->volume;
		cols[6] = (void *) in->signal;
		for (int c = 0; c < 7; c++)
		{
			gather(&cols[c], &scratch, perm, n);
			CHECK_FOR_INTERRUPTS();
		}
		memset(out, 0, sizeof(*out));
		out->n = n;
		out->ts = cols[0];
		out->open = cols[1];
		out->high = cols[2];
		out->low = cols[3];
		out->close = cols[4];
		out->volume = cols[5];
		out->signal = cols[6];
	}
	btpg_alloc_free(&g->big, perm);
}

/* A slice of a series */
BtSeries
btpg_series_slice(const BtSeries *s, int64 from, int64 n)
{
	BtSeries	r = *s;

	r.n = n;
	r.ts += from;
	r.open += from;
	r.high += from;
	r.low += from;
	r.close += from;
	if (r.volume)
		r.volume += from;
	if (r.signal)
		r.signal += from;
	return r;
}

/*
 * btpg_read_grouped
 *		Read the bars of a multi-symbol source (btpg_load_grouped) and put
 *		them in (symbol, ts) order in seriescxt: *s, and *groups (one per
 *		symbol, in strcmp order; allocated in CurrentMemoryContext), whose
 *		number is returned.  NOTICEs rows with a NULL symbol; the bars are
 *		not validated (validate each group's slice).  fname names the caller
 *		in error contexts.
 */
int32
btpg_read_grouped(const BtpgLoadSpec *spec, const char *fname, MemoryContext seriescxt,
				  BtSeries *s, BtpgSymGroup **groups)
{
	MemoryContext cxt = CurrentMemoryContext;
	Grouper		g;
	ErrorContextCallback errcb;
	BtSeries	raw;

	memset(&g, 0, sizeof(g));
	g.cxt = cxt;
	btpg_alloc_init(&g.big, cxt);
	g.tab = symtab_create(cxt, 1024, NULL);
	g.last = -1;
	g.fname = fname;
	initStringInfo(&g.buf);
	errcb.previous = error_context_stack;
	errcb.callback = reading_context;
	errcb.arg = &g;
	error_context_stack = &errcb;
	MemoryContextSwitchTo(seriescxt);
	btpg_load_grouped(spec, group_row, &g, &raw);
	MemoryContextSwitchTo(cxt);
	error_context_stack = errcb.previous;

	*groups = palloc(sizeof(SymGroup) * Max(g.ngroups, 1));
	order_rows(&g, &raw, seriescxt, s, *groups);
	btpg_alloc_free(&g.big, g.group_of);
	if (g.nnull > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " rows with a NULL symbol were skipped", g.nnull)));
	return g.ngroups;
}

/* ---- the symbols argument --------------------------------------------------- */

/*
 * The symbols argument as a sorted array of distinct C strings (*n of them);
 * a NULL element is an error.
 */
char	  **
btpg_symbols_arg(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	char	  **names;
	int			k = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	names = palloc(sizeof(char *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the symbols array must not contain NULL")));
		names[i] = TextDatumGetCString(elems[i]);
	}
	qsort(names, nelems, sizeof(char *), pg_qsort_strcmp);
	for (int i = 0; i < nelems; i++)
		if (k == 0 || strcmp(names[k - 1], names[i]) != 0)
			names[k++] = names[i];
	*n = k;
	return names;
}

/*
 * btpg_list_symbol
 *		Append a quoted symbol to buf, a list for a NOTICE that names at
 *		most BTPG_NOTICE_SYMBOLS of them (then ", ..."); *count counts them
 *		all.
 */
void
btpg_list_symbol(StringInfo buf, int64 *count, const char *name)
{
	if (*count < BTPG_NOTICE_SYMBOLS)
		appendStringInfo(buf, "%s\"%s\"", *count ? ", " : "", name);
	else if (*count == BTPG_NOTICE_SYMBOLS)
		appendStringInfoString(buf, ", ...");
	(*count)++;
}
