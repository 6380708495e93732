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
#include "bt_internal.h"

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

	/*
	 * Daily bars: the daily returns are the bar returns, four of them.
	 * Geometric mean g = 1.21^(1/4) - 1, annualised (1 + g)^252 - 1.
	 */
	g = pow(1.21, 1.0 / 4) - 1;
	ann = pow(1 + g, 252) - 1;
	CHECK_NEAR(m->return_ann_pct, ann * 100, 1e-9);
	CHECK_NEAR(m->periods_per_year, 252, 0);
	for (int i = 0; i < 4; i++)
		mean += rets[i] / 4;
	for (int i = 0; i < 4; i++)
		var += (rets[i] - mean) * (rets[i] - mean) / 3;
	/* mean = 0.0555..., sd = sqrt(var) = 0.1366...: vol 216.9%, Sharpe 6.45 */
	CHECK_NEAR(m->volatility_ann_pct, sqrt(var) * sqrt(252) * 100, 1e-12);
	CHECK_NEAR(m->sharpe_ratio, mean / sqrt(var) * sqrt(252), 1e-12);
	/* downside deviation: sqrt(mean(min(r,0)^2)) = sqrt(0.01 / 4) = 0.05 */
	CHECK_NEAR(m->sortino_ratio, mean / 0.05 * sqrt(252), 1e-12);
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

	/* a risk-free rate of 5% a year: 0.05 / 252 a day off the mean */
	p.risk_free_rate = 0.05;
	bt_compute_metrics(&s, 1, &p, &r);
	CHECK_NEAR(m->sharpe_ratio, (mean - 0.05 / 252) / sqrt(var) * sqrt(252), 1e-12);
	CHECK_NEAR(m->sortino_ratio, (mean - 0.05 / 252) / 0.05 * sqrt(252), 1e-12);
	p.risk_free_rate = 0;

	/* no trades: trade statistics are undefined (NaN -> SQL NULL), not 0 */
	r.ntrades = 0;
	bt_compute_metrics(&s, 1, &p, &r);
	CHECK(m->trades_count == 0 && isnan(m->win_rate_pct) && isnan(m->sqn));
	CHECK(isnan(m->profit_factor) && isnan(m->avg_trade_duration));
}

/* ---- calendars ---------------------------------------------------------- */

#define MIN_US	(INT64_C(60) * 1000000)
#define HOUR_US	(60 * MIN_US)
#define SUNDAY	16439			/* 2015-01-04, a Sunday (day 16436 = Thu 2015-01-01) */

static int64_t cal[200000];

/* Day d's day of the week, Monday = 0 */
static int
dow(int64_t d)
{
	return (int) ((d + 3) % 7);
}

/* Bars every `step` usecs for `days` days from day `first` */
static int
gen_every(int64_t first, int days, int64_t step)
{
	int			n = 0;

	for (int64_t t = first * DAY; t < (first + days) * DAY; t += step)
		cal[n++] = t;
	return n;
}

/* FX 24/5: hourly bars from Sunday 22:00 to Friday 22:00 UTC, `weeks` weeks */
static int
gen_fx(int weeks, int64_t step)
{
	int			n = 0;

	for (int w = 0; w < weeks; w++)
	{
		int64_t		open = (int64_t) (SUNDAY + 7 * w) * DAY + 22 * HOUR_US;

		for (int64_t t = open; t < open + 5 * DAY; t += step)
			cal[n++] = t;
	}
	return n;
}

/*
 * Weekday sessions of minute bars: [from, to) minutes after midnight UTC,
 * up to two sessions (HK: 09:30-12:00 and 13:00-16:00 HKT = 01:30-04:00 and
 * 05:00-08:00 UTC), `days` calendar days from Sunday
 */
static int
gen_sessions(int days, int from1, int to1, int from2, int to2)
{
	int			n = 0;

	for (int64_t d = SUNDAY; d < SUNDAY + days; d++)
	{
		if (dow(d) >= 5)
			continue;
		for (int k = from1; k < to1; k++)
			cal[n++] = d * DAY + k * MIN_US;
		for (int k = from2; k < to2; k++)
			cal[n++] = d * DAY + k * MIN_US;
	}
	return n;
}

