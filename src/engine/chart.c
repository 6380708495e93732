/*-------------------------------------------------------------------------
 *
 * chart.c
 *	  Chart geometry: per-pixel buckets (min/max/first/last), nice value
 *	  ticks, calendar-aligned time ticks and labels, drawdown and
 *	  calendar-period returns (see bt_chart.h).
 *
 * Downsampling per pixel column keeps an SVG's size proportional to its
 * width, not to the number of bars: a column draws at most its min and max
 * (a line) or one high/low span (a band), which is what the eye sees at
 * that width anyway.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/chart.c
 *
 *-------------------------------------------------------------------------
 */
#include "bt_chart.h"
#include "bt_internal.h"

#include <math.h>
#include <stdio.h>

#define USECS_PER_SEC	INT64_C(1000000)
#define USECS_PER_DAY_	INT64_C(86400000000)

/* floor(a / b) for b > 0 */
static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

int
bt_chart_column(int64_t ts, int64_t t0, int64_t t1, int ncols)
{
	double		f;
	int			c;

	if (ts < t0 || ts > t1 || ncols <= 0)
		return -1;
	if (t1 == t0)
		return 0;
	f = (double) (ts - t0) / (double) (t1 - t0) * ncols;
	c = (int) floor(f);
	if (c >= ncols)
		c = ncols - 1;
	if (c < 0)
		c = 0;
	return c;
}

void
bt_chart_buckets(const int64_t *ts, const double *lo, const double *hi,
				 const double *val, int64_t n, int64_t t0, int64_t t1,
				 int ncols, BtBucket *out)
{
	for (int c = 0; c < ncols; c++)
	{
		out[c].count = 0;
		out[c].first_i = out[c].last_i = out[c].min_i = out[c].max_i = -1;
		out[c].first = out[c].last = out[c].min = out[c].max = NAN;
	}
	for (int64_t i = 0; i < n; i++)
	{
		int			c;
		BtBucket   *b;

		if (isnan(val[i]) || isnan(lo[i]) || isnan(hi[i]))
			continue;
		c = bt_chart_column(ts[i], t0, t1, ncols);
		if (c < 0)
			continue;
		b = &out[c];
		if (b->count == 0)
		{
			b->first_i = i;
			b->first = val[i];
			b->min = lo[i];
			b->max = hi[i];
			b->min_i = b->max_i = i;
		}
		else
		{
			if (lo[i] < b->min)
			{
				b->min = lo[i];
				b->min_i = i;
			}
			if (hi[i] > b->max)
			{
				b->max = hi[i];
				b->max_i = i;
			}
		}
		b->last_i = i;
		b->last = val[i];
		b->count++;
	}
}

/* ---- value ticks ----------------------------------------------------- */

void
bt_pad_range(double *lo, double *hi, double frac)
{
	if (!isfinite(*lo) || !isfinite(*hi))
	{
		*lo = 0;
		*hi = 1;
		return;
	}
	if (*hi < *lo)
	{
		double		t = *lo;

		*lo = *hi;
		*hi = t;
	}
	if (*hi == *lo)
	{
		double		d = fabs(*lo) * frac;

		if (d == 0)
			d = 1;
		*lo -= d;
		*hi += d;
		return;
	}
	else
	{
		double		d = (*hi - *lo) * frac;

		*lo -= d;
		*hi += d;
	}
}

