/*-------------------------------------------------------------------------
 *
 * resample.c
 *	  backtest_resample: OHLCV bars of a coarser timeframe from a finer
 *	  table, bucketed as date_bin buckets them, on UTC or on the wall clock
 *	  of a time zone (exchange sessions); and the time-zone conversions the
 *	  "timeframe" parameter shares.  The bucketing and aggregation are the
 *	  engine's (bt_resample).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/resample.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/timestamps.h"
#include "resample.h"

PG_FUNCTION_INFO_V1(backtest_resample);

/*
 * btpg_resample_interval
 *		An interval's length in microseconds; ereports unless it is a
 *		positive fixed length (no months or years, as date_bin).
 */
int64
btpg_resample_interval(const Interval *iv)
{
	int64		usecs;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the resampling interval must not contain months or years"),
				 errhint("Use days, hours, minutes or seconds; for calendar months resample with date_trunc in SQL.")));
	usecs = (int64) iv->day * USECS_PER_DAY + iv->time;
	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the resampling interval must be positive")));
	return usecs;
}

/*
 * btpg_resample_series
 *		Resample s in place into bars of `interval` usecs from `origin` (a
 *		wall-clock time in time zone tz, engine usecs), bucketed on the wall
 *		clock of tz (NULL: UTC).  Each new bar's ts is its bucket's start
 *		as an instant; arrays in CurrentMemoryContext.  bars_out (may be
 *		NULL) gets the number of fine bars of each.
 */
void
btpg_resample_series(BtSeries *s, int64 interval, int64 origin, const char *tz,
					 int64 **bars_out)
{
	BtAlloc		a;
	BtResampled r;
	int64_t    *clock = NULL;
	int64_t    *ts;
	text	   *tzt = tz ? cstring_to_text(tz) : NULL;

	btpg_alloc_init(&a, CurrentMemoryContext);
	if (tzt)
	{
		clock = palloc_extended(sizeof(int64_t) * Max(s->n, 1), MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < s->n; i++)
		{
			Timestamp	local = DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone,
																	  PointerGetDatum(tzt),
																	  TimestampTzGetDatum(btpg_ts_from_engine(s->ts[i]))));

			clock[i] = btpg_ts_to_engine((TimestampTz) local);
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	bt_resample(s, clock, interval, origin, &a, &r);
	ts = palloc_extended(sizeof(int64_t) * Max(r.n, 1), MCXT_ALLOC_HUGE);
	for (int64 k = 0; k < r.n; k++)
	{
		if (tzt)
			ts[k] = btpg_ts_to_engine(DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone,
																			  PointerGetDatum(tzt),
																			  TimestampGetDatum((Timestamp) btpg_ts_from_engine(r.bucket[k])))));
		else
			ts[k] = r.bucket[k];
	}
	s->n = r.n;
	s->ts = ts;
	s->open = r.open;
	s->high = r.high;
	s->low = r.low;
	s->close = r.close;
	s->volume = r.volume;
	s->signal = NULL;
	if (bars_out)
		*bars_out = r.bars;
}

/*
 * resample_columns
 *		The source's column names: the defaults, with the mapping of the
 *		jsonb argument `arg` (NULL: none) applied as the "columns" parameter
 *		of every other source-reading function is (same keys, same errors).
 *		No signal column is read.
 */
static void
resample_columns(FunctionCallInfo fcinfo, int arg, BtpgColumns *cols)
{
	btpg_columns_defaults(cols);
	if (PG_NARGS() > arg && !PG_ARGISNULL(arg))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(arg);
		JsonbValue	v;

		if (JB_ROOT_IS_SCALAR(jb))
			(void) JsonbExtractScalar(&jb->root, &v);
		else
		{
			v.type = jbvBinary;
			v.val.binary.data = &jb->root;
			v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		}
		btpg_parse_columns(&v, cols);
	}
	cols->name[BTCOL_SIGNAL] = NULL;
}

/*
 * backtest_resample(source, symbol, interval, start_ts, end_ts, origin,
 *					 time_zone, columns)
 *		One row per bucket: ts (the bucket's start), first open, highest
 *		high, lowest low, last close, summed volume (NULL when the mapping
 *		says the source has no volume), and the number of bars.
 */
Datum
backtest_resample(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BtpgLoadSpec	spec;
	BtSeries	s;
	int64		interval;
	int64		origin;
	int64	   *bars;
	char	   *tz;
	Datum		values[7];
	bool		nulls[7] = {0};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the source must not be NULL")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the resampling interval must not be NULL")));
	interval = btpg_resample_interval(PG_GETARG_INTERVAL_P(2));
	origin = PG_ARGISNULL(5) ? btpg_ts_to_engine((TimestampTz) BTPG_RESAMPLE_ORIGIN) :
		btpg_ts_to_engine((TimestampTz) PG_GETARG_TIMESTAMP(5));
	tz = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));

	memset(&spec, 0, sizeof(spec));
	spec.relid = PG_GETARG_OID(0);
	spec.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	spec.has_start = !PG_ARGISNULL(3);
	if (spec.has_start)
		spec.start_ts = PG_GETARG_TIMESTAMPTZ(3);
	spec.has_end = !PG_ARGISNULL(4);
	if (spec.has_end)
		spec.end_ts = PG_GETARG_TIMESTAMPTZ(4);
	resample_columns(fcinfo, 7, &spec.cols);
	spec.need_volume = spec.cols.name[BTCOL_VOLUME] != NULL;
	if (tz)						/* an unknown zone is an error before anything is read */
		(void) DirectFunctionCall2(timestamptz_zone, PointerGetDatum(cstring_to_text(tz)),
								   TimestampTzGetDatum(0));

	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != 7)
		elog(ERROR, "backtest_resample returns %d columns, expected 7", rsinfo->setDesc->natts);
	btpg_load_series(&spec, &s);
	btpg_resample_series(&s, interval, origin, tz, &bars);
	for (int64 k = 0; k < s.n; k++)
	{
		values[0] = TimestampTzGetDatum(btpg_ts_from_engine(s.ts[k]));
		values[1] = Float8GetDatum(s.open[k]);
		values[2] = Float8GetDatum(s.high[k]);
		values[3] = Float8GetDatum(s.low[k]);
		values[4] = Float8GetDatum(s.close[k]);
		nulls[5] = s.volume == NULL;
		values[5] = nulls[5] ? (Datum) 0 : Float8GetDatum(s.volume[k]);
		values[6] = Int64GetDatum(bars[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
