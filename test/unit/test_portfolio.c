/*-------------------------------------------------------------------------
 *
 * test_portfolio.c
 *	  The portfolio simulator (portfolio.c): one symbol equals bt_run, a
 *	  hand-worked three-symbol case, invariants over random universes (half
 *	  of them with stops),
 *	  independence from the order of the symbols, causality on every symbol,
 *	  rotation, rebalancing and the benchmark.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_portfolio.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_portfolio.h"

#define DAY		BT_USECS_PER_DAY
#define T0		INT64_C(1704153600000000)	/* 2024-01-02 00:00 UTC */

static void
pf_defaults(BtPfParams *p, int nsym)
{
	memset(p, 0, sizeof(*p));
	bt_sim_defaults(&p->account);
	p->allocation = BT_PF_ALLOC_EQUAL;
	p->position_size = 1;
	p->max_positions = nsym;
	p->rank_by = BT_PF_RANK_ROC;
	p->rank_period = 20;
	p->top = 3;
	p->period = 20;
	p->min_momentum = -100;
}

/* ---- one symbol, fixed 1: exactly bt_run --------------------------------- */

/* Exit reasons and entries by order of the one-symbol cases: each kind is seen */
static int	one_exits[BT_EXIT_END + 1];
static int	one_intrabar;
static int	one_multileg;

/*
 * The sample series' signal column for the signal strategy: about one bar
 * in four a value of {1, 1, -1, 0, 0.5, 0.25, -0.5, 0.75}, else NULL (a
 * fixed LCG), so repeated 1s pyramid and fractions scale in and out.
 */
static const double *
sample_signal(void)
{
	static double *sig;
	static const double vals[] = {1, 1, -1, 0, 0.5, 0.25, -0.5, 0.75};

	if (sig == NULL)
	{
		const UnitOhlcv *d = unit_ohlcv();
		uint64_t	x = 12345;

		sig = malloc(sizeof(double) * d->n);
		for (int64_t i = 0; i < d->n; i++)
		{
			x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
			sig[i] = (x >> 33) % 4 == 0 ? vals[(x >> 40) % 8] : NAN;
		}
	}
	return sig;
}

static void
one_symbol_case(const char *strategy, const BtSimParams *sim)
{
	BtSeries	s = unit_sample_series();
	BtConfig	cfg;
	BtResult	r;
	BtError		err;
	BtPfSymbol	sym;
	BtPfParams	p;
	BtPfResult	pr;

	if (strcmp(strategy, "signal") == 0)
		s.signal = sample_signal();
	bt_config_defaults(&cfg, bt_find_strategy(strategy));
	cfg.sim = *sim;
	CHECK(bt_run(&s, &cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	bt_trade_excursions(&s, sim, r.trades, r.ntrades);
	CHECK_MSG(r.ntrades > 1, "%s: a case with trades", strategy);
	sym.name = "X";
	sym.s = s;
	sym.cfg = cfg;
	pf_defaults(&p, 1);
	p.account = *sim;
	p.allocation = BT_PF_ALLOC_FIXED;
	p.position_size = 1;
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &pr, &err) == BT_OK);
	CHECK(pr.n == s.n);
	CHECK_MSG(pr.ntrades == r.ntrades, "%s: %lld trades, bt_run %lld", strategy,
			  (long long) pr.ntrades, (long long) r.ntrades);
	for (int64_t k = 0; k < pr.ntrades && k < r.ntrades; k++)
	{
		const BtTrade *a = &pr.trades[k].t,
				   *b = &r.trades[k];

		CHECK(a->side == b->side && a->entry_bar == b->entry_bar && a->exit_bar == b->exit_bar);
		CHECK(a->entry_price == b->entry_price && a->exit_price == b->exit_price);
		CHECK(a->quantity == b->quantity && a->is_open == b->is_open);
		CHECK_MSG(a->exit_reason == b->exit_reason, "%s: trade %lld exits by %d, bt_run by %d",
				  strategy, (long long) k, (int) a->exit_reason, (int) b->exit_reason);
		CHECK_NEAR(a->pnl, b->pnl, 1e-9);
		CHECK_NEAR(a->commission, b->commission, 1e-9);
		CHECK(a->entry_intrabar == b->entry_intrabar);
		CHECK_NEAR(a->mae_price, b->mae_price, 1e-12);
		one_exits[b->exit_reason]++;
		one_intrabar += b->entry_intrabar;
		if (k > 0 && b->entry_bar != r.trades[k - 1].entry_bar && b->exit_bar == r.trades[k - 1].exit_bar)
			one_multileg++;
	}
	{
		int64_t		bad = 0;

		for (int64_t i = 0; i < s.n; i++)
			if (fabs(pr.equity[i] - r.equity[i]) > 1e-9 * fabs(r.equity[i]))
				bad++;
		CHECK_MSG(bad == 0, "%s: %lld equity values differ", strategy, (long long) bad);
	}
	CHECK_NEAR(pr.metrics.return_pct, r.metrics.return_pct, 1e-9);
	CHECK_NEAR(pr.metrics.buy_hold_return_pct, r.metrics.buy_hold_return_pct, 1e-9);
	CHECK_NEAR(pr.metrics.exposure_pct, r.metrics.exposure_pct, 1e-12);
	CHECK_NEAR(pr.metrics.commissions, r.metrics.commissions, 1e-9);
	CHECK(pr.metrics.trades_count == r.metrics.trades_count);
	CHECK(pr.metrics.warmup_bars == r.metrics.warmup_bars);
	if (!isnan(r.metrics.sharpe_ratio))
		CHECK_NEAR(pr.metrics.sharpe_ratio, r.metrics.sharpe_ratio, 1e-9);
	CHECK_NEAR(pr.metrics.max_drawdown_pct, r.metrics.max_drawdown_pct, 1e-9);
	unit_free_all();
}

