/*-------------------------------------------------------------------------
 *
 * test_analytics.c
 *	  Trade analytics against the bars by hand: MAE/MFE of long, short,
 *	  stopped and open trades under both fill rules, entry/exit bar numbers,
 *	  the cash column of the equity curve, and the winning/losing streaks.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_analytics.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"

#define DAY BT_USECS_PER_DAY
#define K BT_KEEP

/*
 * Six bars.  Bar 0 and bar 4 have extremes (30, 1 and 20, 1) that the
 * trades below must not see: bar 0 lies before every entry, and the long
 * trades leave at bar 4's open.
 *   bar:    0     1     2     3     4     5
 */
static const double o[] = {10, 11, 12, 13, 14, 15};
static const double h[] = {30, 12, 15, 14, 20, 16};
static const double l[] = {1, 10, 8, 12, 1, 14};
static const double c[] = {10.5, 11.5, 12.5, 13.5, 14.5, 15.5};
static int64_t ts[6];

static BtSeries
series(void)
{
	BtSeries	s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 6; i++)
		ts[i] = (int64_t) (16436 + i) * DAY;
	s.n = 6;
	s.ts = ts;
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	return s;
}

/* Simulate targets tg with p, then the excursions and metrics */
static BtResult
run(const int8_t *tg, const BtSimParams *p)
{
	BtSeries	s = series();
	BtResult	r;
	BtError		err;

	CHECK(bt_simulate(&s, tg, 0, p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	bt_trade_excursions(&s, p, r.trades, r.ntrades);
	bt_compute_metrics(&s, 0, p, &r);
	return r;
}

/*
 * Next-open fills, long: decided on bar 0, entered at bar 1's open (11);
 * the exit decided on bar 3 fills at bar 4's open (14).  Held through bars
 * 1..3 (lows 10, 8, 12; highs 12, 15, 14) and bar 4's open:
 * MAE 8 = (8 - 11) / 11 = -27.27%, MFE 15 = 4 / 11 = +36.36%.
 * Cash: 100 until the entry, then 100 - 9 * 11 = 1 (9 units), then
 * 1 + 9 * 14 = 127 after the exit.
 */
static void
test_long_next_open(void)
{
	int8_t		tg[] = {1, K, K, 0, K, K};
	BtSimParams p;
	BtResult	r;
	double		want_cash[] = {100, 1, 1, 1, 127, 127};

	bt_sim_defaults(&p);
	p.initial_capital = 100;
	r = run(tg, &p);
	CHECK(r.ntrades == 1);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 4);
	CHECK(r.trades[0].mae_price == 8 && r.trades[0].mfe_price == 15);
	CHECK_NEAR(r.trades[0].mae_pct, -300.0 / 11, 1e-12);
	CHECK_NEAR(r.trades[0].mfe_pct, 400.0 / 11, 1e-12);
	for (int i = 0; i < 6; i++)
	{
		CHECK_MSG(r.cash[i] == want_cash[i], "cash[%d] = %g", i, r.cash[i]);
		CHECK_MSG(r.equity[i] == r.cash[i] + r.position[i] * c[i], "equity[%d]", i);
	}
}

/*
 * Close fills: entered at bar 0's close (10.5), so bar 0's range (30, 1)
 * came before the entry; left at bar 3's close (13.5), holding bars 1..3
 * whole: MAE 8 = -2.5 / 10.5 = -23.81%, MFE 15 = 4.5 / 10.5 = +42.86%.
 */
static void
test_long_close_fill(void)
{
	int8_t		tg[] = {1, K, K, 0, K, K};
	BtSimParams p;
	BtResult	r;

	bt_sim_defaults(&p);
	p.initial_capital = 100;
	p.fill = BT_FILL_CLOSE;
	r = run(tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].entry_bar == 0 && r.trades[0].exit_bar == 3);
	CHECK(r.trades[0].mae_price == 8 && r.trades[0].mfe_price == 15);
	CHECK_NEAR(r.trades[0].mae_pct, -250.0 / 10.5, 1e-12);
	CHECK_NEAR(r.trades[0].mfe_pct, 450.0 / 10.5, 1e-12);
}

