/*-------------------------------------------------------------------------
 *
 * resample.c
 *	  backtest_resample: OHLCV bars of a coarser timeframe from a finer
 *	  table, bucketed as date_bin buckets them, on UTC or on the wall clock
 *	  of a time zone (exchange sessions); the time-zone conversions the
 *	  "timeframe" parameter shares; and backtest_equity_downsample, a
 *	  stored task's curve downsampled into the same buckets.  The bucketing and aggregation are the
 *	  engine's (bt_resample).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/pg/resample.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/columns.h"
#include "core/loader.h"
#include "core/memory.h"
#include "core/timestamps.h"
#include "periods.h"
#include "resample.h"

PG_FUNCTION_INFO_V1(backtest_resample);
PG_FUNCTION_INFO_V1(backtest_equity_downsample);

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
 * wall_clock
 *		The wall-clock times in time zone tzt (NULL or UTC: returns NULL) of n
 *		engine timestamps, as engine usecs, in CurrentMemoryContext: each
 *		`ts AT TIME ZONE tzt`.  The zone is resolved once, as timestamptz_zone
 *		resolves it: a fixed-offset abbreviation ('UTC', 'EST') adds its
 *		offset; a region ('America/New_York') adds the UTC offset in force,
 *		looked up again only past the zone's next transition
 *		(pg_next_dst_boundary, as PostgreSQL's own conversions); a dynamic
 *		abbreviation goes through timestamptz_zone for every bar.
 */
static int64_t *
wall_clock(const int64_t *ts, int64 n, text *tzt)
{
	int64_t    *clock;
	char	   *name;
	char	   *lowzone;
	int			type,
				val;
	pg_tz	   *tzp = NULL;

	if (tzt == NULL)
		return NULL;
	clock = palloc_extended(sizeof(int64_t) * Max(n, 1), MCXT_ALLOC_HUGE);
	name = text_to_cstring(tzt);
	lowzone = downcase_truncate_identifier(name, strlen(name), false);
	type = DecodeTimezoneAbbrev(0, lowzone, &val, &tzp);
	if ((type == TZ || type == DTZ) && val == 0)
	{
		pfree(clock);
		return NULL;			/* UTC: the timestamps themselves */
	}
	if (type == TZ || type == DTZ)
	{
		for (int64 i = 0; i < n; i++)
			clock[i] = ts[i] + (int64) val * USECS_PER_SEC;
		return clock;
	}
	if (type != DYNTZ && (tzp = pg_tzset(name)) != NULL)
	{
		pg_time_t	boundary = 0;
		long int	gmtoff = 0;
		bool		have = false;
		bool		last = false;	/* no transition after the one in force */

		for (int64 i = 0; i < n; i++)
		{
			TimestampTz t = btpg_ts_from_engine(ts[i]);
			/* seconds since the Unix epoch, rounded down */
			pg_time_t	secs = (pg_time_t) (t >= 0 ? t / USECS_PER_SEC : -((-t - 1) / USECS_PER_SEC) - 1) +
				(pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

			if (!have || (!last && secs >= boundary))
			{
				long int	after_gmtoff;
				int			before_isdst,
							after_isdst;
				int			r = pg_next_dst_boundary(&secs, &gmtoff, &before_isdst, &boundary,
													 &after_gmtoff, &after_isdst, tzp);

				if (r < 0)
					elog(ERROR, "could not find the UTC offset of time zone \"%s\"", name);
				last = r == 0;
				have = true;
			}
			clock[i] = ts[i] + (int64) gmtoff * USECS_PER_SEC;
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		return clock;
	}
	for (int64 i = 0; i < n; i++)
	{
		Timestamp	local = DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone,
																  PointerGetDatum(tzt),
																  TimestampTzGetDatum(btpg_ts_from_engine(ts[i]))));

		clock[i] = btpg_ts_to_engine((TimestampTz) local);
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return clock;
}

/* A bucket's start on the wall clock of tzt (NULL: UTC) as an instant */
static int64
bucket_instant(int64 bucket, text *tzt)
{
	if (tzt == NULL)
		return bucket;
	return btpg_ts_to_engine(DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone,
																	 PointerGetDatum(tzt),
																	 TimestampGetDatum((Timestamp) btpg_ts_from_engine(bucket)))));
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
	int64_t    *ts;
	text	   *tzt = tz ? cstring_to_text(tz) : NULL;

	btpg_alloc_init(&a, CurrentMemoryContext);
	bt_resample(s, wall_clock(s->ts, s->n, tzt), interval, origin, &a, &r);
	ts = palloc_extended(sizeof(int64_t) * Max(r.n, 1), MCXT_ALLOC_HUGE);
	for (int64 k = 0; k < r.n; k++)
		ts[k] = bucket_instant(r.bucket[k], tzt);
	s->n = r.n;
	s->ts = ts;
	s->open = r.open;
	s->high = r.high;
	s->low = r.low;
	s->close = r.close;
	s->volume = r.volume;
	s->signal = r.signal;
	if (bars_out)
		*bars_out = r.bars;
}

/*
 * btpg_resample_groups
 *		"timeframe" for a read of many symbols: each group's bars of s (in
 *		(symbol, ts) order, each group validated) resampled on its own, as
 *		btpg_resample_series resamples one symbol's, by cols' interval,
 *		origin and zone.  s gets the new arrays (CurrentMemoryContext), in
 *		the same group order; groups their new from and n.
 */