static void
test_calendars(void)
{
	int			n;

	/* the sample: weekday daily bars */
	CHECK_NEAR(bt_infer_periods_per_year(unit_ohlcv()->ts, unit_ohlcv()->n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(unit_ohlcv()->ts, unit_ohlcv()->n), 252, 0);

	/* 24/7: daily, hourly, 15-minute and 1-minute bars */
	n = gen_every(SUNDAY, 1000, DAY);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 365, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 365, 0);
	n = gen_every(SUNDAY, 800, HOUR_US);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 365, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 365 * 24, 0);
	n = gen_every(SUNDAY, 300, 15 * MIN_US);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 365 * 96, 0);
	n = gen_every(SUNDAY + 3, 60, MIN_US);	/* from a Wednesday */
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 365, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 365 * 1440, 0);

	/*
	 * 24/5 FX, Sunday 22:00 to Friday 22:00 UTC: no weekend trading (the two
	 * Sunday-evening hours are Monday's session), 24 bars a weekday.  The old
	 * inference gave 7300.
	 */
	n = gen_fx(100, HOUR_US);
	CHECK(n == 12000);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252 * 24, 0);
	n = gen_fx(20, MIN_US);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252 * 1440, 0);
	/* 3 weeks only, and daily FX bars stamped Sunday to Friday */
	n = gen_fx(3, HOUR_US);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252 * 24, 0);
	n = gen_fx(60, DAY);
	CHECK(n == 300);
	for (int i = 0; i < n; i++)
		cal[i] -= 22 * HOUR_US;	/* Sunday 00:00, Monday 00:00, ... Thursday */
	for (int w = 0; w < 60; w++)
		cal[5 * w + 4] = cal[5 * w + 3] + DAY;	/* keep Thursday, add Friday ... */
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252, 0);

	/* HK, 09:30-12:00 and 13:00-16:00 HKT: 330 minute bars a day */
	n = gen_sessions(140, 90, 240, 300, 480);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252 * 330, 0);
	/* US regular hours in UTC (winter: 14:30-21:00): 390 minute bars a day */
	n = gen_sessions(140, 870, 1260, 0, 0);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252.0 * 390, 0);
	/*
	 * US extended hours in winter UTC (04:00-20:00 ET = 09:00-01:00 UTC,
	 * hourly): Friday's last bar falls on Saturday, not a weekend market
	 */
	n = 0;
	for (int64_t d = SUNDAY; d < SUNDAY + 280; d++)
		if (dow(d) < 5)
			for (int k = 9; k < 25; k++)
				cal[n++] = d * DAY + k * HOUR_US;
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 252, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 252 * 16, 0);

	/*
	 * The start of the trading day.  Sessions that do not straddle midnight
	 * UTC, 24/7 markets and daily or coarser bars keep midnight.
	 */
	n = gen_fx(100, HOUR_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), -2 * HOUR_US, 0);	/* 22:00 UTC */
	n = gen_fx(20, MIN_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), -2 * HOUR_US, 0);
	n = gen_fx(3, HOUR_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), -2 * HOUR_US, 0);
	n = gen_fx(3, 5 * MIN_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), -2 * HOUR_US, 0);
	/* FX from a Wednesday noon to a Tuesday 09:00, 6 weeks */
	n = gen_fx(7, HOUR_US);
	{
		int			from = 2 * 24 + 14,
					to = n - 3 * 24 - 12;

		CHECK_NEAR(bt_infer_day_start(cal + from, to - from), -2 * HOUR_US, 0);
	}
	n = gen_fx(60, DAY);		/* daily FX bars stamped 22:00 */
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	n = gen_every(SUNDAY, 800, HOUR_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	n = gen_every(SUNDAY, 60, MIN_US);
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	/* 24/7 from noon to noon, and from 13:17 to 05:00: still midnight */
	n = gen_every(SUNDAY, 61, HOUR_US);
	CHECK_NEAR(bt_infer_day_start(cal + 12, n - 24), 0, 0);
	n = gen_every(SUNDAY, 31, MIN_US);
	CHECK_NEAR(bt_infer_day_start(cal + 797, n - 797 - 19 * 60), 0, 0);
	n = gen_every(SUNDAY, 1000, DAY);
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	n = gen_sessions(140, 90, 240, 300, 480);	/* HK with its lunch break */
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	n = gen_sessions(140, 870, 1260, 0, 0);	/* US regular hours */
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	/* US extended hours in winter UTC, hourly: from just after 00:00's bar */
	n = 0;
	for (int64_t d = SUNDAY; d < SUNDAY + 280; d++)
		if (dow(d) < 5)
			for (int k = 9; k < 25; k++)
				cal[n++] = d * DAY + k * HOUR_US;
	CHECK_NEAR(bt_infer_day_start(cal, n), MIN_US, 0);
	/*
	 * CME-style futures, minute bars Sunday 23:00 to Friday 22:00 UTC with a
	 * maintenance hour 22:00-23:00: the day starts at 23:00
	 */
	n = 0;
	for (int w = 0; w < 8; w++)
		for (int64_t t = (SUNDAY + 7 * w) * DAY + 23 * HOUR_US;
			 t < (SUNDAY + 7 * w + 5) * DAY + 22 * HOUR_US; t += MIN_US)
			if ((t % DAY) / HOUR_US != 22)
				cal[n++] = t;
	CHECK_NEAR(bt_infer_day_start(cal, n), -HOUR_US, 0);
	for (n = 0; n < 3; n++)
		cal[n] = SUNDAY * DAY + 22 * HOUR_US + n * HOUR_US;
	CHECK_NEAR(bt_infer_day_start(cal, 2), 0, 0);	/* too short to tell */

	/* weekly and monthly */
	for (n = 0; n < 200; n++)
		cal[n] = (int64_t) n * 7 * DAY;
	CHECK_NEAR(bt_infer_day_start(cal, n), 0, 0);
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 52, 0);
	CHECK_NEAR(bt_infer_bars_per_year(cal, n), 52, 0);
	for (n = 0; n < 200; n++)
		cal[n] = (int64_t) n * 30 * DAY + (n % 2) * DAY;
	CHECK_NEAR(bt_infer_periods_per_year(cal, n), 12, 0);

	/* a short run of daily bars: the weekend days it spans decide */
	{
		int64_t		wk[5];

		for (int i = 0; i < 5; i++)
			wk[i] = (int64_t) (16436 + i) * DAY;	/* Thu 2015-01-01 .. Mon 01-05 */
		CHECK_NEAR(bt_infer_periods_per_year(wk, 5), 365, 0);	/* Saturday and Sunday */
		wk[2] = (int64_t) (16436 + 4) * DAY;
		wk[3] = (int64_t) (16436 + 5) * DAY;
		wk[4] = (int64_t) (16436 + 6) * DAY;
		CHECK_NEAR(bt_infer_periods_per_year(wk, 5), 252, 0);
		CHECK_NEAR(bt_infer_periods_per_year(wk, 1), 252, 0);
	}
}

