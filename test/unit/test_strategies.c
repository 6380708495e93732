/*-------------------------------------------------------------------------
 *
 * test_strategies.c
 *	  Strategies: the crossing rule, backtrader's SMA(10)/SMA(30) trades on
 *	  the sample data, no look-ahead (mutating future bars never changes
 *	  past decisions), and every registered strategy runs with defaults.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_strategies.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"

static BtResult
run(const BtSeries *s, const char *strategy, int nset, const char *const *keys, const double *vals,
	const BtSimParams *sim)
{
	BtConfig	cfg;
	BtResult	r;
	BtError		err;

	bt_config_defaults(&cfg, bt_find_strategy(strategy));
	if (sim)
		cfg.sim = *sim;
	for (int k = 0; k < nset; k++)
		for (int i = 0; i < cfg.strategy->nparams; i++)
			if (strcmp(cfg.strategy->params[i].name, keys[k]) == 0)
				cfg.sp[i] = vals[k];
	CHECK(bt_config_check(&cfg, &err));
	CHECK(bt_run(s, &cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	return r;
}

/*
 * sma_cross 10/30 with the defaults makes exactly backtrader's 53 trades:
 * same bars, prices, sizes and pnl (test/data/golden/sma_cross_10_30_trades.csv).
 */
static void
test_backtrader_trades(void)
{
	BtSeries	s = unit_sample_series();
	BtResult	r = run(&s, "sma_cross", 0, NULL, NULL, NULL);
	double	   *g[8];
	char		path[1024];
	int64_t		ng;
	int			mismatches = 0;
	double		sum_pnl = 0;

	snprintf(path, sizeof path, "%s/golden/sma_cross_10_30_trades.csv", unit_data_dir);
	ng = unit_read_csv(path, 8, g);
	CHECK_MSG(ng == 53, "golden trades: %lld", (long long) ng);
	CHECK_MSG(r.ntrades == ng, "trades: %lld, expected %lld", (long long) r.ntrades, (long long) ng);
	for (int64_t k = 0; k < ng && k < r.ntrades; k++)
	{
		const BtTrade *t = &r.trades[k];
		bool		ok = t->entry_bar == (int64_t) g[0][k] && t->exit_bar == (int64_t) g[3][k] &&
			t->quantity == g[6][k] && !t->is_open && t->side == 1 &&
			fabs(t->entry_price - g[2][k]) <= 1e-9 * fabs(g[2][k]) &&
			fabs(t->exit_price - g[5][k]) <= 1e-9 * fabs(g[5][k]) &&
			fabs(t->pnl - g[7][k]) <= 1e-9 * fmax(1.0, fabs(g[7][k])) &&
			t->entry_ts == (int64_t) g[1][k] && t->exit_ts == (int64_t) g[4][k];

		if (!ok && mismatches++ < 5)
			fprintf(stderr, "trade %lld: bars %lld-%lld qty %g pnl %.10g; expected %g-%g qty %g pnl %.10g\n",
					(long long) k, (long long) t->entry_bar, (long long) t->exit_bar,
					t->quantity, t->pnl, g[0][k], g[3][k], g[6][k], g[7][k]);
		CHECK(ok);
		sum_pnl += g[7][k];
	}
	CHECK_NEAR(r.metrics.equity_final, 10000 + sum_pnl, 1e-9);
	CHECK_NEAR(r.metrics.equity_final, 11033.3188, 1e-8);
	CHECK(r.metrics.trades_count == 53 && r.metrics.open_trades == 0);
	CHECK(r.metrics.warmup_bars == 29);
}