void
bt_nice_ticks(double lo, double hi, int target, BtTicks *out)
{
	double		span,
				raw,
				mag,
				f,
				step,
				first;
	int			dec;

	out->n = 0;
	out->step = 1;
	out->decimals = 0;
	if (!isfinite(lo) || !isfinite(hi))
		return;
	if (target < 2)
		target = 2;
	if (target > BT_MAX_TICKS - 1)
		target = BT_MAX_TICKS - 1;
	if (hi < lo)
	{
		double		t = lo;

		lo = hi;
		hi = t;
	}
	if (hi == lo)
		bt_pad_range(&lo, &hi, 0.05);

	span = hi - lo;
	raw = span / (target - 1);
	mag = pow(10.0, floor(log10(raw)));
	f = raw / mag;
	/* the largest of 1, 2, 5, 10 not above raw would give too many ticks: round up */
	if (f <= 1.0)
		step = mag;
	else if (f <= 2.0)
		step = 2 * mag;
	else if (f <= 5.0)
		step = 5 * mag;
	else
		step = 10 * mag;

	/* at least two ticks inside [lo, hi] */
	while (floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) < 1.0)
	{
		double		m = step / pow(10.0, floor(log10(step) + 1e-9));

		/* the next smaller of the 1-2-5 ladder: 5 -> 2, 2 -> 1, 1 -> 0.5 */
		step = m > 4 ? step * 0.4 : step * 0.5;
	}

	first = ceil(lo / step - 1e-9) * step;
	for (int k = 0; out->n < BT_MAX_TICKS; k++)
	{
		double		v = first + k * step;

		if (v > hi + step * 1e-9)
			break;
		if (fabs(v) < step * 1e-9)
			v = 0;				/* no "-0" */
		out->v[out->n++] = v;
	}
	out->step = step;
	dec = (int) -floor(log10(step) + 1e-9);
	out->decimals = dec > 0 ? (dec > 12 ? 12 : dec) : 0;
}

/* ---- time ticks ------------------------------------------------------ */

void
bt_civil(int64_t t, int *year, int *month, int *day)
{
	bt_civil_from_days(floordiv(t, USECS_PER_DAY_), year, month, day);
}

/* The ladder of time steps */
static const struct
{
	BtTimeUnit	unit;
	int			step;
	int64_t		usecs;			/* approximate length (months, years) */
}			time_steps[] =
{
	{BT_TU_SECOND, 1, USECS_PER_SEC},
	{BT_TU_SECOND, 2, 2 * USECS_PER_SEC},
	{BT_TU_SECOND, 5, 5 * USECS_PER_SEC},
	{BT_TU_SECOND, 10, 10 * USECS_PER_SEC},
	{BT_TU_SECOND, 15, 15 * USECS_PER_SEC},
	{BT_TU_SECOND, 30, 30 * USECS_PER_SEC},
	{BT_TU_MINUTE, 1, 60 * USECS_PER_SEC},
	{BT_TU_MINUTE, 2, 120 * USECS_PER_SEC},
	{BT_TU_MINUTE, 5, 300 * USECS_PER_SEC},
	{BT_TU_MINUTE, 10, 600 * USECS_PER_SEC},
	{BT_TU_MINUTE, 15, 900 * USECS_PER_SEC},
	{BT_TU_MINUTE, 30, 1800 * USECS_PER_SEC},
	{BT_TU_HOUR, 1, 3600 * USECS_PER_SEC},
	{BT_TU_HOUR, 2, 7200 * USECS_PER_SEC},
	{BT_TU_HOUR, 3, 10800 * USECS_PER_SEC},
	{BT_TU_HOUR, 6, 21600 * USECS_PER_SEC},
	{BT_TU_HOUR, 12, 43200 * USECS_PER_SEC},
	{BT_TU_DAY, 1, USECS_PER_DAY_},
	{BT_TU_DAY, 2, 2 * USECS_PER_DAY_},
	{BT_TU_DAY, 7, 7 * USECS_PER_DAY_},
	{BT_TU_DAY, 14, 14 * USECS_PER_DAY_},
	{BT_TU_MONTH, 1, 30 * USECS_PER_DAY_},
	{BT_TU_MONTH, 2, 61 * USECS_PER_DAY_},
	{BT_TU_MONTH, 3, 91 * USECS_PER_DAY_},
	{BT_TU_MONTH, 6, 182 * USECS_PER_DAY_},
	{BT_TU_YEAR, 1, 365 * USECS_PER_DAY_},
	{BT_TU_YEAR, 2, 730 * USECS_PER_DAY_},
	{BT_TU_YEAR, 5, 1826 * USECS_PER_DAY_},
	{BT_TU_YEAR, 10, 3652 * USECS_PER_DAY_},
	{BT_TU_YEAR, 20, 7305 * USECS_PER_DAY_},
	{BT_TU_YEAR, 50, 18262 * USECS_PER_DAY_},
	{BT_TU_YEAR, 100, 36524 * USECS_PER_DAY_},
	{BT_TU_YEAR, 200, 73048 * USECS_PER_DAY_},
	{BT_TU_YEAR, 500, 182621 * USECS_PER_DAY_},
	{BT_TU_YEAR, 1000, 365242 * USECS_PER_DAY_}
};