/*
 * A 10% stop-loss: entered at 11, the level is 9.9; bar 1's low 10 stays
 * above it, bar 2 opens at 12 and its low 8 reaches it: out at 9.9 on bar
 * 2.  Held through bar 1 (10..12) and bar 2's open (12), not bar 2's high
 * 15 (it may have come after the stop): MAE 9.9 = -10%, MFE 12 = +9.09%.
 */
static void
test_stopped(void)
{
	int8_t		tg[] = {1, K, K, K, K, K};
	BtSimParams p;
	BtResult	r;

	bt_sim_defaults(&p);
	p.initial_capital = 100;
	p.stop_loss = 0.1;
	r = run(tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_STOP_LOSS);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 2);
	CHECK_NEAR(r.trades[0].exit_price, 9.9, 1e-12);
	CHECK_NEAR(r.trades[0].mae_price, 9.9, 1e-12);
	CHECK(r.trades[0].mfe_price == 12);
	CHECK_NEAR(r.trades[0].mae_pct, -10.0, 1e-12);
	CHECK_NEAR(r.trades[0].mfe_pct, 100.0 / 11, 1e-12);
}

/*
 * A buy limit 5% below bar 0's close: level 9.975; bar 1's low 10 misses
 * it, bar 2 (open 12, low 8) fills at 9.975; out at bar 4's open (14).
 * Bar 2's high 15 may have come before the fill and does not count; its
 * low 8 came after (the price fell through the level to it) and its close
 * 12.5 too; then bar 3 (12..14) and bar 4's open: MAE 8 =
 * (8 - 9.975) / 9.975 = -19.80%, MFE 14 = 4.025 / 9.975 = +40.35%.
 */
static void
test_limit_entry(void)
{
	int8_t		tg[] = {1, K, K, 0, K, K};
	BtSimParams p;
	BtResult	r;

	bt_sim_defaults(&p);
	p.initial_capital = 100;
	p.entry = BT_ENTRY_LIMIT;
	p.entry_offset = 0.05;
	p.valid_bars = 3;
	r = run(tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].entry_intrabar);
	CHECK(r.trades[0].entry_bar == 2 && r.trades[0].exit_bar == 4);
	CHECK_NEAR(r.trades[0].entry_price, 9.975, 1e-12);
	CHECK(r.trades[0].mae_price == 8 && r.trades[0].mfe_price == 14);
	CHECK_NEAR(r.trades[0].mae_pct, (8 - 9.975) / 9.975 * 100, 1e-12);
	CHECK_NEAR(r.trades[0].mfe_pct, (14 - 9.975) / 9.975 * 100, 1e-12);
}

/*
 * A short still open at the end: decided on bar 2, entered at bar 3's open
 * (13), marked at the last close; it held bars 3..5 whole (highs 14, 20,
 * 16; lows 12, 1, 14).  Adverse for a short is up: MAE 20 =
 * -(20 - 13) / 13 = -53.85%, MFE 1 = 12 / 13 = +92.31%.
 */
static void
test_short_open_at_end(void)
{
	int8_t		tg[] = {K, K, -1, K, K, K};
	BtSimParams p;
	BtResult	r;

	bt_sim_defaults(&p);
	p.initial_capital = 100;
	p.allow_short = true;
	r = run(tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].is_open && r.trades[0].side == -1);
	CHECK(r.trades[0].entry_bar == 3 && r.trades[0].exit_bar == 5);
	CHECK(r.trades[0].mae_price == 20 && r.trades[0].mfe_price == 1);
	CHECK_NEAR(r.trades[0].mae_pct, -700.0 / 13, 1e-12);
	CHECK_NEAR(r.trades[0].mfe_pct, 1200.0 / 13, 1e-12);
	/* short proceeds are cash: 100 + 7 * 13 = 191 from bar 3 on */
	CHECK(r.cash[2] == 100 && r.cash[3] == 191 && r.cash[5] == 191);
}

