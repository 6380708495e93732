/*-------------------------------------------------------------------------
 *
 * live_internal.h
 *	  Declarations shared between the live stream's files only: the layout
 *	  of a state (one flat block, see live.c), its rings, and the steps of
 *	  one bar: each indicator's (live_indicators.c), then the strategy's
 *	  (live_strategy.c).
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/live_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef LIVE_INTERNAL_H
#define LIVE_INTERNAL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_kernels.h"
#include "bt_live.h"

#define LIVE_MAGIC		UINT32_C(0x564C5442)	/* "BTLV" */
#define LIVE_VERSION	1

/* Lines a strategy needs at most */
#define LIVE_MAX_LINES	2
#define LIVE_MAX_ALL	(BT_LIVE_MAX_IND + LIVE_MAX_LINES)

/* Columns of the bar ring */
enum
{
	COL_HIGH, COL_LOW, COL_CLOSE, COL_VOLUME, NCOLS
};

/* How a strategy is advanced (one per bt_strategies entry it supports) */
typedef enum LiveKind
{
	LK_NONE = 0,				/* no strategy */
	LK_MA_CROSS,				/* sma_cross, ema_cross: lines 0 and 1 */
	LK_MACD_CROSS,				/* macd over its signal line */
	LK_RSI,
	LK_BOLLINGER,
	LK_KDJ,
	LK_DONCHIAN,
	LK_HOLD,					/* buy_and_hold */
	LK_SIGNAL					/* the bar's signal */
} LiveKind;

/* One indicator's state */
typedef struct LiveInd
{
	int32_t		reg;			/* index in bt_indicators */
	int32_t		ema0;			/* its first EMA state in the EMA array (-1: none): */
	/* EMA: 1; MACD: fast, slow, signal; RSI: up, down; ATR: 1 */
	double		params[BT_IND_MAX_PARAMS];
	double		a;				/* KDJ: K; OBV: hi */
	double		b;				/* KDJ: D; OBV: lo */
	int64_t		r1_off;			/* Stochastic: ring of %K (d_period values) */
	int64_t		r2_off;			/* Stochastic: ring of %D (slow_period values) */
	double		out[BT_IND_MAX_OUTPUTS];	/* values on the last bar */
	double		prev[BT_IND_MAX_OUTPUTS];	/* on the bar before */
} LiveInd;

struct BtLiveState
{
	uint32_t	magic;
	uint32_t	version;
	uint64_t	size;			/* bytes of the whole block */
	int32_t		nind;			/* the stream's indicators */
	int32_t		nlines;			/* the strategy's lines, after them */
	int32_t		strat;			/* index in bt_strategies, -1 = none */
	int32_t		kind;			/* LiveKind */
	double		sp[BT_STRAT_MAX_PARAMS];
	int32_t		allow_short;
	int32_t		position;		/* -1, 0, 1 */
	int32_t		last_side;		/* crossings: side of the last fast != slow */
	int32_t		boll_state;		/* Bollinger: last target other than keep */
	int64_t		nbars;
	int64_t		last_ts;
	int64_t		window;			/* capacity of the bar ring */
	int64_t		col_off[NCOLS];	/* pool offset of each column's ring, -1 = not kept */
	int64_t		ema_off;		/* bytes from the start to the EMA array */
	int32_t		nema;			/* its length */
	int32_t		pad;
	int64_t		pool_off;		/* bytes from the start to the pool */
	int64_t		pool_len;		/* doubles in the pool */
	LiveInd		ind[];
};

/* A period parameter as an int64 (already checked: an integer >= 1) */
static inline int64_t
period(double v)
{
	return (v >= 1.0 && v <= 1e6) ? (int64_t) v : 1;
}

/* ------------------------------------------------------------------------
 * Rings
 * ------------------------------------------------------------------------
 */

static inline double *
pool_of(BtLiveState *st)
{
	return (double *) ((char *) st + st->pool_off);
}

/* The ring of a bar column (one the layout keeps) */
static inline double *
col_ring(BtLiveState *st, int c)
{
	return pool_of(st) + st->col_off[c];
}

/* The value `back` bars before the newest of a ring of capacity cap */
static inline double
ring_get(const double *ring, int64_t cap, int64_t nbars, int64_t back)
{
	return ring[(nbars - 1 - back) % cap];
}

/* Store the newest value of a ring (nbars counts it) */
static inline void
ring_put(double *ring, int64_t cap, int64_t nbars, double v)
{
	ring[(nbars - 1) % cap] = v;
}

extern void live_ind_step(BtLiveState *st, LiveInd *li);
extern int8_t live_strategy_step(BtLiveState *st, const BtLiveBar *bar);

#endif							/* LIVE_INTERNAL_H */
