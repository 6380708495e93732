/*-------------------------------------------------------------------------
 *
 * calendar.c
 *	  What the bar timestamps say about the market's calendar: whether it
 *	  trades on weekends, how many bars it has a year, and the annualisation
 *	  factor of the returns the metrics use (README, "Metrics").
 *
 * The day-of-week questions are asked in UTC: a day is [k * 86400 s,
 * (k+1) * 86400 s) since the Unix epoch.  The trading days the daily returns
 * use start at an offset from UTC midnight inferred from the bars
 * (bt_infer_day_start), so that a session straddling UTC midnight (24/5 FX,
 * Sunday 22:00 to Friday 22:00 UTC) stays one day.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/calendar.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "bt_engine.h"
#include "bt_internal.h"
#include "bt_simd.h"

/* 1970-01-01 (day 0) was a Thursday: with dow = (day + 3) mod 7, Monday = 0 */
#define DOW_SAT		5
#define DOW_SUN		6

/*
 * bt_day_of
 *		The UTC calendar day (days since 1970-01-01) of a timestamp; floors
 *		for timestamps before the epoch too.
 */
int64_t
bt_day_of(int64_t ts)
{
	return ts >= 0 ? ts / BT_USECS_PER_DAY : -((-ts - 1) / BT_USECS_PER_DAY) - 1;
}

/* floor(a / b) for b > 0 */
static int64_t
floordiv_(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a - 1) / b) - 1;
}

/*
 * bt_days_from_civil
 *		Days since 1970-01-01 of a civil date (proleptic Gregorian; Howard
 *		Hinnant's algorithm).
 */