static void
test_one_symbol(void)
{
	BtSimParams sim;

	bt_sim_defaults(&sim);
	one_symbol_case("sma_cross", &sim);
	one_symbol_case("rsi", &sim);
	sim.commission = 0.001;
	sim.commission_min = 3;
	sim.stamp_duty = 0.001;
	sim.slippage_bps = 5;
	sim.lot_size = 10;
	one_symbol_case("sma_cross", &sim);
	sim.allow_short = true;
	one_symbol_case("macd_cross", &sim);
	sim.fill = BT_FILL_CLOSE;
	one_symbol_case("sma_cross", &sim);
	sim.allow_short = false;
	one_symbol_case("bollinger", &sim);

	/* the cost models and sizing modes mean the same in a portfolio (issue 15) */
	bt_sim_defaults(&sim);
	sim.commission_per_share = 0.01;
	sim.commission_min = 1;
	sim.commission_max = 4;
	sim.spread = 8;
	one_symbol_case("sma_cross", &sim);
	sim.spread = 0.05;
	sim.spread_unit = BT_SPREAD_PRICE;
	sim.allow_short = true;
	sim.borrow_rate = 0.05;
	one_symbol_case("macd_cross", &sim);
	sim.sizing = BT_SIZING_QUANTITY;
	sim.order_quantity = 20;
	one_symbol_case("macd_cross", &sim);
	sim.sizing = BT_SIZING_VALUE;
	sim.order_value = 4000;
	one_symbol_case("sma_cross", &sim);
	sim.sizing = BT_SIZING_RISK;
	sim.risk_fraction = 0.02;
	sim.risk_atr = 2;
	sim.risk_atr_period = 10;
	one_symbol_case("sma_cross", &sim);
	sim.fill = BT_FILL_CLOSE;
	one_symbol_case("rsi", &sim);

	/* stops: the single-symbol simulator's rules, both fills, shorts */
	for (int f = 0; f < 2; f++)
	{
		static const double levels[][3] = {
			{0.02, 0, 0}, {0, 0.03, 0}, {0, 0, 0.025}, {0.02, 0.04, 0}, {0.03, 0.05, 0.015},
			{0.04, 0.1, 0.06}
		};

		bt_sim_defaults(&sim);
		sim.fill = f == 0 ? BT_FILL_OPEN : BT_FILL_CLOSE;
		for (int k = 0; k < (int) (sizeof(levels) / sizeof(levels[0])); k++)
		{
			int			before = unit_failed;

			sim.stop_loss = levels[k][0];
			sim.take_profit = levels[k][1];
			sim.trailing_stop = levels[k][2];
			sim.allow_short = false;
			one_symbol_case("sma_cross", &sim);
			sim.allow_short = true;
			sim.commission = 0.0005;
			sim.lot_size = 5;
			one_symbol_case("macd_cross", &sim);
			sim.commission = 0;
			sim.lot_size = 1;
			CHECK_MSG(unit_failed == before, "stops case %d, fill %d", k, f);
		}
	}

	/*
	 * Issue 15: pyramiding, exposures, limit and stop entries, leverage and
	 * margin calls mean the same in a portfolio, each fill, with shorts
	 */
	memset(one_exits, 0, sizeof(one_exits));
	one_intrabar = one_multileg = 0;
	for (int f = 0; f < 2; f++)
	{
		int			before = unit_failed;

		bt_sim_defaults(&sim);
		sim.fill = f == 0 ? BT_FILL_OPEN : BT_FILL_CLOSE;
		/* exposures (fractional signals), pyramiding 1 */
		one_symbol_case("signal", &sim);
		sim.allow_short = true;
		sim.lot_size = 5;
		sim.commission = 0.001;
		sim.commission_min = 2;
		one_symbol_case("signal", &sim);
		/* pyramiding: legs, FIFO; the borrow fee by leg */
		sim.pyramiding = 3;
		sim.borrow_rate = 0.08;
		one_symbol_case("signal", &sim);
		sim.fractional = true;
		sim.stop_loss = 0.03;
		sim.trailing_stop = 0.05;
		one_symbol_case("signal", &sim);
		sim.fractional = false;
		sim.stop_loss = sim.trailing_stop = 0;
		sim.sizing = BT_SIZING_QUANTITY;
		sim.order_quantity = 15;
		one_symbol_case("signal", &sim);
		sim.sizing = BT_SIZING_VALUE;
		sim.order_value = 3000;
		one_symbol_case("signal", &sim);
		sim.sizing = BT_SIZING_RISK;
		sim.risk_fraction = 0.01;
		sim.risk_atr = 2;
		sim.risk_atr_period = 14;
		one_symbol_case("signal", &sim);
		sim.sizing = BT_SIZING_FRACTION;
		CHECK_MSG(unit_failed == before, "pyramiding and exposures, fill %d", f);

		/* limit and stop entries */
		for (int e = 0; e < 2; e++)
		{
			before = unit_failed;
			bt_sim_defaults(&sim);
			sim.fill = f == 0 ? BT_FILL_OPEN : BT_FILL_CLOSE;
			sim.entry = e == 0 ? BT_ENTRY_LIMIT : BT_ENTRY_STOP;
			sim.entry_offset = 0.01;
			sim.valid_bars = 3;
			one_symbol_case("sma_cross", &sim);
			sim.allow_short = true;
			sim.slippage_bps = 3;
			one_symbol_case("macd_cross", &sim);
			sim.stop_loss = 0.02;
			sim.take_profit = 0.04;
			one_symbol_case("macd_cross", &sim);
			sim.stop_loss = sim.take_profit = 0;
			sim.pyramiding = 2;
			sim.valid_bars = 1;
			sim.entry_offset = 0.003;
			one_symbol_case("signal", &sim);
			CHECK_MSG(unit_failed == before, "entry %d, fill %d", e, f);
		}

		/* leverage and margin calls */
		before = unit_failed;
		bt_sim_defaults(&sim);
		sim.fill = f == 0 ? BT_FILL_OPEN : BT_FILL_CLOSE;
		sim.leverage = 3;
		one_symbol_case("sma_cross", &sim);
		sim.allow_short = true;
		sim.maintenance_margin = 0.3;
		one_symbol_case("macd_cross", &sim);
		sim.leverage = 5;
		sim.maintenance_margin = 0.18;
		sim.pyramiding = 2;
		sim.commission = 0.0005;
		one_symbol_case("signal", &sim);
		sim.entry = BT_ENTRY_LIMIT;
		sim.entry_offset = 0.005;
		sim.valid_bars = 2;
		one_symbol_case("signal", &sim);
		CHECK_MSG(unit_failed == before, "leverage and margin, fill %d", f);
	}
	CHECK_MSG(one_exits[BT_EXIT_MARGIN_CALL] > 0 && one_intrabar > 0 && one_multileg > 0,
			  "seen: %d margin calls, %d order entries, %d legs closed together",
			  one_exits[BT_EXIT_MARGIN_CALL], one_intrabar, one_multileg);
}

