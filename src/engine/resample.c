/*-------------------------------------------------------------------------
 *
 * resample.c
 *	  OHLCV bars of a coarser timeframe from finer ones: each bucket of
 *	  `interval` microseconds counted from `origin` (as date_bin counts)
 *	  gets the first open, the highest high, the lowest low, the last
 *	  close and the summed volume of its bars, first and last by time.
 *
 * Buckets are counted on a clock the caller chooses: the bars' UTC
 * timestamps, or their wall-clock times in a time zone (an exchange's
 * sessions).  Wall-clock times can repeat when clocks go back, so a
 * bucket's bars need not be consecutive: bars are grouped by bucket, in
 * bucket order, as GROUP BY date_bin(...) groups them.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/resample.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_chart.h"
#include "bt_internal.h"

/* floor((t - origin) / interval), for interval > 0 */
static inline int64_t
bucket_of(int64_t t, int64_t origin, int64_t interval)
{
	int64_t		d = t - origin;

	return d >= 0 ? d / interval : -((-d - 1) / interval) - 1;
}

/* Stable merge sort of idx[0..n-1] by key[idx[i]] (tmp: n entries) */
static void
sort_by_key(int64_t *idx, int64_t *tmp, int64_t n, const int64_t *key)
{
	for (int64_t width = 1; width < n; width *= 2)
	{
		for (int64_t lo = 0; lo < n; lo += 2 * width)
		{
			int64_t		mid = lo + width < n ? lo + width : n;
			int64_t		hi = lo + 2 * width < n ? lo + 2 * width : n;
			int64_t		a = lo,
						b = mid,
						o = lo;

			while (a < mid && b < hi)
				tmp[o++] = key[idx[b]] < key[idx[a]] ? idx[b++] : idx[a++];
			while (a < mid)
				tmp[o++] = idx[a++];
			while (b < hi)
				tmp[o++] = idx[b++];
		}
		memcpy(idx, tmp, sizeof(int64_t) * (size_t) n);
	}
}

/*
 * bucket_order
 *		Each bar's bucket number on clock into *key_out; *idx_out the bars in
 *		bucket order, time order within a bucket (a stable sort), or NULL
 *		when they already are (a clock that never goes back).
 */
static void
bucket_order(const int64_t *clock, int64_t n, int64_t interval, int64_t origin,
			 const BtAlloc *a, int64_t **key_out, int64_t **idx_out)
{
	int64_t    *key = a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(int64_t));
	int64_t    *idx = NULL;
	bool		sorted = true;

	for (int64_t i = 0; i < n; i++)
	{
		key[i] = bucket_of(clock[i], origin, interval);
		if (i > 0 && key[i] < key[i - 1])
			sorted = false;
	}
	if (!sorted)
	{
		int64_t    *tmp = a->realloc_fn(a->ctx, NULL, (size_t) n * sizeof(int64_t));

		idx = a->realloc_fn(a->ctx, NULL, (size_t) n * sizeof(int64_t));
		for (int64_t i = 0; i < n; i++)
			idx[i] = i;
		sort_by_key(idx, tmp, n, key);
	}
	*key_out = key;
	*idx_out = idx;
}

/* The number of buckets of the ordered keys (key[idx[j]], j = 0 .. n-1) */
static int64_t
bucket_count(const int64_t *key, const int64_t *idx, int64_t n)
{
	int64_t		m = 0;

	for (int64_t j = 0; j < n; j++)
		if (j == 0 || key[idx ? idx[j] : j] != key[idx ? idx[j - 1] : j - 1])
			m++;
	return m;
}

/*
 * bt_resample
 *		Resample s (validated, ascending ts) into out, whose arrays the
 *		allocator provides (at most s->n bars).  clock: the time each bar is
 *		bucketed by (NULL: s->ts).  out->bucket[k] is bucket k's start on
 *		that clock (origin + number * interval); out->n the number of
 *		buckets.  Volume is summed when s->volume is given (else NULL); the
 *		signal is the bucket's last non-NaN one when s->signal is given.
 */
