/*-------------------------------------------------------------------------
 *
 * bt_internal.h
 *	  Declarations shared between the engine's own files only (not part of
 *	  the API the PostgreSQL side uses): the indicator line providers the
 *	  strategies draw their lines from, and the simulator's variant that
 *	  writes into caller-provided, reusable buffers.
 *
 * A strategy never computes an indicator itself: it asks a line provider
 * for a line by kind, parameters and output.  bt_run's provider computes
 * each line into scratch memory from the run's BtAlloc; a sweep context's
 * provider (sweep.c) keeps lines between runs, so that the SMA(10) of every
 * combination with fast = 10 is computed once.  Both give the same values
 * bit for bit, so a strategy's targets do not depend on the provider.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_INTERNAL_H
#define BT_INTERNAL_H

#include "bt_engine.h"

/* ------------------------------------------------------------------------
 * Indicator lines
 * ------------------------------------------------------------------------
 */
typedef enum BtLineKind
{
	BT_LINE_SMA = 0,			/* close; (period) -> value */
	BT_LINE_EMA,				/* close; (period) -> value */
	BT_LINE_RSI,				/* close; (period) -> value */
	BT_LINE_MACD,				/* close; (fast, slow, signal) -> macd, signal, hist */
	BT_LINE_BBANDS,				/* close; (period, k) -> lower, middle, upper */
	BT_LINE_KDJ,				/* high, low, close; (period, k_smooth, d_smooth) -> rsv, k, d, j */
	BT_LINE_DONCHIAN			/* high, low; (period) -> upper, mid, lower */
} BtLineKind;

#define BT_LINE_NKINDS		7
#define BT_LINE_MAX_PARAMS	3
#define BT_LINE_MAX_OUTPUTS	4

/* Output numbers of the multi-output lines */
#define BT_MACD_OUT_MACD		0
#define BT_MACD_OUT_SIGNAL		1
#define BT_MACD_OUT_HIST		2
#define BT_BBANDS_OUT_LOWER		0
#define BT_BBANDS_OUT_MIDDLE	1
#define BT_BBANDS_OUT_UPPER		2
#define BT_KDJ_OUT_RSV			0
#define BT_KDJ_OUT_K			1
#define BT_KDJ_OUT_D			2
#define BT_KDJ_OUT_J			3
#define BT_DONCHIAN_OUT_UPPER	0
#define BT_DONCHIAN_OUT_MID		1
#define BT_DONCHIAN_OUT_LOWER	2

/* Number of parameters and outputs of a kind of line */
extern int	bt_line_nparams(BtLineKind kind);
extern int	bt_line_noutputs(BtLineKind kind);

/*
 * Compute every output of a line over s into out[0..noutputs-1] (arrays of
 * s->n doubles), exactly as the indicator functions of indicators.c do.
 */
extern void bt_line_compute(const BtSeries *s, BtLineKind kind, const double *params,
							double **out);

/*
 * A line provider.  get() returns output `output` of the line (kind,
 * params[0..bt_line_nparams(kind)-1]) over s: n read-only doubles that stay
 * valid until the strategy's computation returns.
 */
typedef struct BtLines BtLines;
struct BtLines
{
	const BtSeries *s;
	const double *(*get) (BtLines *self, BtLineKind kind, const double *params, int output);
};

/*
 * Targets of strategy st with parameters p, its lines taken from `lines`;
 * returns the warm-up bar (see BtStrategyDef.compute, which is this with a
 * provider computing into scratch memory).
 */
extern int64_t bt_strategy_targets(const BtStrategyDef *st, const double *p, int8_t *target,
								   BtLines *lines, const BtAlloc *a);

/* ------------------------------------------------------------------------
 * The simulator on reusable buffers
 * ------------------------------------------------------------------------
 */
typedef struct BtSimBuffers
{
	double	   *equity;			/* n doubles, required */
	double	   *position;		/* n doubles, or NULL: positions not recorded */
	BtTrade    *trades;			/* grown from the BtAlloc as needed, kept */
	int64_t		trades_cap;		/* capacity of trades */
} BtSimBuffers;

/*
 * bt_simulate writing into buf: out->equity, out->position and out->trades
 * point into buf afterwards (buf->trades may have been grown).  Same results
 * as bt_simulate, which is this with fresh buffers.
 */
extern BtErrCode bt_simulate_into(const BtSeries *s, const int8_t *target, int64_t warmup,
								  const BtSimParams *sim, const BtAlloc *a,
								  BtProgressFn progress, void *progress_arg,
								  BtSimBuffers *buf, BtResult *out, BtError *err);

/* metrics.c: in-place ascending heap sort */
extern void bt_sort_i64(int64_t *x, int64_t n);

/* The UTC calendar day (days since 1970-01-01) of a timestamp (calendar.c) */
extern int64_t bt_day_of(int64_t ts);

/* The trading day of a timestamp, days starting day_start after midnight UTC */
extern int64_t bt_trading_day(int64_t ts, int64_t day_start);

#endif							/* BT_INTERNAL_H */
