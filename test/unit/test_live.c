/*-------------------------------------------------------------------------
 *
 * test_live.c
 *	  Live streams (live.c): every indicator fed one bar at a time gives the
 *	  batch values on the sample data (and on a copy of it with a flat
 *	  stretch, where the ties and the flat-window rules matter), through
 *	  serialise/restore round trips; every strategy's live targets and
 *	  positions are the batch targets and the positions bt_run holds a bar
 *	  later; bad bars and foreign states are refused.
 *
 * Copyright (c) 2026, pg_backtest developers
 *
 * test/unit/test_live.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "unit.h"
#include "bt_live.h"

/* splitmix64, for the damage test's random bytes */
static uint64_t
bt_splitmix64_test(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* A state in malloc'ed (so 8-byte aligned) memory */
static BtLiveState *
live_new(const BtLiveSpec *spec)
{
	BtLiveState *st = malloc(bt_live_state_bytes(spec));

	bt_live_init(spec, st);
	return st;
}

/* A copy of a state, as restoring a serialised one does */
static BtLiveState *
live_copy(const BtLiveState *st)
{
	size_t		size = bt_live_state_size(st);
	void	   *copy = malloc(size);

	memcpy(copy, st, size);
	return copy;
}

static BtLiveBar
bar_of(const BtSeries *s, int64_t t)
{
	BtLiveBar	b;

	b.ts = s->ts[t];
	b.open = s->open[t];
	b.high = s->high[t];
	b.low = s->low[t];
	b.close = s->close[t];
	b.volume = s->volume ? s->volume[t] : NAN;
	b.signal = s->signal ? s->signal[t] : NAN;
	return b;
}

/* Equal as the tests of the issue ask: both NaN, or within 1e-9 (relative above 1) */
static bool
same_value(double a, double b)
{
	double		scale = fabs(b) > 1.0 ? fabs(b) : 1.0;

	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabs(a - b) <= 1e-9 * scale;
}

/*
 * check_indicator
 *		One indicator with parameters p over s, live (restored from a copy
 *		every `every` bars) against the registry's batch compute.
 */
static void
check_indicator(const BtSeries *s, const char *name, const double *p, int every)
{
	BtLiveSpec	spec;
	const BtIndicatorDef *def = bt_find_indicator(name);
	double	   *batch[BT_IND_MAX_OUTPUTS];
	BtLiveState *st;
	BtError		err;
	int64_t		bad = 0,
				exact = 0,
				defined = 0;
	double		worst = 0;

	memset(&spec, 0, sizeof(spec));
	spec.nind = 1;
	spec.ind[0].def = def;
	for (int i = 0; i < def->nparams; i++)
		spec.ind[0].params[i] = p[i];
	CHECK(bt_live_spec_check(&spec, &err));
	CHECK(bt_live_noutputs(&spec) == def->noutputs);
	for (int o = 0; o < def->noutputs; o++)
		batch[o] = malloc(s->n * sizeof(double));
	def->compute(s, p, batch);

	st = live_new(&spec);
	for (int64_t t = 0; t < s->n; t++)
	{
		BtLiveBar	b = bar_of(s, t);
		double		out[BT_IND_MAX_OUTPUTS];
		BtLiveStep	step;

		if (every > 0 && t % every == every - 1)
		{
			BtLiveState *copy = live_copy(st);

			CHECK(bt_live_state_valid(copy, bt_live_state_size(copy), &spec));
			free(st);
			st = copy;
		}
		if (!bt_live_push(st, &b, out, &step, &err))
		{
			CHECK_MSG(false, "%s: push %lld: %s", name, (long long) t, err.msg);
			break;
		}
		for (int o = 0; o < def->noutputs; o++)
		{
			if (!same_value(out[o], batch[o][t]))
			{
				if (bad++ < 3)
					fprintf(stderr, "%s(%g,%g,%g) %s bar %lld: live %.17g batch %.17g\n",
							name, p[0], p[1], p[2], def->outputs[o], (long long) t,
							out[o], batch[o][t]);
			}
			else if (!isnan(out[o]))
			{
				double		d = fabs(out[o] - batch[o][t]);

				defined++;
				exact += d == 0;
				worst = d > worst ? d : worst;
			}
		}
		bad += !(step.target == BT_KEEP && step.position == 0);
	}
	CHECK_MSG(bad == 0, "%s(%g,%g,%g): %lld values differ", name, p[0], p[1], p[2],
			  (long long) bad);
	CHECK(bt_live_nbars(st) == s->n && bt_live_last_ts(st) == s->ts[s->n - 1]);
	if (getenv("UNIT_VERBOSE"))
		fprintf(stderr, "live %s(%g,%g,%g): %lld defined, %lld bit-equal, worst %.3g\n",
				name, p[0], p[1], p[2], (long long) defined, (long long) exact, worst);
	for (int o = 0; o < def->noutputs; o++)
		free(batch[o]);
	free(st);
}

/* The sample data with bars 200..279 flat (open = high = low = close) */
static BtSeries
flat_series(void)
{
	BtSeries	s = unit_sample_series();
	double	   *o = malloc(s.n * sizeof(double)),
			   *h = malloc(s.n * sizeof(double)),
			   *l = malloc(s.n * sizeof(double)),
			   *c = malloc(s.n * sizeof(double));

	memcpy(o, s.open, s.n * sizeof(double));
	memcpy(h, s.high, s.n * sizeof(double));
	memcpy(l, s.low, s.n * sizeof(double));
	memcpy(c, s.close, s.n * sizeof(double));
	for (int64_t t = 200; t < 280; t++)
		o[t] = h[t] = l[t] = c[t] = c[199];
	s.open = o;
	s.high = h;
	s.low = l;
	s.close = c;
	return s;
}

static void
free_series(BtSeries *s)
{
	free((void *) s->open);
	free((void *) s->high);
	free((void *) s->low);
	free((void *) s->close);
}

/* Every indicator, with its defaults and other parameters, on both series */
static void
test_live_indicators(void)
{
	static const struct
	{
		const char *name;
		double		p[BT_IND_MAX_PARAMS];
	}			cases[] =
	{
		{"sma", {1}}, {"sma", {5}}, {"sma", {20}}, {"sma", {200}}, {"sma", {3000}}, {"sma", {4000}},
		{"ema", {1}}, {"ema", {20}}, {"ema", {150}},
		{"wma", {1}}, {"wma", {7}}, {"wma", {30}},
		{"rsi", {2}}, {"rsi", {14}},
		{"macd", {12, 26, 9}}, {"macd", {5, 35, 1}},
		{"bbands", {20, 2}}, {"bbands", {5, 1.5}}, {"bbands", {1, 2}},
		{"stoch", {14, 3, 3}}, {"stoch", {5, 1, 4}},
		{"kdj", {9, 3, 3}}, {"kdj", {4, 1, 5}},
		{"atr", {14}}, {"atr", {1}},
		{"donchian", {20}}, {"donchian", {1}},
		{"obv", {0}},
		{"roc", {10}}, {"roc", {1}}, {"roc", {2999}},
	};
	BtSeries	s = unit_sample_series();
	BtSeries	flat = flat_series();
	bool		seen[64] = {false};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		check_indicator(&s, cases[i].name, cases[i].p, 0);
		check_indicator(&flat, cases[i].name, cases[i].p, 37);
		for (int k = 0; k < bt_n_indicators; k++)
			if (strcmp(bt_indicators[k]->name, cases[i].name) == 0)
				seen[k] = true;
	}
	/* every registered indicator is covered */
	for (int k = 0; k < bt_n_indicators; k++)
		CHECK_MSG(seen[k], "indicator %s has no live test", bt_indicators[k]->name);
	free_series(&flat);
}

