/*-------------------------------------------------------------------------
 *
 * strategies.c
 *	  The built-in strategies.  Each turns bars into a target position per
 *	  bar (+1 long, 0 flat, -1 short, BT_KEEP = no change), using data up to
 *	  and including that bar only; the simulator turns targets into orders.
 *
 * Crossing rule for every *_cross strategy (backtrader's and vectorbt's): a
 * cross up happens on bar t when fast_t > slow_t and the most recent earlier
 * bar where fast != slow had fast < slow; a touch is not a cross.  Nothing
 * happens on the first bar where both lines are defined, so a position opens
 * on the first cross after the warm-up, never merely because fast already
 * lies above slow.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/strategies.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_engine.h"

#define NO_CHOICES {NULL}
#define PERIOD(name, def, doc) \
	{name, BT_PARAM_INT, def, 1, 100000, false, NO_CHOICES, doc}

/* Scratch array of n doubles from the run's allocator */
static double *
scratch(const BtAlloc *a, int64_t n)
{
	return (double *) a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(double));
}

/* First index where every given array is defined (n if never) */
static int64_t
first_defined2(const double *x, const double *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!isnan(x[i]) && (y == NULL || !isnan(y[i])))
			return i;
	return n;
}

/*
 * cross_targets
 *		target[t] = up on a cross up of fast over slow, down on a cross down,
 *		BT_KEEP otherwise (see the crossing rule in the file header).
 */
static void
cross_targets(const double *fast, const double *slow, int64_t n, int8_t *target)
{
	int			last = 0;		/* sign of the last fast - slow != 0; 0 = none */

	for (int64_t t = 0; t < n; t++)
	{
		double		f = fast[t],
					s = slow[t];

		target[t] = BT_KEEP;
		if (isnan(f) || isnan(s))
			continue;
		if (f > s)
		{
			if (last < 0)
				target[t] = 1;
			last = 1;
		}
		else if (f < s)
		{
			if (last > 0)
				target[t] = -1;
			last = -1;
		}
	}
}

/* fast < slow for the moving-average crossovers */
static bool
check_fast_slow(const double *p, BtError *err)
{
	if (p[0] >= p[1])
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "parameter \"fast\" (%g) must be less than \"slow\" (%g)", p[0], p[1]);
		return false;
	}
	return true;
}

/* ---- sma_cross / ema_cross ---------------------------------------------- */

static int64_t
ma_cross(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a,
		 void (*ma) (const double *, int64_t, int, double *))
{
	double	   *fast = scratch(a, s->n);
	double	   *slow = scratch(a, s->n);

	ma(s->close, s->n, (int) p[0], fast);
	ma(s->close, s->n, (int) p[1], slow);
	cross_targets(fast, slow, s->n, target);
	return first_defined2(fast, slow, s->n);
}

static int64_t
sma_cross(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	return ma_cross(s, p, target, a, bt_sma);
}

static int64_t
ema_cross(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	return ma_cross(s, p, target, a, bt_ema);
}

/* ---- macd_cross ---------------------------------------------------------- */

static int64_t
macd_cross(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	double	   *macd = scratch(a, s->n);
	double	   *sig = scratch(a, s->n);
	double	   *hist = scratch(a, s->n);

	bt_macd(s->close, s->n, (int) p[0], (int) p[1], (int) p[2], macd, sig, hist);
	cross_targets(macd, sig, s->n, target);
	return first_defined2(macd, sig, s->n);
}

/* ---- rsi ------------------------------------------------------------------ */

static bool
check_rsi(const double *p, BtError *err)
{
	if (p[1] >= p[2])
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "parameter \"lower\" (%g) must be less than \"upper\" (%g)", p[1], p[2]);
		return false;
	}
	return true;
}

/* Long while RSI < lower, out (or short) while RSI > upper */
static int64_t
rsi_strategy(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	double	   *rsi = scratch(a, s->n);

	bt_rsi(s->close, s->n, (int) p[0], rsi);
	for (int64_t t = 0; t < s->n; t++)
		target[t] = rsi[t] < p[1] ? 1 : rsi[t] > p[2] ? -1 : BT_KEEP;	/* NaN: keep */
	return first_defined2(rsi, NULL, s->n);
}

