/*-------------------------------------------------------------------------
 *
 * portfolio.c
 *	  The portfolio simulator: one cash account over many symbols, each
 *	  running its own strategy instance (or the cross-sectional rotation),
 *	  on the union of their timestamps.  Semantics: bt_portfolio.h and the
 *	  README, "Portfolio backtests".
 *
 * At each timestamp T of the timeline (symbols with a bar at T are "in"):
 *	fill "open":  1. each in-symbol's mark becomes its open at T;
 *				  2. at a rebalance (first timestamp of a period) rotation
 *					 picks its symbols from the closes before T;
 *				  3. orders at the opens: exits, reductions, entries,
 *					 increases (see execute_orders);
 *				  4. each in-symbol's mark becomes its close; its strategy
 *					 decides on bar T, to fill at its next bar's open.
 *	fill "close": marks become the closes at T; decisions (and rotation's
 *				  pick) use bar T and fill at T's close, in the same order.
 * Then cash, positions value and equity at T are recorded.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/portfolio.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_internal.h"
#include "bt_portfolio.h"

const BtStrategyDef bt_strategy_rotation = {
	"rotation", 3,
	{
		{"top", BT_PARAM_INT, 3, 1, 1e6, false, {NULL}, "number of symbols held"},
		{"period", BT_PARAM_INT, 20, 1, 1e6, false, {NULL}, "bars of the rate of change ranked"},
		{"min_momentum", BT_PARAM_NUM, -100, -100, 1e6, false, {NULL},
		"rate of change (percent) a symbol must exceed to be held (-100: any)"},
	},
	false, false,
	"Portfolio only: hold the top N symbols by rate of change at each rebalance, equal weight",
	NULL, NULL
};

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
	double		qty;			/* signed */
	BtTrade		cur;
	double		entry_fee;		/* entry costs of the open quantity */
	double		best;			/* best price since entry (bars before now): trailing stop */
	bool		stops;			/* has stop_loss, take_profit or trailing_stop */
	int64_t		entry_tl;
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
} PfState;

static int
sgn(double x)
{
	return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* Equity at the current marks */
static double
equity_now(const PfState *st)
{
	double		e = st->cash;

	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty != 0)
			e += y->qty * y->mark;
	}
	return e;
}

/* Cash free for entries: cash less proceeds and notional of shorts, at the marks */
static double
free_cash(const PfState *st)
{
	double		c = st->cash;

	for (int r = 0; r < st->nsym; r++)
	{
		const PfSym *y = &st->sy[st->byname[r]];

		if (y->qty < 0)
			c += 2.0 * y->qty * y->mark;
	}
	return c;
}

static void
push_trade(PfState *st, int sym, const BtTrade *t, int64_t exit_tl)
{
	BtPfTrade  *r;

	if (st->ntrades == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 64;
		st->trades = st->a->realloc_fn(st->a->ctx, st->trades, (size_t) st->cap * sizeof(BtPfTrade));
	}
	r = &st->trades[st->ntrades++];
	r->sym = sym;
	r->t = *t;
	r->entry_tl = st->sy[sym].entry_tl;
	r->exit_tl = exit_tl;
}

/* Close dq (> 0, at most |qty|) of symbol i's position at raw price px */
static void
close_part(PfState *st, int i, double dq, double px, BtExitReason reason)
{
	PfSym	   *y = &st->sy[i];
	int			side = sgn(y->qty);
	double		q = fabs(y->qty);
	double		fill = bt_sim_slipped(y->sim, px, -side);
	double		notional = dq * fill;
	double		fee = bt_sim_order_cost(y->sim, dq, fill, -side);
	double		efee = dq >= q ? y->entry_fee : y->entry_fee * (dq / q);
	BtTrade		t = y->cur;

	st->cash += side * notional - fee;
	st->costs += fee;
	st->traded += notional;
	t.quantity = dq;
	t.exit_bar = y->j;
	t.exit_ts = y->in->s.ts[y->j];
	t.exit_price = fill;
	t.commission = efee + fee;
	t.pnl = side * (fill - t.entry_price) * dq - efee - fee;
	t.return_pct = t.pnl / (t.entry_price * dq) * 100.0;
	t.exit_reason = reason;
	t.is_open = false;
	push_trade(st, i, &t, st->tl);
	y->entry_fee -= efee;
	if (dq >= q)
	{
		y->qty = 0;
		y->entry_fee = 0;
		st->held--;
	}
	else
	{
		y->qty -= side * dq;
		y->cur.quantity = q - dq;
	}
}