void
bt_resample(const BtSeries *s, const int64_t *clock, int64_t interval, int64_t origin,
			const BtAlloc *a, BtResampled *out)
{
	int64_t		n = s->n;
	size_t		sz = (size_t) (n > 0 ? n : 1) * sizeof(double);
	int64_t    *key;
	int64_t    *idx;
	int64_t		m = 0;

	bucket_order(clock ? clock : s->ts, n, interval, origin, a, &key, &idx);
	out->bucket = a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(int64_t));
	out->first_ts = a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(int64_t));
	out->open = a->realloc_fn(a->ctx, NULL, sz);
	out->high = a->realloc_fn(a->ctx, NULL, sz);
	out->low = a->realloc_fn(a->ctx, NULL, sz);
	out->close = a->realloc_fn(a->ctx, NULL, sz);
	out->volume = s->volume ? a->realloc_fn(a->ctx, NULL, sz) : NULL;
	out->signal = s->signal ? a->realloc_fn(a->ctx, NULL, sz) : NULL;
	out->bars = a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(int64_t));
	for (int64_t j = 0; j < n; j++)
	{
		int64_t		i = idx ? idx[j] : j;

		if (m == 0 || key[i] != key[idx ? idx[j - 1] : j - 1])
		{
			out->bucket[m] = origin + key[i] * interval;
			out->first_ts[m] = s->ts[i];
			out->open[m] = s->open[i];
			out->high[m] = s->high[i];
			out->low[m] = s->low[i];
			if (out->volume)
				out->volume[m] = 0;
			if (out->signal)
				out->signal[m] = NAN;
			out->bars[m] = 0;
			m++;
		}
		/* within a bucket, bars come in time order (the sort is stable) */
		if (s->high[i] > out->high[m - 1])
			out->high[m - 1] = s->high[i];
		if (s->low[i] < out->low[m - 1])
			out->low[m - 1] = s->low[i];
		out->close[m - 1] = s->close[i];
		if (out->volume)
			out->volume[m - 1] += s->volume[i];
		if (out->signal && !isnan(s->signal[i]))
			out->signal[m - 1] = s->signal[i];
		out->bars[m - 1]++;
	}
	out->n = m;
}

/*
 * bt_downsample_curve
 *		Downsample a per-bar equity curve (ascending ts; clock as for
 *		bt_resample, the times bucketed by) into out, arrays from a, one
 *		entry per bucket with bars: the first, highest, lowest, last and
 *		mean equity (the sum in time order over the count, as SQL's avg)
 *		and the lowest drawdown_pct (bt_drawdown_pct of the whole curve:
 *		from the running peak since the first bar).
 */
void
bt_downsample_curve(const int64_t *clock, int64_t n, const double *equity, int64_t interval,
					int64_t origin, const BtAlloc *a, BtCurveBuckets *out)
{
	int64_t    *key;
	int64_t    *idx;
	double	   *dd = a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(double));
	int64_t		m;
	size_t		sz;

	bt_drawdown_pct(equity, n, dd);
	bucket_order(clock, n, interval, origin, a, &key, &idx);
	m = bucket_count(key, idx, n);
	sz = (size_t) (m > 0 ? m : 1) * sizeof(double);
	out->bucket = a->realloc_fn(a->ctx, NULL, (size_t) (m > 0 ? m : 1) * sizeof(int64_t));
	out->bars = a->realloc_fn(a->ctx, NULL, (size_t) (m > 0 ? m : 1) * sizeof(int64_t));
	out->first = a->realloc_fn(a->ctx, NULL, sz);
	out->high = a->realloc_fn(a->ctx, NULL, sz);
	out->low = a->realloc_fn(a->ctx, NULL, sz);
	out->last = a->realloc_fn(a->ctx, NULL, sz);
	out->mean = a->realloc_fn(a->ctx, NULL, sz);
	out->drawdown = a->realloc_fn(a->ctx, NULL, sz);
	m = 0;
	for (int64_t j = 0; j < n; j++)
	{
		int64_t		i = idx ? idx[j] : j;
		int64_t		k;

		if (m == 0 || key[i] != key[idx ? idx[j - 1] : j - 1])
		{
			out->bucket[m] = origin + key[i] * interval;
			out->bars[m] = 0;
			out->first[m] = out->high[m] = out->low[m] = equity[i];
			out->mean[m] = 0;		/* the sum, until the end */
			out->drawdown[m] = dd[i];
			m++;
		}
		k = m - 1;
		if (equity[i] > out->high[k])
			out->high[k] = equity[i];
		if (equity[i] < out->low[k])
			out->low[k] = equity[i];
		if (dd[i] < out->drawdown[k])
			out->drawdown[k] = dd[i];
		out->last[k] = equity[i];
		out->mean[k] += equity[i];
		out->bars[k]++;
	}
	for (int64_t k = 0; k < m; k++)
		out->mean[k] /= (double) out->bars[k];
	out->n = m;
}
