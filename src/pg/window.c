/*-------------------------------------------------------------------------
 *
 * window.c
 *	  Window-function forms of the indicators (bt_sma(close, 20) OVER w ...)
 *	  and bt_cross(), so that signals can be written in plain SQL.
 *
 * Semantics, shared by every function here:
 *
 * - The window's ORDER BY defines time and PARTITION BY separates series.
 *   The frame clause is ignored: indicators are causal, so the value on row
 *   r depends on rows 1..r of the partition (in window order) only.
 * - On the first call in a partition the whole partition's arguments are
 *   read once, the indicator is computed over the partition by the engine
 *   (through the registry, bt_find_indicator), and the output column is kept
 *   in partition-local memory; every row then just returns its element.  A
 *   partition costs O(n), not O(n * period).
 * - Parameters (periods, k) are read from the current row; they must be the
 *   same on every row of a partition and within their registry bounds.
 * - NULL, NaN or infinite prices, and high below low, are errors naming the
 *   row of the partition: a silently wrong number is worse than an error.
 *   bt_cross() is the exception: NULL (or NaN) rows give 0 there, because
 *   its inputs are usually indicator columns that are NULL while warming up.
 * - Undefined outputs (warm-up rows, NaN from the engine) are SQL NULL.
 *
 * The C symbols carry a "_window" suffix because the SQL names (bt_sma ...)
 * are taken by the engine's own C functions.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/window.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "windowapi.h"

#include "bt_engine.h"

/* Series arguments are mapped to the engine's inputs in this order */
static const BtInput series_order[] = {BT_IN_HIGH, BT_IN_LOW, BT_IN_CLOSE, BT_IN_VOLUME};

#define BT_WIN_MAX_SERIES	4

/* Rows read between two resets of the argument-evaluation context */
#define BT_WIN_RESET_ROWS	1024

/*
 * Per-call-site cache (fn_extra, in fn_mcxt): the resolved indicator and the
 * SQL types of the parameter arguments.  def is NULL for bt_cross.
 */
typedef struct BtpgWinFunc
{
	const BtIndicatorDef *def;
	int			output;
	int			nseries;
	int			nparams;
	Oid			paramtypes[BT_IND_MAX_PARAMS];
} BtpgWinFunc;

/*
 * Partition-local state (WinGetPartitionLocalMemory: zeroed on the first
 * call of each partition, freed with the partition).  values == NULL until
 * the partition has been computed.
 */
typedef struct BtpgWinState
{
	int64		nrows;
	double		params[BT_IND_MAX_PARAMS];
	double	   *values;			/* nrows elements; NaN = NULL */
} BtpgWinState;

/*
 * window_fname
 *		The SQL name of the called function, for messages (error paths only).
 */
static char *
window_fname(FunctionCallInfo fcinfo)
{
	char	   *name = get_func_name(fcinfo->flinfo->fn_oid);

	return name ? name : "window function";
}

/*
 * window_argname
 *		The declared name of argument argno (0-based) of the called function,
 *		or "$n" when it has none.  Used on error paths only.
 */
static char *
window_argname(FunctionCallInfo fcinfo, int argno)
{
	HeapTuple	tup;
	char	   *result = NULL;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (HeapTupleIsValid(tup))
	{
		Oid		   *types;
		char	  **names;
		char	   *modes;
		int			nargs;

		nargs = get_func_arg_info(tup, &types, &names, &modes);
		if (names != NULL && argno < nargs && names[argno][0] != '\0')
			result = pstrdup(names[argno]);
		ReleaseSysCache(tup);
	}
	return result ? result : psprintf("$%d", argno + 1);
}

/*
 * window_func_setup
 *		Resolve the indicator and check that the SQL declaration matches the
 *		registry (argument counts and types).  Mismatches are bugs in the
 *		install script, hence elog.
 */
