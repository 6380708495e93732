/*-------------------------------------------------------------------------
 *
 * test_orders.c
 *	  Hand-worked cases of the sizing modes (sizing.c), the cost models
 *	  (costs.c: per-share commission with a minimum and a maximum, spread,
 *	  short borrow fee) and leverage with margin calls (simulator.c).  Every
 *	  expected number is worked out in the comments.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_orders.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_internal.h"

#define K BT_KEEP

/* n flat bars: open = close = px[i], high = px[i] + 1, low = px[i] - 1 */
static void
flat_bars(UnitBars *b, int n, const double px[])
{
	double		h[UNIT_MAXN],
				l[UNIT_MAXN];

	for (int i = 0; i < n; i++)
	{
		h[i] = px[i] + 1;
		l[i] = px[i] - 1;
	}
	unit_bars_init(b, n, px, h, l, px);
}

/* sizing "quantity": a fixed number of units, whole lots, or nothing */
static void
test_sizing_quantity(void)
{
	double		px[] = {10, 11, 12, 13, 14};
	int8_t		tg[] = {1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 5, px);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.sizing = BT_SIZING_QUANTITY;
	p.order_quantity = 30;
	/* buy 30 at open 1 = 11 (cash 1000 - 330 = 670), sell at open 3 = 13: pnl 60 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 30, 0);
	CHECK_NEAR(r.trades[0].pnl, 60, 1e-12);
	CHECK_NEAR(r.equity[1], 670 + 30 * 11, 1e-12);
	CHECK_NEAR(r.equity[4], 1060, 1e-12);

	/* lots of 20: 30 rounds down to 20, pnl 40 */
	p.lot_size = 20;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 20, 0);
	CHECK_NEAR(r.equity[4], 1040, 1e-12);

	/* 100 units at 11 plus a fee of 1 cost 1101 > 1000: not filled, counted */
	p.lot_size = 1;
	p.order_quantity = 100;
	p.commission_fixed = 1;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0);
	CHECK(r.metrics.entries_unfilled == 1);
	CHECK_NEAR(r.metrics.unfilled_cost, 1101, 1e-12);
	CHECK_NEAR(r.metrics.unfilled_cash, 1000, 1e-12);
	CHECK_NEAR(r.equity[4], 1000, 0);

	/* with leverage 2 the buying power is 2000: filled, cash 1000 - 1101 = -101 */
	p.leverage = 2;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 100, 0);
	CHECK_NEAR(r.equity[1], -101 + 100 * 11, 1e-12);
	/* sell 100 at 13: cash -101 + 1300 - 1 = 1198 */
	CHECK_NEAR(r.equity[4], 1198, 1e-12);
}

/* sizing "value": what a cash amount buys, costs included */
static void
test_sizing_value(void)
{
	double		px[] = {10, 11, 12, 13, 14};
	int8_t		tg[] = {1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 5, px);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.sizing = BT_SIZING_VALUE;
	p.order_value = 500;
	p.commission_fixed = 1;
	/* floor((500 - 1) / 11) = 45 units: 495 + 1 = 496 <= 500 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 45, 0);
	/* pnl 45 * 2 - 2 = 88 */
	CHECK_NEAR(r.trades[0].pnl, 88, 1e-12);
	CHECK_NEAR(r.equity[4], 1088, 1e-12);

	/* fractional: (500 - 1) / 11 units */
	p.fractional = true;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 499.0 / 11, 1e-12);

	/* 2000 is more than the 1000 of buying power: not filled */
	p.fractional = false;
	p.order_value = 2000;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0 && r.metrics.entries_unfilled == 1);
	CHECK_NEAR(r.metrics.unfilled_cost, 2000, 0);
}

