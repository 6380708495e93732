/*-------------------------------------------------------------------------
 *
 * arrays.c
 *	  SQL array arguments read into C arrays.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/core/arrays.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "core/arrays.h"

/*
 * btpg_float8_array_arg
 *		See arrays.h.
 */
double *
btpg_float8_array_arg(FunctionCallInfo fcinfo, int argno, const char *what, int *n,
					  bool **nulls)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *isnull;
	double	   *out;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be one-dimensional", what)));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &isnull, n);
	out = palloc(sizeof(double) * (*n > 0 ? *n : 1));
	for (int i = 0; i < *n; i++)
		out[i] = isnull[i] ? NAN : DatumGetFloat8(elems[i]);
	if (nulls)
		*nulls = isnull;
	return out;
}