/* what a portfolio rejects of the symbols' simulator parameters */
static void
test_symbol_rules(void)
{
	BtSeries	s = unit_sample_series();
	BtPfSymbol	sym;
	BtPfParams	p;
	BtPfResult	pr;
	BtError		err;

	sym.name = "X";
	sym.s = s;
	bt_config_defaults(&sym.cfg, bt_find_strategy("sma_cross"));
	pf_defaults(&p, 1);
	sym.cfg.sim.leverage = 2;
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &pr, &err) == BT_ERR_PARAM);
	CHECK(strcmp(err.msg, "leverage and maintenance_margin are the account's in a portfolio (symbol \"X\")") == 0);
	sym.cfg.sim.leverage = 1;
	sym.cfg.sim.sizing = BT_SIZING_QUANTITY;
	p.rebalance = BT_PF_REBAL_MONTHLY;
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &pr, &err) == BT_ERR_PARAM);
	CHECK(strcmp(err.msg, "a rebalance needs sizing \"fraction\" (symbol \"X\")") == 0);
	p.rebalance = BT_PF_REBAL_NONE;
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &pr, &err) == BT_OK);
	CHECK(pr.ntrades > 0 && pr.trades[0].t.quantity == 1);
	unit_free_all();
}

/* The sample run has exits of every kind, so the equality above covers them */
static void
test_stops_seen(void)
{
	BtSeries	s = unit_sample_series();
	BtPfSymbol	sym;
	BtPfParams	p;
	BtPfResult	pr;
	BtError		err;
	int			kinds[BT_EXIT_END + 1] = {0};

	memset(&sym, 0, sizeof(sym));
	sym.name = "X";
	sym.s = s;
	bt_config_defaults(&sym.cfg, bt_find_strategy("sma_cross"));
	sym.cfg.sim.stop_loss = 0.04;
	sym.cfg.sim.take_profit = 0.1;
	sym.cfg.sim.trailing_stop = 0.06;
	pf_defaults(&p, 1);
	p.account = sym.cfg.sim;
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &pr, &err) == BT_OK);
	for (int64_t k = 0; k < pr.ntrades; k++)
		kinds[pr.trades[k].t.exit_reason]++;
	CHECK_MSG(kinds[BT_EXIT_STOP_LOSS] > 0 && kinds[BT_EXIT_TAKE_PROFIT] > 0 &&
			  kinds[BT_EXIT_TRAILING_STOP] > 0 && kinds[BT_EXIT_SIGNAL] > 0,
			  "exits: signal %d, stop %d, take-profit %d, trailing %d", kinds[BT_EXIT_SIGNAL],
			  kinds[BT_EXIT_STOP_LOSS], kinds[BT_EXIT_TAKE_PROFIT], kinds[BT_EXIT_TRAILING_STOP]);
	unit_free_all();
}

/*
 * Stops in a hand-worked three-symbol portfolio.  Days d0..d3, fill at the
 * next open, equal allocation over max_positions 3, initial_capital 1000,
 * whole shares, no costs, rank by symbol; every symbol buys on d0's close.
 * Each symbol has its own stop: A stop_loss 10%, B take_profit 20%, C
 * trailing_stop 10%.  Bars (open, high, low, close):
 *
 *	     d0              d1                 d2                d3
 *	A   10 10 10 10     10 11   9.5 10.5   9.8 10 8.5 9      8 8 8 8
 *	B   20 20 20 20     20 21   19  21     25  26 24  25     26 26 26 26
 *	C   50 50 50 50     50 60   49  58     57  58 53  55     55 55 55 55
 *
 * d1  opens: A 1000/3 = 333.33 -> 33 @ 10 (cash 670), B 16 @ 20 (cash 350),
 *	   C 6 @ 50 (cash 50).  Stops over d1 (the entry bar counts with open
 *	   fills): A's 9 and C's trailing 50 * 0.9 = 45 not reached, B's 24
 *	   neither; C's best becomes d1's high 60.
 *	   equity = 50 + 33*10.5 + 16*21 + 6*58 = 1080.5.
 * d2  no orders.  Stops: A's low 8.5 <= 9: sold at 9 (cash 347, stop_loss);
 *	   B opens at 25 above its 24: sold at the open 25 (cash 747,
 *	   take_profit); C's level 60 * 0.9 = 54, low 53: sold at 54 (cash 1071,
 *	   trailing_stop).  equity = 1071, and so on d3.
 * Trades: A -33, B +80, C +24 (1000 - 33 + 80 + 24 = 1071).
 */
static void
test_stops_hand_worked(void)
{
	static const int64_t ts[] = {T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY};
	static const double o[3][4] = {{10, 10, 9.8, 8}, {20, 20, 25, 26}, {50, 50, 57, 55}};
	static const double h[3][4] = {{10, 11, 10, 8}, {20, 21, 26, 26}, {50, 60, 58, 55}};
	static const double l[3][4] = {{10, 9.5, 8.5, 8}, {20, 19, 24, 26}, {50, 49, 53, 55}};
	static const double c[3][4] = {{10, 10.5, 9, 8}, {20, 21, 25, 26}, {50, 58, 55, 55}};
	static const double sig[4] = {1, NAN, NAN, NAN};
	static const char *const names[3] = {"A", "B", "C"};
	static const double eq[] = {1000, 1080.5, 1071, 1071};
	static const double cash[] = {1000, 50, 1071, 1071};
	static const double qty[] = {33, 16, 6}, xpx[] = {9, 25, 54}, pnl[] = {-33, 80, 24};
	static const BtExitReason why[] = {BT_EXIT_STOP_LOSS, BT_EXIT_TAKE_PROFIT, BT_EXIT_TRAILING_STOP};
	BtPfSymbol	sy[3];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	memset(sy, 0, sizeof(sy));
	for (int i = 0; i < 3; i++)
	{
		sy[i].name = names[i];
		sy[i].s = (BtSeries) {4, ts, o[i], h[i], l[i], c[i], NULL, sig};
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
	}
	sy[0].cfg.sim.stop_loss = 0.1;
	sy[1].cfg.sim.take_profit = 0.2;
	sy[2].cfg.sim.trailing_stop = 0.1;
	pf_defaults(&p, 3);
	p.account.initial_capital = 1000;
	p.rank_by = BT_PF_RANK_SYMBOL;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.n == 4);
	for (int t = 0; t < 4 && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash[t], 1e-12);
	}
	CHECK(r.ntrades == 3);
	for (int k = 0; k < 3 && k < r.ntrades; k++)
	{
		const BtTrade *t = &r.trades[k].t;

		CHECK(r.trades[k].sym == k && !t->is_open);
		CHECK_MSG(t->quantity == qty[k] && t->exit_price == xpx[k] && t->exit_reason == why[k],
				  "%s: %g @ %g, exit %g by %d", names[k], t->quantity, t->entry_price,
				  t->exit_price, (int) t->exit_reason);
		CHECK(t->entry_ts == T0 + DAY && t->exit_ts == T0 + 2 * DAY);
		CHECK_NEAR(t->pnl, pnl[k], 1e-12);
	}
	CHECK(r.open_positions[1] == 3 && r.open_positions[2] == 0);
	unit_free_all();
}