/* sizing "risk": risk_fraction of equity lost at the stop-loss or k ATRs */
static void
test_sizing_risk(void)
{
	double		px[] = {100, 100, 100, 100, 100, 100, 100, 100};
	double		o[] = {100, 100, 100, 100, 100, 100, 96, 96};
	double		h[] = {101, 101, 101, 101, 101, 101, 97, 97};
	double		l[] = {99, 99, 99, 99, 99, 99, 94, 95};
	double		c[] = {100, 100, 100, 100, 100, 100, 96, 96};
	int8_t		tg[] = {1, K, K, K, K, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	/*
	 * equity 10000, risk 1%, stop_loss 5% of the fill 100: distance 5, so
	 * 100 / 5 = 20 units; the stop at 95 is hit on bar 6 (low 94, open 96):
	 * loss 20 * 5 = 100 = 1% of equity
	 */
	unit_bars_init(&b, 8, o, h, l, c);
	bt_sim_defaults(&p);
	p.sizing = BT_SIZING_RISK;
	p.risk_fraction = 0.01;
	p.stop_loss = 0.05;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 20, 0);
	CHECK(r.trades[0].exit_reason == BT_EXIT_STOP_LOSS && r.trades[0].exit_bar == 6);
	CHECK_NEAR(r.trades[0].pnl, -100, 1e-12);
	CHECK_NEAR(r.equity[7], 9900, 1e-12);

	/* risk 50%: 5000 / 5 = 1000 units, more than all-in (100): capped at 100 */
	p.risk_fraction = 0.5;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 100, 0);
	/* and at size 0.3: 30 */
	p.size = 0.3;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 30, 0);

	/*
	 * risk_atr 2 with ATR(3): every true range is 2 (high - low 2, no
	 * gaps) on bars 0..5, so ATR = 2 from bar 2 on; distance 4, 1% of
	 * 10000 = 100, 25 units.  A decision on bar 0 or 1 (ATR undefined)
	 * does not enter and is not counted as unfilled.
	 */
	flat_bars(&b, 8, px);
	p.size = 1;
	p.risk_fraction = 0.01;
	p.stop_loss = 0;
	p.risk_atr = 2;
	p.risk_atr_period = 3;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0 && r.metrics.entries_unfilled == 0);
	{
		int8_t		tg3[] = {K, K, K, 1, K, 0, K, K};

		/* decided on bar 3 (ATR 2), filled at open 4 = 100 */
		r = unit_sim(&b, tg3, &p);
		CHECK(r.ntrades == 1);
		CHECK_NEAR(r.trades[0].quantity, 25, 0);
		CHECK(r.trades[0].entry_bar == 4);
	}
}

/* per-share commission with a minimum and a maximum per order */
static void
test_commission_per_share(void)
{
	double		px[] = {100, 100, 100, 110, 110};
	int8_t		tg[] = {1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 5, px);
	bt_sim_defaults(&p);
	p.commission_per_share = 0.01;
	p.commission_min = 1;
	p.commission_max = 5;

	/*
	 * capital 1000 at 100: 1000 / 100.01 = 9.999 units pay 0.09999 < 1, so
	 * the minimum applies: (1000 - 1) / 100 = 9.99 -> 9 units, cost 901.
	 * Sell 9 at 110: commission max(0.09, 1) = 1.  pnl 9 * 10 - 2 = 88.
	 */
	p.initial_capital = 1000;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 9, 0);
	CHECK_NEAR(r.trades[0].commission, 2, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, 88, 1e-12);

	/*
	 * capital 100000: 100000 / 100.01 = 999.9 units pay 9.999 > 5, so the
	 * maximum applies: (100000 - 5) / 100 = 999.95 -> 999 units, cost
	 * 99900 + 5.  Sell 999 at 110: 9.99 -> 5.  pnl 9990 - 10 = 9980.
	 */
	p.initial_capital = 100000;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 999, 0);
	CHECK_NEAR(r.trades[0].commission, 10, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, 9980, 1e-12);
	CHECK_NEAR(r.equity[4], 109980, 1e-12);

	/*
	 * in between, 0.01/share plus 0.1% of notional: capital 50000:
	 * 50000 / (100 * 1.001 + 0.01) = 499.45 -> 499 units; commission
	 * 49.9 + 4.99 = 54.89 with no maximum.  Sell at 110: 54.89 + 4.99.
	 */
	p.initial_capital = 50000;
	p.commission = 0.001;
	p.commission_max = 0;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].quantity, 499, 0);
	CHECK_NEAR(r.trades[0].commission, 54.89 + 54.89 + 4.99, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, 4990 - (54.89 + 54.89 + 4.99), 1e-12);
}