/* Buy (side 1) or sell short (-1) dq more of symbol i at the slipped price fill */
static void
open_add(PfState *st, int i, double dq, double fill, int side)
{
	PfSym	   *y = &st->sy[i];
	double		fee = bt_sim_order_cost(y->sim, dq, fill, side);

	st->cash -= side * dq * fill + fee;
	st->costs += fee;
	st->traded += dq * fill;
	if (y->qty == 0)
	{
		memset(&y->cur, 0, sizeof(y->cur));
		y->cur.side = side;
		y->cur.entry_bar = y->j;
		y->cur.entry_ts = y->in->s.ts[y->j];
		y->cur.entry_price = fill;
		y->cur.quantity = dq;
		y->entry_fee = fee;
		y->entry_tl = st->tl;
		y->best = fill;
		y->qty = side * dq;
		st->held++;
	}
	else
	{
		double		q = fabs(y->qty);

		/* one trade per position: the entry price becomes the mean */
		y->cur.entry_price = (y->cur.entry_price * q + fill * dq) / (q + dq);
		y->cur.quantity = q + dq;
		y->entry_fee += fee;
		y->qty += side * dq;
	}
}

/* The target weight of one position */
static double
weight(const PfState *st)
{
	return st->p->allocation == BT_PF_ALLOC_EQUAL ? 1.0 / st->p->max_positions :
		st->p->position_size;
}

/* Entry order: rank value descending (NaN last), then name */
static bool
before(const PfSym *a, const PfSym *b, BtPfRankBy by)
{
	if (by == BT_PF_RANK_ROC)
	{
		bool		an = isnan(a->rank),
					bn = isnan(b->rank);

		if (an != bn)
			return bn;
		if (!an && a->rank != b->rank)
			return a->rank > b->rank;
	}
	return a->order < b->order;
}

/*
 * The orders of one fill phase at raw prices px(i) (open or close of each
 * in-symbol's bar j): in-symbols with desired != BT_KEEP move there; at a
 * rebalance (resize) held positions are resized to their weight.
 */
static void
execute_orders(PfState *st, bool at_open, bool resize)
{
	const BtPfParams *p = st->p;
	int			ncand = 0;

#define PX(y) (at_open ? (y)->in->s.open[(y)->j] : (y)->in->s.close[(y)->j])

	/* 1. exits (and the first leg of reversals) */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];

		if (!y->here || y->desired == BT_KEEP || y->qty == 0)
			continue;
		if (y->desired != sgn(y->qty))
			close_part(st, i, fabs(y->qty), PX(y), BT_EXIT_SIGNAL);
	}
	/* 2. rebalance reductions */
	if (resize)
		for (int r = 0; r < st->nsym; r++)
		{
			int			i = st->byname[r];
			PfSym	   *y = &st->sy[i];
			double		want;

			if (!y->here || y->qty == 0)
				continue;
			want = weight(st) * equity_now(st) / PX(y);
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			if ((fabs(y->qty) - want) * PX(y) > BT_PF_RESIZE_TOL * equity_now(st))
				close_part(st, i, fabs(y->qty) - want, PX(y), BT_EXIT_SIGNAL);
		}
	/* 3. entries, ranked */
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		int			k;

		if (!y->here || y->qty != 0 || y->desired == BT_KEEP || y->desired == 0)
			continue;
		/* insertion into the ranked candidates */
		for (k = ncand; k > 0 && before(y, &st->sy[st->cand[k - 1]], p->rank_by); k--)
			st->cand[k] = st->cand[k - 1];
		st->cand[k] = i;
		ncand++;
	}
	for (int c = 0; c < ncand; c++)
	{
		int			i = st->cand[c];
		PfSym	   *y = &st->sy[i];
		int			side = y->desired;
		double		fill = bt_sim_slipped(y->sim, PX(y), side);
		BtEntrySize e;
		double		q,
					wanted,
					had;

		if (st->held >= p->max_positions)
		{
			st->skipped++;
			continue;
		}
		/* the symbol's sizing mode; "fraction" commits the allocation */
		e.px = fill;
		e.side = side;
		e.equity = equity_now(st);
		e.power = free_cash(st);
		e.budget = weight(st) * e.equity;
		if (e.budget > e.power)
			e.budget = e.power;
		e.atr = y->atr ? y->atr[y->dbar] : NAN;
		q = bt_entry_quantity(y->sim, &e, &wanted, &had);
		if (q <= 0)
		{
			st->skipped++;
			if (!isnan(wanted) && st->unfilled++ == 0)
			{
				st->unfilled_price = fill;
				st->unfilled_cash = had;
				st->unfilled_cost = wanted;
			}
			continue;
		}
		open_add(st, i, q, fill, side);
	}
	/* 4. rebalance increases, within the free cash */
	if (resize)
		for (int r = 0; r < st->nsym; r++)
		{
			int			i = st->byname[r];
			PfSym	   *y = &st->sy[i];
			int			side = sgn(y->qty);
			double		want,
						fill,
						dq,
						fit;

			if (!y->here || y->qty == 0 || y->cur.entry_bar == y->j)
				continue;		/* entered just now: sized already */
			fill = bt_sim_slipped(y->sim, PX(y), side);
			want = weight(st) * equity_now(st) / fill;
			if (!y->sim->fractional)
				want = floor(want / y->sim->lot_size) * y->sim->lot_size;
			dq = want - fabs(y->qty);
			if (dq <= 0)
				continue;
			fit = bt_sim_size_order(y->sim, free_cash(st), fill, side);
			if (dq > fit)
				dq = fit;
			if (dq * fill > BT_PF_RESIZE_TOL * equity_now(st))
				open_add(st, i, dq, fill, side);
		}
