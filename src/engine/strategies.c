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
 * Strategies take their indicator lines from a line provider (BtLines, see
 * bt_internal.h), by indicator definition, instead of computing them:
 * bt_strategy_compute (used by bt_run) gives them a provider that computes
 * each line into scratch memory from the run's allocator; a sweep context
 * gives them one that keeps lines between runs.  A new strategy is its
 * implementation plus its bt_strategies[] entry.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/strategies.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_internal.h"

#define NO_CHOICES {NULL}
#define NO_PARAMS {{NULL, BT_PARAM_INT, 0, 0, 0, false, NO_CHOICES, NULL}}
#define PERIOD(name, def, doc) \
	{name, BT_PARAM_INT, def, 1, 100000, false, NO_CHOICES, doc}

/* Lines a strategy may ask the scratch provider for in one computation */
#define SCRATCH_MEMO	8

/*
 * The scratch line provider: computes each line requested into fresh
 * arrays from the run's allocator, remembering the lines of this one
 * computation so that asking again (e.g. for another output of the same
 * MACD) does not compute it twice.
 */
typedef struct ScratchLines
{
	BtLines		base;			/* must be first */
	const BtAlloc *a;
	int			nmemo;
	struct
	{
		const BtIndicatorDef *ind;
		double		params[BT_IND_MAX_PARAMS];
		double	   *out[BT_IND_MAX_OUTPUTS];
	}			memo[SCRATCH_MEMO];
} ScratchLines;

/* Scratch array of n doubles from the run's allocator */
static double *
scratch(const BtAlloc *a, int64_t n)
{
	return (double *) a->realloc_fn(a->ctx, NULL, (size_t) (n > 0 ? n : 1) * sizeof(double));
}

/*
 * scratch_get
 *		The scratch provider's get(): the line from this computation's memo,
 *		or computed now into scratch arrays.
 */
static const double *
scratch_get(BtLines *self, const BtIndicatorDef *ind, const double *params, int output)
{
	ScratchLines *sl = (ScratchLines *) self;
	int			np = ind->nparams;
	int			nout = ind->noutputs;
	double	   *out[BT_IND_MAX_OUTPUTS];

	for (int i = 0; i < sl->nmemo; i++)
	{
		bool		same = sl->memo[i].ind == ind;

		for (int j = 0; same && j < np; j++)
			same = sl->memo[i].params[j] == params[j];
		if (same)
			return sl->memo[i].out[output];
	}
	for (int j = 0; j < nout; j++)
		out[j] = scratch(sl->a, self->s->n);
	ind->compute(self->s, params, out);
	if (sl->nmemo < SCRATCH_MEMO)
	{
		int			m = sl->nmemo++;

		sl->memo[m].ind = ind;
		for (int j = 0; j < np; j++)
			sl->memo[m].params[j] = params[j];
		for (int j = 0; j < nout; j++)
			sl->memo[m].out[j] = out[j];
	}
	return out[output];
}

/*
 * bt_strategy_compute
 *		A strategy's targets over the scratch provider (what bt_run uses).
 */
int64_t
bt_strategy_compute(const BtStrategyDef *st, const BtSeries *s, const double *p,
					int8_t *target, const BtAlloc *a)
{
	ScratchLines sl;

	sl.base.s = s;
	sl.base.get = scratch_get;
	sl.base.scratch = a;
	sl.a = a;
	sl.nmemo = 0;
	return st->targets(&sl.base, p, target);
}

/* Output `output` of a line with one, two or three parameters */
static inline const double *
line1(BtLines *l, const BtIndicatorDef *ind, double p0, int output)
{
	double		p[BT_IND_MAX_PARAMS] = {p0, 0, 0, 0};

	return l->get(l, ind, p, output);
}

static inline const double *
line2(BtLines *l, const BtIndicatorDef *ind, double p0, double p1, int output)
{
	double		p[BT_IND_MAX_PARAMS] = {p0, p1, 0, 0};

	return l->get(l, ind, p, output);
}

