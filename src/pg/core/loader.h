/*-------------------------------------------------------------------------
 *
 * loader.h
 *	  Reading K-lines through SPI into columnar arrays: one symbol
 *	  (loader.c) or many, grouped by symbol (grouped reads).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/loader.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_LOADER_H
#define BTPG_CORE_LOADER_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/timestamp.h"

#include "bt_engine.h"
#include "core/columns.h"

/*
 * Where btpg_load_series may put the rows, asked once the result's columns
 * are known and before the first row (spec->presize): est_rows is the
 * planner's estimate of the rows, present[c] whether column c (BTCOL_TS ..
 * BTCOL_SIGNAL) is read.  Returns false to load into backend memory as
 * usual, or true after setting *cap (rows the arrays hold), *ts and col[c]
 * for every present column c >= BTCOL_OPEN.  The loader writes the rows
 * there as long as they fit; if they do not (or must be sorted) it moves
 * them to backend memory and goes on there, so the caller must compare the
 * series' pointers with its arrays.
 */
typedef bool (*BtpgPresizeFn) (void *arg, double est_rows, const bool *present,
							   int64 *cap, int64_t **ts, double **col);

typedef struct BtpgLoadSpec
{
	Oid			relid;			/* table/view source, or InvalidOid */
	const char *query;			/* query source when relid is invalid */
	const char *symbol;			/* filter; NULL = no filter */
	bool		has_start;
	TimestampTz start_ts;		/* inclusive */
	bool		has_end;
	TimestampTz end_ts;			/* inclusive */
	BtpgColumns	cols;
	bool		need_volume;
	bool		need_signal;
	/* grouped loads (btpg_load_grouped) only */
	bool		grouped;		/* btpg_validate_source: check the symbol column too */
	bool		has_symbols;
	Datum		symbols;		/* text[]: read only these symbols */
	/* btpg_load_series only: the caller's arrays for the rows (may be NULL) */
	BtpgPresizeFn presize;
	void	   *presize_arg;
} BtpgLoadSpec;

/*
 * Called by btpg_load_grouped for each row, before its other columns are
 * converted, with the value of the symbol column (of type typid).
 */
typedef void (*BtpgSymbolFn) (void *arg, int64 row, Datum symbol, bool isnull, Oid typid);

/*
 * Read the bars into columnar arrays allocated in CurrentMemoryContext and
 * validate them (bt_validate_series): NULL/NaN/inf prices, high < low,
 * unsorted or duplicate timestamps are errors naming the timestamp.  Reads
 * through SPI, so the caller's privileges and row-level security apply.  A
 * table source is read with one query ordered by ts (an index on
 * (symbol, ts) serves it); a query source must return its rows in ts order.
 */
extern void btpg_load_series(const BtpgLoadSpec *spec, BtSeries *out);

/*
 * Read the bars of many symbols: like btpg_load_series, but the symbol
 * column (spec->cols, required) is read too and handed to symbol_fn row by
 * row, a table source is filtered by spec->symbols when has_symbols, and the
 * rows are neither sorted nor validated (the caller groups them by symbol
 * and validates each group).  A table source is read without ORDER BY.
 */
extern void btpg_load_grouped(const BtpgLoadSpec *spec, BtpgSymbolFn symbol_fn, void *arg,
							  BtSeries *out);

/*
 * A series of n bars over columnar arrays: timestamps ts (engine usecs) and
 * col[0..5] = open, high, low, close, volume, signal (the order of
 * BTCOL_OPEN..BTCOL_SIGNAL; volume and signal may be NULL).  Copies nothing.
 */
extern BtSeries btpg_series_of(int64 n, const int64_t *ts, double *const *col);

/* The loader's conversions (loader.c), for rows read elsewhere (live streams) */
extern double btpg_datum_to_double(Datum d, Oid typid);
extern TimestampTz btpg_datum_to_tstz(Datum d, Oid typid);
extern bool btpg_column_type_ok(BtpgColumn c, Oid typid);

/* Check a source's columns (and a query's syntax) without reading rows */
extern void btpg_validate_source(const BtpgLoadSpec *spec);

/* ---- a call's arguments (load_args.c) ------------------------------------ */

/* The time range of two timestamptz arguments (check: start after end is an error) */
extern void btpg_args_time_range(FunctionCallInfo fcinfo, int start_arg, int end_arg, bool check,
								 BtpgLoadSpec *spec);
/* A table source: argument 0, the symbol and the checked time range */
extern void btpg_args_table_source(FunctionCallInfo fcinfo, int symbol_arg, int start_arg,
								   int end_arg, BtpgLoadSpec *spec);
/* Error unless argument 0 (the source) is given */
extern void btpg_args_require_source(FunctionCallInfo fcinfo);
/* The strategy of argument argno, or an error (NULL, unknown) */
extern const BtStrategyDef *btpg_args_strategy(FunctionCallInfo fcinfo, int argno);

/* ---- multi-symbol reads (grouped.c) ---------------------------------------- */

/* One symbol's bars in a series ordered by (symbol, ts) */
typedef struct BtpgSymGroup
{
	const char *name;
	int64		from;
	int64		n;
} BtpgSymGroup;

/*
 * Read a multi-symbol source and order its rows by (symbol, ts) into *s (in
 * seriescxt); one group per symbol in strcmp order; returns their number.
 */
extern int32 btpg_read_grouped(const BtpgLoadSpec *spec, const char *fname,
							   MemoryContext seriescxt, BtSeries *s, BtpgSymGroup **groups);
/* (ts, row) pairs: rows to put in time order */
typedef struct BtpgTsRow
{
	int64_t		ts;
	int64		row;
} BtpgTsRow;
/* Sort n pairs by ts, ties by row (so stable in row order) */
extern void btpg_sort_ts_rows(BtpgTsRow *pairs, size_t n);
/* Bars from..from+n-1 of s */
extern BtSeries btpg_series_slice(const BtSeries *s, int64 from, int64 n);
/* Symbols one NOTICE names at most */
#define BTPG_NOTICE_SYMBOLS	10
/* Append a quoted symbol to a NOTICE's list of at most BTPG_NOTICE_SYMBOLS */
extern void btpg_list_symbol(StringInfo buf, int64 *count, const char *name);
/* A text[] of symbols as sorted distinct C strings (*n); a NULL element is an error */
extern char **btpg_symbols_arg(ArrayType *arr, int *n);

#endif							/* BTPG_CORE_LOADER_H */
