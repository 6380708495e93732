/*-------------------------------------------------------------------------
 *
 * periods.c
 *	  Returns by calendar period (day, ISO week, month, year; UTC) for BI
 *	  tools: each period's opening and closing equity, return, closed
 *	  trades and the deepest drawdown inside it.
 *
 * A period's return is its last bar's equity over the previous period's
 * last (the first period: over the base, the initial capital), so the
 * periods' returns compound exactly to the run's return.  Periods without
 * bars have no row (the next row's return spans the gap).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/periods.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_internal.h"

/* The period of a timestamp, as an increasing integer key */
static int64_t
period_key(int64_t ts, BtPeriod period)
{
	int64_t		day = bt_day_of(ts);
	int			y,
				m,
				d;

	switch (period)
	{
		case BT_PERIOD_DAY:
			return day;
		case BT_PERIOD_WEEK:
			/* ISO weeks start on Monday; 1970-01-05 was one */
			return (day - 4 >= 0 ? (day - 4) / 7 : -((3 - day) / 7) - 1);
		case BT_PERIOD_MONTH:
			bt_civil_from_days(day, &y, &m, &d);
			return (int64_t) y * 12 + (m - 1);
		case BT_PERIOD_YEAR:
			bt_civil_from_days(day, &y, &m, &d);
			return y;
	}
	return 0;
}

/* The first instant (usecs, UTC) of the period with key k */
static int64_t
period_start(int64_t k, BtPeriod period)
{
	int64_t		y,
				m;

	switch (period)
	{
		case BT_PERIOD_DAY:
			return k * BT_USECS_PER_DAY;
		case BT_PERIOD_WEEK:
			return (k * 7 + 4) * BT_USECS_PER_DAY;
		case BT_PERIOD_MONTH:
			y = k >= 0 ? k / 12 : -((-k - 1) / 12) - 1;
			m = k - y * 12 + 1;
			return bt_days_from_civil(y, (int) m, 1) * BT_USECS_PER_DAY;
		case BT_PERIOD_YEAR:
			return bt_days_from_civil(k, 1, 1) * BT_USECS_PER_DAY;
	}
	return 0;
}

/*
 * bt_period_parse
 *		The period called `name` ("day", "week", "month", "year"); false if
 *		none is.
 */
bool
bt_period_parse(const char *name, BtPeriod *period)
{
	static const char *const names[] = {"day", "week", "month", "year"};

	for (int i = 0; i < 4; i++)
		if (name != NULL && strcmp(name, names[i]) == 0)
		{
			*period = (BtPeriod) i;
			return true;
		}
	return false;
}

/*
 * bt_periods_count
 *		The number of periods with bars in ts[0..n-1] (ascending): the rows
 *		bt_periods_fill fills.
 */
int64_t
bt_periods_count(const int64_t *ts, int64_t n, BtPeriod period)
{
	int64_t		count = 0,
				cur = 0;

	for (int64_t i = 0; i < n; i++)
	{
		int64_t		k = period_key(ts[i], period);

		if (count == 0 || k != cur)
		{
			count++;
			cur = k;
		}
	}
	return count;
}

/*
 * bt_periods_fill
 *		Fill out[0..bt_periods_count - 1] from the equity curve (ts ascending)
 *		and the exit timestamps of the closed trades (ascending), starting
 *		from equity `base`.  Returns the number of rows.
 */
int64_t
bt_periods_fill(const int64_t *ts, const double *equity, int64_t n, double base,
			   const int64_t *exits, int64_t nexits, BtPeriod period, BtPeriodRow *out)
{
	int64_t		nrows = 0,
				cur = 0,
				e = 0;
	double		peak = base;
	BtPeriodRow *r = NULL;

	for (int64_t i = 0; i < n; i++)
	{
		int64_t		k = period_key(ts[i], period);
		double		eq = equity[i];

		if (r == NULL || k != cur)
		{
			double		open = r ? r->equity_end : base;

			r = &out[nrows++];
			cur = k;
			r->start = period_start(k, period);
			r->end = period_start(k + 1, period);
			r->first_bar = i;
			r->equity_start = open;
			r->trades = 0;
			r->max_drawdown_pct = 0;
			peak = open;
			/* closed trades that left in this period (none before it is left) */
			while (e < nexits && exits[e] < r->start)
				e++;
			while (e < nexits && exits[e] < r->end)
			{
				r->trades++;
				e++;
			}
		}
		r->last_bar = i;
		r->equity_end = eq;
		if (eq > peak)
			peak = eq;
		if (peak > 0 && (eq / peak - 1.0) * 100.0 < r->max_drawdown_pct)
			r->max_drawdown_pct = (eq / peak - 1.0) * 100.0;
		r->return_pct = r->equity_start != 0 ? (eq / r->equity_start - 1.0) * 100.0 : NAN;
	}
	return nrows;
}