/* ---- bollinger ------------------------------------------------------------ */

/*
 * Mean reversion: long when the close falls below the lower band, out (or
 * short) when it rises above the upper band; with exit_at_middle, a long is
 * closed when the close reaches the middle band (and a short likewise).
 */
static int64_t
bollinger(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	double	   *lo = scratch(a, s->n);
	double	   *mid = scratch(a, s->n);
	double	   *hi = scratch(a, s->n);
	bool		exit_mid = p[2] != 0;
	int			state = 0;		/* last non-keep target, for exit_at_middle */

	bt_bbands(s->close, s->n, (int) p[0], p[1], lo, mid, hi);
	for (int64_t t = 0; t < s->n; t++)
	{
		double		c = s->close[t];

		target[t] = BT_KEEP;
		if (isnan(mid[t]))
			continue;
		if (c < lo[t])
			target[t] = 1;
		else if (c > hi[t])
			target[t] = -1;
		else if (exit_mid && ((state > 0 && c >= mid[t]) || (state < 0 && c <= mid[t])))
			target[t] = 0;
		if (target[t] != BT_KEEP)
			state = target[t];
	}
	return first_defined2(mid, NULL, s->n);
}

/* ---- kdj ------------------------------------------------------------------ */

static bool
check_kdj(const double *p, BtError *err)
{
	if (p[3] != 0 && p[4] >= p[5])
	{
		bt_set_error(err, BT_ERR_PARAM,
					 "parameter \"j_lower\" (%g) must be less than \"j_upper\" (%g)", p[4], p[5]);
		return false;
	}
	return true;
}

/*
 * K crosses above D: long; K crosses below D: out (or short).  With use_j,
 * a buy also needs J < j_lower and a sell J > j_upper on the crossing bar.
 */
static int64_t
kdj_strategy(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	double	   *rsv = scratch(a, s->n);
	double	   *k = scratch(a, s->n);
	double	   *d = scratch(a, s->n);
	double	   *j = scratch(a, s->n);
	bool		use_j = p[3] != 0;

	bt_kdj(s->high, s->low, s->close, s->n, (int) p[0], (int) p[1], (int) p[2], rsv, k, d, j);
	cross_targets(k, d, s->n, target);
	if (use_j)
		for (int64_t t = 0; t < s->n; t++)
			if ((target[t] == 1 && !(j[t] < p[4])) || (target[t] == -1 && !(j[t] > p[5])))
				target[t] = BT_KEEP;
	return first_defined2(k, d, s->n);
}

/* ---- donchian_breakout ------------------------------------------------------ */

/*
 * Long when the close breaks above the previous bar's upper channel, out (or
 * short) when it breaks below the previous bar's lower channel (the channel
 * includes its own bar, so the comparison must be with bar t-1's).
 */
static int64_t
donchian_breakout(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	double	   *up = scratch(a, s->n);
	double	   *mid = scratch(a, s->n);
	double	   *lo = scratch(a, s->n);
	int64_t		first;

	bt_donchian(s->high, s->low, s->n, (int) p[0], up, mid, lo);
	first = first_defined2(up, NULL, s->n);
	for (int64_t t = 0; t < s->n; t++)
	{
		target[t] = BT_KEEP;
		if (t == 0 || isnan(up[t - 1]))
			continue;
		if (s->close[t] > up[t - 1])
			target[t] = 1;
		else if (s->close[t] < lo[t - 1])
			target[t] = -1;
	}
	return first < s->n ? first + 1 : s->n;
}

/* ---- buy_and_hold, signal ------------------------------------------------- */

static int64_t
buy_and_hold(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	(void) p;
	(void) a;
	for (int64_t t = 0; t < s->n; t++)
		target[t] = t == 0 ? 1 : BT_KEEP;
	return 0;
}

static int64_t
signal_strategy(const BtSeries *s, const double *p, int8_t *target, const BtAlloc *a)
{
	(void) p;
	(void) a;
	for (int64_t t = 0; t < s->n; t++)
		target[t] = isnan(s->signal[t]) ? BT_KEEP : (int8_t) s->signal[t];
	return 0;
}