#undef PX
}

/*
 * Stops over the current bar of every in-symbol holding a position through
 * its open (fill "open": also one entered at this open; fill "close": one
 * entered on an earlier bar), by the single-symbol simulator's rules
 * (bt_sim_stop_hit): a hit closes the whole position at the level (or the
 * open, on a gap), its cash available to what follows at this timestamp.
 */
static void
check_stops(PfState *st, bool at_open)
{
	if (!st->any_stops)
		return;
	for (int r = 0; r < st->nsym; r++)
	{
		int			i = st->byname[r];
		PfSym	   *y = &st->sy[i];
		const BtSeries *s = &y->in->s;
		BtExitReason reason;
		double		px;

		if (!y->stops || !y->here || y->qty == 0 || (!at_open && y->cur.entry_bar >= y->j))
			continue;
		if (bt_sim_stop_hit(y->sim, y->qty > 0 ? 1 : -1, y->cur.entry_price, &y->best,
							s->open[y->j], s->high[y->j], s->low[y->j], &reason, &px))
			close_part(st, i, fabs(y->qty), px, reason);
	}
}

/* Period number of a timestamp for a rebalance frequency */
static int64_t
period_of(int64_t ts, BtPfRebalance r)
{
	int64_t		day = bt_day_of(ts);

	switch (r)
	{
		case BT_PF_REBAL_DAILY:
			return day;
		case BT_PF_REBAL_WEEKLY:
			/* 1970-01-01 was a Thursday: weeks from Monday */
			return (day + 3 >= 0 ? (day + 3) / 7 : -((-(day + 3) - 1) / 7) - 1);
		case BT_PF_REBAL_MONTHLY:
			{
				/* civil from days (H. Hinnant) */
				int64_t		z = day + 719468;
				int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
				int64_t		doe = z - era * 146097;
				int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
				int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
				int64_t		mp = (5 * doy + 2) / 153;
				int64_t		m = mp < 10 ? mp + 3 : mp - 9;
				int64_t		y = yoe + era * 400 + (m <= 2);

				return y * 12 + m;
			}
		default:
			return 0;
	}
}

/*
 * Rotation's pick from each symbol's last closed bar (lb = j - 1, or j for
 * in-symbols when closes count): the top N by ROC above min_momentum get
 * +1, the others 0.  In-symbols take it now, the others at their next bar.
 */
