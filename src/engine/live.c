/*-------------------------------------------------------------------------
 *
 * live.c
 *	  Live streams: indicators and a strategy's target position advanced
 *	  one bar at a time (bt_live.h), giving the values of the batch
 *	  functions over the same bars.
 *
 * Each indicator keeps what its batch function carries from bar to bar:
 * the EMA-family ones their EmaState (the same ema_step, so the same
 * values bit for bit), KDJ its K and D, OBV its exact running sum.  The
 * window ones (SMA, WMA, Bollinger, Stochastic, Donchian, ROC) recompute
 * their window from a ring of the last bars kept in the state, with the
 * same exact sums as the batch functions (so the same values up to the
 * last bit of the rounding of a sum; see bt_kernels.h); Bollinger uses the
 * shift the batch function would use on that bar.  The Stochastic's %D and
 * slow %D are SMAs of its own outputs, kept in rings of their own.
 *
 * A strategy is its lines (indicators computed like the stream's own, but
 * not output) and the few values its batch function carries between bars:
 * the side of the last crossing, the Bollinger mean-reversion state, the
 * previous bar's Donchian channel.  Its targets become a position with the
 * simulator's rule (-1 is flat unless shorts are allowed).
 *
 * Layout of a state (one block, no pointers): the BtLiveState header, its
 * LiveInd array (the stream's indicators, then the strategy's lines), the
 * EMA states of those that have some, then a pool of doubles: the bar ring (window bars of each column some
 * indicator reads: close always, high and low, volume), then the
 * Stochastics' rings.  Every ring holds one value per
 * bar pushed, the newest at (nbars - 1) % capacity.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * src/engine/live.c
 *
 *-------------------------------------------------------------------------
 */
#include "live_internal.h"

/* ------------------------------------------------------------------------
 * Layout
 * ------------------------------------------------------------------------
 */

/* Index of a registry entry, or -1 */
static int
ind_index(const BtIndicatorDef *def)
{
	for (int i = 0; i < bt_n_indicators; i++)
		if (bt_indicators[i] == def)
			return i;
	return -1;
}

/* Index of a strategy in bt_strategies, or -1 */
static int
strat_index(const BtStrategyDef *st)
{
	for (int i = 0; i < bt_n_strategies; i++)
		if (&bt_strategies[i] == st)
			return i;
	return -1;
}


/* Bars of the bar ring an indicator reads (the current one included) */
static int64_t
ind_window(const BtIndicatorDef *d, const double *p)
{
	if (d == &bt_ind_sma || d == &bt_ind_wma || d == &bt_ind_stoch ||
		d == &bt_ind_kdj || d == &bt_ind_donchian)
		return period(p[0]);
	if (d == &bt_ind_bbands || d == &bt_ind_roc)
		return period(p[0]) + 1;
	if (d == &bt_ind_rsi || d == &bt_ind_atr || d == &bt_ind_obv)
		return 2;
	return 1;					/* ema, macd */
}

/* A line request: indicator and parameters */
static void
set_line(BtLiveIndSpec *l, const BtIndicatorDef *d, double p0, double p1, double p2)
{
	memset(l, 0, sizeof(*l));
	l->def = d;
	l->params[0] = p0;
	l->params[1] = p1;
	l->params[2] = p2;
}

/*
 * strategy_lines
 *		The kind of a strategy and the lines it reads (into lines, their
 *		number into *nlines); LK_NONE with no lines for a strategy this file
 *		does not know.
 */
static LiveKind
strategy_lines(const BtStrategyDef *st, const double *sp, BtLiveIndSpec *lines, int *nlines)
{
	*nlines = 0;
	if (st == NULL)
		return LK_NONE;
	if (strcmp(st->name, "sma_cross") == 0 || strcmp(st->name, "ema_cross") == 0)
	{
		const BtIndicatorDef *ma = st->name[0] == 's' ? &bt_ind_sma : &bt_ind_ema;

		set_line(&lines[0], ma, sp[0], 0, 0);
		set_line(&lines[1], ma, sp[1], 0, 0);
		*nlines = 2;
		return LK_MA_CROSS;
	}
	*nlines = 1;
	if (strcmp(st->name, "macd_cross") == 0)
	{
		set_line(&lines[0], &bt_ind_macd, sp[0], sp[1], sp[2]);
		return LK_MACD_CROSS;
	}
	if (strcmp(st->name, "rsi") == 0)
	{
		set_line(&lines[0], &bt_ind_rsi, sp[0], 0, 0);
		return LK_RSI;
	}
	if (strcmp(st->name, "bollinger") == 0)
	{
		set_line(&lines[0], &bt_ind_bbands, sp[0], sp[1], 0);
		return LK_BOLLINGER;
	}
	if (strcmp(st->name, "kdj") == 0)
	{
		set_line(&lines[0], &bt_ind_kdj, sp[0], sp[1], sp[2]);
		return LK_KDJ;
	}
	if (strcmp(st->name, "donchian_breakout") == 0)
	{
		set_line(&lines[0], &bt_ind_donchian, sp[0], 0, 0);
		return LK_DONCHIAN;
	}
	*nlines = 0;
	if (strcmp(st->name, "buy_and_hold") == 0)
		return LK_HOLD;
	if (strcmp(st->name, "signal") == 0)
		return LK_SIGNAL;
	return LK_NONE;
}