/* ---- the registry ------------------------------------------------------------ */

const BtStrategyDef bt_strategies[] = {
	{"sma_cross", 2, {
			PERIOD("fast", 10, "Fast simple moving average period."),
			PERIOD("slow", 30, "Slow simple moving average period (> fast).")},
		false, false,
		"Long when SMA(fast) crosses above SMA(slow); exit (or short) on the cross below.",
	check_fast_slow, sma_cross},
	{"ema_cross", 2, {
			PERIOD("fast", 12, "Fast EMA period."),
			PERIOD("slow", 26, "Slow EMA period (> fast).")},
		false, false,
		"Long when EMA(fast) crosses above EMA(slow); exit (or short) on the cross below.",
	check_fast_slow, ema_cross},
	{"macd_cross", 3, {
			PERIOD("fast", 12, "Fast EMA period of the MACD line."),
			PERIOD("slow", 26, "Slow EMA period of the MACD line (> fast)."),
			PERIOD("signal", 9, "EMA period of the signal line.")},
		false, false,
		"Long when the MACD line crosses above its signal line; exit (or short) on the cross below.",
	check_fast_slow, macd_cross},
	{"rsi", 3, {
			PERIOD("period", 14, "RSI period (Wilder smoothing)."),
			{"lower", BT_PARAM_NUM, 30, 0, 100, false, NO_CHOICES, "Buy while RSI is below this level."},
			{"upper", BT_PARAM_NUM, 70, 0, 100, false, NO_CHOICES, "Sell (or short) while RSI is above this level."}},
		false, false,
		"Mean reversion on RSI: long below `lower`, exit (or short) above `upper`.",
	check_rsi, rsi_strategy},
	{"bollinger", 3, {
			PERIOD("period", 20, "Bollinger Band period."),
			{"k", BT_PARAM_NUM, 2.0, 0, 100, true, NO_CHOICES, "Band width in population standard deviations."},
			{"exit_at_middle", BT_PARAM_BOOL, 0, 0, 1, false, NO_CHOICES, "Close positions when the close reaches the middle band."}},
		false, false,
		"Mean reversion at the bands: long below the lower band, exit (or short) above the upper band.",
	NULL, bollinger},
	{"kdj", 6, {
			PERIOD("period", 9, "RSV window (highest high / lowest low)."),
			PERIOD("k_smooth", 3, "K smoothing (K = (1-1/m)K + RSV/m)."),
			PERIOD("d_smooth", 3, "D smoothing (D = (1-1/m)D + K/m)."),
			{"use_j", BT_PARAM_BOOL, 0, 0, 1, false, NO_CHOICES, "Require J thresholds on the crossing bar."},
			{"j_lower", BT_PARAM_NUM, 20, -1000, 1000, false, NO_CHOICES, "With use_j: buy only if J is below this."},
			{"j_upper", BT_PARAM_NUM, 80, -1000, 1000, false, NO_CHOICES, "With use_j: sell only if J is above this."}},
		false, false,
		"KDJ (9,3,3): long when K crosses above D, exit (or short) when K crosses below D; optional J thresholds.",
	check_kdj, kdj_strategy},
	{"donchian_breakout", 1, {
			PERIOD("period", 20, "Channel period (highest high / lowest low).")},
		false, false,
		"Long when the close breaks the previous bar's upper channel; exit (or short) below the previous lower channel.",
	NULL, donchian_breakout},
	{"buy_and_hold", 0, {{NULL}}, false, false,
		"Buy on the first bar's decision and hold to the end.",
	NULL, buy_and_hold},
	{"signal", 0, {{NULL}}, false, true,
		"Targets from the source's signal column: 1 long, 0 flat, -1 short, NULL keep.",
	NULL, signal_strategy},
};
const int	bt_n_strategies = sizeof(bt_strategies) / sizeof(bt_strategies[0]);

/*
 * bt_find_strategy
 *		The strategy named `name`, or NULL.
 */
const BtStrategyDef *
bt_find_strategy(const char *name)
{
	for (int i = 0; i < bt_n_strategies; i++)
		if (strcmp(bt_strategies[i].name, name) == 0)
			return &bt_strategies[i];
	return NULL;
}