/* the spread: half on each fill, in bps or price units, after slippage */
static void
test_spread(void)
{
	double		px[] = {100, 100, 100, 110, 110};
	int8_t		tg[] = {1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 5, px);
	bt_sim_defaults(&p);
	p.initial_capital = 100000;
	p.fractional = true;

	/* 20 bps: buy at 100 * 1.001 = 100.1, sell at 110 * 0.999 = 109.89 */
	p.spread = 20;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].entry_price, 100.1, 1e-12);
	CHECK_NEAR(r.trades[0].exit_price, 109.89, 1e-12);
	CHECK_NEAR(r.trades[0].quantity, 100000 / 100.1, 1e-12);

	/* and with 10 bps of slippage: 20 bps each way */
	p.slippage_bps = 10;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].entry_price, 100.2, 1e-12);
	CHECK_NEAR(r.trades[0].exit_price, 109.78, 1e-12);

	/* 0.2 in price units after 10 bps: 100.1 + 0.1 = 100.2, 109.89 - 0.1 = 109.79 */
	p.spread = 0.2;
	p.spread_unit = BT_SPREAD_PRICE;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].entry_price, 100.2, 1e-12);
	CHECK_NEAR(r.trades[0].exit_price, 109.79, 1e-12);

	/* a sell never fills below 0: a spread of 400 on a price of 100 */
	p.slippage_bps = 0;
	p.spread = 400;
	CHECK(bt_sim_slipped(&p, 100, -1) == 0);
	CHECK_NEAR(bt_sim_slipped(&p, 100, 1), 300, 0);
}

/* the borrow fee of a short: borrow_rate / bars a year of its value per close held */
static void
test_borrow_fee(void)
{
	double		px[] = {100, 100, 100, 100, 100};
	int8_t		tg[] = {-1, K, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 5, px);
	/* consecutive days with a weekend: 365 bars a year */
	CHECK(bt_infer_bars_per_year(b.s.ts, 5) == 365);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.allow_short = true;
	p.borrow_rate = 0.365;

	/*
	 * short 10 at open 1 = 100 (cash 2000); held at closes 1 and 2, each
	 * costing 0.365 / 365 * 10 * 100 = 1; covered at open 3.  Equity 999,
	 * 998, then 998; the trade's costs 2, its pnl -2.
	 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].side == -1);
	CHECK_NEAR(r.trades[0].quantity, 10, 0);
	CHECK_NEAR(r.equity[0], 1000, 0);
	CHECK_NEAR(r.equity[1], 999, 1e-12);
	CHECK_NEAR(r.equity[2], 998, 1e-12);
	CHECK_NEAR(r.equity[4], 998, 1e-12);
	CHECK_NEAR(r.trades[0].commission, 2, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, -2, 1e-12);
	CHECK_NEAR(r.metrics.commissions, 2, 1e-12);

	/* a long pays none */
	{
		int8_t		tgl[] = {1, K, 0, K, K};

		r = unit_sim(&b, tgl, &p);
		CHECK_NEAR(r.equity[4], 1000, 0);
	}
	/* still open at the end: 4 closes held (1..4), costs 4 */
	{
		int8_t		tgo[] = {-1, K, K, K, K};

		r = unit_sim(&b, tgo, &p);
		CHECK(r.ntrades == 1 && r.trades[0].is_open);
		CHECK_NEAR(r.trades[0].commission, 4, 1e-12);
		CHECK_NEAR(r.equity[4], 996, 1e-12);
	}
}

