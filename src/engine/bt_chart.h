/*-------------------------------------------------------------------------
 *
 * bt_chart.h
 *	  Chart geometry for the SVG chart and the HTML report: per-pixel
 *	  downsampling buckets, "nice" value and time axis ticks, time labels,
 *	  drawdown and calendar-period returns.  Plain C99, no PostgreSQL.
 *
 * The glue (src/pg/chart.c, src/pg/report.c) only turns these numbers into
 * text; everything that decides what is drawn where is here, unit-tested.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_chart.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_CHART_H
#define BT_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One pixel column of a downsampled series: the points whose timestamps
 * fall in the column.  count = 0 means an empty column (then the indexes
 * are -1 and the values NaN).  NaN values are skipped (indicator warm-up).
 */
typedef struct BtBucket
{
	int64_t		count;
	int64_t		first_i;		/* index of the first point in the column */
	int64_t		last_i;
	int64_t		min_i;			/* index of the point holding min (of lo[]) */
	int64_t		max_i;
	double		first;			/* val[first_i] */
	double		last;
	double		min;			/* min of lo[] */
	double		max;			/* max of hi[] */
} BtBucket;

/*
 * The column of timestamp ts on an axis [t0, t1] of ncols columns:
 * floor((ts - t0) / (t1 - t0) * ncols), clamped to [0, ncols - 1]; -1 if ts
 * is outside [t0, t1].  When t0 == t1 every ts == t0 is column 0.
 */
extern int	bt_chart_column(int64_t ts, int64_t t0, int64_t t1, int ncols);

/*
 * Fill out[0..ncols-1] with the buckets of points (ts[i], lo[i], hi[i],
 * val[i]); lo and hi may be the same array as val (a line).  Points outside
 * [t0, t1] are ignored.  ts must be increasing.
 */
extern void bt_chart_buckets(const int64_t *ts, const double *lo, const double *hi,
							 const double *val, int64_t n, int64_t t0, int64_t t1,
							 int ncols, BtBucket *out);

/* ---- axes ------------------------------------------------------------- */

#define BT_MAX_TICKS	64

typedef struct BtTicks
{
	int			n;
	double		step;			/* 1, 2 or 5 times a power of ten */
	int			decimals;		/* digits after the point that show the step */
	double		v[BT_MAX_TICKS];
} BtTicks;

/*
 * Ticks for a value axis over [lo, hi]: multiples of a step of 1, 2 or 5
 * times a power of ten, inside [lo, hi], about `target` of them (at least
 * 2 when lo < hi).  lo == hi is widened around the value first.
 */
extern void bt_nice_ticks(double lo, double hi, int target, BtTicks *out);

/*
 * Widen [*lo, *hi] by frac of its span on each side (a lone value by
 * frac of itself, or 1); NaN bounds become [0, 1].
 */
extern void bt_pad_range(double *lo, double *hi, double frac);

typedef enum BtTimeUnit
{
	BT_TU_SECOND = 0,
	BT_TU_MINUTE,
	BT_TU_HOUR,
	BT_TU_DAY,
	BT_TU_MONTH,
	BT_TU_YEAR
} BtTimeUnit;

typedef struct BtTimeTicks
{
	int			n;
	BtTimeUnit	unit;			/* the unit of the step */
	int			step;			/* in units */
	int64_t		t[BT_MAX_TICKS];	/* usecs since the Unix epoch (UTC) */
} BtTimeTicks;

/*
 * Ticks for a time axis over [t0, t1] (usecs, UTC): round instants (whole
 * minutes, hours, midnights, first days of months or years) at a step from
 * a fixed ladder (1 s ... 30 min, 1-12 h, 1, 2, 7, 14 days, 1, 2, 3, 6
 * months, 1, 2, 5, 10... years), the smallest step giving at most target
 * ticks.
 */
extern void bt_time_ticks(int64_t t0, int64_t t1, int target, BtTimeTicks *out);

/*
 * A tick label suited to the unit: "2024" (years), "2024-03" (months),
 * "2024-03-15" (days), "03-15 14:00" (hours, minutes), "14:00:05"
 * (seconds).  buf gets at most len bytes, NUL-terminated.
 */
extern void bt_format_time(int64_t t, BtTimeUnit unit, char *buf, size_t len);

/* Civil date of a timestamp (UTC): year, month 1-12, day 1-31 */
extern void bt_civil(int64_t t, int *year, int *month, int *day);

/* ---- series derived for the chart and the report --------------------- */

/* dd[i] = (equity[i] / running peak - 1) * 100 (<= 0; 0 while the peak is <= 0) */
extern void bt_drawdown_pct(const double *equity, int64_t n, double *dd);

#endif							/* BT_CHART_H */
