/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Performance metrics of a simulated run, with backtesting.py's
 *	  definitions (README, "Metrics"), computed from the per-bar equity
 *	  curve and the closed trades.
 *
 * Per-bar returns r_t = equity_t / equity_{t-1} - 1 (t >= 1) are annualised
 * with periods_per_year (given, or inferred from the bar spacing).  As in
 * backtesting.py, the geometric mean return counts the first bar as a zero
 * return, and the variance uses the sample (n-1) divisor.
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
 * bt_infer_periods_per_year
 *		Bars per year from the spacing of the timestamps:
 *		- median spacing of 28 days or more: monthly bars, 12;
 *		- 7 days or more: weekly bars, 52;
 *		- otherwise (base) * (bars per day with bars, rounded), where base is 365 when
 *		  bars fall on more than 6 distinct days per week on average (markets
 *		  that trade every day, e.g. crypto) and 252 otherwise.
 *		Daily weekday bars give 252, daily bars every day 365, hourly 24/7
 *		bars 8760.  Uses a sample of at most 4096 spacings for the median.
 */
double
bt_infer_periods_per_year(const int64_t *ts, int64_t n)
{
	int64_t		sample[4096];
	int64_t		m = 0,
				step,
				days = 0,
				next_day = INT64_MIN;
	double		median,
				span_days,
				days_per_week,
				base;

	if (n < 2)
		return 252.0;
	step = (n - 1) / 4096 + 1;
	for (int64_t i = 1; i < n && m < 4096; i += step)
		sample[m++] = ts[i] - ts[i - 1];
	bt_sort_i64(sample, m);
	median = (double) sample[m / 2];
	if (median >= 28.0 * BT_USECS_PER_DAY)
		return 12.0;
	if (median >= 7.0 * BT_USECS_PER_DAY)
		return 52.0;

	/*
	 * Distinct calendar days (UTC) that have bars.  ts is ascending, so a
	 * division is needed only when a bar crosses into a new day.
	 */
	for (int64_t i = 0; i < n; i++)
	{
		if (ts[i] >= next_day)
		{
			int64_t		d = ts[i] >= 0 ? ts[i] / BT_USECS_PER_DAY :
			-((-ts[i] - 1) / BT_USECS_PER_DAY) - 1;

			days++;
			next_day = (d + 1) * BT_USECS_PER_DAY;
		}
	}
	span_days = (double) (ts[n - 1] - ts[0]) / BT_USECS_PER_DAY + 1.0;
	days_per_week = days / (span_days / 7.0);
	base = (span_days >= 14 && days_per_week > 6.0) ? 365.0 :
		(span_days < 14 && median < BT_USECS_PER_DAY) ? 365.0 : 252.0;
	if (span_days < 14 && median >= BT_USECS_PER_DAY)
	{
		/* too short to see a week: trust the calendar of the bars we have */
		int			weekend = 0;

		for (int64_t i = 0; i < n; i++)
		{
			/* 1970-01-01 was a Thursday: day 2 mod 7 = Saturday, 3 = Sunday */
			int64_t		d = ts[i] / BT_USECS_PER_DAY;
			int			dow = (int) (((d % 7) + 7) % 7);

			weekend += (dow == 2 || dow == 3);
		}
		base = weekend > 0 ? 365.0 : 252.0;
	}
	/* bars per day with bars, as a whole number (first/last days may be partial) */
	{
		double		per_day = floor((double) n / (double) days + 0.5);

		return base * (per_day >= 1.0 ? per_day : 1.0);
	}
}

/*
 * bt_compute_metrics
 *		Fill res->metrics from res->equity, res->position and res->trades.
 *		Commissions must already be set by the simulator.
 */