/*
 * Streaks over the closed trades in order: pnl +, +, -, 0, -, -, -, +, and
 * an open winner that does not count: longest winning run 2 (trades 1-2),
 * longest losing run 3 (trades 5-7; the 0 of trade 4 ends the first one).
 */
static void
test_streaks(void)
{
	double		pnl[] = {5, 1, -2, 0, -1, -3, -4, 2, 9};
	BtTrade		t[9];
	double		eq[6] = {100, 100, 100, 100, 100, 100};
	BtSeries	s = series();
	BtSimParams p;
	BtResult	r;

	memset(t, 0, sizeof(t));
	for (int k = 0; k < 9; k++)
	{
		t[k].side = 1;
		t[k].entry_price = t[k].quantity = 1;
		t[k].pnl = pnl[k];
		t[k].return_pct = pnl[k];
		t[k].is_open = k == 8;
	}
	memset(&r, 0, sizeof(r));
	r.n = 6;
	r.equity = eq;
	r.trades = t;
	r.ntrades = 9;
	bt_sim_defaults(&p);
	bt_compute_metrics(&s, 0, &p, &r);
	CHECK(r.metrics.trades_count == 8 && r.metrics.open_trades == 1);
	CHECK(r.metrics.max_win_streak == 2);
	CHECK(r.metrics.max_loss_streak == 3);

	/* no closed trades: both 0 (a count, never NULL) */
	r.ntrades = 0;
	bt_compute_metrics(&s, 0, &p, &r);
	CHECK(r.metrics.max_win_streak == 0 && r.metrics.max_loss_streak == 0);
}

/*
 * Period returns over five bars from a base of 100:
 *   Tue 2024-01-30 100, Wed 01-31 110, Thu 02-01 99, Mon 02-05 121,
 *   Fri 03-01 102.85; closed trades leave on 01-31, 02-05 and 02-05.
 * Months: Jan 100 -> 110 = +10% (no drawdown, 1 trade); Feb 110 -> 121 =
 * +10%, its low 99 is 99/110 - 1 = -10% (2 trades); Mar 121 -> 102.85 =
 * -15%.  They compound to 1.1 * 1.1 * 0.85 = 1.0285 = 102.85 / 100.
 * ISO weeks: from Mon 01-29: 100 -> 99 = -1% (drawdown -10% from 110);
 * from 02-05: 99 -> 121 = +22.22%; from 02-26: -15%.
 */