static void
rotate(PfState *st, double **roc, bool include_here)
{
	const BtPfParams *p = st->p;
	int			n = 0;

	for (int i = 0; i < st->nsym; i++)
	{
		PfSym	   *y = &st->sy[i];
		int64_t		lb = y->j - 1 + (include_here && y->here ? 1 : 0);
		double		r = lb >= 0 ? roc[i][lb] : NAN;
		int			k;

		y->rank = y->pending_rank = r;
		if (isnan(r) || !(r > p->min_momentum))
			continue;
		for (k = n; k > 0 && before(y, &st->sy[st->cand[k - 1]], BT_PF_RANK_ROC); k--)
			st->cand[k] = st->cand[k - 1];
		st->cand[k] = i;
		n++;
	}
	for (int i = 0; i < st->nsym; i++)
		st->sy[i].pending = 0;
	for (int c = 0; c < n && c < p->top; c++)
		st->sy[st->cand[c]].pending = 1;
	for (int i = 0; i < st->nsym; i++)
	{
		st->sy[i].pending_bar = -1;
		if (st->sy[i].here)
		{
			st->sy[i].desired = st->sy[i].pending;
			st->sy[i].pending = BT_KEEP;
		}
	}
}

static int
cmp_trade_entry(const void *a, const void *b)
{
	const BtTrade *x = a,
			   *y = b;

	if (x->entry_bar != y->entry_bar)
		return x->entry_bar < y->entry_bar ? -1 : 1;
	return x->exit_bar < y->exit_bar ? -1 : x->exit_bar > y->exit_bar;
}

