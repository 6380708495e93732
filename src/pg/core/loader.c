/*-------------------------------------------------------------------------
 *
 * loader.c
 *	  Reading K-lines through SPI into the engine's columnar arrays.
 *
 * A table (or view) source is read with one query,
 *	  SELECT ts, open, ... FROM schema.table
 *	  WHERE symbol = $1 AND ts >= $2 AND ts <= $3
 * with every identifier quoted and the parameters cast to the columns' own
 * types, so an index on (symbol, ts) serves it.  There is no ORDER BY: the
 * planner may then pick whatever scan is cheapest (an index scan, or a
 * parallel sequential scan when most rows match); rows of an append-only
 * K-line table mostly arrive in time order anyway, so the loader checks the
 * order in C and sorts only when needed.  A query source is run as given and
 * must return its rows in time order.  Either way the rows go straight from the executor into the arrays
 * through a DestReceiver (no SPI tuple table), and values are converted from
 * their native types in C.  SPI applies the caller's privileges and
 * row-level security.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/loader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/plancache.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/read_plan.h"
#include "core/timestamps.h"
#include "resample.h"

typedef struct LoadReceiver
{
	DestReceiver pub;
	const BtpgLoadSpec *spec;
	const char *source_name;	/* for messages */
	int			attidx[BTCOL_COUNT];	/* 0-based attribute index, -1 = unused */
	Oid			atttype[BTCOL_COUNT];
	int			natts_needed;
	int64		n;
	int64		cap;
	int64_t    *ts;
	double	   *col[BTCOL_COUNT];	/* OPEN..SIGNAL */
	MemoryContext cxt;
	BtAlloc		alloc;			/* arrays: big mappings owned by cxt */
	int			nstarted;		/* result sets seen: must be exactly 1 */
	double		est_rows;		/* the planner's estimate (presize, grouped loads) */
	bool		preset;			/* the arrays are spec->presize's, not ours */
	BtpgSymbolFn symbol_fn;		/* grouped loads: gets each row's symbol */
	void	   *symbol_arg;
} LoadReceiver;

/* Is typid one of the types a price/volume/signal column may have? */
static bool
numeric_type_ok(Oid typid)
{
	return typid == FLOAT8OID || typid == FLOAT4OID || typid == NUMERICOID ||
		typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

/* Is typid one of the types a timestamp column may have? */
static bool
ts_type_ok(Oid typid)
{
	return typid == TIMESTAMPTZOID || typid == TIMESTAMPOID || typid == DATEOID;
}

/* Check a column's type; errors name the column and the source */
static void
check_column_type(BtpgColumn c, const char *colname, Oid typid, const char *source)
{
	if (c == BTCOL_SYMBOL)
		return;
	if (c == BTCOL_TS ? !ts_type_ok(typid) : !numeric_type_ok(typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s has type %s", colname, source,
						format_type_be(typid)),
				 c == BTCOL_TS ?
				 errhint("The timestamp column must be timestamptz, timestamp or date.") :
				 errhint("Price, volume and signal columns must be double precision, real, numeric, smallint, integer or bigint.")));
}

/* Convert a numeric-ish datum to double */
static inline double
datum_to_double(Datum d, Oid typid)
{
	switch (typid)
	{
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
	}
	elog(ERROR, "unexpected type %u", typid);
	return 0;
}

/*
 * Convert a timestamp-ish datum to a timestamptz, independently of the
 * session TimeZone: a timestamp without time zone has no zone, so its
 * wall-clock value is read as UTC (the same int64); a date is midnight UTC.
 * (A cast would use the session zone, where a DST change makes two hourly
 * bars one instant, or leaves a gap.)
 */
static inline TimestampTz
datum_to_tstz(Datum d, Oid typid)
{
	switch (typid)
	{
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			return DatumGetTimestampTz(d);
		case DATEOID:
			{
				DateADT		dt = DatumGetDateADT(d);

				if (DATE_IS_NOBEGIN(dt))
					return DT_NOBEGIN;
				if (DATE_IS_NOEND(dt))
					return DT_NOEND;
				return (TimestampTz) dt * USECS_PER_DAY;
			}
	}
	elog(ERROR, "unexpected type %u", typid);
	return 0;
}

