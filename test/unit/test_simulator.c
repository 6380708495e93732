/*-------------------------------------------------------------------------
 *
 * test_simulator.c
 *	  Hand-worked cases of the fill contract, costs, sizing, stops and open
 *	  trades.  Every expected number is worked out in the comments.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_simulator.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"

#define DAY BT_USECS_PER_DAY

#define K BT_KEEP

/* Next-open fills, all-in whole units, no costs */
static void
test_next_open(void)
{
	/* bar:          0    1    2    3    4    5 */
	double		o[] = {10, 11, 12, 13, 14, 15};
	double		h[] = {11, 12, 13, 14, 15, 16};
	double		l[] = {9, 10, 11, 12, 13, 14};
	double		c[] = {10.5, 11.5, 12.5, 13.5, 14.5, 15.5};
	int8_t		tg[] = {1, K, 0, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	unit_bars_init(&b, 6, o, h, l, c);
	bt_sim_defaults(&p);
	p.initial_capital = 100;
	r = unit_sim(&b, tg, &p);
	/* buy decided on bar 0, filled at open 1 = 11: floor(100/11) = 9 units, cash 1 */
	/* sell decided on bar 2, filled at open 3 = 13: pnl 9*(13-11) = 18, equity 118 */
	CHECK(r.ntrades == 1);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 3);
	CHECK_NEAR(r.trades[0].entry_price, 11, 1e-12);
	CHECK_NEAR(r.trades[0].exit_price, 13, 1e-12);
	CHECK_NEAR(r.trades[0].quantity, 9, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, 18, 1e-12);
	CHECK(!r.trades[0].is_open);
	/* equity: bar0 100 (flat), bar1 1 + 9*11.5 = 104.5, bar2 1 + 9*12.5 = 113.5, bar3.. 118 */
	CHECK_NEAR(r.equity[0], 100, 1e-12);
	CHECK_NEAR(r.equity[1], 104.5, 1e-12);
	CHECK_NEAR(r.equity[2], 113.5, 1e-12);
	CHECK_NEAR(r.equity[5], 118, 1e-12);
	CHECK(r.position[0] == 0 && r.position[1] == 9 && r.position[3] == 0);
	CHECK_NEAR(r.metrics.return_pct, 18, 1e-12);
	/* exposure: bars 1..3 of 6 */
	CHECK_NEAR(r.metrics.exposure_pct, 50, 1e-12);

	/* the same with close fills: buy at close 0 = 10.5 (9 units, cash 5.5), sell at close 2 = 12.5 */
	p.fill = BT_FILL_CLOSE;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].entry_bar == 0 && r.trades[0].exit_bar == 2);
	CHECK_NEAR(r.trades[0].pnl, 9 * 2.0, 1e-12);
	CHECK_NEAR(r.equity[0], 100, 1e-12);	/* 5.5 + 9*10.5 */

	/* a decision on the last bar never fills with next-open fills */
	{
		int8_t		tg2[] = {K, K, K, K, K, 1};

		p.fill = BT_FILL_OPEN;
		r = unit_sim(&b, tg2, &p);
		CHECK(r.ntrades == 0);
		CHECK_NEAR(r.equity[5], 100, 1e-12);
	}
}