/* ---- a hand-worked three-symbol case ----------------------------------- */

/*
 * Days d0..d4, fill at the next open, equal allocation, max_positions 2,
 * initial_capital 1000, whole shares, stamp duty 0.1% on sales, rank by
 * symbol.  Bars (open/close) and signals (decided at the close):
 *
 *	      d0          d1          d2          d3          d4
 *	A   10/10 buy   10/12       12/11 exit  11/11       -
 *	B   20/20 buy   -           21/22       22/24       24/25
 *	C   -           50/50       52/52 buy   48/50       -
 *
 * d0  no fills; equity 1000.
 * d1  A buys at its open: 1000/2 = 500 -> 50 @ 10; cash 500.
 *	   B has no bar: its d0 order waits for its next bar.
 *	   equity = 500 + 50*12 = 1100.
 * d2  B buys at its open 21: 1100/2 = 550 wanted, only 500 cash: cash-limited
 *	   to 23 shares (483); cash 17.  equity = 17 + 50*11 + 23*22 = 1073.
 * d3  A sells first at 11: 550 less 0.55 stamp duty; cash 566.45.  Then C
 *	   buys at 48 with that cash: equity at the opens = 566.45 + 23*22 =
 *	   1072.45, /2 = 536.225 -> 11 shares (528); cash 38.45.
 *	   equity = 38.45 + 23*24 + 11*50 = 1140.45.
 * d4  C has no bar: marked at its d3 close 50.
 *	   equity = 38.45 + 23*25 + 11*50 = 1163.45.
 * Trades: A 50 @ 10 -> 11, pnl 50 - 0.55 = 49.45; B 23 @ 21 open (25,
 * pnl 92); C 11 @ 48 open at its last close 50 (pnl 22).
 */
static void
test_hand_worked(void)
{
	static const int64_t tsA[] = {T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY};
	static const double oA[] = {10, 10, 12, 11}, cA[] = {10, 12, 11, 11},
				sA[] = {1, NAN, 0, NAN};
	static const int64_t tsB[] = {T0, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY};
	static const double oB[] = {20, 21, 22, 24}, cB[] = {20, 22, 24, 25},
				sB[] = {1, NAN, NAN, NAN};
	static const int64_t tsC[] = {T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY};
	static const double oC[] = {50, 52, 48}, cC[] = {50, 52, 50}, sC[] = {NAN, 1, NAN};
	static double hA[4], lA[4], hB[4], lB[4], hC[3], lC[3];
	BtPfSymbol	sy[3];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;
	static const double eq[] = {1000, 1100, 1073, 1140.45, 1163.45};
	static const double cash[] = {1000, 500, 17, 38.45, 38.45};

	for (int i = 0; i < 4; i++)
	{
		hA[i] = fmax(oA[i], cA[i]);
		lA[i] = fmin(oA[i], cA[i]);
		hB[i] = fmax(oB[i], cB[i]);
		lB[i] = fmin(oB[i], cB[i]);
	}
	for (int i = 0; i < 3; i++)
	{
		hC[i] = fmax(oC[i], cC[i]);
		lC[i] = fmin(oC[i], cC[i]);
	}
	memset(sy, 0, sizeof(sy));
	sy[0].name = "A";
	sy[0].s = (BtSeries) {4, tsA, oA, hA, lA, cA, NULL, sA};
	sy[1].name = "B";
	sy[1].s = (BtSeries) {4, tsB, oB, hB, lB, cB, NULL, sB};
	sy[2].name = "C";
	sy[2].s = (BtSeries) {3, tsC, oC, hC, lC, cC, NULL, sC};
	for (int i = 0; i < 3; i++)
	{
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
		sy[i].cfg.sim.stamp_duty = 0.001;
	}
	pf_defaults(&p, 3);
	p.account.initial_capital = 1000;
	p.max_positions = 2;
	p.rank_by = BT_PF_RANK_SYMBOL;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.n == 5);
	for (int t = 0; t < 5 && t < r.n; t++)
	{
		CHECK_NEAR(r.equity[t], eq[t], 1e-12);
		CHECK_NEAR(r.cash[t], cash[t], 1e-12);
	}
	CHECK(r.ntrades == 3);
	if (r.ntrades == 3)
	{
		CHECK(r.trades[0].sym == 0 && !r.trades[0].t.is_open);
		CHECK(r.trades[0].t.quantity == 50 && r.trades[0].t.entry_price == 10 &&
			  r.trades[0].t.exit_price == 11);
		CHECK_NEAR(r.trades[0].t.pnl, 49.45, 1e-12);
		CHECK_NEAR(r.trades[0].t.commission, 0.55, 1e-12);
		CHECK(r.trades[0].t.entry_ts == T0 + DAY && r.trades[0].t.exit_ts == T0 + 3 * DAY);
		CHECK(r.trades[1].sym == 1 && r.trades[1].t.is_open && r.trades[1].t.quantity == 23);
		CHECK(r.trades[1].t.entry_ts == T0 + 2 * DAY && r.trades[1].t.entry_price == 21);
		CHECK_NEAR(r.trades[1].t.pnl, 92, 1e-12);
		CHECK(r.trades[2].sym == 2 && r.trades[2].t.is_open && r.trades[2].t.quantity == 11);
		CHECK(r.trades[2].t.entry_ts == T0 + 3 * DAY && r.trades[2].t.exit_price == 50);
		CHECK_NEAR(r.trades[2].t.pnl, 22, 1e-12);
	}
	CHECK(r.max_positions_held == 2);
	CHECK(r.entries_skipped == 0);
	CHECK_NEAR(r.metrics.commissions, 0.55, 1e-12);
	CHECK_NEAR(r.metrics.equity_final, 1163.45, 1e-12);
	/* notional traded: 500 + 483 + 550 + 528 = 2061, over the mean equity */
	CHECK_NEAR(r.turnover, 2061.0 / ((1000 + 1100 + 1073 + 1140.45 + 1163.45) / 5), 1e-12);

	/* max_positions 1: B's and C's entries are skipped (A is held) */
	p.max_positions = 1;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.entries_skipped == 1);	/* B at d2; C at d3 enters after A's exit */
	CHECK(r.max_positions_held == 1);
	unit_free_all();
}