/* leverage and a margin call at the next open */
static void
test_margin_call(void)
{
	double		px[] = {10, 10, 9, 7, 6.5, 6};
	double		o[] = {10, 10, 9, 8, 6.5, 6};
	double		h[] = {11, 11, 10, 9, 7, 7};
	double		l[] = {9, 9, 8, 6.5, 6, 5};
	int8_t		tg[] = {1, K, K, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	unit_bars_init(&b, 6, o, h, l, px);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.leverage = 2;
	p.maintenance_margin = 0.3;

	/*
	 * buy 2000 / 10 = 200 at open 1 (cash -1000).  Equity -1000 + 200 c
	 * against the margin 0.3 * 200 c = 60 c: close 10: 1000 >= 600;
	 * close 9: 800 >= 540; close 7: 400 < 420, so the position is
	 * liquidated at open 4 = 6.5: cash -1000 + 1300 = 300, pnl -700.
	 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 200, 0);
	CHECK(r.trades[0].exit_reason == BT_EXIT_MARGIN_CALL);
	CHECK(strcmp(bt_exit_reason_name(r.trades[0].exit_reason), "margin_call") == 0);
	CHECK(r.trades[0].exit_bar == 4);
	CHECK_NEAR(r.trades[0].exit_price, 6.5, 0);
	CHECK_NEAR(r.trades[0].pnl, -700, 1e-12);
	CHECK_NEAR(r.equity[1], 1000, 1e-12);
	CHECK_NEAR(r.equity[3], 400, 1e-12);
	CHECK_NEAR(r.equity[4], 300, 1e-12);
	CHECK_NEAR(r.equity[5], 300, 1e-12);
	CHECK(r.position[4] == 0);

	/*
	 * at 0.25 the margin is 50 c: close 7: 400 >= 350, held; close 6.5:
	 * 300 < 325, liquidated at open 5 = 6: pnl 200 * (6 - 10) = -800,
	 * equity 200
	 */
	p.maintenance_margin = 0.25;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_MARGIN_CALL);
	CHECK(r.trades[0].exit_bar == 5);
	CHECK_NEAR(r.trades[0].pnl, -800, 1e-12);
	CHECK_NEAR(r.equity[4], 300, 1e-12);
	CHECK_NEAR(r.equity[5], 200, 1e-12);

	/* without a maintenance margin: held to the end, equity -1000 + 200 * 6 */
	p.maintenance_margin = 0;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].is_open);
	CHECK_NEAR(r.equity[5], 200, 1e-12);

	/* the order decided with the call is cancelled: a sell on bar 3 does not fill after it */
	{
		int8_t		tg2[] = {1, K, K, -1, K, K};

		p.maintenance_margin = 0.3;
		p.allow_short = true;
		r = unit_sim(&b, tg2, &p);
		CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_MARGIN_CALL);
		CHECK(r.position[5] == 0);
	}
}

/*
 * Bars of the entry-order cases.  Bar 0 is the decision bar: its own range
 * (low 90, high 110) reaches every level below, so an order filled on its
 * own prices would show.
 */
static void
order_bars(UnitBars *b)
{
	/* bar:          0    1    2    3   4   5 */
	double		o[] = {100, 100, 99, 98, 97, 97};
	double		h[] = {110, 101, 103, 99, 98, 98};
	double		l[] = {90, 99, 97, 96, 96, 96};
	double		c[] = {100, 100, 98, 97, 97, 97};

	unit_bars_init(b, 6, o, h, l, c);
}