/*
 * check_strategy
 *		Live targets and positions of a strategy against the batch targets,
 *		and against the simulator: the position bt_run holds after bar t+1's
 *		open is the live position decided on bar t.
 */
static void
check_strategy(const BtSeries *s, const char *name, int nset, const char *const *keys,
			   const double *vals, bool allow_short)
{
	BtConfig	cfg;
	BtLiveSpec	spec;
	BtLiveState *st;
	BtError		err;
	BtResult	r;
	int8_t	   *target = malloc(s->n);
	int64_t		warmup;
	int			pos = 0;
	int64_t		bad = 0,
				changes = 0,
				simbad = 0;

	bt_config_defaults(&cfg, bt_find_strategy(name));
	for (int k = 0; k < nset; k++)
		for (int i = 0; i < cfg.strategy->nparams; i++)
			if (strcmp(cfg.strategy->params[i].name, keys[k]) == 0)
				cfg.sp[i] = vals[k];
	cfg.sim.allow_short = allow_short;
	CHECK(bt_config_check(&cfg, &err));
	warmup = bt_strategy_compute(cfg.strategy, s, cfg.sp, target, &unit_alloc);
	CHECK(bt_run(s, &cfg, &unit_alloc, NULL, NULL, &r, &err) == BT_OK);

	memset(&spec, 0, sizeof(spec));
	spec.strategy = cfg.strategy;
	memcpy(spec.sp, cfg.sp, sizeof(spec.sp));
	spec.allow_short = allow_short;
	CHECK(bt_live_spec_check(&spec, &err));
	st = live_new(&spec);

	for (int64_t t = 0; t < s->n; t++)
	{
		BtLiveBar	b = bar_of(s, t);
		BtLiveStep	step;
		int8_t		expect = t >= warmup ? target[t] : BT_KEEP;
		int			held;

		if (t % 101 == 100)
		{
			BtLiveState *copy = live_copy(st);

			CHECK(bt_live_state_valid(copy, bt_live_state_size(copy), &spec));
			free(st);
			st = copy;
		}
		CHECK(bt_live_push(st, &b, NULL, &step, &err));
		if (expect != BT_KEEP)
			pos = (expect < 0 && !allow_short) ? 0 : expect;
		if (step.target != expect || step.position != pos)
		{
			if (bad++ < 3)
				fprintf(stderr, "%s bar %lld: live target %d position %d, batch %d %d\n",
						name, (long long) t, step.target, step.position, expect, pos);
		}
		changes += step.position != step.prev_position;
		if (t + 1 < s->n)
		{
			held = (r.position[t + 1] > 0) - (r.position[t + 1] < 0);
			simbad += held != step.position;
		}
	}
	CHECK_MSG(bad == 0, "%s: %lld bars differ", name, (long long) bad);
	CHECK_MSG(simbad == 0, "%s (short %d): %lld positions differ from bt_run's",
			  name, allow_short, (long long) simbad);
	CHECK_MSG(changes >= 1, "%s: no signal on the sample data", name);
	CHECK(bt_live_position(st) == pos);
	free(st);
	free(target);
	unit_free_all();
}