static BtpgWinFunc *
window_func_setup(FunctionCallInfo fcinfo, const char *indicator, int output,
				  int nseries)
{
	BtpgWinFunc  *f = (BtpgWinFunc *) fcinfo->flinfo->fn_extra;

	if (f != NULL)
		return f;

	f = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BtpgWinFunc));
	f->output = output;
	f->nseries = nseries;
	f->nparams = PG_NARGS() - nseries;

	if (strcmp(indicator, "cross") == 0)
	{
		if (nseries != 2 || f->nparams != 0)
			elog(ERROR, "bt_cross must be declared with two arguments");
	}
	else
	{
		int			ninputs = 0;

		f->def = bt_find_indicator(indicator);
		if (f->def == NULL)
			elog(ERROR, "indicator \"%s\" is not in the registry", indicator);
		for (int i = 0; i < lengthof(series_order); i++)
			if (f->def->inputs & series_order[i])
				ninputs++;
		if (ninputs != nseries || f->nparams != f->def->nparams ||
			output < 0 || output >= f->def->noutputs)
			elog(ERROR, "SQL declaration of %s does not match indicator \"%s\"",
				 window_fname(fcinfo), indicator);
	}

	for (int i = 0; i < f->nparams; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, nseries + i);

		if (t != INT4OID && t != FLOAT8OID)
			elog(ERROR, "unexpected type %u of argument %d of %s",
				 t, nseries + i + 1, window_fname(fcinfo));
		f->paramtypes[i] = t;
	}

	fcinfo->flinfo->fn_extra = f;
	return f;
}

/*
 * window_check_param
 *		ereport unless v is within the bounds of the registry's definition.
 */
static void
window_check_param(FunctionCallInfo fcinfo, int argno, const BtParamDef *def,
				   double v)
{
	bool		ok = isfinite(v);

	if (ok && def->type == BT_PARAM_INT && v != floor(v))
		ok = false;
	if (ok && (def->min_exclusive ? v <= def->min : v < def->min))
		ok = false;
	if (ok && v > def->max)
		ok = false;

	if (!ok)
	{
		char	   *range;

		if (def->type == BT_PARAM_INT)
			range = pstrdup("an integer ");
		else
			range = pstrdup("a number ");
		if (def->max >= 1e300)
			range = psprintf("%s%s %g", range,
							 def->min_exclusive ? "greater than" : "of at least",
							 def->min);
		else if (def->min_exclusive)
			range = psprintf("%sgreater than %g and at most %g", range,
							 def->min, def->max);
		else
			range = psprintf("%sbetween %g and %g", range, def->min, def->max);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value %g for argument \"%s\" of %s",
						v, window_argname(fcinfo, argno), window_fname(fcinfo)),
				 errdetail("The value must be %s.", range)));
	}
}

/*
 * window_read_params
 *		Read the parameter arguments of the current row into p[], rejecting
 *		NULLs and (when def is given) out-of-range values.
 */
static void
window_read_params(FunctionCallInfo fcinfo, WindowObject winobj,
				   const BtpgWinFunc *f, double *p)
{
	for (int i = 0; i < f->nparams; i++)
	{
		int			argno = f->nseries + i;
		bool		isnull;
		Datum		d = WinGetFuncArgCurrent(winobj, argno, &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" of %s must not be null",
							window_argname(fcinfo, argno), window_fname(fcinfo))));
		if (f->paramtypes[i] == INT4OID)
			p[i] = (double) DatumGetInt32(d);
		else
			p[i] = DatumGetFloat8(d);
		if (f->def != NULL)
			window_check_param(fcinfo, argno, &f->def->params[i], p[i]);
	}
}

/*
 * window_read_series
 *		Read series argument argno on every row of the partition into x[].
 *		With allow_null, NULL and NaN become NaN; otherwise NULL and
 *		non-finite values are errors naming the (1-based) row.
 *
 * Argument expressions may allocate (a numeric column cast to float8, say);
 * they are evaluated in a scratch context reset every BT_WIN_RESET_ROWS rows
 * so that a long partition does not pile that garbage up.  float8 is
 * pass-by-value, so the values survive the reset.
 */