static void
test_periods(void)
{
	int64_t		ts[5];
	double		eq[] = {100, 110, 99, 121, 102.85};
	int64_t		exits[3];
	BtPeriodRow r[5];
	BtPeriod	p;
	double		growth = 1;
	int64_t		n;

	ts[0] = unit_parse_ts("2024-01-30");
	ts[1] = unit_parse_ts("2024-01-31");
	ts[2] = unit_parse_ts("2024-02-01");
	ts[3] = unit_parse_ts("2024-02-05");
	ts[4] = unit_parse_ts("2024-03-01");
	exits[0] = ts[1];
	exits[1] = exits[2] = ts[3];

	CHECK(bt_period_parse("month", &p) && p == BT_PERIOD_MONTH);
	CHECK(!bt_period_parse("quarter", &p) && !bt_period_parse(NULL, &p));
	CHECK(bt_periods_count(ts, 5, BT_PERIOD_MONTH) == 3);
	n = bt_periods_fill(ts, eq, 5, 100, exits, 3, BT_PERIOD_MONTH, r);
	CHECK(n == 3);
	CHECK(r[0].start == unit_parse_ts("2024-01-01") && r[0].end == unit_parse_ts("2024-02-01"));
	CHECK(r[1].start == unit_parse_ts("2024-02-01") && r[1].end == unit_parse_ts("2024-03-01"));
	CHECK(r[2].start == unit_parse_ts("2024-03-01") && r[2].end == unit_parse_ts("2024-04-01"));
	CHECK(r[0].equity_start == 100 && r[0].equity_end == 110 && r[1].equity_start == 110);
	CHECK_NEAR(r[0].return_pct, 10, 1e-12);
	CHECK_NEAR(r[1].return_pct, 10, 1e-12);
	CHECK_NEAR(r[2].return_pct, -15, 1e-12);
	CHECK(r[0].max_drawdown_pct == 0);
	CHECK_NEAR(r[1].max_drawdown_pct, -10, 1e-12);
	CHECK_NEAR(r[2].max_drawdown_pct, -15, 1e-12);
	CHECK(r[0].trades == 1 && r[1].trades == 2 && r[2].trades == 0);
	CHECK(r[1].first_bar == 2 && r[1].last_bar == 3);
	for (int i = 0; i < n; i++)
		growth *= 1 + r[i].return_pct / 100;
	CHECK_NEAR(growth, 102.85 / 100, 1e-12);

	n = bt_periods_fill(ts, eq, 5, 100, exits, 3, BT_PERIOD_WEEK, r);
	CHECK(n == 3 && bt_periods_count(ts, 5, BT_PERIOD_WEEK) == 3);
	CHECK(r[0].start == unit_parse_ts("2024-01-29") && r[0].end == unit_parse_ts("2024-02-05"));
	CHECK(r[2].start == unit_parse_ts("2024-02-26"));
	CHECK_NEAR(r[0].return_pct, -1, 1e-12);
	CHECK_NEAR(r[0].max_drawdown_pct, -10, 1e-12);
	CHECK_NEAR(r[1].return_pct, 100.0 * 22 / 99, 1e-12);
	CHECK(r[0].trades == 1 && r[1].trades == 2);

	n = bt_periods_fill(ts, eq, 5, 100, exits, 3, BT_PERIOD_YEAR, r);
	CHECK(n == 1 && r[0].start == unit_parse_ts("2024-01-01") && r[0].end == unit_parse_ts("2025-01-01"));
	CHECK_NEAR(r[0].return_pct, 2.85, 1e-12);
	CHECK_NEAR(r[0].max_drawdown_pct, -15, 1e-12);
	CHECK(r[0].trades == 3);

	n = bt_periods_fill(ts, eq, 5, 100, exits, 3, BT_PERIOD_DAY, r);
	CHECK(n == 5 && r[3].start == ts[3] && r[3].end == ts[3] + BT_USECS_PER_DAY);

	/* before 1970: Wed 1969-12-31 is in the week from Mon 1969-12-29 */
	ts[0] = -BT_USECS_PER_DAY + 3600 * INT64_C(1000000);
	n = bt_periods_fill(ts, eq, 1, 100, exits, 0, BT_PERIOD_WEEK, r);
	CHECK(n == 1 && r[0].start == -3 * BT_USECS_PER_DAY && r[0].end == 4 * BT_USECS_PER_DAY);
	n = bt_periods_fill(ts, eq, 1, 100, exits, 0, BT_PERIOD_MONTH, r);
	CHECK(r[0].start == -31 * BT_USECS_PER_DAY && r[0].end == 0);
}

/*
 * Daily equity 2020-01-30 .. 2020-03-02 rising 1 a day from 100 (33 bars)
 * and a base of 100: January 100 -> 101 = 1%; February 101 -> 130 (29 days
 * in 2020); March 130 -> 132; the year 100 -> 132 = 32%.  From a base of
 * 99 (the capital before a first bar's costs) January is 101 / 99 - 1: the
 * first period opens from the base, not from the first bar's equity.
 */