static void
test_live_strategies(void)
{
	BtSeries	s = unit_sample_series();
	double	   *sig = malloc(s.n * sizeof(double));
	static const char *const fs[] = {"fast", "slow"};
	static const double fs_v[] = {5, 20};
	static const char *const rsi_k[] = {"period", "lower", "upper"};
	static const double rsi_v[] = {7, 40, 60};
	static const char *const mid_k[] = {"exit_at_middle"};
	static const double one[] = {1};
	static const char *const kdj_k[] = {"use_j"};
	static const char *const per[] = {"period"};
	static const double per_v[] = {10};

	for (int sh = 0; sh <= 1; sh++)
	{
		for (int i = 0; i < bt_n_strategies; i++)
			if (!bt_strategies[i].needs_signal)
				check_strategy(&s, bt_strategies[i].name, 0, NULL, NULL, sh);
		check_strategy(&s, "sma_cross", 2, fs, fs_v, sh);
		check_strategy(&s, "ema_cross", 2, fs, fs_v, sh);
		check_strategy(&s, "rsi", 3, rsi_k, rsi_v, sh);
		check_strategy(&s, "bollinger", 1, mid_k, one, sh);
		check_strategy(&s, "kdj", 1, kdj_k, one, sh);
		check_strategy(&s, "donchian_breakout", 1, per, per_v, sh);
	}

	/* the signal strategy reads the bar's signal */
	for (int64_t t = 0; t < s.n; t++)
		sig[t] = t % 17 == 3 ? 1 : t % 23 == 5 ? -1 : t % 31 == 7 ? 0 : NAN;
	s.signal = sig;
	check_strategy(&s, "signal", 0, NULL, NULL, false);
	check_strategy(&s, "signal", 0, NULL, NULL, true);
	free(sig);
}

