/*-------------------------------------------------------------------------
 *
 * test_tables.c
 *	  Unit tests of the engine's descriptor tables: the simulator's
 *	  parameter table covers every BtSimParams field once, and set/get
 *	  through it touch exactly that field; the metric table covers every
 *	  BtMetrics field once and reads the fields it names.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_tables.c
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <string.h>

#include "unit.h"

/* Bytes a parameter's field takes, by its type (see BtSimParamDef) */
static size_t
sim_field_size(BtParamType type)
{
	switch (type)
	{
		case BT_PARAM_BOOL:
			return sizeof(bool);
		case BT_PARAM_ENUM:
		case BT_PARAM_INT:
			return sizeof(int);
		case BT_PARAM_NUM:
			return sizeof(double);
	}
	return 0;
}

/*
 * Every entry's field lies inside BtSimParams, no two overlap, and setting
 * one through the table changes that field's bytes only; get is set's
 * inverse; the fields named in the table are the struct's (spot checks
 * against direct field reads).
 */
static void
test_sim_param_table(void)
{
	unsigned char owner[sizeof(BtSimParams)];
	size_t		covered = 0;
	BtSimParams sim;

	CHECK(bt_n_sim_params == BT_N_SIM_PARAMS);
	memset(owner, 0xff, sizeof(owner));
	for (int i = 0; i < bt_n_sim_params; i++)
	{
		const BtSimParamDef *d = &bt_sim_params[i];
		size_t		sz = sim_field_size(d->def.type);
		bool		free_bytes = true;

		CHECK_MSG(sz > 0 && d->offset + sz <= sizeof(BtSimParams), "%s", d->def.name);
		for (size_t b = d->offset; b < d->offset + sz && b < sizeof(owner); b++)
		{
			free_bytes = free_bytes && owner[b] == 0xff;
			owner[b] = (unsigned char) i;
		}
		CHECK_MSG(free_bytes, "field of %s overlaps another", d->def.name);
		covered += sz;
	}
	/*
	 * every parameter field is in the table: what is left before the
	 * non-parameter fields (day_start ...) is padding only
	 */
	CHECK(covered <= offsetof(BtSimParams, day_start) &&
		  offsetof(BtSimParams, day_start) - covered < sizeof(double));

	for (int i = 0; i < bt_n_sim_params; i++)
	{
		const BtSimParamDef *d = &bt_sim_params[i];
		BtSimParams before,
					after;
		double		v = d->def.type == BT_PARAM_NUM ? 0.125 + i : 1;
		bool		only_that = true;

		memset(&before, 0, sizeof(before));
		bt_sim_defaults(&before);
		after = before;
		bt_sim_set(&after, i, v);
		CHECK_MSG(bt_sim_get(&after, i) == v, "%s", d->def.name);
		for (size_t b = 0; b < sizeof(BtSimParams); b++)
			if (owner[b] != (unsigned char) i && owner[b] != 0xff &&
				((unsigned char *) &before)[b] != ((unsigned char *) &after)[b])
				only_that = false;
		CHECK_MSG(only_that, "setting %s changed another field", d->def.name);
	}
	CHECK(isnan(bt_sim_get(&sim, -1)) && isnan(bt_sim_get(&sim, bt_n_sim_params)));

	/* the defaults land in the named fields */
	bt_sim_defaults(&sim);
	CHECK(sim.initial_capital == 10000 && sim.size == 1.0 && sim.lot_size == 1 &&
		  !sim.fractional && !sim.allow_short && sim.fill == BT_FILL_OPEN &&
		  sim.stamp_duty_on == BT_STAMP_SELL && sim.periods_per_year == 0);
	bt_sim_set(&sim, 5, 1);
	bt_sim_set(&sim, 10, 2);
	bt_sim_set(&sim, 4, 1);
	bt_sim_set(&sim, 16, 0.03);
	CHECK(sim.fill == BT_FILL_CLOSE && sim.stamp_duty_on == BT_STAMP_BOTH && sim.allow_short &&
		  sim.risk_free_rate == 0.03);
	CHECK(strcmp(bt_sim_params[5].def.name, "fill") == 0 &&
		  strcmp(bt_sim_params[5].def.choices[1], "close") == 0 &&
		  bt_sim_params[5].def.choices[2] == NULL &&
		  bt_sim_params[0].def.choices[0] == NULL);
}

/*
 * The metric table: offsets distinct and inside BtMetrics, names distinct
 * and found again, and the values read through it equal direct field reads
 * (every field set to a distinct value), null and sort-key rules included.
 */