/* rStartup: find the columns in the result and check their types */
static void
load_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	LoadReceiver *r = (LoadReceiver *) self;

	if (++r->nstarted > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query source must be a single SELECT")));
	r->natts_needed = 0;
	for (int c = 0; c < BTCOL_COUNT; c++)
	{
		const char *name = r->spec->cols.name[c];

		r->attidx[c] = -1;
		if (name == NULL || (c == BTCOL_SYMBOL && r->symbol_fn == NULL && !r->spec->grouped))
			continue;
		for (int i = 0; i < typeinfo->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(typeinfo, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				r->attidx[c] = i;
				r->atttype[c] = att->atttypid;
				break;
			}
		}
		if (r->attidx[c] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("%s has no column \"%s\"", r->source_name, name),
					 errhint("Name the %s column with \"columns\": {\"%s\": \"...\"} in the parameters.",
							 btpg_column_keys[c], btpg_column_keys[c])));
		check_column_type(c, name, r->atttype[c], r->source_name);
		if (r->attidx[c] + 1 > r->natts_needed)
			r->natts_needed = r->attidx[c] + 1;
	}
	if (r->spec->presize && r->est_rows > 0)
	{
		bool		present[BTCOL_COUNT];

		for (int c = 0; c < BTCOL_COUNT; c++)
			present[c] = r->attidx[c] >= 0;
		r->preset = r->spec->presize(r->spec->presize_arg, r->est_rows, present,
									 &r->cap, &r->ts, r->col);
		if (!r->preset)
		{
			r->cap = 0;
			r->ts = NULL;
			memset(r->col, 0, sizeof(r->col));
		}
	}
}

/*
 * Move the rows read so far out of the presize arrays into arrays of ours
 * of newcap rows (at least r->n)
 */
static void
load_unpreset(LoadReceiver *r, int64 newcap)
{
	int64_t    *ts = r->alloc.realloc_fn(r->alloc.ctx, NULL, newcap * sizeof(int64_t));

	memcpy(ts, r->ts, r->n * sizeof(int64_t));
	r->ts = ts;
	for (int c = BTCOL_OPEN; c < BTCOL_COUNT; c++)
	{
		double	   *col;

		if (r->attidx[c] < 0)
			continue;
		col = r->alloc.realloc_fn(r->alloc.ctx, NULL, newcap * sizeof(double));
		memcpy(col, r->col[c], r->n * sizeof(double));
		r->col[c] = col;
	}
	r->cap = newcap;
	r->preset = false;
}

/* Grow the arrays to hold at least one more row */
static void
load_grow(LoadReceiver *r)
{
	int64		newcap = r->cap ? r->cap * 2 : 4096;
	size_t		row_bytes = sizeof(int64_t);

	for (int c = BTCOL_OPEN; c < BTCOL_COUNT; c++)
		if (r->attidx[c] >= 0)
			row_bytes += sizeof(double);
	/*
	 * First growth of a read with the planner's estimate (grouped loads):
	 * room for the estimate and a little more, so a good estimate grows no
	 * further (each doubling would touch fresh pages).  Only while that
	 * stays well within pg_backtest.max_memory, as an estimate can be wrong.
	 */
	if (r->cap == 0 && r->est_rows > newcap &&
		r->est_rows * 1.02 * row_bytes <= (double) btpg_max_memory_kb * 1024 / 4)
		newcap = (int64) (r->est_rows * 1.02) + 1024;
	/*
	 * pg_backtest.max_memory, checked before growing, naming the rows read
	 * (the mappings are checked again, with everything else, in bigalloc.c)
	 */
	if ((size_t) newcap * row_bytes > (size_t) btpg_max_memory_kb * 1024)
		btpg_memory_limit_check((size_t) r->cap * row_bytes, (size_t) (newcap - r->cap) * row_bytes,
								psprintf("Reading %s (%lld rows so far, %zu bytes a row)",
										 r->source_name, (long long) r->n, row_bytes));
	if (r->preset)
	{
		load_unpreset(r, newcap);
		return;
	}
	/* grows by mremap when big, so doubling copies nothing */
	r->ts = r->alloc.realloc_fn(r->alloc.ctx, r->ts, newcap * sizeof(int64_t));
	for (int c = BTCOL_OPEN; c < BTCOL_COUNT; c++)
	{
		if (r->attidx[c] < 0)
			continue;
		r->col[c] = r->alloc.realloc_fn(r->alloc.ctx, r->col[c], newcap * sizeof(double));
	}
	r->cap = newcap;
}

