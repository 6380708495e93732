/*-------------------------------------------------------------------------
 *
 * test_portfolio_orders.c
 *	  Hand-worked portfolio cases of issue 15's parameters: limit and stop
 *	  entries (a fill, a gap through, an expiry, a stop entry, fills on one
 *	  bar sharing scarce cash), pyramiding legs with a fractional scale in
 *	  and out, and a portfolio-level margin call.  The one-symbol equality
 *	  with bt_run of the same parameters is in test_portfolio.c.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_portfolio_orders.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_portfolio.h"

#define DAY		BT_USECS_PER_DAY
#define T0		INT64_C(1704153600000000)	/* 2024-01-02 00:00 UTC */
#define ND		4						/* days of the order cases */

static const int64_t days[] = {T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY};

static void
pf_params(BtPfParams *p, int nsym, double capital)
{
	memset(p, 0, sizeof(*p));
	bt_sim_defaults(&p->account);
	p->account.initial_capital = capital;
	p->allocation = BT_PF_ALLOC_EQUAL;
	p->position_size = 1;
	p->max_positions = nsym;
	p->rank_by = BT_PF_RANK_SYMBOL;
	p->rank_period = 20;
	p->min_momentum = -100;
}

/* A trade's symbol, side, entry (day, price), exit (day, price), quantity, pnl, reason, open */
typedef struct Want
{
	int			sym;
	int			entry_day;
	double		entry_price;
	int			exit_day;
	double		exit_price;
	double		quantity;
	double		pnl;
	BtExitReason reason;
	bool		is_open;
} Want;

static void
check_trades(const BtPfResult *r, const Want *w, int n, const char *what)
{
	CHECK_MSG(r->ntrades == n, "%s: %lld trades, wanted %d", what, (long long) r->ntrades, n);
	for (int k = 0; k < n && k < r->ntrades; k++)
	{
		const BtTrade *t = &r->trades[k].t;

		CHECK_MSG(r->trades[k].sym == w[k].sym && t->entry_ts == days[w[k].entry_day] &&
				  t->exit_ts == days[w[k].exit_day] && t->quantity == w[k].quantity &&
				  t->exit_reason == w[k].reason && t->is_open == w[k].is_open,
				  "%s, trade %d: symbol %d, %g from day %d to %d, exit %d, open %d", what, k,
				  r->trades[k].sym, t->quantity, (int) ((t->entry_ts - T0) / DAY),
				  (int) ((t->exit_ts - T0) / DAY), (int) t->exit_reason, (int) t->is_open);
		CHECK_NEAR(t->entry_price, w[k].entry_price, 1e-12);
		CHECK_NEAR(t->exit_price, w[k].exit_price, 1e-12);
		CHECK_NEAR(t->pnl, w[k].pnl, 1e-12);
	}
}

/* ---- limit and stop entries ---------------------------------------------- */

