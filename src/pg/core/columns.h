/*-------------------------------------------------------------------------
 *
 * columns.h
 *	  The mapping of a source's columns (symbol, ts, open, ... signal) and its
 *	  "columns" jsonb parameter (params.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/columns.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_COLUMNS_H
#define BTPG_CORE_COLUMNS_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef enum BtpgColumn
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
} BtpgColumn;

extern const char *const btpg_column_keys[BTCOL_COUNT];

/* Column names of a source; NULL = the column is not used */
typedef struct BtpgColumns
{
	const char *name[BTCOL_COUNT];
	/*
	 * "timeframe": resample the bars read into buckets of tf_interval usecs
	 * (0 = no resampling) from tf_origin (engine usecs, a wall-clock time in
	 * tf_zone; tf_zone NULL = UTC) before the run (resample.c)
	 */
	int64		tf_interval;
	int64		tf_origin;
	const char *tf_zone;
} BtpgColumns;

/* Defaults: symbol, ts, open, high, low, close, volume, signal; no timeframe */
extern void btpg_columns_defaults(BtpgColumns *cols);

/*
 * Parse a "columns" jsonb object into cols: keys are btpg_column_keys, values
 * strings (or null for volume/symbol: "not present").  Unknown keys and wrong
 * types are errors naming the key.
 */
extern void btpg_parse_columns(JsonbValue *obj, BtpgColumns *cols);

#endif							/* BTPG_CORE_COLUMNS_H */