/* Costs: commission with a minimum, fixed fee, stamp duty on sells, slippage, lots */
static void
test_costs(void)
{
	double		o[] = {100, 100, 100, 110, 110};
	double		h[] = {101, 101, 101, 111, 111};
	double		l[] = {99, 99, 99, 109, 109};
	double		c[] = {100, 100, 100, 110, 110};
	int8_t		tg[] = {1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	unit_bars_init(&b, 5, o, h, l, c);
	bt_sim_defaults(&p);
	p.initial_capital = 100000;
	p.lot_size = 100;
	p.commission = 0.001;
	p.commission_min = 50;
	p.stamp_duty = 0.001;
	p.slippage_bps = 10;

	/*
	 * Buy at open 1: fill 100 * 1.001 = 100.1.  Budget 100000:
	 * q = 100000 / (100.1 * 1.001) = 998.0 -> 900 shares (lots of 100).
	 * Notional 90090, commission max(90.09, 50) = 90.09, no stamp on buys.
	 * Cash 100000 - 90090 - 90.09 = 9819.91.
	 * Sell at open 3: fill 110 * 0.999 = 109.89; notional 98901;
	 * commission 98.901, stamp 98.901; cash 9819.91 + 98901 - 197.802 = 108523.108.
	 * pnl = (109.89 - 100.1) * 900 - 90.09 - 197.802 = 8811 - 287.892 = 8523.108.
	 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].entry_price, 100.1, 1e-12);
	CHECK_NEAR(r.trades[0].exit_price, 109.89, 1e-12);
	CHECK_NEAR(r.trades[0].quantity, 900, 1e-12);
	CHECK_NEAR(r.trades[0].commission, 287.892, 1e-9);
	CHECK_NEAR(r.trades[0].pnl, 8523.108, 1e-9);
	CHECK_NEAR(r.equity[4], 108523.108, 1e-9);
	CHECK_NEAR(r.metrics.commissions, 287.892, 1e-9);
	/* return_pct = pnl / (entry * q) = 8523.108 / 90090 */
	CHECK_NEAR(r.trades[0].return_pct, 8523.108 / 90090 * 100, 1e-9);

	/* the minimum commission binds on a small order: capital 1000, no slippage */
	p.initial_capital = 1000;
	p.lot_size = 1;
	p.slippage_bps = 0;
	p.stamp_duty = 0;

	/*
	 * q = 1000 / 100.1 = 9.99 -> commission 0.999 < 50, so
	 * q = (1000 - 50) / 100 = 9.5 -> 9 shares; cost 900 + 50.
	 */
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 9, 1e-12);
	/* pnl = 9 * 10 - 50 - 50 */
	CHECK_NEAR(r.trades[0].pnl, -10, 1e-9);

	/* fixed fee and fractional quantities: q = (1000 - 1) / 100 = 9.99 */
	p.commission = 0;
	p.commission_min = 0;
	p.commission_fixed = 1;
	p.fractional = true;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 9.99, 1e-9);
	CHECK_NEAR(r.trades[0].pnl, 9.99 * 10 - 2, 1e-9);

	/* not even one lot affordable: no trade, no crash */
	p.fractional = false;
	p.lot_size = 100;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0);
	CHECK_NEAR(r.equity[4], 1000, 1e-12);
}

/* Stops: gap through the level, both levels in one bar, trailing stop */
static void
test_stops(void)
{
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	bt_sim_defaults(&p);
	p.initial_capital = 1000;

	/* stop-loss 10% from entry 100 = 90; bar 2 gaps down to open 85: fill at 85 */
	{
		double		o[] = {100, 100, 85, 80};
		double		h[] = {101, 102, 86, 81};
		double		l[] = {99, 95, 84, 79};
		double		c[] = {100, 98, 85, 80};
		int8_t		tg[] = {1, K, K, K};

		unit_bars_init(&b, 4, o, h, l, c);
		p.stop_loss = 0.10;
		r = unit_sim(&b, tg, &p);
		CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_STOP_LOSS);
		CHECK(r.trades[0].exit_bar == 2);
		CHECK_NEAR(r.trades[0].exit_price, 85, 1e-12);
		CHECK_NEAR(r.trades[0].pnl, 10 * (85 - 100), 1e-9);
	}
	/* stop 90 and take-profit 110 both inside bar 2's range: the stop wins, at 90 */
	{
		double		o[] = {100, 100, 100, 100};
		double		h[] = {101, 102, 115, 101};
		double		l[] = {99, 95, 85, 99};
		double		c[] = {100, 98, 100, 100};
		int8_t		tg[] = {1, K, K, K};

		unit_bars_init(&b, 4, o, h, l, c);
		p.stop_loss = 0.10;
		p.take_profit = 0.10;
		r = unit_sim(&b, tg, &p);
		CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_STOP_LOSS);
		CHECK_NEAR(r.trades[0].exit_price, 90, 1e-12);
		/* only the take-profit inside the bar: exits at 110 */
		b.l[2] = 95;
		r = unit_sim(&b, tg, &p);
		CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_TAKE_PROFIT);
		CHECK_NEAR(r.trades[0].exit_price, 110, 1e-12);
		/* a gap up through the take-profit fills at the open */
		b.o[2] = 112;
		b.l[2] = 111;
		r = unit_sim(&b, tg, &p);
		CHECK_NEAR(r.trades[0].exit_price, 112, 1e-12);
	}
	/*
	 * trailing 10%: entry 100 at open 1; highs 1..3 = 105, 120, 118.  Level
	 * on bar 2 = 0.9 * 105 = 94.5 (bar 2's own high does not count), on bar 3
	 * 0.9 * 120 = 108; bar 3's low 107 hits it: exit at 108.
	 */
	{
		double		o[] = {100, 100, 104, 117, 110};
		double		h[] = {101, 105, 120, 118, 111};
		double		l[] = {99, 99, 95, 107, 109};
		double		c[] = {100, 104, 117, 110, 110};
		int8_t		tg[] = {1, K, K, K, K};

		unit_bars_init(&b, 5, o, h, l, c);
		p.stop_loss = 0;
		p.take_profit = 0;
		p.trailing_stop = 0.10;
		r = unit_sim(&b, tg, &p);
		CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_TRAILING_STOP);
		CHECK(r.trades[0].exit_bar == 3);
		CHECK_NEAR(r.trades[0].exit_price, 108, 1e-12);
		p.trailing_stop = 0;
	}
}

