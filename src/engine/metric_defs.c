/*-------------------------------------------------------------------------
 *
 * metric_defs.c
 *	  The metric descriptor table: one entry per BtMetrics field, in the
 *	  column order of the SQL type backtest_metrics, with the field's
 *	  offset, its kind (number, count, timestamp, duration) and whether a
 *	  sweep sorts it ascending (lower is better).  The SQL layer drives its
 *	  result columns, sort keys and type lists from it instead of lists
 *	  that must agree by position.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/metric_defs.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "bt_engine.h"

/* Compile-time check (C99 has no _Static_assert) */
#define STATIC_ASSERT(cond, name)	typedef char static_assert_##name[(cond) ? 1 : -1]

/* An entry: the name is the field's name, so a misspelt field does not compile */
#define METRIC(field, kind, is_int64, lower_is_better) \
	{#field, offsetof(BtMetrics, field), kind, is_int64, lower_is_better}
#define NUM(field)			METRIC(field, BT_METRIC_DOUBLE, false, false)
#define NUM_LOWER(field)	METRIC(field, BT_METRIC_DOUBLE, false, true)
#define COUNT(field)		METRIC(field, BT_METRIC_INT64, true, false)

/*
 * Drawdowns are <= 0, so "higher is better" already puts the shallowest
 * first; costs, volatility, the time spent in drawdowns and the longest
 * losing streak sort ascending.
 */
const BtMetricDef bt_metric_defs[] = {
	METRIC(start_ts, BT_METRIC_TIMESTAMP, true, false),
	METRIC(end_ts, BT_METRIC_TIMESTAMP, true, false),
	METRIC(duration, BT_METRIC_DURATION, true, false),
	COUNT(bars),
	COUNT(warmup_bars),
	NUM(exposure_pct),
	NUM(equity_final),
	NUM(equity_peak),
	NUM_LOWER(commissions),
	NUM(return_pct),
	NUM(buy_hold_return_pct),
	NUM(return_ann_pct),
	NUM_LOWER(volatility_ann_pct),
	NUM(cagr_pct),
	NUM(sharpe_ratio),
	NUM(sortino_ratio),
	NUM(calmar_ratio),
	NUM(max_drawdown_pct),
	NUM(avg_drawdown_pct),
	METRIC(max_drawdown_duration, BT_METRIC_DURATION, false, true),
	METRIC(avg_drawdown_duration, BT_METRIC_DURATION, false, true),
	COUNT(trades_count),
	COUNT(open_trades),
	NUM(win_rate_pct),
	NUM(best_trade_pct),
	NUM(worst_trade_pct),
	NUM(avg_trade_pct),
	METRIC(max_trade_duration, BT_METRIC_DURATION, false, false),
	METRIC(avg_trade_duration, BT_METRIC_DURATION, false, false),
	NUM(profit_factor),
	NUM(expectancy_pct),
	NUM(sqn),
	NUM(kelly_criterion),
	NUM(omega_ratio),
	NUM(periods_per_year),
	COUNT(max_win_streak),
	METRIC(max_loss_streak, BT_METRIC_INT64, true, true),
};

STATIC_ASSERT(sizeof(bt_metric_defs) / sizeof(bt_metric_defs[0]) == BT_N_METRICS,
			  one_entry_per_metric);
/*
 * every metric field is 8 bytes wide and listed once: nothing is left out.
 * The fields from entries_unfilled on are run diagnostics, not metrics.
 */
STATIC_ASSERT(BT_N_METRICS * 8 == offsetof(BtMetrics, entries_unfilled), every_metric_listed);

/*
 * bt_metric_index
 *		Position of the metric called `name` in bt_metric_defs, or -1.
 */
int
bt_metric_index(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < BT_N_METRICS; i++)
		if (strcmp(bt_metric_defs[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * bt_metric_int64
 *		The value of an int64_t metric field.
 */
int64_t
bt_metric_int64(const BtMetrics *m, const BtMetricDef *d)
{
	int64_t		v;

	memcpy(&v, (const char *) m + d->offset, sizeof(v));
	return v;
}

/*
 * bt_metric_double
 *		The value of a metric field as a double (an int64_t one converted).
 */
double
bt_metric_double(const BtMetrics *m, const BtMetricDef *d)
{
	double		v;

	if (d->is_int64)
		return (double) bt_metric_int64(m, d);
	memcpy(&v, (const char *) m + d->offset, sizeof(v));
	return v;
}

/*
 * bt_metric_is_null
 *		Does the metric have no value?  Timestamps and the int64_t duration
 *		have none without bars, doubles none when NaN or infinite; counts
 *		always have one.
 */
bool
bt_metric_is_null(const BtMetrics *m, const BtMetricDef *d)
{
	if (d->is_int64)
		return d->kind != BT_METRIC_INT64 && m->bars <= 0;
	return !isfinite(bt_metric_double(m, d));
}

/*
 * bt_metric_sort_key
 *		The value a sweep sorts by: NaN where the metric has no value;
 *		durations in double microseconds rounded to whole ones, as they are
 *		shown (an interval), so rows that show equal sort as ties.
 */
double
bt_metric_sort_key(const BtMetrics *m, const BtMetricDef *d)
{
	double		x;

	if (bt_metric_is_null(m, d))
		return NAN;
	x = bt_metric_double(m, d);
	if (!d->is_int64 && d->kind == BT_METRIC_DURATION)
		x = (double) llround(x);
	return x;
}