/* rReceiveSlot: append one row */
static bool
load_receive(TupleTableSlot *slot, DestReceiver *self)
{
	LoadReceiver *r = (LoadReceiver *) self;
	int64		i = r->n;
	TimestampTz t;

	if (i == r->cap)
		load_grow(r);
	slot_getsomeattrs(slot, r->natts_needed);
	if (r->symbol_fn)
		r->symbol_fn(r->symbol_arg, i, slot->tts_values[r->attidx[BTCOL_SYMBOL]],
					 slot->tts_isnull[r->attidx[BTCOL_SYMBOL]], r->atttype[BTCOL_SYMBOL]);

	if (slot->tts_isnull[r->attidx[BTCOL_TS]])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s has a NULL timestamp in column \"%s\" (row %lld)",
						r->source_name, r->spec->cols.name[BTCOL_TS], (long long) i + 1)));
	t = datum_to_tstz(slot->tts_values[r->attidx[BTCOL_TS]], r->atttype[BTCOL_TS]);
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s has an infinite timestamp in column \"%s\"",
						r->source_name, r->spec->cols.name[BTCOL_TS])));
	r->ts[i] = btpg_ts_to_engine(t);

	for (int c = BTCOL_OPEN; c < BTCOL_COUNT; c++)
	{
		int			a = r->attidx[c];

		if (a < 0)
			continue;
		if (slot->tts_isnull[a])
		{
			if (c == BTCOL_SIGNAL)
			{
				r->col[c][i] = NAN; /* keep the current position */
				continue;
			}
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("invalid bar at %s: %s is NULL", timestamptz_to_str(t),
							r->spec->cols.name[c]),
					 errhint("Remove or repair the bar, or exclude it with a query source.")));
		}
		r->col[c][i] = datum_to_double(slot->tts_values[a], r->atttype[c]);
		/* the engine reads NaN as "keep": only NULL may mean that */
		if (c == BTCOL_SIGNAL && isnan(r->col[c][i]))
			btpg_signal_nan_error(t);
	}
	r->n++;
	return true;
}

static void
load_shutdown(DestReceiver *self)
{
}

static void
load_destroy(DestReceiver *self)
{
}

/* Resolve a table column: must exist, right type; returns its type */
static Oid
table_column_type(Oid relid, BtpgColumn c, const char *colname, const char *source)
{
	AttrNumber	attnum = get_attnum(relid, colname);
	Oid			typid;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in %s", colname, source),
				 errhint("Name the %s column with \"columns\": {\"%s\": \"...\"} in the parameters.",
						 btpg_column_keys[c], btpg_column_keys[c])));
	typid = get_atttype(relid, attnum);
	check_column_type(c, colname, typid, source);
	return typid;
}

/* Set parameter *np (0-based) of params to a non-NULL value of type type; count it */
static void
add_param(ParamListInfo params, int *np, Datum value, Oid type)
{
	params->params[*np].value = value;
	params->params[*np].isnull = false;
	params->params[*np].pflags = PARAM_FLAG_CONST;
	params->params[*np].ptype = type;
	(*np)++;
}

/*
 * Build the query for a table source, and its parameters.  Returns the query;
 * fills params (symbol, start, end as used).  with_symbol (grouped loads):
 * select the symbol column too, filtered by spec->symbols if given.
 * *via_index (may be NULL): read it with enable_seqscan off
 * (btpg_symbol_via_index, read_plan.c).
 */