/* ---- random universes -------------------------------------------------- */

typedef struct RandSym
{
	int64_t		n;
	int64_t    *ts;
	double	   *o, *h, *l, *c, *sig;
} RandSym;

static double
urand(uint64_t *s)
{
	*s = *s * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (double) (*s >> 11) / 9007199254740992.0;
}

/* A random walk on random days of 0..days-1 */
static void
rand_sym(RandSym *r, uint64_t *seed, int days)
{
	double		px = 10 + 90 * urand(seed);

	r->ts = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(int64_t) * days);
	r->o = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(double) * days);
	r->h = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(double) * days);
	r->l = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(double) * days);
	r->c = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(double) * days);
	r->sig = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, sizeof(double) * days);
	r->n = 0;
	for (int d = 0; d < days; d++)
	{
		double		o,
					c;

		if (urand(seed) < 0.15)
			continue;			/* a missing bar */
		o = px * (1 + 0.02 * (urand(seed) - 0.5));
		c = o * (1 + 0.04 * (urand(seed) - 0.5));
		r->ts[r->n] = T0 + d * DAY;
		r->o[r->n] = o;
		r->c[r->n] = c;
		r->h[r->n] = fmax(o, c) * 1.01;
		r->l[r->n] = fmin(o, c) * 0.99;
		{
			double		u = urand(seed);

			r->sig[r->n] = u < 0.1 ? 1 : u < 0.2 ? 0 : u < 0.25 ? -1 : NAN;
		}
		px = c;
		r->n++;
	}
}

static bool
ts_in(const BtSeries *s, int64_t t)
{
	for (int64_t i = 0; i < s->n; i++)
		if (s->ts[i] == t)
			return true;
	return false;
}

static void
test_invariants(void)
{
	int			bad_cash = 0,
				bad_eq = 0,
				bad_pos = 0,
				bad_fill = 0,
				bad_order = 0,
				nstops = 0,
				stop_exits = 0;

	for (uint64_t seed0 = 1; seed0 <= 200; seed0++)
	{
		uint64_t	seed = seed0 * 7919;
		uint64_t	sseed = seed0 * 104729;
		int			nsym = 1 + (int) (urand(&seed) * 6);
		BtPfSymbol	sy[8],
					rev[8];
		RandSym		rs[8];
		BtPfParams	p;
		BtPfResult	r,
					r2;
		BtError		err;

		pf_defaults(&p, nsym);
		p.account.initial_capital = 500 + 20000 * urand(&seed);
		p.max_positions = 1 + (int) (urand(&seed) * nsym);
		p.allocation = urand(&seed) < 0.5 ? BT_PF_ALLOC_EQUAL : BT_PF_ALLOC_FIXED;
		p.position_size = 0.1 + 0.9 * urand(&seed);
		p.rank_period = 1 + (int) (urand(&seed) * 5);
		p.rebalance = (BtPfRebalance) (int) (urand(&seed) * 4);
		p.account.fill = urand(&seed) < 0.5 ? BT_FILL_OPEN : BT_FILL_CLOSE;
		p.rotation = seed0 % 4 == 0;
		if (p.rotation && p.rebalance == BT_PF_REBAL_NONE)
			p.rebalance = BT_PF_REBAL_WEEKLY;
		p.top = 1 + (int) (urand(&seed) * nsym);
		p.period = 1 + (int) (urand(&seed) * 5);
		for (int i = 0; i < nsym; i++)
		{
			static const char *names[] = {"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7"};

			rand_sym(&rs[i], &seed, 60 + (int) (urand(&seed) * 60));
			memset(&sy[i], 0, sizeof(sy[i]));
			sy[i].name = names[i];
			sy[i].s = (BtSeries) {rs[i].n, rs[i].ts, rs[i].o, rs[i].h, rs[i].l, rs[i].c, NULL, rs[i].sig};
			bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
			sy[i].cfg.sim.commission = 0.001 * urand(&seed);
			sy[i].cfg.sim.commission_fixed = urand(&seed) < 0.5 ? 1 : 0;
			sy[i].cfg.sim.stamp_duty = urand(&seed) < 0.5 ? 0.001 : 0;
			sy[i].cfg.sim.slippage_bps = 10 * urand(&seed);
			sy[i].cfg.sim.lot_size = urand(&seed) < 0.3 ? 100 : 1;
			/* stops on half the universes, drawn apart (the other draws stay as they were) */
			if (seed0 % 2 == 1)
			{
				sy[i].cfg.sim.stop_loss = urand(&sseed) < 0.6 ? 0.01 + 0.05 * urand(&sseed) : 0;
				sy[i].cfg.sim.take_profit = urand(&sseed) < 0.5 ? 0.02 + 0.08 * urand(&sseed) : 0;
				sy[i].cfg.sim.trailing_stop = urand(&sseed) < 0.5 ? 0.01 + 0.04 * urand(&sseed) : 0;
				nstops += sy[i].cfg.sim.stop_loss > 0 || sy[i].cfg.sim.take_profit > 0 ||
					sy[i].cfg.sim.trailing_stop > 0;
			}
			rev[nsym - 1 - i] = sy[i];
		}
		if (bt_portfolio_run(sy, nsym, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) != BT_OK)
		{
			CHECK_MSG(false, "seed %llu: %s", (unsigned long long) seed0, err.msg);
			continue;
		}
		for (int64_t t = 0; t < r.n; t++)
		{
			if (r.cash[t] < -1e-9)
				bad_cash++;
			if (fabs(r.equity[t] - (r.cash[t] + r.value[t])) > 1e-9 * fabs(r.equity[t]))
				bad_eq++;
			if (r.open_positions[t] > p.max_positions)
				bad_pos++;
		}
		/* every fill on a bar of the trade's own symbol */
		for (int64_t k = 0; k < r.ntrades; k++)
		{
			const BtSeries *s = &sy[r.trades[k].sym].s;

			stop_exits += r.trades[k].t.exit_reason == BT_EXIT_STOP_LOSS ||
				r.trades[k].t.exit_reason == BT_EXIT_TAKE_PROFIT ||
				r.trades[k].t.exit_reason == BT_EXIT_TRAILING_STOP;

			if (!ts_in(s, r.trades[k].t.entry_ts) || !ts_in(s, r.trades[k].t.exit_ts))
				bad_fill++;
		}
		/* the symbols in reverse: the same account */
		if (bt_portfolio_run(rev, nsym, NULL, &p, &unit_alloc, NULL, NULL, &r2, &err) == BT_OK)
		{
			if (r2.n != r.n || r2.ntrades != r.ntrades)
				bad_order++;
			else
			{
				for (int64_t t = 0; t < r.n; t++)
					if (r.equity[t] != r2.equity[t] || r.cash[t] != r2.cash[t])
					{
						bad_order++;
						break;
					}
				/* trades come by symbol in input order: reversed blocks */
				for (int64_t k = 0; k < r.ntrades; k++)
				{
					bool		found = false;

					for (int64_t m = 0; m < r2.ntrades && !found; m++)
						found = strcmp(sy[r.trades[k].sym].name, rev[r2.trades[m].sym].name) == 0 &&
							r.trades[k].t.entry_ts == r2.trades[m].t.entry_ts &&
							r.trades[k].t.exit_ts == r2.trades[m].t.exit_ts &&
							r.trades[k].t.quantity == r2.trades[m].t.quantity;
					if (!found)
					{
						bad_order++;
						break;
					}
				}
			}
		}
		unit_free_all();
	}
	CHECK_MSG(bad_cash == 0, "%d timestamps with negative cash", bad_cash);
	CHECK_MSG(bad_eq == 0, "%d timestamps break equity = cash + value", bad_eq);
	CHECK_MSG(bad_pos == 0, "%d timestamps hold more than max_positions", bad_pos);
	CHECK_MSG(bad_fill == 0, "%d fills off their symbol's bars", bad_fill);
	CHECK_MSG(bad_order == 0, "%d universes depend on the order of the symbols", bad_order);
	CHECK_MSG(nstops > 0 && stop_exits > 0, "stops: %d symbols with stops, %d stop exits",
			  nstops, stop_exits);
}