static inline const double *
line3(BtLines *l, const BtIndicatorDef *ind, double p0, double p1, double p2, int output)
{
	double		p[BT_IND_MAX_PARAMS] = {p0, p1, p2, 0};

	return l->get(l, ind, p, output);
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
 *		BT_KEEP otherwise (see the crossing rule in the file header).  Every
 *		target is BT_KEEP but those on crosses, so the loop only looks for
 *		the next bar on the other side of the last one (a bar where either
 *		line is NaN or the lines touch is on neither side).
 */
static void
cross_targets(const double *fast, const double *slow, int64_t n, int8_t *target)
{
	int			last = 0;		/* sign of the last fast - slow != 0; 0 = none */
	int64_t		t = 0;

	if (n <= 0)
		return;
	memset(target, BT_KEEP, (size_t) n);
	while (t < n)
	{
		if (last > 0)
			while (t < n && !(fast[t] < slow[t]))
				t++;
		else if (last < 0)
			while (t < n && !(fast[t] > slow[t]))
				t++;
		else
			while (t < n && !(fast[t] > slow[t] || fast[t] < slow[t]))
				t++;
		if (t >= n)
			break;
		if (fast[t] > slow[t])
		{
			if (last < 0)
				target[t] = 1;
			last = 1;
		}
		else
		{
			if (last > 0)
				target[t] = -1;
			last = -1;
		}
		t++;
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
ma_cross(BtLines *l, const double *p, int8_t *target, const BtIndicatorDef *ma)
{
	const double *fast = line1(l, ma, p[0], 0);
	const double *slow = line1(l, ma, p[1], 0);

	cross_targets(fast, slow, l->s->n, target);
	return first_defined2(fast, slow, l->s->n);
}

/*
 * With scratch lines, the targets straight from the close's window sums
 * (the same targets: sma_cross.c), unless that declines
 */
static int64_t
sma_cross(BtLines *l, const double *p, int8_t *target)
{
	int64_t		warmup;

	if (l->scratch && bt_sma_cross_fused(l->s->close, l->s->n, (int) p[0], (int) p[1], target,
										 &warmup, l->scratch))
		return warmup;
	return ma_cross(l, p, target, &bt_ind_sma);
}

static int64_t
ema_cross(BtLines *l, const double *p, int8_t *target)
{
	return ma_cross(l, p, target, &bt_ind_ema);
}

/* ---- macd_cross ---------------------------------------------------------- */

static int64_t
macd_cross(BtLines *l, const double *p, int8_t *target)
{
	const double *macd = line3(l, &bt_ind_macd, p[0], p[1], p[2], BT_MACD_OUT_MACD);
	const double *sig = line3(l, &bt_ind_macd, p[0], p[1], p[2], BT_MACD_OUT_SIGNAL);

	cross_targets(macd, sig, l->s->n, target);
	return first_defined2(macd, sig, l->s->n);
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
rsi_strategy(BtLines *l, const double *p, int8_t *target)
{
	const double *rsi = line1(l, &bt_ind_rsi, p[0], 0);
	int64_t		n = l->s->n;

	for (int64_t t = 0; t < n; t++)
		target[t] = rsi[t] < p[1] ? 1 : rsi[t] > p[2] ? -1 : BT_KEEP;	/* NaN: keep */
	return first_defined2(rsi, NULL, n);
}

/* ---- bollinger ------------------------------------------------------------ */

/*
 * Mean reversion: long when the close falls below the lower band, out (or
 * short) when it rises above the upper band; with exit_at_middle, a long is
 * closed when the close reaches the middle band (and a short likewise).
 */
static int64_t
bollinger(BtLines *l, const double *p, int8_t *target)
{
	const BtSeries *s = l->s;
	const double *lo = line2(l, &bt_ind_bbands, p[0], p[1], BT_BBANDS_OUT_LOWER);
	const double *mid = line2(l, &bt_ind_bbands, p[0], p[1], BT_BBANDS_OUT_MIDDLE);
	const double *hi = line2(l, &bt_ind_bbands, p[0], p[1], BT_BBANDS_OUT_UPPER);
	bool		exit_mid = p[2] != 0;
	int			state = 0;		/* last non-keep target, for exit_at_middle */

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
kdj_strategy(BtLines *l, const double *p, int8_t *target)
{
	int64_t		n = l->s->n;
	const double *k = line3(l, &bt_ind_kdj, p[0], p[1], p[2], BT_KDJ_OUT_K);
	const double *d = line3(l, &bt_ind_kdj, p[0], p[1], p[2], BT_KDJ_OUT_D);
	const double *j = line3(l, &bt_ind_kdj, p[0], p[1], p[2], BT_KDJ_OUT_J);
	bool		use_j = p[3] != 0;

	cross_targets(k, d, n, target);
	if (use_j)
		for (int64_t t = 0; t < n; t++)
			if ((target[t] == 1 && !(j[t] < p[4])) || (target[t] == -1 && !(j[t] > p[5])))
				target[t] = BT_KEEP;
	return first_defined2(k, d, n);
}

/* ---- donchian_breakout ------------------------------------------------------ */

/*
 * Long when the close breaks above the previous bar's upper channel, out (or
 * short) when it breaks below the previous bar's lower channel (the channel
 * includes its own bar, so the comparison must be with bar t-1's).
 */
static int64_t
donchian_breakout(BtLines *l, const double *p, int8_t *target)
{
	const BtSeries *s = l->s;
	const double *up = line1(l, &bt_ind_donchian, p[0], BT_DONCHIAN_OUT_UPPER);
	const double *lo = line1(l, &bt_ind_donchian, p[0], BT_DONCHIAN_OUT_LOWER);
	int64_t		first;

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
buy_and_hold(BtLines *l, const double *p, int8_t *target)
{
	(void) p;
	for (int64_t t = 0; t < l->s->n; t++)
		target[t] = t == 0 ? 1 : BT_KEEP;
	return 0;
}

static int64_t
signal_strategy(BtLines *l, const double *p, int8_t *target)
{
	const BtSeries *s = l->s;

	(void) p;
	for (int64_t t = 0; t < s->n; t++)
		target[t] = isnan(s->signal[t]) ? BT_KEEP :
			s->signal[t] > 0 ? 1 : s->signal[t] < 0 ? -1 : 0;
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
	{"buy_and_hold", 0, NO_PARAMS, false, false,
		"Buy on the first bar's decision and hold to the end.",
	NULL, buy_and_hold},
	{"signal", 0, NO_PARAMS, false, true,
		"Targets from the source's signal column: 1 long, 0 flat, -1 short, fractions a share of the size, NULL keep.",
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