void
btpg_resample_groups(BtSeries *s, BtpgSymGroup *groups, int32 ngroups, const BtpgColumns *cols)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext tmp = AllocSetContextCreate(cxt, "pg_backtest resample groups",
											  ALLOCSET_DEFAULT_SIZES);
	BtSeries   *each = palloc(sizeof(BtSeries) * Max(ngroups, 1));
	int64		total = 0;
	Size		sz;
	int64_t    *ts;
	double	   *col[6];

	MemoryContextSwitchTo(tmp);
	for (int32 r = 0; r < ngroups; r++)
	{
		each[r] = btpg_series_slice(s, groups[r].from, groups[r].n);
		btpg_resample_series(&each[r], cols->tf_interval, cols->tf_origin, cols->tf_zone, NULL);
		total += each[r].n;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(cxt);

	sz = sizeof(double) * Max(total, 1);
	ts = palloc_extended(sizeof(int64_t) * Max(total, 1), MCXT_ALLOC_HUGE);
	for (int c = 0; c < 6; c++)
		col[c] = (c < 4 || (c == 4 ? s->volume : s->signal) != NULL) ?
			palloc_extended(sz, MCXT_ALLOC_HUGE) : NULL;
	total = 0;
	for (int32 r = 0; r < ngroups; r++)
	{
		const BtSeries *e = &each[r];
		const double *src[6] = {e->open, e->high, e->low, e->close, e->volume, e->signal};

		memcpy(ts + total, e->ts, sizeof(int64_t) * e->n);
		for (int c = 0; c < 6; c++)
			if (col[c])
				memcpy(col[c] + total, src[c], sizeof(double) * e->n);
		groups[r].from = total;
		groups[r].n = e->n;
		total += e->n;
	}
	*s = btpg_series_of(total, ts, col);
	MemoryContextDelete(tmp);
	pfree(each);
}

/*
 * resample_bucket_args
 *		The interval (argument iarg), origin (oarg) and time zone (zarg) of
 *		a resampling call: the interval checked, an unknown zone an error
 *		now; *tz NULL for UTC.
 */
static void
resample_bucket_args(FunctionCallInfo fcinfo, int iarg, int oarg, int zarg,
					 int64 *interval, int64 *origin, char **tz)
{
	if (PG_ARGISNULL(iarg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the resampling interval must not be NULL")));
	*interval = btpg_resample_interval(PG_GETARG_INTERVAL_P(iarg));
	*origin = PG_ARGISNULL(oarg) ? btpg_ts_to_engine((TimestampTz) BTPG_RESAMPLE_ORIGIN) :
		btpg_ts_to_engine((TimestampTz) PG_GETARG_TIMESTAMP(oarg));
	*tz = PG_ARGISNULL(zarg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(zarg));
	if (*tz)					/* an unknown zone is an error before anything is read */
		(void) DirectFunctionCall2(timestamptz_zone, PointerGetDatum(cstring_to_text(*tz)),
								   TimestampTzGetDatum(0));
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
	resample_bucket_args(fcinfo, 2, 5, 6, &interval, &origin, &tz);

	memset(&spec, 0, sizeof(spec));
	spec.relid = PG_GETARG_OID(0);
	spec.symbol = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	btpg_args_time_range(fcinfo, 3, 4, false, &spec);
	resample_columns(fcinfo, 7, &spec.cols);
	spec.need_volume = spec.cols.name[BTCOL_VOLUME] != NULL;

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

/*
 * backtest_equity_downsample(task_id, interval, origin, time_zone)
 *		A completed backtest or portfolio task's stored curve (the rows of
 *		backtest.equity or backtest.portfolio_equity) downsampled into the
 *		buckets backtest_resample uses: per bucket with bars, its start, the
 *		bars, the first, highest, lowest, last and mean equity and the
 *		lowest drawdown_pct.  Read as the caller (row security applies: a
 *		task the caller cannot see does not exist); only the timestamps and
 *		the equity are read (detoasting the arrays is most of the time).
 */
Datum
backtest_equity_downsample(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt = CurrentMemoryContext;
	int64		task_id;
	int64		interval;
	int64		origin;
	char	   *tz;
	text	   *tzt;
	BtpgStoredCurve c;
	int64_t    *clock;
	BtAlloc		a;
	BtCurveBuckets b;
	Datum		values[8];
	bool		nulls[8] = {0};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the task id must not be NULL")));
	task_id = PG_GETARG_INT64(0);
	resample_bucket_args(fcinfo, 1, 2, 3, &interval, &origin, &tz);
	tzt = tz ? cstring_to_text(tz) : NULL;
	SetSingleFuncCall(fcinfo, 0);
	if (rsinfo->setDesc->natts != 8)
		elog(ERROR, "backtest_equity_downsample returns %d columns, expected 8",
			 rsinfo->setDesc->natts);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) btpg_task_curve(cxt, task_id, "Downsampled curves", &c);
	SPI_finish();

	btpg_alloc_init(&a, cxt);
	clock = wall_clock(c.ts, c.n, tzt);
	bt_downsample_curve(clock ? clock : c.ts, c.n, c.equity, interval, origin, &a, &b);
	for (int64 k = 0; k < b.n; k++)
	{
		values[0] = TimestampTzGetDatum(btpg_ts_from_engine(bucket_instant(b.bucket[k], tzt)));
		values[1] = Int64GetDatum(b.bars[k]);
		values[2] = Float8GetDatum(b.first[k]);
		values[3] = Float8GetDatum(b.high[k]);
		values[4] = Float8GetDatum(b.low[k]);
		values[5] = Float8GetDatum(b.last[k]);
		values[6] = Float8GetDatum(b.mean[k]);
		values[7] = Float8GetDatum(b.drawdown[k]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