static void
window_read_series(FunctionCallInfo fcinfo, WindowObject winobj, int argno,
				   int64 nrows, bool allow_null, double *x)
{
	MemoryContext scratch;
	MemoryContext old;

	scratch = AllocSetContextCreate(CurrentMemoryContext,
									"bt window arguments",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(scratch);

	for (int64 r = 0; r < nrows; r++)
	{
		bool		isnull;
		bool		isout;
		Datum		d;
		double		v;

		if (r % BT_WIN_RESET_ROWS == 0)
		{
			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(scratch);
		}

		d = WinGetFuncArgInPartition(winobj, argno, (int) r, WINDOW_SEEK_HEAD,
									 false, &isnull, &isout);
		if (isout)
			elog(ERROR, "row " INT64_FORMAT " is outside its window partition", r);

		if (isnull)
		{
			if (!allow_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("null value in argument \"%s\" of %s at row " INT64_FORMAT " of the window partition",
								window_argname(fcinfo, argno), window_fname(fcinfo), r + 1),
						 errhint("Filter out rows with NULL prices or use COALESCE.")));
			v = NAN;
		}
		else
		{
			v = DatumGetFloat8(d);
			if (!isfinite(v) && !(allow_null && isnan(v)))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("non-finite value in argument \"%s\" of %s at row " INT64_FORMAT " of the window partition",
								window_argname(fcinfo, argno), window_fname(fcinfo), r + 1),
						 errhint("Filter out rows with NaN or infinite prices.")));
		}
		x[r] = v;
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(scratch);
}

/*
 * window_cross
 *		The crossing rule of bt_cross: +1 on row t when fast_t > slow_t and
 *		the most recent earlier row with fast != slow (both defined) had
 *		fast < slow; -1 symmetrically; 0 otherwise.  A touch (fast == slow) is
 *		not a cross and does not reset the side; undefined (NaN) rows give 0
 *		and are skipped.
 */
static void
window_cross(const double *fast, const double *slow, int64 n, double *out)
{
	int			side = 0;		/* sign of fast - slow on the last row where
								 * they differed, 0 = none yet */

	for (int64 t = 0; t < n; t++)
	{
		out[t] = 0;
		if (isnan(fast[t]) || isnan(slow[t]) || fast[t] == slow[t])
			continue;
		if (fast[t] > slow[t])
		{
			if (side < 0)
				out[t] = 1;
			side = 1;
		}
		else
		{
			if (side > 0)
				out[t] = -1;
			side = -1;
		}
	}
}

/*
 * window_check_high_low
 *		high below low is bad data; report the first such row.
 */
static void
window_check_high_low(FunctionCallInfo fcinfo, const double *high,
					  const double *low, int64 n)
{
	for (int64 r = 0; r < n; r++)
		if (high[r] < low[r])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("high is below low at row " INT64_FORMAT " of the window partition of %s",
							r + 1, window_fname(fcinfo)),
					 errdetail("high = %g, low = %g.", high[r], low[r])));
}

/*
 * window_compute
 *		Read the whole partition and compute the function's output column
 *		into st->values, allocated in the partition's memory context.
 */
static void
window_compute(FunctionCallInfo fcinfo, WindowObject winobj, const BtpgWinFunc *f,
			   BtpgWinState *st, int64 nrows)
{
	MemoryContext partcxt = GetMemoryChunkContext(st);
	MemoryContext tmpcxt;
	MemoryContext old;
	double	   *series[BT_WIN_MAX_SERIES];

	/*
	 * The result lives as long as the partition: allocate it where the
	 * partition-local struct itself lives (the executor's per-partition
	 * context), with a huge allocation so that a partition of more than
	 * 134M rows is not refused.
	 */
	st->values = MemoryContextAllocHuge(partcxt, Max(nrows, 1) * sizeof(double));

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "bt window indicator",
								   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmpcxt);

	for (int i = 0; i < f->nseries; i++)
	{
		series[i] = MemoryContextAllocHuge(tmpcxt, Max(nrows, 1) * sizeof(double));
		window_read_series(fcinfo, winobj, i, nrows, f->def == NULL, series[i]);
	}

	if (f->def == NULL)
		window_cross(series[0], series[1], nrows, st->values);
	else
	{
		BtSeries	s;
		double	   *out[BT_IND_MAX_OUTPUTS];
		int			k = 0;

		memset(&s, 0, sizeof(s));
		s.n = nrows;
		for (int i = 0; i < lengthof(series_order); i++)
		{
			if (!(f->def->inputs & series_order[i]))
				continue;
			switch (series_order[i])
			{
				case BT_IN_HIGH:
					s.high = series[k];
					break;
				case BT_IN_LOW:
					s.low = series[k];
					break;
				case BT_IN_CLOSE:
					s.close = series[k];
					break;
				case BT_IN_VOLUME:
					s.volume = series[k];
					break;
			}
			k++;
		}
		if (s.high != NULL && s.low != NULL)
			window_check_high_low(fcinfo, s.high, s.low, nrows);

		for (int o = 0; o < f->def->noutputs; o++)
			out[o] = (o == f->output) ? st->values :
				MemoryContextAllocHuge(tmpcxt, Max(nrows, 1) * sizeof(double));

		CHECK_FOR_INTERRUPTS();
		f->def->compute(&s, st->params, out);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmpcxt);
	st->nrows = nrows;
}