/* limit entries: fill at the level, gap through at the open, expiry, cancel */
static void
test_limit_entry(void)
{
	int8_t		tg[] = {1, K, K, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	order_bars(&b);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.entry = BT_ENTRY_LIMIT;
	p.entry_offset = 0.02;
	p.valid_bars = 3;

	/*
	 * buy limit at 100 * 0.98 = 98, live on bars 1..3: bar 1 (low 99)
	 * does not reach it, bar 2 (open 99, low 97) fills at 98:
	 * floor(1000 / 98) = 10 units, cash 20; equity 20 + 10 * close
	 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].is_open);
	CHECK(r.trades[0].entry_bar == 2);
	CHECK_NEAR(r.trades[0].entry_price, 98, 0);
	CHECK_NEAR(r.trades[0].quantity, 10, 0);
	CHECK_NEAR(r.equity[1], 1000, 0);
	CHECK(r.position[1] == 0 && r.position[2] == 10);
	CHECK_NEAR(r.equity[2], 20 + 10 * 98, 1e-12);
	CHECK_NEAR(r.equity[5], 20 + 10 * 97, 1e-12);

	/* the same decided at the close (fill "close"): still never on bar 0's own range */
	p.fill = BT_FILL_CLOSE;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].entry_bar == 2);
	CHECK_NEAR(r.trades[0].entry_price, 98, 0);
	p.fill = BT_FILL_OPEN;

	/* gap through: bar 2 opens at 97.5, below the level: filled at the open */
	b.o[2] = 97.5;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].entry_price, 97.5, 0);
	CHECK_NEAR(r.trades[0].quantity, 10, 0);
	b.o[2] = 99;

	/* valid_bars 1: live on bar 1 only, cancelled after it; nothing counted as unfilled */
	p.valid_bars = 1;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0 && r.metrics.entries_unfilled == 0);
	CHECK_NEAR(r.equity[5], 1000, 0);

	/*
	 * a target repeated on bar 1: bar 1's order expired on bar 1, so the
	 * decision places a new one from close 1 (level 98), live on bar 2:
	 * filled at 98 on bar 2
	 */
	{
		int8_t		tg2[] = {1, 1, K, K, K, K};

		r = unit_sim(&b, tg2, &p);
		CHECK(r.ntrades == 1 && r.trades[0].entry_bar == 2);
		CHECK_NEAR(r.trades[0].entry_price, 98, 0);
	}

	/* another target cancels the waiting order: a 0 on bar 1, no trade */
	{
		int8_t		tg3[] = {1, 0, K, K, K, K};

		p.valid_bars = 3;
		r = unit_sim(&b, tg3, &p);
		CHECK(r.ntrades == 0);
	}

	/*
	 * a stop-loss counts from the bar after a limit fill: 1% below 98 is
	 * 97.02; bar 2's low 97 (the fill bar) does not stop it, bar 3's 96
	 * does, at 97.02
	 */
	p.stop_loss = 0.01;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].exit_reason == BT_EXIT_STOP_LOSS);
	CHECK(r.trades[0].entry_bar == 2 && r.trades[0].exit_bar == 3);
	CHECK_NEAR(r.trades[0].exit_price, 97.02, 1e-12);
	p.stop_loss = 0;

	/*
	 * short limit (sell above): 100 * 1.02 = 102; bar 1 (high 101) no,
	 * bar 2 (open 99, high 103) fills at 102: floor(1000 / 102) = 9
	 */
	{
		int8_t		tgs[] = {-1, K, K, K, K, K};

		p.allow_short = true;
		r = unit_sim(&b, tgs, &p);
		CHECK(r.ntrades == 1 && r.trades[0].side == -1 && r.trades[0].entry_bar == 2);
		CHECK_NEAR(r.trades[0].entry_price, 102, 0);
		CHECK_NEAR(r.trades[0].quantity, 9, 0);
		/* cash 1000 + 918 = 1918; equity at close 97: 1918 - 873 */
		CHECK_NEAR(r.equity[5], 1045, 1e-12);
	}
}

/* stop entries (breakouts): the mirror rule */
static void
test_stop_entry(void)
{
	int8_t		tg[] = {1, K, K, K, K, K};
	int8_t		tgs[] = {-1, K, K, K, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	order_bars(&b);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.entry = BT_ENTRY_STOP;
	p.entry_offset = 0.02;
	p.valid_bars = 3;

	/* buy stop at 102: bar 1 (high 101) no, bar 2 (high 103) at 102: 9 units */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1 && r.trades[0].entry_bar == 2);
	CHECK_NEAR(r.trades[0].entry_price, 102, 0);
	CHECK_NEAR(r.trades[0].quantity, 9, 0);

	/* gap through: bar 2 opens at 104, above the level: filled at the open, 9 units */
	b.o[2] = 104;
	b.h[2] = 105;
	r = unit_sim(&b, tg, &p);
	CHECK_NEAR(r.trades[0].entry_price, 104, 0);
	order_bars(&b);

	/* short stop (sell below) at 98: bar 2 (open 99, low 97) at 98: 10 units */
	p.allow_short = true;
	r = unit_sim(&b, tgs, &p);
	CHECK(r.ntrades == 1 && r.trades[0].side == -1 && r.trades[0].entry_bar == 2);
	CHECK_NEAR(r.trades[0].entry_price, 98, 0);
	CHECK_NEAR(r.trades[0].quantity, 10, 0);

	/* valid_bars 1: bar 1 only: expired */
	p.valid_bars = 1;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 0);

	/*
	 * a reversal: long at market... with stop entries the exit is at the
	 * market and the new side's entry is a stop order: long 9 from bar 2,
	 * a -1 on bar 2 sells the 9 at open 3 = 98 and places a sell stop at
	 * close 2 * 0.98 = 96.04, live on bars 3..5: bar 3 (low 96) at 96.04
	 */
	{
		int8_t		tgr[] = {1, K, -1, K, K, K};

		p.valid_bars = 3;
		r = unit_sim(&b, tgr, &p);
		CHECK(r.ntrades == 2);
		CHECK(r.trades[0].side == 1 && r.trades[0].exit_bar == 3);
		CHECK_NEAR(r.trades[0].exit_price, 98, 0);
		CHECK(r.trades[1].side == -1 && r.trades[1].entry_bar == 3);
		CHECK_NEAR(r.trades[1].entry_price, 96.04, 1e-12);
	}
}