static void
test_metric_table(void)
{
	BtMetrics	m;
	size_t		covered = 0;
	int			dur = bt_metric_index("max_drawdown_duration");
	int			sharpe = bt_metric_index("sharpe_ratio");
	int			start = bt_metric_index("start_ts");

	for (int i = 0; i < BT_N_METRICS; i++)
	{
		const BtMetricDef *d = &bt_metric_defs[i];

		CHECK_MSG(d->offset + 8 <= sizeof(BtMetrics) && d->offset % 8 == 0, "%s", d->name);
		CHECK_MSG(bt_metric_index(d->name) == i, "%s", d->name);
		CHECK_MSG(d->is_int64 == (d->kind == BT_METRIC_INT64 || d->kind == BT_METRIC_TIMESTAMP ||
								  strcmp(d->name, "duration") == 0), "%s", d->name);
		for (int j = 0; j < i; j++)
			CHECK_MSG(bt_metric_defs[j].offset != d->offset, "%s and %s", d->name,
					  bt_metric_defs[j].name);
		covered += 8;
	}
	CHECK(covered == offsetof(BtMetrics, entries_unfilled));	/* the rest: diagnostics */
	CHECK(bt_metric_index("nope") == -1 && bt_metric_index(NULL) == -1);

	/* each field a distinct value, set directly */
	m.start_ts = 1;
	m.end_ts = 2;
	m.duration = 3;
	m.bars = 4;
	m.warmup_bars = 5;
	m.exposure_pct = 6.5;
	m.equity_final = 7.5;
	m.equity_peak = 8.5;
	m.commissions = 9.5;
	m.return_pct = 10.5;
	m.buy_hold_return_pct = 11.5;
	m.return_ann_pct = 12.5;
	m.volatility_ann_pct = 13.5;
	m.cagr_pct = 14.5;
	m.sharpe_ratio = 15.5;
	m.sortino_ratio = 16.5;
	m.calmar_ratio = 17.5;
	m.max_drawdown_pct = 18.5;
	m.avg_drawdown_pct = 19.5;
	m.max_drawdown_duration = 20.25;
	m.avg_drawdown_duration = 21.5;
	m.trades_count = 22;
	m.open_trades = 23;
	m.win_rate_pct = 24.5;
	m.best_trade_pct = 25.5;
	m.worst_trade_pct = 26.5;
	m.avg_trade_pct = 27.5;
	m.max_trade_duration = 28.5;
	m.avg_trade_duration = 29.5;
	m.profit_factor = 30.5;
	m.expectancy_pct = 31.5;
	m.sqn = 32.5;
	m.kelly_criterion = 33.5;
	m.omega_ratio = 34.5;
	m.periods_per_year = 35.5;
	m.max_win_streak = 36;
	m.max_loss_streak = 37;
	for (int i = 0; i < BT_N_METRICS; i++)
	{
		const BtMetricDef *d = &bt_metric_defs[i];
		double		want = d->is_int64 ? (double) (i + 1) : (i == dur ? 20.25 : i + 1.5);

		CHECK_MSG(bt_metric_double(&m, d) == want, "%s = %g", d->name, bt_metric_double(&m, d));
		CHECK_MSG(!bt_metric_is_null(&m, d), "%s", d->name);
		if (d->is_int64)
			CHECK_MSG(bt_metric_int64(&m, d) == i + 1, "%s", d->name);
	}
	/* durations sort as shown (whole usecs); no value: NaN */
	CHECK(bt_metric_sort_key(&m, &bt_metric_defs[dur]) == 20);
	m.sharpe_ratio = INFINITY;
	CHECK(bt_metric_is_null(&m, &bt_metric_defs[sharpe]) &&
		  isnan(bt_metric_sort_key(&m, &bt_metric_defs[sharpe])));
	m.bars = 0;
	CHECK(bt_metric_is_null(&m, &bt_metric_defs[start]) &&
		  !bt_metric_is_null(&m, &bt_metric_defs[bt_metric_index("bars")]) &&
		  !bt_metric_is_null(&m, &bt_metric_defs[bt_metric_index("trades_count")]));
	/* the sort directions of the sweeps */
	for (int i = 0; i < BT_N_METRICS; i++)
	{
		const char *n = bt_metric_defs[i].name;
		bool		lower = strcmp(n, "commissions") == 0 || strcmp(n, "volatility_ann_pct") == 0 ||
			strcmp(n, "max_drawdown_duration") == 0 || strcmp(n, "avg_drawdown_duration") == 0 ||
			strcmp(n, "max_loss_streak") == 0;

		CHECK_MSG(bt_metric_defs[i].lower_is_better == lower, "%s", n);
	}
}

void
test_tables(void)
{
	test_sim_param_table();
	test_metric_table();
}
