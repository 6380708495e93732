/*-------------------------------------------------------------------------
 *
 * bt_portfolio.h
 *	  Portfolio backtests: one cash account over many symbols (portfolio.c).
 *
 * Each symbol runs its own instance of a single-symbol strategy on its own
 * bars (bt_strategy_compute), or the cross-sectional `rotation` strategy
 * picks the strongest symbols at each rebalance; one account fills the
 * orders of every symbol on the union of their timestamps.  The semantics
 * are the README's "Portfolio backtests"; in short:
 *	- the timeline is the union of the symbols' timestamps; a symbol without
 *	  a bar at a timestamp neither decides nor fills there, its position is
 *	  marked at its last close; equity = cash + sum(qty * last close);
 *	- a decision on a symbol's bar fills at that symbol's next bar's open
 *	  (fill "open") or at the bar's close (fill "close");
 *	- orders at one timestamp: exits, rebalance reductions, entries (ranked:
 *	  rate of change over rank_period bars at the decision bar, highest
 *	  first, or by symbol name), rebalance increases; an entry gets
 *	  equity / max_positions ("equal") or position_size * equity ("fixed"),
 *	  at most the free cash (cash - 2 * short notional at the marks), in
 *	  whole lots, else it is skipped and counted;
 *	- costs, slippage, lot sizes, stops (stop_loss, take_profit,
 *	  trailing_stop), limit and stop entries, pyramiding and the signal
 *	  strategy's exposures are each symbol's own simulator parameters, under
 *	  the single-symbol rules (legs.c, orders.c, sizing.c, bt_sim_stop_hit);
 *	  stops are checked over each symbol's bar after the orders at its open
 *	  and the limit/stop fills (fill "open"), or after those fills and
 *	  before the orders at its close (fill "close", positions entered on an
 *	  earlier bar); a waiting limit/stop entry reserves nothing, and fills
 *	  on one timestamp are taken in the entry ranking;
 *	- leverage and maintenance_margin are the account's (BtPfParams.account,
 *	  every symbol's the same): a unit is allocation x leverage x equity
 *	  within leverage x equity - the gross value held; at a close with
 *	  equity < maintenance x gross value every position is closed at its
 *	  symbol's next open (margin_call) and every waiting order cancelled.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/bt_portfolio.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BT_PORTFOLIO_H
#define BT_PORTFOLIO_H

#include "bt_engine.h"

typedef enum BtPfAllocation
{
	BT_PF_ALLOC_EQUAL = 0,		/* equity / max_positions per entry */
	BT_PF_ALLOC_FIXED = 1		/* position_size * equity per entry */
} BtPfAllocation;

typedef enum BtPfRankBy
{
	BT_PF_RANK_ROC = 0,			/* rate of change over rank_period bars, highest first */
	BT_PF_RANK_SYMBOL = 1		/* symbol name (strcmp order) */
} BtPfRankBy;

typedef enum BtPfRebalance
{
	BT_PF_REBAL_NONE = 0,
	BT_PF_REBAL_DAILY,
	BT_PF_REBAL_WEEKLY,			/* weeks start on Monday (UTC) */
	BT_PF_REBAL_MONTHLY
} BtPfRebalance;

/* One traded symbol: its validated bars and configuration */
typedef struct BtPfSymbol
{
	const char *name;
	BtSeries	s;
	/*
	 * cfg.strategy (ignored for rotation) and cfg.sp run on s; cfg.sim gives
	 * this symbol's costs, slippage, lot_size and fractional.  The account's
	 * parameters come from BtPfParams.account.
	 */
	BtConfig	cfg;
} BtPfSymbol;

typedef struct BtPfParams
{
	/*
	 * initial_capital, fill, allow_short, periods_per_year, risk_free_rate,
	 * leverage, maintenance_margin
	 */
	BtSimParams account;
	BtPfAllocation allocation;
	double		position_size;	/* (0, 1], for BT_PF_ALLOC_FIXED */
	int			max_positions;	/* >= 1 */
	BtPfRankBy	rank_by;
	int			rank_period;	/* >= 1 */
	BtPfRebalance rebalance;
	/* the rotation strategy */
	bool		rotation;
	int			top;			/* 1..number of symbols */
	int			period;			/* ROC period of the ranking, >= 1 */
	double		min_momentum;	/* ROC in percent a symbol must exceed; -100 = any */
} BtPfParams;

/* The rotation strategy's parameters (not in bt_strategies: portfolio only) */
extern const BtStrategyDef bt_strategy_rotation;

/* A trade of one symbol; t's bars are the symbol's own bar numbers */
typedef struct BtPfTrade
{
	int			sym;			/* index into the symbols given */
	BtTrade		t;
	int64_t		entry_tl;		/* timeline indices of entry and exit */
	int64_t		exit_tl;
} BtPfTrade;

typedef struct BtPfResult
{
	int64_t		n;				/* timeline length */
	int64_t    *ts;				/* n: the union of the symbols' timestamps */
	double	   *cash;			/* n, at each timestamp's close */
	double	   *value;			/* n: sum(qty * last close) */
	double	   *equity;			/* n: cash + value */
	int32_t    *open_positions; /* n */
	BtPfTrade  *trades;			/* by symbol (input order), each in exit order, open ones last */
	int64_t		ntrades;
	BtMetrics	metrics;		/* bt_compute_metrics on the account's equity */
	/* portfolio columns */
	int32_t		n_symbols;
	int32_t		max_positions_held;
	double		avg_positions_held;
	double		turnover;		/* notional traded / mean equity */
	int64_t		entries_skipped;	/* entries not filled: max_positions held or no cash */
	/* with a benchmark (else NaN) */
	double		alpha;			/* annualised, percent */
	double		beta;
	double		benchmark_return_pct;
} BtPfResult;

/* Check the portfolio parameters for nsym traded symbols; fills err */
extern bool bt_portfolio_check(const BtPfParams *p, int nsym, BtError *err);

/*
 * Run a portfolio backtest over syms[0..nsym-1] (each series validated,
 * each configuration checked), with an optional
 * benchmark series (NULL = none; not traded).  Results are independent of
 * the order of syms except for the order of out->trades.
 */
extern BtErrCode bt_portfolio_run(const BtPfSymbol *syms, int nsym, const BtSeries *benchmark,
								  const BtPfParams *p, const BtAlloc *a,
								  BtProgressFn progress, void *progress_arg,
								  BtPfResult *out, BtError *err);

#endif							/* BT_PORTFOLIO_H */