/* ---- daily returns, recomputed the plain way ------------------------------ */

typedef struct RefStats
{
	int			nret;
	double		ann, vol, sharpe, sortino, omega;
} RefStats;

/*
 * Independent reference: the last equity of each day with bars (days from
 * `off` after midnight UTC), simple returns between consecutive ones,
 * two-pass mean and sample variance, and the geometric mean from logarithms.
 * ts - off >= 0.
 */
static void
ref_daily(const int64_t *ts, const double *eq, int64_t n, int64_t off, double A, double rf,
		  RefStats *o)
{
	static double v[100000], r[100000];
	int			nd = 0;
	double		mean = 0, var = 0, dn = 0, lg = 0, up = 0, lo = 0;

	for (int64_t i = 0; i < n; i++)
	{
		if (i + 1 < n && (ts[i + 1] - off) / DAY == (ts[i] - off) / DAY)
			continue;
		v[nd++] = eq[i];
	}
	o->nret = nd - 1;
	for (int k = 1; k < nd; k++)
		r[k - 1] = v[k] / v[k - 1] - 1;
	for (int k = 0; k < o->nret; k++)
		mean += r[k];
	mean /= o->nret;
	for (int k = 0; k < o->nret; k++)
	{
		var += (r[k] - mean) * (r[k] - mean);
		dn += r[k] < 0 ? r[k] * r[k] : 0;
		lg += log(1 + r[k]);
		up += r[k] > 0 ? r[k] : 0;
		lo += r[k] < 0 ? -r[k] : 0;
	}
	var /= o->nret - 1;
	o->ann = expm1(lg / o->nret * A) * 100;
	o->vol = sqrt(var) * sqrt(A) * 100;
	o->sharpe = (mean - rf / A) / sqrt(var) * sqrt(A);
	o->sortino = (mean - rf / A) / sqrt(dn / o->nret) * sqrt(A);
	o->omega = up / lo;
}

