/*-------------------------------------------------------------------------
 *
 * test_metrics.c
 *	  Metrics on a hand-worked equity curve and trade list, and the
 *	  inference of periods per year from bar spacing.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_metrics.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"

#define DAY BT_USECS_PER_DAY

static void
test_hand_metrics(void)
{
	/* five daily bars; equity 100, 110, 99, 121, 121 */
	int64_t		ts[5];
	double		close[5] = {50, 55, 45, 60, 60};
	double		eq[5] = {100, 110, 99, 121, 121};
	double		pos[5] = {0};
	BtTrade		tr[3];
	BtSeries	s;
	BtResult	r;
	BtSimParams p;
	const BtMetrics *m = &r.metrics;
	double		rets[4] = {0.1, -0.1, 121.0 / 99 - 1, 0};
	double		mean = 0, var = 0, g, ann;

	for (int i = 0; i < 5; i++)
		ts[i] = (int64_t) (16436 + i) * DAY;
	memset(&s, 0, sizeof(s));
	s.n = 5;
	s.ts = ts;
	s.open = s.high = s.low = s.close = close;
	memset(tr, 0, sizeof(tr));
	/* +10 (10%) over bars 0-2, -5 (-5%) over bars 2-3, one open over 3-4 */
	tr[0].entry_bar = 0; tr[0].exit_bar = 2; tr[0].entry_ts = ts[0]; tr[0].exit_ts = ts[2];
	tr[0].pnl = 10; tr[0].return_pct = 10;
	tr[1].entry_bar = 2; tr[1].exit_bar = 3; tr[1].entry_ts = ts[2]; tr[1].exit_ts = ts[3];
	tr[1].pnl = -5; tr[1].return_pct = -5;
	tr[2].entry_bar = 3; tr[2].exit_bar = 4; tr[2].is_open = true; tr[2].pnl = 1;

	memset(&r, 0, sizeof(r));
	r.n = 5;
	r.equity = eq;
	r.position = pos;
	r.trades = tr;
	r.ntrades = 3;
	r.metrics.commissions = 7;
	bt_sim_defaults(&p);
	p.initial_capital = 100;
	p.periods_per_year = 252;
	bt_compute_metrics(&s, 1, &p, &r);

	CHECK_NEAR(m->commissions, 7, 0);
	CHECK(m->bars == 5 && m->warmup_bars == 1);
	CHECK(m->duration == 4 * DAY);
	CHECK_NEAR(m->equity_final, 121, 1e-12);
	CHECK_NEAR(m->equity_peak, 121, 1e-12);
	CHECK_NEAR(m->return_pct, 21, 1e-12);
	/* buy & hold from the warm-up bar's close (55) to the last (60) */
	CHECK_NEAR(m->buy_hold_return_pct, (60.0 / 55 - 1) * 100, 1e-12);
	CHECK_NEAR(m->max_drawdown_pct, -10, 1e-12);
	/* one drawdown period: from the peak at bar 1 to the recovery at bar 3 */
	CHECK_NEAR(m->avg_drawdown_pct, -10, 1e-12);
	CHECK_NEAR(m->max_drawdown_duration, 2.0 * DAY, 0);
	CHECK_NEAR(m->avg_drawdown_duration, 2.0 * DAY, 0);
	/* exposure: bars 0-2, 2-3, 3-4 cover all five bars */
	CHECK_NEAR(m->exposure_pct, 100, 1e-12);

	/* geometric mean over 5 (the first bar counts as a zero return) */
	g = pow(1.21, 1.0 / 5) - 1;
	ann = pow(1 + g, 252) - 1;
	CHECK_NEAR(m->return_ann_pct, ann * 100, 1e-9);
	for (int i = 0; i < 4; i++)
		mean += rets[i] / 4;
	for (int i = 0; i < 4; i++)
		var += (rets[i] - mean) * (rets[i] - mean) / 3;
	CHECK_NEAR(m->volatility_ann_pct,
			   sqrt(pow(var + (1 + g) * (1 + g), 252) - pow(1 + g, 504)) * 100, 1e-9);
	CHECK_NEAR(m->sharpe_ratio, m->return_ann_pct / m->volatility_ann_pct, 1e-12);
	/* downside deviation: sqrt(mean(min(r,0)^2)) = sqrt(0.01 / 4) = 0.05 */
	CHECK_NEAR(m->sortino_ratio, ann / (0.05 * sqrt(252)), 1e-9);
	CHECK_NEAR(m->calmar_ratio, ann / 0.10, 1e-9);
	/* omega: (0.1 + 0.2222) / 0.1 */
	CHECK_NEAR(m->omega_ratio, (0.1 + rets[2]) / 0.1, 1e-12);
	/* CAGR over 4 calendar days */
	CHECK_NEAR(m->cagr_pct, (pow(1.21, 365.25 / 4) - 1) * 100, 1e-9);

	/* trades: the open one is not counted */
	CHECK(m->trades_count == 2 && m->open_trades == 1);
	CHECK_NEAR(m->win_rate_pct, 50, 1e-12);
	CHECK_NEAR(m->best_trade_pct, 10, 1e-12);
	CHECK_NEAR(m->worst_trade_pct, -5, 1e-12);
	CHECK_NEAR(m->avg_trade_pct, (sqrt(1.10 * 0.95) - 1) * 100, 1e-12);
	CHECK_NEAR(m->expectancy_pct, 2.5, 1e-12);
	CHECK_NEAR(m->profit_factor, 2, 1e-12);
	/* SQN = sqrt(2) * mean(10, -5) / sd(10, -5) = sqrt(2) * 2.5 / sqrt(112.5) */
	CHECK_NEAR(m->sqn, sqrt(2) * 2.5 / sqrt(112.5), 1e-12);
	/* Kelly = 0.5 - 0.5 / (10 / 5) */
	CHECK_NEAR(m->kelly_criterion, 0.25, 1e-12);
	CHECK_NEAR(m->max_trade_duration, 2.0 * DAY, 0);
	CHECK_NEAR(m->avg_trade_duration, 1.5 * DAY, 0);

	/* no trades: trade statistics are undefined (NaN -> SQL NULL), not 0 */
	r.ntrades = 0;
	bt_compute_metrics(&s, 1, &p, &r);
	CHECK(m->trades_count == 0 && isnan(m->win_rate_pct) && isnan(m->sqn));
	CHECK(isnan(m->profit_factor) && isnan(m->avg_trade_duration));
}