/* pyramiding: each repeated entry signal adds a leg, one trade row per leg */
static void
test_pyramiding(void)
{
	/* bar:          0   1   2   3   4   5   6 */
	double		px[] = {10, 10, 20, 20, 40, 40, 40};
	int8_t		tg[] = {1, 1, 1, 1, 0, K, K};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;

	flat_bars(&b, 7, px);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;
	p.size = 0.25;
	p.pyramiding = 3;

	/*
	 * open 1 = 10: equity 1000, 25% = 250: 25 units, cash 750.
	 * open 2 = 20: equity 750 + 25 * 20 = 1250, 25% = 312.5 (buying power
	 * 1250 - 500 = 750): 15 units, cash 450.
	 * open 3 = 20: equity 450 + 40 * 20 = 1250, 312.5 but buying power
	 * 1250 - 800 = 450: 15 units, cash 150.  Bar 3's 1: three legs held,
	 * nothing.  Bar 4's 0 sells all 55 at open 5 = 40: cash 2350; one
	 * trade per leg: 25 * 30 = 750, 15 * 20 = 300, 15 * 20 = 300.
	 */
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 3);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[1].entry_bar == 2 && r.trades[2].entry_bar == 3);
	CHECK(r.trades[0].exit_bar == 5 && r.trades[1].exit_bar == 5 && r.trades[2].exit_bar == 5);
	CHECK_NEAR(r.trades[0].quantity, 25, 0);
	CHECK_NEAR(r.trades[1].quantity, 15, 0);
	CHECK_NEAR(r.trades[2].quantity, 15, 0);
	CHECK_NEAR(r.trades[0].pnl, 750, 1e-12);
	CHECK_NEAR(r.trades[1].pnl, 300, 1e-12);
	CHECK_NEAR(r.trades[2].pnl, 300, 1e-12);
	CHECK(r.position[1] == 25 && r.position[2] == 40 && r.position[3] == 55 && r.position[5] == 0);
	CHECK_NEAR(r.equity[3], 150 + 55 * 20, 1e-12);
	CHECK_NEAR(r.equity[6], 2350, 1e-12);
	CHECK(r.metrics.trades_count == 3);

	/* pyramiding 1 (the default): the repeated 1s change nothing */
	p.pyramiding = 1;
	r = unit_sim(&b, tg, &p);
	CHECK(r.ntrades == 1);
	CHECK_NEAR(r.trades[0].quantity, 25, 0);
}

