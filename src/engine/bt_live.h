/*-------------------------------------------------------------------------
 *
 * bt_live.h
 *	  Live streams: the incremental state of a set of indicators and of a
 *	  strategy's target position, advanced one bar at a time, so that bars
 *	  arriving in a table give the values a batch computation over the same
 *	  bars gives (backtest_indicator, the entries and exits of
 *	  backtest_trades).
 *
 * The state is one flat block of memory holding no pointers (indicator and
 * strategy are named by their index in the registries, windows are rings
 * inside the block): it is serialised by copying bt_live_state_size bytes
 * and restored by copying them back (to 8-byte aligned memory) after
 * bt_live_state_valid has checked them.  Bars must arrive in strictly
 * increasing time order; a bar that replaces the last one (a forming
 * candle) is pushed onto a copy of the state as it was before that bar.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_live.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_LIVE_H
#define BT_LIVE_H

#include "bt_engine.h"

/* Indicators of one stream (its own; the strategy's lines come on top) */
#define BT_LIVE_MAX_IND		16

/* The longest window a stream may need, in bars */
#define BT_LIVE_MAX_WINDOW	100001

/* One bar; volume and signal may be NaN when not read */
typedef struct BtLiveBar
{
	int64_t		ts;				/* usecs since the Unix epoch */
	double		open;
	double		high;
	double		low;
	double		close;
	double		volume;
	double		signal;			/* `signal` strategy: -1, 0, 1, NaN = keep */
} BtLiveBar;

typedef struct BtLiveIndSpec
{
	const BtIndicatorDef *def;	/* a registry entry (bt_indicators) */
	double		params[BT_IND_MAX_PARAMS];	/* checked values, registry order */
} BtLiveIndSpec;

/* What a stream computes */
typedef struct BtLiveSpec
{
	int			nind;
	BtLiveIndSpec ind[BT_LIVE_MAX_IND];
	const BtStrategyDef *strategy;	/* NULL: no strategy */
	double		sp[BT_STRAT_MAX_PARAMS];	/* checked strategy parameters */
	bool		allow_short;	/* a target of -1 is short, else flat */
} BtLiveSpec;

/* What one bar did to the strategy */
typedef struct BtLiveStep
{
	int8_t		target;			/* the strategy's target: -1, 0, 1 or BT_KEEP */
	int			prev_position;	/* target position before the bar: -1, 0, 1 */
	int			position;		/* and after it */
} BtLiveStep;

typedef struct BtLiveState BtLiveState;

/*
 * Check a spec: counts, registry entries, the strategy's needs and the
 * longest window (BT_LIVE_MAX_WINDOW).  Fills err (BT_ERR_PARAM).
 */
extern bool bt_live_spec_check(const BtLiveSpec *spec, BtError *err);

/* Bytes the state of a (checked) spec takes */
extern size_t bt_live_state_bytes(const BtLiveSpec *spec);

/*
 * Initialise the state of a checked spec, no bars seen, in st:
 * bt_live_state_bytes(spec) bytes, 8-byte aligned.
 */
extern void bt_live_init(const BtLiveSpec *spec, BtLiveState *st);

/* Bytes of an initialised state (what to copy to serialise it) */
extern size_t bt_live_state_size(const BtLiveState *st);

/*
 * Whether len bytes at blob (8-byte aligned) are a state of this version
 * of the engine for exactly this spec, with consistent sizes and counts.
 */
extern bool bt_live_state_valid(const void *blob, size_t len, const BtLiveSpec *spec);

/* Outputs of the stream's own indicators, in spec order: their total */
extern int	bt_live_noutputs(const BtLiveSpec *spec);

extern int64_t bt_live_nbars(const BtLiveState *st);
extern int64_t bt_live_last_ts(const BtLiveState *st);	/* INT64_MIN before a bar */
extern int	bt_live_position(const BtLiveState *st);	/* -1, 0, 1 */

/*
 * Advance the state by one bar: bar->ts must be after the last bar's, the
 * bar valid (bt_validate_series rules; volume required when an indicator
 * reads it, signal when the strategy does).  out gets
 * bt_live_noutputs(spec) values (NaN = none, as in the batch functions);
 * step what the strategy did (target BT_KEEP without a strategy).  On
 * failure fills err (BT_ERR_DATA) and leaves the state unchanged.
 */
extern bool bt_live_push(BtLiveState *st, const BtLiveBar *bar, double *out,
						 BtLiveStep *step, BtError *err);

#endif							/* BT_LIVE_H */