/* Metrics of an equity curve with no trades */
static void
metrics_of(const int64_t *ts, double *eq, int64_t n, double rf, BtResult *r)
{
	static double close[200000];
	BtSeries	s;
	BtSimParams p;

	for (int64_t i = 0; i < n; i++)
		close[i] = 1;
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = ts;
	s.open = s.high = s.low = s.close = close;
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->equity = eq;
	bt_sim_defaults(&p);
	p.initial_capital = eq[0];
	p.risk_free_rate = rf;
	bt_compute_metrics(&s, 0, &p, r);
}

static void
check_ref(const BtMetrics *m, const RefStats *ref)
{
	CHECK_NEAR(m->return_ann_pct, ref->ann, 1e-9);
	CHECK_NEAR(m->volatility_ann_pct, ref->vol, 1e-9);
	CHECK_NEAR(m->sharpe_ratio, ref->sharpe, 1e-9);
	CHECK_NEAR(m->sortino_ratio, ref->sortino, 1e-9);
	CHECK_NEAR(m->omega_ratio, ref->omega, 1e-9);
}

static void
test_daily_returns(void)
{
	static double eq[200000];
	BtResult	r;
	RefStats	ref;
	int			n;

	/*
	 * 60 days of 24/7 minute bars losing 99%, with intraday noise.  The old
	 * per-bar compounding formula gave volatility ~1e-7 and a Sharpe ratio
	 * of millions here; daily returns give a sane, negative Sharpe.
	 */
	n = gen_every(SUNDAY, 60, MIN_US);
	for (int i = 0; i < n; i++)
		eq[i] = 10000 * exp(-log(100.0) * i / (n - 1)) * (1 + 0.01 * sin(i * 0.37)) *
			(1 + 0.1 * sin(i / 1440 * 2.1));
	eq[0] = 10000;
	metrics_of(cal, eq, n, 0.02, &r);
	CHECK_NEAR(r.metrics.periods_per_year, 365, 0);
	ref_daily(cal, eq, n, 0, 365, 0.02, &ref);
	CHECK(ref.nret == 59);
	check_ref(&r.metrics, &ref);
	CHECK_MSG(r.metrics.sharpe_ratio < 0 && r.metrics.sharpe_ratio > -20,
			  "sharpe %g", r.metrics.sharpe_ratio);
	CHECK_MSG(r.metrics.volatility_ann_pct > 1 && r.metrics.volatility_ann_pct < 1000,
			  "volatility %g", r.metrics.volatility_ann_pct);
	CHECK(r.metrics.return_ann_pct > -100 && r.metrics.return_ann_pct < -99);

	/*
	 * Gaps: hourly 24/7 bars with days 3, 4 and 10 missing (a return spans
	 * the gap), and weekday daily bars with a missing week
	 */
	n = 0;
	for (int64_t d = SUNDAY; d < SUNDAY + 30; d++)
		if (d != SUNDAY + 3 && d != SUNDAY + 4 && d != SUNDAY + 10)
			for (int k = 0; k < 24; k++)
				cal[n++] = d * DAY + k * HOUR_US;
	for (int i = 0; i < n; i++)
		eq[i] = 5000 + 300 * sin(i * 0.05) + 2 * i;
	metrics_of(cal, eq, n, 0, &r);
	ref_daily(cal, eq, n, 0, 365, 0, &ref);
	CHECK(ref.nret == 26);
	check_ref(&r.metrics, &ref);
	n = 0;
	for (int64_t d = SUNDAY; d < SUNDAY + 400; d++)
		if (dow(d) < 5 && (d < SUNDAY + 100 || d >= SUNDAY + 107))
			cal[n++] = d * DAY + 21 * HOUR_US;
	for (int i = 0; i < n; i++)
		eq[i] = 100 * (1 + 0.001 * i) * (1 + 0.03 * cos(i * 1.3));
	metrics_of(cal, eq, n, 0.03, &r);
	CHECK_NEAR(r.metrics.periods_per_year, 252, 0);
	ref_daily(cal, eq, n, 0, 252, 0.03, &ref);
	CHECK(ref.nret == n - 1);
	check_ref(&r.metrics, &ref);

	/*
	 * 24/5 FX, hourly and minute bars from Sunday 22:00 to Friday 22:00 UTC:
	 * the day runs from 22:00 to 22:00 UTC, 5 returns a week (UTC days gave
	 * 6, the Sunday evening a day of its own), annualised with 252
	 */
	n = gen_fx(12, HOUR_US);
	for (int i = 0; i < n; i++)
		eq[i] = 1000 * (1 + 0.0004 * i) * (1 + 0.02 * sin(i * 0.7)) * (1 + 0.05 * cos(i / 24.0));
	metrics_of(cal, eq, n, 0.01, &r);
	CHECK_NEAR(r.metrics.periods_per_year, 252, 0);
	ref_daily(cal, eq, n, 0, 252, 0.01, &ref);
	CHECK(ref.nret == 6 * 12 - 1);	/* what UTC days would count */
	ref_daily(cal, eq, n, -2 * HOUR_US, 252, 0.01, &ref);
	CHECK(ref.nret == 5 * 12 - 1);
	check_ref(&r.metrics, &ref);
	n = gen_fx(6, MIN_US);
	for (int i = 0; i < n; i++)
		eq[i] = 1000 * (1 + 0.00001 * i) * (1 + 0.01 * sin(i * 0.01)) * (1 + 0.03 * sin(i / 1440.0 * 2.3));
	metrics_of(cal, eq, n, 0, &r);
	CHECK_NEAR(r.metrics.periods_per_year, 252, 0);
	ref_daily(cal, eq, n, -2 * HOUR_US, 252, 0, &ref);
	CHECK(ref.nret == 5 * 6 - 1);
	check_ref(&r.metrics, &ref);

	/* ruin: a day ends at zero equity; -100% a year, nothing after counts */
	{
		int64_t		ts[4];
		double		e[4] = {100, 50, 0, 10};

		for (int i = 0; i < 4; i++)
			ts[i] = (int64_t) (SUNDAY + i) * DAY;
		metrics_of(ts, e, 4, 0, &r);
		CHECK_NEAR(r.metrics.return_ann_pct, -100, 0);
		/* returns -0.5 and -1: mean -0.75, sd sqrt(0.125) */
		CHECK_NEAR(r.metrics.sharpe_ratio, -0.75 / sqrt(0.125) * sqrt(365), 1e-12);
	}
	/* one day only: no return, statistics undefined */
	n = gen_every(SUNDAY, 1, HOUR_US);
	for (int i = 0; i < n; i++)
		eq[i] = 100 + i;
	metrics_of(cal, eq, n, 0, &r);
	CHECK(isnan(r.metrics.return_ann_pct) && isnan(r.metrics.volatility_ann_pct) &&
		  isnan(r.metrics.sharpe_ratio) && isnan(r.metrics.sortino_ratio));
}