/*
 * Causality: garbage after a cut-off timestamp on every symbol changes
 * nothing up to it (equity, cash), with sma_cross and with rotation, with
 * stops, limit and stop entries, pyramiding, leverage and margin calls.
 */
static void
test_causality(void)
{
	int			bad = 0,
				intrabar = 0,
				calls = 0;

	for (uint64_t seed0 = 1; seed0 <= 40; seed0++)
	{
		uint64_t	seed = seed0 * 104729;
		int			nsym = 2 + (int) (urand(&seed) * 4);
		BtPfSymbol	sy[6];
		RandSym		rs[6];
		BtPfParams	p;
		BtPfResult	r,
					r2;
		BtError		err;
		int64_t		first_cut = T0 + (int64_t) (10 + urand(&seed) * 11) * DAY;

		pf_defaults(&p, nsym);
		p.max_positions = 1 + (int) (urand(&seed) * nsym);
		p.rank_period = 3;
		p.rotation = seed0 % 2 == 0;
		p.rebalance = p.rotation ? BT_PF_REBAL_WEEKLY : (BtPfRebalance) (seed0 % 3);
		p.top = 2;
		p.period = 5;
		p.account.fill = seed0 % 3 == 0 ? BT_FILL_CLOSE : BT_FILL_OPEN;
		for (int i = 0; i < nsym; i++)
		{
			static const char *names[] = {"a", "b", "c", "d", "e", "f"};

			rand_sym(&rs[i], &seed, 120);
			memset(&sy[i], 0, sizeof(sy[i]));
			sy[i].name = names[i];
			sy[i].s = (BtSeries) {rs[i].n, rs[i].ts, rs[i].o, rs[i].h, rs[i].l, rs[i].c, NULL, NULL};
			bt_config_defaults(&sy[i].cfg, bt_find_strategy("sma_cross"));
			sy[i].cfg.sp[0] = 3;
			sy[i].cfg.sp[1] = 8;
			sy[i].cfg.sim.commission = 0.001;
			/* stops on a third of the universes: they read each bar's own range only */
			if (seed0 % 3 == 1)
			{
				sy[i].cfg.sim.stop_loss = 0.02;
				sy[i].cfg.sim.take_profit = 0.05;
				sy[i].cfg.sim.trailing_stop = 0.03;
			}
			/*
			 * limit or stop entries on half of them (issue 15), by symbol;
			 * pyramiding, leverage and margin calls on some
			 */
			if (seed0 % 4 >= 2)
			{
				sy[i].cfg.sim.entry = (i + seed0) % 2 ? BT_ENTRY_LIMIT : BT_ENTRY_STOP;
				sy[i].cfg.sim.entry_offset = 0.005 * (1 + i % 3);
				sy[i].cfg.sim.valid_bars = 1 + i % 4;
			}
			if (seed0 % 5 == 0)
				sy[i].cfg.sim.pyramiding = 3;
			if (seed0 % 4 == 3)
			{
				sy[i].cfg.sim.leverage = 4;
				sy[i].cfg.sim.maintenance_margin = 0.24;
			}
		}
		p.account.leverage = sy[0].cfg.sim.leverage;
		p.account.maintenance_margin = sy[0].cfg.sim.maintenance_margin;
		CHECK(bt_portfolio_run(sy, nsym, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
		/* at eight cuts: garbage after the cut, wild prices, same timestamps */
		for (int cn = 0; cn < 8; cn++)
		{
			int64_t		cut = first_cut + cn * 11 * DAY;
			BtPfSymbol	gy[6];
			bool		differ = false;

			for (int i = 0; i < nsym; i++)
			{
				size_t		bytes = sizeof(double) * rs[i].n;
				double	   *o = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, bytes),
						   *h = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, bytes),
						   *l = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, bytes),
						   *c = unit_alloc.realloc_fn(unit_alloc.ctx, NULL, bytes);

				for (int64_t k = 0; k < rs[i].n; k++)
				{
					double		g = 1 + 1000 * urand(&seed);

					if (rs[i].ts[k] <= cut)
					{
						o[k] = rs[i].o[k], h[k] = rs[i].h[k];
						l[k] = rs[i].l[k], c[k] = rs[i].c[k];
						continue;
					}
					o[k] = g;
					c[k] = g * (0.5 + urand(&seed));
					h[k] = fmax(o[k], c[k]);
					l[k] = fmin(o[k], c[k]);
				}
				gy[i] = sy[i];
				gy[i].s.open = o, gy[i].s.high = h, gy[i].s.low = l, gy[i].s.close = c;
			}
			CHECK(bt_portfolio_run(gy, nsym, NULL, &p, &unit_alloc, NULL, NULL, &r2, &err) == BT_OK);
			for (int64_t t = 0; t < r.n && r.ts[t] <= cut; t++)
				differ |= r.equity[t] != r2.equity[t] || r.cash[t] != r2.cash[t];
			if (differ)
			{
				bad++;
				break;
			}
		}
		for (int64_t k = 0; k < r.ntrades; k++)
		{
			intrabar += r.trades[k].t.entry_intrabar;
			calls += r.trades[k].t.exit_reason == BT_EXIT_MARGIN_CALL;
		}
		unit_free_all();
	}
	CHECK_MSG(bad == 0, "%d universes look ahead", bad);
	CHECK_MSG(intrabar > 0 && calls > 0, "%d order entries, %d margin calls", intrabar, calls);
}