/* Bad bars leave the state as it was; foreign or damaged states are refused */
static void
test_live_refusals(void)
{
	BtSeries	s = unit_sample_series();
	BtLiveSpec	spec,
				other;
	BtLiveState *st,
			   *before;
	BtLiveBar	b;
	BtLiveStep	step;
	BtError		err;
	double		out[8];
	size_t		size;

	memset(&spec, 0, sizeof(spec));
	spec.nind = 2;
	spec.ind[0].def = &bt_ind_obv;
	spec.ind[1].def = &bt_ind_sma;
	spec.ind[1].params[0] = 3;
	spec.strategy = bt_find_strategy("sma_cross");
	spec.sp[0] = 2;
	spec.sp[1] = 4;
	CHECK(bt_live_spec_check(&spec, &err));
	CHECK(bt_live_noutputs(&spec) == 2);
	st = live_new(&spec);
	CHECK(bt_live_last_ts(st) == INT64_MIN && bt_live_nbars(st) == 0);
	for (int t = 0; t < 5; t++)
	{
		b = bar_of(&s, t);
		CHECK(bt_live_push(st, &b, out, &step, &err));
	}
	size = bt_live_state_size(st);
	before = live_copy(st);

	/* the same timestamp again, an earlier one */
	b = bar_of(&s, 4);
	CHECK(!bt_live_push(st, &b, out, &step, &err) && err.code == BT_ERR_DATA);
	CHECK(strcmp(err.msg, "bar is not after the last bar of the stream") == 0);
	b = bar_of(&s, 2);
	CHECK(!bt_live_push(st, &b, out, &step, &err));
	/* high < low, a NaN close, no volume for OBV */
	b = bar_of(&s, 5);
	b.high = b.low - 1;
	CHECK(!bt_live_push(st, &b, out, &step, &err) && err.code == BT_ERR_DATA);
	b = bar_of(&s, 5);
	b.close = NAN;
	CHECK(!bt_live_push(st, &b, out, &step, &err));
	b = bar_of(&s, 5);
	b.volume = NAN;
	CHECK(!bt_live_push(st, &b, out, &step, &err));
	CHECK(memcmp(st, before, size) == 0);

	/* states of another spec, truncated or damaged */
	CHECK(bt_live_state_valid(st, size, &spec));
	other = spec;
	other.ind[1].params[0] = 4;
	CHECK(!bt_live_state_valid(st, size, &other));
	other = spec;
	other.allow_short = true;
	CHECK(!bt_live_state_valid(st, size, &other));
	other = spec;
	other.sp[1] = 5;
	CHECK(!bt_live_state_valid(st, size, &other));
	CHECK(!bt_live_state_valid(st, size - 8, &spec));
	CHECK(!bt_live_state_valid(st, 16, &spec));
	((uint32_t *) before)[0] ^= 1;
	CHECK(!bt_live_state_valid(before, size, &spec));

	/* too many indicators; a window longer than a stream keeps */
	other = spec;
	other.nind = BT_LIVE_MAX_IND + 1;
	CHECK(!bt_live_spec_check(&other, &err) && err.code == BT_ERR_PARAM);
	other = spec;
	other.ind[1].def = &bt_ind_roc;
	other.ind[1].params[0] = BT_LIVE_MAX_WINDOW;
	CHECK(!bt_live_spec_check(&other, &err));
	CHECK_MSG(strstr(err.msg, "\"roc\" needs a window of 100002 bars") != NULL, "%s", err.msg);

	/*
	 * a signal stream: a value between -1 and 1 (a backtest's exposure) is
	 * refused, as a stream's position is -1, 0 or 1
	 */
	{
		BtLiveSpec	sspec;
		BtLiveState *ss;

		memset(&sspec, 0, sizeof(sspec));
		sspec.strategy = bt_find_strategy("signal");
		CHECK(bt_live_spec_check(&sspec, &err));
		ss = live_new(&sspec);
		b = bar_of(&s, 0);
		b.signal = 0.5;
		CHECK(!bt_live_push(ss, &b, out, &step, &err) && err.code == BT_ERR_DATA);
		CHECK(strcmp(err.msg, "a live stream's signal must be -1, 0, 1 or NULL") == 0);
		b.signal = 1;
		CHECK(bt_live_push(ss, &b, out, &step, &err));
		CHECK(bt_live_position(ss) == 1);
		free(ss);
	}
	free(st);
	free(before);
}