/*
 * ema_cross, fractional, 0.1% commission, on 30 days of 24/7 minute bars of
 * a falling random walk: a large loss, and statistics that stay sane
 */
static void
test_minute_run(void)
{
	static double o[43200], h[43200], l[43200], c[43200];
	const BtStrategyDef *st = bt_find_strategy("ema_cross");
	BtConfig	cfg;
	BtSeries	s;
	BtResult	r;
	BtError		err;
	RefStats	ref;
	int			n = gen_every(SUNDAY, 30, MIN_US);
	double		px = 30000;
	uint64_t	seed = 42;

	for (int i = 0; i < n; i++)
	{
		double		u;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		u = (double) (seed >> 11) / 9007199254740992.0 - 0.5;
		o[i] = px;
		px *= 1 + 0.008 * u;
		c[i] = px;
		h[i] = (o[i] > c[i] ? o[i] : c[i]) * 1.0005;
		l[i] = (o[i] < c[i] ? o[i] : c[i]) * 0.9995;
	}
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = cal;
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	bt_config_defaults(&cfg, st);
	cfg.sim.fractional = true;
	cfg.sim.commission = 0.001;
	CHECK(bt_run(&s, &cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);
	CHECK_MSG(r.metrics.return_pct < -50, "return %g", r.metrics.return_pct);
	ref_daily(cal, r.equity, n, 0, 365, 0, &ref);
	check_ref(&r.metrics, &ref);
	CHECK_MSG(fabs(r.metrics.sharpe_ratio) < 20, "sharpe %g", r.metrics.sharpe_ratio);
	CHECK_MSG(r.metrics.volatility_ann_pct > 1, "volatility %g", r.metrics.volatility_ann_pct);
	unit_free_all();
}

/*
 * Random ascending timestamps: bars a step apart, in sessions of random
 * length (an hour to a few days) separated by gaps of minutes to a weekend,
 * with hour-sized shifts (a DST change) now and then; kind 0 even spacing.
 */
static void
random_ts(uint64_t *rng, int64_t *ts, int64_t n, int kind)
{
	int64_t		t = INT64_C(1577836800000000) + (int64_t) (bt_splitmix64(rng) % DAY),
				step = (kind == 0 ? 60 : 60 * (int64_t) (1 + bt_splitmix64(rng) % 30)) * INT64_C(1000000),
				left = 0;

	for (int64_t i = 0; i < n; i++)
	{
		ts[i] = t;
		t += step;
		if (kind != 0 && --left <= 0)
		{
			uint64_t	r = bt_splitmix64(rng);

			left = (int64_t) (1 + r % (4 * DAY / step));
			if (r % 3 == 0)
				t += (int64_t) (bt_splitmix64(rng) % (3 * DAY));	/* a gap */
			if (r % 7 == 0)
				t += (r % 2 ? 1 : -1) * INT64_C(3600000000);	/* DST-like */
			if (t <= ts[i])
				t = ts[i] + 1;
		}
	}
}

/*
 * bt_first_at_or_after_hint against a linear scan (every guess, right or
 * wrong), and the day iterator's day ends against a bar-by-bar look at the
 * trading day: the same indices.
 */
static void
test_day_search(void)
{
	uint64_t	rng = 42;
	int64_t		sizes[] = {1, 2, 3, 5, 50, 1000, 20000};
	int64_t	   *ts = malloc(20000 * sizeof(int64_t));
	int			bad_hint = 0,
				bad_ends = 0,
				runs = 0;

	for (int rep = 0; rep < 40; rep++)
		for (int z = 0; z < (int) (sizeof(sizes) / sizeof(sizes[0])); z++)
		{
			int64_t		n = sizes[z],
						day_start = rep % 3 == 0 ? 0 : (int64_t) (bt_splitmix64(&rng) % DAY) - DAY / 2;
			BtDayIter	it;
			int64_t		end,
						k = 0;

			random_ts(&rng, ts, n, rep % 4);
			runs++;
			for (int q = 0; q < 50; q++)
			{
				int64_t		i = (int64_t) (bt_splitmix64(&rng) % (uint64_t) n),
							bound = ts[0] - 1 + (int64_t) (bt_splitmix64(&rng) % (uint64_t) (ts[n - 1] - ts[0] + 3)),
							j = i,
							guess;

				while (j < n && ts[j] < bound)
					j++;
				/* the right answer, its neighbours, anything */
				for (int g = 0; g < 4; g++)
				{
					guess = g == 0 ? j : g == 1 ? j - 1 : g == 2 ? j + 1 :
						(int64_t) (bt_splitmix64(&rng) % (uint64_t) (n + 2)) - 1;
					if (bt_first_at_or_after_hint(ts, i, n, bound, guess) != j)
						bad_hint++;
				}
			}
			bt_day_iter_start(&it, ts, day_start);
			while ((end = bt_day_iter_next(&it, ts, n)) >= 0)
			{
				/* the next bar-by-bar day end at or after k */
				while (k < n - 1 && bt_trading_day(ts[k], day_start) == bt_trading_day(ts[k + 1], day_start))
					k++;
				if (end != k)
					bad_ends++;
				k = end + 1;
			}
			if (k != n)
				bad_ends++;
		}
	free(ts);
	CHECK_MSG(runs == 280, "runs %d", runs);
	CHECK_MSG(bad_hint == 0, "%d hinted searches differ from a scan", bad_hint);
	CHECK_MSG(bad_ends == 0, "%d day ends differ from a bar-by-bar look", bad_ends);
}

void
test_metrics(void)
{
	test_hand_metrics();
	test_calendars();
	test_daily_returns();
	test_minute_run();
	test_day_search();
}
