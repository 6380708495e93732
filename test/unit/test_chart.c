/*-------------------------------------------------------------------------
 *
 * test_chart.c
 *	  Chart geometry: per-pixel buckets, nice value ticks, calendar time
 *	  ticks and labels, drawdown and monthly/annual returns.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_chart.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_chart.h"

#define HOUR (BT_USECS_PER_DAY / 24)

static void
test_buckets(void)
{
	/* 10 points over 5 columns: two per column */
	int64_t		ts[10];
	double		v[10] = {1, 5, 3, 2, NAN, 7, -1, 4, 6, 6};
	BtBucket	b[5];
	int			cols[3];

	for (int i = 0; i < 10; i++)
		ts[i] = i * HOUR;
	bt_chart_buckets(ts, v, v, v, 10, 0, 10 * HOUR, 5, b);
	CHECK(b[0].count == 2 && b[0].min == 1 && b[0].max == 5 && b[0].first == 1 && b[0].last == 5);
	CHECK(b[0].min_i == 0 && b[0].max_i == 1);
	CHECK(b[1].count == 2 && b[1].first == 3 && b[1].last == 2 && b[1].min_i == 3);
	/* the NaN is skipped */
	CHECK(b[2].count == 1 && b[2].first_i == 5 && b[2].min == 7);
	CHECK(b[3].min == -1 && b[3].max == 4 && b[3].min_i == 6 && b[3].max_i == 7);
	CHECK(b[4].count == 2 && b[4].last_i == 9);

	/* lo/hi separate from val (a price band) */
	{
		double		lo[4] = {9, 8, 7, 6};
		double		hi[4] = {11, 12, 13, 10};
		double		cl[4] = {10, 11, 12, 7};

		bt_chart_buckets(ts, lo, hi, cl, 4, 0, 3 * HOUR, 1, b);
		CHECK(b[0].count == 4 && b[0].min == 6 && b[0].max == 13 && b[0].last == 7 && b[0].first == 10);
	}

	/* columns: clamped end, outside, a single instant */
	cols[0] = bt_chart_column(10 * HOUR, 0, 10 * HOUR, 5);
	cols[1] = bt_chart_column(-1, 0, 10 * HOUR, 5);
	cols[2] = bt_chart_column(7, 7, 7, 5);
	CHECK(cols[0] == 4 && cols[1] == -1 && cols[2] == 0);

	/* empty columns stay empty */
	bt_chart_buckets(ts, v, v, v, 2, 0, 10 * HOUR, 5, b);
	CHECK(b[0].count == 2 && b[3].count == 0 && b[3].first_i == -1 && isnan(b[3].min));

	/* a million points into 1000 columns: every point lands, 1000 each */
	{
		int64_t		n = 1000000;
		int64_t    *t = unit_alloc.realloc_fn(NULL, NULL, n * sizeof(int64_t));
		double	   *x = unit_alloc.realloc_fn(NULL, NULL, n * sizeof(double));
		BtBucket	bb[1000];
		int64_t		total = 0;
		bool		even = true;

		for (int64_t i = 0; i < n; i++)
		{
			t[i] = i * 60000000;
			x[i] = sin(i / 1000.0);
		}
		bt_chart_buckets(t, x, x, x, n, t[0], t[n - 1] + 60000000, 1000, bb);
		for (int c = 0; c < 1000; c++)
		{
			total += bb[c].count;
			even = even && bb[c].count == 1000;
		}
		CHECK(total == n);
		CHECK(even);
	}
}

static void
test_nice_ticks(void)
{
	BtTicks		t;

	bt_nice_ticks(0, 100, 6, &t);
	CHECK_MSG(t.n == 6 && t.step == 20 && t.v[0] == 0 && t.v[5] == 100, "n=%d step=%g", t.n, t.step);
	CHECK(t.decimals == 0);

	bt_nice_ticks(97.3, 103.9, 5, &t);
	CHECK_MSG(t.step == 2 && t.v[0] == 98 && t.v[t.n - 1] == 102, "step=%g v0=%g", t.step, t.v[0]);

	bt_nice_ticks(0.00123, 0.00187, 5, &t);
	CHECK_NEAR(t.step, 0.0002, 1e-12);
	CHECK(t.decimals == 4);
	for (int i = 0; i < t.n; i++)
		CHECK(t.v[i] >= 0.00123 && t.v[i] <= 0.00187);

	/* a narrow range still gets two ticks inside */
	bt_nice_ticks(1.01, 1.19, 5, &t);
	CHECK_MSG(t.n >= 2 && t.v[0] >= 1.01 && t.v[t.n - 1] <= 1.19, "n=%d", t.n);

	/* negative to positive: zero is a tick, printed without sign */
	bt_nice_ticks(-57, 21, 5, &t);
	{
		bool		zero = false;

		for (int i = 0; i < t.n; i++)
			zero = zero || (t.v[i] == 0 && !signbit(t.v[i]));
		CHECK(zero);
	}

	/* a single value */
	bt_nice_ticks(5, 5, 5, &t);
	CHECK(t.n >= 2 && t.v[0] <= 5 && t.v[t.n - 1] >= 5);

	/* never more than BT_MAX_TICKS */
	bt_nice_ticks(0, 1e6, 1000, &t);
	CHECK(t.n <= BT_MAX_TICKS);

	{
		double		lo = 10,
					hi = 10;

		bt_pad_range(&lo, &hi, 0.1);
		CHECK(lo == 9 && hi == 11);
		lo = 0;
		hi = 100;
		bt_pad_range(&lo, &hi, 0.05);
		CHECK(lo == -5 && hi == 105);
		lo = NAN;
		bt_pad_range(&lo, &hi, 0.05);
		CHECK(lo == 0 && hi == 1);
	}
}

