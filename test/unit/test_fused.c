/*-------------------------------------------------------------------------
 *
 * test_fused.c
 *	  The metrics-only run (bt_run_metrics: simulation and metrics in one
 *	  pass, no equity curve) gives bt_run's metrics and trades bit for bit:
 *	  random series (minute bars with sessions and gaps, hourly, daily;
 *	  flat stretches, crashes) x every strategy x random parameters (stops,
 *	  take-profit, trailing stops, every sizing mode, pyramiding, costs,
 *	  limit and stop entries, leverage and margin, shorts, borrow fees,
 *	  given or inferred annualisation and trading day).  bt_run's metrics
 *	  come from bt_compute_metrics over the stored equity curve, which the
 *	  golden and backtrader tests pin; this test pins the fast path to it,
 *	  and a sweep context's runs (bt_sweep_run: cached lines and day ends)
 *	  over the same configurations too.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_fused.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_sweep.h"

/* splitmix64: a fixed-seed sequence, portable */
static uint64_t fz_state;

static uint64_t
fz_next(void)
{
	uint64_t	z = (fz_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) */
static double
fz_uniform(void)
{
	return (double) (fz_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi] */
static int64_t
fz_int(int64_t lo, int64_t hi)
{
	return lo + (int64_t) (fz_next() % (uint64_t) (hi - lo + 1));
}

/* One of the values, uniformly */
#define FZ_PICK(arr) ((arr)[fz_int(0, (int64_t) (sizeof(arr) / sizeof((arr)[0])) - 1)])

/*
 * A random series of n bars (arrays from unit_alloc): a random walk on a
 * 4-decimal grid, with flat stretches (bit-equal closes), now and then a
 * jump or a crash; spacing: minutes in sessions with overnight and weekend
 * gaps, hours, or days; a signal column in [-1, 1] or NaN.
 */
static BtSeries
fz_series(int64_t n, int kind)
{
	int64_t    *ts = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(int64_t));
	double	   *o = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *h = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *l = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *c = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *v = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	double	   *sig = unit_alloc.realloc_fn(NULL, NULL, (size_t) n * sizeof(double));
	int64_t		t = unit_parse_ts("2021-03-01 09:30:00") + fz_int(0, 3600) * INT64_C(1000000);
	double		px = 20 + 200 * fz_uniform();
	double		sigma = FZ_PICK(((double[]) {0.001, 0.005, 0.02, 0.05}));
	int64_t		flat = 0;
	BtSeries	s;

	for (int64_t i = 0; i < n; i++)
	{
		double		prev = px;
		double		u = fz_uniform();

		if (flat > 0)
			flat--;
		else if (u < 0.01)
			flat = fz_int(2, 60);	/* a stretch of bit-equal prices */
		else if (u < 0.012)
			px *= 0.3 + 0.6 * fz_uniform();	/* a crash */
		else if (u < 0.014)
			px *= 1.2 + fz_uniform();	/* a jump */
		else
			px *= exp(sigma * (2 * fz_uniform() - 1));
		px = round(px * 10000) / 10000;
		if (px < 0.01)
			px = 0.01;
		o[i] = flat > 0 ? px : prev;
		c[i] = px;
		h[i] = flat > 0 ? px : round(fmax(o[i], c[i]) * (1 + sigma * fz_uniform()) * 10000) / 10000;
		l[i] = flat > 0 ? px : round(fmin(o[i], c[i]) * (1 - sigma * fz_uniform()) * 10000) / 10000;
		if (l[i] <= 0)
			l[i] = fmin(o[i], c[i]);
		v[i] = (double) fz_int(100, 10000);
		sig[i] = fz_uniform() < 0.9 ? NAN : FZ_PICK(((double[]) {-1, -0.5, 0, 0.25, 1}));
		ts[i] = t;
		if (kind == 0)
		{
			/* minutes, 09:30-16:00 sessions, skipping nights and weekends */
			t += INT64_C(60000000);
			if ((i + 1) % 390 == 0)
				t += INT64_C(1050) * 60000000 + (fz_uniform() < 0.2 ? 2 * INT64_C(86400000000) : 0);
		}
		else if (kind == 1)
			t += INT64_C(3600000000) * (fz_uniform() < 0.05 ? fz_int(2, 60) : 1);
		else
			t += INT64_C(86400000000) * (fz_uniform() < 0.3 ? fz_int(2, 4) : 1);
	}
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ts = ts;
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	s.volume = v;
	s.signal = sig;
	return s;
}

/* Random strategy parameters within their bounds (defaults often) */
static void
fz_strategy_params(BtConfig *cfg)
{
	const BtStrategyDef *st = cfg->strategy;

	for (int i = 0; i < st->nparams; i++)
	{
		const BtParamDef *d = &st->params[i];

		if (fz_uniform() < 0.3)
			continue;
		if (d->type == BT_PARAM_INT)
		{
			double		lo = fmax(d->min, floor(d->def * 0.3)),
						hi = fmin(d->max, ceil(d->def * 2));

			if (hi >= lo)
				cfg->sp[i] = (double) fz_int((int64_t) lo, (int64_t) hi);
		}
		else if (d->type == BT_PARAM_BOOL)
			cfg->sp[i] = (double) fz_int(0, 1);
		else if (d->type == BT_PARAM_NUM)
		{
			double		x = d->def * (0.5 + fz_uniform());

			if (x >= d->min && x <= d->max)
				cfg->sp[i] = x;
		}
	}
}

/* Random simulator parameters: every feature now and then */
static void
fz_sim_params(BtSimParams *p)
{
	bt_sim_defaults(p);
	p->initial_capital = FZ_PICK(((double[]) {10000, 1000, 250000}));
	p->allow_short = fz_uniform() < 0.5;
	p->fill = fz_uniform() < 0.7 ? BT_FILL_OPEN : BT_FILL_CLOSE;
	if (fz_uniform() < 0.3)
		p->size = FZ_PICK(((double[]) {0.25, 0.5, 0.999}));
	if (fz_uniform() < 0.3)
		p->fractional = true;
	else if (fz_uniform() < 0.2)
		p->lot_size = FZ_PICK(((double[]) {10, 100}));
	if (fz_uniform() < 0.5)
	{
		p->commission = FZ_PICK(((double[]) {0.0001, 0.001, 0.003}));
		p->commission_min = fz_uniform() < 0.3 ? 1 : 0;
		p->commission_fixed = fz_uniform() < 0.3 ? 0.5 : 0;
		p->commission_max = fz_uniform() < 0.2 ? 20 : 0;
		p->commission_per_share = fz_uniform() < 0.2 ? 0.005 : 0;
	}
	if (fz_uniform() < 0.2)
	{
		p->stamp_duty = 0.001;
		p->stamp_duty_on = FZ_PICK(((BtStampSide[]) {BT_STAMP_SELL, BT_STAMP_BUY, BT_STAMP_BOTH}));
	}
	if (fz_uniform() < 0.3)
		p->slippage_bps = FZ_PICK(((double[]) {1, 5, 20}));
	if (fz_uniform() < 0.2)
	{
		p->spread = fz_uniform() < 0.5 ? 3 : 0.02;
		p->spread_unit = p->spread == 3 ? BT_SPREAD_BPS : BT_SPREAD_PRICE;
	}
	if (fz_uniform() < 0.4)
		p->stop_loss = FZ_PICK(((double[]) {0.005, 0.02, 0.1}));
	if (fz_uniform() < 0.4)
		p->take_profit = FZ_PICK(((double[]) {0.01, 0.05, 0.3}));
	if (fz_uniform() < 0.3)
		p->trailing_stop = FZ_PICK(((double[]) {0.01, 0.03, 0.1}));
	switch (fz_int(0, 4))
	{
		case 1:
			p->sizing = BT_SIZING_QUANTITY;
			p->order_quantity = FZ_PICK(((double[]) {1, 7, 50}));
			break;
		case 2:
			p->sizing = BT_SIZING_VALUE;
			p->order_value = FZ_PICK(((double[]) {500, 2500, 1e6}));
			break;
		case 3:
			p->sizing = BT_SIZING_RISK;
			p->risk_fraction = FZ_PICK(((double[]) {0.005, 0.02, 0.1}));
			if (fz_uniform() < 0.5)
			{
				p->risk_atr = FZ_PICK(((double[]) {1, 2.5}));
				p->risk_atr_period = (int) fz_int(3, 20);
			}
			else if (!(p->stop_loss > 0))
				p->stop_loss = 0.03;
			break;
		default:
			break;
	}
	if (fz_uniform() < 0.3)
		p->leverage = FZ_PICK(((double[]) {2, 5, 20}));
	if (fz_uniform() < 0.2)
		p->maintenance_margin = FZ_PICK(((double[]) {0.05, 0.25}));
	if (fz_uniform() < 0.2)
		p->borrow_rate = FZ_PICK(((double[]) {0.02, 0.5}));
	if (fz_uniform() < 0.3)
	{
		p->entry = fz_uniform() < 0.5 ? BT_ENTRY_LIMIT : BT_ENTRY_STOP;
		p->valid_bars = (int) fz_int(1, 10);
		p->entry_offset = FZ_PICK(((double[]) {0.001, 0.01, 0.05}));
	}
	if (fz_uniform() < 0.4)
		p->pyramiding = (int) fz_int(2, BT_MAX_PYRAMIDING);
	if (fz_uniform() < 0.2)
		p->periods_per_year = FZ_PICK(((double[]) {252, 365, 98280}));
	if (fz_uniform() < 0.2)
		p->risk_free_rate = 0.03;
	if (fz_uniform() < 0.2)
	{
		p->day_start_known = true;
		p->day_start = fz_int(0, 23) * INT64_C(3600000000);
	}
}

/* The first differing field of two metrics, for the failure message */
static size_t
fz_metrics_diff(const BtMetrics *a, const BtMetrics *b)
{
	for (size_t off = 0; off < sizeof(*a); off++)
		if (((const unsigned char *) a)[off] != ((const unsigned char *) b)[off])
			return off;
	return sizeof(*a);
}

/* Trades equal field by field (bit for bit on doubles) */
static bool
fz_same_trades(const BtTrade *a, const BtTrade *b, int64_t n)
{
	for (int64_t k = 0; k < n; k++)
	{
		const BtTrade *x = &a[k],
				   *y = &b[k];

		if (x->side != y->side || x->entry_bar != y->entry_bar || x->exit_bar != y->exit_bar ||
			x->entry_ts != y->entry_ts || x->exit_ts != y->exit_ts ||
			x->exit_reason != y->exit_reason || x->is_open != y->is_open ||
			memcmp(&x->entry_price, &y->entry_price, sizeof(double)) != 0 ||
			memcmp(&x->exit_price, &y->exit_price, sizeof(double)) != 0 ||
			memcmp(&x->quantity, &y->quantity, sizeof(double)) != 0 ||
			memcmp(&x->pnl, &y->pnl, sizeof(double)) != 0 ||
			memcmp(&x->return_pct, &y->return_pct, sizeof(double)) != 0 ||
			memcmp(&x->commission, &y->commission, sizeof(double)) != 0)
			return false;
	}
	return true;
}

/* bt_run_metrics == bt_run, over random series, strategies and parameters */
static void
test_fused_equals_run(void)
{
	int			runs = 0,
				with_trades = 0,
				ruined = 0,
				stopped = 0;

	fz_state = 20260501;
	for (int si = 0; si < 36; si++)
	{
		int64_t		n = si % 6 == 5 ? fz_int(1, 40) : fz_int(300, 4000);
		BtSeries	s = fz_series(n, si % 3);
		BtError		err;
		BtSweepCtx *ctx;

		CHECK_MSG(bt_validate_series(&s, true, &err), "series %d: %s", si, err.msg);
		/* one sweep context for all the series' runs (its cached lines and day ends) */
		ctx = bt_sweep_ctx_create(&s, &unit_alloc, (size_t) 4 << 20);
		for (int k = 0; k < bt_n_strategies; k++)
			for (int rep = 0; rep < 5; rep++)
			{
				BtConfig	cfg;
				BtResult	full,
							fused;
				BtErrCode	rc1,
							rc2;

				bt_config_defaults(&cfg, &bt_strategies[k]);
				if (rep > 0)
				{
					fz_strategy_params(&cfg);
					fz_sim_params(&cfg.sim);
				}
				if (!bt_config_check(&cfg, &err))
				{
					/* an invalid draw: the defaults' simulator, these parameters */
					bt_sim_defaults(&cfg.sim);
					if (!bt_config_check(&cfg, &err))
						bt_config_defaults(&cfg, &bt_strategies[k]);
				}
				memset(&full, 0, sizeof(full));
				memset(&fused, 0, sizeof(fused));
				rc1 = bt_run(&s, &cfg, &unit_alloc, NULL, NULL, &full, &err);
				rc2 = bt_run_metrics(&s, &cfg, &unit_alloc, NULL, NULL, &fused, &err);
				CHECK_MSG(rc1 == BT_OK && rc2 == BT_OK, "series %d, %s: %d %d", si,
						  cfg.strategy->name, rc1, rc2);
				if (rc1 != BT_OK || rc2 != BT_OK)
					continue;
				runs++;
				CHECK_MSG(memcmp(&full.metrics, &fused.metrics, sizeof(BtMetrics)) == 0,
						  "series %d (n %lld), %s rep %d: metrics differ at byte %zu",
						  si, (long long) n, cfg.strategy->name, rep,
						  fz_metrics_diff(&full.metrics, &fused.metrics));
				CHECK_MSG(full.ntrades == fused.ntrades &&
						  fz_same_trades(full.trades, fused.trades, full.ntrades),
						  "series %d, %s rep %d: trades differ", si, cfg.strategy->name, rep);
				CHECK(fused.equity == NULL && fused.position == NULL && fused.cash == NULL);
				{
					BtMetrics	m;

					CHECK(bt_sweep_run(ctx, &cfg, NULL, NULL, &m, &err) == BT_OK);
					CHECK_MSG(memcmp(&full.metrics, &m, sizeof(BtMetrics)) == 0,
							  "series %d, %s rep %d: the sweep's metrics differ at byte %zu",
							  si, cfg.strategy->name, rep, fz_metrics_diff(&full.metrics, &m));
				}
				if (full.metrics.trades_count > 0)
					with_trades++;
				if (full.metrics.return_ann_pct == -100.0)
					ruined++;
				for (int64_t t = 0; t < full.ntrades; t++)
					if (full.trades[t].exit_reason != BT_EXIT_SIGNAL &&
						full.trades[t].exit_reason != BT_EXIT_END)
					{
						stopped++;
						break;
					}
			}
		unit_free_all();
	}
	/* the draws did reach what they are meant to cover */
	CHECK_MSG(runs == 36 * bt_n_strategies * 5, "%d runs", runs);
	CHECK_MSG(with_trades > runs / 2, "%d of %d runs traded", with_trades, runs);
	CHECK_MSG(stopped > runs / 10, "%d of %d runs with a stop, take-profit or margin exit",
			  stopped, runs);
	CHECK_MSG(ruined > 0, "no ruined run among %d", runs);
}

void
test_fused(void)
{
	test_fused_equals_run();
}