/* A run of the signal strategy on b with these signal values */
static BtResult
signal_run(UnitBars *b, const double *sig, const BtSimParams *p)
{
	BtConfig	cfg;
	BtResult	r;
	BtError		err;

	b->s.signal = sig;
	CHECK(bt_validate_series(&b->s, false, &err));
	bt_config_defaults(&cfg, bt_find_strategy("signal"));
	cfg.sim = *p;
	CHECK(bt_run(&b->s, &cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	b->s.signal = NULL;
	return r;
}

/* signal values in [-1, 1] as target exposures: scaling out, and in with pyramiding */
static void
test_exposure(void)
{
	double		px[] = {10, 10, 20, 20, 40, 40, 40, 50};
	double		sig[] = {1, NAN, 0.5, NAN, 0, NAN, NAN, NAN};
	double		sig2[] = {0.5, NAN, 1, NAN, 0.5, NAN, 0, NAN};
	UnitBars	b;
	BtSimParams p;
	BtResult	r;
	BtError		err;

	flat_bars(&b, 8, px);
	bt_sim_defaults(&p);
	p.initial_capital = 1000;

	/*
	 * 1: 100 units at open 1 = 10.  0.5 on bar 2: half, 50, sold at open
	 * 3 = 20 (the leg closed in part: a trade of 50, pnl 500; 50 stay
	 * open), cash 1000.  0 on bar 4: the other 50 at open 5 = 40, pnl
	 * 1500, cash 3000.
	 */
	r = signal_run(&b, sig, &p);
	CHECK(r.ntrades == 2);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 3);
	CHECK(r.trades[1].entry_bar == 1 && r.trades[1].exit_bar == 5);
	CHECK_NEAR(r.trades[0].quantity, 50, 0);
	CHECK_NEAR(r.trades[0].pnl, 500, 1e-12);
	CHECK_NEAR(r.trades[1].quantity, 50, 0);
	CHECK_NEAR(r.trades[1].pnl, 1500, 1e-12);
	CHECK(r.position[2] == 100 && r.position[3] == 50 && r.position[5] == 0);
	CHECK_NEAR(r.equity[7], 3000, 1e-12);

	/*
	 * costs are shared by quantity: fractional, a fee of 2 per order:
	 * (1000 - 2) / 10 = 99.8 units; half, 49.9, sold at 20 for a fee of 2:
	 * the trade carries half the entry fee (1) and that fee, pnl 499 - 3;
	 * the rest at 40: 1 + 2, pnl 1497 - 3.  Cash 0, 996, 2990: equity at
	 * close 3 996 + 49.9 * 20.
	 */
	p.fractional = true;
	p.commission_fixed = 2;
	r = signal_run(&b, sig, &p);
	CHECK(r.ntrades == 2);
	CHECK_NEAR(r.trades[0].quantity, 49.9, 1e-12);
	CHECK_NEAR(r.trades[0].commission, 3, 1e-12);
	CHECK_NEAR(r.trades[0].pnl, 496, 1e-12);
	CHECK_NEAR(r.trades[1].commission, 3, 1e-12);
	CHECK_NEAR(r.trades[1].pnl, 1494, 1e-12);
	CHECK_NEAR(r.equity[3], 996 + 49.9 * 20, 1e-12);
	CHECK_NEAR(r.equity[7], 2990, 1e-12);

	/*
	 * pyramiding 2, size 0.5: 0.5 = one unit, 1 = two.  0.5: 500 -> 50
	 * units at 10, cash 500.  1 on bar 2: one more unit at open 3 = 20:
	 * equity 1500, half 750, but the buying power is 1500 - 1000 = 500:
	 * 25 units, cash 0.  0.5 on bar 4: half of 75, 37, sold at open 5 =
	 * 40 from the oldest leg (a trade of 37, pnl 1110; 13 of it stay),
	 * cash 1480.  0 on bar 6: at open 7 = 50, the 13 (pnl 520) and the
	 * second leg's 25 (pnl 750): cash 3380.
	 */
	p.fractional = false;
	p.commission_fixed = 0;
	p.size = 0.5;
	p.pyramiding = 2;
	r = signal_run(&b, sig2, &p);
	CHECK(r.ntrades == 3);
	CHECK(r.trades[0].entry_bar == 1 && r.trades[0].exit_bar == 5);
	CHECK_NEAR(r.trades[0].quantity, 37, 0);
	CHECK_NEAR(r.trades[0].pnl, 1110, 1e-12);
	CHECK(r.trades[1].entry_bar == 1 && r.trades[1].exit_bar == 7);
	CHECK_NEAR(r.trades[1].quantity, 13, 0);
	CHECK_NEAR(r.trades[1].pnl, 520, 1e-12);
	CHECK(r.trades[2].entry_bar == 3 && r.trades[2].exit_bar == 7);
	CHECK_NEAR(r.trades[2].quantity, 25, 0);
	CHECK_NEAR(r.trades[2].pnl, 750, 1e-12);
	CHECK(r.position[3] == 75 && r.position[5] == 38 && r.position[7] == 0);
	CHECK_NEAR(r.equity[7], 3380, 1e-12);

	/*
	 * scaling out by 1% and back in, 300 times: the oldest leg shrinks
	 * while small legs pile up, beyond the BT_MAX_PYRAMIDING legs a
	 * position keeps (the newest then takes the fills); the books still
	 * balance: equity = capital + the trades' pnl, the open legs' quantity
	 * is the position
	 */
	{
		int			nb = 600;
		int64_t    *ts = malloc(nb * sizeof(int64_t));
		double	   *o = malloc(nb * sizeof(double)),
				   *sg = malloc(nb * sizeof(double));
		BtSeries	ls;
		BtConfig	cfg;
		BtResult	lr;
		double		sum = 0,
					open_q = 0;
		int64_t		nopen = 0;

		for (int i = 0; i < nb; i++)
		{
			ts[i] = (int64_t) (16436 + i) * BT_USECS_PER_DAY;
			o[i] = 100 + (i % 7);
			sg[i] = i % 2 == 0 ? 1 : 0.99;
		}
		memset(&ls, 0, sizeof(ls));
		ls.n = nb;
		ls.ts = ts;
		ls.open = ls.high = ls.low = ls.close = o;
		ls.signal = sg;
		bt_config_defaults(&cfg, bt_find_strategy("signal"));
		cfg.sim.fractional = true;
		CHECK(bt_run(&ls, &cfg, &unit_alloc, NULL, NULL, &lr, &err) == BT_OK);
		for (int64_t k = 0; k < lr.ntrades; k++)
		{
			sum += lr.trades[k].pnl;
			if (lr.trades[k].is_open)
			{
				open_q += lr.trades[k].quantity;
				nopen++;
			}
		}
		CHECK(nopen == BT_MAX_PYRAMIDING);
		CHECK(lr.ntrades > 300);
		CHECK_NEAR(lr.metrics.equity_final, 10000 + sum, 1e-9);
		CHECK_NEAR(open_q, lr.position[nb - 1], 1e-9);
		free(ts);
		free(o);
		free(sg);
	}

	/* a signal outside [-1, 1] is bad data */
	{
		double		bad[] = {1, NAN, 1.5, NAN, 0, NAN, NAN, NAN};

		b.s.signal = bad;
		CHECK(!bt_validate_series(&b.s, false, &err));
		CHECK(err.bar == 2 && strcmp(err.msg, "signal must be between -1 and 1, or NULL") == 0);
		b.s.signal = NULL;
	}
}

/* the cross-field rules of the new parameters, with their messages */
static void
test_order_param_rules(void)
{
	BtSimParams p;
	BtError		err;

	bt_sim_defaults(&p);
	CHECK(bt_sim_check(&p, &err));
	CHECK(p.sizing == BT_SIZING_FRACTION && p.leverage == 1 && p.risk_atr_period == 14);
	p.commission_min = 5;
	p.commission_max = 1;
	CHECK(!bt_sim_check(&p, &err));
	CHECK(strcmp(err.msg, "parameter \"commission_min\" (5) exceeds \"commission_max\" (1)") == 0);
	p.commission_max = 0;		/* no maximum */
	CHECK(bt_sim_check(&p, &err));
	p.sizing = BT_SIZING_RISK;
	CHECK(!bt_sim_check(&p, &err));
	CHECK(strcmp(err.msg, "sizing \"risk\" needs a stop distance") == 0);
	p.risk_atr = 1;
	CHECK(bt_sim_check(&p, &err));
	p.leverage = 4;
	p.maintenance_margin = 0.25;
	CHECK(!bt_sim_check(&p, &err));
	CHECK(strcmp(err.msg, "parameter \"maintenance_margin\" (0.25) must be below the initial margin 1/leverage (0.25)") == 0);
	p.maintenance_margin = 0.2;
	CHECK(bt_sim_check(&p, &err));
}

void
test_orders(void)
{
	test_sizing_quantity();
	test_sizing_value();
	test_sizing_risk();
	test_commission_per_share();
	test_spread();
	test_borrow_fee();
	test_margin_call();
	test_limit_entry();
	test_stop_entry();
	test_pyramiding();
	test_exposure();
	test_order_param_rules();
}
