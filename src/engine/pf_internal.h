/*-------------------------------------------------------------------------
 *
 * pf_internal.h
 *	  Declarations shared between the portfolio simulator's files only:
 *	  its state (one account, per-symbol positions) and the steps of one
 *	  timestamp (portfolio_step.c) that bt_portfolio_run (portfolio.c)
 *	  calls in order.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/pf_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PF_INTERNAL_H
#define PF_INTERNAL_H

#include "bt_internal.h"
#include "bt_portfolio.h"

/* A rebalance leaves alone differences below this fraction of equity (rounding) */
#define BT_PF_RESIZE_TOL	1e-9

/* Per-symbol state */
typedef struct PfSym
{
	const BtPfSymbol *in;
	const BtSimParams *sim;		/* costs, lots */
	int			order;			/* rank of the name (strcmp): ties, rank_by symbol */
	int8_t	   *target;
	int64_t		warmup;
	double	   *rank_roc;		/* rate of change for ranking entries, NULL: unused */
	double	   *atr;			/* ATR of sizing "risk" with risk_atr, NULL: unused */
	double		bars_per_year;	/* of the borrow fee (borrow_rate > 0) */
	int64_t		j;				/* next bar not yet closed */
	bool		here;			/* has a bar at the current timestamp (bar j) */
	double		qty;			/* signed: the sum of the legs' */
	/*
	 * The open position's entry legs, oldest first, one trade row each
	 * (legs.c): their entry costs so far and timeline indices of entry
	 */
	BtTrade    *legs;
	double	   *leg_fee;
	int64_t    *leg_tl;
	int			nlegs;
	int			maxlegs;		/* BT_MAX_PYRAMIDING, or 1 when one leg is all there can be */
	double		level;			/* units of size targeted now (0 when flat) */
	const double *exposure;		/* the signal strategy's values, else NULL */
	BtEntryOrder waiting;		/* a limit or stop entry waiting (waiting.side != 0) */
	double		order_rank;		/* its entry's rank value */
	double		order_px;		/* the raw price it fills at on this bar */
	bool		intrabar;		/* the position was entered by such an order */
	bool		liquidate;		/* a margin call: close at this symbol's next open */
	double		best;			/* best price since entry (bars before now): trailing stop */
	bool		stops;			/* has stop_loss, take_profit or trailing_stop */
	double		mark;			/* last price known now */
	double		last_close;
	int			pending;		/* order to fill at the next bar, BT_KEEP = none */
	int64_t		pending_bar;	/* the bar it was decided on, -1: a rotation pick */
	double		pending_rank;	/* a rotation pick's rank value */
	int			desired;		/* order of this fill phase, BT_KEEP = none */
	double		rank;			/* rank value of this phase's entry */
	int64_t		dbar;			/* the bar this phase's order was decided on */
} PfSym;

typedef struct PfState
{
	const BtPfParams *p;
	const BtAlloc *a;
	PfSym	   *sy;
	int			nsym;
	double		cash;
	int			held;
	double		costs;
	double		traded;			/* notional of every fill */
	int64_t		skipped;
	int64_t		unfilled;
	double		unfilled_price,
				unfilled_cash,
				unfilled_cost;
	BtPfTrade  *trades;
	int64_t		ntrades,
				cap;
	int64_t		tl;				/* current timeline index */
	int		   *cand;			/* scratch: candidate symbols */
	int		   *byname;			/* symbol indices in name order: every loop runs in it */
	bool		any_stops;		/* some symbol has stops */
	bool		any_orders;		/* some symbol has limit or stop entries */
} PfState;

extern void pf_push_trade(PfState *st, int sym, const BtTrade *t, int64_t entry_tl,
						  int64_t exit_tl);
extern void pf_liquidate(PfState *st);
extern void pf_execute_orders(PfState *st, bool at_open, bool resize);
extern void pf_fill_orders(PfState *st);
extern void pf_check_stops(PfState *st, bool at_open);
extern void pf_margin_check(PfState *st);
extern int64_t pf_period_of(int64_t ts, BtPfRebalance r);
extern void pf_rotate(PfState *st, double **roc, bool include_here);

#endif							/* PF_INTERNAL_H */