static void
test_periods_daily(void)
{
	int64_t		ts[33];
	double		eq[33];
	BtPeriodRow r[3];
	int64_t		n;

	for (int i = 0; i < 33; i++)
	{
		ts[i] = unit_parse_ts("2020-01-30") + i * BT_USECS_PER_DAY;
		eq[i] = 100 + i;
	}
	CHECK(bt_periods_count(ts, 33, BT_PERIOD_MONTH) == 3);
	n = bt_periods_fill(ts, eq, 33, 100, NULL, 0, BT_PERIOD_MONTH, r);
	CHECK(n == 3);
	CHECK(r[0].start == unit_parse_ts("2020-01-01") && r[1].start == unit_parse_ts("2020-02-01"));
	CHECK_NEAR(r[0].return_pct, 1.0, 1e-12);
	CHECK_NEAR(r[1].return_pct, (130.0 / 101.0 - 1) * 100, 1e-12);
	CHECK_NEAR(r[2].return_pct, (132.0 / 130.0 - 1) * 100, 1e-12);
	CHECK(bt_periods_count(ts, 33, BT_PERIOD_YEAR) == 1);
	n = bt_periods_fill(ts, eq, 33, 100, NULL, 0, BT_PERIOD_YEAR, r);
	CHECK(n == 1);
	CHECK_NEAR(r[0].return_pct, 32.0, 1e-12);
	n = bt_periods_fill(ts, eq, 33, 99, NULL, 0, BT_PERIOD_MONTH, r);
	CHECK(n == 3 && r[0].equity_start == 99);
	CHECK_NEAR(r[0].return_pct, (101.0 / 99.0 - 1) * 100, 1e-12);
	CHECK_NEAR(r[1].return_pct, (130.0 / 101.0 - 1) * 100, 1e-12);
	/* years with bars only: 2020 and 2022 are two rows */
	ts[1] = unit_parse_ts("2022-02-01");
	CHECK(bt_periods_count(ts, 2, BT_PERIOD_YEAR) == 2);
}

/*
 * Resampling six bars (bar i at hour i, opens 1..6, highs 10+i, lows 5-i...)
 * into 2-hour buckets from hour 1: buckets [-1,1) = bar 0, [1,3) = bars 1-2,
 * [3,5) = bars 3-4, [5,7) = bar 5.  Then on a clock that goes back (wall
 * times 0, 1, 2, 1, 2, 3 h: bars 3 and 4 repeat hours 1 and 2): 1-hour
 * buckets group bars {0}, {1, 3}, {2, 4}, {5}, first and last by time.
 */
static void
test_resample(void)
{
	int64_t		ts[6],
				clock[6];
	double		o[6], h[6], l[6], c[6], v[6];
	BtSeries	s;
	BtResampled r;
	const int64_t H = INT64_C(3600000000);
	int64_t		wall[] = {0, 1, 2, 1, 2, 3};

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 6; i++)
	{
		ts[i] = i * H;
		clock[i] = wall[i] * H;
		o[i] = i + 1;
		h[i] = 10 + i;
		l[i] = 0.5 + i;
		c[i] = 2 + i;
		v[i] = 100 * (i + 1);
	}
	s.n = 6;
	s.ts = ts;
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	s.volume = v;

	bt_resample(&s, NULL, 2 * H, H, &unit_alloc, &r);
	CHECK(r.n == 4);
	CHECK(r.bucket[0] == -H && r.bucket[1] == H && r.bucket[2] == 3 * H && r.bucket[3] == 5 * H);
	CHECK(r.bars[0] == 1 && r.bars[1] == 2 && r.bars[2] == 2 && r.bars[3] == 1);
	/* bars 1-2: open 2, high 12, low 1.5, close 4, volume 200 + 300 */
	CHECK(r.open[1] == 2 && r.high[1] == 12 && r.low[1] == 1.5 && r.close[1] == 4 && r.volume[1] == 500);
	CHECK(r.first_ts[1] == H && r.first_ts[2] == 3 * H);
	CHECK(r.signal == NULL);

	/*
	 * A signal column: the last non-NaN of each bucket.  Signals 1, NaN,
	 * -0.5, 0.25, NaN, NaN: buckets {0}, {1, 2}, {3, 4}, {5} give 1, -0.5
	 * (the NaN before it keeps nothing), 0.25 (the NaN after it keeps it)
	 * and NaN (no signal in the bucket: keep).
	 */
	{
		double		sig[6] = {1, NAN, -0.5, 0.25, NAN, NAN};

		s.signal = sig;
		bt_resample(&s, NULL, 2 * H, H, &unit_alloc, &r);
		CHECK(r.n == 4 && r.signal != NULL);
		CHECK(r.signal[0] == 1 && r.signal[1] == -0.5 && r.signal[2] == 0.25 && isnan(r.signal[3]));
		/* on the wall clock that goes back: hour 1 is bars 1 and 3 -> 0.25; hour 2 bars 2 and 4 -> -0.5 */
		bt_resample(&s, clock, H, 0, &unit_alloc, &r);
		CHECK(r.signal[0] == 1 && r.signal[1] == 0.25 && r.signal[2] == -0.5 && isnan(r.signal[3]));
		s.signal = NULL;
	}

	bt_resample(&s, clock, H, 0, &unit_alloc, &r);
	CHECK(r.n == 4);
	CHECK(r.bucket[1] == H && r.bars[1] == 2 && r.bars[2] == 2);
	/* hour 1 on the wall clock: bars 1 and 3 - open of bar 1, close of bar 3 */
	CHECK(r.open[1] == 2 && r.close[1] == 5 && r.high[1] == 13 && r.low[1] == 1.5 && r.volume[1] == 600);
	/* hour 2: bars 2 and 4 */
	CHECK(r.open[2] == 3 && r.close[2] == 6 && r.volume[2] == 800 && r.first_ts[2] == 2 * H);
	CHECK(r.open[3] == 6 && r.bars[3] == 1);

	/* no volume: none summed */
	s.volume = NULL;
	bt_resample(&s, NULL, 3 * H, 0, &unit_alloc, &r);
	CHECK(r.n == 2 && r.volume == NULL && r.high[0] == 12 && r.low[1] == 3.5);
}

