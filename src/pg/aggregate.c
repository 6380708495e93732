/*-------------------------------------------------------------------------
 *
 * aggregate.c
 *	  The aggregate form of a backtest, so it composes with GROUP BY:
 *
 *	  SELECT symbol, (backtest(ts, open, high, low, close, volume,
 *							   'sma_cross', '{}' ORDER BY ts)).*
 *	  FROM klines GROUP BY symbol;
 *
 *	  and its core, backtest_arrays(), an IMMUTABLE, PARALLEL SAFE function
 *	  over arrays (what lets a distributed planner push a backtest down to
 *	  the node that holds the symbol).
 *
 * The aggregate state collects the bars in columnar arrays in the
 * aggregate's memory context; the final function runs the engine in a
 * child context that it deletes, and never modifies the state.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/aggregate.c
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
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pg_backtest.h"
#include "run.h"

PG_FUNCTION_INFO_V1(backtest_agg_sfunc);
PG_FUNCTION_INFO_V1(backtest_agg_final);
PG_FUNCTION_INFO_V1(backtest_arrays);

/* The aggregate's transition state */
typedef struct AggState
{
	int64		n;
	int64		cap;
	int64_t    *ts;
	double	   *col[6];			/* open, high, low, close, volume, signal */
	bool		has_signal;
	char	   *strategy;
	Jsonb	   *params;
} AggState;

/* Run a backtest on columnar arrays and return the metrics row */
static Datum
run_arrays(FunctionCallInfo fcinfo, int64 n, int64_t *ts, double **col, bool has_signal,
		   const char *strategy, Jsonb *params)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_backtest run",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	const BtStrategyDef *st = btpg_lookup_strategy(strategy);
	BtConfig	cfg;
	BtColumns	cols;
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
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = ts;
	s.open = col[0];
	s.high = col[1];
	s.low = col[2];
	s.close = col[3];
	s.volume = col[4];
	s.signal = has_signal ? col[5] : NULL;
	if (!bt_validate_series(&s, st->needs_volume, &err))
		btpg_report(&err, s.ts);
	btpg_run_engine(&s, &cfg, &res);
	MemoryContextSwitchTo(old);
	d = btpg_metrics_datum(fcinfo, &res.metrics);
	MemoryContextDelete(cxt);
	return d;
}

/*
 * backtest_agg_sfunc(state, ts, open, high, low, close, volume, [signal,]
 *					  strategy, params)
 *		Append one bar.  NULL prices are an error naming the bar (a NULL
 *		signal means "keep").
 */
Datum
backtest_agg_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	AggState   *st;
	bool		with_signal = PG_NARGS() == 10;
	int			sarg = with_signal ? 8 : 7;
	int64		i;
	TimestampTz t;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "backtest_agg_sfunc called in non-aggregate context");

	if (PG_ARGISNULL(0))
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		st = palloc0(sizeof(AggState));
		st->has_signal = with_signal;
		if (PG_ARGISNULL(sarg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the strategy must not be NULL")));
		st->strategy = text_to_cstring(PG_GETARG_TEXT_PP(sarg));
		/* fail fast on an unknown strategy, before reading every row */
		(void) btpg_lookup_strategy(st->strategy);
		st->params = PG_ARGISNULL(sarg + 1) ? NULL :
			(Jsonb *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(sarg + 1));
		MemoryContextSwitchTo(old);
	}
	else
		st = (AggState *) PG_GETARG_POINTER(0);

	if (st->n == st->cap)
	{
		int64		cap = st->cap ? st->cap * 2 : 1024;

		if (st->ts == NULL)
		{
			st->ts = MemoryContextAllocHuge(aggcxt, cap * sizeof(int64_t));
			for (int c = 0; c < 6; c++)
				st->col[c] = MemoryContextAllocHuge(aggcxt, cap * sizeof(double));
		}
		else
		{
			st->ts = repalloc_huge(st->ts, cap * sizeof(int64_t));
			for (int c = 0; c < 6; c++)
				st->col[c] = repalloc_huge(st->col[c], cap * sizeof(double));
		}
		st->cap = cap;
	}
	i = st->n;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backtest() got a NULL timestamp")));
	t = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("backtest() got an infinite timestamp")));
	st->ts[i] = btpg_ts_to_engine(t);
	for (int c = 0; c < (with_signal ? 6 : 5); c++)
	{
		static const char *const names[] = {"open", "high", "low", "close", "volume", "signal"};

		if (PG_ARGISNULL(c + 2))
		{
			if (c >= 4)
			{
				/* NULL volume: only an error for strategies that read volume */
				st->col[c][i] = NAN;
				continue;
			}
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("invalid bar at %s: %s is NULL", timestamptz_to_str(t), names[c])));
		}
		st->col[c][i] = PG_GETARG_FLOAT8(c + 2);
		if (c == 5 && isnan(st->col[c][i]))
			btpg_signal_nan_error(t);	/* NaN is not NULL ("keep") */
	}
	st->n++;
	PG_RETURN_POINTER(st);
}

/*
 * backtest_agg_final(state)
 *		Run the backtest on the collected bars.  Does not modify the state.
 */
Datum
backtest_agg_final(PG_FUNCTION_ARGS)
{
	AggState   *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();		/* no rows */
	st = (AggState *) PG_GETARG_POINTER(0);
	return run_arrays(fcinfo, st->n, st->ts, st->col, st->has_signal, st->strategy, st->params);
}

/* Deconstruct a float8[] argument into a fresh double array of length n */
static double *
float8_array(FunctionCallInfo fcinfo, int argno, const char *name, int64 *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	double	   *out;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array \"%s\" must not be NULL", name)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array \"%s\" must be one-dimensional", name)));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nelems);
	if (*n >= 0 && nelems != *n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array \"%s\" has %d elements but \"ts\" has %lld", name, nelems,
						(long long) *n)));
	out = palloc(sizeof(double) * (nelems > 0 ? nelems : 1));
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i] && strcmp(name, "signal") != 0 && strcmp(name, "volume") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array \"%s\" has a NULL at position %d", name, i + 1)));
		out[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
		if (!nulls[i] && isnan(out[i]) && strcmp(name, "signal") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("array \"signal\" has NaN at position %d", i + 1),
					 errhint("A signal must be -1, 0, 1 or NULL (NULL keeps the current position).")));
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
	return run_arrays(fcinfo, nts, ts, col, has_signal,
					  text_to_cstring(PG_GETARG_TEXT_PP(6)),
					  PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7));
}