/*
 * live_layout
 *		The header, indicator and EMA states of a spec with no bars seen
 *		(hdr, inds[0..nind+nlines-1], emas[0..nema-1], offsets filled in);
 *		returns the bytes of the whole state.  The spec must have passed bt_live_spec_check.
 */
static size_t
live_layout(const BtLiveSpec *spec, BtLiveState *hdr, LiveInd *inds, EmaState *emas)
{
	BtLiveIndSpec all[LIVE_MAX_ALL];
	int			nlines;
	int			nall;
	int64_t		window = 2;
	int64_t		pool;
	size_t		head;

	memset(hdr, 0, sizeof(*hdr));
	for (int i = 0; i < spec->nind; i++)
		all[i] = spec->ind[i];
	hdr->kind = strategy_lines(spec->strategy, spec->sp, all + spec->nind, &nlines);
	nall = spec->nind + nlines;

	hdr->magic = LIVE_MAGIC;
	hdr->version = LIVE_VERSION;
	hdr->nind = spec->nind;
	hdr->nlines = nlines;
	hdr->strat = spec->strategy ? strat_index(spec->strategy) : -1;
	if (spec->strategy)
		memcpy(hdr->sp, spec->sp, sizeof(hdr->sp));
	hdr->allow_short = spec->allow_short ? 1 : 0;
	hdr->last_ts = INT64_MIN;

	for (int i = 0; i < nall; i++)
	{
		int64_t		w = ind_window(all[i].def, all[i].params);

		if (w > window)
			window = w;
	}
	hdr->window = window;
	pool = 0;
	for (int c = 0; c < NCOLS; c++)
	{
		int			need = c == COL_CLOSE ? BT_IN_CLOSE : c == COL_HIGH ? BT_IN_HIGH :
			c == COL_LOW ? BT_IN_LOW : BT_IN_VOLUME;
		bool		kept = c == COL_CLOSE;

		for (int i = 0; i < nall; i++)
			kept = kept || (all[i].def->inputs & need) != 0;
		hdr->col_off[c] = kept ? pool : -1;
		pool += kept ? window : 0;
	}

	for (int i = 0; i < nall; i++)
	{
		LiveInd    *li = &inds[i];
		const BtIndicatorDef *d = all[i].def;
		const double *p = all[i].params;

		memset(li, 0, sizeof(*li));
		li->reg = ind_index(d);
		li->ema0 = -1;
		if (d == &bt_ind_ema || d == &bt_ind_macd || d == &bt_ind_rsi || d == &bt_ind_atr)
		{
			li->ema0 = hdr->nema;
			hdr->nema += d == &bt_ind_macd ? 3 : d == &bt_ind_rsi ? 2 : 1;
		}
		memcpy(li->params, p, sizeof(li->params));
		for (int o = 0; o < BT_IND_MAX_OUTPUTS; o++)
			li->out[o] = li->prev[o] = NAN;
		if (d == &bt_ind_ema)
			ema_init(&emas[li->ema0 + 0], (int) period(p[0]), 2.0 / ((double) period(p[0]) + 1.0));
		else if (d == &bt_ind_macd)
		{
			ema_init(&emas[li->ema0 + 0], (int) period(p[0]), 2.0 / ((double) period(p[0]) + 1.0));
			ema_init(&emas[li->ema0 + 1], (int) period(p[1]), 2.0 / ((double) period(p[1]) + 1.0));
			ema_init(&emas[li->ema0 + 2], (int) period(p[2]), 2.0 / ((double) period(p[2]) + 1.0));
		}
		else if (d == &bt_ind_rsi)
		{
			ema_init(&emas[li->ema0 + 0], (int) period(p[0]), 1.0 / (int) period(p[0]));
			ema_init(&emas[li->ema0 + 1], (int) period(p[0]), 1.0 / (int) period(p[0]));
		}
		else if (d == &bt_ind_atr)
			ema_init(&emas[li->ema0 + 0], (int) period(p[0]), 1.0 / (int) period(p[0]));
		else if (d == &bt_ind_kdj)
			li->a = li->b = 50.0;
		else if (d == &bt_ind_stoch)
		{
			li->r1_off = pool;
			pool += period(p[1]);
			li->r2_off = pool;
			pool += period(p[2]);
		}
	}
	hdr->pool_len = pool;
	head = offsetof(BtLiveState, ind) + (size_t) nall * sizeof(LiveInd);
	head = (head + 7) & ~(size_t) 7;
	hdr->ema_off = (int64_t) head;
	head += (size_t) hdr->nema * sizeof(EmaState);
	head = (head + 7) & ~(size_t) 7;
	hdr->pool_off = (int64_t) head;
	hdr->size = head + (size_t) pool * sizeof(double);
	return (size_t) hdr->size;
}