static char *
table_query(const BtpgLoadSpec *spec, const char *source, ParamListInfo *params_out,
			bool with_symbol, bool *via_index)
{
	StringInfoData q;
	const BtpgColumns *cols = &spec->cols;
	char	   *rel;
	ParamListInfo params = makeParamList(3);
	int			np = 0;
	Oid			ts_type;
	bool		first = true;
	const char *tsq = quote_identifier(cols->name[BTCOL_TS]);
	Oid			relid_read = spec->relid;

	if (spec->symbol != NULL)
	{
		/* one symbol of a Citus table whose shard is here: read the shard */
		Oid			shard = btpg_citus_local_shard(spec->relid, cols->name[BTCOL_SYMBOL], spec->symbol);

		if (OidIsValid(shard))
			relid_read = shard;
	}
	rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid_read)),
									 get_rel_name(relid_read));
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	if (with_symbol)
	{
		const char *symcol = cols->name[BTCOL_SYMBOL];

		if (symcol == NULL || get_attnum(spec->relid, symcol) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("%s has no symbol column%s%s%s", source,
							symcol ? " \"" : "", symcol ? symcol : "", symcol ? "\"" : ""),
					 errhint("Name the symbol column with \"columns\": {\"symbol\": \"...\"}, or use backtest_run for a single-series table.")));
		appendStringInfoString(&q, quote_identifier(symcol));
		first = false;
	}
	for (int c = BTCOL_TS; c < BTCOL_COUNT; c++)
	{
		if (cols->name[c] == NULL)
			continue;
		table_column_type(spec->relid, c, cols->name[c], source);
		appendStringInfo(&q, "%s%s", first ? "" : ", ", quote_identifier(cols->name[c]));
		first = false;
	}
	ts_type = table_column_type(spec->relid, BTCOL_TS, cols->name[BTCOL_TS], source);
	appendStringInfo(&q, " FROM %s", rel);

	if (spec->symbol != NULL)
	{
		const char *symcol = cols->name[BTCOL_SYMBOL];
		Oid			symtype;

		if (symcol == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a symbol was given but the \"columns\" mapping says %s has no symbol column",
							source),
					 errhint("Pass NULL as the symbol to read every row.")));
		if (get_attnum(spec->relid, symcol) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" does not exist in %s", symcol, source),
					 errhint("Name the symbol column with \"columns\": {\"symbol\": \"...\"}, or pass NULL as the symbol for a single-series table.")));
		symtype = get_atttype(spec->relid, get_attnum(spec->relid, symcol));
		add_param(params, &np, CStringGetTextDatum(spec->symbol), TEXTOID);
		/* cast the parameter to the column's type so an index applies */
		appendStringInfo(&q, " WHERE %s OPERATOR(pg_catalog.=) CAST($%d AS %s)",
						 quote_identifier(symcol), np, format_type_be_qualified(symtype));
		if (via_index)
			*via_index = btpg_symbol_via_index(relid_read, get_attnum(relid_read, symcol), spec->symbol);
	}
	if (with_symbol && spec->has_symbols)
	{
		const char *symcol = cols->name[BTCOL_SYMBOL];
		Oid			symtype = get_atttype(spec->relid, get_attnum(spec->relid, symcol));

		add_param(params, &np, spec->symbols, TEXTARRAYOID);
		/* an array of the column's type, so the (symbol, ts) index applies */
		appendStringInfo(&q, " WHERE %s OPERATOR(pg_catalog.=) ANY (CAST($%d AS %s[]))",
						 quote_identifier(symcol), np, format_type_be_qualified(symtype));
	}
	if (spec->has_start || spec->has_end)
	{
		/*
		 * For a timestamp or date column the bounds are compared as naive
		 * timestamps holding their UTC wall clock (how the bars are read),
		 * never through the session TimeZone; date OPERATOR timestamp is a
		 * cross-type btree operator, so an index on the date still serves.
		 */
		bool		naive = ts_type != TIMESTAMPTZOID;
		const char *tstype = format_type_be_qualified(naive ? TIMESTAMPOID : ts_type);

		for (int k = 0; k < 2; k++)
		{
			if (k == 0 ? !spec->has_start : !spec->has_end)
				continue;
			add_param(params, &np, TimestampTzGetDatum(k == 0 ? spec->start_ts : spec->end_ts),
					  naive ? TIMESTAMPOID : TIMESTAMPTZOID);
			appendStringInfo(&q, " %s %s OPERATOR(pg_catalog.%s) CAST($%d AS %s)",
							 np == 1 ? "WHERE" : "AND", tsq, k == 0 ? ">=" : "<=", np, tstype);
		}
	}
	params->numParams = np;
	/*
	 * No parameters: NULL, not an empty list.  Citus' executor copies the
	 * list (copyParamList returns NULL for an empty one) and then reads
	 * through the copy: an empty list crashed backtest_run_all on a
	 * distributed table.
	 */
	*params_out = np > 0 ? params : NULL;
	return q.data;
}


