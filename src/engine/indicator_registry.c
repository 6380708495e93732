/*-------------------------------------------------------------------------
 *
 * indicator_registry.c
 *	  The indicator registry: one entry per indicator (name, inputs,
 *	  parameters, outputs, description) with an adapter from the entry's
 *	  parameter values to the indicator function, so the SQL layer exposes
 *	  every indicator by name without a switch per indicator, and the
 *	  strategies request their lines by these definitions.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/indicator_registry.c
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <string.h>

#include "bt_internal.h"

/* ------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------
 */

/*
 * param_int
 *		A period parameter as an int; 0 (invalid, all-NaN output) when it is
 *		not in [1, INT_MAX] (callers validate first, this only keeps the
 *		conversion defined).
 */
static int
param_int(double v)
{
	if (!(v >= 1.0 && v <= (double) INT_MAX))
		return 0;
	return (int) v;
}

/* compute_sma: registry adapter for bt_sma */
static void
compute_sma(const BtSeries *s, const double *p, double **out)
{
	bt_sma(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_ema: registry adapter for bt_ema */
static void
compute_ema(const BtSeries *s, const double *p, double **out)
{
	bt_ema(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_wma: registry adapter for bt_wma */
static void
compute_wma(const BtSeries *s, const double *p, double **out)
{
	bt_wma(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_rsi: registry adapter for bt_rsi */
static void
compute_rsi(const BtSeries *s, const double *p, double **out)
{
	bt_rsi(s->close, s->n, param_int(p[0]), out[0]);
}

/* compute_macd: registry adapter for bt_macd */
static void
compute_macd(const BtSeries *s, const double *p, double **out)
{
	bt_macd(s->close, s->n, param_int(p[0]), param_int(p[1]), param_int(p[2]),
			out[0], out[1], out[2]);
}

/* compute_bbands: registry adapter for bt_bbands */
static void
compute_bbands(const BtSeries *s, const double *p, double **out)
{
	bt_bbands(s->close, s->n, param_int(p[0]), p[1], out[0], out[1], out[2]);
}

/* compute_stoch: registry adapter for bt_stoch */
static void
compute_stoch(const BtSeries *s, const double *p, double **out)
{
	bt_stoch(s->high, s->low, s->close, s->n,
			 param_int(p[0]), param_int(p[1]), param_int(p[2]),
			 out[0], out[1], out[2]);
}

/* compute_kdj: registry adapter for bt_kdj */
static void
compute_kdj(const BtSeries *s, const double *p, double **out)
{
	bt_kdj(s->high, s->low, s->close, s->n,
		   param_int(p[0]), param_int(p[1]), param_int(p[2]),
		   out[0], out[1], out[2], out[3]);
}

/* compute_atr: registry adapter for bt_atr */
static void
compute_atr(const BtSeries *s, const double *p, double **out)
{
	bt_atr(s->high, s->low, s->close, s->n, param_int(p[0]), out[0], out[1]);
}

/* compute_donchian: registry adapter for bt_donchian */
static void
compute_donchian(const BtSeries *s, const double *p, double **out)
{
	bt_donchian(s->high, s->low, s->n, param_int(p[0]), out[0], out[1], out[2]);
}

/* compute_obv: registry adapter for bt_obv */
static void
compute_obv(const BtSeries *s, const double *p, double **out)
{
	(void) p;
	bt_obv(s->close, s->volume, s->n, out[0]);
}

/* compute_roc: registry adapter for bt_roc */
static void
compute_roc(const BtSeries *s, const double *p, double **out)
{
	bt_roc(s->close, s->n, param_int(p[0]), out[0]);
}

/*
 * derive_macd: the MACD lines from the provider's EMA lines of the fast and
 * slow periods (the same operations as bt_macd, so the same values), which
 * the lines of a sweep over MACD's parameters share.
 */
static void
derive_macd(BtLines *lines, const double *p, double **out)
{
	const BtSeries *s = lines->s;
	double		pf[BT_IND_MAX_PARAMS] = {p[0], 0, 0, 0};
	double		ps[BT_IND_MAX_PARAMS] = {p[1], 0, 0, 0};
	const double *fast,
			   *slow;
	double	   *macd = out[BT_MACD_OUT_MACD],
			   *sig = out[BT_MACD_OUT_SIGNAL],
			   *hist = out[BT_MACD_OUT_HIST];

	if (!(s->n > 0 && s->close != NULL && param_int(p[0]) > 0 && param_int(p[1]) > 0 &&
		  param_int(p[2]) > 0))
	{
		compute_macd(s, p, out);
		return;
	}
	fast = lines->get(lines, &bt_ind_ema, pf, 0);
	slow = lines->get(lines, &bt_ind_ema, ps, 0);
	for (int64_t t = 0; t < s->n; t++)
		macd[t] = fast[t] - slow[t];
	bt_ema(macd, s->n, param_int(p[2]), sig);
	for (int64_t t = 0; t < s->n; t++)
		hist[t] = macd[t] - sig[t];
}

/* An integer period parameter: {name, INT, default, 1, 100000, ...} */
#define PERIOD_PARAM(name, def, doc) \
	{(name), BT_PARAM_INT, (def), 1, 100000, false, {NULL}, (doc)}

const BtIndicatorDef bt_ind_sma = {"sma", BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 20, "Number of bars in the window.")},
	1, {"value"},
	"Simple moving average of close over `period` bars.",
	compute_sma, NULL
};

const BtIndicatorDef bt_ind_ema = {"ema", BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 20, "Span; alpha = 2 / (period + 1).")},
	1, {"value"},
	"Exponential moving average of close, seeded with the SMA of the first `period` closes.",
	compute_ema, NULL
};

const BtIndicatorDef bt_ind_wma = {"wma", BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 20, "Number of bars; weights 1..period, newest heaviest.")},
	1, {"value"},
	"Linearly weighted moving average of close.",
	compute_wma, NULL
};

