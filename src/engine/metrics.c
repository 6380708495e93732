/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Performance metrics of a simulated run (README, "Metrics"), computed
 *	  from the per-bar equity curve and the closed trades.
 *
 * Drawdowns and trade statistics follow backtesting.py.  The annualised
 * statistics (return, volatility, Sharpe, Sortino, Calmar, Omega) use daily
 * returns, as quantstats, empyrical and pyfolio do: the equity resampled to
 * trading days (last value of each day with bars; days run from UTC
 * midnight unless the market's sessions straddle it, see
 * bt_infer_day_start), simple returns
 * between consecutive days, annualised with A = periods_per_year (given, or
 * 252/365/52/12 from calendar.c).  They stay meaningful at any bar size,
 * where backtesting.py's compounding volatility formula collapses on
 * per-bar returns of intraday data or on a large loss.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/metrics.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_engine.h"
#include "bt_internal.h"

/* Move x[root] down the max-heap x[0..end-1] to its place */
static void
sift_down(int64_t *x, int64_t root, int64_t end)
{
	for (;;)
	{
		int64_t		child = 2 * root + 1;
		int64_t		tmp;

		if (child >= end)
			return;
		if (child + 1 < end && x[child] < x[child + 1])
			child++;
		if (x[root] >= x[child])
			return;
		tmp = x[root];
		x[root] = x[child];
		x[child] = tmp;
		root = child;
	}
}

/*
 * bt_sort_i64
 *		Sort ascending in place: heap sort, no recursion, no allocation,
 *		O(n log n) worst case.
 */
void
bt_sort_i64(int64_t *x, int64_t n)
{
	for (int64_t start = n / 2 - 1; start >= 0; start--)
		sift_down(x, start, n);
	for (int64_t end = n - 1; end > 0; end--)
	{
		int64_t		tmp = x[0];

		x[0] = x[end];
		x[end] = tmp;
		sift_down(x, 0, end);
	}
}

/*
 * bt_day_iter_start, bt_day_iter_next
 *		The last bar of each trading day, [k days + day_start, (k+1) days +
 *		day_start), in order (days without bars are skipped, so a return
 *		spans a gap): from each day's first bar to the next one's by a
 *		search, not a scan (and no search when the day is as long as the
 *		last one).  n >= 1.
 */
void
bt_day_iter_start(BtDayIter *it, const int64_t *ts, int64_t day_start)
{
	it->i = 1;
	it->guess = 0;
	it->day_start = day_start;
	it->next_day = (bt_trading_day(ts[0], day_start) + 1) * BT_USECS_PER_DAY + day_start;
	it->done = false;
}

int64_t
bt_day_iter_next(BtDayIter *it, const int64_t *ts, int64_t n)
{
	int64_t		i;

	if (it->done)
		return -1;
	i = bt_first_at_or_after_hint(ts, it->i, n, it->next_day, it->guess);
	if (i >= n)
	{
		it->done = true;
		return n - 1;
	}
	/* the next day without a division when the bars are daily or finer */
	it->next_day = ts[i] < it->next_day + BT_USECS_PER_DAY ? it->next_day + BT_USECS_PER_DAY :
		(bt_trading_day(ts[i], it->day_start) + 1) * BT_USECS_PER_DAY + it->day_start;
	it->guess = i + (i - (it->i - 1));	/* this day's first bar was it->i - 1 */
	it->i = i + 1;
	return i - 1;
}

/*
 * bt_metrics_day_start
 *		The start of the trading day the daily returns use: the configured
 *		one, else inferred from the bars (calendar.c).  s->n >= 1.
 */
int64_t
bt_metrics_day_start(const BtSeries *s, const BtSimParams *sim)
{
	return sim->day_start_known ? sim->day_start : bt_infer_day_start(s->ts, s->n);
}

/*
 * bt_compute_metrics
 *		Fill res->metrics from res->equity and res->trades.  Commissions
 *		must already be set by the simulator.
 */
void
bt_compute_metrics(const BtSeries *s, int64_t warmup, const BtSimParams *sim, BtResult *res)
{
	const double *eq = res->equity;
	int64_t		n = s->n;
	BtEqStats	q;

	if (n == 0)
	{
		bt_metrics_finish(s, warmup, sim, NULL, 0, res);
		return;
	}
	/*
	 * One pass over the equity curve for the drawdowns; the daily returns
	 * from each day's last bar (see daily statistics in bt_metrics_finish)
	 */
	bt_eq_start(&q, eq[0]);
	for (int64_t i = 0; i < n; i++)
		bt_eq_bar(&q, s->ts, i, eq[i]);
	{
		BtDayIter	it;
		int64_t		end;

		bt_day_iter_start(&it, s->ts, bt_metrics_day_start(s, sim));
		while ((end = bt_day_iter_next(&it, s->ts, n)) >= 0)
			bt_day_close(&q.d, eq[end]);
	}
	bt_metrics_finish(s, warmup, sim, &q, eq[n - 1], res);
}