void
bt_compute_metrics(const BtSeries *s, int64_t warmup, const BtSimParams *sim, BtResult *res)
{
	BtMetrics  *m = &res->metrics;
	const double *eq = res->equity;
	int64_t		n = s->n;
	double		ppy,
				peak,
				max_dd = 0.0,
				sum = 0.0,
				sumsq = 0.0,
				down_sq = 0.0,
				gain = 0.0,
				loss = 0.0;
	bool		ruined = false;
	int64_t		nr = n > 0 ? n - 1 : 0,
				exposed = 0,
				covered_to = -1;
	double		gmean,
				var,
				ann;
	/* drawdown periods */
	int64_t		prev_zero = 0,
				nperiods = 0;
	double		sum_peak_dd = 0.0,
				max_dur = NAN,
				sum_dur = 0.0;
	/* trades */
	int64_t		nclosed = 0,
				wins = 0;
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

	double		commissions = m->commissions;

	memset(m, 0, sizeof(*m));
	m->commissions = commissions;
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
	m->equity_final = eq[n - 1];

	/*
	 * One pass over the equity curve: peak, drawdowns, returns.
	 *
	 * Drawdown periods follow backtesting.py's compute_drawdown_duration_peaks:
	 * spans between consecutive bars at a peak (drawdown 0) or the last bar,
	 * with at least one bar between.  The peak is constant inside a period,
	 * so its deepest drawdown is 1 - trough/peak: one division per period,
	 * not per bar.
	 */
	peak = eq[0];
	{
		double		trough = eq[0];
		double		prev = eq[0];
		const int64_t *ts = s->ts;

		for (int64_t i = 0; i < n; i++)
		{
			double		e = eq[i];

			if (e >= peak)
			{
				if (i > prev_zero + 1)
				{
					double		dd = peak > 0 ? 1.0 - trough / peak : 0.0;
					double		dur = (double) (ts[i] - ts[prev_zero]);

					nperiods++;
					sum_peak_dd += dd;
					sum_dur += dur;
					if (isnan(max_dur) || dur > max_dur)
						max_dur = dur;
					if (dd > max_dd)
						max_dd = dd;
				}
				peak = e;
				trough = e;
				prev_zero = i;
			}
			else if (e < trough)
				trough = e;
		}
		/*
		 * Per-bar returns, in a loop of their own: few live values, so the
		 * sums stay in registers (one combined loop spilled them).
		 */
		{
			double		a_sum = 0,
						a_sumsq = 0,
						a_down = 0,
						a_loss = 0,
						a_gain = 0;
			int			a_ruined = eq[0] <= 0;

			for (int64_t i = 1; i < n; i++)
			{
				double		e = eq[i];
				/* flat stretches (no position) need no division: r is exactly 0 */
				double		r = (e == prev || prev == 0) ? 0.0 : e / prev - 1.0;
				/*
				 * min(r, 0) and max(r, 0) without branches (return signs are
				 * random, so a branch mispredicts half the time; fmin/fmax
				 * are library calls): (r -/+ |r|) / 2 is exact.
				 */
				double		down = 0.5 * (r - fabs(r));
				double		up = 0.5 * (r + fabs(r));

				a_sum += r;
				a_sumsq += r * r;
				a_down += down * down;
				a_loss -= down;
				a_gain += up;
				a_ruined |= e <= 0;
				prev = e;
			}
			sum = a_sum;
			sumsq = a_sumsq;
			down_sq = a_down;
			loss = a_loss;
			gain = a_gain;
			ruined = a_ruined;
		}

		/* the last stretch below the peak: deepest point, and a period if long enough */
		if (trough < peak)
		{
			double		dd = peak > 0 ? 1.0 - trough / peak : 0.0;

			if (dd > max_dd)
				max_dd = dd;
			if (n - 1 > prev_zero + 1)
			{
				double		dur = (double) (ts[n - 1] - ts[prev_zero]);

				nperiods++;
				sum_peak_dd += dd;
				sum_dur += dur;
				if (isnan(max_dur) || dur > max_dur)
					max_dur = dur;
			}
		}
	}
	m->equity_peak = peak;
	m->return_pct = (eq[n - 1] - sim->initial_capital) / sim->initial_capital * 100.0;
	m->buy_hold_return_pct = warmup < n ?
		(s->close[n - 1] - s->close[warmup]) / s->close[warmup] * 100.0 : NAN;
	m->max_drawdown_pct = -max_dd * 100.0;
	m->avg_drawdown_pct = nperiods ? -sum_peak_dd / nperiods * 100.0 : NAN;
	m->max_drawdown_duration = max_dur;
	m->avg_drawdown_duration = nperiods ? sum_dur / nperiods : NAN;

	/* annualised return and volatility (backtesting.py's formulas) */
	/*
	 * The product of (1 + r_t) telescopes to equity_last / equity_first, so
	 * the geometric mean needs no per-bar logarithm.  Ruin (equity <= 0) makes
	 * it 0, as backtesting.py's geometric_mean does.
	 */
	gmean = (ruined || eq[0] <= 0) ? 0.0 : pow(eq[n - 1] / eq[0], 1.0 / (double) n) - 1.0;
	ann = pow(1.0 + gmean, ppy) - 1.0;
	var = nr > 1 ? (sumsq - sum * sum / nr) / (nr - 1) : NAN;
	if (var < 0)
		var = 0;
	m->return_ann_pct = ann * 100.0;
	m->volatility_ann_pct = sqrt(pow(var + pow(1.0 + gmean, 2), ppy) -
								 pow(1.0 + gmean, 2 * ppy)) * 100.0;
	{
		double		years = (double) m->duration / (365.25 * BT_USECS_PER_DAY);

		m->cagr_pct = years > 0 && eq[n - 1] > 0 ?
			(pow(eq[n - 1] / sim->initial_capital, 1.0 / years) - 1.0) * 100.0 : NAN;
	}
	m->sharpe_ratio = m->volatility_ann_pct > 0 ?
		(m->return_ann_pct - sim->risk_free_rate * 100.0) / m->volatility_ann_pct : NAN;
	m->sortino_ratio = (nr > 0 && down_sq > 0) ?
		(ann - sim->risk_free_rate) / (sqrt(down_sq / nr) * sqrt(ppy)) : NAN;
	m->calmar_ratio = max_dd > 0 ? ann / max_dd : NAN;
	m->omega_ratio = loss > 0 ? gain / loss : NAN;

	/* exposure: bars from each trade's entry to its exit, inclusive */
	for (int64_t k = 0; k < res->ntrades; k++)
	{
		const BtTrade *t = &res->trades[k];
		int64_t		from = t->entry_bar > covered_to ? t->entry_bar : covered_to + 1;

		if (t->exit_bar >= from)
			exposed += t->exit_bar - from + 1;
		if (t->exit_bar > covered_to)
			covered_to = t->exit_bar;
	}
	m->exposure_pct = (double) exposed / (double) n * 100.0;

	/* trade statistics: closed trades only */
	for (int64_t k = 0; k < res->ntrades; k++)
	{
		const BtTrade *t = &res->trades[k];
		double		r = t->return_pct / 100.0;
		double		dur = (double) (t->exit_ts - t->entry_ts);

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
			sum_loss_pl -= t->pnl;
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
		int64_t		nloss = 0;

		for (int64_t k = 0; k < res->ntrades; k++)
			if (!res->trades[k].is_open && res->trades[k].pnl < 0)
				nloss++;
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