/*
 * Four symbols, each deciding to buy on d0's close (signal 1), fill at the
 * next open, initial_capital 1000, whole shares, no costs, rank by symbol.
 * Each has its own entry (levels from d0's close; every d0 range reaches its
 * level, which must not count: never the decision bar's own prices):
 *	A limit, entry_offset 0.125, valid_bars 2: 80 * 0.875 = 70
 *	B limit, entry_offset 0.25,  valid_bars 3: 40 * 0.75  = 30
 *	C stop,  entry_offset 0.25,  valid_bars 1: 16 * 1.25  = 20
 *	D stop,  entry_offset 0.5,   valid_bars 3:  8 * 1.5   = 12
 * Bars (open high low close):
 *	     d0             d1                d2                 d3
 *	A   80 80 60 80    78 79 72 75      73 74 69 71        72 73 71 72
 *	B   40 40 25 40    28 33 27 32      32 34 31 33        33 35 32 34
 *	C   16 22 16 16    16 19 15 18      19 25 18 24        24 25 23 24
 *	D    8 13  8  8     9 11 8.5 10.5   11.5 13 11 12.5    12.5 13 12 12.75
 *
 * d1  the orders are placed at the opens.  A: low 72 > 70, waits.  B: low
 *	   27 reaches 30 and the bar opened below it (a gap): fills at the open
 *	   28.  C: high 19 < 20, and d1 was its only bar: cancelled.  D: high 11
 *	   < 12, waits.
 * d2  A: low 69 reaches 70: fills at 70 (open 73 above).  D: high 13
 *	   reaches 12: at 12 (open 11.5 below).  C's high 25 is too late.
 *
 * Equal allocation over 4 (a quarter of equity each), sized at the fill:
 *	d1  B: 1000 / 4 = 250 -> 8 @ 28 = 224; cash 776.
 *	    equity = 776 + 8*32 = 1032.
 *	d2  A first (by symbol), equity at the marks (the opens; B 32) 1032:
 *	    258 -> 3 @ 70 = 210; cash 566.  D: equity = 566 + 8*32 + 3*73 =
 *	    1041, 260.25 -> 21 @ 12 = 252; cash 314.
 *	    equity = 314 + 8*33 + 3*71 + 21*12.5 = 1053.5.
 *	d3  equity = 314 + 8*34 + 3*72 + 21*12.75 = 1069.75.
 * Trades, open at the end: A 3 @ 70 -> 72 (+6), B 8 @ 28 -> 34 (+48), D 21
 * @ 12 -> 12.75 (+15.75): 1000 + 69.75.
 *
 * The same with "fixed" position_size 0.5 (cash runs short on d2, where
 * two orders fill; they take it in the entry ranking, by symbol here):
 *	d1  B: 500 -> 17 @ 28 = 476; cash 524.  equity = 524 + 17*32 = 1068.
 *	d2  A: half of 1068 is 534 but the free cash is 524: 7 @ 70 = 490; cash
 *	    34.  D: half of 34 + 17*32 + 7*73 = 1089 is 544.5, the cash 34: 2 @
 *	    12; cash 10.  equity = 10 + 17*33 + 7*71 + 2*12.5 = 1093.
 *	d3  equity = 10 + 17*34 + 7*72 + 2*12.75 = 1117.5.
 */