const BtIndicatorDef bt_ind_rsi = {"rsi", BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 14, "Wilder smoothing period (alpha = 1 / period).")},
	1, {"value"},
	"Wilder's relative strength index of close, 0-100.",
	compute_rsi, NULL
};

const BtIndicatorDef bt_ind_macd = {"macd", BT_IN_CLOSE,
	3, {PERIOD_PARAM("fast", 12, "Period of the fast EMA."),
		PERIOD_PARAM("slow", 26, "Period of the slow EMA."),
	PERIOD_PARAM("signal", 9, "Period of the signal line's EMA of the MACD line.")},
	3, {"macd", "signal", "histogram"},
	"MACD line (fast EMA - slow EMA of close), its signal line and histogram, in price units.",
	compute_macd, derive_macd
};

const BtIndicatorDef bt_ind_bbands = {"bbands", BT_IN_CLOSE,
	2, {PERIOD_PARAM("period", 20, "Number of bars in the window."),
	{"k", BT_PARAM_NUM, 2.0, 0, 100, true, {NULL}, "Band width in population standard deviations."}},
	3, {"lower", "middle", "upper"},
	"Bollinger Bands of close: SMA -/+ k population standard deviations.",
	compute_bbands, NULL
};

const BtIndicatorDef bt_ind_stoch = {"stoch", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
	3, {PERIOD_PARAM("k_period", 14, "Bars of the highest high / lowest low window."),
		PERIOD_PARAM("d_period", 3, "SMA period of fast %K giving fast %D."),
	PERIOD_PARAM("slow_period", 3, "SMA period of fast %D giving slow %D.")},
	3, {"fastk", "fastd", "slowd"},
	"Stochastic oscillator, 0-100 (50 when the window's high equals its low).",
	compute_stoch, NULL
};

const BtIndicatorDef bt_ind_kdj = {"kdj", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
	3, {PERIOD_PARAM("period", 9, "Bars of the highest high / lowest low window."),
		PERIOD_PARAM("k_smooth", 3, "K = ((k_smooth - 1) * K + RSV) / k_smooth."),
	PERIOD_PARAM("d_smooth", 3, "D = ((d_smooth - 1) * D + K) / d_smooth.")},
	4, {"rsv", "k", "d", "j"},
	"KDJ indicator, K and D seeded at 50; J = 3K - 2D.",
	compute_kdj, NULL
};

const BtIndicatorDef bt_ind_atr = {"atr", BT_IN_HIGH | BT_IN_LOW | BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 14, "Wilder smoothing period (alpha = 1 / period).")},
	2, {"tr", "atr"},
	"True range and Wilder's average true range, in price units.",
	compute_atr, NULL
};

const BtIndicatorDef bt_ind_donchian = {"donchian", BT_IN_HIGH | BT_IN_LOW,
	1, {PERIOD_PARAM("period", 20, "Number of bars, the current one included.")},
	3, {"upper", "mid", "lower"},
	"Donchian channel: highest high, midpoint and lowest low over `period` bars.",
	compute_donchian, NULL
};

const BtIndicatorDef bt_ind_obv = {"obv", BT_IN_CLOSE | BT_IN_VOLUME,
	0, {{NULL, BT_PARAM_INT, 0, 0, 0, false, {NULL}, NULL}},
	1, {"value"},
	"On-balance volume, starting at the first bar's volume.",
	compute_obv, NULL
};

const BtIndicatorDef bt_ind_roc = {"roc", BT_IN_CLOSE,
	1, {PERIOD_PARAM("period", 10, "Number of bars back.")},
	1, {"value"},
	"Rate of change of close over `period` bars, in percent.",
	compute_roc, NULL
};

/* The registry: every indicator, in the order they are listed */
const BtIndicatorDef *const bt_indicators[] = {
	&bt_ind_sma,
	&bt_ind_ema,
	&bt_ind_wma,
	&bt_ind_rsi,
	&bt_ind_macd,
	&bt_ind_bbands,
	&bt_ind_stoch,
	&bt_ind_kdj,
	&bt_ind_atr,
	&bt_ind_donchian,
	&bt_ind_obv,
	&bt_ind_roc
};

const int	bt_n_indicators = (int) (sizeof(bt_indicators) / sizeof(bt_indicators[0]));

/*
 * bt_find_indicator
 *		The registry entry with this exact (case-sensitive) name, or NULL.
 */
const BtIndicatorDef *
bt_find_indicator(const char *name)
{
	if (name == NULL)
		return NULL;
	for (int i = 0; i < bt_n_indicators; i++)
		if (strcmp(bt_indicators[i]->name, name) == 0)
			return bt_indicators[i];
	return NULL;
}