/* Shorts, reversals and a position still open at the end */
static void
test_short_and_open(void)
{
	double		o[] = {100, 100, 90, 80, 90, 100};
	double		h[] = {101, 101, 91, 81, 91, 101};
	double		l[] = {99, 99, 89, 79, 89, 99};
	double		c[] = {100, 95, 85, 85, 95, 105};
	int8_t		tg[] = {-1, K, 1, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	unit_bars_init(&b, 6, o, h, l, c);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;

	/* long-only: -1 means flat, so nothing happens until the buy at open 3 = 80 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].is_open);
	CHECK(r.trades[0].exit_reason == BT_EXIT_END);
	CHECK_NEAR(r.trades[0].quantity, 12, 1e-12);	/* floor(1000/80) */
	CHECK_NEAR(r.trades[0].exit_price, 105, 1e-12); /* marked at the last close */
	CHECK_NEAR(r.trades[0].pnl, 12 * 25, 1e-9);
	CHECK_NEAR(r.equity[5], 1000 + 300, 1e-9);
	CHECK(r.metrics.trades_count == 0 && r.metrics.open_trades == 1);

	/*
	 * allow_short: short 10 at open 1 = 100 (cash 2000), reverse at open 3 =
	 * 80: cover +200 -> cash 1200, equity 1200, buy floor(1200/80) = 15.
	 */
	p.allow_short = true;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 2);
	CHECK(r.trades[0].side == -1 && r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 3);
	CHECK_NEAR(r.trades[0].pnl, 200, 1e-9);
	/* short equity at bar 2: cash 2000 - 10 * 85 = 1150 */
	CHECK_NEAR(r.equity[2], 1150, 1e-9);
	CHECK(r.trades[1].side == 1 && r.trades[1].is_open);
	CHECK_NEAR(r.trades[1].quantity, 15, 1e-12);
	CHECK_NEAR(r.equity[5], 1200 + 15 * 25, 1e-9);
	CHECK(r.metrics.trades_count == 1 && r.metrics.open_trades == 1);
	CHECK(r.position[2] == -10 && r.position[3] == 15);
}