/*
 * Rotation: three trending symbols, top 1, daily rebalance, fill at the
 * close: the strongest one is held from the first decision on.
 */
static void
test_rotation(void)
{
	enum
	{
		N = 30
	};
	static int64_t ts[N];
	static double up[N], flat[N], down[N];
	BtPfSymbol	sy[3];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	for (int i = 0; i < N; i++)
	{
		ts[i] = T0 + i * DAY;
		up[i] = 100 * pow(1.01, i);
		flat[i] = 100 + (i % 2);
		down[i] = 100 * pow(0.99, i);
	}
	memset(sy, 0, sizeof(sy));
	sy[0].name = "DOWN";
	sy[0].s = (BtSeries) {N, ts, down, down, down, down, NULL, NULL};
	sy[1].name = "FLAT";
	sy[1].s = (BtSeries) {N, ts, flat, flat, flat, flat, NULL, NULL};
	sy[2].name = "UP";
	sy[2].s = (BtSeries) {N, ts, up, up, up, up, NULL, NULL};
	for (int i = 0; i < 3; i++)
		bt_config_defaults(&sy[i].cfg, &bt_strategy_rotation);
	pf_defaults(&p, 3);
	p.rotation = true;
	p.top = 1;
	p.max_positions = 1;
	p.period = 5;
	p.rebalance = BT_PF_REBAL_DAILY;
	p.account.fill = BT_FILL_CLOSE;
	p.account.fractional = true;
	for (int i = 0; i < 3; i++)
		sy[i].cfg.sim.fractional = true;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 1);
	if (r.ntrades >= 1)
	{
		CHECK(r.trades[0].sym == 2);
		CHECK(r.trades[0].t.entry_ts == ts[5]);	/* ROC(5) first defined on bar 5 */
		CHECK(r.trades[0].t.is_open);
	}
	/* min_momentum above every ROC: cash only */
	p.min_momentum = 50;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 0);
	CHECK(r.equity[N - 1] == p.account.initial_capital);
	/* top 2, next open: UP and FLAT, each half; weekly: rebalance resizes */
	p.min_momentum = -100;
	p.top = 2;
	p.max_positions = 2;
	p.account.fill = BT_FILL_OPEN;
	p.rebalance = BT_PF_REBAL_WEEKLY;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.max_positions_held == 2);
	for (int64_t k = 0; k < r.ntrades; k++)
		CHECK(r.trades[k].sym != 0);
	/* a rebalance sold part of UP (it grew above half) */
	{
		bool		partial = false;

		for (int64_t k = 0; k < r.ntrades; k++)
			partial |= r.trades[k].sym == 2 && !r.trades[k].t.is_open;
		CHECK(partial);
	}
	/* rotation without a rebalance period is an error */
	p.rebalance = BT_PF_REBAL_NONE;
	CHECK(bt_portfolio_run(sy, 3, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_ERR_PARAM);
	unit_free_all();
}