int64_t
bt_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = floordiv_(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * bt_civil_from_days
 *		The civil date of a day number: the inverse of bt_days_from_civil.
 */
void
bt_civil_from_days(int64_t z, int *year, int *month, int *day)
{
	int64_t		era,
				doe,
				yoe,
				y,
				doy,
				mp;

	z += 719468;
	era = floordiv_(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = (int) (y + (*month <= 2));
}

/* Day of the week of a UTC day number, Monday = 0 .. Sunday = 6 */
static int
dow_of(int64_t day)
{
	return (int) ((((day + 3) % 7) + 7) % 7);
}

/*
 * Bars and days with bars per day of the week, and how often each day of the
 * week occurs in the span from the first bar's day to the last bar's day.
 */
typedef struct DowScan
{
	int64_t		bars[7];
	int64_t		days[7];		/* distinct days with bars */
	int64_t		occurs[7];		/* days of the span */
} DowScan;

/* Fill sc from ascending timestamps ts[0..n-1] (n >= 1) */
static void
dow_scan(const int64_t *ts, int64_t n, DowScan *sc)
{
	int64_t		first = bt_day_of(ts[0]),
				span;

	memset(sc, 0, sizeof(*sc));
	/* day by day: from a day's first bar, search for the next day's */
	for (int64_t i = 0, j, len = 0; i < n; len = j - i, i = j)
	{
		int64_t		d = bt_day_of(ts[i]);
		int			dow = dow_of(d);

		/* guess: as many bars as the day before */
		j = bt_first_at_or_after_hint(ts, i + 1, n, (d + 1) * BT_USECS_PER_DAY, i + len);
		sc->days[dow]++;
		sc->bars[dow] += j - i;
	}
	span = bt_day_of(ts[n - 1]) - first + 1;
	for (int k = 0; k < 7; k++)
		sc->occurs[k] = span / 7;
	for (int64_t j = 0; j < span % 7; j++)
		sc->occurs[dow_of(first + j)]++;
}

/*
 * Does the market trade on weekends?  Yes when Saturdays and Sundays each
 * carry at least half the bars of an average weekday (per day of the span).
 * A 7-day market (crypto) does; a 24/5 market does not, although FX opens on
 * Sunday evening (22:00 UTC, two hourly bars against a weekday's 24) and US
 * extended hours spill into Saturday 00:00-01:00 UTC in winter; neither do
 * Sunday-Thursday markets.  A span without weekend days says no; a span with
 * no weekday says yes if it has bars.
 */
static bool
trades_weekends(const DowScan *sc)
{
	double		wk = 0;
	int			nwk = 0;
	bool		seen_weekend = false;

	for (int k = 0; k < 5; k++)
		if (sc->occurs[k] > 0)
		{
			wk += (double) sc->bars[k] / sc->occurs[k];
			nwk++;
		}
	wk = nwk ? wk / nwk : 0;
	for (int k = DOW_SAT; k <= DOW_SUN; k++)
	{
		if (sc->occurs[k] == 0)
			continue;
		seen_weekend = true;
		if ((double) sc->bars[k] / sc->occurs[k] < 0.5 * wk)
			return false;
	}
	return seen_weekend;
}

/*
 * Median spacing of ascending timestamps (n >= 2), from a sample of at most
 * 4096 spacings.
 */
static double
median_spacing(const int64_t *ts, int64_t n)
{
	int64_t		sample[4096];
	int64_t		m = 0,
				step = (n - 1) / 4096 + 1;

	for (int64_t i = 1; i < n && m < 4096; i += step)
		sample[m++] = ts[i] - ts[i - 1];
	bt_sort_i64(sample, m);
	return (double) sample[m / 2];
}

/*
 * bt_infer_periods_per_year
 *		The annualisation factor A of the returns the metrics use:
 *		- median bar spacing of 28 days or more: monthly bars, 12;
 *		- 7 days or more: weekly bars, 52;
 *		- otherwise the equity is resampled to days: 365 when the market
 *		  trades on weekends (trades_weekends), else 252.
 *		Fewer than two bars: 252.
 */
double
bt_infer_periods_per_year(const int64_t *ts, int64_t n)
{
	double		median;
	DowScan		sc;

	if (n < 2)
		return 252.0;
	median = median_spacing(ts, n);
	if (median >= 28.0 * BT_USECS_PER_DAY)
		return 12.0;
	if (median >= 7.0 * BT_USECS_PER_DAY)
		return 52.0;
	dow_scan(ts, n, &sc);
	return trades_weekends(&sc) ? 365.0 : 252.0;
}

/*
 * bt_infer_bars_per_year
 *		Bars a year: 12 or 52 for monthly and weekly bars, else the trading
 *		days a year (365 or 252, as bt_infer_periods_per_year) times the bars
 *		per trading day, rounded to a whole number.  The trading days counted
 *		are the days with bars, and for a market that does not trade on
 *		weekends only Monday to Friday: a 24/5 FX market's hourly bars from
 *		Sunday 22:00 to Friday 22:00 UTC are 120 a week over 5 days, 24 a day,
 *		6048 a year (its Sunday-evening bars belong to Monday's session).
 */
double
bt_infer_bars_per_year(const int64_t *ts, int64_t n)
{
	double		median;
	DowScan		sc;
	bool		weekends;
	int64_t		days = 0;
	double		per_day;

	if (n < 2)
		return 252.0;
	median = median_spacing(ts, n);
	if (median >= 28.0 * BT_USECS_PER_DAY)
		return 12.0;
	if (median >= 7.0 * BT_USECS_PER_DAY)
		return 52.0;
	dow_scan(ts, n, &sc);
	weekends = trades_weekends(&sc);
	for (int k = 0; k < (weekends ? 7 : 5); k++)
		days += sc.days[k];
	if (days == 0)				/* weekend bars only */
		for (int k = 5; k < 7; k++)
			days += sc.days[k];
	per_day = floor((double) n / (double) days + 0.5);
	return (weekends ? 365.0 : 252.0) * (per_day >= 1.0 ? per_day : 1.0);
}

/* ---- the trading day ------------------------------------------------------ */

#define USECS_PER_MIN	INT64_C(60000000)
#define MINS_PER_DAY	1440

/*
 * bt_trading_day
 *		The trading day of a timestamp: days since the epoch of ts -
 *		day_start, so the day numbered k is [k days + day_start, (k+1) days +
 *		day_start).  With day_start = -2 h, Sunday 22:00 UTC opens Monday.
 */
int64_t
bt_trading_day(int64_t ts, int64_t day_start)
{
	return bt_day_of(ts - day_start);
}

/*
 * Count the minute marks m * 1 min + k days in (a, b] per minute of the day
 * m: *base gets the whole days (every minute once a day), cut[] (a difference
 * array) the rest
 */
static void
add_marks(int64_t a, int64_t b, int64_t *base, int64_t *cut)
{
	int64_t		days = (b - a) / BT_USECS_PER_DAY;
	int64_t		tod,
				m0,
				m1;

	*base += days;
	a += days * BT_USECS_PER_DAY;
	if (a == b)
		return;
	/* (a, b] is shorter than a day: minutes m0..m1 after a's midnight */
	tod = a - bt_day_of(a) * BT_USECS_PER_DAY;
	m0 = tod / USECS_PER_MIN + 1;
	m1 = (tod + (b - a)) / USECS_PER_MIN;
	if (m0 > m1)
		return;
	/* m0 <= 1440, m1 < 2880 and m1 - m0 < 1440: at most one wrap */
	if (m0 >= MINS_PER_DAY)
	{
		m0 -= MINS_PER_DAY;
		m1 -= MINS_PER_DAY;
	}
	cut[m0]++;
	if (m1 < MINS_PER_DAY)
		cut[m1 + 1]--;
	else
	{
		cut[MINS_PER_DAY]--;
		cut[0]++;
		cut[m1 - MINS_PER_DAY + 1]--;
	}
}

/* bt_next_gap's plain loop */
static int64_t
next_gap_scalar(const int64_t *ts, int64_t i, int64_t n, int64_t lim)
{
	for (; i < n; i++)
		if (ts[i] - ts[i - 1] >= lim)
			return i;
	return n;
}

#ifdef BT_SIMD_X86
/* bt_next_gap four spacings at a time (the same index) */
__attribute__((target("avx2")))
static int64_t
next_gap_avx2(const int64_t *ts, int64_t i, int64_t n, int64_t lim)
{
	const v4di	below = {lim - 1, lim - 1, lim - 1, lim - 1};

	for (; i + 4 <= n; i += 4)
	{
		v4di		d = *(const v4di_u *) (ts + i) - *(const v4di_u *) (ts + i - 1);

		if (BT_MASK4(d > below))
			break;
	}
	return next_gap_scalar(ts, i, n, lim);
}
#endif

/*
 * bt_next_gap
 *		The first bar j in [i, n) whose spacing ts[j] - ts[j - 1] is lim or
 *		more (n if none); i >= 1, lim > INT64_MIN.
 */
int64_t
bt_next_gap(const int64_t *ts, int64_t i, int64_t n, int64_t lim)
{
#ifdef BT_SIMD_X86
	if (__builtin_cpu_supports("avx2"))
		return next_gap_avx2(ts, i, n, lim);
#endif
	return next_gap_scalar(ts, i, n, lim);
}

/*
 * bt_infer_day_start
 *		Where the market's trading day starts, in usecs after UTC midnight,
 *		in [-12 h, 12 h): a whole minute at which the fewest sessions are cut.
 *
 * A pair of consecutive bars is "in session" when no bar is missing between
 * them (spacing < 2 x the median spacing, and under a day).  A day boundary
 * at minute b cuts the pair when some b + k days lies in (earlier, later].
 * The score of b is the number of in-session pairs it cuts; cutting a gap
 * (overnight, the weekend, a lunch break, a maintenance hour) costs nothing,
 * nor does cutting a pair a day or more apart (every boundary does).  The
 * pairs of a run of in-session bars from t0 to t1 cover (t0, t1] once, so
 * the scores are counted per run, not per pair.
 *
 *	- An exchange session (US, HK): midnight UTC lies in the overnight gap,
 *	  score 0: midnight.
 *	- US extended hours in winter UTC (09:00-01:00): midnight cuts every
 *	  session, the minute after its last bar none.
 *	- 24/5 FX, Sunday 22:00 to Friday 22:00 UTC: every minute cuts the
 *	  weekdays' continuous trading, but 22:00 cuts 4 pairs a week (the
 *	  weekend gap absorbs the fifth) where any other minute cuts 5: 22:00.
 *	- 24/7: every minute cuts one pair a day: midnight.
 *	- daily and coarser bars (median spacing of a day or more): midnight.
 *
 * Among the minutes of least score the one nearest midnight wins (the
 * evening before first), and it replaces midnight only when it cuts at least
 * 2 pairs and 10% fewer than midnight: where the series starts and ends moves
 * a score by one, which must not move the day of a 24/7 series that starts
 * at noon.  O(n), no allocation.
 */
int64_t
bt_infer_day_start(const int64_t *ts, int64_t n)
{
	int64_t		cut[MINS_PER_DAY + 1];	/* difference array of the scores */
	int64_t		base = 0,
				score,
				best_score,
				midnight,
				lim,
				run = 0;		/* first bar of the current run */
	int			best = 0;
	double		median;

	if (n < 3)
		return 0;
	median = median_spacing(ts, n);
	if (median >= (double) BT_USECS_PER_DAY)
		return 0;
	/* in session: spacing < lim */
	lim = 2 * (int64_t) median < BT_USECS_PER_DAY ? 2 * (int64_t) median : BT_USECS_PER_DAY;
	memset(cut, 0, sizeof(cut));
	for (int64_t i = 1; (i = bt_next_gap(ts, i, n, lim)) < n; i++)
	{
		if (run < i - 1)
			add_marks(ts[run], ts[i - 1], &base, cut);
		run = i;
	}
	if (run < n - 1)
		add_marks(ts[run], ts[n - 1], &base, cut);
	/* prefix sums: cut[m] becomes the score of minute m */
	score = base;
	for (int m = 0; m < MINS_PER_DAY; m++)
	{
		score += cut[m];
		cut[m] = score;
	}
	midnight = best_score = cut[0];
	for (int d = 1; d <= MINS_PER_DAY / 2; d++)
	{
		int			cand[2] = {MINS_PER_DAY - d, d};

		for (int k = 0; k < 2; k++)
			if (cut[cand[k]] < best_score)
			{
				best_score = cut[cand[k]];
				best = cand[k];
			}
	}
	if (best == 0 || midnight - best_score < 2 || (midnight - best_score) * 10 < midnight)
		return 0;
	return (int64_t) (best >= MINS_PER_DAY / 2 ? best - MINS_PER_DAY : best) * USECS_PER_MIN;
}