/*
 * window_eval
 *		The one helper behind every window function here: indicator is a
 *		registry name (or "cross"), output the index of the wanted output in
 *		the registry's outputs[], nseries the number of leading series
 *		arguments (mapped to high, low, close, volume in that order, as the
 *		indicator's inputs require).  The remaining arguments are the
 *		indicator's parameters, in registry order.  Returns the value on the
 *		current row; *isnull when it is undefined.
 */
static double
window_eval(FunctionCallInfo fcinfo, const char *indicator, int output,
			int nseries, bool *isnull)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	BtpgWinFunc  *f;
	BtpgWinState *st;
	double		p[BT_IND_MAX_PARAMS];
	int64		pos;
	double		v;

	if (!WindowObjectIsValid(winobj))
		elog(ERROR, "%s must be called as a window function", window_fname(fcinfo));

	f = window_func_setup(fcinfo, indicator, output, nseries);
	window_read_params(fcinfo, winobj, f, p);

	st = (BtpgWinState *) WinGetPartitionLocalMemory(winobj, sizeof(BtpgWinState));
	if (st->values == NULL)
	{
		int64		nrows = WinGetPartitionRowCount(winobj);

		/* WinGetFuncArgInPartition takes an int row offset */
		if (nrows > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("window partition of %s has too many rows", window_fname(fcinfo)),
					 errdetail("The partition has " INT64_FORMAT " rows; the maximum is %d.",
							   nrows, PG_INT32_MAX)));
		memcpy(st->params, p, sizeof(double) * f->nparams);
		window_compute(fcinfo, winobj, f, st, nrows);
	}
	else
	{
		for (int i = 0; i < f->nparams; i++)
			if (p[i] != st->params[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("argument \"%s\" of %s must be the same on every row of a window partition",
								window_argname(fcinfo, nseries + i), window_fname(fcinfo)),
						 errdetail("It was %g on the first row and is %g on row " INT64_FORMAT ".",
								   st->params[i], p[i], WinGetCurrentPosition(winobj) + 1)));
	}

	pos = WinGetCurrentPosition(winobj);
	if (pos < 0 || pos >= st->nrows)
		elog(ERROR, "window position " INT64_FORMAT " out of range", pos);

	v = st->values[pos];
	*isnull = isnan(v);
	return v;
}

/*
 * window_float8
 *		window_eval for the float8-valued functions; undefined is NULL.
 */
static Datum
window_float8(FunctionCallInfo fcinfo, const char *indicator, int output,
			  int nseries)
{
	bool		isnull;
	double		v = window_eval(fcinfo, indicator, output, nseries, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

/* ------------------------------------------------------------------------
 * SQL-callable entry points.  Output indexes follow the registry's
 * outputs[] of each indicator (see indicator_registry.c).
 * ------------------------------------------------------------------------
 */

/* bt_sma(x, n) */
PG_FUNCTION_INFO_V1(bt_sma_window);
Datum
bt_sma_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "sma", 0, 1);
}

/* bt_ema(x, n) */
PG_FUNCTION_INFO_V1(bt_ema_window);
Datum
bt_ema_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "ema", 0, 1);
}

/* bt_wma(x, n) */
PG_FUNCTION_INFO_V1(bt_wma_window);
Datum
bt_wma_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "wma", 0, 1);
}

