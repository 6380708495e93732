/*-------------------------------------------------------------------------
 *
 * pg_backtest.h
 *	  Declarations shared by the PostgreSQL glue of pg_backtest: parameter
 *	  parsing (jsonb), loading K-lines through SPI into columnar arrays, and
 *	  turning engine errors into ereport.
 *
 * Only files under src/pg include PostgreSQL headers; the engine
 * (src/engine) never does.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/pg_backtest.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_BACKTEST_H
#define PG_BACKTEST_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "bt_engine.h"

/* Unix epoch minus PostgreSQL epoch, in microseconds */
#define BTPG_EPOCH_SHIFT \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static inline int64_t
btpg_ts_to_engine(TimestampTz t)
{
	return (int64_t) t + BTPG_EPOCH_SHIFT;
}

static inline TimestampTz
btpg_ts_from_engine(int64_t t)
{
	return (TimestampTz) (t - BTPG_EPOCH_SHIFT);
}

/* ---- memory ------------------------------------------------------------ */

/* A BtAlloc that pallocs (huge allowed) in the given memory context */
extern void btpg_alloc_init(BtAlloc *a, MemoryContext cxt);

/* Free one allocation of such an allocator early (NULL is a no-op) */
extern void btpg_alloc_free(BtAlloc *a, void *ptr);

/* pg_backtest.max_memory, in kB (bigalloc.c) */
extern int	btpg_max_memory_kb;
extern void btpg_memory_define_gucs(void);

/* Bytes the big arrays of this backend's backtests take now (bigalloc.c) */
extern size_t btpg_memory_in_use(void);

/*
 * ERROR (PROGRAM_LIMIT_EXCEEDED, naming pg_backtest.max_memory) unless
 * used + more bytes fit within the limit; what names what would take them
 * (a sentence subject: "Reading relation \"k\" (...)").
 */
extern void btpg_memory_limit_check(size_t used, size_t more, const char *what);

/* ---- errors ------------------------------------------------------------ */

/*
 * Report an engine error with ereport(ERROR).  For BT_ERR_DATA the bar's
 * timestamp (ts[err->bar], engine epoch) is named in the message.
 */
extern void btpg_report(const BtError *err, const int64_t *ts) pg_attribute_noreturn();
/* ERROR for a NaN signal on the bar at t (NULL, not NaN, means "keep"; run.c) */
extern void btpg_signal_nan_error(TimestampTz t) pg_attribute_noreturn();

/* ---- column mapping ---------------------------------------------------- */

typedef enum BtColumn
{
	BTCOL_SYMBOL = 0,
	BTCOL_TS,
	BTCOL_OPEN,
	BTCOL_HIGH,
	BTCOL_LOW,
	BTCOL_CLOSE,
	BTCOL_VOLUME,
	BTCOL_SIGNAL,
	BTCOL_COUNT
} BtColumn;

extern const char *const btpg_column_keys[BTCOL_COUNT];

/* Column names of a source; NULL = the column is not used */
typedef struct BtColumns
{
	const char *name[BTCOL_COUNT];
} BtColumns;

/* Defaults: symbol, ts, open, high, low, close, volume, signal */
extern void btpg_columns_defaults(BtColumns *cols);

/*
 * Parse a "columns" jsonb object into cols: keys are btpg_column_keys, values
 * strings (or null for volume/symbol: "not present").  Unknown keys and wrong
 * types are errors naming the key.
 */
extern void btpg_parse_columns(JsonbValue *obj, BtColumns *cols);

/* ---- parameters -------------------------------------------------------- */

/*
 * Convert one jsonb value to a double for a parameter definition: checks the
 * jsonb type (number, integer, boolean, string for enums) and the bounds.
 * `what` names the context in messages, e.g. "strategy \"sma_cross\"".
 */
/* Index of a jsonb string among an enum parameter's choices (-1: none); lists them */
extern int	btpg_param_choice(const BtParamDef *def, JsonbValue *v, StringInfo choices);

extern double btpg_param_value(const BtParamDef *def, JsonbValue *v, const char *what);

/*
 * Parse a backtest's params jsonb (may be NULL = '{}') for a strategy: its
 * own parameters, the simulator's, and "columns".  Errors name the key and
 * hint at the valid ones.  Runs bt_config_check.
 */
