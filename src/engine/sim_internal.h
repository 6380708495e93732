/*-------------------------------------------------------------------------
 *
 * sim_internal.h
 *	  Declarations shared between the single-asset simulator's files only:
 *	  its state, and the position's entries and exits (sim_position.c) that
 *	  its bar loop (simulator.c) calls.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/sim_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "bt_internal.h"

/* The state of one run of the simulator (simulate, simulator.c) */
typedef struct SimState
{
	const BtSeries *s;
	const BtSimParams *p;
	const BtAlloc *a;
	double		cash;
	double		pos;			/* signed quantity: the sum of the legs' */
	/*
	 * The open position's entry legs, oldest first: one trade each (README,
	 * "Pyramiding and partial exits"), with its entry costs so far
	 */
	BtTrade		legs[BT_MAX_PYRAMIDING];
	double		leg_fee[BT_MAX_PYRAMIDING];
	int			nlegs;
	double		level;			/* units of size targeted now (0 when flat) */
	const double *exposure;		/* the signal strategy's values, else NULL */
	double		best;			/* best price since entry (bars before now) */
	const double *atr;			/* ATR line for sizing "risk" with risk_atr, else NULL */
	BtEntryOrder order;			/* a limit or stop entry waiting (order.side != 0) */
	bool		intrabar;		/* the position was entered by such an order */
	double		commissions;	/* all costs paid */
	int64_t		unfilled;		/* entries not filled: not one lot affordable */
	double		unfilled_price; /* ... the first one's fill price */
	double		unfilled_cash;	/* ... the cash it had */
	double		unfilled_cost;	/* ... the cost of its smallest order */
	BtTrade    *trades;
	int64_t		ntrades;
	int64_t		cap;
} SimState;

/* Append a trade to the result list, growing it geometrically */
static inline void
sim_push_trade(SimState *st, const BtTrade *t)
{
	if (st->ntrades == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 64;
		st->trades = st->a->realloc_fn(st->a->ctx, st->trades, (size_t) st->cap * sizeof(BtTrade));
	}
	st->trades[st->ntrades++] = *t;
}

/*
 * Sell (or cover) dq (> 0, at most |pos|) of the open position at raw price
 * px on bar i, in one order (all: every leg)
 */
extern void sim_reduce_position(SimState *st, int64_t i, double px, double dq, bool all,
								BtExitReason reason);

/* Close the whole open position at raw price px on bar i (inline: on every exit) */
static inline void
sim_close_position(SimState *st, int64_t i, double px, BtExitReason reason)
{
	sim_reduce_position(st, i, px, fabs(st->pos), true, reason);
}

/*
 * Buy (side 1) or sell short (-1) `units` units of size at raw price px on
 * bar i, decided on bar dbar, as a new entry leg; whether it filled
 */
extern bool sim_open_units(SimState *st, int64_t i, int64_t dbar, double px, int side,
						   double units);

/* Move to direction dir (-1, 0, 1) at raw price px on bar i, decided on bar dbar */
extern void sim_execute(SimState *st, int64_t i, int64_t dbar, double px, int dir);

#endif							/* SIM_INTERNAL_H */