#define N_TIME_STEPS ((int) (sizeof(time_steps) / sizeof(time_steps[0])))

void
bt_time_ticks(int64_t t0, int64_t t1, int target, BtTimeTicks *out)
{
	int			k;
	double		span = (double) t1 - (double) t0;

	out->n = 0;
	if (target < 1)
		target = 1;
	if (target > BT_MAX_TICKS)
		target = BT_MAX_TICKS;
	if (t1 < t0)
		return;

	/* the smallest step with at most target ticks (approximately: span/step + 1) */
	for (k = 0; k < N_TIME_STEPS - 1; k++)
		if (span / (double) time_steps[k].usecs + 1.0 <= target)
			break;
	out->unit = time_steps[k].unit;
	out->step = time_steps[k].step;

	if (out->unit <= BT_TU_DAY)
	{
		int64_t		step = time_steps[k].usecs;
		int64_t		origin = 0;
		int64_t		t;

		/* weeks start on Mondays (1970-01-01 was a Thursday) */
		if (out->unit == BT_TU_DAY && out->step >= 7)
			origin = -3 * USECS_PER_DAY_;
		t = origin + floordiv(t0 - origin, step) * step;
		if (t < t0)
			t += step;
		for (; t <= t1 && out->n < BT_MAX_TICKS; t += step)
			out->t[out->n++] = t;
	}
	else
	{
		int			y,
					m,
					d;
		int64_t		months;	/* months since year 0 */
		int			stepm = out->unit == BT_TU_MONTH ? out->step : out->step * 12;

		bt_civil(t0, &y, &m, &d);
		months = (int64_t) y * 12 + (m - 1);
		/* align to a multiple of the step (January for years and half years) */
		months = floordiv(months, stepm) * stepm;
		for (;; months += stepm)
		{
			int64_t		yy = floordiv(months, 12);
			int			mm = (int) (months - yy * 12) + 1;
			int64_t		t = bt_days_from_civil(yy, mm, 1) * USECS_PER_DAY_;

			if (t < t0)
				continue;
			if (t > t1 || out->n >= BT_MAX_TICKS)
				break;
			out->t[out->n++] = t;
		}
	}
}

void
bt_format_time(int64_t t, BtTimeUnit unit, char *buf, size_t len)
{
	int64_t		day = floordiv(t, USECS_PER_DAY_);
	int64_t		sod = (t - day * USECS_PER_DAY_) / USECS_PER_SEC;
	int			y,
				m,
				d;

	bt_civil_from_days(day, &y, &m, &d);
	switch (unit)
	{
		case BT_TU_YEAR:
			snprintf(buf, len, "%d", y);
			break;
		case BT_TU_MONTH:
			snprintf(buf, len, "%04d-%02d", y, m);
			break;
		case BT_TU_DAY:
			snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
			break;
		case BT_TU_HOUR:
		case BT_TU_MINUTE:
			snprintf(buf, len, "%02d-%02d %02d:%02d", m, d,
					 (int) (sod / 3600), (int) (sod / 60 % 60));
			break;
		case BT_TU_SECOND:
			snprintf(buf, len, "%02d:%02d:%02d",
					 (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60));
			break;
	}
}

/* ---- derived series -------------------------------------------------- */

void
bt_drawdown_pct(const double *equity, int64_t n, double *dd)
{
	double		peak = -INFINITY;

	for (int64_t i = 0; i < n; i++)
	{
		if (equity[i] > peak)
			peak = equity[i];
		dd[i] = peak > 0 ? (equity[i] / peak - 1.0) * 100.0 : 0.0;
	}
}