static void
test_limit_stop_entries(void)
{
	static const double o[4][ND] = {{80, 78, 73, 72}, {40, 28, 32, 33}, {16, 16, 19, 24},
	{8, 9, 11.5, 12.5}};
	static const double h[4][ND] = {{80, 79, 74, 73}, {40, 33, 34, 35}, {22, 19, 25, 25},
	{13, 11, 13, 13}};
	static const double l[4][ND] = {{60, 72, 69, 71}, {25, 27, 31, 32}, {16, 15, 18, 23},
	{8, 8.5, 11, 12}};
	static const double c[4][ND] = {{80, 75, 71, 72}, {40, 32, 33, 34}, {16, 18, 24, 24},
	{8, 10.5, 12.5, 12.75}};
	static const double sig[ND] = {1, NAN, NAN, NAN};
	static const char *const names[4] = {"A", "B", "C", "D"};
	static const BtEntry kind[4] = {BT_ENTRY_LIMIT, BT_ENTRY_LIMIT, BT_ENTRY_STOP, BT_ENTRY_STOP};
	static const double offset[4] = {0.125, 0.25, 0.25, 0.5};
	static const int valid[4] = {2, 3, 1, 3};
	static const double eq[ND] = {1000, 1032, 1053.5, 1069.75};
	static const double cash[ND] = {1000, 776, 314, 314};
	static const Want w[] = {
		{0, 2, 70, 3, 72, 3, 6, BT_EXIT_END, true},
		{1, 1, 28, 3, 34, 8, 48, BT_EXIT_END, true},
		{3, 2, 12, 3, 12.75, 21, 15.75, BT_EXIT_END, true},
	};
	static const double eq2[ND] = {1000, 1068, 1093, 1117.5};
	static const double cash2[ND] = {1000, 524, 10, 10};
	static const Want w2[] = {
		{0, 2, 70, 3, 72, 7, 14, BT_EXIT_END, true},
		{1, 1, 28, 3, 34, 17, 102, BT_EXIT_END, true},
		{3, 2, 12, 3, 12.75, 2, 1.5, BT_EXIT_END, true},
	};
	BtPfSymbol	sy[4];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	memset(sy, 0, sizeof(sy));
	for (int i = 0; i < 4; i++)
	{
		sy[i].name = names[i];
		sy[i].s = (BtSeries) {ND, days, o[i], h[i], l[i], c[i], NULL, sig};
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
		sy[i].cfg.sim.entry = kind[i];
		sy[i].cfg.sim.entry_offset = offset[i];
		sy[i].cfg.sim.valid_bars = valid[i];
	}
	pf_params(&p, 4, 1000);
	CHECK(bt_portfolio_run(sy, 4, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.n == ND);
	for (int t = 0; t < ND && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash[t], 1e-12);
	}
	check_trades(&r, w, 3, "limit and stop entries");
	for (int k = 0; k < r.ntrades; k++)
		CHECK(r.trades[k].t.entry_intrabar);
	/* an expired order is neither skipped nor unfilled */
	CHECK(r.entries_skipped == 0 && r.metrics.entries_unfilled == 0);
	CHECK(r.open_positions[1] == 1 && r.open_positions[2] == 3);
	unit_free_all();

	p.allocation = BT_PF_ALLOC_FIXED;
	p.position_size = 0.5;
	CHECK(bt_portfolio_run(sy, 4, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	for (int t = 0; t < ND && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq2[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash2[t], 1e-12);
	}
	check_trades(&r, w2, 3, "orders sharing scarce cash");

	/*
	 * max_positions 1: B's fill on d1 holds the one position; A's and D's
	 * fills on d2 are skipped (counted) and the orders gone
	 */
	unit_free_all();
	pf_params(&p, 4, 1000);
	p.max_positions = 1;
	CHECK(bt_portfolio_run(sy, 4, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 1 && r.trades[0].sym == 1 && r.trades[0].t.quantity == 35);
	CHECK(r.entries_skipped == 2);

	/*
	 * Close fills: the order is placed at d0's close and d1 is its first
	 * bar, so the same fills (d0's range still does not count)
	 */
	unit_free_all();
	pf_params(&p, 4, 1000);
	p.account.fill = BT_FILL_CLOSE;
	CHECK(bt_portfolio_run(sy, 4, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	check_trades(&r, w, 3, "limit and stop entries, close fills");
	unit_free_all();
}

/* ---- pyramiding legs, scaling in and out --------------------------------- */

/*
 * Two symbols on the signal strategy, fill at the next open, equal
 * allocation over 2 (half the equity a unit), initial_capital 1000, whole
 * shares, no costs, rank by symbol.  P has pyramiding 2 (0.5 = one unit,
 * 1 = two), Q pyramiding 1 (0.5 = half a unit).  Opens/closes, signals:
 *
 *	     d0          d1          d2           d3          d4
 *	P   10/10 0.5   10/12 1     12.5/14      15/16 0     16/18
 *	Q   20/20 0.5   20/22 1     25/24 0.25   24/26       26/27
 *
 * d1  P: one unit, 500 -> 50 @ 10; cash 500.  Q: half a unit: a unit of
 *	   1000/2 = 500 is 25 @ 20, half of it 12.5 -> 12 @ 20 = 240; cash 260.
 *	   equity = 260 + 50*12 + 12*22 = 1124.
 * d2  P adds its second unit, a new leg: equity at the opens 260 + 50*12.5
 *	   + 12*25 = 1185, a unit 592.5, but the buying power is 1185 - (625 +
 *	   300) = 260: 20 @ 12.5 = 250; cash 10.  Q wants half a unit more
 *	   (11), 275 > 10: not one share fits, skipped (counted).
 *	   equity = 10 + 70*14 + 12*24 = 1278.
 * d3  Q scales out to 0.25: sells 12 * (1 - 0.25/0.5) = 6 @ 24 (a trade
 *	   6 @ 20 -> 24, +24); cash 154.  equity = 154 + 70*16 + 6*26 = 1430.
 * d4  P sells everything at 16, oldest leg first: 50 @ 10 (+300) and 20 @
 *	   12.5 (+70); cash 1274.  equity = 1274 + 6*27 = 1436.
 * Q's 6 left are an open trade marked at 27 (+42): 1000 + 436.
 */
static void
test_pyramiding_exposure(void)
{
	static const double oP[] = {10, 10, 12.5, 15, 16}, cP[] = {10, 12, 14, 16, 18},
				sP[] = {0.5, 1, NAN, 0, NAN};
	static const double oQ[] = {20, 20, 25, 24, 26}, cQ[] = {20, 22, 24, 26, 27},
				sQ[] = {0.5, 1, 0.25, NAN, NAN};
	static double hP[5], lP[5], hQ[5], lQ[5];
	static const double eq[] = {1000, 1124, 1278, 1430, 1436};
	static const double cash[] = {1000, 260, 10, 154, 1274};
	static const Want w[] = {
		{0, 1, 10, 4, 16, 50, 300, BT_EXIT_SIGNAL, false},
		{0, 2, 12.5, 4, 16, 20, 70, BT_EXIT_SIGNAL, false},
		{1, 1, 20, 3, 24, 6, 24, BT_EXIT_SIGNAL, false},
		{1, 1, 20, 4, 27, 6, 42, BT_EXIT_END, true},
	};
	BtPfSymbol	sy[2];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	for (int i = 0; i < 5; i++)
	{
		hP[i] = fmax(oP[i], cP[i]) + 0.5;
		lP[i] = fmin(oP[i], cP[i]) - 0.5;
		hQ[i] = fmax(oQ[i], cQ[i]) + 0.5;
		lQ[i] = fmin(oQ[i], cQ[i]) - 0.5;
	}
	memset(sy, 0, sizeof(sy));
	sy[0].name = "P";
	sy[0].s = (BtSeries) {5, days, oP, hP, lP, cP, NULL, sP};
	sy[1].name = "Q";
	sy[1].s = (BtSeries) {5, days, oQ, hQ, lQ, cQ, NULL, sQ};
	for (int i = 0; i < 2; i++)
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
	sy[0].cfg.sim.pyramiding = 2;
	pf_params(&p, 2, 1000);
	CHECK(bt_portfolio_run(sy, 2, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.n == 5);
	for (int t = 0; t < 5 && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash[t], 1e-12);
	}
	check_trades(&r, w, 4, "pyramiding and exposures");
	CHECK(r.entries_skipped == 1 && r.metrics.entries_unfilled == 1);
	CHECK(r.metrics.open_trades == 1);
	unit_free_all();
}

/* ---- a margin call of the account ---------------------------------------- */

/*
 * Leverage 2, maintenance_margin 0.3, "fixed" position_size 0.5 (a unit is
 * 0.5 * 2 = all of equity), initial_capital 1000, fill at the next open,
 * rank by symbol.  X and Y buy on d0's close; X decides to exit on d2's
 * close; Z places a buy limit on d1's close at 100 * 0.75 = 75 (valid 5
 * bars).  Opens/closes:
 *
 *	     d0       d1        d2          d3          d4
 *	X   10/10    10/9      8/4 exit    4.5/5       5/5
 *	Y   20/20    20/19     19/20       21/20.5     20.5/21
 *	Z   100/100  100/100   99/90       85/80       80/75    (lows 95 80 70 70)
 *
 * d1  X: the buying power is 2 * 1000 = 2000, a unit 1000: 100 @ 10; cash
 *	   0.  Y: equity 1000, power 2000 - 1000, unit 1000: 50 @ 20; cash
 *	   -1000 (the loan).  equity = -1000 + 900 + 950 = 850 >= 0.3 * 1850.
 * d2  Z's order waits (low 80 > 75).  At the close equity = -1000 + 400 +
 *	   1000 = 400 < 0.3 * (400 + 1000) = 420: a margin call of the account,
 *	   though Y alone has gained.  It cancels X's exit and Z's order.
 * d3  both positions are closed at the opens, exit margin_call: X 100 @
 *	   4.5 (-550), Y 50 @ 21 (+50); cash 500.  Z's low 70 would have filled
 *	   its order: cancelled, nothing.  equity 500, and on d4.
 */
static void
test_margin_call(void)
{
	static const double oX[] = {10, 10, 8, 4.5, 5}, cX[] = {10, 9, 4, 5, 5},
				sX[] = {1, NAN, 0, NAN, NAN};
	static const double oY[] = {20, 20, 19, 21, 20.5}, cY[] = {20, 19, 20, 20.5, 21},
				sY[] = {1, NAN, NAN, NAN, NAN};
	static const double oZ[] = {100, 100, 99, 85, 80}, cZ[] = {100, 100, 90, 80, 75},
				lZ[] = {100, 95, 80, 70, 70}, sZ[] = {NAN, 1, NAN, NAN, NAN};
	static double hX[5], lX[5], hY[5], lY[5], hZ[5];
	static const double eq[] = {1000, 850, 400, 500, 500};
	static const double cash[] = {1000, -1000, -1000, 500, 500};
	static const Want w[] = {
		{0, 1, 10, 3, 4.5, 100, -550, BT_EXIT_MARGIN_CALL, false},
		{1, 1, 20, 3, 21, 50, 50, BT_EXIT_MARGIN_CALL, false},
	};
	BtPfSymbol	sy[3];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	for (int i = 0; i < 5; i++)
	{
		hX[i] = fmax(oX[i], cX[i]);
		lX[i] = fmin(oX[i], cX[i]);
		hY[i] = fmax(oY[i], cY[i]);
		lY[i] = fmin(oY[i], cY[i]);
		hZ[i] = fmax(oZ[i], cZ[i]) + 1;
	}
	memset(sy, 0, sizeof(sy));
	sy[0].name = "X";
	sy[0].s = (BtSeries) {5, days, oX, hX, lX, cX, NULL, sX};
	sy[1].name = "Y";
	sy[1].s = (BtSeries) {5, days, oY, hY, lY, cY, NULL, sY};
	sy[2].name = "Z";
	sy[2].s = (BtSeries) {5, days, oZ, hZ, lZ, cZ, NULL, sZ};
	pf_params(&p, 3, 1000);
	p.allocation = BT_PF_ALLOC_FIXED;
	p.position_size = 0.5;
	p.account.leverage = 2;
	p.account.maintenance_margin = 0.3;
	for (int i = 0; i < 3; i++)
	{
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
		sy[i].cfg.sim.leverage = 2;
		sy[i].cfg.sim.maintenance_margin = 0.3;
	}
	sy[2].cfg.sim.entry = BT_ENTRY_LIMIT;
	sy[2].cfg.sim.entry_offset = 0.25;
	sy[2].cfg.sim.valid_bars = 5;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.n == 5);
	for (int t = 0; t < 5 && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash[t], 1e-12);
	}
	check_trades(&r, w, 2, "margin call");
	unit_free_all();

	CHECK(r.entries_skipped == 0);

	/*
	 * Without the maintenance margin: X exits by its signal at d3's open
	 * 4.5 (cash -550), Y is held, and Z's order reaches 75 on d3, but the
	 * buying power is 2 * (-550 + 50*21) - 50*21 = -50: skipped (counted)
	 */
	p.account.maintenance_margin = 0;
	for (int i = 0; i < 3; i++)
		sy[i].cfg.sim.maintenance_margin = 0;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 2 && r.trades[0].t.exit_reason == BT_EXIT_SIGNAL &&
		  r.trades[0].t.exit_price == 4.5 && r.trades[1].t.is_open);
	CHECK(r.entries_skipped == 1);
	unit_free_all();

	/* leverage and maintenance_margin are the account's: a map by symbol is an error */
	sy[1].cfg.sim.leverage = 3;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_ERR_PARAM);
	CHECK(strcmp(err.msg, "leverage and maintenance_margin are the account's in a portfolio (symbol \"Y\")") == 0);
	unit_free_all();
}

void
test_portfolio_orders(void)
{
	test_limit_stop_entries();
	test_pyramiding_exposure();
	test_margin_call();
}