static void
test_periods_per_year(void)
{
	static int64_t ts[20000];
	int			n;

	/* the sample: weekday daily bars */
	CHECK_NEAR(bt_infer_periods_per_year(unit_ohlcv()->ts, unit_ohlcv()->n), 252, 1e-12);
	/* every day */
	for (n = 0; n < 1000; n++)
		ts[n] = (int64_t) n * DAY;
	CHECK_NEAR(bt_infer_periods_per_year(ts, n), 365, 1e-12);
	/* hourly, around the clock */
	for (n = 0; n < 20000; n++)
		ts[n] = (int64_t) n * DAY / 24;
	CHECK_NEAR(bt_infer_periods_per_year(ts, n), 365 * 24, 1e-9);
	/* weekly and monthly */
	for (n = 0; n < 200; n++)
		ts[n] = (int64_t) n * 7 * DAY;
	CHECK_NEAR(bt_infer_periods_per_year(ts, n), 52, 0);
	for (n = 0; n < 200; n++)
		ts[n] = (int64_t) n * 30 * DAY + (n % 2) * DAY;
	CHECK_NEAR(bt_infer_periods_per_year(ts, n), 12, 0);
	/* minute bars 09:30-16:00 on weekdays: 390 bars a day, 252 days */
	n = 0;
	for (int d = 0; n < 20000 - 390; d++)
	{
		int			dow = (d + 4) % 7;	/* day 0 = 1970-01-01, a Thursday */

		if (dow == 0 || dow == 6)
			continue;
		for (int k = 0; k < 390; k++)
			ts[n++] = (int64_t) d * DAY + (int64_t) (570 + k) * 60 * 1000000;
	}
	CHECK_NEAR(bt_infer_periods_per_year(ts, n), 252.0 * 390, 1e-9);
	/* a short run of weekday bars still reads as a weekday market */
	{
		int64_t		wk[5];

		for (int i = 0; i < 5; i++)
			wk[i] = (int64_t) (16436 + i) * DAY;	/* Thu 2015-01-01 .. Mon 01-05 */
		CHECK_NEAR(bt_infer_periods_per_year(wk, 5), 365, 0);	/* has a weekend day */
		wk[2] = (int64_t) (16436 + 4) * DAY;
		wk[3] = (int64_t) (16436 + 5) * DAY;
		wk[4] = (int64_t) (16436 + 6) * DAY;
		CHECK_NEAR(bt_infer_periods_per_year(wk, 5), 252, 0);
	}
}

void
test_metrics(void)
{
	test_hand_metrics();
	test_periods_per_year();
}