/*
 * A state read back from a table may have been damaged: a single-byte
 * change anywhere in it is either refused by bt_live_state_valid (its
 * offsets, counts and identities are all checked against the spec) or
 * leaves a state that pushes a bar without writing outside the block (a
 * guard after it stays intact; run under valgrind for the reads).
 */
static void
test_live_damaged(void)
{
	BtSeries	s = unit_sample_series();
	BtLiveSpec	spec;
	BtLiveState *st;
	BtError		err;
	BtLiveStep	step;
	double		out[64];
	size_t		size;
	int			refused = 0,
				accepted = 0,
				guard_ok = 1;
	uint64_t	rng = 42;
	static const char *const names[] = {"sma", "ema", "wma", "rsi", "macd", "bbands", "stoch",
	"kdj", "atr", "donchian", "obv", "roc"};

	memset(&spec, 0, sizeof(spec));
	spec.nind = 12;
	for (int i = 0; i < 12; i++)
	{
		const BtIndicatorDef *d = bt_find_indicator(names[i]);

		spec.ind[i].def = d;
		for (int j = 0; j < d->nparams; j++)
			spec.ind[i].params[j] = d->params[j].def;
	}
	spec.strategy = bt_find_strategy("kdj");
	for (int j = 0; j < spec.strategy->nparams; j++)
		spec.sp[j] = spec.strategy->params[j].def;
	CHECK(bt_live_spec_check(&spec, &err));
	st = live_new(&spec);
	for (int64_t t = 0; t < 100; t++)
	{
		BtLiveBar	b = bar_of(&s, t);

		CHECK(bt_live_push(st, &b, out, &step, &err));
	}
	size = bt_live_state_size(st);
	for (int k = 0; k < 4000; k++)
	{
		unsigned char *copy = malloc(size + 64);
		size_t		at = (size_t) (bt_splitmix64_test(&rng) % size);
		BtLiveBar	b = bar_of(&s, 100);

		memcpy(copy, st, size);
		memset(copy + size, 0xA5, 64);
		copy[at] ^= (unsigned char) (1 + bt_splitmix64_test(&rng) % 255);
		if (!bt_live_state_valid(copy, size, &spec))
			refused++;
		else
		{
			accepted++;
			(void) bt_live_push((BtLiveState *) copy, &b, out, &step, &err);
			for (int g = 0; g < 64; g++)
				guard_ok &= copy[size + g] == 0xA5;
		}
		free(copy);
	}
	CHECK_MSG(refused > 0 && accepted > 0, "refused %d, accepted %d", refused, accepted);
	CHECK(guard_ok);
	free(st);
}

void
test_live(void)
{
	test_live_indicators();
	test_live_strategies();
	test_live_refusals();
	test_live_damaged();
}