extern void btpg_parse_backtest_params(Jsonb *params, const BtStrategyDef *strategy,
									   BtConfig *cfg, BtColumns *cols);

/*
 * The same, for sweeps: parameters flagged in swept (parameter-space index,
 * see bt_sweep.h) may not appear in params, and the configuration is
 * checked only when check is true.
 */
extern void btpg_parse_params_ex(Jsonb *params, const BtStrategyDef *strategy, const bool *swept,
								 bool check, BtConfig *cfg, BtColumns *cols);

/*
 * Per-symbol parameters: any parameter may be a jsonb object mapping symbols
 * to values, "*" for the others (unlisted without "*": the parameter's
 * default), e.g. "lot_size": {"0700.HK": 100, "*": 1}.  Each value is
 * checked like a scalar; errors name the parameter and the symbol.
 */
typedef struct BtpgParamMaps BtpgParamMaps;

/*
 * btpg_parse_params_ex for a call that knows its symbol: maps resolve to
 * sym's values (sym NULL = no symbol: a map is an error, as in
 * btpg_parse_params_ex and btpg_parse_backtest_params).
 */
extern void btpg_parse_params_symbol(Jsonb *params, const BtStrategyDef *strategy,
									 const bool *swept, bool check, const char *sym,
									 BtConfig *cfg, BtColumns *cols);

/*
 * For calls over many symbols: parse params once, keeping the maps (*maps
 * is NULL when there are none; mapped parameters keep their defaults in
 * cfg); then btpg_params_for_symbol gives and checks each symbol's
 * configuration.  Allocates in CurrentMemoryContext.
 */
extern void btpg_parse_params_maps(Jsonb *params, const BtStrategyDef *strategy,
								   BtConfig *cfg, BtColumns *cols, BtpgParamMaps **maps);
extern void btpg_params_for_symbol(const BtpgParamMaps *maps, const BtConfig *base,
								   const char *sym, BtConfig *cfg);

/* Look up a strategy by name or ereport (hint lists the valid names) */
extern const BtStrategyDef *btpg_lookup_strategy(const char *name);

/* ---- loading ----------------------------------------------------------- */

typedef struct BtLoadSpec
{
	Oid			relid;			/* table/view source, or InvalidOid */
	const char *query;			/* query source when relid is invalid */
	const char *symbol;			/* filter; NULL = no filter */
	bool		has_start;
	TimestampTz start_ts;		/* inclusive */
	bool		has_end;
	TimestampTz end_ts;			/* inclusive */
	BtColumns	cols;
	bool		need_volume;
	bool		need_signal;
	/* grouped loads (btpg_load_grouped) only */
	bool		grouped;		/* btpg_validate_source: check the symbol column too */
	bool		has_symbols;
	Datum		symbols;		/* text[]: read only these symbols */
} BtLoadSpec;

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
extern void btpg_load_series(const BtLoadSpec *spec, BtSeries *out);

/*
 * Read the bars of many symbols: like btpg_load_series, but the symbol
 * column (spec->cols, required) is read too and handed to symbol_fn row by
 * row, a table source is filtered by spec->symbols when has_symbols, and the
 * rows are neither sorted nor validated (the caller groups them by symbol
 * and validates each group).  A table source is read without ORDER BY.
 */
extern void btpg_load_grouped(const BtLoadSpec *spec, BtpgSymbolFn symbol_fn, void *arg,
							  BtSeries *out);

/* Check a source's columns (and a query's syntax) without reading rows */
extern void btpg_validate_source(const BtLoadSpec *spec);

/* ---- multi-symbol reads (run_all.c) --------------------------------------- */

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
extern int32 btpg_read_grouped(const BtLoadSpec *spec, const char *fname,
							   MemoryContext seriescxt, BtSeries *s, BtpgSymGroup **groups);
/* Bars from..from+n-1 of s */
extern BtSeries btpg_series_slice(const BtSeries *s, int64 from, int64 n);
/* A text[] of symbols as sorted distinct C strings (*n); a NULL element is an error */
extern char **btpg_symbols_arg(ArrayType *arr, int *n);

#endif							/* PG_BACKTEST_H */