/*
 * Put the loaded rows in ts order (stable, so duplicates keep their read
 * order and are then reported by validation).  A no-op when already sorted.
 */
static void
sort_by_ts(LoadReceiver *r)
{
	int64		n = r->n;
	BtpgTsRow  *pairs;
	double	   *tmp;
	int64_t    *tsnew;
	bool		sorted = true;

	for (int64 i = 1; i < n && sorted; i++)
		sorted = r->ts[i - 1] <= r->ts[i];
	if (sorted)
		return;
	if (r->preset)
		load_unpreset(r, n);	/* the columns are swapped around below */
	pairs = r->alloc.realloc_fn(r->alloc.ctx, NULL, sizeof(BtpgTsRow) * n);
	for (int64 i = 0; i < n; i++)
	{
		pairs[i].ts = r->ts[i];
		pairs[i].row = i;
	}
	btpg_sort_ts_rows(pairs, n);
	tmp = r->alloc.realloc_fn(r->alloc.ctx, NULL, sizeof(double) * n);
	for (int c = BTCOL_OPEN; c < BTCOL_COUNT; c++)
	{
		double	   *col = r->col[c];

		if (col == NULL)
			continue;
		for (int64 i = 0; i < n; i++)
			tmp[i] = col[pairs[i].row];
		r->col[c] = tmp;
		tmp = col;				/* the old column is the next scratch */
	}
	tsnew = (int64_t *) tmp;	/* same size as a double */
	for (int64 i = 0; i < n; i++)
		tsnew[i] = pairs[i].ts;
	r->ts = tsnew;
}

static void receiver_init(LoadReceiver *r, const BtpgLoadSpec *spec);

/*
 * The name of spec's source in messages ("relation \"k\"", "the query");
 * an error for a relation that does not exist or an empty query
 */