static int
cmp_names(const void *a, const void *b)
{
	const BtPfSymbol *const *x = a;
	const BtPfSymbol *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

bool
bt_portfolio_check(const BtPfParams *p, int nsym, BtError *err)
{
	if (p->max_positions < 1)
	{
		bt_set_error(err, BT_ERR_PARAM, "max_positions must be at least 1, not %d", p->max_positions);
		return false;
	}
	if (!(p->position_size > 0 && p->position_size <= 1))
	{
		bt_set_error(err, BT_ERR_PARAM, "position_size must be in (0, 1], not %g", p->position_size);
		return false;
	}
	if (p->rank_period < 1)
	{
		bt_set_error(err, BT_ERR_PARAM, "rank_period must be at least 1, not %d", p->rank_period);
		return false;
	}
	if (p->rotation && (p->top < 1 || p->period < 1))
	{
		bt_set_error(err, BT_ERR_PARAM, "rotation needs top and period of at least 1");
		return false;
	}
	if (p->rotation && p->rebalance == BT_PF_REBAL_NONE)
	{
		bt_set_error(err, BT_ERR_PARAM, "strategy \"rotation\" needs a rebalance period");
		snprintf(err->hint, sizeof(err->hint), "Set \"rebalance\" to \"daily\", \"weekly\" or \"monthly\".");
		return false;
	}
	(void) nsym;
	return true;
}

/*
 * The rules of the symbols' own simulator parameters that a portfolio adds
 * (each symbol's sizing, leverage and margin); fills err
 */
static bool
check_symbols(const BtPfSymbol *syms, int nsym, const BtPfParams *p, BtError *err)
{
	for (int i = 0; i < nsym; i++)
	{
		const BtSimParams *sim = &syms[i].cfg.sim;

		if (sim->leverage != 1 || sim->maintenance_margin > 0)
		{
			bt_set_error(err, BT_ERR_PARAM, "leverage and maintenance_margin are not supported in portfolio backtests");
			snprintf(err->hint, sizeof(err->hint), "A portfolio is a cash account: entries fit in its free cash.");
			return false;
		}
		if (sim->entry != BT_ENTRY_MARKET)
		{
			bt_set_error(err, BT_ERR_PARAM, "limit and stop entries are not supported in portfolio backtests");
			return false;
		}
		if (sim->pyramiding != 1)
		{
			bt_set_error(err, BT_ERR_PARAM, "pyramiding is not supported in portfolio backtests");
			return false;
		}
		if (syms[i].cfg.strategy && syms[i].cfg.strategy->needs_signal && syms[i].s.signal)
			for (int64_t k = 0; k < syms[i].s.n; k++)
			{
				double		v = syms[i].s.signal[k];

				if (!isnan(v) && v != 1 && v != 0 && v != -1)
				{
					bt_set_error(err, BT_ERR_PARAM, "a signal between -1 and 1 (symbol \"%s\": %g) is not supported in portfolio backtests",
								 syms[i].name, v);
					snprintf(err->hint, sizeof(err->hint), "A portfolio's signal is -1, 0, 1 or NULL.");
					return false;
				}
			}
		if (sim->sizing != BT_SIZING_FRACTION && p->rebalance != BT_PF_REBAL_NONE)
		{
			bt_set_error(err, BT_ERR_PARAM, "a rebalance needs sizing \"fraction\" (symbol \"%s\")",
						 syms[i].name);
			snprintf(err->hint, sizeof(err->hint),
					 "A rebalance resizes each position to its allocation; with \"rebalance\": \"none\" every sizing mode works.");
			return false;
		}
	}
	return true;
}

/* Alpha, beta and the benchmark's return from day-end equity and closes */
static void
benchmark_stats(const BtSeries *b, const int64_t *ts, const double *eq, int64_t n,
				double ret_ann_pct, double ppy, double rf, BtPfResult *out)
{
	int64_t		jb = -1;
	double		pe = NAN,
				pb = NAN,
				first_b = NAN,
				last_b = NAN;
	double		se = 0,
				sb = 0,
				sbb = 0,
				seb = 0;
	int64_t		m = 0,
				days = 0;

	out->alpha = out->beta = out->benchmark_return_pct = NAN;
	if (b == NULL || b->n == 0 || n == 0)
		return;
	for (int64_t i = 0; i < n; i++)
	{
		double		bc;

		/* day ends only: the last timestamp of each UTC day */
		if (i + 1 < n && bt_day_of(ts[i + 1]) == bt_day_of(ts[i]))
			continue;
		while (jb + 1 < b->n && b->ts[jb + 1] <= ts[i])
			jb++;
		if (jb < 0)
			continue;
		bc = b->close[jb];
		if (isnan(first_b))
			first_b = bc;
		else
			days++;
		last_b = bc;
		if (!isnan(pe) && pe > 0 && eq[i] > 0)
		{
			double		re = log(eq[i] / pe),
						rb = log(bc / pb);

			m++;
			se += re;
			sb += rb;
			sbb += rb * rb;
			seb += re * rb;
		}
		pe = eq[i];
		pb = bc;
	}
	if (isnan(first_b))
		return;
	out->benchmark_return_pct = (last_b / first_b - 1.0) * 100.0;
	if (m > 1)
	{
		double		varb = (sbb - sb * sb / m) / (m - 1);
		double		cov = (seb - se * sb / m) / (m - 1);

		out->beta = varb > 0 ? cov / varb : NAN;
	}
	if (days > 0 && !isnan(out->beta))
	{
		double		bann = (pow(last_b / first_b, ppy / (double) days) - 1.0) * 100.0;

		out->alpha = ret_ann_pct - rf * 100.0 - out->beta * (bann - rf * 100.0);
	}
}

BtErrCode
bt_portfolio_run(const BtPfSymbol *syms, int nsym, const BtSeries *benchmark,
				 const BtPfParams *p, const BtAlloc *a,
				 BtProgressFn progress, void *progress_arg,
				 BtPfResult *out, BtError *err)
{
	PfState		st;
	int64_t		total = 0,
				n = 0,
				warm_tl = -1;
	int64_t    *ts;
	double	   *bh;
	double	  **rot_roc = NULL;
	const BtPfSymbol **byname;
	bool		at_open = p->account.fill == BT_FILL_OPEN;
	double		pos_sum = 0,
				eq_sum = 0;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	if (!bt_portfolio_check(p, nsym, err) || !check_symbols(syms, nsym, p, err))
		return BT_ERR_PARAM;
	st.p = p;
	st.a = a;
	st.nsym = nsym;
	st.cash = p->account.initial_capital;
	st.sy = a->realloc_fn(a->ctx, NULL, sizeof(PfSym) * (nsym > 0 ? nsym : 1));
	st.cand = a->realloc_fn(a->ctx, NULL, sizeof(int) * (nsym > 0 ? nsym : 1));
	memset(st.sy, 0, sizeof(PfSym) * (nsym > 0 ? nsym : 1));
	if (p->rotation)
		rot_roc = a->realloc_fn(a->ctx, NULL, sizeof(double *) * (nsym > 0 ? nsym : 1));

	/* names in strcmp order: ties and rank_by "symbol" never depend on input order */
	byname = a->realloc_fn(a->ctx, NULL, sizeof(*byname) * (nsym > 0 ? nsym : 1));
	for (int i = 0; i < nsym; i++)
		byname[i] = &syms[i];
	qsort(byname, nsym, sizeof(*byname), cmp_names);
	st.byname = a->realloc_fn(a->ctx, NULL, sizeof(int) * (nsym > 0 ? nsym : 1));
	for (int r = 0; r < nsym; r++)
	{
		st.byname[r] = (int) (byname[r] - syms);
		st.sy[byname[r] - syms].order = r;
	}

	/* each symbol's targets from its own bars */
	for (int i = 0; i < nsym; i++)
	{
		PfSym	   *y = &st.sy[i];
		int64_t		ns = syms[i].s.n;
		size_t		bytes = (size_t) (ns > 0 ? ns : 1);

		if (progress && progress(progress_arg, BT_STEP_INDICATORS, i, nsym))
		{
			bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
			return BT_ERR_CANCELLED;
		}
		y->in = &syms[i];
		y->sim = &syms[i].cfg.sim;
		y->stops = y->sim->stop_loss > 0 || y->sim->take_profit > 0 || y->sim->trailing_stop > 0;
		st.any_stops |= y->stops;
		y->pending = BT_KEEP;
		y->pending_bar = -1;
		y->pending_rank = NAN;
		y->mark = y->last_close = NAN;
		/* entries ranked by ROC (rotation ranks by its own) */
		if (!p->rotation && p->rank_by == BT_PF_RANK_ROC)
		{
			y->rank_roc = a->realloc_fn(a->ctx, NULL, bytes * sizeof(double));
			bt_roc(syms[i].s.close, ns, p->rank_period, y->rank_roc);
		}
		if (y->sim->sizing == BT_SIZING_RISK && y->sim->risk_atr > 0)
		{
			double	   *tr = a->realloc_fn(a->ctx, NULL, bytes * sizeof(double));

			y->atr = a->realloc_fn(a->ctx, NULL, bytes * sizeof(double));
			bt_atr(syms[i].s.high, syms[i].s.low, syms[i].s.close, ns,
				   y->sim->risk_atr_period, tr, y->atr);
		}
		if (y->sim->borrow_rate > 0)
			y->bars_per_year = bt_infer_bars_per_year(syms[i].s.ts, ns);
		if (p->rotation)
		{
			rot_roc[i] = a->realloc_fn(a->ctx, NULL, bytes * sizeof(double));
			bt_roc(syms[i].s.close, ns, p->period, rot_roc[i]);
			y->warmup = p->period;
		}
		else
		{
			y->target = a->realloc_fn(a->ctx, NULL, bytes);
			y->warmup = bt_strategy_compute(syms[i].cfg.strategy, &syms[i].s, syms[i].cfg.sp,
											y->target, a);
		}
		total += ns;
	}

	/*
	 * The timeline: every timestamp of every symbol, once, by merging the
	 * symbols' sorted timestamps (the minimum of the cursors each step: the
	 * simulation loop costs as much per timestamp anyway)
	 */
	ts = a->realloc_fn(a->ctx, NULL, sizeof(int64_t) * (total > 0 ? total : 1));
	{
		int64_t    *cur = a->realloc_fn(a->ctx, NULL, sizeof(int64_t) * (nsym > 0 ? nsym : 1));

		memset(cur, 0, sizeof(int64_t) * (nsym > 0 ? nsym : 1));
		for (;;)
		{
			int64_t		m = INT64_MAX;
			bool		any = false;

			for (int i = 0; i < nsym; i++)
				if (cur[i] < syms[i].s.n && (!any || syms[i].s.ts[cur[i]] < m))
				{
					m = syms[i].s.ts[cur[i]];
					any = true;
				}
			if (!any)
				break;
			ts[n++] = m;
			for (int i = 0; i < nsym; i++)
				if (cur[i] < syms[i].s.n && syms[i].s.ts[cur[i]] == m)
					cur[i]++;
		}
	}
	out->n = n;
	out->ts = ts;
	out->cash = a->realloc_fn(a->ctx, NULL, sizeof(double) * (n > 0 ? n : 1));
	out->value = a->realloc_fn(a->ctx, NULL, sizeof(double) * (n > 0 ? n : 1));
	out->equity = a->realloc_fn(a->ctx, NULL, sizeof(double) * (n > 0 ? n : 1));
	out->open_positions = a->realloc_fn(a->ctx, NULL, sizeof(int32_t) * (n > 0 ? n : 1));
	bh = a->realloc_fn(a->ctx, NULL, sizeof(double) * (n > 0 ? n : 1));

	for (int64_t t = 0; t < n; t++)
	{
		bool		rebal = p->rebalance != BT_PF_REBAL_NONE &&
			(t == 0 || period_of(ts[t], p->rebalance) != period_of(ts[t - 1], p->rebalance));
		double		value = 0,
					bhsum = 0;

		if ((t & 0xFFFF) == 0 && progress &&
			progress(progress_arg, BT_STEP_SIMULATE, t, n))
		{
			bt_set_error(err, BT_ERR_CANCELLED, "backtest cancelled");
			return BT_ERR_CANCELLED;
		}
		st.tl = t;
		for (int i = 0; i < nsym; i++)
		{
			PfSym	   *y = &st.sy[i];

			y->here = y->j < y->in->s.n && y->in->s.ts[y->j] == ts[t];
			y->desired = BT_KEEP;
			if (y->here && warm_tl < 0 && y->j >= y->warmup)
				warm_tl = t;
		}

		if (at_open)
		{
			/* the opens at T: last decisions, then rotation's pick */
			for (int i = 0; i < nsym; i++)
			{
				PfSym	   *y = &st.sy[i];

				if (!y->here)
					continue;
				y->mark = y->in->s.open[y->j];
				y->desired = y->pending;
				y->pending = BT_KEEP;
				y->rank = y->pending_bar < 0 ? y->pending_rank :
					y->rank_roc ? y->rank_roc[y->pending_bar] : NAN;
				y->dbar = y->pending_bar >= 0 ? y->pending_bar : y->j - 1;
			}
			if (p->rotation && rebal && t > 0)
				rotate(&st, rot_roc, false);
			execute_orders(&st, true, rebal);
			/* over the bar: stops */
			check_stops(&st, true);
			/* the closes at T: decisions for the next opens */
			for (int i = 0; i < nsym; i++)
			{
				PfSym	   *y = &st.sy[i];
				int			d;

				if (!y->here)
					continue;
				y->mark = y->in->s.close[y->j];
				if (p->rotation || y->j < y->warmup || y->j + 1 >= y->in->s.n)
					continue;
				d = y->target[y->j];
				if (d == BT_KEEP)
					continue;
				y->pending = (d < 0 && !p->account.allow_short) ? 0 : d;
				y->pending_bar = y->j;
			}
		}
		else
		{
			/* over the bar, before the closes: stops of positions entered before it */
			check_stops(&st, false);
			for (int i = 0; i < nsym; i++)
			{
				PfSym	   *y = &st.sy[i];
				int			d;

				if (!y->here)
					continue;
				y->mark = y->in->s.close[y->j];
				/* a rotation pick made between this symbol's bars */
				y->desired = y->pending;
				y->pending = BT_KEEP;
				y->rank = p->rotation ? y->pending_rank :
					y->rank_roc ? y->rank_roc[y->j] : NAN;
				y->dbar = y->j;
				if (p->rotation || y->j < y->warmup)
					continue;
				d = y->target[y->j];
				if (d != BT_KEEP)
					y->desired = (d < 0 && !p->account.allow_short) ? 0 : d;
			}
			if (p->rotation && rebal)
				rotate(&st, rot_roc, true);
			execute_orders(&st, false, rebal);
		}

		/* record T, then move the in-symbols past their bar */
		for (int r = 0; r < nsym; r++)
		{
			PfSym	   *y = &st.sy[st.byname[r]];

			if (y->here)
			{
				y->last_close = y->mark = y->in->s.close[y->j];
				/* the borrow fee of a short held at this bar's close */
				if (y->qty < 0 && y->sim->borrow_rate > 0)
				{
					double		fee = bt_sim_borrow_fee(y->sim, -y->qty, y->last_close,
														y->bars_per_year);

					st.cash -= fee;
					st.costs += fee;
					y->entry_fee += fee;
				}
				y->j++;
			}
			if (y->qty != 0)
				value += y->qty * y->last_close;
			bhsum += y->j > 0 ? y->last_close / y->in->s.close[0] : 1.0;
		}
		out->cash[t] = st.cash;
		out->value[t] = value;
		out->equity[t] = st.cash + value;
		out->open_positions[t] = st.held;
		bh[t] = nsym > 0 ? bhsum / nsym : 1.0;
		if (st.held > out->max_positions_held)
			out->max_positions_held = st.held;
		pos_sum += st.held;
		eq_sum += out->equity[t];
	}

	/* positions open at the end: marked at the last close, reported open */
	for (int i = 0; i < nsym; i++)
	{
		PfSym	   *y = &st.sy[i];
		BtTrade		t;
		double		q = fabs(y->qty);

		if (y->qty == 0)
			continue;
		t = y->cur;
		t.quantity = q;
		t.exit_bar = y->in->s.n - 1;
		t.exit_ts = y->in->s.ts[y->in->s.n - 1];
		t.exit_price = y->in->s.close[y->in->s.n - 1];
		t.commission = y->entry_fee;
		t.pnl = t.side * (t.exit_price - t.entry_price) * q - y->entry_fee;
		t.return_pct = t.pnl / (t.entry_price * q) * 100.0;
		t.exit_reason = BT_EXIT_END;
		t.is_open = true;
		push_trade(&st, i, &t, n - 1);
	}

	/* trades by symbol, each symbol's in push order: a stable counting sort */
	if (st.ntrades > 1)
	{
		int64_t    *next = a->realloc_fn(a->ctx, NULL, sizeof(int64_t) * (nsym + 1));
		BtPfTrade  *sorted = a->realloc_fn(a->ctx, NULL, sizeof(BtPfTrade) * st.ntrades);

		memset(next, 0, sizeof(int64_t) * (nsym + 1));
		for (int64_t k = 0; k < st.ntrades; k++)
			next[st.trades[k].sym + 1]++;
		for (int i = 0; i < nsym; i++)
			next[i + 1] += next[i];
		for (int64_t k = 0; k < st.ntrades; k++)
			sorted[next[st.trades[k].sym]++] = st.trades[k];
		st.trades = sorted;
	}
	out->trades = st.trades;
	out->ntrades = st.ntrades;
	for (int64_t k = 0; k < st.ntrades; k++)
		bt_trade_excursions(&syms[st.trades[k].sym].s, &p->account,
							&st.trades[k].t, 1);

	/* the account's metrics: bt_compute_metrics on the timeline */
	{
		BtSeries	ms;
		BtResult	res;

		memset(&ms, 0, sizeof(ms));
		ms.n = n;
		ms.ts = ts;
		ms.open = ms.high = ms.low = ms.close = bh;
		memset(&res, 0, sizeof(res));
		res.n = n;
		res.equity = out->equity;
		res.ntrades = st.ntrades;
		res.trades = a->realloc_fn(a->ctx, NULL, sizeof(BtTrade) * (st.ntrades > 0 ? st.ntrades : 1));
		for (int64_t k = 0; k < st.ntrades; k++)
		{
			res.trades[k] = st.trades[k].t;
			res.trades[k].entry_bar = st.trades[k].entry_tl;
			res.trades[k].exit_bar = st.trades[k].exit_tl;
		}
		qsort(res.trades, st.ntrades, sizeof(BtTrade), cmp_trade_entry);
		res.metrics.commissions = st.costs;
		res.metrics.entries_unfilled = st.unfilled;
		res.metrics.unfilled_price = st.unfilled_price;
		res.metrics.unfilled_cash = st.unfilled_cash;
		res.metrics.unfilled_cost = st.unfilled_cost;
		bt_compute_metrics(&ms, warm_tl < 0 ? n : warm_tl, &p->account, &res);
		out->metrics = res.metrics;
	}
	out->n_symbols = nsym;
	out->avg_positions_held = n > 0 ? pos_sum / n : 0;
	out->turnover = n > 0 && eq_sum > 0 ? st.traded / (eq_sum / n) : 0;
	out->entries_skipped = st.skipped;
	benchmark_stats(benchmark, ts, out->equity, n, out->metrics.return_ann_pct,
					out->metrics.periods_per_year, p->account.risk_free_rate, out);
	return BT_OK;
}