bool
bt_live_spec_check(const BtLiveSpec *spec, BtError *err)
{
	BtLiveIndSpec lines[LIVE_MAX_LINES];
	int			nlines;
	int64_t		pool = 0;

	if (spec->nind < 0 || spec->nind > BT_LIVE_MAX_IND)
	{
		bt_set_error(err, BT_ERR_PARAM, "a live stream can have at most %d indicators",
					 BT_LIVE_MAX_IND);
		return false;
	}
	for (int i = 0; i < spec->nind; i++)
		if (ind_index(spec->ind[i].def) < 0)
		{
			bt_set_error(err, BT_ERR_PARAM, "indicator %d is not in the registry", i + 1);
			return false;
		}
	if (spec->strategy != NULL &&
		(strat_index(spec->strategy) < 0 ||
		 strategy_lines(spec->strategy, spec->sp, lines, &nlines) == LK_NONE))
	{
		bt_set_error(err, BT_ERR_PARAM, "strategy \"%s\" cannot run live", spec->strategy->name);
		return false;
	}
	if (spec->strategy == NULL)
		nlines = 0;
	for (int i = 0; i < spec->nind + nlines; i++)
	{
		const BtLiveIndSpec *l = i < spec->nind ? &spec->ind[i] : &lines[i - spec->nind];
		int64_t		w = ind_window(l->def, l->params);

		if (l->def == &bt_ind_stoch)
			pool += period(l->params[1]) + period(l->params[2]);
		if (w > BT_LIVE_MAX_WINDOW)
		{
			bt_set_error(err, BT_ERR_PARAM,
						 "indicator \"%s\" needs a window of %lld bars, more than a live stream keeps",
						 l->def->name, (long long) w);
			snprintf(err->hint, sizeof(err->hint),
					 "A live stream keeps at most %d bars of each symbol.", BT_LIVE_MAX_WINDOW);
			return false;
		}
	}
	if (pool > 2 * (int64_t) BT_LIVE_MAX_WINDOW)
	{
		bt_set_error(err, BT_ERR_PARAM, "the Stochastic periods of a live stream are too long");
		return false;
	}
	return true;
}

size_t
bt_live_state_bytes(const BtLiveSpec *spec)
{
	BtLiveState hdr;
	LiveInd		inds[LIVE_MAX_ALL];
	EmaState	emas[3 * LIVE_MAX_ALL];

	return live_layout(spec, &hdr, inds, emas);
}

void
bt_live_init(const BtLiveSpec *spec, BtLiveState *st)
{
	LiveInd		inds[LIVE_MAX_ALL];
	EmaState	emas[3 * LIVE_MAX_ALL];
	size_t		size = live_layout(spec, st, inds, emas);
	int			nall = st->nind + st->nlines;
	size_t		head = offsetof(BtLiveState, ind) + (size_t) nall * sizeof(LiveInd);

	memcpy(st->ind, inds, (size_t) nall * sizeof(LiveInd));
	memset((char *) st + head, 0, size - head);
	memcpy((char *) st + st->ema_off, emas, (size_t) st->nema * sizeof(EmaState));
}

size_t
bt_live_state_size(const BtLiveState *st)
{
	return (size_t) st->size;
}

