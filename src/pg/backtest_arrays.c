/*-------------------------------------------------------------------------
 *
 * backtest_arrays.c
 *	  backtest_arrays(), an IMMUTABLE, PARALLEL SAFE backtest over arrays
 *	  (what lets a distributed planner push a backtest down to the node
 *	  that holds the symbol), and btpg_run_arrays, its core, which the
 *	  backtest() aggregate's final function (aggregate.c) also runs.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/backtest_arrays.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "backtest_arrays.h"
#include "core/arrays.h"
#include "core/columns.h"
#include "core/errors.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/params.h"
#include "core/results.h"
#include "core/timestamps.h"
#include "resample.h"

PG_FUNCTION_INFO_V1(backtest_arrays);

/* btpg_run_arrays: see backtest_arrays.h */
Datum
btpg_run_arrays(FunctionCallInfo fcinfo, int64 n, int64_t *ts, double **col, bool has_signal,
				const char *strategy, Jsonb *params, const BtAlloc *engine_alloc)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest run",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	const BtStrategyDef *st = btpg_lookup_strategy(strategy);
	BtConfig	cfg;
	BtpgColumns	cols;
	BtSeries	s;
	BtResult	res;
	BtError		err;
	Datum		d;

	btpg_parse_backtest_params(params, st, &cfg, &cols);
	if (st->needs_signal && !has_signal)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy \"signal\" needs a signal argument"),
				 errhint("Use backtest(ts, open, high, low, close, volume, signal, 'signal', params).")));
	s = btpg_series_of(n, ts, col);
	if (!has_signal)
		s.signal = NULL;
	if (!bt_validate_series(&s, st->needs_volume, &err))
		btpg_report(&err, s.ts);
	/* "timeframe": the group's bars resampled, as the loader does (resample.c) */
	if (cols.tf_interval > 0)
		btpg_resample_series(&s, cols.tf_interval, cols.tf_origin, cols.tf_zone, NULL);
	btpg_run_engine_with(&s, &cfg, engine_alloc, false, &res);
	MemoryContextSwitchTo(old);
	d = btpg_metrics_datum(fcinfo, &res.metrics);
	MemoryContextDelete(cxt);
	return d;
}

/* Deconstruct a float8[] argument into a fresh double array of length n */
static double *
float8_array(FunctionCallInfo fcinfo, int argno, const char *name, int64 *n)
{
	bool	   *nulls;
	int			nelems;
	char	   *what = psprintf("array \"%s\"", name);
	double	   *out = btpg_float8_array_arg(fcinfo, argno, what, &nelems, &nulls);

	if (*n >= 0 && nelems != *n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array \"%s\" has %d elements but \"ts\" has %lld", name, nelems,
						(long long) *n)));
	pfree(what);
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i] && strcmp(name, "signal") != 0 && strcmp(name, "volume") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array \"%s\" has a NULL at position %d", name, i + 1)));
		if (!nulls[i] && isnan(out[i]) && strcmp(name, "signal") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("array \"signal\" has NaN at position %d", i + 1),
					 errhint("A signal must be between -1 and 1, or NULL (NULL keeps the current position).")));
	}
	*n = nelems;
	return out;
}

/*
 * backtest_arrays(ts timestamptz[], open, high, low, close, volume float8[],
 *				   strategy text, params jsonb [, signal float8[]])
 *		A backtest over arrays (same length, ts ascending).
 */
Datum
backtest_arrays(PG_FUNCTION_ARGS)
{
	ArrayType  *tsarr;
	Datum	   *elems;
	bool	   *nulls;
	int			nts;
	int64		n;
	int64_t    *ts;
	double	   *col[6] = {0};
	static const char *const names[] = {"open", "high", "low", "close", "volume", "signal"};
	bool		has_signal = PG_NARGS() > 8 && !PG_ARGISNULL(8);

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array \"ts\" must not be NULL")));
	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the strategy must not be NULL")));
	tsarr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(tsarr, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nts);
	ts = palloc(sizeof(int64_t) * (nts > 0 ? nts : 1));
	for (int i = 0; i < nts; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array \"ts\" has a NULL at position %d", i + 1)));
		if (TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(elems[i])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("array \"ts\" has an infinite timestamp at position %d", i + 1)));
		ts[i] = btpg_ts_to_engine(DatumGetTimestampTz(elems[i]));
	}
	for (int c = 0; c < 5; c++)
	{
		n = nts;
		col[c] = float8_array(fcinfo, c + 1, names[c], &n);
	}
	if (has_signal)
	{
		n = nts;
		col[5] = float8_array(fcinfo, 8, names[5], &n);
	}
	return btpg_run_arrays(fcinfo, nts, ts, col, has_signal,
						   text_to_cstring(PG_GETARG_TEXT_PP(6)),
						   PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7), NULL);
}