/* Series validation names the right bar */
static void
test_validation(void)
{
	double		o[] = {10, 11, 12, 13};
	double		h[] = {11, 12, 13, 14};
	double		l[] = {9, 10, 11, 12};
	double		c[] = {10, 11, 12, 13};
	UnitBars	b;
	BtError		err;

	unit_bars_init(&b, 4, o, h, l, c);
	CHECK(bt_validate_series(&b.s, true, &err));
	b.c[2] = NAN;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 2 && err.code == BT_ERR_DATA);
	CHECK(strstr(err.msg, "close") != NULL);
	b.c[2] = INFINITY;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 2);
	b.c[2] = 12;
	b.h[1] = 9;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 1 && strstr(err.msg, "high"));
	b.h[1] = 12;
	b.ts[3] = b.ts[2];
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 3 &&
		  strstr(err.msg, "duplicate"));
	b.ts[3] = b.ts[1];
	CHECK(!bt_validate_series(&b.s, true, &err) && strstr(err.msg, "ascending"));
	b.ts[3] = b.ts[2] + DAY;
	b.v[0] = -1;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 0);
	CHECK(bt_validate_series(&b.s, false, &err));

	/*
	 * Subnormal prices are finite and positive, but capital / price is
	 * infinite: the quantity was Infinity and the equity NaN.  Rejected,
	 * naming the bar and the column; so are prices above 1e100.
	 */
	b.v[0] = 1000;
	b.l[2] = b.o[2] = 4e-320;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 2 && err.code == BT_ERR_DATA &&
		  strstr(err.msg, "open price") && strstr(err.msg, "outside the supported range"));
	b.o[2] = 12;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 2 && strstr(err.msg, "low price"));
	b.l[2] = BT_PRICE_MIN;
	CHECK(bt_validate_series(&b.s, true, &err));
	b.h[3] = 1e101;
	CHECK(!bt_validate_series(&b.s, true, &err) && err.bar == 3 && strstr(err.msg, "high price"));
	b.h[3] = BT_PRICE_MAX;
	CHECK(bt_validate_series(&b.s, true, &err));
	/* at the bounds, the run stays finite */
	{
		int8_t		tg[4] = {1, K, K, 0};
		BtSimParams p;
		BtResult	r;

		b.o[1] = b.l[1] = BT_PRICE_MIN;
		bt_sim_defaults(&p);
		p.initial_capital = 1e15;
		p.fractional = true;
		r = unit_sim(&b, tg, &p);
		CHECK(r.ntrades == 1 && isfinite(r.trades[0].quantity) && isfinite(r.metrics.equity_final));
		CHECK(isfinite(r.metrics.return_pct));
		unit_free_all();
	}
}

/*
 * Entries that cannot be filled because one lot costs more than the cash:
 * counted, with the first one's price, cash and the cost of one lot
 */
static void
test_unaffordable(void)
{
	double		o[] = {380, 380, 390, 400, 410};
	double		h[] = {381, 381, 391, 401, 411};
	double		l[] = {379, 379, 389, 399, 409};
	double		c[] = {380, 380, 390, 400, 410};
	int8_t		tg[] = {1, 0, 1, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	unit_bars_init(&b, 5, o, h, l, c);
	bt_sim_defaults(&p);
	p.initial_capital = 100000;
	p.lot_size = 2000;
	p.commission = 0.001;
	/* entries at bar 1's open (380) and bar 3's open (400): 2000 * 380 = 760,000 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0);
	CHECK(r.metrics.entries_unfilled == 2);
	CHECK_NEAR(r.metrics.unfilled_price, 380, 0);
	CHECK_NEAR(r.metrics.unfilled_cash, 100000, 0);
	CHECK_NEAR(r.metrics.unfilled_cost, 760000 + 760, 1e-12);
	/* affordable lots: nothing unfilled */
	p.lot_size = 100;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 2 && r.metrics.entries_unfilled == 0);
	/* fractional with a fixed commission above the cash: the fee alone */
	p.fractional = true;
	p.initial_capital = 3;
	p.commission_fixed = 5;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0 && r.metrics.entries_unfilled == 2);
	CHECK_NEAR(r.metrics.unfilled_cost, 5, 0);
	unit_free_all();
}

void
test_simulator(void)
{
	test_next_open();
	test_costs();
	test_stops();
	test_short_and_open();
	test_validation();
	test_unaffordable();
}