bool
bt_live_state_valid(const void *blob, size_t len, const BtLiveSpec *spec)
{
	const BtLiveState *st = (const BtLiveState *) blob;
	BtLiveState hdr;
	LiveInd		inds[LIVE_MAX_ALL];
	EmaState	emas[3 * LIVE_MAX_ALL];
	const EmaState *blob_emas;
	BtError		err;

	if (len < sizeof(BtLiveState) || !bt_live_spec_check(spec, &err))
		return false;
	if (live_layout(spec, &hdr, inds, emas) != len)
		return false;
	if (st->magic != hdr.magic || st->version != hdr.version || st->size != hdr.size ||
		st->nind != hdr.nind || st->nlines != hdr.nlines || st->strat != hdr.strat ||
		st->kind != hdr.kind || st->allow_short != hdr.allow_short ||
		st->window != hdr.window || st->pool_off != hdr.pool_off ||
		st->ema_off != hdr.ema_off || st->nema != hdr.nema ||
		memcmp(st->col_off, hdr.col_off, sizeof(hdr.col_off)) != 0 ||
		st->pool_len != hdr.pool_len || memcmp(st->sp, hdr.sp, sizeof(hdr.sp)) != 0)
		return false;
	if (st->nbars < 0 || st->position < -1 || st->position > 1 ||
		st->last_side < -1 || st->last_side > 1)
		return false;
	for (int i = 0; i < hdr.nind + hdr.nlines; i++)
		if (st->ind[i].reg != inds[i].reg ||
			memcmp(st->ind[i].params, inds[i].params, sizeof(inds[i].params)) != 0 ||
			st->ind[i].r1_off != inds[i].r1_off || st->ind[i].r2_off != inds[i].r2_off ||
			st->ind[i].ema0 != inds[i].ema0)
			return false;
	blob_emas = (const EmaState *) ((const char *) st + st->ema_off);
	for (int i = 0; i < hdr.nema; i++)
		if (blob_emas[i].period != emas[i].period || blob_emas[i].alpha != emas[i].alpha)
			return false;
	return true;
}

int
bt_live_noutputs(const BtLiveSpec *spec)
{
	int			n = 0;

	for (int i = 0; i < spec->nind; i++)
		n += spec->ind[i].def->noutputs;
	return n;
}

int64_t
bt_live_nbars(const BtLiveState *st)
{
	return st->nbars;
}

int64_t
bt_live_last_ts(const BtLiveState *st)
{
	return st->last_ts;
}

int
bt_live_position(const BtLiveState *st)
{
	return st->position;
}

/* Whether any of the stream's indicators or lines reads volume */
static bool
needs_volume(const BtLiveState *st)
{
	for (int i = 0; i < st->nind + st->nlines; i++)
		if (bt_indicators[st->ind[i].reg]->inputs & BT_IN_VOLUME)
			return true;
	return false;
}

bool
bt_live_push(BtLiveState *st, const BtLiveBar *bar, double *out, BtLiveStep *step,
			 BtError *err)
{
	BtSeries	s;
	double		vol = bar->volume;
	int			o = 0;

	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.ts = &bar->ts;
	s.open = &bar->open;
	s.high = &bar->high;
	s.low = &bar->low;
	s.close = &bar->close;
	s.volume = needs_volume(st) ? &vol : NULL;
	s.signal = st->kind == LK_SIGNAL ? &bar->signal : NULL;
	if (!bt_validate_series(&s, s.volume != NULL, err))
		return false;
	/* a stream's position is -1, 0 or 1: no exposures between them */
	if (s.signal && !isnan(bar->signal) && bar->signal != 1 && bar->signal != 0 &&
		bar->signal != -1)
	{
		bt_set_error(err, BT_ERR_DATA, "a live stream's signal must be -1, 0, 1 or NULL");
		return false;
	}
	if (st->nbars > 0 && bar->ts <= st->last_ts)
	{
		bt_set_error(err, BT_ERR_DATA, "bar is not after the last bar of the stream");
		err->bar = 0;
		return false;
	}

	st->nbars++;
	for (int c = 0; c < NCOLS; c++)
		if (st->col_off[c] >= 0)
			ring_put(col_ring(st, c), st->window, st->nbars,
					 c == COL_HIGH ? bar->high : c == COL_LOW ? bar->low :
					 c == COL_CLOSE ? bar->close : vol);
	st->last_ts = bar->ts;

	for (int i = 0; i < st->nind + st->nlines; i++)
		live_ind_step(st, &st->ind[i]);
	for (int i = 0; i < st->nind; i++)
	{
		int			nout = bt_indicators[st->ind[i].reg]->noutputs;

		memcpy(out + o, st->ind[i].out, (size_t) nout * sizeof(double));
		o += nout;
	}

	step->target = live_strategy_step(st, bar);
	step->prev_position = st->position;
	if (step->target != BT_KEEP)
		st->position = (step->target < 0 && !st->allow_short) ? 0 : step->target;
	step->position = st->position;
	return true;
}