/* bt_rsi(x, n) */
PG_FUNCTION_INFO_V1(bt_rsi_window);
Datum
bt_rsi_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "rsi", 0, 1);
}

/* bt_roc(x, n) */
PG_FUNCTION_INFO_V1(bt_roc_window);
Datum
bt_roc_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "roc", 0, 1);
}

/* bt_macd(x, fast, slow, signal): the MACD line */
PG_FUNCTION_INFO_V1(bt_macd_window);
Datum
bt_macd_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "macd", 0, 1);
}

/* bt_macd_signal(x, fast, slow, signal) */
PG_FUNCTION_INFO_V1(bt_macd_signal_window);
Datum
bt_macd_signal_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "macd", 1, 1);
}

/* bt_macd_hist(x, fast, slow, signal) */
PG_FUNCTION_INFO_V1(bt_macd_hist_window);
Datum
bt_macd_hist_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "macd", 2, 1);
}

/* bt_bb_lower(x, n, k) */
PG_FUNCTION_INFO_V1(bt_bb_lower_window);
Datum
bt_bb_lower_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "bbands", 0, 1);
}

/* bt_bb_middle(x, n, k) */
PG_FUNCTION_INFO_V1(bt_bb_middle_window);
Datum
bt_bb_middle_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "bbands", 1, 1);
}

/* bt_bb_upper(x, n, k) */
PG_FUNCTION_INFO_V1(bt_bb_upper_window);
Datum
bt_bb_upper_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "bbands", 2, 1);
}

/* bt_stoch_k(high, low, close, k_period, d_period, slow_period): fast %K */
PG_FUNCTION_INFO_V1(bt_stoch_k_window);
Datum
bt_stoch_k_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "stoch", 0, 3);
}

/* bt_stoch_d(...): fast %D */
PG_FUNCTION_INFO_V1(bt_stoch_d_window);
Datum
bt_stoch_d_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "stoch", 1, 3);
}

/* bt_stoch_slowd(...): slow %D */
PG_FUNCTION_INFO_V1(bt_stoch_slowd_window);
Datum
bt_stoch_slowd_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "stoch", 2, 3);
}

/* bt_kdj_k(high, low, close, n, m1, m2) */
PG_FUNCTION_INFO_V1(bt_kdj_k_window);
Datum
bt_kdj_k_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "kdj", 1, 3);
}

/* bt_kdj_d(high, low, close, n, m1, m2) */
PG_FUNCTION_INFO_V1(bt_kdj_d_window);
Datum
bt_kdj_d_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "kdj", 2, 3);
}

/* bt_kdj_j(high, low, close, n, m1, m2) */
PG_FUNCTION_INFO_V1(bt_kdj_j_window);
Datum
bt_kdj_j_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "kdj", 3, 3);
}

/* bt_atr(high, low, close, n) */
PG_FUNCTION_INFO_V1(bt_atr_window);
Datum
bt_atr_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "atr", 1, 3);
}

/* bt_obv(close, volume) */
PG_FUNCTION_INFO_V1(bt_obv_window);
Datum
bt_obv_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "obv", 0, 2);
}

/* bt_donchian_upper(high, low, n) */
PG_FUNCTION_INFO_V1(bt_donchian_upper_window);
Datum
bt_donchian_upper_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "donchian", 0, 2);
}

/* bt_donchian_mid(high, low, n) */
PG_FUNCTION_INFO_V1(bt_donchian_mid_window);
Datum
bt_donchian_mid_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "donchian", 1, 2);
}

/* bt_donchian_lower(high, low, n) */
PG_FUNCTION_INFO_V1(bt_donchian_lower_window);
Datum
bt_donchian_lower_window(PG_FUNCTION_ARGS)
{
	return window_float8(fcinfo, "donchian", 2, 2);
}

/* bt_cross(fast, slow): +1 cross up, -1 cross down, 0 otherwise */
PG_FUNCTION_INFO_V1(bt_cross_window);
Datum
bt_cross_window(PG_FUNCTION_ARGS)
{
	bool		isnull;

	PG_RETURN_INT32((int32) window_eval(fcinfo, "cross", 0, 2, &isnull));
}