/* The crossing rule on a hand-made series (via sma_cross with fast=1, slow=2) */
static void
test_cross_rule(void)
{
	/*
	 * With fast = SMA(1) = close and slow = SMA(2), fast - slow = (c_t - c_{t-1})/2:
	 * the sign of the last change.  closes: 10 11 12 12 13 12 12 11 11 12
	 * diff sign from bar 1:      +  +  0  +  -  0  -  0  +
	 * bar 1 first defined: no cross.  bar 3 touch (0) then bar 4 + again:
	 * last nonzero was + so no cross.  bar 5 -: cross down.  bar 7 -, no.
	 * bar 9 +: last nonzero (bar 7) was -: cross up.
	 */
	double		c[] = {10, 11, 12, 12, 13, 12, 12, 11, 11, 12};
	int64_t		ts[10];
	BtSeries	s;
	int8_t		tg[10];
	int8_t		want[] = {BT_KEEP, BT_KEEP, BT_KEEP, BT_KEEP, BT_KEEP, -1, BT_KEEP, BT_KEEP, BT_KEEP, 1};
	double		p[2] = {1, 2};
	int64_t		warm;

	for (int i = 0; i < 10; i++)
		ts[i] = i * BT_USECS_PER_DAY;
	memset(&s, 0, sizeof(s));
	s.n = 10;
	s.ts = ts;
	s.open = s.high = s.low = s.close = c;
	warm = bt_strategy_compute(bt_find_strategy("sma_cross"), &s, p, tg, &unit_alloc);
	CHECK(warm == 1);
	for (int i = 0; i < 10; i++)
		CHECK_MSG(tg[i] == want[i], "bar %d: target %d, expected %d", i, tg[i], want[i]);

	/* fast already above slow when both become defined: no position opens */
	{
		double		up[] = {10, 11, 12, 13, 14, 15};
		BtResult	r;
		BtSimParams sim;
		BtError		err;

		s.n = 6;
		s.open = s.high = s.low = s.close = up;
		warm = bt_strategy_compute(bt_find_strategy("sma_cross"), &s, p, tg, &unit_alloc);
		for (int i = 0; i < 6; i++)
			CHECK(tg[i] == BT_KEEP);
		bt_sim_defaults(&sim);
		CHECK(bt_simulate(&s, tg, warm, &sim, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
		CHECK(r.ntrades == 0);
	}
}

/*
 * No look-ahead: for several cut points t, replace every bar after t with
 * garbage; every strategy's targets up to t, and the trades entered up to
 * t+1 (next-open fills), must not change.
 */
static void
test_causality(void)
{
	BtSeries	s = unit_sample_series();
	int64_t		n = s.n;
	double	   *o = malloc(n * sizeof(double)),
			   *h = malloc(n * sizeof(double)),
			   *l = malloc(n * sizeof(double)),
			   *c = malloc(n * sizeof(double)),
			   *v = malloc(n * sizeof(double));
	int64_t		cuts[] = {40, 500, 1311, 2000, 2420};

	for (int si = 0; si < bt_n_strategies; si++)
	{
		const BtStrategyDef *st = &bt_strategies[si];
		int8_t	   *base,
				   *mut;
		BtConfig	cfg;

		if (st->needs_signal)
			continue;
		bt_config_defaults(&cfg, st);
		base = unit_alloc.realloc_fn(NULL, NULL, n);
		mut = unit_alloc.realloc_fn(NULL, NULL, n);
		bt_strategy_compute(st, &s, cfg.sp, base, &unit_alloc);
		for (size_t ci = 0; ci < sizeof(cuts) / sizeof(cuts[0]); ci++)
		{
			int64_t		t = cuts[ci];
			BtSeries	m = s;
			int			diff = 0;

			memcpy(o, s.open, n * sizeof(double));
			memcpy(h, s.high, n * sizeof(double));
			memcpy(l, s.low, n * sizeof(double));
			memcpy(c, s.close, n * sizeof(double));
			memcpy(v, s.volume, n * sizeof(double));
			for (int64_t i = t + 1; i < n; i++)
			{
				/* wild future: spikes and crashes */
				double		x = (i % 7 == 0) ? 1000.0 : (i % 3 == 0 ? 1.0 : 50.0 + i % 11);

				o[i] = c[i] = x;
				h[i] = x * 1.5;
				l[i] = x * 0.5;
				v[i] = 1e9;
			}
			m.open = o;
			m.high = h;
			m.low = l;
			m.close = c;
			m.volume = v;
			bt_strategy_compute(st, &m, cfg.sp, mut, &unit_alloc);
			for (int64_t i = 0; i <= t; i++)
				diff += base[i] != mut[i];
			CHECK_MSG(diff == 0, "%s: %d targets up to bar %lld changed with the future",
					  st->name, diff, (long long) t);

			/*
			 * and the simulator: equity up to t is unchanged, with market
			 * entries and with limit and stop entries (each fill mode)
			 */
			for (int variant = 0; variant < 4; variant++)
			{
				BtResult	r1,
							r2;
				BtError		err;
				BtConfig	vc = cfg;

				vc.sim.entry = variant == 0 ? BT_ENTRY_MARKET :
					variant == 2 ? BT_ENTRY_STOP : BT_ENTRY_LIMIT;
				vc.sim.entry_offset = 0.005;
				vc.sim.valid_bars = 4;
				vc.sim.allow_short = variant >= 2;
				vc.sim.fill = variant == 3 ? BT_FILL_CLOSE : BT_FILL_OPEN;
				vc.sim.stop_loss = variant == 1 ? 0.02 : 0;
				CHECK(bt_run(&s, &vc, &unit_alloc, NULL, NULL, &r1, &err) == BT_OK);
				CHECK(bt_run(&m, &vc, &unit_alloc, NULL, NULL, &r2, &err) == BT_OK);
				diff = 0;
				for (int64_t i = 0; i <= t; i++)
					diff += r1.equity[i] != r2.equity[i] || r1.position[i] != r2.position[i];
				CHECK_MSG(diff == 0, "%s (entries %d): equity up to bar %lld changed with the future",
						  st->name, variant, (long long) t);
			}
		}
	}
	free(o);
	free(h);
	free(l);
	free(c);
	free(v);
}

/* Every strategy runs with its defaults and long/short on the sample */
static void
test_all_strategies(void)
{
	BtSeries	s = unit_sample_series();
	BtSimParams sim;

	bt_sim_defaults(&sim);
	for (int si = 0; si < bt_n_strategies; si++)
	{
		const BtStrategyDef *st = &bt_strategies[si];
		BtResult	r;
		double		sum = 0;

		if (st->needs_signal)
			continue;
		r = run(&s, st->name, 0, NULL, NULL, &sim);
		/* the final equity equals capital plus every trade's pnl */
		for (int64_t k = 0; k < r.ntrades; k++)
			sum += r.trades[k].pnl;
		CHECK_MSG(fabs(r.metrics.equity_final - (10000 + sum)) < 1e-6,
				  "%s: equity %.10g vs 10000 + pnl %.10g", st->name, r.metrics.equity_final, sum);
		CHECK_MSG(r.ntrades > 0, "%s made no trade on 3000 bars", st->name);
		/* long-only: never a short position */
		for (int64_t i = 0; i < s.n; i++)
			if (r.position[i] < 0)
			{
				CHECK_MSG(false, "%s: short position in long-only mode", st->name);
				break;
			}
	}
	/* buy_and_hold: buys at bar 1's open and is still open at the end */
	{
		BtResult	r = run(&s, "buy_and_hold", 0, NULL, NULL, &sim);

		CHECK(r.ntrades == 1 && r.trades[0].is_open && r.trades[0].entry_bar == 1);
		CHECK(r.metrics.exposure_pct > 99.9);
	}
	/* invalid cross-parameter combinations are rejected */
	{
		BtConfig	cfg;
		BtError		err;

		bt_config_defaults(&cfg, bt_find_strategy("sma_cross"));
		cfg.sp[0] = 30;
		cfg.sp[1] = 10;
		CHECK(!bt_config_check(&cfg, &err) && strstr(err.msg, "fast") != NULL);
		cfg.sp[0] = 0;
		CHECK(!bt_config_check(&cfg, &err) && err.code == BT_ERR_PARAM);
		bt_config_defaults(&cfg, bt_find_strategy("rsi"));
		cfg.sp[1] = 80;
		CHECK(!bt_config_check(&cfg, &err));
		CHECK(bt_find_strategy("nope") == NULL);
	}
}

void
test_strategies(void)
{
	test_cross_rule();
	test_backtrader_trades();
	test_causality();
	test_all_strategies();
}