/*
 * bt_metrics_finish
 *		res->metrics from the equity statistics q (NULL when s->n == 0),
 *		the last bar's equity and res->trades (see bt_internal.h).
 */
void
bt_metrics_finish(const BtSeries *s, int64_t warmup, const BtSimParams *sim,
				  BtEqStats *q, double equity_final, BtResult *res)
{
	BtMetrics  *m = &res->metrics;
	int64_t		n = s->n;
	double		ppy,
				max_dd;
	int64_t		exposed = 0,
				covered_to = -1;
	double		ann;
	/* trades */
	int64_t		nclosed = 0,
				wins = 0,
				nloss = 0,
				win_run = 0,
				loss_run = 0;
	double		best = -INFINITY,
				worst = INFINITY,
				sum_ret = 0.0,
				pos_ret = 0.0,
				neg_ret = 0.0,
				sum_pl = 0.0,
				sumsq_pl = 0.0,
				sum_win_pl = 0.0,
				sum_loss_pl = 0.0,
				max_tdur = NAN,
				sum_tdur = 0.0,
				log_ret = 0.0;
	bool		trade_ruin = false;

	BtMetrics	sim_out = *m;	/* the simulator's fields */

	memset(m, 0, sizeof(*m));
	m->commissions = sim_out.commissions;
	m->entries_unfilled = sim_out.entries_unfilled;
	m->unfilled_price = sim_out.unfilled_price;
	m->unfilled_cash = sim_out.unfilled_cash;
	m->unfilled_cost = sim_out.unfilled_cost;
	m->bars = n;
	m->warmup_bars = warmup;
	if (n == 0)
	{
		m->equity_final = m->equity_peak = sim->initial_capital;
		m->return_pct = 0;
		m->buy_hold_return_pct = m->return_ann_pct = m->volatility_ann_pct = m->cagr_pct = NAN;
		m->sharpe_ratio = m->sortino_ratio = m->calmar_ratio = NAN;
		m->max_drawdown_pct = m->avg_drawdown_pct = NAN;
		m->max_drawdown_duration = m->avg_drawdown_duration = NAN;
		m->win_rate_pct = m->best_trade_pct = m->worst_trade_pct = m->avg_trade_pct = NAN;
		m->max_trade_duration = m->avg_trade_duration = m->profit_factor = NAN;
		m->expectancy_pct = m->sqn = m->kelly_criterion = m->omega_ratio = NAN;
		m->periods_per_year = sim->periods_per_year > 0 ? sim->periods_per_year : NAN;
		return;
	}

	ppy = sim->periods_per_year > 0 ? sim->periods_per_year :
		bt_infer_periods_per_year(s->ts, n);
	m->periods_per_year = ppy;
	m->start_ts = s->ts[0];
	m->end_ts = s->ts[n - 1];
	m->duration = s->ts[n - 1] - s->ts[0];
	m->equity_final = equity_final;

	/* the last stretch below the peak: deepest point, and a period if long enough */
	if (q->trough < q->peak)
	{
		double		dd = q->peak > 0 ? 1.0 - q->trough / q->peak : 0.0;

		if (dd > q->max_dd)
			q->max_dd = dd;
		if (n - 1 > q->prev_zero + 1)
		{
			double		dur = (double) (s->ts[n - 1] - s->ts[q->prev_zero]);

			q->nperiods++;
			q->sum_peak_dd += dd;
			q->sum_dur += dur;
			if (isnan(q->max_dur) || dur > q->max_dur)
				q->max_dur = dur;
		}
	}
	max_dd = q->max_dd;
	m->equity_peak = q->peak;
	m->return_pct = (equity_final - sim->initial_capital) / sim->initial_capital * 100.0;
	m->buy_hold_return_pct = warmup < n ?
		(s->close[n - 1] - s->close[warmup]) / s->close[warmup] * 100.0 : NAN;
	m->max_drawdown_pct = -max_dd * 100.0;
	m->avg_drawdown_pct = q->nperiods ? -q->sum_peak_dd / q->nperiods * 100.0 : NAN;
	m->max_drawdown_duration = q->max_dur;
	m->avg_drawdown_duration = q->nperiods ? q->sum_dur / q->nperiods : NAN;

	/*
	 * Annualised statistics from daily returns (the field's convention:
	 * quantstats, empyrical, pyfolio): the equity resampled to trading days
	 * (the last equity of each day that has bars, BtDayIter), the simple
	 * returns between consecutive days; the first day has no return, and
	 * after a day that ends at or below zero equity nothing more is counted
	 * (see README, "Metrics").  Weekly and monthly bars fall on distinct
	 * days, so their "daily" returns are the bars' own, annualised with 52
	 * or 12.
	 */
	{
		const BtDailyStats *d = &q->d;
		double		sd,
					rf = sim->risk_free_rate / ppy;

		sd = d->nret > 1 ? sqrt(d->m2 / (d->nret - 1)) : NAN;
		/*
		 * (1 + g)^A with g the geometric mean daily return: the product of
		 * (1 + r) telescopes to last / first day-end equity.  A run whose
		 * day-end equity reaches 0 or below is ruined: -100%.
		 */
		if (d->nret == 0)
			ann = NAN;
		else if (d->ruined)
			ann = -1.0;
		else
			ann = pow(d->last / d->first, ppy / (double) d->nret) - 1.0;
		m->return_ann_pct = ann * 100.0;
		m->volatility_ann_pct = sd * sqrt(ppy) * 100.0;
		m->sharpe_ratio = sd > 0 ? (d->mean - rf) / sd * sqrt(ppy) : NAN;
		m->sortino_ratio = d->down_sq > 0 ?
			(d->mean - rf) / sqrt(d->down_sq / d->nret) * sqrt(ppy) : NAN;
		m->calmar_ratio = max_dd > 0 ? ann / max_dd : NAN;
		m->omega_ratio = d->loss > 0 ? d->gain / d->loss : NAN;
	}
	{
		double		years = (double) m->duration / (365.25 * BT_USECS_PER_DAY);

		m->cagr_pct = years > 0 && equity_final > 0 ?
			(pow(equity_final / sim->initial_capital, 1.0 / years) - 1.0) * 100.0 : NAN;
	}

	/*
	 * One pass over the trade list (128 bytes a trade): the exposure, bars
	 * from each trade's entry to its exit inclusive, of every trade; the
	 * trade statistics of the closed trades only, in the order of the list
	 */
	for (int64_t k = 0; k < res->ntrades; k++)
	{
		const BtTrade *t = &res->trades[k];
		double		r = t->return_pct / 100.0;
		double		dur = (double) (t->exit_ts - t->entry_ts);
		int64_t		from = t->entry_bar > covered_to ? t->entry_bar : covered_to + 1;

		if (t->exit_bar >= from)
			exposed += t->exit_bar - from + 1;
		if (t->exit_bar > covered_to)
			covered_to = t->exit_bar;
		if (t->is_open)
		{
			m->open_trades++;
			continue;
		}
		nclosed++;
		if (t->pnl > 0)
		{
			wins++;
			sum_win_pl += t->pnl;
		}
		else if (t->pnl < 0)
		{
			nloss++;
			sum_loss_pl -= t->pnl;
		}
		/* streaks: a win ends a losing streak, a loss a winning one, 0 both */
		win_run = t->pnl > 0 ? win_run + 1 : 0;
		loss_run = t->pnl < 0 ? loss_run + 1 : 0;
		if (win_run > m->max_win_streak)
			m->max_win_streak = win_run;
		if (loss_run > m->max_loss_streak)
			m->max_loss_streak = loss_run;
		if (r > best)
			best = r;
		if (r < worst)
			worst = r;
		sum_ret += r;
		if (r > 0)
			pos_ret += r;
		else
			neg_ret -= r;
		if (1.0 + r <= 0)
			trade_ruin = true;
		else
			log_ret += log1p(r);
		sum_pl += t->pnl;
		sumsq_pl += t->pnl * t->pnl;
		sum_tdur += dur;
		if (isnan(max_tdur) || dur > max_tdur)
			max_tdur = dur;
	}
	m->exposure_pct = (double) exposed / (double) n * 100.0;
	m->trades_count = nclosed;
	if (nclosed == 0)
	{
		m->win_rate_pct = m->best_trade_pct = m->worst_trade_pct = m->avg_trade_pct = NAN;
		m->max_trade_duration = m->avg_trade_duration = m->profit_factor = NAN;
		m->expectancy_pct = m->sqn = m->kelly_criterion = NAN;
		return;
	}
	{
		double		win_rate = (double) wins / nclosed;
		double		mean_pl = sum_pl / nclosed;
		double		var_pl = nclosed > 1 ?
			(sumsq_pl - sum_pl * sum_pl / nclosed) / (nclosed - 1) : NAN;

		m->win_rate_pct = win_rate * 100.0;
		m->best_trade_pct = best * 100.0;
		m->worst_trade_pct = worst * 100.0;
		m->avg_trade_pct = (trade_ruin ? 0.0 : expm1(log_ret / nclosed)) * 100.0;
		m->max_trade_duration = max_tdur;
		m->avg_trade_duration = sum_tdur / nclosed;
		m->profit_factor = neg_ret > 0 ? pos_ret / neg_ret : NAN;
		m->expectancy_pct = sum_ret / nclosed * 100.0;
		m->sqn = (var_pl > 0) ? sqrt((double) nclosed) * mean_pl / sqrt(var_pl) : NAN;
		m->kelly_criterion = (wins > 0 && nloss > 0) ?
			win_rate - (1.0 - win_rate) / ((sum_win_pl / wins) / (sum_loss_pl / nloss)) : NAN;
	}
}
