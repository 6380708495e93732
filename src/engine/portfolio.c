/*-------------------------------------------------------------------------
 *
 * portfolio.c
 *	  The portfolio simulator: one cash account over many symbols, each
 *	  running its own strategy instance (or the cross-sectional rotation),
 *	  on the union of their timestamps.  Semantics: bt_portfolio.h and the
 *	  README, "Portfolio backtests".
 *
 * At each timestamp T of the timeline (symbols with a bar at T are "in"):
 *	(first, a margin call of the last close liquidates at the opens at T)
 *	fill "open":  1. each in-symbol's mark becomes its open at T;
 *				  2. at a rebalance (first timestamp of a period) rotation
 *					 picks its symbols from the closes before T;
 *				  3. orders at the opens: exits, reductions, entries,
 *					 increases (see pf_execute_orders, portfolio_step.c);
 *					 then over the bar limit/stop fills and stops;
 *				  4. each in-symbol's mark becomes its close; its strategy
 *					 decides on bar T, to fill at its next bar's open.
 *	fill "close": limit/stop fills and stops over bar T, then marks become
 *				  the closes at T; decisions (and rotation's pick) use bar T
 *				  and fill at T's close, in the same order.
 * Then the borrow fees, the margin check (pf_margin_check), and cash,
 * positions value and equity at T are recorded.
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

#include "pf_internal.h"

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
 * The rules of the symbols' own simulator parameters that a portfolio adds:
 * leverage and maintenance_margin are the account's (one value), a
 * rebalance needs sizing "fraction"; fills err
 */
static bool
check_symbols(const BtPfSymbol *syms, int nsym, const BtPfParams *p, BtError *err)
{
	for (int i = 0; i < nsym; i++)
	{
		const BtSimParams *sim = &syms[i].cfg.sim;

		if (sim->leverage != p->account.leverage ||
			sim->maintenance_margin != p->account.maintenance_margin)
		{
			bt_set_error(err, BT_ERR_PARAM, "leverage and maintenance_margin are the account's in a portfolio (symbol \"%s\")",
						 syms[i].name);
			snprintf(err->hint, sizeof(err->hint), "Give them one value, not a map by symbol.");
			return false;
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
		st.any_orders |= y->sim->entry != BT_ENTRY_MARKET;
		y->exposure = !p->rotation && syms[i].cfg.strategy && syms[i].cfg.strategy->needs_signal ?
			syms[i].s.signal : NULL;
		/* one leg is all a position can have without pyramiding or exposures */
		y->maxlegs = y->sim->pyramiding > 1 || y->exposure ? BT_MAX_PYRAMIDING : 1;
		y->legs = a->realloc_fn(a->ctx, NULL, sizeof(BtTrade) * y->maxlegs);
		y->leg_fee = a->realloc_fn(a->ctx, NULL, sizeof(double) * y->maxlegs);
		y->leg_tl = a->realloc_fn(a->ctx, NULL, sizeof(int64_t) * y->maxlegs);
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
			(t == 0 || pf_period_of(ts[t], p->rebalance) != pf_period_of(ts[t - 1], p->rebalance));
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

		/* a margin call of the last close: liquidations at these opens */
		pf_liquidate(&st);
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
				pf_rotate(&st, rot_roc, false);
			pf_execute_orders(&st, true, rebal);
			/* over the bar: limit and stop entries, then stops */
			pf_fill_orders(&st);
			pf_check_stops(&st, true);
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
			/*
			 * over the bar, before the closes: limit and stop entries, stops
			 * of positions entered before it
			 */
			pf_fill_orders(&st);
			pf_check_stops(&st, false);
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
				pf_rotate(&st, rot_roc, true);
			pf_execute_orders(&st, false, rebal);
		}

		/* record T, then move the in-symbols past their bar */
		for (int r = 0; r < nsym; r++)
		{
			PfSym	   *y = &st.sy[st.byname[r]];

			if (y->here)
			{
				y->last_close = y->mark = y->in->s.close[y->j];
				/* the borrow fee of a short held at this bar's close, by leg */
				if (y->qty < 0 && y->sim->borrow_rate > 0)
					for (int k = 0; k < y->nlegs; k++)
					{
						double		fee = bt_sim_borrow_fee(y->sim, y->legs[k].quantity,
															y->last_close, y->bars_per_year);

						st.cash -= fee;
						st.costs += fee;
						y->leg_fee[k] += fee;
					}
				y->j++;
			}
			if (y->qty != 0)
				value += y->qty * y->last_close;
			bhsum += y->j > 0 ? y->last_close / y->in->s.close[0] : 1.0;
		}
		/* equity below the maintenance margin: liquidate at the next opens */
		if (t + 1 < n)
			pf_margin_check(&st);
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
		int64_t		last = y->in->s.n - 1;

		for (int k = 0; k < y->nlegs; k++)
		{
			BtTrade		t = bt_leg_open_trade(&y->legs[k], y->leg_fee[k], last,
											  y->in->s.ts[last], y->in->s.close[last]);

			pf_push_trade(&st, i, &t, y->leg_tl[k], n - 1);
		}
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