/*
 * A curve of six bars (hours 0..5): equity 100, 110, 99, 121, 90, 95, in
 * 2-hour buckets from hour 0:
 * {100, 110}, {99, 121}, {90, 95}.  The drawdowns from the running peak
 * (100, 110, 110, 121, 121, 121): 0, 0, -10, 0, -25.6198..., -21.4876...
 * On a clock that goes back (wall hours 0, 1, 0, 1, 2, 2), 1-hour buckets
 * group bars {0, 2}, {1, 3}, {4, 5}, first and last by time.
 */
static void
test_downsample_curve(void)
{
	const int64_t H = INT64_C(3600000000);
	int64_t		ts[6],
				wall[6];
	double		eq[6] = {100, 110, 99, 121, 90, 95};
	int64_t		wh[6] = {0, 1, 0, 1, 2, 2};
	BtCurveBuckets b;

	for (int i = 0; i < 6; i++)
	{
		ts[i] = i * H;
		wall[i] = wh[i] * H;
	}
	bt_downsample_curve(ts, 6, eq, 2 * H, 0, &unit_alloc, &b);
	CHECK(b.n == 3);
	CHECK(b.bucket[0] == 0 && b.bucket[1] == 2 * H && b.bucket[2] == 4 * H);
	CHECK(b.bars[0] == 2 && b.bars[1] == 2 && b.bars[2] == 2);
	CHECK(b.first[1] == 99 && b.high[1] == 121 && b.low[1] == 99 && b.last[1] == 121);
	CHECK(b.mean[0] == 105 && b.mean[1] == 110 && b.mean[2] == 92.5);
	CHECK(b.drawdown[0] == 0 && fabs(b.drawdown[1] + 10) < 1e-12);
	CHECK(fabs(b.drawdown[2] - (90.0 / 121.0 - 1) * 100) < 1e-12);

	bt_downsample_curve(wall, 6, eq, H, 0, &unit_alloc, &b);
	CHECK(b.n == 3);
	/* wall hour 0: bars 0 and 2; hour 1: bars 1 and 3 */
	CHECK(b.first[0] == 100 && b.last[0] == 99 && b.low[0] == 99 && fabs(b.drawdown[0] + 10) < 1e-12);
	CHECK(b.first[1] == 110 && b.last[1] == 121 && b.high[1] == 121 && b.mean[1] == 115.5);
	CHECK(b.bars[2] == 2 && b.first[2] == 90 && b.last[2] == 95);
}

void
test_analytics(void)
{
	test_resample();
	test_downsample_curve();
	test_periods();
	test_periods_daily();
	test_long_next_open();
	test_long_close_fill();
	test_stopped();
	test_limit_entry();
	test_short_open_at_end();
	test_streaks();
}
