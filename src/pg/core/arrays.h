/*-------------------------------------------------------------------------
 *
 * arrays.h
 *	  SQL array arguments read into C arrays (arrays.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/arrays.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTPG_CORE_ARRAYS_H
#define BTPG_CORE_ARRAYS_H

#include "postgres.h"

#include "fmgr.h"

/*
 * Argument argno, a float8[], as a palloc'd array of *n doubles (NULL
 * elements are NaN; *nulls, if not NULL, receives which ones were NULL).
 * ERROR if the argument is NULL or has more than one dimension; what names
 * it in those messages ("array \"open\"": "array \"open\" must not be NULL").
 */
extern double *btpg_float8_array_arg(FunctionCallInfo fcinfo, int argno, const char *what,
									 int *n, bool **nulls);

#endif							/* BTPG_CORE_ARRAYS_H */