/* Benchmark: the account holding the benchmark itself has beta 1, alpha 0 */
static void
test_benchmark(void)
{
	BtSeries	s = unit_sample_series();
	BtPfSymbol	sym;
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	memset(&sym, 0, sizeof(sym));
	sym.name = "X";
	sym.s = s;
	bt_config_defaults(&sym.cfg, bt_find_strategy("buy_and_hold"));
	sym.cfg.sim.fractional = true;
	pf_defaults(&p, 1);
	p.account.fill = BT_FILL_CLOSE;
	CHECK(bt_portfolio_run(&sym, 1, &s, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK_NEAR(r.beta, 1.0, 1e-9);
	CHECK_NEAR(r.alpha, 0.0, 1e-6);
	CHECK_NEAR(r.benchmark_return_pct, (s.close[s.n - 1] / s.close[0] - 1) * 100, 1e-9);
	CHECK(r.turnover > 0.99 && r.turnover < 1.5);
	/* no benchmark: NaN */
	CHECK(bt_portfolio_run(&sym, 1, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(isnan(r.alpha) && isnan(r.beta));
	/* bad parameters */
	p.max_positions = 0;
	CHECK(!bt_portfolio_check(&p, 1, &err));
	CHECK(strstr(err.msg, "max_positions") != NULL);
	p.max_positions = 1;
	p.position_size = 1.5;
	CHECK(!bt_portfolio_check(&p, 1, &err));
	unit_free_all();
}

/*
 * Rebalancing, by hand: A and B both bought at d0's close (fill close,
 * equal, max_positions 2, 1000 cash, a fixed fee of 1 per order), daily
 * rebalance; A doubles on d1.
 * d0  A: 500 budget -> (500 - 1) / 10 -> 49 (491); cash 509.  B: equity
 *	   509 + 49*10 = 999, /2 = 499.5 -> 49 (491); cash 18.  equity 998.
 * d1  equity 18 + 49*20 + 49*10 = 1488, target 744 each.  Reduction: A to
 *	   floor(744/20) = 37, sells 12 @ 20: cash 18 + 240 - 1 = 257; a closed
 *	   trade of 12, pnl 12*10 - 1*12/49 (its share of the entry fee) - 1.
 *	   Increase: B's target floor(1487/2/10) = 74, +25 fits the 257 cash
 *	   (25*10 + 1); cash 6.  equity 6 + 37*20 + 74*10 = 1486.
 */
static void
test_rebalance(void)
{
	static const int64_t ts[] = {T0, T0 + DAY};
	static const double cA[] = {10, 20}, cB[] = {10, 10}, sig[] = {1, NAN};
	BtPfSymbol	sy[2];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	memset(sy, 0, sizeof(sy));
	sy[0].name = "A";
	sy[0].s = (BtSeries) {2, ts, cA, cA, cA, cA, NULL, sig};
	sy[1].name = "B";
	sy[1].s = (BtSeries) {2, ts, cB, cB, cB, cB, NULL, sig};
	for (int i = 0; i < 2; i++)
	{
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
		sy[i].cfg.sim.commission_fixed = 1;
	}
	pf_defaults(&p, 2);
	p.account.initial_capital = 1000;
	p.account.fill = BT_FILL_CLOSE;
	p.rank_by = BT_PF_RANK_SYMBOL;
	p.rebalance = BT_PF_REBAL_DAILY;
	CHECK(bt_portfolio_run(sy, 2, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK_NEAR(r.cash[0], 18, 1e-12);
	CHECK_NEAR(r.equity[0], 998, 1e-12);
	CHECK_NEAR(r.cash[1], 6, 1e-12);
	CHECK_NEAR(r.equity[1], 1486, 1e-12);
	CHECK(r.ntrades == 3);
	if (r.ntrades == 3)
	{
		CHECK(r.trades[0].sym == 0 && !r.trades[0].t.is_open && r.trades[0].t.quantity == 12);
		CHECK_NEAR(r.trades[0].t.pnl, 120 - 12.0 / 49 - 1, 1e-12);
		CHECK(r.trades[1].sym == 0 && r.trades[1].t.is_open && r.trades[1].t.quantity == 37);
		CHECK(r.trades[2].sym == 1 && r.trades[2].t.is_open && r.trades[2].t.quantity == 74);
		CHECK_NEAR(r.trades[2].t.commission, 2, 1e-12);
	}
	CHECK_NEAR(r.metrics.commissions, 4, 1e-12);
	/* no rebalance: A keeps 49, B 49 */
	p.rebalance = BT_PF_REBAL_NONE;
	CHECK(bt_portfolio_run(sy, 2, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 2 && r.trades[0].t.quantity == 49 && r.trades[1].t.quantity == 49);
	unit_free_all();
}

/*
 * Shorts reserve their notional: A's short of 100 @ 10 (all of the equity,
 * fixed 1) credits 1000 to cash but leaves no free cash, so B's entry at
 * the same open is skipped (without the reservation it would buy 50).
 */
static void
test_shorts(void)
{
	static const int64_t ts[] = {T0, T0 + DAY, T0 + 2 * DAY};
	static const double oA[] = {10, 10, 12}, cA[] = {10, 12, 12}, sA[] = {-1, NAN, NAN};
	static const double oB[] = {20, 20, 20}, cB[] = {20, 20, 20}, sB[] = {1, NAN, NAN};
	BtPfSymbol	sy[2];
	BtPfParams	p;
	BtPfResult	r;
	BtError		err;

	memset(sy, 0, sizeof(sy));
	sy[0].name = "A";
	sy[0].s = (BtSeries) {3, ts, oA, cA, oA, cA, NULL, sA};
	sy[1].name = "B";
	sy[1].s = (BtSeries) {3, ts, oB, cB, oB, cB, NULL, sB};
	for (int i = 0; i < 2; i++)
		bt_config_defaults(&sy[i].cfg, bt_find_strategy("signal"));
	pf_defaults(&p, 2);
	p.account.initial_capital = 1000;
	p.account.allow_short = true;
	p.allocation = BT_PF_ALLOC_FIXED;
	p.position_size = 1;
	p.rank_by = BT_PF_RANK_SYMBOL;
	CHECK(bt_portfolio_run(sy, 2, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 1 && r.trades[0].sym == 0 && r.trades[0].t.side == -1);
	CHECK(r.ntrades == 1 && r.trades[0].t.quantity == 100);
	CHECK(r.entries_skipped == 1 && r.metrics.entries_unfilled == 1);
	CHECK_NEAR(r.cash[1], 2000, 1e-12);
	CHECK_NEAR(r.equity[1], 800, 1e-12);	/* 2000 - 100 * 12 */
	/* without allow_short, A's -1 means flat: B buys 50 */
	p.account.allow_short = false;
	CHECK(bt_portfolio_run(sy, 2, NULL, &p, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK(r.ntrades == 1 && r.trades[0].sym == 1 && r.trades[0].t.quantity == 50);
	unit_free_all();
}

void
test_portfolio(void)
{
	test_one_symbol();
	test_stops_seen();
	test_stops_hand_worked();
	test_hand_worked();
	test_invariants();
	test_causality();
	test_symbol_rules();
	test_rotation();
	test_benchmark();
	test_shorts();
	test_rebalance();
}