static void
test_time_ticks(void)
{
	BtTimeTicks t;
	char		buf[32];
	int64_t		jan2020 = unit_parse_ts("2020-01-01");

	/* five years: yearly ticks on January 1st */
	bt_time_ticks(unit_parse_ts("2019-06-15"), unit_parse_ts("2024-06-15"), 8, &t);
	CHECK_MSG(t.unit == BT_TU_YEAR && t.step == 1 && t.n == 5, "unit=%d step=%d n=%d", t.unit, t.step, t.n);
	CHECK(t.t[0] == jan2020);
	bt_format_time(t.t[0], t.unit, buf, sizeof buf);
	CHECK(strcmp(buf, "2020") == 0);

	/* a year: quarters or months on the 1st */
	bt_time_ticks(jan2020, unit_parse_ts("2020-12-31"), 8, &t);
	CHECK_MSG(t.unit == BT_TU_MONTH && t.step == 2, "unit=%d step=%d", t.unit, t.step);
	CHECK(t.t[1] == unit_parse_ts("2020-03-01"));
	bt_format_time(t.t[1], t.unit, buf, sizeof buf);
	CHECK(strcmp(buf, "2020-03") == 0);

	/* two weeks: days at midnight */
	bt_time_ticks(unit_parse_ts("2020-01-01 13:00:00"), unit_parse_ts("2020-01-08 00:00:00"), 10, &t);
	CHECK_MSG(t.unit == BT_TU_DAY && t.step == 1 && t.n == 7, "unit=%d step=%d n=%d", t.unit, t.step, t.n);
	CHECK(t.t[0] == unit_parse_ts("2020-01-02"));
	bt_format_time(t.t[0], t.unit, buf, sizeof buf);
	CHECK(strcmp(buf, "2020-01-02") == 0);

	/* weekly ticks fall on Mondays: 2020-01-06 was a Monday */
	bt_time_ticks(jan2020, unit_parse_ts("2020-03-01"), 10, &t);
	CHECK_MSG(t.unit == BT_TU_DAY && t.step == 7, "unit=%d step=%d", t.unit, t.step);
	CHECK(t.t[0] == unit_parse_ts("2020-01-06"));

	/* a trading day: hours */
	bt_time_ticks(unit_parse_ts("2020-01-02 09:30:00"), unit_parse_ts("2020-01-02 16:00:00"), 8, &t);
	CHECK_MSG(t.unit == BT_TU_HOUR && t.step == 1 && t.t[0] == unit_parse_ts("2020-01-02 10:00:00"),
			  "unit=%d step=%d", t.unit, t.step);
	bt_format_time(t.t[0], t.unit, buf, sizeof buf);
	CHECK(strcmp(buf, "01-02 10:00") == 0);

	/* seconds, and before 1970 */
	bt_format_time(unit_parse_ts("1969-12-31 23:59:58"), BT_TU_SECOND, buf, sizeof buf);
	CHECK(strcmp(buf, "23:59:58") == 0);
	bt_format_time(unit_parse_ts("1969-12-31 23:59:58"), BT_TU_DAY, buf, sizeof buf);
	CHECK(strcmp(buf, "1969-12-31") == 0);

	/* every tick is within the range and the count is bounded */
	bt_time_ticks(0, INT64_C(1000) * 365 * BT_USECS_PER_DAY, 10, &t);
	CHECK(t.n <= 10 && t.n >= 2);
}

/* Drawdown from the running peak: 100 120 90 130 117 -> 0 0 -25 0 -10 */
static void
test_drawdown(void)
{
	double		dd[5];
	double		e2[5] = {100, 120, 90, 130, 117};

	bt_drawdown_pct(e2, 5, dd);
	CHECK(dd[0] == 0 && dd[1] == 0);
	CHECK_NEAR(dd[2], -25.0, 1e-12);
	CHECK(dd[3] == 0);
	CHECK_NEAR(dd[4], -10.0, 1e-12);
}

void
test_chart(void)
{
	test_buckets();
	test_nice_ticks();
	test_time_ticks();
	test_drawdown();
}