static const char *
source_name(const BtpgLoadSpec *spec)
{
	if (OidIsValid(spec->relid))
	{
		if (get_rel_name(spec->relid) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", spec->relid)));
		return psprintf("relation \"%s\"", get_rel_name(spec->relid));
	}
	if (spec->query == NULL || spec->query[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query source is empty")));
	return "the query";
}

/*
 * SPI_execute_extended(query, opts) for a receiver with spec->presize or a
 * grouped load (which sizes its arrays by the estimate, load_grow):
 * planned first, so that r->est_rows is the planner's row estimate of the
 * plan for these parameter values when load_startup runs.
 */
static int
execute_estimated(LoadReceiver *r, const char *query, ParamListInfo params,
				  SPIExecuteOptions *opts)
{
	int			nargs = params ? params->numParams : 0;
	Oid		   *argtypes = palloc(sizeof(Oid) * Max(nargs, 1));
	SPIPlanPtr	plan;
	List	   *sources;

	for (int i = 0; i < nargs; i++)
		argtypes[i] = params->params[i].ptype;
	plan = SPI_prepare(query, nargs, argtypes);
	if (plan == NULL)
		return SPI_result;
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) == 1)
	{
		CachedPlan *cplan = GetCachedPlan((CachedPlanSource *) linitial(sources), params,
										  NULL, NULL);
		PlannedStmt *stmt = list_length(cplan->stmt_list) == 1 ?
			linitial_node(PlannedStmt, cplan->stmt_list) : NULL;

		if (stmt && stmt->commandType == CMD_SELECT && stmt->planTree)
			r->est_rows = stmt->planTree->plan_rows;
		ReleaseCachedPlan(cplan, NULL);
	}
	return SPI_execute_plan_extended(plan, opts);
}

/*
 * Run query (with params) into receiver r, which must see exactly one
 * result set; via_index: with enable_seqscan off (btpg_symbol_via_index).
 * Connects to SPI itself.
 */
static void
read_into(LoadReceiver *r, const char *query, ParamListInfo params, bool via_index)
{
	SPIExecuteOptions opts;
	int			rc;
	int			guc_level = 0;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	memset(&opts, 0, sizeof(opts));
	opts.params = params;
	opts.read_only = true;
	opts.dest = (DestReceiver *) r;
	if (via_index)
	{
		/* for this read only: an error restores it with the (sub)transaction */
		guc_level = NewGUCNestLevel();
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (r->spec->presize || r->symbol_fn)
		rc = execute_estimated(r, query, params, &opts);
	else
		rc = SPI_execute_extended(query, &opts);
	if (via_index)
		AtEOXact_GUC(true, guc_level);
	/* our receiver's mydest is DestNone, so SPI says OK_UTILITY for a SELECT */
	if (rc < 0 || r->nstarted != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the query source must be a SELECT returning K-line rows"),
				 errdetail("SPI returned %s.", SPI_result_code_string(rc))));
	SPI_finish();
}

/*
 * btpg_load_series
 *		See core/loader.h.
 */
void
btpg_load_series(const BtpgLoadSpec *spec, BtSeries *out)
{
	LoadReceiver r;
	char	   *query;
	ParamListInfo params = NULL;
	BtError		err;
	bool		via_index = false;

	receiver_init(&r, spec);
	btpg_alloc_init(&r.alloc, CurrentMemoryContext);
	r.source_name = source_name(spec);
	if (OidIsValid(spec->relid))
		query = table_query(spec, r.source_name, &params, false, &via_index);
	else
		query = (char *) spec->query;
	read_into(&r, query, params, via_index);
	if (OidIsValid(spec->relid))
		sort_by_ts(&r);

	*out = btpg_series_of(r.n, r.ts, &r.col[BTCOL_OPEN]);
	if (!bt_validate_series(out, out->volume != NULL, &err))
		btpg_report(&err, out->ts);
	/* "timeframe": the run's bars are the buckets of the bars read */
	if (spec->cols.tf_interval > 0)
		btpg_resample_series(out, spec->cols.tf_interval, spec->cols.tf_origin,
							 spec->cols.tf_zone, NULL);
}

/* Set up a receiver for spec (shared by loading and validation) */
static void
receiver_init(LoadReceiver *r, const BtpgLoadSpec *spec)
{
	memset(r, 0, sizeof(*r));
	r->pub.receiveSlot = load_receive;
	r->pub.rStartup = load_startup;
	r->pub.rShutdown = load_shutdown;
	r->pub.rDestroy = load_destroy;
	r->pub.mydest = DestNone;
	r->spec = spec;
	r->cxt = CurrentMemoryContext;
	for (int c = 0; c < BTCOL_COUNT; c++)
		r->attidx[c] = -1;
}

/*
 * Check that the current user may run `query` (with parameters of the types
 * of `params`), as the executor would when it starts: plan it and run the
 * executor's permission checks on every relation of the plan (columns, views
 * as their owners, sub-queries).  Reads nothing.  Caller has SPI connected.
 */
static void
check_query_privileges(const char *query, ParamListInfo params)
{
	int			nargs = params ? params->numParams : 0;
	Oid		   *argtypes = palloc(sizeof(Oid) * Max(nargs, 1));
	SPIPlanPtr	plan;
	CachedPlan *cplan;
	ListCell   *lc;

	for (int i = 0; i < nargs; i++)
		argtypes[i] = params->params[i].ptype;
	plan = SPI_prepare(query, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	cplan = SPI_plan_get_cached_plan(plan);
	if (cplan == NULL)
		elog(ERROR, "could not plan the source query");
	foreach(lc, cplan->stmt_list)
	{
		PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

		(void) ExecCheckRTPerms(stmt->rtable, true);
	}
	/* an unsaved plan: SPI took the cached plan without a resource owner */
	ReleaseCachedPlan(cplan, NULL);
	SPI_freeplan(plan);
}

/*
 * btpg_validate_source
 *		Check a source without reading it: a table's columns exist with usable
 *		types; a query parses as one SELECT whose result has the columns; and
 *		the current user has the privileges reading it needs (SELECT on the
 *		columns used, and whatever the query touches), so a submission the
 *		worker would refuse fails now.
 *		Used by backtest_submit so bad input fails at submit time.
 */
void
btpg_validate_source(const BtpgLoadSpec *spec)
{
	LoadReceiver r;
	char	   *query;

	receiver_init(&r, spec);
	r.source_name = source_name(spec);
	if (OidIsValid(spec->relid))
	{
		ParamListInfo params;

		query = table_query(spec, r.source_name, &params, spec->grouped, NULL);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		check_query_privileges(query, params);
		SPI_finish();
	}
	else
	{
		SPIPlanPtr	plan;
		List	   *sources;
		CachedPlanSource *ps;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		plan = SPI_prepare(spec->query, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		sources = SPI_plan_get_plan_sources(plan);
		if (list_length(sources) != 1 ||
			(ps = (CachedPlanSource *) linitial(sources))->resultDesc == NULL ||
			ps->commandTag != CMDTAG_SELECT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the query source must be a single SELECT")));
		load_startup((DestReceiver *) &r, CMD_SELECT, ps->resultDesc);
		check_query_privileges(spec->query, NULL);
		SPI_finish();
	}
}

/*
 * btpg_load_grouped
 *		See core/loader.h.  The same reading as btpg_load_series, with the
 *		symbol column handed to symbol_fn; no sorting, no validation.
 */
void
btpg_load_grouped(const BtpgLoadSpec *spec, BtpgSymbolFn symbol_fn, void *arg, BtSeries *out)
{
	LoadReceiver r;
	char	   *query;
	ParamListInfo params = NULL;

	receiver_init(&r, spec);
	btpg_alloc_init(&r.alloc, CurrentMemoryContext);
	r.symbol_fn = symbol_fn;
	r.symbol_arg = arg;
	r.source_name = source_name(spec);
	if (OidIsValid(spec->relid))
		query = table_query(spec, r.source_name, &params, true, NULL);
	else
	{
		if (spec->cols.name[BTCOL_SYMBOL] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the query source needs a symbol column"),
					 errhint("Name it with \"columns\": {\"symbol\": \"...\"}, or use backtest_run_query for one series.")));
		query = (char *) spec->query;
	}
	read_into(&r, query, params, false);

	*out = btpg_series_of(r.n, r.ts, &r.col[BTCOL_OPEN]);
}

/*
 * btpg_series_of
 *		See core/loader.h.
 */
BtSeries
btpg_series_of(int64 n, const int64_t *ts, double *const *col)
{
	BtSeries	s;

	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = ts;
	s.open = col[0];
	s.high = col[1];
	s.low = col[2];
	s.close = col[3];
	s.volume = col[4];
	s.signal = col[5];
	return s;
}

/*
 * btpg_datum_to_double, btpg_datum_to_tstz
 *		The loader's conversions of a price/volume/signal value and of a
 *		timestamp value (of a type check_column_type accepts), for rows read
 *		outside the loader (live streams' transition tables).
 */
double
btpg_datum_to_double(Datum d, Oid typid)
{
	return datum_to_double(d, typid);
}

TimestampTz
btpg_datum_to_tstz(Datum d, Oid typid)
{
	return datum_to_tstz(d, typid);
}

/* Whether typid may be the type of column c of a source (check_column_type) */
bool
btpg_column_type_ok(BtpgColumn c, Oid typid)
{
	if (c == BTCOL_SYMBOL)
		return true;
	return c == BTCOL_TS ? ts_type_ok(typid) : numeric_type_ok(typid);
}
